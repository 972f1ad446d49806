"""RAISE against the annealing model's likelihood, computed exactly by pushing the base
distribution through every Gibbs transition matrix of a small Bernoulli RBM."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from rbm_helpers import all_states, random_params

from genlab.errors import GenlabError
from genlab.rbm import BernoulliRBM, RBMParams, raise_log_likelihood
from genlab.rbm.energy import free_energy, sample_visible
from genlab.rbm.partition import ais_schedule, exact_log_partition


def _cond(logits: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """``P(X_b | logits_a)`` of independent Bernoulli units, ``(A, B)``."""
    return torch.exp(F.logsigmoid(logits) @ X.T + F.logsigmoid(-logits) @ (1 - X).T)


def annealing_log_p(p: RBMParams, n_betas: int, layer: str) -> torch.Tensor:
    """``log p_ann(v)`` for every ``v`` ``(2^n_v,)``: the base distribution (the RBM's own
    biases of the annealed layer, ``W = 0``) times the Gibbs transition matrices
    ``T_1 ... T_K`` of the path, each written out over all states."""
    V, H = all_states(p.n_visible), all_states(p.n_hidden)
    w, b, c = p.weights, p.visible_bias, p.hidden_bias
    betas = ais_schedule(n_betas).tolist()[1:]
    if layer == "visible":  # the RBMs (beta W, b, beta c)
        dist = _cond(b[None], V)[0]
        for beta in betas:
            dist = dist @ (_cond(beta * (c + V @ w.T), H) @ _cond(b + beta * (H @ w), V))
        return torch.log(dist)
    dist = _cond(c[None], H)[0]  # the RBMs (beta W, b, c)
    for beta in betas:
        dist = dist @ (_cond(b + beta * (H @ w), V) @ _cond(c + beta * (V @ w.T), H))
    return torch.log(dist @ _cond(b + H @ w, V))


TEST_ROWS = torch.arange(0, 256, 17)  # 16 of the 256 visible states


@pytest.mark.parametrize("layer", ["visible", "hidden"])
@pytest.mark.parametrize("n_betas", [5, 50])
def test_raise_estimates_the_annealing_model(layer, n_betas):
    """Each example's estimate is within 4 of its standard errors of the exact
    log p_ann(v); with 5 betas the annealing model is still far from the RBM."""
    p = random_params(8, 6, seed=4, scale=1.0)
    V = all_states(8)[TEST_ROWS]
    ann = annealing_log_p(p, n_betas, layer)[TEST_ROWS]
    res = raise_log_likelihood(p, V, None, n_runs=1000, n_betas=n_betas,
                               generator=torch.Generator().manual_seed(0), layer=layer)
    assert res.layer == layer and res.log_weights.shape == (16, 1000)
    assert (torch.abs(res.log_p - ann) <= 4 * res.log_p_std_err).all()
    assert res.log_likelihood == pytest.approx(float(res.log_p.mean()))
    assert abs(res.log_likelihood - float(ann.mean())) <= 4 * res.std_err


@pytest.mark.parametrize("layer", ["visible", "hidden"])
def test_raise_is_a_lower_bound_on_average(layer):
    """E[log p_ann_hat(v)] <= log p_ann(v): 500 estimators of 2 runs each per example, with
    5 betas, lie below on average by more than 3 standard errors of the mean."""
    p = random_params(8, 6, seed=5, scale=1.0)
    V = all_states(8)[TEST_ROWS]
    ann = annealing_log_p(p, 5, layer)[TEST_ROWS]
    groups = 500
    res = raise_log_likelihood(p, V, None, n_runs=2 * groups, n_betas=5,
                               generator=torch.Generator().manual_seed(1), layer=layer)
    lw = res.log_weights.reshape(len(V), groups, 2)
    log_p = (res.log_p - torch.logsumexp(res.log_weights, 1) + math.log(2 * groups))[:, None] \
        + torch.logsumexp(lw, 2) - math.log(2)  # (N, groups)
    gap = (log_p - ann[:, None]).flatten()
    assert float(gap.mean()) < -3 * float(gap.std()) / math.sqrt(len(gap))


@pytest.mark.parametrize("layer", ["visible", "hidden"])
@pytest.mark.parametrize("gaussian", [False, True])
def test_raise_converges_to_the_rbm_likelihood(gaussian, layer):
    """With 1000 betas the annealing model is the RBM to within 0.01 nats on average, and
    RAISE's average over 32 draws of the RBM is within 4 standard errors of that of the
    exact log p(v) = -F(v) - log Z."""
    p = random_params(8, 6, seed=6, scale=0.5 if gaussian else 1.0, gaussian=gaussian)
    gen = torch.Generator().manual_seed(2)
    h = (torch.rand(32, 6, generator=gen) < 0.5).double()
    v = sample_visible(p, h, gen)  # rough draws, for points where the model has mass
    exact = float((-free_energy(p, v) - exact_log_partition(p)).mean())
    res = raise_log_likelihood(p, v, None, n_runs=20, n_betas=1000, generator=gen,
                               layer=layer)
    assert abs(res.log_likelihood - exact) <= 4 * res.std_err + 0.01
    if not gaussian:
        V = all_states(8)
        log_p = -free_energy(p, V) - exact_log_partition(p)
        kl = float((torch.exp(log_p) * (log_p - annealing_log_p(p, 1000, layer))).sum())
        assert 0 <= kl < 0.01


def test_raise_refuses_bad_input():
    p = random_params(6, 4, seed=0)
    with pytest.raises(GenlabError, match="2 runs"):
        raise_log_likelihood(p, torch.zeros(3, 6), n_runs=1)
    with pytest.raises(GenlabError, match="shape"):
        raise_log_likelihood(p, torch.zeros(3, 5))


def test_estimator_raise_matches_the_function_in_chunks():
    rng = np.random.RandomState(0)
    X = (rng.rand(200, 10) < 0.3).astype(np.float32)
    rbm = BernoulliRBM(6, n_iter=5, random_state=0, device="cpu").fit(X)
    res = rbm.raise_log_likelihood(X[:7], n_runs=4, n_betas=20, seed=3)
    assert res.log_p.shape == (7,) and res.layer == "hidden" and res.n_runs == 4
    assert res.log_p.dtype == torch.float64 and res.log_likelihood < 0
    # three examples at a time (12 chains) estimate the same
    gen = torch.Generator().manual_seed(4)
    again = raise_log_likelihood(rbm._params(), torch.tensor(X[:7]), None, 4, 20, gen,
                                 "hidden", max_chains=12)
    assert again.log_p.shape == (7,)
    assert abs(again.log_likelihood - res.log_likelihood) <= 4 * math.hypot(res.std_err,
                                                                            again.std_err)
