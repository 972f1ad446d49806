r"""The modern continuous Hopfield network (Ramsauer et al. 2020, "Hopfield Networks is All
You Need"): a softmax update whose storage capacity grows exponentially with $N$.

Stored patterns are the columns of $X$ `(N, P)` (here the rows of `patterns`
`(P, N)`). For a state $\xi$ `(N,)`:

$$
\xi^\text{new} = X \,\mathrm{softmax}(\beta X^\top \xi), \qquad
E(\xi) = -\mathrm{lse}(\beta, X^\top \xi) + \frac{1}{2} \xi^\top \xi + \beta^{-1} \log P
         + \frac{1}{2} M^2,
$$

with $\mathrm{lse}(\beta, z) = \beta^{-1} \log \sum_\mu \exp(\beta z_\mu)$ and $M$ the largest
pattern norm. Each update lowers $E$ (a concave-convex procedure; Theorem 1 of the paper).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Literal

import torch

from genlab.device import resolve_device
from genlab.errors import GenlabError
from genlab.hopfield.dynamics import check_clamp
from genlab.hopfield.patterns import as_spins
from genlab.hopfield.recall import Recall, nearest_patterns
from genlab.io import save_model
from genlab.validate import check_spins, setting

KIND = "hopfield"  # shared with the binary network; config["rule"] == "modern" tells them apart


def check_beta_range(beta: float, n_units: int, n_patterns: int,
                     dtype: torch.dtype = torch.float32) -> None:
    r"""Refuse a `beta` with which a network of `n_units` storing `n_patterns` cannot
    compute in `dtype`: $\beta X^\top \xi$ (at most $\beta N$ in size) and the energy's
    $\log(P) / \beta$ must be finite, or updates and energies turn NaN."""
    info = torch.finfo(dtype)
    high = info.max / n_units
    low = max(info.tiny, 2.0 * math.log(max(n_patterns, 2)) / info.max)
    if not low <= beta <= high:
        raise GenlabError(f"beta = {beta:g} is outside what {info.dtype} can compute with for "
                          f"{n_units} units and {n_patterns} patterns: updates or energies "
                          f"would overflow; give a beta between {low:.3g} and {high:.3g}")


class ModernHopfield:
    """Modern (dense, continuous) Hopfield network with inverse temperature ``beta``.

    Example::

        net = ModernHopfield(beta=1.0).fit(patterns)      # (P, N) of ±1; P may exceed N
        out = net.recall(cues)                             # cues (C, N): ±1, 0 = unknown
        out.states, out.nearest, out.overlap, out.converged, out.sweeps, out.energy
    """

    rule = "modern"

    def __init__(self, beta: float = 1.0, device: str | torch.device = "cpu",
                 dtype: torch.dtype = torch.float32) -> None:
        self.beta = beta
        self.device = device
        self.dtype = dtype

    def fit(self, patterns: torch.Tensor) -> ModernHopfield:
        """Store ``patterns`` ``(P, N)`` of ±1 (or {0,1})."""
        if not (isinstance(self.beta, int | float) and math.isfinite(self.beta) and self.beta > 0):
            raise GenlabError(f"beta must be a finite number > 0, got {self.beta!r}")
        self.patterns_ = as_spins(patterns, "patterns", dtype=self.dtype,
                                  device=resolve_device(self.device))
        check_beta_range(self.beta, self.n_units, int(self.patterns_.shape[0]), self.dtype)
        return self

    @property
    def n_units(self) -> int:
        return int(self.patterns_.shape[1])

    def _fitted(self) -> None:
        if not hasattr(self, "patterns_"):
            raise GenlabError("the network stores no patterns yet; call fit(patterns) first")

    def stable(self, states: torch.Tensor) -> torch.Tensor:
        r"""`(C,)` bool: does one update keep $\mathrm{sign}(\xi)$ of each ±1 state unchanged?"""
        self._fitted()
        x = torch.as_tensor(states).to(self.patterns_)
        x = x if x.ndim == 2 else x.unsqueeze(0)
        return (torch.where(self.update(x) >= 0, 1.0, -1.0).to(x) == x).all(1)

    def energy(self, states: torch.Tensor) -> torch.Tensor:
        r"""$E(\xi)$ for states `(C, N)`; returns `(C,)`."""
        x = self.patterns_
        z = self.beta * states @ x.T  # (C, P)
        m2 = float((x * x).sum(1).max())
        return (-torch.logsumexp(z, 1) / self.beta + 0.5 * (states * states).sum(1)
                + math.log(x.shape[0]) / self.beta + 0.5 * m2)

    def update(self, states: torch.Tensor) -> torch.Tensor:
        r"""One step $\xi \leftarrow X \,\mathrm{softmax}(\beta X^\top \xi)$ for `(C, N)` states."""
        return torch.softmax(self.beta * states @ self.patterns_.T, dim=1) @ self.patterns_

    def recall(self, cues: torch.Tensor, max_steps: int = 20, tol: float = 1e-6,
               clamp: torch.Tensor | None = None,
               record: Literal["none", "sweeps"] = "none") -> Recall:
        r"""Iterate the update from ``cues`` ``(C, N)`` (0 = unknown) until the largest
        change of a unit is below ``tol`` or ``max_steps`` steps.

        ``clamp`` ``(N,)`` or ``(C, N)`` (bool or 0/1) holds units at their cue values:
        after each update $\xi_i \leftarrow \mathrm{cue}_i$ for the clamped $i$. Each update is
        one sweep of the :class:`~genlab.hopfield.recall.Recall` (``sweeps`` counts them;
        ``cycled`` is always False: every update lowers ``E``); ``record="sweeps"`` keeps
        the state after each.
        """
        self._fitted()
        x = as_spins(cues, "cues", allow_zero=True, dtype=self.dtype,
                     device=self.patterns_.device)
        if x.shape[1] != self.patterns_.shape[1]:
            raise GenlabError(f"cues have {x.shape[1]} units but the network has "
                              f"{self.patterns_.shape[1]}")
        if max_steps < 1:
            raise GenlabError("max_steps must be >= 1")
        if record not in ("none", "sweeps"):
            raise GenlabError(f"unknown record option {record!r}; choose none or sweeps")
        mask = check_clamp(clamp, x)
        cue = x
        c = x.shape[0]
        converged = torch.zeros(c, dtype=torch.bool, device=x.device)
        steps = torch.zeros(c, dtype=torch.int64, device=x.device)
        hist = [self.energy(x)]
        frames = [x] if record == "sweeps" else []
        for s in range(1, max_steps + 1):
            new = self.update(x)
            if mask is not None:
                new = torch.where(mask, cue, new)
            moved = (new - x).abs().amax(1) > tol
            steps = torch.where(converged, steps, torch.full_like(steps, s))
            converged = converged | ~moved
            x = new
            hist.append(self.energy(x))
            if frames:
                frames.append(x)
            if bool(converged.all()):
                break
        nearest, overlap = nearest_patterns(x, self.patterns_)
        traj = torch.stack(frames) if frames else x.new_zeros((0, c, x.shape[1]))
        return Recall(states=x, nearest=nearest, overlap=overlap, converged=converged,
                      cycled=torch.zeros_like(converged), sweeps=steps, energy=hist[-1],
                      energy_history=torch.stack(hist), trajectory=traj)

    def save(self, path: str | os.PathLike[str], meta: dict | None = None) -> Path:
        """Save as ``NAME.safetensors`` + ``NAME.json`` (the patterns and ``beta``)."""
        self._fitted()
        return save_model(path, {"patterns": self.patterns_}, KIND,
                          {"rule": "modern", "beta": float(self.beta),
                           "n_units": self.n_units,
                           "dtype": str(self.dtype).removeprefix("torch.")}, meta)

    @classmethod
    def from_saved(cls, tensors: dict[str, torch.Tensor], config: dict,
                   where: str = "saved modern Hopfield network") -> ModernHopfield:
        """Rebuild from what :func:`genlab.io.load_model` returned for a saved network,
        checking its settings and that the patterns are ±1 ``(P, N)``."""
        beta = setting(config, "beta", float, where, default=1.0, low=0.0, low_open=True)
        n = setting(config, "n_units", int | None, where, default=None, low=1)
        dtype = setting(config, "dtype", str, where, default="float32",
                        choices=("float32", "float64"))
        unknown = set(config) - {"rule", "beta", "n_units", "dtype"}
        if unknown or set(tensors) != {"patterns"}:
            raise GenlabError(f"{where} has unknown settings or tensors, or lacks its "
                              f"patterns ({sorted(unknown | set(tensors))})")
        pats = tensors["patterns"]
        if pats.ndim != 2 or (n is not None and pats.shape[1] != n):
            raise GenlabError(f"{where}: patterns of shape {tuple(pats.shape)} do not match "
                              f"{n} units")
        check_spins(pats, f"{where}: the stored patterns")
        net = cls(beta=beta, device=pats.device, dtype=getattr(torch, dtype))
        return net.fit(pats)
