r"""Latent traversals: decode a seed image's code with one latent swept over a range.

Row $r$ shows latent $j_r$: $x_{r,t} = \mathbb{E}[x|z]$ with $z = \mu(x_{\mathrm{seed}})$
except $z_{j_r} = v_t$, $v_t$ evenly spaced in [``low``, ``high``] (default -3 to 3 prior
standard deviations). By default the latents are sorted by their mean
$\mathrm{KL}(q(z_j|x)\,\|\,\mathcal{N}(0, 1))$, largest first, so informative latents come
first and unused ones, with KL $\approx 0$, last. With ground-truth factors the rows can
instead be named and sorted by the factor each latent informs most
(``genlab.metrics.mig.latent_factor_labels``, ordered by ``factor_row_order``).
A disentangled model shows one factor (x, y, scale, rotation, shape) changing per row.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
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
        labels: each row's name after its latent and KL (e.g. ``"x (MI 0.71)"``), in row
            order; None: no names.
    """

    images: torch.Tensor
    order: list[int]
    kl: list[float]
    values: list[float]
    labels: list[str] | None = None


def _check_order(order: Sequence[int], latent: int) -> list[int]:
    order = [int(j) for j in order]
    if sorted(order) != list(range(latent)):
        raise GenlabError(f"the row order must list each of the {latent} latents once, "
                          f"got {order}")
    return order


def latent_traversal(model: VariationalModel, seed_image: torch.Tensor, kl: torch.Tensor,
                     low: float = -3.0, high: float = 3.0, steps: int = 10,
                     order: Sequence[int] | None = None) -> Traversal:
    """Traverse every latent of ``model`` around ``seed_image`` ``(D,)`` or ``(h, w)``.

    ``kl`` ``(L,)`` orders the rows (e.g. from ``genlab.latent.betavae.kl_per_latent``),
    largest first, unless ``order`` gives the rows' latents.
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
        order = (torch.argsort(kl, descending=True) if order is None
                 else torch.tensor(_check_order(order, latent)))
        values = torch.linspace(low, high, steps, device=mu.device)
        z = mu.repeat(latent, steps, 1)  # (L, steps, L)
        z[torch.arange(latent), :, order.to(mu.device)] = values  # row r sweeps latent order[r]
        x = model.decode_mean(z)  # (L, steps, D)
    h, w = model.image_shape
    return Traversal(x.reshape(latent, steps, h, w).cpu(), order.tolist(), kl.tolist(),
                     values.tolist())


def plot_traversal(trav: Traversal, path: str | os.PathLike[str], title: str | None = None
                   ) -> Path:
    """Save a traversal as a PNG: one row per latent, labelled with its index, its name
    (``trav.labels``, e.g. ``z3: x (MI 0.71)``) and its KL."""
    latent, steps, h, w = trav.images.shape
    grid = image_grid(trav.images.reshape(latent * steps, h, w), ncols=steps)
    fig, ax = plt.subplots(figsize=(0.75 * steps + 1.6, 0.75 * latent + 0.8))
    ax.imshow(np.ma.masked_invalid(grid), cmap="gray", vmin=0.0, vmax=1.0,
              interpolation="nearest")
    ax.set_yticks([1 + r * (h + 1) + h / 2 for r in range(latent)])
    names = trav.labels or [""] * latent
    ax.set_yticklabels([f"z{j}: {name}, KL {trav.kl[j]:.2f}" if name else
                        f"z{j} KL {trav.kl[j]:.2f}" for j, name in zip(trav.order, names,
                                                                       strict=True)],
                       fontsize=8)
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
                     kl: torch.Tensor | None = None, order: Sequence[int] | None = None,
                     labels: Sequence[str] | None = None) -> Traversal:
    """Traverse ``model`` around ``images[index]`` with the rows sorted by each latent's mean
    KL over all of ``images`` (``genlab.latent.betavae.kl_per_latent``, or ``kl`` when
    the caller has it already) or in the given ``order``, named by ``labels`` (one per
    row), and save the figure to ``path``: the one sequence behind ``genlab vae traverse``
    and the benchmarks' traversal figures."""
    if not 0 <= index < len(images):
        raise GenlabError(f"the seed image {index} is not one of the {len(images)} images")
    if kl is None:
        kl = kl_per_latent(model, images)
    if labels is not None and len(labels) != model.latent_dim:
        raise GenlabError(f"one label per row ({model.latent_dim}) is needed, got "
                          f"{len(labels)}")
    trav = latent_traversal(model, images[index], kl, low, high, steps, order=order)
    if labels is not None:
        trav = trav._replace(labels=list(labels))
    plot_traversal(trav, path, title=title)
    return trav


def factor_row_order(factors: Sequence[str | None], mi: Sequence[float],
                     kl: Sequence[float], factor_order: Sequence[str]) -> list[int]:
    """Rows by factor: the latents named by a factor first, in the factors' order
    ``factor_order`` (the largest normalised MI first within a factor), then the latents
    named by none (``None``), largest KL first.

    Args:
        factors: ``(L,)`` each latent's factor or None, in latent order.
        mi: ``(L,)`` each latent's largest normalised MI.
        kl: ``(L,)`` each latent's mean KL.
        factor_order: every factor name, in the order of the rows.

    Returns:
        the latents in row order.
    """
    rank = {name: r for r, name in enumerate(factor_order)}
    unknown = sorted({f for f in factors if f is not None and f not in rank})
    if unknown:
        raise GenlabError(f"factor {unknown[0]!r} is not one of {list(factor_order)}")
    named = sorted((j for j, f in enumerate(factors) if f is not None),
                   key=lambda j: (rank[factors[j]], -mi[j], -kl[j], j))
    rest = sorted((j for j, f in enumerate(factors) if f is None), key=lambda j: (-kl[j], j))
    return named + rest
