"""The Gumbel distribution and the Concrete density against closed forms, numerical
integrals and independent implementations (scipy.stats.gumbel_r, torch.distributions)."""

import math

import numpy as np
import pytest
import torch
from scipy import integrate, stats

from genlab.errors import GenlabError
from genlab.latent.distributions import Gumbel, concrete_log_prob
from genlab.latent.gumbel import gumbel_softmax

PARAMS = [(0.0, 1.0), (2.5, 0.5), (-1.0, 3.0)]


@pytest.mark.parametrize("loc,scale", PARAMS)
def test_gumbel_pdf_cdf_quantile_match_scipy(loc, scale):
    d = Gumbel(loc, scale)
    ref = stats.gumbel_r(loc=loc, scale=scale)
    x = torch.linspace(loc - 4 * scale, loc + 12 * scale, 301, dtype=torch.float64)
    np.testing.assert_allclose(d.pdf(x).numpy(), ref.pdf(x.numpy()), rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(d.cdf(x).numpy(), ref.cdf(x.numpy()), rtol=1e-10, atol=1e-300)
    p = torch.linspace(0.001, 0.999, 99, dtype=torch.float64)
    np.testing.assert_allclose(d.icdf(p).numpy(), ref.ppf(p.numpy()), rtol=1e-10, atol=1e-12)
    assert math.isclose(float(d.mean), ref.mean(), rel_tol=1e-12, abs_tol=1e-12)
    assert math.isclose(float(d.variance), ref.var(), rel_tol=1e-12)


@pytest.mark.parametrize("loc,scale", PARAMS)
def test_gumbel_pdf_integrates_to_one_and_to_the_cdf(loc, scale):
    d = Gumbel(loc, scale)

    def f(t):
        return float(d.pdf(torch.tensor(t, dtype=torch.float64)))

    total, _ = integrate.quad(f, -np.inf, np.inf)
    assert abs(total - 1) < 1e-8
    for t in (loc - scale, loc, loc + 2 * scale):
        part, _ = integrate.quad(f, -np.inf, t)
        assert abs(part - float(d.cdf(torch.tensor(t, dtype=torch.float64)))) < 1e-8


@pytest.mark.parametrize("loc,scale", PARAMS)
def test_gumbel_samples_follow_the_cdf(loc, scale):
    """KS test (p > 0.001) and sample mean within 5 standard errors sqrt(var / n)."""
    n = 200000
    d = Gumbel(loc, scale)
    x = d.sample((n,), torch.Generator().manual_seed(0), dtype=torch.float64)
    assert stats.kstest(x.numpy(), stats.gumbel_r(loc=loc, scale=scale).cdf).pvalue > 1e-3
    assert abs(float(x.mean() - d.mean)) < 5 * math.sqrt(float(d.variance) / n)


def test_gumbel_batched_parameters_and_bad_scale():
    d = Gumbel(torch.tensor([0.0, 1.0, 2.0]), torch.tensor([1.0, 2.0, 0.5]))
    assert d.sample((7,), torch.Generator().manual_seed(1)).shape == (7, 3)
    with pytest.raises(GenlabError):
        Gumbel(0.0, 0.0)
    with pytest.raises(GenlabError):
        Gumbel(math.nan, 1.0)


@pytest.mark.parametrize("logits,tau", [([0.0, 0.0], 1.0), ([1.3, -0.4], 0.3),
                                        ([-2.0, 0.5], 2.0), ([0.2, 0.1], 0.7)])
def test_concrete_k2_density_integrates_to_one(logits, tau):
    lg = torch.tensor(logits, dtype=torch.float64)

    def f(t):
        x = torch.tensor([t, 1 - t], dtype=torch.float64)
        return math.exp(float(concrete_log_prob(x, lg, tau)))

    total, _ = integrate.quad(f, 0, 1, limit=200, points=[0.5])
    assert abs(total - 1) < 1e-6


def test_concrete_k2_density_is_the_derivative_of_the_logistic_cdf():
    """For K = 2, P(x_0 <= t) = sigmoid(tau logit(t) - (l_0 - l_1)); its derivative is the
    density: tau / (t (1 - t)) * s (1 - s) with s that sigmoid."""
    lg, tau = torch.tensor([0.9, -0.3], dtype=torch.float64), 0.4
    t = torch.linspace(0.01, 0.99, 99, dtype=torch.float64)
    s = torch.sigmoid(tau * torch.logit(t) - (lg[0] - lg[1]))
    expected = torch.log(tau / (t * (1 - t)) * s * (1 - s))
    got = concrete_log_prob(torch.stack([t, 1 - t], -1), lg, tau)
    torch.testing.assert_close(got, expected)


@pytest.mark.parametrize("tau", [1.0, 2.0])
def test_concrete_k3_density_integrates_to_one(tau):
    """Over the triangle with x_0 = u, x_1 = (1 - u) v (Jacobian 1 - u), by a 400 x 400
    Gauss-Legendre product rule on the unit square. For tau >= 1 the density is bounded
    and continuous on the closed simplex, so the rule's error is far below 1e-4."""
    lg = torch.tensor([0.5, -0.2, 0.1], dtype=torch.float64)
    nodes, weights = np.polynomial.legendre.leggauss(400)
    t = torch.tensor((nodes + 1) / 2)
    w = torch.tensor(weights / 2)
    u, v = t[:, None].expand(400, 400), t[None, :].expand(400, 400)
    x = torch.stack([u, (1 - u) * v, (1 - u) * (1 - v)], -1)
    dens = torch.exp(concrete_log_prob(x, lg, tau)) * (1 - u)
    total = float((w[:, None] * w[None, :] * dens).sum())
    assert abs(total - 1) < 1e-4


def test_concrete_matches_torch_relaxed_one_hot_categorical():
    gen = torch.Generator().manual_seed(2)
    lg = torch.randn(50, 6, generator=gen, dtype=torch.float64)
    for tau in (0.3, 1.0, 2.5):
        x = gumbel_softmax(lg, tau, generator=gen)
        ref = torch.distributions.RelaxedOneHotCategorical(torch.tensor(tau, dtype=torch.float64),
                                                             logits=lg)
        torch.testing.assert_close(concrete_log_prob(x, lg, tau), ref.log_prob(x))


def test_concrete_is_minus_inf_off_the_simplex():
    lg = torch.zeros(3)
    x = torch.tensor([[0.5, 0.5, 0.5], [1.0, 0.0, 0.0], [0.2, 0.3, 0.5]])
    lp = concrete_log_prob(x, lg, 1.0)
    assert lp[0] == -math.inf and lp[1] == -math.inf and math.isfinite(float(lp[2]))
