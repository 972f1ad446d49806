r"""Latent traversals: decode a seed image's code with one latent swept over a range.

Row $r$ shows latent $j_r$ (latents sorted by their mean
$\mathrm{KL}(q(z_j|x)\,\|\,\mathcal{N}(0, 1))$, largest first, so informative latents come
first and unused ones, with KL $\approx 0$, last): $x_{r,t} = \mathbb{E}[x|z]$ with
$z = \mu(x_{\mathrm{seed}})$ except $z_{j_r} = v_t$, $v_t$ evenly spaced in
[``low``, ``high``] (default -3 to 3 prior standard deviations).
A disentangled model shows one factor (x, y, scale, rotation, shape) changing per row.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import matplotlib.pyplot as plt
import numpy as np
import torch

from genlab.errors import GenlabError
from genlab.latent.base import VariationalModel
from genlab.latent.betavae import kl_per_latent
from genlab.plots import image_grid, save_figure


class Traversal(NamedTuple):
    """Result of ``latent_traversal``.

    Attributes:
        images: ``(L, steps, h, w)`` decoded means, row r for latent ``order[r]``.
        order: latent indices sorted by KL, largest first.
        kl: ``(L,)`` mean KL of each latent (in latent order, not sorted), nats.
        values: the ``steps`` values each latent takes.
    """

    images: torch.Tensor
    order: list[int]
    kl: list[float]
    values: list[float]


def latent_traversal(model: VariationalModel, seed_image: torch.Tensor, kl: torch.Tensor,
                     low: float = -3.0, high: float = 3.0, steps: int = 10) -> Traversal:
    """Traverse every latent of ``model`` around ``seed_image`` ``(D,)`` or ``(h, w)``.

    ``kl`` ``(L,)`` orders the rows (e.g. from ``genlab.latent.betavae.kl_per_latent``).
    """
    if steps < 2:
        raise GenlabError(f"a traversal needs at least 2 steps, got {steps}")
    if not low < high:
        raise GenlabError(f"the traversal range must have low < high, got {low}..{high}")
    latent = model.latent_dim
    if kl.shape != (latent,):
        raise GenlabError(f"kl must have one value per latent ({latent}), got {tuple(kl.shape)}")
    model.eval()
    with torch.no_grad():
        mu = model.encode(seed_image.reshape(1, -1))  # (1, L)
        order = torch.argsort(kl, descending=True)
        values = torch.linspace(low, high, steps, device=mu.device)
        z = mu.repeat(latent, steps, 1)  # (L, steps, L)
        z[torch.arange(latent), :, order.to(mu.device)] = values  # row r sweeps latent order[r]
        x = model.decode_mean(z)  # (L, steps, D)
    h, w = model.image_shape
    return Traversal(x.reshape(latent, steps, h, w).cpu(), order.tolist(), kl.tolist(),
                     values.tolist())


def plot_traversal(trav: Traversal, path: str | os.PathLike[str], title: str | None = None
                   ) -> Path:
    """Save a traversal as a PNG: one row per latent, labelled with its index and KL."""
    latent, steps, h, w = trav.images.shape
    grid = image_grid(trav.images.reshape(latent * steps, h, w), ncols=steps)
    fig, ax = plt.subplots(figsize=(0.75 * steps + 1.6, 0.75 * latent + 0.8))
    ax.imshow(np.ma.masked_invalid(grid), cmap="gray", vmin=0.0, vmax=1.0,
              interpolation="nearest")
    ax.set_yticks([1 + r * (h + 1) + h / 2 for r in range(latent)])
    ax.set_yticklabels([f"z{j} KL {trav.kl[j]:.2f}" for j in trav.order], fontsize=8)
    ax.set_xticks([1 + t * (w + 1) + w / 2 for t in range(steps)])
    ax.set_xticklabels([f"{v:+.1f}" for v in trav.values], fontsize=7)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_title(title or "latent traversals (rows sorted by KL)", fontsize=10)
    return save_figure(fig, path)


def traversal_figure(model: VariationalModel, images: torch.Tensor,
                     path: str | os.PathLike[str], title: str | None = None, index: int = 0,
                     low: float = -3.0, high: float = 3.0, steps: int = 10,
                     kl: torch.Tensor | None = None) -> Traversal:
    """Traverse ``model`` around ``images[index]`` with the rows sorted by each latent's mean
    KL over all of ``images`` (``genlab.latent.betavae.kl_per_latent``, or ``kl`` when
    the caller has it already), and save the figure to ``path``: the one sequence behind
    ``genlab vae traverse`` and the benchmarks' traversal figures."""
    if not 0 <= index < len(images):
        raise GenlabError(f"the seed image {index} is not one of the {len(images)} images")
    if kl is None:
        kl = kl_per_latent(model, images)
    trav = latent_traversal(model, images[index], kl, low, high, steps)
    plot_traversal(trav, path, title=title)
    return trav
