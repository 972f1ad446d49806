"""A look at a data set: a grid of randomly chosen examples and the numbers that describe it
(``genlab data show`` prints this, and Python code reads the same fields)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from genlab.data.datasets import FASHION_CLASSES, load_dataset
from genlab.errors import GenlabError
from genlab.results import Result


@dataclass
class DataPreview(Result):
    """What ``preview_dataset`` drew and what the images hold."""

    name: str
    out: str
    shown: int                  # images in the grid
    size: int                   # images in the split (after ``limit``)
    split: str
    shape: list[int]            # (height, width)
    source: str
    binarize: str
    min: float                  # smallest, largest and mean pixel over the whole split
    max: float
    mean: float
    classes: int | None         # 1 + the largest label, None without labels


def preview_dataset(name: str, out: str | os.PathLike[str], *, n: int = 64,
                    split: str = "train", binarize: str = "none", limit: int | None = None,
                    labels: bool = False, seed: int = 0,
                    data_dir: str | os.PathLike[str] | None = None) -> DataPreview:
    """Draw ``n`` images of ``name`` chosen uniformly without replacement (a permutation
    from a generator seeded with ``seed``), binarised as ``binarize`` says, and save them as
    a PNG grid at ``out``, captioned with their labels when ``labels`` is set."""
    from genlab.plots import plot_image_grid

    data = load_dataset(name, split=split, binarize=binarize, spins=False, limit=limit,
                        data_dir=data_dir)
    if labels and data.labels is None:
        raise GenlabError(f"--labels: {name} has no labels to show (a .npz gives them as "
                          "y, an IDX images file in the labels file beside it); drop --labels")
    gen = torch.Generator().manual_seed(seed)
    shown = min(n, len(data))
    idx = torch.randperm(len(data), generator=gen)[:shown].sort().values
    images = data.draw(gen, idx).reshape(shown, *data.image_shape)
    captions = None
    if labels:
        names = FASHION_CLASSES if name == "fashion-mnist" else None
        captions = [names[int(c)] if names else str(int(c)) for c in data.labels[idx]]
    title = f"{name} ({split}, binarize={binarize}): {shown} of {len(data)}"
    plot_image_grid(images, out, title=title, labels=captions, vmin=0.0, vmax=1.0)
    x = data.images
    return DataPreview(name=name, out=str(out), shown=shown, size=len(data), split=split,
                       shape=list(data.image_shape), source=data.source, binarize=binarize,
                       min=float(x.min()), max=float(x.max()), mean=float(x.mean()),
                       classes=None if data.labels is None else int(data.labels.max()) + 1)
