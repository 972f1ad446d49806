"""The TSP figure: the cities with the returned tour, and the network energy over the run."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from genlab.plots import save_figure  # noqa: E402
from genlab.tsp.decode import SolveResult  # noqa: E402
from genlab.tsp.elastic import embed_plane  # noqa: E402
from genlab.tsp.tsplib import Instance  # noqa: E402


def plot_tour(instance: Instance, result: SolveResult, path: str | os.PathLike[str],
              title: str | None = None) -> Path:
    """Save a PNG: left the cities and the tour (closed), right the energy against the step."""
    xy = instance.coords if instance.coords is not None else embed_plane(instance.dist)
    fig, (ax, ax_e) = plt.subplots(1, 2, figsize=(11, 4.8),
                                   gridspec_kw={"width_ratios": [1.1, 1]})
    loop = np.append(result.tour, result.tour[0])
    ax.plot(xy[loop, 0], xy[loop, 1], "-", color="tab:blue", lw=1.2, zorder=1)
    ax.scatter(xy[:, 0], xy[:, 1], s=18, color="tab:red", zorder=2)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_title(title or f"{instance.name}: {result.method}, length {result.length:g}")
    if instance.coords is None:
        ax.set_xlabel("(cities placed by multidimensional scaling of the distances)")
    ax_e.plot(result.energy_steps, result.energy, color="tab:green")
    xlabel = {"mean-field": "temperature step", "som": "epoch"}
    ax_e.set_xlabel(xlabel.get(result.method, "step"))
    if result.method == "som":  # the Kohonen rule has no energy; its trace is the ring length
        ax_e.set_ylabel("ring length (unit square)")
        ax_e.set_title("ring length of the returned run")
    else:
        ax_e.set_ylabel("energy")
        ax_e.set_title("energy of the returned run")
    ax_e.grid(alpha=0.3)
    return save_figure(fig, path)
