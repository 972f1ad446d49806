"""Learning: the exact-gradient learner, the Monte Carlo learner, hidden units."""

import pytest
import torch
from bm_helpers import one_thread, random_machine  # noqa: F401  (one_thread: autouse fixture)

from genlab.boltzmann.boltzmann import BoltzmannMachine
from genlab.boltzmann.exact import (
    enumerate_states,
    exact_clamped_moments,
    exact_moments,
    state_log_probs,
)
from genlab.boltzmann.gibbs import random_spins
from genlab.boltzmann.learning import BMTrainConfig, clamped_sweep, fit_boltzmann
from genlab.errors import GenlabError


def exact_draws(w, b, count, seed):
    """Independent draws from P(x) = exp(-E(x)) / Z by sampling the enumerated states."""
    probs = torch.exp(state_log_probs(w, b))
    idx = torch.multinomial(probs, count, replacement=True,
                            generator=torch.Generator().manual_seed(seed))
    return enumerate_states(w.shape[0])[idx].float()


@pytest.fixture
def ten_unit_data():
    w, b = random_machine(10, seed=42, scale=1.0)
    return exact_draws(w, b, 4000, seed=1)


def test_exact_gradient_converges_to_moment_matching(ten_unit_data):
    data = ten_unit_data
    cfg = BMTrainConfig(method="exact", epochs=100, batch_size=len(data), lr=0.2, momentum=0.0)
    res = fit_boltzmann(data, cfg)
    ll = [h["log_likelihood"] for h in res.history]
    # without hidden units the log-likelihood is concave in (W, b): gradient ascent with a
    # small enough step (below 2 / the largest eigenvalue of the covariance of the
    # statistics x_i x_j, x_i; 0.5 is already too large here) never lowers it (1e-6:
    # float32 weights near convergence)
    assert all(b >= a - 1e-6 for a, b in zip(ll, ll[1:], strict=False))
    ex = exact_moments(res.model.weights, res.model.bias)
    gap = (ex.corr - (data.T @ data / len(data)).double()).abs().max()
    assert float(gap) < 0.02
    assert float((ex.mean - data.mean(0).double()).abs().max()) < 0.02
    w = res.model.weights
    assert torch.equal(w, w.T) and torch.equal(w.diagonal(), torch.zeros(10))


def test_pcd_matches_data_correlations(ten_unit_data):
    # the Monte Carlo learner's stationary point is the same moment-matching condition;
    # with 1,000 persistent chains the gradient noise per update is ~1/sqrt(1000) = 0.03,
    # averaged down by the decaying learning rate over 320 updates
    data = ten_unit_data
    cfg = BMTrainConfig(method="pcd", epochs=40, batch_size=500, lr=0.05, lr_decay=0.02,
                        momentum=0.5, n_chains=1000, eval_every=10)
    res = fit_boltzmann(data, cfg, torch.Generator().manual_seed(0))
    ex = exact_moments(res.model.weights, res.model.bias)
    gap = (ex.corr - (data.T @ data / len(data)).double()).abs().max()
    assert float(gap) < 0.02
    ll = [h["log_likelihood"] for h in res.history if "log_likelihood" in h]
    assert ll[-1] > ll[0]


def test_clamped_sampling_matches_exact_data_term():
    # 6 visible + 3 hidden. 4,000 independent clamped chains (1,000 per data row), 30
    # sweeps each; the mean of x_i x_j over chains has sd <= 1/sqrt(4000) = 0.016, so
    # 5 sd = 0.08 bounds every entry's error.
    w, b = random_machine(9, seed=3, scale=1.5)
    model = BoltzmannMachine(w.float(), b.float(), 6, torch.ones(9, 9).fill_diagonal_(0))
    rows = torch.tensor([[1, -1, 1, 1, -1, -1], [-1, -1, 1, 1, 1, -1],
                         [1, 1, 1, -1, -1, 1], [-1, 1, -1, 1, -1, 1]], dtype=torch.float32)
    v = rows.repeat_interleave(1000, 0)
    g = torch.Generator().manual_seed(0)
    h = random_spins(len(v), 3, g)
    for _ in range(30):
        clamped_sweep(model, v, h, 1.0, g)
    x = torch.cat([v, h], 1).double()
    ex = exact_clamped_moments(w, b, rows, 6)
    assert float((x.T @ x / len(x) - ex.corr).abs().max()) < 0.08


@pytest.mark.parametrize("method", ["exact", "pcd"])
def test_hidden_units_raise_exact_log_likelihood(method):
    # 200 rows on 5 visible units drawn from a 7-unit machine's visible part, fitted by a
    # machine with 2 hidden units: the exact log-likelihood must rise clearly above its
    # starting value (nearly -5 log 2, the uniform distribution)
    w, b = random_machine(7, seed=8, scale=2.0)
    data = exact_draws(w, b, 200, seed=2)[:, :5]
    cfg = BMTrainConfig(n_hidden=2, method=method, epochs=30, batch_size=50, lr=0.02,
                        momentum=0.5, n_chains=300, clamped_sweeps=2, eval_every=10,
                        init_scale=0.1)
    res = fit_boltzmann(data, cfg, torch.Generator().manual_seed(1))
    ll = [h["log_likelihood"] for h in res.history if "log_likelihood" in h]
    assert res.history[0]["epoch"] == 0 and len(ll) == 4
    assert ll[-1] > ll[0] + 0.3


def test_mask_is_respected_and_weights_stay_symmetric():
    mask = torch.ones(6, 6)
    mask[0, 5] = mask[5, 0] = 0
    mask.fill_diagonal_(0)
    data = (2 * torch.randint(0, 2, (50, 4), generator=torch.Generator().manual_seed(0))
            - 1).float()
    res = fit_boltzmann(data, BMTrainConfig(n_hidden=2, epochs=5, batch_size=10),
                        mask=mask)
    w = res.model.weights
    assert float(w[0, 5]) == 0.0 and torch.equal(w, w.T) and float(w.diagonal().abs().sum()) == 0


@pytest.mark.parametrize("change, msg", [
    ({"method": "sgd"}, "unknown method"), ({"epochs": 0}, "epochs"),
    ({"lr": -1.0}, "lr"), ({"momentum": 1.0}, "momentum"), ({"anneal_from": 0.0}, "anneal"),
    ({"data_noise": 0.5}, "data_noise"),
])
def test_bad_config_is_a_user_error(change, msg):
    data = torch.ones(4, 3)
    with pytest.raises(GenlabError, match=msg):
        fit_boltzmann(data, BMTrainConfig(**change))


def test_exact_method_refuses_large_machines():
    with pytest.raises(GenlabError, match="n <= 20"):
        fit_boltzmann(torch.ones(4, 18), BMTrainConfig(method="exact", n_hidden=4))


def test_bad_data_is_a_user_error():
    with pytest.raises(GenlabError, match="-1 and \\+1"):
        fit_boltzmann(torch.zeros(4, 3))


def test_noisy_clamping_keeps_weights_finite():
    # Data all +1 on 3 units: the maximum-likelihood biases are infinite. With each bit
    # flipped with probability p = 0.1 per update, the target is the noisy data's moments:
    # <x_i> = 1 - 2p = 0.8 and, bits flipping independently, <x_i x_j> = 0.8^2 = 0.64.
    # 1,000 rows per update give a data-term sd of at most 1/sqrt(1000) = 0.03 per update,
    # averaged over the last updates by the decaying rate; 0.05 allows for that.
    data = torch.ones(1000, 3)
    cfg = BMTrainConfig(method="exact", epochs=200, batch_size=1000, lr=0.2, lr_decay=0.05,
                        momentum=0.0, data_noise=0.1)
    res = fit_boltzmann(data, cfg, torch.Generator().manual_seed(0))
    ex = exact_moments(res.model.weights, res.model.bias)
    assert float((ex.mean - 0.8).abs().max()) < 0.05
    off = ex.corr[~torch.eye(3, dtype=torch.bool)]
    assert float((off - 0.64).abs().max()) < 0.05
