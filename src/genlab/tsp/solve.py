"""One entry point for every TSP method: ``solve(instance, method, ...)``."""

from __future__ import annotations

import torch

from genlab.device import resolve_device
from genlab.errors import GenlabError
from genlab.tsp import elastic, hopfield_tank, meanfield, som
from genlab.tsp.decode import SolveResult
from genlab.tsp.elastic import solve_elastic_net
from genlab.tsp.hopfield_tank import solve_hopfield_tank
from genlab.tsp.meanfield import solve_mean_field
from genlab.tsp.som import solve_som
from genlab.tsp.tsplib import Instance

METHODS = ("hopfield-tank", "mean-field", "elastic-net", "som")
# Restarts when none are asked for. The ring methods' restarts spread widely and the best of a
# batch depends strongly on the batch's size (berlin52, seed 1, 64 restarts: the SOM's fall
# into a group 0-3 % and a group 7-10 % above the optimum; the best of 16 of them is 0.6 % on
# average but up to 7 %, the best of all 64 0.0 %; the elastic net's best of 16 is 2.3 % on
# average, up to 9.8 %). A SOM restart costs milliseconds, so it runs 64 in about the time the
# elastic net takes for 16 (an elastic-net restart costs about nine times more); the
# mean-field network's best tour is set by its schedule more than by its restarts (see
# genlab.tsp.meanfield).
DEFAULT_RESTARTS = {"hopfield-tank": 16, "mean-field": 16, "elastic-net": 16, "som": 64}


def default_restarts(method: str) -> int:
    """The restarts :func:`solve` runs for ``method`` when none are given
    (:data:`DEFAULT_RESTARTS`)."""
    if method not in DEFAULT_RESTARTS:
        raise GenlabError(f"unknown method {method!r}; choose one of " + ", ".join(METHODS))
    return DEFAULT_RESTARTS[method]


def check_solve_memory(n: int, method: str, restarts: int,
                       device: str | torch.device = "auto") -> None:
    """Refuse (:class:`GenlabError`, one line) ``restarts`` runs of ``method`` on ``n``
    cities that cannot fit in memory; :func:`solve` checks the same before allocating."""
    checks = {"hopfield-tank": hopfield_tank.check_memory, "mean-field": meanfield.check_memory,
              "elastic-net": elastic.check_memory, "som": som.check_memory}
    if method in checks:
        checks[method](restarts, n, resolve_device(device))


def solve(instance: Instance, method: str = "mean-field", restarts: int | None = None,
          seed: int | None = 0, device: str | torch.device = "auto") -> SolveResult:
    """Solve ``instance`` with one of :data:`METHODS`, ``restarts`` runs batched on ``device``
    (None: the method's :data:`DEFAULT_RESTARTS`)."""
    if restarts is None:
        restarts = default_restarts(method)
    if method == "hopfield-tank":
        return solve_hopfield_tank(instance.dist, restarts=restarts, seed=seed, device=device)
    if method == "mean-field":
        return solve_mean_field(instance.dist, restarts=restarts, seed=seed, device=device)
    if method == "elastic-net":
        return solve_elastic_net(instance.dist, instance.coords, restarts=restarts, seed=seed,
                                 device=device)
    if method == "som":
        return solve_som(instance.dist, instance.coords, restarts=restarts, seed=seed,
                         device=device)
    raise GenlabError(f"unknown method {method!r}; choose one of " + ", ".join(METHODS))
