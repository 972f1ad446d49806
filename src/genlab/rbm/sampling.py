r"""Gibbs chains and the contrastive-divergence learning step (CD-k and persistent CD).

The log-likelihood gradient of an RBM is the data correlation minus the model
correlation (the lecture's learning rule)::

    d log p(v) / dW_ji = <h_j v_i>_data - <h_j v_i>_model
    d log p(v) / db_i  = <v_i>_data - <v_i>_model
    d log p(v) / dc_j  = <h_j>_data - <h_j>_model

(Gaussian units read ``v / sigma^2`` for ``v`` and add ``d/dz_i = <(v_i - b_i)^2 / (2
sigma_i^2) - v_i (W'h)_i / sigma_i^2>_data - <...>_model`` for ``z = log sigma^2``.) The
data term uses ``P(h | v)``; the model term is estimated from Gibbs chains: CD-k restarts
them at the mini-batch and runs ``k`` sweeps (Hinton 2002); PCD keeps them going from
one update to the next (Tieleman 2008), which is scikit-learn's BernoulliRBM with ``k = 1``;
parallel tempering (:mod:`genlab.rbm.tempering`) keeps persistent ladders of tempered chains.

**Centring** (Montavon and Mueller 2012; Melchior, Fischer and Wiskott, "How to center deep
Boltzmann machines", JMLR 17, 2016, Algorithm 1). The energy is written with offsets
$\mu$ (visible) and $\lambda$ (hidden),

$$
E(v, h) = -(v - \mu)^\top b_c - (h - \lambda)^\top c_c - (h - \lambda)^\top W (v - \mu),
$$

the same distribution as the plain RBM with $W$, $b = b_c - W^\top \lambda$ and
$c = c_c - W \mu$ (the energies differ by the constant $\mu^\top b_c + \lambda^\top c_c
- \lambda^\top W \mu$). Its gradient is

$$
\nabla_W^c = \langle (h - \lambda)(v - \mu)^\top \rangle_\text{data}
            - \langle (h - \lambda)(v - \mu)^\top \rangle_\text{model}
          = \nabla_W - \nabla_c \mu^\top - \lambda \nabla_b^\top,
\qquad \nabla_{b_c} = \nabla_b, \qquad \nabla_{c_c} = \nabla_c.
$$

Each update first slides the offsets towards the mini-batch, $\mu \leftarrow (1 - \nu)
\mu + \nu \langle v \rangle_\text{data}$ and $\lambda \leftarrow (1 - \nu) \lambda + \nu
\langle h \rangle_\text{data}$, with the centred biases corrected so that the model does
not change ($b_c \leftarrow b_c + W^\top \Delta\lambda$, $c_c \leftarrow c_c + W
\Delta\mu$), then steps the centred parameters along the centred gradient. genlab keeps
only the plain $(W, b, c)$: the offsets' move leaves them unchanged, and a centred step
$(\Delta W, \Delta b_c, \Delta c_c)$ is the plain step $(\Delta W, \Delta b_c -
\Delta W^\top \lambda, \Delta c_c - \Delta W \mu)$ (:func:`uncentred_step`).
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
)
from genlab.rbm.tempering import tempered_update

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


@dataclass
class Offsets:
    r"""The centring offsets and how fast they follow the data (see the module's notes).

    Attributes:
        visible: $\mu$, ``(n_v,)``; starts at the data mean.
        hidden: $\lambda$, ``(n_h,)``; starts at 0.5.
        rate: the sliding factor $\nu \in (0, 1]$ of the exponential moving averages.
    """

    visible: torch.Tensor
    hidden: torch.Tensor
    rate: float = 0.01

    def slide(self, v_mean: torch.Tensor, h_mean: torch.Tensor) -> None:
        r"""$\mu \leftarrow (1 - \nu) \mu + \nu \langle v \rangle$ and the same for
        $\lambda$, in place (means of the data rows ``(n_v,)`` and of their $P(h \mid v)$
        ``(n_h,)``)."""
        self.visible.lerp_(v_mean.to(self.visible.dtype), self.rate)
        self.hidden.lerp_(h_mean.to(self.hidden.dtype), self.rate)


def centred_gradient(grad: RBMParams, offsets: Offsets) -> RBMParams:
    r"""The gradient of the centred parameters from the plain one:
    $(\nabla_W - \nabla_c \mu^\top - \lambda \nabla_b^\top, \nabla_b, \nabla_c)$.

    Args:
        grad: $(\nabla_W, \nabla_b, \nabla_c)$ of the log-likelihood with respect to the
            plain parameters, shapes ``(n_h, n_v)``, ``(n_v,)``, ``(n_h,)``.
        offsets: $\mu$ and $\lambda$.

    Returns:
        $(\nabla_W^c, \nabla_{b_c}, \nabla_{c_c})$, the same shapes.
    """
    g_w = grad.weights - torch.outer(grad.hidden_bias, offsets.visible) \
        - torch.outer(offsets.hidden, grad.visible_bias)
    return RBMParams(g_w, grad.visible_bias, grad.hidden_bias)


def uncentred_step(step: RBMParams, offsets: Offsets) -> RBMParams:
    r"""A step $(\Delta W, \Delta b_c, \Delta c_c)$ of the centred parameters as the step of
    the plain ones: $(\Delta W, \Delta b_c - \Delta W^\top \lambda, \Delta c_c -
    \Delta W \mu)$ (shapes ``(n_h, n_v)``, ``(n_v,)``, ``(n_h,)``)."""
    return RBMParams(step.weights, step.visible_bias - offsets.hidden @ step.weights,
                     step.hidden_bias - step.weights @ offsets.visible)


def centre(p: RBMParams, offsets: Offsets) -> RBMParams:
    r"""The centred parameters $(W, b + W^\top \lambda, c + W \mu)$ of the plain RBM ``p``."""
    return RBMParams(p.weights, p.visible_bias + offsets.hidden @ p.weights,
                     p.hidden_bias + p.weights @ offsets.visible)


def uncentre(p: RBMParams, offsets: Offsets) -> RBMParams:
    r"""The plain parameters $(W, b_c - W^\top \lambda, c_c - W \mu)$ of the centred RBM ``p``:
    the same distribution (:func:`centre` undone)."""
    return RBMParams(p.weights, p.visible_bias - offsets.hidden @ p.weights,
                     p.hidden_bias - p.weights @ offsets.visible)


def cd_update(p: RBMParams, velocity: RBMParams | None, v_pos: torch.Tensor,
              chain: torch.Tensor | None, k: int, opt: Optimiser,
              generator: torch.Generator | None, *, offsets: Offsets | None = None,
              betas: torch.Tensor | None = None) -> torch.Tensor:
    """One CD-k (``chain`` None), PCD-k or parallel-tempering step on mini-batch ``v_pos``
    ``(B, n_v)``, in place.

    ``chain`` is the persistent hidden state: ``(M, n_h)`` for PCD, or ``(T, M, n_h)``
    with ``betas`` ``(T,)`` (the inverse temperatures, the last one 1) for parallel
    tempering, whose negative phase is the ``beta = 1`` replicas after
    :func:`~genlab.rbm.tempering.tempered_update` (``k`` sweeps, then swaps). The
    parameters of ``p`` (and ``velocity`` when momentum is used) are updated in place by
    gradient ascent on the log-likelihood; returns the new hidden chain state.

    With ``offsets`` (Bernoulli units only) the step is the centred one: the offsets slide
    towards this mini-batch (in place), the gradient is the centred gradient under the new
    offsets, and ``p`` stays the plain parameters of the centred model (see the module's
    notes); ``velocity`` then holds the centred parameters' velocities.

    The positive and negative phases share their matrix products: with
    ``V = [v_data; v_model]`` ``(B + M, n_v)``, ``H = P(h | V)`` and row weights
    ``a = [1/B ... 1/B, -1/M ... -1/M]``, the weight gradient is ``(a * H)' V`` in one
    product (and for PCD, ``H`` itself is one product), three large products a step
    in all for PCD-1 instead of five.
    """
    n_pos = v_pos.shape[0]
    if betas is not None:
        assert chain is not None
        ladder = tempered_update(p, chain, betas, k, generator)
        v_all = torch.cat([v_pos, ladder.v[-1]])
        h_all = hidden_probs(p, v_all)
        new_chain = ladder.h
    elif chain is None:
        h_pos = hidden_probs(p, v_pos)  # P(h | v_data), (B, n_h)
        neg = gibbs_from_hidden(p, bernoulli(h_pos, generator), k, generator)
        v_all = torch.cat([v_pos, neg.v])
        h_all = torch.cat([h_pos, neg.h_prob])
        new_chain = neg.h
    else:
        h = chain if k == 1 else gibbs_from_hidden(p, chain, k - 1, generator).h
        # V = [v_data; v ~ p(v | h)] built in place: no concatenation, no temporaries
        v_all = torch.empty(n_pos + h.shape[0], p.n_visible, dtype=v_pos.dtype,
                            device=v_pos.device)
        v_all[:n_pos].copy_(v_pos)
        _sample_visible_into(p, h, generator, v_all[n_pos:])
        h_all = torch.addmm(p.hidden_bias, scaled_visible(p, v_all), p.weights.t()).sigmoid_()
        new_chain = bernoulli(h_all[n_pos:], generator)  # P(h | v) of the chains, (M, n_h)
    n_neg = v_all.shape[0] - n_pos
    lr = opt.learning_rate
    if offsets is not None:
        assert p.log_var is None, "centring is for Bernoulli visible units"
        offsets.slide(v_pos.mean(0), h_all[:n_pos].mean(0))
    if p.log_var is None:
        # gradients of b and c, then H becomes a * H in place (H is not needed after)
        g_b = v_all[:n_pos].sum(0).div_(n_pos).sub_(v_all[n_pos:].sum(0), alpha=1.0 / n_neg)
        h_w = h_all
        h_w[:n_pos].mul_(1.0 / n_pos)
        h_w[n_pos:].mul_(-1.0 / n_neg)
        g_z = None
    else:
        coef = torch.empty(v_all.shape[0], 1, dtype=v_all.dtype, device=v_all.device)
        coef[:n_pos] = 1.0 / n_pos
        coef[n_pos:] = -1.0 / n_neg
        g_b, g_z = _gaussian_bias_grads(p, v_all, h_all, coef)
        if not opt.learn_variance:
            g_z = None
        h_w = h_all * coef  # (B + M, n_h)
    s_all = scaled_visible(p, v_all)
    g_c = h_w.sum(0)
    if offsets is not None:
        # the centred weight gradient sum_r a_r (h_r - lambda)(v_r - mu)' is one product
        # (H_a - a lambda')'(V - mu), both factors made in place (g_b is already taken)
        h_w[:n_pos].sub_(offsets.hidden, alpha=1.0 / n_pos)
        h_w[n_pos:].add_(offsets.hidden, alpha=1.0 / n_neg)
        s_all = v_all.sub_(offsets.visible)
        shift_b, shift_c = _centred_bias_shift(p, velocity, h_w, s_all, offsets, opt)
    # the weight step is formed in place, without an (n_h, n_v) gradient temporary:
    # W += lr (H'V - decay W), or u <- momentum u + lr (H'V - decay W); W += u
    if velocity is None:
        if opt.weight_decay:
            p.weights.mul_(1.0 - lr * opt.weight_decay)
        p.weights.addmm_(h_w.t(), s_all, alpha=lr)
    else:
        u = velocity.weights
        u.mul_(opt.momentum).addmm_(h_w.t(), s_all, alpha=lr)
        if opt.weight_decay:
            u.add_(p.weights, alpha=-lr * opt.weight_decay)
        p.weights.add_(u)
    grads = RBMParams(None, g_b, g_c, g_z)
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
    if offsets is not None:
        if velocity is not None:  # the step dW = u is known only now
            shift_b = offsets.hidden @ velocity.weights
            shift_c = velocity.weights @ offsets.visible
        # b = b_c - W'lambda and c = c_c - W mu under the new W: b -= dW'lambda, c -= dW mu
        p.visible_bias.sub_(shift_b)
        p.hidden_bias.sub_(shift_c)
    if p.log_var is not None:
        p.log_var.clamp_(*LOG_VAR_RANGE)
    return new_chain


def _centred_bias_shift(p: RBMParams, velocity: RBMParams | None, h_c: torch.Tensor,
                        s_c: torch.Tensor, offsets: Offsets, opt: Optimiser
                        ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    r"""$(\Delta W^\top \lambda, \Delta W \mu)$ ``(n_v,)``, ``(n_h,)`` of a centred step
    without momentum, before ``p.weights`` takes it: with $\Delta W = \epsilon (H_c^\top S_c
    - \delta W)$ they are $\epsilon ((H_c \lambda)^\top S_c - \delta W^\top \lambda)$ and
    $\epsilon (H_c^\top (S_c \mu) - \delta W \mu)$, products of the ``(B + M, n_h)`` and
    ``(B + M, n_v)`` factors ``h_c`` and ``s_c`` instead of passes over $W$. With momentum,
    ``(None, None)``: the step is the new velocity, known after the update."""
    if velocity is not None:
        return None, None
    lr = opt.learning_rate
    shift_b = (h_c @ offsets.hidden) @ s_c
    shift_c = h_c.t() @ (s_c @ offsets.visible)
    if opt.weight_decay:
        shift_b.sub_(offsets.hidden @ p.weights, alpha=opt.weight_decay)
        shift_c.sub_(p.weights @ offsets.visible, alpha=opt.weight_decay)
    return shift_b.mul_(lr), shift_c.mul_(lr)


def _sample_visible_into(p: RBMParams, h: torch.Tensor, generator: torch.Generator | None,
                         out: torch.Tensor) -> None:
    """Write ``v ~ p(v | h)`` into ``out`` ``(M, n_v)``, the same draws as
    :func:`~genlab.rbm.energy.sample_visible` (``1[u < sigmoid(x)]`` is ``1[sigmoid(x) - u
    > 0]``, exactly) with no temporaries but the uniforms (or normals)."""
    torch.addmm(p.visible_bias, h, p.weights, out=out)  # b + W'h
    noise_shape = out.shape
    if p.log_var is None:
        u = torch.rand(noise_shape, generator=generator, device=out.device, dtype=out.dtype)
        out.sigmoid_().sub_(u).gt_(0.0)
    else:
        noise = torch.randn(noise_shape, generator=generator, device=out.device,
                            dtype=out.dtype)
        out.addcmul_(noise, torch.exp(0.5 * p.log_var))


def _gaussian_bias_grads(p: RBMParams, v: torch.Tensor, h: torch.Tensor, coef: torch.Tensor
                         ) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradients for ``b`` and ``z = log sigma^2`` of a Gaussian-Bernoulli RBM, ``(n_v,)`` each.

    ``v`` ``(R, n_v)`` and ``h = P(h | v)`` ``(R, n_h)`` hold data and model rows, weighted
    by ``coef`` ``(R, 1)`` (``1/B`` for data rows, ``-1/M`` for model rows).
    """
    assert p.log_var is not None
    prec = torch.exp(-p.log_var)
    r = v - p.visible_bias
    wh = h @ p.weights  # W'h, (R, n_v)
    g_b = (coef.t() @ (r * prec)).squeeze(0)
    g_z = (coef.t() @ ((0.5 * r * r - v * wh) * prec)).squeeze(0)
    return g_b, g_z
