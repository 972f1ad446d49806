"""Dynamics against a plain one-unit-at-a-time float64 reference, and the energy laws."""

import numpy as np
import pytest
import torch
from hopfield_reference import async_reference, sync_reference

from genlab.hopfield import HopfieldNetwork, run_dynamics
from genlab.spins import spin_energy


def random_spins(gen: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.randint(0, 2, shape, generator=gen).float() * 2 - 1


def orders_from(seed: int, n: int, sweeps: int) -> list[np.ndarray]:
    """The unit orders genlab draws: one torch.randperm per sweep from the generator."""
    g = torch.Generator().manual_seed(seed)
    return [torch.randperm(n, generator=g).numpy() for _ in range(sweeps)]


@pytest.mark.parametrize("block", [1, 5, 64])
@pytest.mark.parametrize("rule", ["hebbian", "storkey", "pseudoinverse"])
def test_async_matches_reference(block, rule):
    g = torch.Generator().manual_seed(3)
    n, p, c = 40, 6, 12
    pats = random_spins(g, p, n)
    net = HopfieldNetwork(rule=rule, dtype="float64").fit(pats)
    cues = random_spins(g, c, n)
    out = net.recall(cues, generator=torch.Generator().manual_seed(7), block_size=block,
                     max_sweeps=30)
    # Hebbian activities are multiples of eta = 1/N, so ties a_i = 0 are common: compare
    # on the integer couplings J = W / eta, where float64 sums are exact.
    w = net.coupling_.numpy()
    orders = orders_from(7, n, 30)
    for i in range(c):
        x, energies, sweeps, conv = async_reference(w, cues[i].numpy(), orders)
        np.testing.assert_array_equal(out.states[i].numpy(), x)
        assert int(out.sweeps[i]) == sweeps and bool(out.converged[i]) == conv
        hist = out.energy_history[: sweeps + 1, i].numpy()
        np.testing.assert_allclose(hist, net.scale_ * np.array(energies), rtol=1e-9,
                                   atol=1e-9)


def test_batch_equals_one_cue_at_a_time_float32():
    # Hebbian couplings are integers, so float32 activities and ties are exact and the
    # batched path must agree bit for bit with cues run one at a time.
    g = torch.Generator().manual_seed(0)
    n = 64
    net = HopfieldNetwork().fit(random_spins(g, 8, n))
    cues = random_spins(g, 20, n)
    cues[:, :5] = 0  # unknown units
    for mode in ("async", "sync"):
        batch = net.recall(cues, mode=mode, generator=torch.Generator().manual_seed(1))
        for i in range(len(cues)):
            one = net.recall(cues[i], mode=mode, generator=torch.Generator().manual_seed(1))
            assert torch.equal(one.states[0], batch.states[i])
            assert one.sweeps[0] == batch.sweeps[i]
            assert torch.allclose(one.energy[0], batch.energy[i])


def test_async_energy_never_increases_and_history_is_exact():
    g = torch.Generator().manual_seed(5)
    n = 30
    w = torch.randn(n, n, generator=g, dtype=torch.float64)
    w = w + w.T
    w.fill_diagonal_(0)
    b = torch.randn(n, generator=g, dtype=torch.float64)
    cues = random_spins(g, 40, n).double()
    dyn = run_dynamics(w, cues, b, generator=torch.Generator().manual_seed(2), block_size=7,
                       record="sweeps", max_sweeps=50)
    # energies recomputed from the recorded states, independently of the tracked ones
    exact = torch.stack([spin_energy(s, w, b) for s in dyn.trajectory])
    t = dyn.trajectory.shape[0]
    torch.testing.assert_close(dyn.energy_history[:t], exact, rtol=1e-10, atol=1e-10)
    assert bool((exact[1:] <= exact[:-1] + 1e-12).all())
    assert bool(dyn.converged.all())  # asynchronous dynamics always reaches a fixed point


def test_sync_matches_reference_and_can_cycle():
    g = torch.Generator().manual_seed(9)
    n = 20
    # Gaussian couplings: no ties a_i = 0, whose sign would depend on rounding
    w = torch.randn(n, n, generator=g, dtype=torch.float64)
    w = w + w.T
    w.fill_diagonal_(0)
    net = HopfieldNetwork.from_weights(w, dtype="float64")
    cues = random_spins(g, 30, n)
    out = net.recall(cues, mode="sync", max_sweeps=25)
    assert 0 < int(out.converged.sum()) < len(cues)  # both outcomes are exercised
    assert int(out.cycled.sum()) > 0
    for i in range(len(cues)):
        x, sweeps, conv, cyc = sync_reference(w.numpy(), cues[i].numpy(), 25)
        np.testing.assert_array_equal(out.states[i].numpy(), x)
        assert int(out.sweeps[i]) == sweeps and bool(out.converged[i]) == conv
        assert bool(out.cycled[i]) == cyc
    # symmetric weights: synchronous dynamics ends in a fixed point or a two-cycle
    assert bool((out.converged | out.cycled).all())
    # the energy after the last sweep is that of the final state
    np.testing.assert_allclose(out.energy.numpy(), net.energy(out.states).numpy(), rtol=1e-12)
    # w = [[0, -1], [-1, 0]] from (+1, +1) flips both units forever: a 2-cycle, found at
    # the second sweep, back at the cue's state
    w = torch.tensor([[0.0, -1.0], [-1.0, 0.0]])
    dyn = run_dynamics(w, torch.ones(1, 2), mode="sync", max_sweeps=9)
    assert not bool(dyn.converged[0]) and bool(dyn.cycled[0]) and int(dyn.sweeps[0]) == 2
    assert torch.equal(dyn.states[0], torch.ones(2))
    assert torch.equal(dyn.energy_history[:, 0], torch.tensor([1.0, 1.0, 1.0]))  # -1/2 x^T W x = 1


def test_hebbian_factored_fields_give_the_same_bits():
    # J = X^T X - P I: (x X^T) X - P x is the same integer matrix product, so the
    # synchronous dynamics must agree exactly, ties (a_i = 0, even P) included.
    g = torch.Generator().manual_seed(3)
    n, p = 64, 6  # 4 P < N: the network takes the factored path
    pats = random_spins(g, p, n)
    net = HopfieldNetwork().fit(pats)
    assert net._factor() is not None
    cues = random_spins(g, 200, n)
    cues[:50, :10] = 0  # unknown units
    clamp = torch.zeros(200, n, dtype=torch.bool)
    clamp[50:100, 20:40] = True
    fast = net.recall(cues, mode="sync", max_sweeps=30, clamp=clamp)
    dense = run_dynamics(net.coupling_, cues, mode="sync", max_sweeps=30, clamp=clamp,
                         scale=net.scale_)
    h = cues @ net.coupling_
    assert bool((h == 0).any())  # ties occur and are resolved identically
    for name in ("states", "converged", "cycled", "sweeps", "energy", "energy_history"):
        assert torch.equal(getattr(fast, name), getattr(dense, name)), name


def test_stored_patterns_are_fixed_points_at_low_load():
    # Hebbian crosstalk on unit i of pattern mu is a sum of (P-1)(N-1) ±1 terms / N;
    # at N = 200, P = 3 it exceeds 1 in magnitude only if >= 101 of 398 terms agree
    # beyond chance, probability < 1e-8 per unit, so all patterns are stable.
    g = torch.Generator().manual_seed(11)
    pats = random_spins(g, 3, 200)
    for rule in ("hebbian", "storkey", "pseudoinverse"):
        net = HopfieldNetwork(rule=rule).fit(pats)
        assert bool(net.stable(pats).all())
        out = net.recall(pats, generator=torch.Generator().manual_seed(0))
        assert torch.equal(out.states, pats) and bool((out.sweeps == 1).all())
        assert torch.equal(out.nearest, torch.arange(3)) and bool((out.overlap == 1).all())


def test_clamped_units_keep_their_values():
    g = torch.Generator().manual_seed(4)
    n = 36
    pats = random_spins(g, 3, n)
    net = HopfieldNetwork().fit(pats)
    cue = pats[1].clone()
    cue[n // 2:] = 0  # the second half unknown
    clamp = torch.zeros(n, dtype=torch.bool)
    clamp[: n // 2] = True
    bad = -pats[2]  # clamp a wrong half: clamped values must survive the dynamics
    cue2 = bad.clone()
    cue2[n // 2:] = 0
    out = net.recall(torch.stack([cue, cue2]), clamp=clamp,
                     generator=torch.Generator().manual_seed(0))
    assert torch.equal(out.states[:, : n // 2], torch.stack([cue, cue2])[:, : n // 2])
    assert bool(out.converged.all())
    assert bool((out.states != 0).all())
    # reference with the same orders, unknown units start at 0
    orders = orders_from(0, n, 100)
    for i, c in enumerate((cue, cue2)):
        x, _, _, _ = async_reference(net.coupling_.double().numpy(), c.numpy(), orders,
                                     clamp=clamp.numpy())
        np.testing.assert_array_equal(out.states[i].numpy(), x)


def test_update_trace_changes_one_unit_per_frame():
    g = torch.Generator().manual_seed(8)
    pats = random_spins(g, 2, 25)
    net = HopfieldNetwork().fit(pats)
    cue = pats[0].clone()
    cue[:6] *= -1
    out = net.recall(cue, record="updates", generator=torch.Generator().manual_seed(0))
    frames = out.trajectory[:, 0]
    assert torch.equal(frames[0], cue) and torch.equal(frames[-1], out.states[0])
    assert bool(((frames[1:] != frames[:-1]).sum(1) == 1).all())


@pytest.mark.parametrize("block", [16, 256])
def test_compiled_async_sweep_equals_the_torch_sweep(monkeypatch, block):
    """The compiled block loop (64-chain tiles, a ragged last tile) gives the torch bits."""
    import genlab.hopfield.dynamics as dyn

    if dyn.hopfield_kernel(torch.float32, torch.device("cpu")) is None:
        pytest.skip("no C compiler: only the torch path exists")
    g = torch.Generator().manual_seed(11)
    n, c = 300, 150  # two whole tiles of chains and a partial one
    w = torch.randint(-3, 4, (n, n), generator=g).float()
    w = torch.triu(w, 1) + torch.triu(w, 1).T  # integer couplings: exact float sums
    b = torch.randint(-2, 3, (n,), generator=g).float()
    cues = random_spins(g, c, n)
    cues[:, :7] = 0  # unknown units
    clamp = torch.rand(c, n, generator=g) < 0.2
    clamp[:, :7] = False

    def run():
        return run_dynamics(w, cues, b, clamp=clamp, block_size=block, max_sweeps=20,
                            generator=torch.Generator().manual_seed(4))

    native = run()
    monkeypatch.setattr(dyn, "hopfield_kernel", lambda dtype, device: None)
    reference = run()
    assert torch.equal(native.states, reference.states)
    assert torch.equal(native.sweeps, reference.sweeps)
    torch.testing.assert_close(native.energy_history, reference.energy_history)


# What the dynamics gave on a small integer network before the synchronous and asynchronous
# drivers were split apart (run_dynamics, mode, max_sweeps=10, block_size=5, seed 0).
BEFORE = {
    "sync": (["--++++-+-+++", "--+++--+++++", "+++-+-++--++", "+-++++-+-+++", "-+--+----++-",
              "--+++--++-++"], [3, 4, 5, 4, 5, 5], [False, False, True, False, False, False],
             [True, True, False, True, True, True], [7.0, 27.0, -29.0, 9.0, 7.0, 29.0]),
    "async": (["-++-++-+-++-", "+---++-+--+-", "-++-++-+-++-", "+---++-+--+-",
               "-----------+", "+++-++++++++"], [2, 3, 3, 4, 3, 3], [True] * 6, [False] * 6,
              [-25.0, -29.0, -25.0, -29.0, -25.0, -27.0]),
}


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_sync_and_async_drivers_give_the_states_they_gave_before(mode):
    g = torch.Generator().manual_seed(12)
    n = 12
    w = torch.randint(-2, 3, (n, n), generator=g).float()
    w = torch.triu(w, 1)
    w = w + w.T
    b = torch.randint(-1, 2, (n,), generator=g).float()
    cues = torch.randint(-1, 2, (6, n), generator=g).float()  # -1, 0 (unknown), +1
    dyn = run_dynamics(w, cues, b, mode=mode, max_sweeps=10, block_size=5,
                       generator=torch.Generator().manual_seed(0))
    states, sweeps, converged, cycled, energies = BEFORE[mode]
    assert ["".join("+" if v > 0 else "-" for v in row) for row in dyn.states.tolist()] == states
    assert dyn.sweeps.tolist() == sweeps and dyn.converged.tolist() == converged
    assert dyn.cycled.tolist() == cycled and dyn.energy.tolist() == energies
    # the final energies are those of the final states
    assert torch.equal(dyn.energy, spin_energy(dyn.states, w, b))
