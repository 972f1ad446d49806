r"""The Boltzmann machine on ±1 units (Ackley, Hinton & Sejnowski, 1985).

Units $x_i \in \{-1, +1\}$, a symmetric weight matrix $W$ with zero diagonal and
biases $b$:

$$
E(x; W) = -\frac{1}{2} x^\top W x - b^\top x, \qquad
P(x \mid \beta, W) = \frac{\exp(-\beta E(x; W))}{Z}.
$$

The first ``n_visible`` units are visible, the rest hidden; every pair of units may be
connected (a general, not a restricted, Boltzmann machine). ``mask`` says which pairs
are connected (all of them by default).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from genlab import registry
from genlab.errors import GenlabError
from genlab.io import SavedModel, save_model
from genlab.spins import spin_energy
from genlab.validate import setting

MODEL_KIND = "boltzmann-machine"


def check_weights(weights: torch.Tensor, bias: torch.Tensor | None = None,
                  atol: float = 1e-6) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate ``W`` (n, n) symmetric, zero diagonal, finite and ``b`` (n,); return both.

    ``bias=None`` gives ``b = 0``. Raises :class:`GenlabError` with what is wrong.
    """
    w = torch.as_tensor(weights)
    if not (w.is_floating_point()):
        w = w.to(torch.float64)
    if w.ndim != 2 or w.shape[0] != w.shape[1] or w.shape[0] < 1:
        raise GenlabError(f"weights must be a square (n, n) matrix, got shape {tuple(w.shape)}")
    if not torch.isfinite(w).all():
        raise GenlabError("weights contain NaN or infinite values")
    scale = max(1.0, float(w.abs().max()))
    if not torch.allclose(w, w.T, atol=atol * scale, rtol=0):
        raise GenlabError("weights must be symmetric (w_ij = w_ji); symmetrise with (W + W.T)/2")
    if float(w.diagonal().abs().max()) > atol * scale:
        raise GenlabError("weights must have a zero diagonal (no self-connections w_ii)")
    n = w.shape[0]
    if bias is None:
        b = torch.zeros(n, dtype=w.dtype, device=w.device)
    else:
        b = torch.as_tensor(bias).to(dtype=w.dtype, device=w.device)
        if b.ndim != 1 or b.shape[0] != n:
            raise GenlabError(f"bias must have shape ({n},) to match weights ({n}, {n}), "
                              f"got {tuple(b.shape)}")
        if not torch.isfinite(b).all():
            raise GenlabError("bias contains NaN or infinite values")
    w = 0.5 * w + 0.5 * w.T   # not 0.5 * (w + w.T), which overflows near the largest number
    w.fill_diagonal_(0.0)
    return w, b


def check_energy_scale(weights: torch.Tensor, bias: torch.Tensor, beta: float,
                       dtype: torch.dtype = torch.float64, hint: str = "") -> None:
    r"""Refuse $W$, $b$ and $\beta$ whose energies would overflow `dtype`.

    Every local field $a_i$ and energy $E(x)$ is at most $S = \sum_{ij} |w_{ij}| + \sum_i |b_i|$
    in size, so when $S$ and $\beta S$ are finite numbers of ``dtype`` nothing computed
    from them becomes infinite (and ``inf - inf`` never turns a result into NaN). ``hint``
    ends the message (what the caller can change).
    """
    limit = torch.finfo(dtype).max
    total = float(weights.detach().double().abs().sum()) \
        + float(bias.detach().double().abs().sum())
    scaled = beta * total if beta > 0 else 0.0
    if total <= limit and scaled <= limit:   # False for inf and NaN too
        return
    name = str(dtype).removeprefix("torch.")
    raise GenlabError(f"beta * (sum |w_ij| + sum |b_i|) = {beta:g} * {total:.3g} is beyond "
                      f"{name}'s largest number {limit:.3g}, so the energies would overflow; "
                      f"use smaller weights or beta{hint}")


def check_spins(x: torch.Tensor, n: int, what: str = "states") -> torch.Tensor:
    """Validate a ``(batch, n)`` matrix of ±1 values; return it as float."""
    x = torch.as_tensor(x)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2 or x.shape[1] != n:
        raise GenlabError(f"{what} must have shape (batch, {n}), got {tuple(x.shape)}")
    if not x.is_floating_point():
        x = x.to(torch.float32)
    if not torch.isfinite(x).all() or not ((x == 1) | (x == -1)).all():
        raise GenlabError(f"{what} must contain only -1 and +1 values")
    return x


def full_mask(n: int, device: torch.device | str = "cpu",
              dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The (n, n) connectivity of a fully connected machine: ones off the diagonal."""
    m = torch.ones(n, n, dtype=dtype, device=device)
    m.fill_diagonal_(0.0)
    return m


@dataclass
class BoltzmannMachine:
    """A Boltzmann machine: weights, biases, which units are visible, which pairs connect.

    Attributes:
        weights: ``W`` of shape (n, n), symmetric with zero diagonal.
        bias: ``b`` of shape (n,).
        n_visible: the first ``n_visible`` units are visible, the other ``n - n_visible``
            hidden.
        mask: (n, n) 0/1 connectivity, symmetric, zero diagonal; ``w_ij = 0`` where 0.
    """

    weights: torch.Tensor
    bias: torch.Tensor
    n_visible: int
    mask: torch.Tensor

    @classmethod
    def zeros(cls, n_visible: int, n_hidden: int = 0, mask: torch.Tensor | None = None,
              device: torch.device | str = "cpu",
              dtype: torch.dtype = torch.float32) -> BoltzmannMachine:
        """A machine with ``W = 0, b = 0`` (the uniform distribution)."""
        n = n_visible + n_hidden
        if n_visible < 1 or n_hidden < 0:
            raise GenlabError(f"need n_visible >= 1 and n_hidden >= 0, got {n_visible}, "
                              f"{n_hidden}")
        if mask is None:
            mask = full_mask(n, device, dtype)
        else:
            mask = torch.as_tensor(mask, dtype=dtype, device=device)
            if mask.shape != (n, n) or not torch.equal(mask, mask.T):
                raise GenlabError(f"mask must be a symmetric ({n}, {n}) 0/1 matrix")
            mask = mask.clone()
            mask.fill_diagonal_(0.0)
        return cls(torch.zeros(n, n, dtype=dtype, device=device),
                   torch.zeros(n, dtype=dtype, device=device), n_visible, mask)

    @property
    def n_units(self) -> int:
        """``n``, visible plus hidden."""
        return int(self.weights.shape[0])

    @property
    def n_hidden(self) -> int:
        """Number of hidden units."""
        return self.n_units - self.n_visible

    def energy(self, x: torch.Tensor) -> torch.Tensor:
        r"""$E(x) = -\frac{1}{2} x^\top W x - b^\top x$ for `x` of shape (batch, n) -> (batch,)
        (:func:`genlab.spins.spin_energy`)."""
        return spin_energy(x, self.weights, self.bias)

    def to(self, device: torch.device | str | None = None,
           dtype: torch.dtype | None = None) -> BoltzmannMachine:
        """A copy on ``device`` with ``dtype``."""
        def move(t: torch.Tensor) -> torch.Tensor:
            return t.to(device=device, dtype=dtype)
        return BoltzmannMachine(move(self.weights), move(self.bias), self.n_visible,
                                move(self.mask))

    def save(self, path: str | os.PathLike[str], meta: dict | None = None) -> None:
        """Save as ``NAME.safetensors`` + ``NAME.json`` (see :func:`genlab.io.save_model`)."""
        save_model(path, {"weights": self.weights, "bias": self.bias, "mask": self.mask},
                   MODEL_KIND, {"n_visible": self.n_visible, "n_hidden": self.n_hidden}, meta)

    @classmethod
    def load(cls, path: str | os.PathLike[str],
             device: torch.device | str = "cpu") -> BoltzmannMachine:
        """Load a machine saved by :meth:`save`; raises :class:`GenlabError` if unusable."""
        return registry.load(path, device, kind=MODEL_KIND)

    @classmethod
    def from_saved_model(cls, saved: SavedModel, device: torch.device | str = "cpu"
                         ) -> BoltzmannMachine:
        """The registry's builder for the kind ``boltzmann-machine``: every setting and
        tensor of ``saved`` checked (see :mod:`genlab.registry`)."""
        tensors, config, where = saved.tensors(device), saved.config, saved.where
        n_visible = setting(config, "n_visible", int, where, low=1)
        n_hidden = setting(config, "n_hidden", int, where, default=None, low=0)
        unknown = set(config) - {"n_visible", "n_hidden"}
        if unknown:
            raise GenlabError(f"{where} has unknown settings {sorted(unknown)}; was it saved by "
                              "a newer genlab?")
        if set(tensors) != {"weights", "bias", "mask"}:
            raise GenlabError(f"{where}: expected the tensors weights, bias and mask, found "
                              f"{sorted(tensors)}; save the model again")
        w, b, m = tensors["weights"], tensors["bias"], tensors["mask"]
        w, b = check_weights(w, b)
        if m.shape != w.shape or not n_visible <= w.shape[0] or \
                (n_hidden is not None and n_visible + n_hidden != w.shape[0]):
            raise GenlabError(f"{where}: mask shape, n_visible or n_hidden does not match the "
                              f"{w.shape[0]} units of the weights")
        return cls(w, b, n_visible, m.to(w.dtype))
