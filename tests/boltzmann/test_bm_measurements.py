"""The measurements the bm tasks report, each against an exact answer: the correlation matrix
and its standard error, the mean-field KL, the encoder's solve statistics, the final
log-likelihood of a history."""

import itertools
import math

import numpy as np
import pytest
import torch
from bm_helpers import one_thread, random_machine  # noqa: F401  (one_thread: autouse fixture)

from genlab.boltzmann.diagnostics import pair_correlations
from genlab.boltzmann.encoder import EncoderRun, solve_statistics
from genlab.boltzmann.exact import enumerate_states, exact_moments, state_log_probs
from genlab.boltzmann.gibbs import sample
from genlab.boltzmann.learning import final_log_likelihood
from genlab.boltzmann.meanfield import mean_field_kl
from genlab.boltzmann.tasks import exact_report, mean_field_report, sample_report
from genlab.errors import GenlabError


def test_pair_correlations_are_the_sample_means_of_the_products():
    x = torch.where(torch.rand(30, 3, 5, generator=torch.Generator().manual_seed(0)) < 0.4,
                    -1, 1).to(torch.int8)
    pc = pair_correlations(x)
    flat = x.reshape(-1, 5).double()
    torch.testing.assert_close(pc.corr, flat.T @ flat / flat.shape[0])  # diagonal: x_i^2 = 1
    assert torch.equal(pc.corr, pc.corr.T) and torch.equal(pc.mcse, pc.mcse.T)
    assert torch.all(pc.mcse.diagonal() == 0) and torch.all(pc.rhat.diagonal() == 1)
    i, j = np.triu_indices(5, 1)
    assert pc.max_rhat == float(pc.rhat[i, j].max())


def test_correlation_mcse_of_independent_draws_is_one_over_root_n():
    # beta = 0: every draw is uniform and independent, so y = x_i x_j is ±1 with variance 1
    # and the standard error of its mean over N = S C draws is exactly 1/sqrt(N).
    w, b = random_machine(5, seed=1)
    run = sample(w, b, 0.0, n_chains=8, n_samples=500, burn_in=0,
                 generator=torch.Generator().manual_seed(2))
    pc = pair_correlations(run.samples)
    i, j = np.triu_indices(5, 1)
    se = pc.mcse[i, j]
    # ESS is estimated from autocorrelations, so each MCSE scatters by a few per cent
    assert torch.allclose(se, torch.full_like(se, 1 / math.sqrt(4000)), rtol=0.15)
    assert float((pc.corr[i, j] / se).abs().max()) < 5


def test_correlation_mcse_matches_the_spread_over_independent_runs():
    # The MCSE of one run estimates the standard deviation of its estimate over repeated
    # independent runs. With R runs the sample SD has relative error 1/sqrt(2(R-1)), 9% for
    # R = 60 (pooling 6 pairs only lowers it); the ratio may be off by 4 of those.
    w, b = random_machine(4, seed=7, scale=1.5)
    runs = 60
    estimates, errors = [], []
    for r in range(runs):
        run = sample(w, b, 1.0, n_chains=4, n_samples=200, burn_in=50,
                     generator=torch.Generator().manual_seed(100 + r))
        pc = pair_correlations(run.samples)
        i, j = np.triu_indices(4, 1)
        estimates.append(pc.corr[i, j])
        errors.append(pc.mcse[i, j])
    est, err = torch.stack(estimates), torch.stack(errors)           # (R, 6)
    spread = est.var(0, correction=1).mean().sqrt()
    reported = err.pow(2).mean().sqrt()
    tol = 1 + 4 / math.sqrt(2 * (runs - 1))
    assert 1 / tol < float(reported / spread) < tol
    # and the runs' mean agrees with enumeration within its own standard error
    exact = exact_moments(w, b).corr[i, j]
    z = (est.mean(0) - exact) / (est.std(0) / math.sqrt(runs))
    assert float(z.abs().max()) < 5


def test_sample_report_correlations_within_mcse_of_enumeration():
    w, b = random_machine(5, seed=3)
    rep = sample_report(w, b, 1.0, chains=8, samples=400, burn_in=50, seed=4,
                        correlations=True)
    ex = exact_report(w, b, 1.0)
    i, j = np.triu_indices(5, 1)
    z = (rep.correlations[i, j] - ex.correlations[i, j]) / rep.correlations_mcse[i, j]
    assert float(z.abs().max()) < 5          # 10 pairs: a false alarm ~ 6e-6
    assert float(((rep.mean - ex.mean) / rep.mean_mcse).abs().max()) < 5
    assert rep.draws.shape == (400, 8, 5) and rep.out is None


def test_sample_report_refusals():
    w, b = random_machine(3, seed=0)
    with pytest.raises(GenlabError, match="samples must be >= 4"):
        sample_report(w, b, samples=3)
    with pytest.raises(GenlabError, match="at most 200 units"):
        sample_report(torch.zeros(201, 201), correlations=True)


def _factorised_kl(m: torch.Tensor, w: torch.Tensor, b: torch.Tensor, beta: float) -> float:
    """KL(Q || P) = sum_x Q(x) log(Q(x) / P(x)) by enumeration, Q(x) = prod (1 + m_i x_i)/2."""
    x = enumerate_states(w.shape[0])
    q = ((1 + m * x) / 2).prod(1)
    log_p = state_log_probs(w, b, beta)
    keep = q > 0
    return float((q[keep] * (q[keep].log() - log_p[keep])).sum())


def test_mean_field_kl_is_the_kl_by_enumeration():
    w, b = random_machine(6, seed=5)
    rep = mean_field_report(w, b, 0.8)
    assert rep.kl == mean_field_kl(rep.free_energy, rep.log_z)
    assert rep.kl == pytest.approx(_factorised_kl(rep.m, w, b, 0.8), abs=1e-10)
    assert rep.kl >= 0 and rep.log_z_bound == pytest.approx(rep.log_z - rep.kl, abs=1e-12)


def test_mean_field_report_without_exact_beyond_twenty_units():
    w, b = random_machine(21, seed=6, scale=0.3)
    rep = mean_field_report(w, b, 1.0, restarts=2)
    assert rep.log_z is None and rep.kl is None and math.isfinite(rep.log_z_bound)


@pytest.mark.parametrize("updates", [[10, None, 30, 20], [7], [None, None], [5, 3, 9, 1, None]])
def test_solve_statistics_against_numpy(updates):
    runs = [EncoderRun(u is not None, 99 if u is None else u) for u in updates]
    st = solve_statistics(runs)
    solved = [u for u in updates if u is not None]
    assert st.solved == len(solved) and st.success_rate == len(solved) / len(updates)
    if solved:
        assert st.median_updates == float(np.median(solved))
        assert st.max_updates == max(solved)
    else:
        assert st.median_updates is None and st.max_updates is None


def test_final_log_likelihood():
    history = [{"epoch": 0, "log_likelihood": -3.0}, {"epoch": 1, "log_likelihood": -2.5},
               {"epoch": 2}]
    assert final_log_likelihood(history) == -2.5
    assert final_log_likelihood([{"epoch": 1}]) is None


def test_exact_report_matches_brute_force():
    w, b = random_machine(4, seed=8)
    rep = exact_report(w, b, 0.6)
    states = [torch.tensor(s, dtype=torch.float64) for s in itertools.product([-1, 1], repeat=4)]
    weights = [math.exp(-0.6 * float(-0.5 * s @ w @ s - b @ s)) for s in states]
    z = sum(weights)
    assert rep.log_z == pytest.approx(math.log(z), abs=1e-12)
    mean = sum(p * s for p, s in zip(weights, states, strict=True)) / z
    torch.testing.assert_close(rep.mean, mean)
