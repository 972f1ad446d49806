"""Brute-force twins of the RBM maths, for the tests."""

from __future__ import annotations

import itertools

import torch

from genlab.rbm.energy import RBMParams, energy, free_energy, hidden_log_marginal


def all_states(n: int) -> torch.Tensor:
    """Every binary vector of length n, ``(2^n, n)`` float64, by itertools (independent of
    the library's bit tricks)."""
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=n)), dtype=torch.float64)


def brute_log_joint(p: RBMParams) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(V, H, -E(V, H))`` over every pair of a Bernoulli RBM (joint table, rows v-major)."""
    V, H = all_states(p.n_visible), all_states(p.n_hidden)
    v = V.repeat_interleave(len(H), 0)
    h = H.repeat(len(V), 1)
    return V, H, -energy(p, v, h).reshape(len(V), len(H))


def random_params(n_v: int, n_h: int, seed: int, scale: float = 1.0, gaussian: bool = False,
                  dtype: torch.dtype = torch.float64) -> RBMParams:
    g = torch.Generator().manual_seed(seed)

    def r(*shape: int) -> torch.Tensor:
        return scale * torch.randn(*shape, generator=g, dtype=dtype)

    log_var = (0.5 * torch.randn(n_v, generator=g, dtype=dtype)) if gaussian else None
    return RBMParams(r(n_h, n_v), r(n_v), r(n_h), log_var)


def exact_gradient(p: RBMParams, X: torch.Tensor) -> RBMParams:
    """d/dtheta of mean log p(v) = -mean F(v) - log Z by autograd through enumeration."""
    q = RBMParams(*(t.clone().requires_grad_(True) for t in p[:3]))
    ll = -free_energy(q, X).mean() - torch.logsumexp(hidden_log_marginal(q, all_states(
        p.n_hidden)), 0)
    ll.backward()
    return RBMParams(q.weights.grad, q.visible_bias.grad, q.hidden_bias.grad)
