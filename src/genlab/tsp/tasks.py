"""The TSP tasks behind ``genlab tsp solve|exact|info``, as library calls with typed results.

Each task loads the instance (a TSPLIB file, a ``.npy`` distance matrix, ``random:N`` or a
built-in name, or an :class:`~genlab.tsp.tsplib.Instance` already loaded), does the work,
writes the files it is given paths for and returns a :class:`~genlab.results.Result`, whose
:meth:`~genlab.results.Result.to_dict` is what the command prints with ``--json``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genlab.io import atomic_write_json
from genlab.progress import log
from genlab.results import Result
from genlab.tsp.exact import held_karp
from genlab.tsp.instances import load_instance
from genlab.tsp.optimum import gap_to_optimum, known_optimum
from genlab.tsp.polish import best_nearest_neighbour, two_opt
from genlab.tsp.solve import check_solve_memory, default_restarts, solve
from genlab.tsp.tsplib import Instance, tour_length

POLISHES = ("none", "2opt")


def _instance(instance: Instance | str | os.PathLike[str], seed: int) -> Instance:
    return instance if isinstance(instance, Instance) else load_instance(instance, seed=seed)


@dataclass
class LengthSpread(Result):
    """The smallest, mean and largest tour length over the restarts."""

    min: float
    mean: float
    max: float


@dataclass
class PolishedTour(Result):
    """The network's tour after a classical polish (``method``, e.g. ``"2opt"``)."""

    method: str
    tour: list[int]  # (n,) city order, 0-based
    length: float
    gap: float | None  # L / L* - 1, see gap_to_optimum
    seconds: float


@dataclass
class SolveReport(Result):
    """What :func:`run_solve` found: the returned tour, its gap to the optimum, and how the
    restarts went. ``update``, ``polish``, ``plot`` and ``out`` are None (and left out of
    :meth:`to_dict`) when they do not apply."""

    instance: str
    n: int
    method: str
    restarts: int
    tour: list[int]  # (n,) city order, 0-based; always a permutation
    length: float
    valid: bool  # the network's own state was a valid tour (no repair)
    valid_fraction: float  # over the restarts
    optimum: float | None
    optimum_source: str | None
    gap: float | None  # L / L* - 1
    seconds: float
    steps: int
    restart_lengths: LengthSpread
    mean_gap: float | None  # mean over the restarts of L_r / L* - 1
    energy_start: float
    energy_end: float
    update: str | None = None  # mean-field only: "sinkhorn" or "serial"
    polish: PolishedTour | None = None
    plot: Path | None = None
    out: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        shown = super().to_dict()
        for key in ("update", "polish", "plot", "out"):
            if shown[key] is None:
                del shown[key]
        return shown


def run_solve(instance: Instance | str | os.PathLike[str], method: str = "mean-field",
              restarts: int | None = None, seed: int = 0, device: str | torch.device = "auto",
              polish: str = "none", plot: str | os.PathLike[str] | None = None,
              out: str | os.PathLike[str] | None = None) -> SolveReport:
    """Solve ``instance`` with ``restarts`` batched runs of ``method`` (see
    :func:`~genlab.tsp.solve.solve`) and measure the returned tour against the optimum
    (:func:`~genlab.tsp.optimum.known_optimum`, gaps by
    :func:`~genlab.tsp.optimum.gap_to_optimum`).

    ``polish="2opt"`` also reports the tour after 2-opt (separately: the network's own tour
    stays the result); ``plot`` is a PNG of the tour and the energy over the run; ``out``
    a JSON file with :meth:`SolveReport.to_dict` (without the ``out`` key).
    """
    inst = _instance(instance, seed)
    if restarts is None:
        restarts = default_restarts(method)
    check_solve_memory(inst.n, method, restarts, device)
    log(f"{inst.name}: {inst.n} cities ({inst.edge_weight_type}); {method} with "
        f"{restarts} restarts")
    t0 = time.perf_counter()
    res = solve(inst, method, restarts=restarts, seed=seed, device=device)
    seconds = time.perf_counter() - t0
    opt, source = known_optimum(inst)
    length = tour_length(inst.dist, res.tour)
    mean_gap = gap_to_optimum(res.lengths, opt)
    report = SolveReport(
        instance=inst.name, n=inst.n, method=method, restarts=restarts,
        tour=res.tour.tolist(), length=length, valid=res.best_valid,
        valid_fraction=res.valid_fraction, optimum=opt, optimum_source=source,
        gap=gap_to_optimum(length, opt), seconds=seconds, steps=res.steps,
        restart_lengths=LengthSpread(float(res.lengths.min()), float(res.lengths.mean()),
                                     float(res.lengths.max())),
        mean_gap=None if mean_gap is None else float(np.mean(mean_gap)),
        energy_start=float(res.energy[0]), energy_end=float(res.energy[-1]),
        update=res.extra.get("update"))
    if polish == "2opt":
        t1 = time.perf_counter()
        polished = two_opt(inst.dist, res.tour)
        polished_length = tour_length(inst.dist, polished)
        report.polish = PolishedTour("2opt", polished.tolist(), polished_length,
                                     gap_to_optimum(polished_length, opt),
                                     time.perf_counter() - t1)
    if plot is not None:
        from genlab.tsp.plots import plot_tour
        plot_tour(inst, res, plot)
        report.plot = Path(plot)
    if out is not None:
        atomic_write_json(out, report.to_dict())
        report.out = Path(out)
    return report


@dataclass
class ExactReport(Result):
    """The optimal tour by Held-Karp, beside the best nearest-neighbour tour's length."""

    instance: str
    n: int
    tour: list[int]  # (n,) city order, 0-based, from city 0
    length: float
    nearest_neighbour: float
    seconds: float


def run_exact(instance: Instance | str | os.PathLike[str], seed: int = 0) -> ExactReport:
    """The optimal tour of ``instance`` by Held-Karp (``n <= HELD_KARP_MAX_N``) and the
    length of the best nearest-neighbour tour (every start city)."""
    inst = _instance(instance, seed)
    t0 = time.perf_counter()
    exact = held_karp(inst.dist)
    _, nn_length = best_nearest_neighbour(inst.dist)
    return ExactReport(inst.name, inst.n, exact.tour.tolist(), exact.length, nn_length,
                       time.perf_counter() - t0)


@dataclass
class InstanceInfo(Result):
    """An instance's size, its known optimum and the classical baselines' lengths."""

    instance: str
    n: int
    edge_weight_type: str
    comment: str
    optimum: float | None
    optimum_source: str | None
    nearest_neighbour: float  # the best nearest-neighbour tour over all start cities
    nearest_neighbour_2opt: float  # that tour after 2-opt
    has_coords: bool


def run_info(instance: Instance | str | os.PathLike[str], seed: int = 0) -> InstanceInfo:
    """Describe ``instance``: size, optimum (:func:`~genlab.tsp.optimum.known_optimum`) and
    the nearest-neighbour and nearest-neighbour + 2-opt tour lengths."""
    inst = _instance(instance, seed)
    opt, source = known_optimum(inst)
    nn_tour, nn_length = best_nearest_neighbour(inst.dist)
    return InstanceInfo(inst.name, inst.n, inst.edge_weight_type, inst.comment, opt, source,
                        nn_length, tour_length(inst.dist, two_opt(inst.dist, nn_tour)),
                        inst.coords is not None)
