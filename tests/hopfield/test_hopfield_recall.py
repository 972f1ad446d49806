"""One recall result for both networks, and the library tasks behind ``genlab hopfield``."""

import dataclasses

import pytest
import torch

from genlab.errors import GenlabError
from genlab.hopfield import HopfieldNetwork, ModernHopfield, Recall
from genlab.hopfield.capacity import CapacityResult
from genlab.hopfield.demo import run_demo
from genlab.hopfield.tasks import recall_cues


def spins(gen: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.randint(0, 2, shape, generator=gen).float() * 2 - 1


def networks_and_cues():
    g = torch.Generator().manual_seed(2)
    pats = spins(g, 3, 40)
    cues = pats.clone()
    cues[:, :5] *= -1  # 5 of 40 units wrong
    cues[0, 30:] = 0  # and 10 unknown
    return (HopfieldNetwork().fit(pats), ModernHopfield(beta=2.0).fit(pats)), pats, cues


def test_binary_and_modern_networks_return_the_same_recall_type():
    (binary, modern), pats, cues = networks_and_cues()
    a = binary.recall(cues, generator=torch.Generator().manual_seed(0), record="sweeps")
    b = modern.recall(cues, record="sweeps")
    assert type(a) is type(b) is Recall
    c, n = cues.shape
    for out in (a, b):
        assert out.states.shape == (c, n)
        for name in ("nearest", "overlap", "converged", "cycled", "sweeps", "energy"):
            assert getattr(out, name).shape == (c,), name
        s = int(out.sweeps.max())
        assert out.energy_history.shape == (s + 1, c)
        assert out.trajectory.shape == (s + 1, c, n)  # the cues, then each sweep
        assert torch.equal(out.trajectory[0], cues) and torch.equal(out.trajectory[-1],
                                                                    out.states)
        assert torch.equal(out.nearest, torch.arange(3)) and bool((out.overlap == 1).all())
        assert bool(out.converged.all()) and not bool(out.cycled.any())
        torch.testing.assert_close(out.energy, out.energy_history[-1])
    # the modern network keeps nothing unless asked, like the binary one
    assert modern.recall(cues).trajectory.shape == (0, c, n)
    # every modern update lowers E (Theorem 1 of Ramsauer et al. 2020)
    assert bool((b.energy_history[1:] <= b.energy_history[:-1] + 1e-5).all())


def test_recall_task_reads_the_typed_recall_of_either_network(tmp_path):
    (binary, modern), pats, cues = networks_and_cues()
    for net, mode in ((binary, "async"), (binary, "sync"), (modern, None)):
        res = recall_cues(net, cues, mode=mode, out=tmp_path / "s.npy", seed=4)
        ref = net.recall(cues, generator=torch.Generator().manual_seed(4), mode=mode) \
            if mode else net.recall(cues)
        for name in ("states", "sweeps", "energy", "converged"):
            assert torch.equal(getattr(res.recall, name), getattr(ref, name)), name
        assert res.mode == (mode or "modern") and res.cues == 3 and res.converged == 3
        assert [r.nearest for r in res.results] == [0, 1, 2]
        assert [r.sweeps for r in res.results] == ref.sweeps.tolist()
        assert "recall" not in res.to_dict()


def test_recall_task_refuses_a_mode_for_the_modern_network():
    (_, modern), _, cues = networks_and_cues()
    with pytest.raises(GenlabError, match="drop --mode"):
        recall_cues(modern, cues, mode="sync")
    with pytest.raises(GenlabError, match="units"):
        recall_cues(modern, cues[:, :10])


def test_demo_flips_outside_the_letter_are_refused_before_anything_is_written(tmp_path):
    for flips in (-1, 26):
        with pytest.raises(GenlabError, match="0 to 25"):
            run_demo(tmp_path / "demo", flips=flips)
    assert not (tmp_path / "demo").exists()


def test_largest_recalled_load():
    curve = CapacityResult(n=10, rule="hebbian", mode="async", alphas=[0.1, 0.2, 0.3],
                           patterns=[1, 2, 3], overlap=[1.0, 0.9, 0.2],
                           overlap_sem=[0.0] * 3, recalled=[1.0, 0.5, 0.0],
                           stable=[1.0] * 3, sweeps=[1.0] * 3)
    assert curve.largest_recalled_load() == 0.2
    assert curve.largest_recalled_load(0.9) == 0.1
    assert dataclasses.replace(curve, recalled=[0.0] * 3).largest_recalled_load() == 0.0
