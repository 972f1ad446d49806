"""ESS, MCSE and R-hat on sequences whose autocorrelation is known in closed form."""

import numpy as np
import pytest
import torch
from bm_helpers import one_thread  # noqa: F401  (an autouse fixture)
from scipy.signal import lfilter

from genlab.boltzmann.diagnostics import (
    autocovariance,
    effective_sample_size,
    split_rhat,
    summarize,
)
from genlab.errors import GenlabError


def ar1(phi, shape, seed):
    """Stationary AR(1) x_t = phi x_{t-1} + e_t, e_t ~ N(0, 1), along dim 0 (S, ...)."""
    g = torch.Generator().manual_seed(seed)
    e = torch.randn(*shape, generator=g, dtype=torch.float64).numpy()
    e[0] /= np.sqrt(1 - phi ** 2)  # start in the stationary distribution
    return torch.from_numpy(lfilter([1.0], [1.0, -phi], e, axis=0))


def test_autocovariance_matches_direct_sum():
    x = ar1(0.5, (50, 3), seed=0)
    acov = autocovariance(x)
    xc = x - x.mean(0)
    for t in (0, 1, 7, 49):
        direct = (xc[: 50 - t] * xc[t:]).sum(0) / 50
        torch.testing.assert_close(acov[t], direct)


@pytest.mark.parametrize("phi", [0.0, 0.5, 0.9, -0.5])
def test_ess_of_ar1_matches_theory(phi):
    # ESS = N / tau with tau = (1 + phi) / (1 - phi) for AR(1). Sokal's estimate of the
    # relative error of tau summed over a window M is sqrt(2 (2M + 1) / N); Geyer's
    # window ends after roughly 5 tau, so with N = 8 x 20,000 and tau <= 19 the relative
    # sd is below 0.05: we allow 5 sd (25%). Antithetic phi < 0 gives tau < 1 (ESS > N).
    s, c = 20000, 8
    x = ar1(phi, (s, c), seed=1)[:, :, None]
    ess = float(effective_sample_size(x)[0])
    tau = (1 + phi) / (1 - phi)
    assert ess == pytest.approx(s * c / tau, rel=0.25)


def test_mcse_coverage_on_ar1():
    # 500 independent replicates (4 chains of 1,000 draws, phi = 0.8, true mean 0): the
    # fraction with |mean| < MCSE should be 68.3%; Binomial sd sqrt(.683 .317 / 500) =
    # 0.021, 5 sd gives [0.579, 0.787].
    x = ar1(0.8, (1000, 4, 500), seed=2)
    s = summarize(x)
    covered = float((s.mean.abs() < s.mcse).double().mean())
    assert 0.579 < covered < 0.787


def test_mcse_of_iid_is_sd_over_sqrt_n():
    x = ar1(0.0, (4000, 4, 1), seed=3)
    s = summarize(x)
    # for iid draws ESS ~ N; MCSE = sd / sqrt(N) up to the ESS estimate's error (~5%)
    assert float(s.mcse[0]) == pytest.approx(float(x.std()) / (16000 ** 0.5), rel=0.15)


def test_rhat_near_one_for_agreeing_chains_and_large_for_disagreeing():
    x = ar1(0.5, (2000, 4, 1), seed=4)
    assert float(split_rhat(x)[0]) == pytest.approx(1.0, abs=0.02)
    shifted = x + torch.tensor([0.0, 0.0, 0.0, 3.0], dtype=torch.float64)[None, :, None]
    assert float(split_rhat(shifted)[0]) > 1.3
    # a trend within every chain is caught by splitting the chains in halves
    trend = x + torch.linspace(0, 5, 2000, dtype=torch.float64)[:, None, None]
    assert float(split_rhat(trend)[0]) > 1.3


def test_constant_quantities():
    x = torch.ones(100, 3, 2)
    s = summarize(x)
    assert torch.equal(s.mcse, torch.zeros(2)) and torch.equal(s.rhat, torch.ones(2).double())
    stuck = torch.cat([torch.ones(100, 1, 1), -torch.ones(100, 1, 1)], dim=1)
    assert float(split_rhat(stuck)[0]) == float("inf")


def test_too_few_draws_is_a_user_error():
    with pytest.raises(GenlabError, match="at least"):
        summarize(torch.zeros(2, 3))
    with pytest.raises(GenlabError, match="n_draws, n_chains"):
        summarize(torch.zeros(10))
