"""Figures of the Hopfield area: recall strips (state after each update) and capacity."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

from genlab.hopfield.capacity import AGS_CRITICAL_LOAD, CapacityResult, ags_overlap
from genlab.plots import save_figure


def plot_recall_strips(rows: list[torch.Tensor], labels: list[str],
                       path: str | os.PathLike[str], shape: tuple[int, int] = (5, 5),
                       title: str | None = None) -> Path:
    """One row per cue: frames ``(T, N)`` drawn left to right (+1 dark, -1 light, 0 grey)."""
    ncols = max(len(r) for r in rows)
    fig, axes = plt.subplots(len(rows), ncols, figsize=(0.7 * ncols + 1.5, 0.8 * len(rows) + 0.6),
                             squeeze=False)
    for i, frames in enumerate(rows):
        for k in range(ncols):
            ax = axes[i, k]
            ax.set_xticks([])
            ax.set_yticks([])
            if k < len(frames):
                img = frames[k].detach().cpu().float().reshape(shape).numpy()
                ax.imshow(-img, cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
            else:
                ax.set_axis_off()
        axes[i, 0].set_ylabel(labels[i], rotation=0, ha="right", va="center", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)


def plot_capacity(results: list[CapacityResult], path: str | os.PathLike[str]) -> Path:
    """Final overlap against load for every rule, with the AGS theory for Hebbian."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for r in results:
        ax.errorbar(r.alphas, r.overlap, yerr=r.overlap_sem, marker="o", ms=3, label=r.rule)
    grid = np.linspace(0.005, max(a for r in results for a in r.alphas), 300)
    ax.plot(grid, [ags_overlap(a) for a in grid], "k--", lw=1, label="Hebbian theory (AGS)")
    ax.axvline(AGS_CRITICAL_LOAD, color="k", ls=":", lw=1)
    ax.set_xlabel("load alpha = P / N")
    ax.set_ylabel("final overlap m with the stored pattern")
    ax.set_title(f"Hopfield capacity, N = {results[0].n}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(fig, path)
