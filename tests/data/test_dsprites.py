"""dSprites: the factor grid, the index maps, and that each factor moves the pixels as defined."""

import math

import numpy as np
import pytest
import torch

from genlab.data import dsprites as ds
from genlab.data import load_dataset
from genlab.errors import GenlabError


def grid_factors(shape: int, scale: int, orient: int) -> torch.Tensor:
    """All 32 x 32 positions of one (shape, scale, orientation): (1024, 5)."""
    pos = torch.cartesian_prod(torch.arange(32), torch.arange(32))
    f = torch.zeros(1024, 5, dtype=torch.long)
    f[:, 0], f[:, 1], f[:, 2], f[:, 3:] = shape, scale, orient, pos
    return f


def test_counts_and_factor_grid():
    assert ds.N_IMAGES == 737_280 == 3 * 6 * 40 * 32 * 32
    assert ds.FACTOR_SIZES == (3, 6, 40, 32, 32)
    np.testing.assert_allclose(ds.FACTOR_VALUES[1], [0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    assert ds.FACTOR_VALUES[2][0] == 0.0 and ds.FACTOR_VALUES[2][-1] == pytest.approx(2 * math.pi)
    np.testing.assert_allclose(np.diff(ds.FACTOR_VALUES[2]), 2 * math.pi / 39)
    for k in (3, 4):
        np.testing.assert_allclose(ds.FACTOR_VALUES[k], np.arange(32) / 31)
    assert ds.N_TRAIN + len(ds.split_indices("test")) == ds.N_IMAGES


def test_index_factor_maps_are_inverse_bijections():
    idx = torch.arange(ds.N_IMAGES)
    f = ds.index_to_factors(idx)
    # pos_y fastest, shape slowest: the row-major order of the original file
    assert f[1].tolist() == [0, 0, 0, 0, 1] and f[32].tolist() == [0, 0, 0, 1, 0]
    assert f[-1].tolist() == [2, 5, 39, 31, 31]
    assert torch.equal(ds.factors_to_index(f), idx)
    # every factor value appears equally often: N / size_k times
    for k, size in enumerate(ds.FACTOR_SIZES):
        assert torch.bincount(f[:, k]).tolist() == [ds.N_IMAGES // size] * size


def test_images_are_binary_and_inside_the_canvas():
    gen = torch.Generator().manual_seed(0)
    f = ds.sample_factors(512, gen)
    x = ds.render(f)
    assert x.shape == (512, 64, 64) and x.dtype == torch.float32
    assert set(x.unique().tolist()) <= {0.0, 1.0}
    assert (x.sum((1, 2)) > 0).all()
    # the sprite never touches the border, so it is never cut off
    edge = x[:, 0].sum() + x[:, -1].sum() + x[:, :, 0].sum() + x[:, :, -1].sum()
    assert edge == 0
    assert torch.equal(ds.images(ds.factors_to_index(f)), x)


def test_position_translates_exactly():
    # pos 0 -> 31 moves the centre by exactly 36 px (14 + 36 pos), and pixel centres are
    # half-integers, so the image moves by exactly 36 columns (x) or rows (y).
    for shape in range(3):
        base = torch.tensor([[shape, 3, 11, 0, 0]])
        x0 = ds.render(base)[0]
        fx, fy = base.clone(), base.clone()
        fx[0, 3], fy[0, 4] = 31, 31
        assert torch.equal(torch.roll(x0, 36, dims=1), ds.render(fx)[0])
        assert torch.equal(torch.roll(x0, 36, dims=0), ds.render(fy)[0])


@pytest.mark.parametrize(("shape", "scale"), [(0, 0), (1, 5), (2, 0), (2, 5)])
def test_scale_sets_the_area(shape, scale):
    # Averaged over the 32 x 32 positions, the pixel count equals the sprite's area: the
    # centre offsets 36 k / 31 px have fractional parts 5k/31 mod 1, spread evenly over
    # [0, 1), and the expected number of lattice points in a shape under a uniformly
    # random offset is exactly its area. The 31-point quadrature of that offset leaves an
    # error far below 1% for these smooth boundaries, so 1% is the tolerance.
    unit = {0: 4.0, 1: math.pi * 0.5,  # square [-1,1]^2; ellipse axes 1 and 1/2
            2: _heart_unit_area() / 1.15 ** 2}[shape]
    s = ds.FACTOR_VALUES[1][scale]
    area = unit * (ds.SPRITE_HALF * s) ** 2
    mean_count = ds.render(grid_factors(shape, scale, 7)).sum((1, 2)).mean().item()
    assert mean_count == pytest.approx(area, rel=0.01)


def _heart_unit_area() -> float:
    """Area of (a^2 + b^2 - 1)^3 <= a^2 b^3 by a fine midpoint grid (independent of render)."""
    g = (np.arange(4000) + 0.5) / 1000 - 2.0
    a, b = np.meshgrid(g, g)
    return float((((a * a + b * b - 1) ** 3 - a * a * b ** 3) <= 0).mean() * 16.0)


def test_orientation_rotates_the_ellipse():
    # The ellipse's long axis lies along (cos t, sin t) in (x right, y down) pixel axes, so
    # the principal axis of its pixel second moments is t mod 180 deg. With ~145 pixels the
    # lattice error of the moments is a few percent of mu20 - mu02 -> under 3 degrees.
    f = torch.tensor([[1, 5, k, 16, 16] for k in range(40)])
    x = ds.render(f)
    ii, jj = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")
    n = x.sum((1, 2))
    cy, cx = (x * ii).sum((1, 2)) / n, (x * jj).sum((1, 2)) / n
    dx, dy = jj - cx[:, None, None], ii - cy[:, None, None]
    mxx, myy, mxy = (x * dx * dx).sum((1, 2)), (x * dy * dy).sum((1, 2)), (x * dx * dy).sum((1, 2))
    angle = 0.5 * torch.atan2(2 * mxy, mxx - myy)
    theta = torch.as_tensor(ds.FACTOR_VALUES[2], dtype=torch.float32)
    diff = torch.remainder(angle - theta + math.pi / 2, math.pi) - math.pi / 2
    assert diff.abs().max().item() < math.radians(3)
    # the pixel count is unchanged by rotation (same 1% lattice argument, per image ~3%)
    assert (n / n.mean() - 1).abs().max() < 0.05


def test_shapes_differ_and_have_their_symmetries():
    f = torch.tensor([[s, 5, 0, 0, 0] for s in range(3)])  # centre (14, 14), no rotation
    sq, el, he = ds.render(f)
    assert not torch.equal(sq, el) and not torch.equal(el, he) and not torch.equal(sq, he)
    # centre on a pixel corner: mirror about the centre is a flip of the 28x28 box around it
    box = slice(0, 28)
    for img in (sq, el, he):
        assert torch.equal(img[box, box], img[box, box].flip(1))  # all left-right symmetric
    assert torch.equal(el[box, box], el[box, box].flip(0))
    assert not torch.equal(he[box, box], he[box, box].flip(0))  # the heart has a point
    assert torch.equal(sq[box, box], sq[box, box].T)
    # orientation 0 and 2 pi are the same angle (as in the original data set)
    f2 = f.clone()
    f2[:, 2] = 39
    assert (ds.render(f2) != ds.render(f)).sum() <= 3  # float32 sin(2 pi) ~ 1e-7 at edges


def test_both_ways_of_choosing_each_images_shape_give_the_same_pixels():
    """The CPU evaluates each image's own shape test (rows found on the CPU); an
    accelerator evaluates all three and keeps its own, so that it never waits. Same
    pixels, whatever the mix of shapes in the batch (one shape, two, all three)."""
    g = torch.Generator().manual_seed(1)
    for shapes in ([0], [1, 2], [0, 1, 2]):
        factors = ds.sample_factors(300, generator=g)
        factors[:, 0] = torch.tensor(shapes)[torch.randint(len(shapes), (300,), generator=g)]
        u = torch.randn(300, 64, 64, generator=g)
        v = torch.randn(300, 64, 64, generator=g)
        sorted_cpu = ds.sprite_mask(u, v, factors[:, 0], sort_on_cpu=True)
        assert torch.equal(ds.sprite_mask(u, v, factors[:, 0], sort_on_cpu=False), sorted_cpu)
        for k in shapes:  # and each image got its own shape's test
            rows = factors[:, 0] == k
            assert torch.equal(sorted_cpu[rows], ds.SHAPE_TESTS[k](u[rows], v[rows]))


def test_load_dataset_registers_dsprites():
    data = load_dataset("dsprites", split="train", limit=300)
    assert data.images.shape == (300, 64, 64) and data.image_shape == (64, 64)
    assert data.labels is not None and set(data.labels.tolist()) == {0, 1, 2}
    test = load_dataset("dsprites", split="test", limit=50)
    train_idx = set(ds.split_indices("train")[:300].tolist())
    assert not train_idx & set(ds.split_indices("test")[:50].tolist())
    assert data.draw().shape == (300, 4096) and len(test) == 50


def test_bad_indices_are_user_errors():
    with pytest.raises(GenlabError, match="lie in"):
        ds.images(torch.tensor([ds.N_IMAGES]))
    with pytest.raises(GenlabError, match="out of range"):
        ds.render(torch.tensor([[3, 0, 0, 0, 0]]))
    with pytest.raises(GenlabError, match="shape"):
        ds.render(torch.zeros(2, 4, dtype=torch.long))
    with pytest.raises(GenlabError, match="integers"):
        ds.render(torch.zeros(2, 5))


def test_data_show_dsprites(tmp_path, capsys):
    import json

    from genlab.cli.main import main

    out = tmp_path / "d.png"
    assert main(["data", "show", "dsprites", "--limit", "40", "--n", "9", "--out", str(out),
                 "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["shape"] == [64, 64] and res["size"] == 40 and res["classes"] == 3
    assert out.read_bytes()[:4] == b"\x89PNG"
