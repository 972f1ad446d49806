"""The energy's derived quantities against brute-force sums over the joint states."""

from __future__ import annotations

import math

import torch
from rbm_helpers import all_states, brute_log_joint, random_params

from genlab.rbm.energy import (
    energy,
    free_energy,
    hidden_log_marginal,
    hidden_probs,
    sample_visible,
    visible_mean,
)


def test_free_energy_is_minus_log_sum_over_hidden():
    p = random_params(5, 4, seed=1)
    V, _, log_joint = brute_log_joint(p)
    torch.testing.assert_close(free_energy(p, V), -torch.logsumexp(log_joint, dim=1))


def test_conditionals_match_the_joint_table():
    p = random_params(4, 3, seed=2)
    V, H, log_joint = brute_log_joint(p)
    # P(h_j = 1 | v) = sum_h h_j p(v, h) / p(v)
    post = torch.softmax(log_joint, dim=1)  # (2^n_v, 2^n_h)
    torch.testing.assert_close(hidden_probs(p, V), post @ H)
    # P(v_i = 1 | h)
    prior = torch.softmax(log_joint, dim=0)
    torch.testing.assert_close(visible_mean(p, H), prior.t() @ V)


def test_hidden_log_marginal_bernoulli():
    p = random_params(4, 3, seed=3)
    _, H, log_joint = brute_log_joint(p)
    torch.testing.assert_close(hidden_log_marginal(p, H), torch.logsumexp(log_joint, dim=0))


def test_hidden_log_marginal_gaussian_by_quadrature():
    # one visible unit: integrate exp(-E(v, h)) on a fine grid (error far below 1e-8)
    p = random_params(1, 3, seed=4, gaussian=True)
    H = all_states(3)
    x = torch.linspace(-30, 30, 400001, dtype=torch.float64)[:, None]
    dx = 60 / 400000
    quad = torch.stack([torch.logsumexp(-energy(p, x, h.expand(len(x), -1)), 0) + math.log(dx)
                        for h in H])
    torch.testing.assert_close(hidden_log_marginal(p, H), quad, rtol=0, atol=1e-6)


def test_gaussian_visible_samples_have_the_stated_moments():
    p = random_params(3, 2, seed=5, gaussian=True)
    h = torch.tensor([[1.0, 0.0]], dtype=torch.float64).expand(200000, -1)
    v = sample_visible(p, h, torch.Generator().manual_seed(0))
    mean = p.visible_bias + p.weights[0]
    sd = torch.exp(0.5 * p.log_var)
    # 5 standard errors of the sample mean, sd / sqrt(N)
    assert ((v.mean(0) - mean).abs() < 5 * sd / math.sqrt(len(v))).all()
    # sample variance: SE of s^2 is sigma^2 sqrt(2 / (N - 1))
    assert ((v.var(0) - sd**2).abs() < 5 * sd**2 * math.sqrt(2 / (len(v) - 1))).all()
