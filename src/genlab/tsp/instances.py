"""Where instances come from: TSPLIB files, built-in instances, random Euclidean ones, ``.npy``.

``load_instance(spec)`` accepts

* a path to a TSPLIB ``.tsp`` file (optimum from ``NAME.opt.tour`` / ``OPTIMA.txt`` beside it),
* the name of a built-in instance (:data:`BUILTIN_INSTANCES`: small TSPLIB instances shipped
  with genlab),
* ``random:N`` (N cities uniform in the unit square, Euclidean distances unrounded; the cities
  are drawn from ``seed``),
* a path to a ``.npy`` file holding a symmetric ``(n, n)`` distance matrix.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import numpy as np

from genlab.data.npfiles import read_npy
from genlab.errors import GenlabError
from genlab.memory import check_allocation
from genlab.tsp.tsplib import Instance, check_distance_range, read_tsplib

BUILTIN_INSTANCES = ("burma14", "ulysses16", "gr17")


def builtin_path(name: str) -> Path:
    """The path of a built-in TSPLIB instance shipped inside the package."""
    if name not in BUILTIN_INSTANCES:
        raise GenlabError(f"unknown built-in instance {name!r}; choose one of "
                          + ", ".join(BUILTIN_INSTANCES))
    return Path(str(resources.files("genlab.tsp") / "instances" / f"{name}.tsp"))


def random_euclidean(n: int, seed: int = 0) -> Instance:
    r"""`n` cities uniform in $[0, 1]^2$ from `seed`; $d_{XY} = \|x_X - x_Y\|$ (unrounded)."""
    if n < 3:
        raise GenlabError(f"a random instance needs at least 3 cities, got {n}")
    # the (n, n, 2) differences, their squares and the (n, n) distances, float64
    check_allocation(48 * n * n, f"random:{n} ({n} cities)", "cpu",
                     "use fewer cities")
    rng = np.random.default_rng(seed)
    coords = rng.random((n, 2))
    dist = np.sqrt(((coords[:, None, :] - coords[None, :, :]) ** 2).sum(-1))
    return Instance(name=f"random{n}-seed{seed}", dist=dist, coords=coords,
                    edge_weight_type="EUC_2D_REAL")


def from_matrix(dist: np.ndarray, name: str = "matrix") -> Instance:
    """An instance from a symmetric, non-negative, finite ``(n, n)`` distance matrix."""
    d = np.asarray(dist, dtype=np.float64)
    if d.ndim != 2 or d.shape[0] != d.shape[1]:
        raise GenlabError(f"{name}: a distance matrix must be square (n, n), got shape "
                          f"{tuple(d.shape)}")
    if d.shape[0] < 3:
        raise GenlabError(f"{name}: a TSP needs at least 3 cities, got {d.shape[0]}")
    if not np.all(np.isfinite(d)):
        raise GenlabError(f"{name}: the distance matrix holds NaN or infinite values")
    if np.any(d < 0):
        raise GenlabError(f"{name}: the distance matrix holds negative distances")
    problem = check_distance_range(d)
    if problem:
        raise GenlabError(f"{name}: {problem}")
    if not np.allclose(d, d.T):
        raise GenlabError(f"{name}: the distance matrix is not symmetric; only symmetric TSP "
                          "is supported")
    d = 0.5 * (d + d.T)
    np.fill_diagonal(d, 0.0)
    return Instance(name=name, dist=d, edge_weight_type="MATRIX")


def load_instance(spec: str | os.PathLike[str], seed: int = 0) -> Instance:
    """Load an instance from a TSPLIB path, a built-in name, ``random:N`` or a ``.npy`` matrix."""
    text = str(spec)
    if text.startswith("random:"):
        try:
            n = int(text.split(":", 1)[1])
        except ValueError:
            raise GenlabError(f"expected random:N with N an integer, got {text!r}") from None
        return random_euclidean(n, seed)
    if text in BUILTIN_INSTANCES:
        return read_tsplib(builtin_path(text))
    path = Path(text)
    if not path.is_file():
        raise GenlabError(f"instance {text!r} not found: give a TSPLIB .tsp file, a .npy "
                          "distance matrix, random:N, or one of " + ", ".join(BUILTIN_INSTANCES))
    if path.suffix == ".npy":
        return from_matrix(read_npy(path, "distance matrix"), name=path.stem)
    return read_tsplib(path)
