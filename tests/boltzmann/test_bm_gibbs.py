"""The Gibbs sampler against exact enumeration, and its fast paths against a plain one."""

import pytest
import torch
from bm_helpers import one_thread, random_machine  # noqa: F401  (one_thread: autouse fixture)
from scipy import stats

from genlab.boltzmann.diagnostics import pair_products, summarize
from genlab.boltzmann.exact import exact_moments, state_index, state_log_probs
from genlab.boltzmann.gibbs import gibbs_sweep, random_spins, sample
from genlab.boltzmann.gibbs_native import native_kernel
from genlab.errors import GenlabError


def reference_sweep(x, w, b, beta, logit_u):
    """The lecture's rule one unit at a time with the full field: a plain reference."""
    for i in range(x.shape[1]):
        a = x @ w[:, i] + b[..., i]
        x[:, i] = torch.where(2 * beta * a > logit_u[:, i], 1.0, -1.0).to(x.dtype)
    return x


@pytest.mark.parametrize("backend", ["torch", "native"])
@pytest.mark.parametrize("block", [1, 5, 64])
def test_blocked_sweep_equals_one_unit_at_a_time(backend, block):
    if backend == "native" and native_kernel(torch.float64, torch.device("cpu")) is None:
        pytest.skip("no C compiler")
    w, b = random_machine(23, seed=1, scale=2.0)
    g = torch.Generator().manual_seed(0)
    x0 = random_spins(40, 23, g, dtype=torch.float64)
    x, ref = x0.clone(), x0.clone()
    g1, g2 = torch.Generator().manual_seed(9), torch.Generator().manual_seed(9)
    for _ in range(4):
        gibbs_sweep(x, w, b, 0.8, g1, "fixed", block, backend)
        # the sampler draws one U(0,1) per chain and unit per sweep, in this order
        reference_sweep(ref, w, b, 0.8, torch.logit(torch.rand(40, 23, generator=g2,
                                                               dtype=torch.float64)))
    assert torch.equal(x, ref)


def test_per_chain_bias_equals_separate_runs():
    w, b = random_machine(9, seed=2)
    biases = torch.stack([b, -b, 2 * b])                     # (3, n)
    g = torch.Generator().manual_seed(0)
    x0 = random_spins(3, 9, g, dtype=torch.float64)
    x = x0.clone()
    gibbs_sweep(x, w, biases, 1.0, torch.Generator().manual_seed(4))
    logit_u = torch.logit(torch.rand(3, 9, generator=torch.Generator().manual_seed(4),
                                     dtype=torch.float64))
    ref = reference_sweep(x0.clone(), w, biases, 1.0, logit_u)
    assert torch.equal(x, ref)


@pytest.mark.parametrize("order", ["fixed", "random"])
@pytest.mark.parametrize("beta", [0.5, 1.5])
def test_state_frequencies_chi_square(order, beta):
    # 20,000 independent chains, each run 100 sweeps from a random start; the final states
    # are independent draws. A Pearson chi-square over the 2^5 states then has 31 degrees
    # of freedom (fewer after pooling the states expected fewer than 5 times into one bin,
    # so the chi-square approximation holds); the test fails wrongly with probability 1e-4.
    n, chains = 5, 20000
    w, b = random_machine(n, seed=3, scale=1.0)
    run = sample(w, b, beta, n_chains=chains, n_samples=1, burn_in=99,
                 generator=torch.Generator().manual_seed(1), order=order)
    counts = torch.bincount(state_index(run.samples[0]), minlength=1 << n).double()
    expected = chains * torch.exp(state_log_probs(w, b, beta))
    rare = expected < 5
    if rare.any():
        counts = torch.cat([counts[~rare], counts[rare].sum()[None]])
        expected = torch.cat([expected[~rare], expected[rare].sum()[None]])
    assert len(counts) > 8
    p = stats.chisquare(counts.numpy(), expected.numpy()).pvalue
    assert p > 1e-4


@pytest.mark.parametrize("n, beta, seed", [(8, 0.5, 10), (8, 2.0, 11), (12, 1.0, 12),
                                           (16, 0.5, 13), (16, 1.5, 14)])
def test_moments_within_five_mcse(n, beta, seed):
    # Every sampled mean and pair correlation is within 5 MCSE of its exact value. With
    # at most 136 quantities per model, a wrong failure needs a 5-sigma deviation:
    # probability < 136 * 5.7e-7 ~ 1e-4 per model if the MCSE is honest.
    # couplings of scale 0.7 / sqrt(n): at these beta the chains mix (R-hat checks it);
    # stronger, glassy couplings trap chains in modes, a property of the model, not of
    # the sampler, which the R-hat of such runs reports
    w, b = random_machine(n, seed=seed, scale=0.7)
    run = sample(w, b, beta, n_chains=32, n_samples=1000, burn_in=200,
                 generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    ex = exact_moments(w, b, beta)
    s = summarize(run.samples)
    assert float(((s.mean - ex.mean).abs() / s.mcse).max()) < 5
    prods, (i, j) = pair_products(run.samples)
    sc = summarize(prods)
    assert float(((sc.mean - ex.corr[i, j]).abs() / sc.mcse).max()) < 5
    assert float(s.rhat.max()) < 1.05 and float(sc.rhat.max()) < 1.05


def test_mcse_coverage_over_repeated_runs():
    # 400 independent repetitions (4 chains x 400 draws each, run as one batch of 1,600
    # chains). If the MCSE is honest, |mean - exact| < MCSE in 68.3% of them: Binomial
    # sd = sqrt(.683 * .317 / 400) = 0.023, so a 5-sigma band is [0.567, 0.799]. Unit 0
    # only, so the repetitions are independent trials.
    n, reps, per = 6, 400, 4
    w, b = random_machine(n, seed=20, scale=1.5)
    run = sample(w, b, 1.0, n_chains=reps * per, n_samples=400, burn_in=100,
                 generator=torch.Generator().manual_seed(3))
    draws = run.samples[:, :, 0].reshape(400, reps, per).permute(0, 2, 1)   # (S, 4, reps)
    s = summarize(draws)
    exact = float(exact_moments(w, b, 1.0).mean[0])
    covered = float(((s.mean - exact).abs() < s.mcse).double().mean())
    assert 0.567 < covered < 0.799


def test_energy_trace_and_shapes():
    w, b = random_machine(7, seed=5)
    run = sample(w, b, 1.0, n_chains=3, n_samples=10, burn_in=5, thin=2,
                 generator=torch.Generator().manual_seed(0))
    assert run.samples.shape == (10, 3, 7) and run.energy_trace.shape == (25, 3)
    assert run.sweeps == 25
    last = run.state.double()
    e = -0.5 * ((last @ w) * last).sum(-1) - last @ b
    torch.testing.assert_close(run.energy_trace[-1].double(), e, rtol=1e-5, atol=1e-5)
    assert torch.equal(run.samples[-1].double(), last)


def test_same_seed_same_chains():
    w, b = random_machine(6, seed=6)
    a = sample(w, b, n_chains=4, n_samples=5, generator=torch.Generator().manual_seed(3))
    c = sample(w, b, n_chains=4, n_samples=5, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a.samples, c.samples)


def test_bad_arguments_are_user_errors():
    w, b = random_machine(4, seed=7)
    with pytest.raises(GenlabError, match="order"):
        sample(w, b, order="backwards")
    with pytest.raises(GenlabError, match="n_chains"):
        sample(w, b, n_chains=0)
    with pytest.raises(GenlabError, match="beta"):
        sample(w, b, beta=float("nan"))
    with pytest.raises(GenlabError, match="-1 and \\+1"):
        sample(w, b, n_chains=1, init=torch.zeros(1, 4))
