"""Learning rules against element-wise definitions; patterns, glyphs, modern network."""

import math

import numpy as np
import pytest
import torch

from genlab.errors import GenlabError
from genlab.hopfield import (
    HopfieldNetwork,
    as_spins,
    format_glyphs,
    load_hopfield,
    parse_glyphs,
)
from genlab.hopfield.capacity import ags_overlap, capacity_curve
from genlab.hopfield.letters import flip_cues, letters
from genlab.hopfield.modern import ModernHopfield


def spins(seed, *shape):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 2, shape, generator=g).double() * 2 - 1


def test_hebbian_definition():
    x = spins(0, 5, 12)
    net = HopfieldNetwork(dtype="float64").fit(x)
    n = 12
    w = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i != j:
                w[i, j] = sum(x[m, i] * x[m, j] for m in range(5)) / n
    np.testing.assert_allclose(net.weights.numpy(), w, atol=1e-12)
    net2 = HopfieldNetwork(eta=0.5, dtype="float64").fit(x)
    np.testing.assert_allclose(net2.weights.numpy(), w * n * 0.5, atol=1e-12)


def test_storkey_definition_loop():
    x = spins(1, 4, 9).numpy()
    n = 9
    w = np.zeros((n, n))
    for xi in x:  # Storkey 1997, element by element
        h = np.array([[sum(w[i, k] * xi[k] for k in range(n) if k not in (i, j))
                       for j in range(n)] for i in range(n)])
        new = w.copy()
        for i in range(n):
            for j in range(n):
                if i != j:
                    new[i, j] = w[i, j] + (xi[i] * xi[j] - xi[i] * h[j, i] - h[i, j] * xi[j]) / n
        w = new
    net = HopfieldNetwork(rule="storkey", dtype="float64").fit(torch.from_numpy(x))
    np.testing.assert_allclose(net.weights.numpy(), w, atol=1e-12)


def test_pseudoinverse_is_projection_minus_diagonal():
    x = spins(2, 30, 40)
    w = HopfieldNetwork(rule="pseudoinverse", dtype="float64").fit(x).weights
    proj = w + torch.diag(torch.diag(torch.linalg.pinv(x) @ x))
    torch.testing.assert_close(proj @ x.T, x.T)  # every pattern is in the span
    torch.testing.assert_close(proj @ proj, proj)
    assert torch.equal(w, w.T) and not bool(w.diagonal().any())
    # at alpha = 0.75 every pattern is still a fixed point
    assert bool(HopfieldNetwork(rule="pseudoinverse").fit(x).stable(x).all())


def test_patterns_validation_and_glyphs():
    assert torch.equal(as_spins(np.array([[0, 1]])), torch.tensor([[-1.0, 1.0]]))
    for bad in (np.array([[0.5, 1]]), np.array([[np.nan, 1]]), np.zeros((0, 3))):
        with pytest.raises(GenlabError):
            as_spins(bad)
    pats, shape = parse_glyphs("#.\n.1\n\n00\n##\n")
    assert shape == (2, 2) and pats.tolist() == [[1, -1, -1, 1], [-1, -1, 1, 1]]
    assert parse_glyphs(format_glyphs(pats, shape))[0].tolist() == pats.tolist()
    with pytest.raises(GenlabError):
        parse_glyphs("#.\n.#\n\n#\n")


def test_letters_demo_patterns_are_stable():
    pats = letters()
    net = HopfieldNetwork().fit(pats)
    assert bool(net.stable(pats).all())
    cues = flip_cues(pats, 2, torch.Generator().manual_seed(0))
    assert ((cues != pats).sum(1) == 2).all()


def test_modern_exponential_capacity_and_energy_descent():
    # 400 random patterns in 32 units (load 12.5, far beyond 0.138) are recalled from
    # cues with 3 flipped bits: with beta = 1 the wrong patterns' softmax weights are
    # exp(-beta * (>= 2*(16-3)... )) tiny, so one step lands on the stored pattern.
    x = spins(3, 400, 32).float()
    net = ModernHopfield(beta=1.0).fit(x)
    cues = flip_cues(x[:100], 3, torch.Generator().manual_seed(1))
    out = net.recall(cues)
    assert torch.equal(out.nearest, torch.arange(100))
    assert bool((out.overlap == 1).all()) and bool(out.converged.all())
    assert bool((out.energy_history[1:] <= out.energy_history[:-1] + 1e-4).all())


def test_ags_theory_values():
    # known values: m(alpha_c = 0.138) ~ 0.967; retrieval overlap close to 1 at low load
    assert ags_overlap(0.05) > 0.999
    assert 0.96 < ags_overlap(0.1375) < 0.98 and ags_overlap(0.14) == 0.0
    assert math.isclose(ags_overlap(0.0), 1.0)


def test_capacity_small():
    res = capacity_curve(100, "hebbian", [0.02, 0.5], generator=torch.Generator().manual_seed(0))
    assert res.overlap[0] == 1.0 and res.recalled[0] == 1.0
    assert res.overlap[1] < 0.7  # far beyond the critical load
    assert res.critical_load is not None and 0.02 < res.critical_load < 0.5


@pytest.mark.slow
def test_hebbian_critical_load_at_n1000_matches_theory():
    # AGS theory: alpha_c = 0.138 as N -> infinity. At N = 1000 each load stores
    # 120-170 patterns per trial; 3 trials give ~450 patterns per load, so the recalled
    # fraction has standard error <= 0.024 and the interpolated crossing of 1/2 moves by
    # well under the 0.01 load spacing. Finite-size rounding shifts it slightly upwards.
    res = capacity_curve(1000, "hebbian", [0.12, 0.13, 0.14, 0.15, 0.16, 0.17], trials=3,
                         max_sweeps=30, generator=torch.Generator().manual_seed(0))
    assert res.critical_load is not None and 0.13 <= res.critical_load <= 0.15
    storkey = capacity_curve(1000, "storkey", [0.16], max_sweeps=30,
                             generator=torch.Generator().manual_seed(0))
    assert storkey.recalled[0] > 0.99  # Storkey beats Hebbian at a load Hebbian fails
    pinv = capacity_curve(1000, "pseudoinverse", [0.9], max_sweeps=5,
                          generator=torch.Generator().manual_seed(0))
    assert pinv.stable[0] == 1.0


def test_modern_clamp_save_load_and_capacity(tmp_path):
    # Clamped units keep their cue values after every update; the others follow the
    # softmax update. Half an image known (clamped), the other half unknown (0): the
    # known half has overlap 16 with its own pattern and ~N(0, 16) with the others, so
    # at beta = 1 one update restores the missing half.
    x = spins(5, 300, 32).float()
    net = ModernHopfield(beta=1.0).fit(x)
    cues = x[:20].clone()
    cues[:, 16:] = 0
    clamp = torch.zeros(32, dtype=torch.bool)
    clamp[:16] = True
    out = net.recall(cues, clamp=clamp)
    assert torch.equal(out.states[:, :16], x[:20, :16])
    assert torch.equal(out.nearest, torch.arange(20)) and bool((out.overlap == 1).all())
    net.save(tmp_path / "m")
    back = load_hopfield(tmp_path / "m")
    assert isinstance(back, ModernHopfield) and back.beta == 1.0
    assert torch.equal(back.recall(cues, clamp=clamp).states, out.states)
    with pytest.raises(GenlabError, match="modern"):
        HopfieldNetwork.load(tmp_path / "m")
    # capacity far beyond any binary rule: every pattern at load 2 (64 patterns in 32
    # units) is recalled, while the Hebbian network has lost retrieval there
    res = capacity_curve(32, "modern", [2.0], generator=torch.Generator().manual_seed(0),
                         beta=2.0)
    assert res.recalled == [1.0] and res.stable == [1.0]
    heb = capacity_curve(32, "hebbian", [2.0], generator=torch.Generator().manual_seed(0))
    assert heb.recalled[0] < 0.5
