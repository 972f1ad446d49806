"""Exact enumeration against brute force written independently (itertools, Python sums)."""

import itertools
import math

import pytest
import torch
from bm_helpers import one_thread, random_machine  # noqa: F401  (one_thread: autouse fixture)

from genlab.boltzmann.boltzmann import BoltzmannMachine, check_weights
from genlab.boltzmann.exact import (
    enumerate_states,
    exact_clamped_moments,
    exact_log_likelihood,
    exact_moments,
    state_index,
    state_log_probs,
)
from genlab.errors import GenlabError
from genlab.spins import spin_energy


def brute_force(w, b, beta):
    """log Z, <x_i>, <x_i x_j> by a plain Python loop over all states."""
    n = len(b)
    weights, states = [], []
    for s in itertools.product([-1.0, 1.0], repeat=n):
        e = -0.5 * sum(w[i][j] * s[i] * s[j] for i in range(n) for j in range(n)) \
            - sum(b[i] * s[i] for i in range(n))
        weights.append(math.exp(-beta * e))
        states.append(s)
    z = sum(weights)
    mean = [sum(p * s[i] for p, s in zip(weights, states, strict=True)) / z for i in range(n)]
    corr = [[sum(p * s[i] * s[j] for p, s in zip(weights, states, strict=True)) / z
             for j in range(n)] for i in range(n)]
    return (math.log(z), torch.tensor(mean, dtype=torch.float64),
            torch.tensor(corr, dtype=torch.float64), states, weights)


@pytest.mark.parametrize("beta", [0.3, 1.0, 2.5])
def test_moments_match_brute_force(beta):
    w, b = random_machine(5, seed=1)
    log_z, mean, corr, _, _ = brute_force(w.tolist(), b.tolist(), beta)
    ex = exact_moments(w, b, beta, chunk=7)  # a chunk size that does not divide 2^5
    assert ex.log_z == pytest.approx(log_z, rel=1e-12, abs=1e-12)
    torch.testing.assert_close(ex.mean, mean.double(), rtol=0, atol=1e-12)
    torch.testing.assert_close(ex.corr, corr.double(), rtol=0, atol=1e-12)


def test_independent_units_closed_form():
    # W = 0: Z = prod_i 2 cosh(beta b_i) and <x_i> = tanh(beta b_i)
    b = torch.tensor([0.3, -1.2, 2.0, 0.0], dtype=torch.float64)
    ex = exact_moments(torch.zeros(4, 4, dtype=torch.float64), b, beta=0.7)
    assert ex.log_z == pytest.approx(float(torch.log(2 * torch.cosh(0.7 * b)).sum()), abs=1e-12)
    torch.testing.assert_close(ex.mean, torch.tanh(0.7 * b))


def test_chunking_and_large_energies_are_stable():
    # scale 40 gives energies in the hundreds: exp overflows without the streaming max
    w, b = random_machine(10, seed=2, scale=40.0)
    a = exact_moments(w, b, 1.0, chunk=1 << 10)
    c = exact_moments(w, b, 1.0, chunk=37)
    assert math.isfinite(a.log_z) and a.log_z == pytest.approx(c.log_z, rel=1e-12)
    torch.testing.assert_close(a.corr, c.corr)


def test_state_index_inverts_enumeration():
    x = enumerate_states(6)
    assert torch.equal(state_index(x), torch.arange(64))


def test_state_log_probs_normalised_and_consistent():
    w, b = random_machine(6, seed=3)
    logp = state_log_probs(w, b, 1.3)
    assert float(torch.logsumexp(logp, 0)) == pytest.approx(0.0, abs=1e-12)
    x = enumerate_states(6)
    ex = exact_moments(w, b, 1.3)
    torch.testing.assert_close(-1.3 * spin_energy(x, w, b) - ex.log_z, logp)


def test_log_likelihood_with_hidden_units_matches_brute_force():
    w, b = random_machine(6, seed=4)  # 4 visible + 2 hidden
    log_z, _, _, states, weights = brute_force(w.tolist(), b.tolist(), 0.8)
    data = torch.tensor([[1, -1, 1, 1], [-1, -1, 1, -1], [1, -1, 1, 1]], dtype=torch.float64)
    expect = 0.0
    for v in data.tolist():
        pv = sum(p for s, p in zip(states, weights, strict=True) if list(s[:4]) == v)
        expect += math.log(pv) - log_z
    got = exact_log_likelihood(w, b, data, n_visible=4, beta=0.8, chunk=4)
    assert got == pytest.approx(expect / 3, abs=1e-12)


def test_log_likelihood_without_hidden_is_minus_energy_minus_log_z():
    w, b = random_machine(7, seed=5)
    data = enumerate_states(7)[[3, 50, 100]]
    expect = float((-spin_energy(data, w, b)).mean()) - exact_moments(w, b).log_z
    assert exact_log_likelihood(w, b, data) == pytest.approx(expect, abs=1e-12)


def test_clamped_moments_match_brute_force():
    w, b = random_machine(5, seed=6)  # 3 visible, 2 hidden
    _, _, _, states, weights = brute_force(w.tolist(), b.tolist(), 1.0)
    data = [[1.0, 1.0, -1.0], [-1.0, 1.0, 1.0]]
    corr = torch.zeros(5, 5, dtype=torch.float64)
    mean = torch.zeros(5, dtype=torch.float64)
    for v in data:
        rows = [(s, p) for s, p in zip(states, weights, strict=True) if list(s[:3]) == v]
        z = sum(p for _, p in rows)
        for s, p in rows:
            t = torch.tensor(s, dtype=torch.float64)
            corr += p / z * torch.outer(t, t) / len(data)
            mean += p / z * t / len(data)
    got = exact_clamped_moments(w, b, torch.tensor(data), 3)
    torch.testing.assert_close(got.corr, corr)
    torch.testing.assert_close(got.mean, mean)
    assert torch.allclose(got.corr.diagonal(), torch.ones(5, dtype=torch.float64))


def test_too_many_units_is_a_user_error():
    with pytest.raises(GenlabError, match="at most 20"):
        exact_moments(torch.zeros(21, 21))


@pytest.mark.parametrize("w, msg", [
    (torch.tensor([[0.0, 1.0], [0.5, 0.0]]), "symmetric"),
    (torch.tensor([[1.0, 0.0], [0.0, 0.0]]), "zero diagonal"),
    (torch.zeros(2, 3), "square"),
    (torch.tensor([[0.0, float("nan")], [float("nan"), 0.0]]), "NaN"),
])
def test_bad_weights_are_user_errors(w, msg):
    with pytest.raises(GenlabError, match=msg):
        check_weights(w)


def test_bad_bias_and_data_are_user_errors():
    with pytest.raises(GenlabError, match="bias must have shape"):
        check_weights(torch.zeros(3, 3), torch.zeros(2))
    with pytest.raises(GenlabError, match="-1 and \\+1"):
        exact_log_likelihood(torch.zeros(3, 3), None, torch.tensor([[0.0, 1.0, 1.0]]))


def test_save_load_round_trip(tmp_path):
    w, b = random_machine(6, seed=7, dtype=torch.float32)
    m = BoltzmannMachine(w, b, 4, torch.ones(6, 6).fill_diagonal_(0))
    m.save(tmp_path / "bm")
    back = BoltzmannMachine.load(tmp_path / "bm")
    assert back.n_visible == 4 and back.n_hidden == 2
    torch.testing.assert_close(back.weights, w)
    torch.testing.assert_close(back.bias, b)
