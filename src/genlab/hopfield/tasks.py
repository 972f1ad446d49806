"""The Hopfield tasks behind ``genlab hopfield store|recall|capacity``: each does the whole
job (read the files, run the network, write what it is asked to) and returns a typed
:class:`~genlab.results.Result` whose ``to_dict()`` is what the command prints.
"""

from __future__ import annotations

import io
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from genlab.data.npfiles import read_npy
from genlab.device import make_generator, resolve_device
from genlab.errors import GenlabError
from genlab.hopfield.capacity import (
    AGS_CRITICAL_LOAD,
    CAPACITY_RULES,
    DEFAULT_ALPHAS,
    CapacityResult,
    capacity_curve,
    check_capacity_memory,
)
from genlab.hopfield.modern import ModernHopfield, check_beta_range
from genlab.hopfield.network import HopfieldNetwork, load_hopfield
from genlab.hopfield.patterns import load_patterns
from genlab.hopfield.recall import Recall
from genlab.io import atomic_write_bytes, to_jsonable
from genlab.progress import log
from genlab.results import Result

PathLike = str | os.PathLike[str]


# ----- store ------------------------------------------------------------------------------
@dataclass
class StoreResult(Result):
    """A stored network: its files, rule, size, load ``alpha = P / N``, and how many of the
    stored patterns are fixed points of the dynamics."""

    out: Path
    rule: str
    patterns: int
    units: int
    load: float
    stable_patterns: int
    image_shape: list[int] | None


def store_network(patterns: PathLike, out: PathLike, rule: str = "hebbian",
                  eta: float | None = None, beta: float | None = None,
                  device: str | torch.device = "cpu") -> StoreResult:
    """Store the patterns ``(P, N)`` of the file ``patterns`` (see
    :func:`~genlab.hopfield.patterns.load_patterns`) with ``rule`` (a learning rule, or
    ``"modern"`` for the softmax network with inverse temperature ``beta``, default 1) and
    save the network as ``out.safetensors`` + ``out.json``."""
    pats, shape = load_patterns(patterns)
    dev = resolve_device(device)
    if rule == "modern":
        if eta is not None:
            raise GenlabError("--eta is the Hebbian learning rate; the modern network "
                              "takes --beta")
        net: HopfieldNetwork | ModernHopfield = ModernHopfield(
            beta=1.0 if beta is None else beta, device=dev).fit(pats)
    else:
        if beta is not None:
            raise GenlabError("--beta applies to --rule modern only")
        net = HopfieldNetwork(rule=rule, eta=eta, device=dev).fit(pats)
    stable = net.stable(net.patterns_)
    image_shape = list(shape) if shape else None
    path = net.save(out, meta={"source": str(patterns), "image_shape": image_shape})
    return StoreResult(out=path, rule=rule, patterns=int(pats.shape[0]),
                       units=int(pats.shape[1]), load=pats.shape[0] / pats.shape[1],
                       stable_patterns=int(stable.sum()), image_shape=image_shape)


# ----- recall -----------------------------------------------------------------------------
@dataclass
class CueResult:
    """How recall from one cue ended (see :class:`~genlab.hopfield.recall.Recall`)."""

    nearest: int
    overlap: float
    converged: bool
    cycle: bool
    sweeps: int
    energy: float


@dataclass
class RecallResult(Result):
    """Recall from ``cues`` cues: the update mode (``"modern"`` for the softmax network),
    how many converged or ended in a two-cycle, the states file written, one
    :class:`CueResult` per cue, and the full :class:`~genlab.hopfield.recall.Recall`."""

    cues: int
    mode: str
    converged: int
    cycles: int
    out: Path | None
    results: list[CueResult]
    recall: Recall = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        shown = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "recall"}
        shown["results"] = [asdict(r) for r in self.results]
        return to_jsonable(shown)


def _read_cues(net: HopfieldNetwork | ModernHopfield, cues: PathLike | torch.Tensor,
               clamp: PathLike | torch.Tensor | None
               ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The cues ``(C, N)`` (a file or an array: ±1, 0 = unknown) and the clamp mask (a
    ``.npy`` file or an array, ``(N,)`` or ``(C, N)``), checked against the network."""
    if isinstance(cues, str | os.PathLike):
        cues, _ = load_patterns(cues, "cues", allow_zero=True)
    cues = torch.as_tensor(cues)
    cues = cues if cues.ndim == 2 else cues.reshape(1, -1)
    if cues.shape[1] != net.n_units:
        raise GenlabError(f"cues have {cues.shape[1]} units but the network has {net.n_units}")
    if isinstance(clamp, str | os.PathLike):
        clamp = torch.as_tensor(read_npy(clamp, "clamp mask"))
    return cues, clamp


def _save_states(path: PathLike, states: np.ndarray) -> Path:
    buf = io.BytesIO()
    np.save(buf, states)
    return atomic_write_bytes(path, buf.getvalue())


def recall_cues(net: PathLike | HopfieldNetwork | ModernHopfield,
                cues: PathLike | torch.Tensor, out: PathLike | None = None,
                mode: Literal["async", "sync"] | None = None, max_sweeps: int = 100,
                clamp: PathLike | torch.Tensor | None = None, seed: int | None = 0,
                device: str | torch.device = "cpu") -> RecallResult:
    """Run a network (saved by :func:`store_network`, or one in memory) from ``cues``.

    A binary network updates in ``mode`` (default ``"async"``, the unit orders drawn from a
    generator seeded with ``seed``) for at most ``max_sweeps`` sweeps; a modern one takes
    no mode and at most ``max_sweeps`` softmax updates. ``clamp`` holds units at their cue
    values. ``out``, when given, receives the final states ``(C, N)`` as ``.npy``: int8 ±1,
    or float32 for a modern network.
    """
    if isinstance(net, str | os.PathLike):
        net = load_hopfield(net, device=resolve_device(device))
    modern = isinstance(net, ModernHopfield)
    if modern and mode is not None:
        raise GenlabError("the modern network updates all units at once; drop --mode")
    x, mask = _read_cues(net, cues, clamp)
    if modern:
        res = net.recall(x, max_steps=max_sweeps, clamp=mask)
        mode, states = "modern", res.states.cpu().numpy().astype(np.float32)  # continuous
    else:
        mode = mode or "async"
        res = net.recall(x, mode=mode, max_sweeps=max_sweeps, clamp=mask,
                         generator=make_generator(seed))
        states = res.states.cpu().numpy().astype(np.int8)
    written = _save_states(out, states) if out else None
    per = [CueResult(nearest=int(n), overlap=float(m), converged=bool(c), cycle=bool(y),
                     sweeps=int(s), energy=float(e))
           for n, m, c, y, s, e in zip(res.nearest, res.overlap, res.converged, res.cycled,
                                       res.sweeps, res.energy, strict=True)]
    return RecallResult(cues=len(per), mode=mode, converged=int(res.converged.sum()),
                        cycles=int(res.cycled.sum()), out=Path(out) if written else None,
                        results=per, recall=res)


# ----- capacity ---------------------------------------------------------------------------
@dataclass
class CapacityStudy(Result):
    """Retrieval against load for one or more rules (one
    :class:`~genlab.hopfield.capacity.CapacityResult` each), the figure written, and the
    Hebbian network's theoretical critical load ``alpha_c``."""

    n: int
    trials: int
    theory_critical_load: float
    figure: Path | None
    curves: list[CapacityResult]

    def to_dict(self) -> dict[str, Any]:
        keys = ("alphas", "patterns", "overlap", "recalled", "stable", "critical_load")
        return to_jsonable({
            "n": self.n, "trials": self.trials,
            "theory_critical_load": self.theory_critical_load, "figure": self.figure,
            "rules": {c.rule: {k: getattr(c, k) for k in keys} for c in self.curves}})


def run_capacity(n: int = 200, rule: str = "all", alphas: list[float] | None = None,
                 trials: int = 1, mode: Literal["async", "sync"] | None = None,
                 beta: float | None = None, max_sweeps: int = 100,
                 out: PathLike | None = None, seed: int | None = 0,
                 device: str | torch.device = "cpu") -> CapacityStudy:
    """:func:`~genlab.hopfield.capacity.capacity_curve` for ``rule`` (one of
    :data:`CAPACITY_RULES`, or ``"all"`` for each in turn) at loads ``alphas`` (default
    :data:`DEFAULT_ALPHAS`), all drawn from one generator seeded with ``seed``; the binary
    networks update in ``mode`` (default async), the modern one with inverse temperature
    ``beta`` (default 1). Every rule's size is checked before any runs. ``out``, when
    given, receives the plot of overlap against load."""
    from genlab.hopfield.plots import plot_capacity  # the plots module imports capacity

    if rule != "all" and rule not in CAPACITY_RULES:
        raise GenlabError(f"unknown learning rule {rule!r}; choose one of "
                          f"{', '.join(CAPACITY_RULES)} or all")
    dev = resolve_device(device)
    rules = CAPACITY_RULES if rule == "all" else (rule,)
    if beta is not None and "modern" not in rules:
        raise GenlabError(f"--beta is the modern network's inverse temperature; --rule "
                          f"{rule} does not use it (give --rule modern or all)")
    if mode is not None and rules == ("modern",):
        raise GenlabError("the modern network updates all units at once; drop --mode")
    beta = 1.0 if beta is None else beta
    alphas = list(DEFAULT_ALPHAS if alphas is None else alphas)
    for r in rules:  # every rule's size (and the modern network's beta) before one runs
        check_capacity_memory(n, r, max(alphas), dev)
        if r == "modern":
            check_beta_range(beta, n, max(1, round(max(alphas) * n)))
    gen = make_generator(seed)
    curves = []
    for r in rules:
        log(f"capacity: {r}, N = {n}, {len(alphas)} loads, {trials} trials")
        curves.append(capacity_curve(n, r, alphas, trials, mode=mode or "async",
                                     max_sweeps=max_sweeps, generator=gen, device=dev,
                                     beta=beta))
    figure = plot_capacity(curves, out) if out else None
    return CapacityStudy(n=n, trials=trials, theory_critical_load=AGS_CRITICAL_LOAD,
                         figure=figure, curves=curves)
