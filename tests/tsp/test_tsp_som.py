"""The self-organising map (Kohonen ring): its update rule, decoding, batching, and tours
measured against Held-Karp."""

import json

import numpy as np
import pytest
import torch

from genlab.cli.main import main
from genlab.errors import GenlabError
from genlab.tsp import held_karp, load_instance, random_euclidean, solve, tour_length
from genlab.tsp.instances import from_matrix
from genlab.tsp.som import SOMConfig, ring_tours, solve_som, som_epoch


def _ring(B, M, seed):
    return torch.rand((B, M, 2), dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


def test_one_step_is_the_kohonen_rule():
    """One city shown to one ring: y_j + eta g(j, j*) (x - y_j) with g the Gaussian of the
    distance along the ring, written out independently in numpy."""
    M, eta, sigma = 11, 0.6, 2.3
    y0 = _ring(1, M, 0)
    x = torch.tensor([[0.3, 0.7], [0.9, 0.1]], dtype=torch.float64)
    y = som_epoch(y0.clone(), x, torch.tensor([[1]]), eta, sigma)
    yn, xn = y0[0].numpy(), x[1].numpy()
    win = int(np.argmin(((yn - xn) ** 2).sum(1)))
    j = np.arange(M)
    delta = np.minimum(np.abs(j - win), M - np.abs(j - win))
    g = np.exp(-delta ** 2 / (2 * sigma ** 2))
    np.testing.assert_allclose(y[0].numpy(), yn + eta * g[:, None] * (xn - yn), atol=1e-14)


@pytest.mark.parametrize("inhibit, owners", [(True, 2), (False, 1)])
def test_inhibition_gives_each_city_its_own_neuron(inhibit, owners):
    """Two cities at one place, eta = 1 and a neighbourhood too narrow to move anyone else:
    each winner jumps onto its city. With inhibition the second city must take another
    neuron; without it both take the same one."""
    x = torch.tensor([[0.5, 0.5], [0.5, 0.5]], dtype=torch.float64)
    y = som_epoch(_ring(1, 8, 1), x, torch.tensor([[0, 1]]), 1.0, 0.05, inhibit=inhibit)
    on_city = ((y[0] - x[0]).norm(dim=1) < 1e-12).sum()
    assert int(on_city) == owners


def test_a_batch_computes_what_each_restart_computes_alone():
    """Restarts never read each other's ring or city order: the batched epoch equals the
    epochs run one restart at a time (bit for bit)."""
    x = torch.as_tensor(random_euclidean(9, 4).coords)
    y = _ring(5, 27, 2)
    order = torch.rand((5, 9), generator=torch.Generator().manual_seed(3)).argsort(1)
    batched = som_epoch(y.clone(), x, order, 0.7, 3.0)
    for b in range(5):
        alone = som_epoch(y[b:b + 1].clone(), x, order[b:b + 1], 0.7, 3.0)
        assert torch.equal(batched[b], alone[0])


def test_ring_through_the_cities_decodes_to_its_order():
    """A ring whose every other neuron sits on a city, in a known order, reads back as that
    tour and is valid; moving one neuron away from its city makes it invalid."""
    n = 7
    x = torch.as_tensor(random_euclidean(n, 5).coords)
    order = torch.as_tensor(np.random.default_rng(0).permutation(n))
    on = x[order]  # (n, 2)
    mid = 0.5 * (on + torch.roll(on, -1, 0))
    y = torch.stack([on, mid], 1).reshape(1, 2 * n, 2)  # city, midpoint, city, ...
    y = torch.roll(y, 3, 1)  # the ring may start anywhere
    tours, valid = ring_tours(y, x, tol=1e-9)
    t = tours[0].numpy()
    start = int(np.where(t == int(order[0]))[0][0])
    assert np.array_equal(np.roll(t, -start), order.numpy()) and bool(valid[0])
    y[0, 3] += 0.5
    assert not bool(ring_tours(y, x, tol=1e-9)[1][0])


@pytest.mark.parametrize("spec", ["random:3", "random:5", "random:20", "matrix"])
def test_tours_are_permutations_with_their_lengths(spec):
    if spec == "matrix":  # distances only: placed in the plane as for the elastic net
        inst = from_matrix(random_euclidean(9, 1).dist)
    else:
        inst = load_instance(spec, seed=2)
    res = solve(inst, "som", restarts=3, seed=0, device="cpu")
    n = inst.n
    assert res.method == "som" and sorted(res.tour) == list(range(n))
    assert np.isclose(res.length, tour_length(inst.dist, res.tour))
    assert res.lengths.shape == (3,) and res.valid.shape == (3,)
    assert res.energy.shape == res.energy_steps.shape == (SOMConfig().epochs + 1,)


def test_same_seed_same_tour_and_restarts_differ():
    inst = random_euclidean(30, 6)
    a = solve_som(inst.dist, inst.coords, restarts=6, seed=4, device="cpu")
    b = solve_som(inst.dist, inst.coords, restarts=6, seed=4, device="cpu")
    assert np.array_equal(a.tour, b.tour) and np.array_equal(a.lengths, b.lengths)
    # each restart draws its own ring and city orders: 30 cities end in several tours
    assert len(np.unique(np.round(a.lengths, 9))) > 1


def test_near_the_held_karp_optimum_on_small_instances():
    """Observed with the default schedule and 8 restarts (seeds 0-7, n = 8, 10, 12): 23 of
    24 runs found the optimum, the other was 2.1 % above it. Asserted with margin: every run
    within 5 %, and at least 5 of the 6 runs here within 0.1 %."""
    gaps = []
    for n in (10, 12):
        for seed in range(3):
            inst = random_euclidean(n, seed)
            res = solve_som(inst.dist, inst.coords, restarts=8, seed=seed, device="cpu")
            gaps.append(res.length / held_karp(inst.dist).length - 1)
    gaps = np.array(gaps)
    assert (gaps >= -1e-12).all() and (gaps <= 0.05).all(), gaps
    assert (gaps <= 1e-3).sum() >= 5, gaps


def test_burma14_near_the_optimum():
    """burma14 (GEO, optimum 3323 by Held-Karp): the optimum in each of seeds 0-5 as
    observed; asserted within 2 % for seeds 0-1."""
    inst = load_instance("burma14")
    opt = held_karp(inst.dist).length
    for seed in range(2):
        res = solve_som(inst.dist, inst.coords, restarts=8, seed=seed, device="cpu")
        assert res.length / opt - 1 <= 0.02, (seed, res.length)


def test_huge_batches_and_short_rings_are_refused():
    with pytest.raises(GenlabError, match="restarts"):
        solve(load_instance("burma14"), "som", restarts=10 ** 12, device="cpu")
    inst = random_euclidean(6, 0)
    with pytest.raises(GenlabError, match="ratio"):
        solve_som(inst.dist, inst.coords, config=SOMConfig(ratio=0.5), device="cpu")


def test_cli_solve_with_plot(capsys, tmp_path):
    code = main(["tsp", "solve", "random:7", "--method", "som", "--restarts", "3", "--seed",
                 "2", "--device", "cpu", "--threads", "1", "--plot", str(tmp_path / "t.png"),
                 "--json"])
    out = capsys.readouterr().out
    assert code == 0
    obj = json.loads(out)
    assert obj["method"] == "som" and obj["restarts"] == 3 and sorted(obj["tour"]) == list(
        range(7))
    assert obj["optimum_source"] == "held-karp" and obj["gap"] >= -1e-12
    assert (tmp_path / "t.png").stat().st_size > 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_epoch_matches_cpu_and_solves():
    x = torch.as_tensor(random_euclidean(9, 4).coords)
    y = _ring(3, 27, 2)
    order = torch.rand((3, 9), generator=torch.Generator().manual_seed(3)).argsort(1)
    cpu = som_epoch(y.clone(), x, order, 0.7, 3.0)
    gpu = som_epoch(y.cuda(), x.cuda(), order.cuda(), 0.7, 3.0)
    torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-12, atol=1e-12)
    inst = random_euclidean(12, 0)
    res = solve_som(inst.dist, inst.coords, restarts=4, seed=0, device="cuda")
    assert sorted(res.tour) == list(range(12))
    assert np.isclose(res.length, tour_length(inst.dist, res.tour))


def test_restarts_left_out_are_the_methods_default(capsys):
    """No restarts given: each method runs its own :data:`DEFAULT_RESTARTS` (the SOM more
    than the others, a restart costing it far less), in the library and in the CLI, whose
    help states the same numbers."""
    from genlab.cli.main import build_parser
    from genlab.tsp import DEFAULT_RESTARTS, default_restarts

    assert DEFAULT_RESTARTS["som"] == 64 and DEFAULT_RESTARTS["mean-field"] == 16
    inst = random_euclidean(7, 0)
    for method in ("som", "mean-field"):
        res = solve(inst, method, seed=0, device="cpu")
        assert len(res.lengths) == default_restarts(method) == DEFAULT_RESTARTS[method]
    with pytest.raises(GenlabError, match="unknown method"):
        default_restarts("tabu")
    assert main(["tsp", "solve", "random:7", "--method", "som", "--device", "cpu", "--threads",
                 "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["restarts"] == DEFAULT_RESTARTS["som"]
    solve_parser = build_parser()._subparsers._group_actions[0].choices["tsp"]
    help_text = " ".join(solve_parser._subparsers._group_actions[0].choices["solve"]
                         .format_help().split())
    for method, r in DEFAULT_RESTARTS.items():
        assert f"{r} for {method}" in help_text
