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


def check_solve_memory(n: int, method: str, restarts: int,
                       device: str | torch.device = "auto") -> None:
    """Refuse (:class:`GenlabError`, one line) ``restarts`` runs of ``method`` on ``n``
    cities that cannot fit in memory; :func:`solve` checks the same before allocating."""
    checks = {"hopfield-tank": hopfield_tank.check_memory, "mean-field": meanfield.check_memory,
              "elastic-net": elastic.check_memory, "som": som.check_memory}
    if method in checks:
        checks[method](restarts, n, resolve_device(device))


def solve(instance: Instance, method: str = "mean-field", restarts: int = 16,
          seed: int | None = 0, device: str | torch.device = "auto") -> SolveResult:
    """Solve ``instance`` with one of :data:`METHODS`, ``restarts`` runs batched on ``device``."""
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
