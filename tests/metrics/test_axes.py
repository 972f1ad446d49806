"""The linear read-out of latents from ordered factors, on codes whose answer is known."""

import math

import pytest
import torch

from genlab.data.dsprites import FACTOR_NAMES, FACTOR_SIZES
from genlab.errors import GenlabError
from genlab.metrics.axes import describe, factor_axes, linear_axes

ORDERED = ("scale", "pos_x", "pos_y")
PLANE = ("pos_x", "pos_y")


def standardised(v: torch.Tensor) -> torch.Tensor:
    return (v - v.mean(0)) / v.std(0)


def test_a_linear_code_is_read_out_exactly():
    gen = torch.Generator().manual_seed(0)
    v = torch.rand(4000, 3, generator=gen, dtype=torch.float64)
    u = standardised(v)
    theta = math.radians(-30.0)
    # z0: a rotated position latent; z1: scale alone; z2: dead (sd 0.01 < 0.05)
    z = torch.stack([2.0 * (math.cos(theta) * u[:, 1] + math.sin(theta) * u[:, 2]) + 1.0,
                     -0.5 * u[:, 0], 0.01 * u[:, 0]], 1)
    axes = linear_axes(z, v, ORDERED, PLANE)
    assert [a.latent for a in axes] == [0, 1]          # by decreasing sd, the dead one left out
    rot, scale = axes
    assert rot.r2 == pytest.approx(1.0, abs=1e-12) and scale.r2 == pytest.approx(1.0, abs=1e-12)
    assert rot.angle_deg == pytest.approx(-30.0, abs=1e-9)
    assert rot.coefficients["pos_x"] == pytest.approx(2 * math.cos(theta), abs=1e-9)
    assert rot.coefficients["scale"] == pytest.approx(0.0, abs=1e-9)
    assert scale.coefficients == pytest.approx({"scale": -0.5, "pos_x": 0.0, "pos_y": 0.0},
                                               abs=1e-9)


def test_noise_latents_have_the_null_r2():
    # Independent Gaussian noise on p = 3 regressors and n samples: R^2 ~ Beta(p/2,
    # (n-p-1)/2), mean p/(n-1), sd about sqrt(2p)/n; 6 sd above the mean over 10 latents
    # fails with probability below 1e-8 (the Beta tail is lighter than Gaussian's here).
    n, p = 5000, 3
    gen = torch.Generator().manual_seed(1)
    v = torch.rand(n, p, generator=gen, dtype=torch.float64)
    z = torch.randn(n, 10, generator=gen, dtype=torch.float64)
    axes = linear_axes(z, v, ORDERED, PLANE)
    assert len(axes) == 10
    mean = p / (n - 1)
    sd = math.sqrt(2 * p * (n - p - 1) / ((n - 1) ** 2 * (n + 1)))
    assert max(a.r2 for a in axes) < mean + 6 * sd
    assert all(a.r2 >= -1e-12 for a in axes)


def test_identity_code_on_dsprites_holds_each_ordered_factor_in_its_own_latent():
    res = factor_axes(lambda f: f.double(), FACTOR_SIZES, FACTOR_NAMES, ORDERED, PLANE,
                      seed=0, n_samples=3000)
    by_latent = {a.latent: a for a in res.latents}
    assert sorted(by_latent) == [0, 1, 2, 3, 4] and res.factors == list(ORDERED)
    # latents 1, 3, 4 are scale, pos_x and pos_y themselves: R^2 exactly 1, coefficient
    # = the factor's sd (in index units), angle 0 and 90 degrees
    for j, name in zip((1, 3, 4), ORDERED, strict=True):
        a = by_latent[j]
        assert a.r2 == pytest.approx(1.0, abs=1e-12)
        assert a.coefficients[name] == pytest.approx(a.sd, rel=1e-9)
    assert by_latent[3].angle_deg == pytest.approx(0.0, abs=1e-9)
    assert by_latent[4].angle_deg == pytest.approx(90.0, abs=1e-9)
    # shape and orientation are independent of the ordered factors: null R^2
    assert by_latent[0].r2 < 0.01 and by_latent[2].r2 < 0.01
    # the scale latent has no part in the position plane: no angle
    assert by_latent[1].angle_deg is None
    assert "angle none  R^2 1.00" in describe(by_latent[1])
    line = describe(by_latent[4])
    assert line.startswith("z4: sd ") and "angle  +90 deg" in line
    # reproducible from the seed (to rounding: least squares may sum in another order)
    again = factor_axes(lambda f: f.double(), FACTOR_SIZES, FACTOR_NAMES, ORDERED, PLANE,
                        seed=0, n_samples=3000)
    for a, b in zip(res.latents, again.latents, strict=True):
        assert a.latent == b.latent and a.sd == pytest.approx(b.sd, abs=1e-12)
        assert a.r2 == pytest.approx(b.r2, abs=1e-12)
        assert a.coefficients == pytest.approx(b.coefficients, abs=1e-9)


def test_bad_inputs_are_user_errors():
    v = torch.rand(100, 3, dtype=torch.float64)
    with pytest.raises(GenlabError, match="same n"):
        linear_axes(torch.zeros(99, 2), v, ORDERED)
    with pytest.raises(GenlabError, match="finite"):
        linear_axes(torch.full((100, 2), float("nan")), v, ORDERED)
    with pytest.raises(GenlabError, match="constant"):
        linear_axes(torch.randn(100, 2), torch.ones(100, 3), ORDERED)
    with pytest.raises(GenlabError, match="plane"):
        linear_axes(torch.randn(100, 2), v, ORDERED, ("pos_x", "shape"))
    with pytest.raises(GenlabError, match="ordered factors"):
        factor_axes(lambda f: f.double(), FACTOR_SIZES, FACTOR_NAMES, ("size",))
