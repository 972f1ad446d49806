"""The mean-field bound against exact log Z."""

import itertools
import math

import pytest
import torch
from bm_helpers import one_thread, random_machine  # noqa: F401  (one_thread: autouse fixture)

from genlab.boltzmann.exact import enumerate_states, exact_moments
from genlab.boltzmann.meanfield import binary_entropy, mean_field, variational_free_energy
from genlab.errors import GenlabError


@pytest.mark.parametrize("seed", range(20))
def test_bound_never_exceeds_exact_log_z(seed):
    n = 6 + seed % 7
    beta = [0.2, 0.7, 1.0, 2.0, 4.0][seed % 5]
    w, b = random_machine(n, seed=100 + seed, scale=1.5)
    r = mean_field(w, b, beta)
    log_z = exact_moments(w, b, beta).log_z
    kl = log_z + r.free_energy  # KL(Q || P) = log Z + F >= 0
    assert r.log_z_bound <= log_z + 1e-10 and kl >= -1e-10


def test_free_energy_equals_enumerated_expectation():
    # F[Q] = beta E_Q[E] + E_Q[log Q], by summing over the 2^n states under the product Q
    w, b = random_machine(5, seed=1)
    m = torch.tensor([0.3, -0.9, 0.0, 0.99, -0.2], dtype=torch.float64)
    x = enumerate_states(5)
    q = ((1 + x * m) / 2).prod(-1)                          # Q(x), (32,)
    e = -0.5 * ((x @ w) * x).sum(-1) - x @ b
    expect = float((q * (1.7 * e + torch.log(q))).sum())
    assert float(variational_free_energy(m, w, b, 1.7)) == pytest.approx(expect, abs=1e-12)


def test_exact_for_independent_units():
    # W = 0: Q = P is factorised, so the bound equals log Z = sum_i log 2 cosh(beta b_i)
    b = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
    r = mean_field(torch.zeros(3, 3, dtype=torch.float64), b, 0.8)
    assert r.log_z_bound == pytest.approx(float(torch.log(2 * torch.cosh(0.8 * b)).sum()),
                                          abs=1e-9)


@pytest.mark.parametrize("beta", [0.01, 0.03, 0.1])
def test_tight_at_high_temperature(beta):
    # With b = 0, log Z = n log 2 + beta^2/2 sum_{i<j} w_ij^2 + O(beta^3) while the mean-
    # field optimum is m = 0 with -F = n log 2, so the gap is beta^2/2 sum_{i<j} w_ij^2 to
    # leading order: we require it below twice that, and it vanishes as beta -> 0.
    w, _ = random_machine(10, seed=5, scale=1.0)
    b = torch.zeros(10, dtype=torch.float64)
    r = mean_field(w, b, beta)
    gap = exact_moments(w, b, beta).log_z - r.log_z_bound
    lead = beta ** 2 / 2 * float(torch.triu(w, 1).pow(2).sum())
    assert 0 <= gap < 2 * lead
    assert r.log_z_bound == pytest.approx(10 * math.log(2), abs=1e-9)


def test_fixed_point_satisfies_mean_field_equations():
    w, b = random_machine(8, seed=6)
    r = mean_field(w, b, 0.9)
    assert r.converged
    torch.testing.assert_close(r.m, torch.tanh(0.9 * (w @ r.m + b)), atol=1e-8, rtol=0)


def test_binary_entropy_values():
    h = binary_entropy(torch.tensor([0.0, 1.0, -1.0, 0.5], dtype=torch.float64))
    p = 0.75
    expect = [math.log(2), 0.0, 0.0, -(p * math.log(p) + (1 - p) * math.log(1 - p))]
    for got, want in itertools.zip_longest(h.tolist(), expect):
        assert got == pytest.approx(want, abs=1e-12)


def test_bad_arguments_are_user_errors():
    with pytest.raises(GenlabError, match="damping"):
        mean_field(torch.zeros(2, 2), damping=0.0)
    with pytest.raises(GenlabError, match="beta"):
        mean_field(torch.zeros(2, 2), beta=-1.0)
