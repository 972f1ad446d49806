"""Figures shared by every model: image grids and curves, saved atomically as PNG.

Matplotlib runs with the non-interactive Agg backend, so plotting works without a
screen.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from genlab.errors import GenlabError  # noqa: E402
from genlab.io import atomic_write_bytes  # noqa: E402


def save_figure(fig: Figure, path: str | os.PathLike[str], dpi: int = 120) -> Path:
    """Save ``fig`` as PNG to ``path`` atomically, then close it."""
    path = Path(path)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    try:
        return atomic_write_bytes(path, buf.getvalue())
    except OSError as exc:
        raise GenlabError(f"cannot write {path}: {exc.strerror or exc}") from None


def _as_images(images: torch.Tensor | np.ndarray, shape: tuple[int, int] | None) -> np.ndarray:
    arr = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    arr = arr.astype(np.float32)
    if arr.ndim == 2:
        if shape is None:
            side = int(round(np.sqrt(arr.shape[1])))
            if side * side != arr.shape[1]:
                raise GenlabError(f"cannot show vectors of length {arr.shape[1]} as images; "
                                  "give image_shape")
            shape = (side, side)
        arr = arr.reshape(len(arr), *shape)
    return arr


def image_grid(images: torch.Tensor | np.ndarray, ncols: int | None = None,
               image_shape: tuple[int, int] | None = None, pad: int = 1,
               vmin: float | None = None, vmax: float | None = None) -> np.ndarray:
    """Tile ``(n, h, w)`` or ``(n, h*w)`` images into one 2-D array (padding = NaN)."""
    arr = _as_images(images, image_shape)
    n, h, w = arr.shape
    ncols = ncols or int(np.ceil(np.sqrt(n)))
    nrows = int(np.ceil(n / ncols))
    grid = np.full((nrows * (h + pad) + pad, ncols * (w + pad) + pad), np.nan, np.float32)
    for k in range(n):
        r, c = divmod(k, ncols)
        grid[pad + r * (h + pad): pad + r * (h + pad) + h,
             pad + c * (w + pad): pad + c * (w + pad) + w] = arr[k]
    return grid


def plot_image_grid(images: torch.Tensor | np.ndarray, path: str | os.PathLike[str],
                    title: str | None = None, ncols: int | None = None,
                    image_shape: tuple[int, int] | None = None,
                    labels: Sequence[str] | None = None, cmap: str = "gray",
                    vmin: float | None = None, vmax: float | None = None) -> Path:
    """Save a grid of images (optionally captioned per image) as a PNG."""
    arr = _as_images(images, image_shape)
    n = len(arr)
    ncols = ncols or int(np.ceil(np.sqrt(n)))
    nrows = int(np.ceil(n / ncols))
    if labels is None:
        grid = image_grid(arr, ncols)
        fig, ax = plt.subplots(figsize=(min(12, 0.9 * ncols + 1), min(12, 0.9 * nrows + 1)))
        ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=vmin, vmax=vmax,
                  interpolation="nearest")
        ax.set_axis_off()
    else:
        fig, axes = plt.subplots(nrows, ncols, figsize=(1.2 * ncols, 1.35 * nrows), squeeze=False)
        for k, ax in enumerate(axes.flat):
            ax.set_axis_off()
            if k < n:
                ax.imshow(arr[k], cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
                ax.set_title(str(labels[k]), fontsize=7)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def plot_curves(curves: dict[str, Sequence[float]], path: str | os.PathLike[str], xlabel: str,
                ylabel: str, title: str | None = None, logy: bool = False,
                x: Sequence[float] | None = None) -> Path:
    """Save line plots of named curves (e.g. training loss per epoch) as a PNG."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, ys in curves.items():
        xs = x if x is not None else range(1, len(ys) + 1)
        ax.plot(list(xs)[: len(ys)], list(ys), label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    if len(curves) > 1:
        ax.legend()
    ax.grid(alpha=0.3)
    return save_figure(fig, path)


def side_by_side(pictures: Sequence[str | os.PathLike[str]], titles: Sequence[str],
                 path: str | os.PathLike[str], dpi: int = 120) -> Path:
    """Saved PNG figures (e.g. two traversal grids) placed in one row under their
    ``titles``, at their own resolution, saved to ``path``."""
    if len(pictures) != len(titles) or not pictures:
        raise GenlabError(f"give one title per picture, got {len(pictures)} pictures and "
                          f"{len(titles)} titles")
    images = [plt.imread(os.fspath(p)) for p in pictures]
    height = max(im.shape[0] for im in images) / dpi
    widths = [im.shape[1] / dpi for im in images]
    fig, axes = plt.subplots(1, len(images), figsize=(sum(widths), height + 0.4),
                             gridspec_kw={"width_ratios": widths}, squeeze=False)
    for ax, image, title in zip(axes[0], images, titles, strict=True):
        ax.imshow(image, interpolation="none")
        ax.set_title(title, fontsize=11)
        ax.axis("off")
    fig.tight_layout()
    return save_figure(fig, path, dpi=dpi)
