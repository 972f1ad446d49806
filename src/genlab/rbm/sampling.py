"""Gibbs chains and the contrastive-divergence learning step (CD-k and persistent CD).

The log-likelihood gradient of an RBM is the data correlation minus the model
correlation (the lecture's learning rule)::

    d log p(v) / dW_ji = <h_j v_i>_data - <h_j v_i>_model
    d log p(v) / db_i  = <v_i>_data - <v_i>_model
    d log p(v) / dc_j  = <h_j>_data - <h_j>_model

(Gaussian units read ``v / sigma^2`` for ``v`` and add ``d/dz_i = <(v_i - b_i)^2 / (2
sigma_i^2) - v_i (W'h)_i / sigma_i^2>_data - <...>_model`` for ``z = log sigma^2``.) The
data term uses ``P(h | v)``; the model term is estimated from Gibbs chains: CD-k restarts
them at the mini-batch and runs ``k`` sweeps (Hinton 2002); PCD keeps them going from
one update to the next (Tieleman 2008), which is scikit-learn's BernoulliRBM with ``k = 1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch

from genlab.rbm.energy import (
    RBMParams,
    bernoulli,
    hidden_probs,
    sample_visible,
    scaled_visible,
    visible_input,
)

LOG_VAR_RANGE = (-9.0, 9.0)  # keeps sigma^2 in [1.2e-4, 8.1e3] while it is learned


class ChainState(NamedTuple):
    """The end of a Gibbs run: visible sample ``(M, n_v)``, ``P(h | v)`` and ``h ~ P(h | v)``."""

    v: torch.Tensor
    h_prob: torch.Tensor
    h: torch.Tensor


def gibbs_from_hidden(p: RBMParams, h: torch.Tensor, k: int,
                      generator: torch.Generator | None) -> ChainState:
    """Run ``k >= 1`` Gibbs sweeps ``v ~ p(v | h)``, ``h ~ P(h | v)`` from hidden states ``h``."""
    for _ in range(k):
        v = sample_visible(p, h, generator)
        h_prob = hidden_probs(p, v)
        h = bernoulli(h_prob, generator)
    return ChainState(v, h_prob, h)


@dataclass
class Optimiser:
    """Hyper-parameters of the update ``u <- momentum u + lr (grad - weight_decay W)``."""

    learning_rate: float
    momentum: float = 0.0
    weight_decay: float = 0.0
    learn_variance: bool = False


def cd_update(p: RBMParams, velocity: RBMParams | None, v_pos: torch.Tensor,
              chain: torch.Tensor | None, k: int, opt: Optimiser,
              generator: torch.Generator | None) -> torch.Tensor:
    """One CD-k (``chain`` None) or PCD-k step on mini-batch ``v_pos`` ``(B, n_v)``, in place.

    ``chain`` is the persistent hidden state ``(M, n_h)`` for PCD. The parameters of
    ``p`` (and ``velocity`` when momentum is used) are updated in place by gradient
    ascent on the log-likelihood; returns the new hidden chain state ``(M, n_h)``.
    """
    h_pos = hidden_probs(p, v_pos)  # P(h | v_data), (B, n_h)
    start = bernoulli(h_pos, generator) if chain is None else chain
    neg = gibbs_from_hidden(p, start, k, generator)
    n_pos, n_neg = v_pos.shape[0], neg.v.shape[0]
    s_pos, s_neg = scaled_visible(p, v_pos), scaled_visible(p, neg.v)
    lr = opt.learning_rate
    if velocity is None and opt.weight_decay == 0.0:
        # the hot path (scikit-learn's update): no temporaries beyond the two products
        p.weights.addmm_(h_pos.t(), s_pos, alpha=lr / n_pos)
        p.weights.addmm_(neg.h_prob.t(), s_neg, alpha=-lr / n_neg)
        _add_mean_diff(p.hidden_bias, h_pos, neg.h_prob, lr)
        if p.log_var is None:
            _add_mean_diff(p.visible_bias, v_pos, neg.v, lr)
        else:
            grads = _gaussian_bias_grads(p, v_pos, h_pos, neg)
            p.visible_bias.add_(grads[0], alpha=lr)
            if opt.learn_variance:
                p.log_var.add_(grads[1], alpha=lr).clamp_(*LOG_VAR_RANGE)
        return neg.h
    g_w = h_pos.t() @ s_pos / n_pos - neg.h_prob.t() @ s_neg / n_neg
    if opt.weight_decay:
        g_w -= opt.weight_decay * p.weights
    g_c = h_pos.mean(0) - neg.h_prob.mean(0)
    if p.log_var is None:
        g_b, g_z = v_pos.mean(0) - neg.v.mean(0), None
    else:
        g_b, g_z = _gaussian_bias_grads(p, v_pos, h_pos, neg)
        if not opt.learn_variance:
            g_z = None
    grads = RBMParams(g_w, g_b, g_c, g_z)
    for name, g in grads._asdict().items():
        if g is None:
            continue
        param = getattr(p, name)
        if velocity is not None:
            u = getattr(velocity, name)
            u.mul_(opt.momentum).add_(g, alpha=lr)
            param.add_(u)
        else:
            param.add_(g, alpha=lr)
    if p.log_var is not None:
        p.log_var.clamp_(*LOG_VAR_RANGE)
    return neg.h


def _add_mean_diff(param: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor,
                   lr: float) -> None:
    param.add_(pos.sum(0), alpha=lr / pos.shape[0]).add_(neg.sum(0), alpha=-lr / neg.shape[0])


def _gaussian_bias_grads(p: RBMParams, v_pos: torch.Tensor, h_pos: torch.Tensor,
                         neg: ChainState) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradients for ``b`` and ``z = log sigma^2`` of a Gaussian-Bernoulli RBM, ``(n_v,)`` each."""
    assert p.log_var is not None
    prec = torch.exp(-p.log_var)

    def stats(v: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        r = v - p.visible_bias
        wh = visible_input(p, h) - p.visible_bias  # W'h, (B, n_v)
        g_z = (0.5 * r * r - v * wh) * prec
        return (r * prec).mean(0), g_z.mean(0)

    b_pos, z_pos = stats(v_pos, h_pos)
    b_neg, z_neg = stats(neg.v, neg.h_prob)
    return b_pos - b_neg, z_pos - z_neg
