"""Figures of latent models: reconstructions beside inputs, the 2-D manifold, code scatter."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from genlab.plots import image_grid, plt, save_figure


def plot_reconstructions(x: torch.Tensor, recon: torch.Tensor, image_shape: tuple[int, int],
                         path: str | os.PathLike[str], title: str | None = None,
                         noisy: torch.Tensor | None = None, ncols: int = 16) -> Path:
    """Rows of inputs (and their corrupted versions) above their reconstructions."""
    rows = [("input", x)] + ([("corrupted", noisy)] if noisy is not None else []) + \
        [("reconstruction", recon)]
    n = min(len(x), ncols * 2)
    fig, axes = plt.subplots(len(rows), 1, figsize=(min(14, 0.55 * min(n, ncols) + 1),
                                                     1.2 * len(rows) * max(1, n // ncols)))
    for ax, (name, imgs) in zip(np.atleast_1d(axes), rows, strict=True):
        grid = image_grid(imgs[:n].reshape(n, *image_shape), ncols=min(n, ncols))
        ax.imshow(np.ma.masked_invalid(grid), cmap="gray", vmin=0, vmax=1,
                  interpolation="nearest")
        ax.set_title(name, fontsize=9)
        ax.set_axis_off()
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def plot_manifold(images: torch.Tensor, image_shape: tuple[int, int], grid_size: int,
                  span: float, path: str | os.PathLike[str], title: str | None = None) -> Path:
    """The decoded ``grid_size`` x ``grid_size`` grid over $[-s, s]^2$ ($s$ = ``span``) of a
    2-D latent."""
    grid = image_grid(images.reshape(-1, *image_shape), ncols=grid_size, pad=0)
    fig, ax = plt.subplots(figsize=(7, 7))
    ax.imshow(grid, cmap="gray", vmin=0, vmax=1, extent=(-span, span, -span, span))
    ax.set_xlabel("z1")
    ax.set_ylabel("z2")
    ax.set_title(title or "decoded latent grid")
    return save_figure(fig, path)


def plot_codes(codes: torch.Tensor, labels: torch.Tensor | None, path: str | os.PathLike[str],
               class_names: list[str] | None = None, title: str | None = None) -> Path:
    """Scatter of 2-D codes ``(n, 2)`` coloured by label."""
    c = codes.detach().cpu().numpy()
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    if labels is None:
        ax.scatter(c[:, 0], c[:, 1], s=3, alpha=0.6)
    else:
        y = labels.cpu().numpy()
        for k in np.unique(y):
            name = class_names[int(k)] if class_names and int(k) < len(class_names) else str(k)
            m = y == k
            ax.scatter(c[m, 0], c[m, 1], s=3, alpha=0.6, label=name)
        ax.legend(markerscale=4, fontsize=7, loc="best")
    ax.set_xlabel("z1")
    ax.set_ylabel("z2")
    ax.set_title(title or "test codes")
    return save_figure(fig, path)
