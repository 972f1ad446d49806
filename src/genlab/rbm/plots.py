"""Figures of a trained RBM: its filters (rows of ``W``) and samples from Gibbs chains."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from genlab.plots import plot_image_grid


def image_shape_of(n_features: int, shape: tuple[int, int] | list[int] | None = None
                   ) -> tuple[int, int] | None:
    """``shape`` when it matches ``n_features``, else the square side when there is one."""
    if shape is not None and int(shape[0]) * int(shape[1]) == n_features:
        return int(shape[0]), int(shape[1])
    side = int(round(np.sqrt(n_features)))
    return (side, side) if side * side == n_features else None


def plot_filters(components: np.ndarray, path: str | os.PathLike[str], n: int = 100,
                 image_shape: tuple[int, int] | None = None, title: str | None = None) -> Path:
    """Save the first ``n`` filters ``W_j`` (rows of ``components`` ``(n_h, n_v)``) as a grid.

    Each filter is scaled on its own to [0, 1] (``(w - min) / (max - min)``), so the grid
    shows the pattern of each hidden unit's weights rather than their sizes.
    """
    w = np.asarray(components, dtype=np.float32)[:n]
    lo, hi = w.min(axis=1, keepdims=True), w.max(axis=1, keepdims=True)
    w = (w - lo) / np.maximum(hi - lo, 1e-12)
    return plot_image_grid(w, path, title=title, image_shape=image_shape, vmin=0.0, vmax=1.0)


def plot_samples(samples: np.ndarray, path: str | os.PathLike[str],
                 image_shape: tuple[int, int] | None = None, title: str | None = None,
                 vmin: float | None = 0.0, vmax: float | None = 1.0) -> Path:
    """Save samples ``(n, n_v)`` (e.g. ``E[v | h]`` at the end of Gibbs chains) as a grid."""
    return plot_image_grid(np.asarray(samples, dtype=np.float32), path, title=title,
                           image_shape=image_shape, vmin=vmin, vmax=vmax)
