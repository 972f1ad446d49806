r"""The binary Hopfield network: store ±1 patterns, recall from cues.

$N$ units $x_i \in \{-1, +1\}$; symmetric weights $w_{ij} = w_{ji}$ with $w_{ii} = 0$;
activity $a_i = \sum_j w_{ij} x_j + b_i$; rule $x_i = +1$ if $a_i \ge 0$ else $-1$;
energy

$$
E(x) = -\frac{1}{2} \sum_{ij} w_{ij} x_i x_j - \sum_i b_i x_i.
$$
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import torch

from genlab import registry
from genlab.device import resolve_device
from genlab.errors import GenlabError
from genlab.hopfield.dynamics import Dynamics, run_dynamics
from genlab.hopfield.learning import RULES, learn
from genlab.hopfield.modern import ModernHopfield
from genlab.hopfield.patterns import as_spins
from genlab.hopfield.recall import Recall, nearest_patterns
from genlab.io import SavedModel, save_model
from genlab.spins import spin_energy
from genlab.validate import check_spins, setting

KIND = "hopfield"
DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass
class HopfieldConfig:
    """How the weights were made."""

    rule: str = "hebbian"  # hebbian | storkey | pseudoinverse | custom
    eta: float | None = None  # Hebbian learning rate; None means 1/N
    dtype: str = "float32"  # float32 (default) or float64 for weights and states


class HopfieldNetwork:
    """A binary Hopfield network (sklearn-like: ``fit`` stores, fitted state ends in ``_``).

    Example::

        net = HopfieldNetwork(rule="hebbian").fit(patterns)   # patterns (P, N) of ±1
        out = net.recall(cues, mode="async", generator=torch.Generator().manual_seed(0))
        out.states, out.nearest, out.overlap, out.converged, out.sweeps, out.energy
    """

    def __init__(self, rule: str = "hebbian", eta: float | None = None,
                 device: str | torch.device = "cpu", dtype: str = "float32") -> None:
        self.rule = rule
        self.eta = eta
        self.device = device
        self.dtype = dtype

    # ----- fitted state -----------------------------------------------------------------
    def _check_params(self) -> None:
        if self.rule not in RULES:
            raise GenlabError(f"unknown learning rule {self.rule!r}; choose one of "
                              f"{', '.join(RULES)}")
        if self.dtype not in DTYPES:
            raise GenlabError(f"unknown dtype {self.dtype!r}; choose float32 or float64")

    @property
    def n_units(self) -> int:
        return int(self.coupling_.shape[0])

    @property
    def weights(self) -> torch.Tensor:
        """$W$ = `scale_ * coupling_`, shape `(N, N)`."""
        return self.coupling_ * self.scale_

    @property
    def bias(self) -> torch.Tensor | None:
        return None if self.bias_ is None else self.bias_ * self.scale_

    def fit(self, patterns: torch.Tensor, bias: torch.Tensor | None = None) -> HopfieldNetwork:
        """Store ``patterns`` ``(P, N)`` of ±1 (or {0,1}) with the configured rule.

        ``bias`` ``(N,)`` is optional (default none). Sets ``patterns_`` ``(P, N)``,
        ``coupling_`` ``(N, N)``, ``scale_`` (``W = scale_ * coupling_``) and ``bias_``.
        """
        self._check_params()
        dev = resolve_device(self.device)
        dt = DTYPES[self.dtype]
        x = as_spins(patterns, "patterns", dtype=dt, device=dev)
        self.patterns_ = x
        self.coupling_, self.scale_ = learn(x, self.rule, self.eta)
        self.bias_ = None
        if bias is not None:
            b = torch.as_tensor(bias, dtype=dt, device=dev).reshape(-1)
            if b.shape[0] != x.shape[1] or not bool(torch.isfinite(b).all()):
                raise GenlabError(f"bias must be {x.shape[1]} finite numbers")
            self.bias_ = b / self.scale_
        self._check_energy_scale()
        return self

    def _check_energy_scale(self, what: str = "eta") -> None:
        """The energies ``scale_ * E_coupling`` must be normal numbers of the network's dtype:
        at most ``scale_ * (sum |c_ij| / 2 + sum |b_i|)`` in size, and not so small a
        ``scale_`` that every energy rounds to 0."""
        info = torch.finfo(self.coupling_.dtype)
        size = 0.5 * float(self.coupling_.double().abs().sum())
        if self.bias_ is not None:
            size += float(self.bias_.double().abs().sum())
        if self.scale_ * size > info.max or self.scale_ < info.tiny:
            raise GenlabError(f"{what} = {self.scale_:g} puts the energies of this network "
                              f"(up to {self.scale_ * size:.3g}) outside {info.dtype}'s range "
                              f"{info.tiny:.3g} .. {info.max:.3g}; {what} must be between "
                              f"{info.tiny:.3g} and {info.max / max(size, 1.0):.3g}")

    @classmethod
    def from_weights(cls, weights: torch.Tensor, bias: torch.Tensor | None = None,
                     patterns: torch.Tensor | None = None, device: str | torch.device = "cpu",
                     dtype: str = "float32") -> HopfieldNetwork:
        """A network with given weights ``(N, N)`` (must be symmetric, zero diagonal)."""
        net = cls(rule="custom", device=device, dtype=dtype)
        dev, dt = resolve_device(device), DTYPES[dtype]
        w = torch.as_tensor(weights, dtype=dt, device=dev)
        if w.ndim != 2 or w.shape[0] != w.shape[1]:
            raise GenlabError(f"weights must be a square matrix, got shape {tuple(w.shape)}")
        if not bool(torch.isfinite(w).all()):
            raise GenlabError("weights contain NaN or infinite values")
        if not torch.equal(w, w.T) or bool(w.diagonal().any()):
            raise GenlabError("Hopfield weights must be symmetric (w_ij = w_ji) with a zero "
                              "diagonal (w_ii = 0)")
        net.coupling_, net.scale_ = w, 1.0
        net.bias_ = None if bias is None else torch.as_tensor(bias, dtype=dt, device=dev)
        if net.bias_ is not None and (net.bias_.shape != (w.shape[0],)
                                      or not bool(torch.isfinite(net.bias_).all())):
            raise GenlabError(f"bias must be {w.shape[0]} finite numbers, one per unit")
        net.patterns_ = (w.new_zeros((0, w.shape[0])) if patterns is None
                         else as_spins(patterns, "patterns", dtype=dt, device=dev))
        return net

    def _factor(self) -> torch.Tensor | None:
        """The patterns ``X`` ``(P, N)`` when the coupling is ``X^T X - P I`` and
        ``4 P < N``, so that synchronous activities ``(x X^T) X - P x`` cost less than
        ``x J``; None otherwise. The products are integer-exact (``P N`` below the
        float's integer range), so both ways give the same bits."""
        self._fitted()
        p, n = self.patterns_.shape
        exact = 2 ** (24 if self.coupling_.dtype == torch.float32 else 53)
        if self.rule != "hebbian" or p == 0 or 4 * p >= n or p * n >= exact:
            return None
        return self.patterns_

    def _fitted(self) -> None:
        if not hasattr(self, "coupling_"):
            raise GenlabError("the network stores no patterns yet; call fit(patterns) first")

    # ----- use --------------------------------------------------------------------------
    def energy(self, states: torch.Tensor) -> torch.Tensor:
        r"""$E(x) = -\frac{1}{2} x^\top W x - b^\top x$ for `(C, N)` states; returns `(C,)`."""
        self._fitted()
        x = torch.as_tensor(states).to(self.coupling_.device)
        return spin_energy(x, self.coupling_, self.bias_) * self.scale_

    def overlaps(self, states: torch.Tensor) -> torch.Tensor:
        r"""$m_{c\mu} = x_c \cdot \xi^\mu / N$ for states `(C, N)`; returns `(C, P)`."""
        self._fitted()
        x = torch.as_tensor(states).to(self.coupling_)
        return x @ self.patterns_.T / self.n_units

    def recall(self, cues: torch.Tensor, mode: Literal["async", "sync"] = "async",
               max_sweeps: int = 100, clamp: torch.Tensor | None = None,
               generator: torch.Generator | None = None, block_size: int = 64,
               record: Literal["none", "sweeps", "updates"] = "none") -> Recall:
        """Run the dynamics from ``cues`` ``(C, N)`` or ``(N,)``: entries ±1, 0 = unknown.

        ``clamp`` ``(N,)`` or ``(C, N)`` (bool or 0/1) holds units at their cue values.
        Asynchronous updates visit the units one at a time in a fresh random order per
        sweep drawn from ``generator``; the answer for a cue does not depend on the
        other cues in the batch.
        """
        self._fitted()
        x = as_spins(cues, "cues", allow_zero=True, dtype=self.coupling_.dtype,
                     device=self.coupling_.device)
        dyn: Dynamics = run_dynamics(self.coupling_, x, self.bias_, mode=mode,
                                     max_sweeps=max_sweeps, clamp=clamp, generator=generator,
                                     block_size=block_size, record=record, scale=self.scale_,
                                     factor=self._factor())
        nearest, overlap = nearest_patterns(dyn.states, self.patterns_)
        return Recall(states=dyn.states, nearest=nearest, overlap=overlap,
                      converged=dyn.converged, cycled=dyn.cycled, sweeps=dyn.sweeps,
                      energy=dyn.energy, energy_history=dyn.energy_history,
                      trajectory=dyn.trajectory)

    def stable(self, states: torch.Tensor) -> torch.Tensor:
        r"""`(C,)` bool: is each state a fixed point ($x_i = \mathrm{sign}(a_i)$ for every $i$)?"""
        self._fitted()
        x = torch.as_tensor(states).to(self.coupling_)
        x = x if x.ndim == 2 else x.unsqueeze(0)
        h = x @ self.coupling_
        if self.bias_ is not None:
            h = h + self.bias_
        return (torch.where(h >= 0, 1.0, -1.0).to(x) == x).all(1)

    # ----- save / load ------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str], meta: dict | None = None) -> Path:
        """Save as ``NAME.safetensors`` + ``NAME.json`` (weights, patterns, config)."""
        self._fitted()
        tensors = {"coupling": self.coupling_, "patterns": self.patterns_}
        if self.bias_ is not None:
            tensors["bias"] = self.bias_
        cfg = asdict(HopfieldConfig(rule=self.rule, eta=self.eta, dtype=self.dtype))
        cfg["scale"] = self.scale_
        cfg["n_units"] = self.n_units
        return save_model(path, tensors, KIND, cfg, meta)

    @classmethod
    def load(cls, path: str | os.PathLike[str], device: str | torch.device = "cpu"
             ) -> HopfieldNetwork:
        """Load a network saved by :meth:`save`."""
        net = load_hopfield(path, device)
        if not isinstance(net, cls):
            raise GenlabError(f"{path} holds a modern Hopfield network; load it with "
                              "genlab.hopfield.load_hopfield")
        return net

    @classmethod
    def from_saved(cls, tensors: dict[str, torch.Tensor], cfg: dict,
                   where: str = "saved Hopfield network") -> HopfieldNetwork:
        """Rebuild from what :func:`genlab.io.load_model` returned for a saved network,
        checking every setting and tensor first (symmetric, zero-diagonal, finite coupling
        ``(N, N)``; ±1 patterns ``(P, N)``; bias ``(N,)``)."""
        rule = setting(cfg, "rule", str, where, default="hebbian", choices=(*RULES, "custom"))
        eta = setting(cfg, "eta", float | None, where, default=None, low=0.0, low_open=True)
        dtype = setting(cfg, "dtype", str, where, default="float32", choices=tuple(DTYPES))
        scale = setting(cfg, "scale", float, where, default=1.0, low=0.0, low_open=True)
        n = setting(cfg, "n_units", int | None, where, default=None, low=1)
        unknown = set(cfg) - {"rule", "eta", "dtype", "scale", "n_units"}
        extra = set(tensors) - {"coupling", "patterns", "bias"}
        if unknown or extra:
            raise GenlabError(f"{where} has unknown settings or tensors "
                              f"{sorted(unknown | extra)}")
        if "coupling" not in tensors or "patterns" not in tensors:
            raise GenlabError(f"{where} is missing its weights or patterns; save it again")
        w, pats = tensors["coupling"], tensors["patterns"]
        if n is not None and tuple(w.shape) != (n, n):
            raise GenlabError(f"{where}: coupling has shape {tuple(w.shape)} but the config "
                              f"says {n} units")
        if pats.ndim != 2 or pats.shape[1:] != w.shape[1:]:
            raise GenlabError(f"{where}: patterns of shape {tuple(pats.shape)} do not fit "
                              f"the coupling {tuple(w.shape)}")
        check_spins(pats, f"{where}: the stored patterns")
        net = cls.from_weights(w, tensors.get("bias"), pats, device=w.device, dtype=dtype)
        net.rule, net.eta, net.scale_ = rule, eta, scale
        try:
            net._check_energy_scale("scale")
        except GenlabError as exc:
            raise GenlabError(f"{where}: {exc}") from None
        return net


def load_hopfield(path: str | os.PathLike[str], device: str | torch.device = "cpu"
                  ) -> HopfieldNetwork | ModernHopfield:
    """Load a binary (:class:`HopfieldNetwork`) or modern (:class:`ModernHopfield`)
    network saved with ``save``; the file's config says which."""
    return registry.load(path, device, family="hopfield")


def from_saved_model(saved: SavedModel, device: str | torch.device = "cpu"
                     ) -> HopfieldNetwork | ModernHopfield:
    """The registry's builder for the kind ``hopfield`` (see :mod:`genlab.registry`)."""
    tensors = saved.tensors(resolve_device(device))
    if saved.config.get("rule") == "modern":
        return ModernHopfield.from_saved(tensors, saved.config, saved.where)
    return HopfieldNetwork.from_saved(tensors, saved.config, saved.where)
