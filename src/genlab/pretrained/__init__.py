"""Pretrained models shipped with genlab as package data: never downloaded, read-only.

Each model is a saved pair ``NAME.safetensors`` + ``NAME.json`` in this package's folder.
``NAME.json``'s ``meta["pretrained"]`` records how it was made and what it scores: the
command that trains it, its seed, the genlab version and commit, the training time and
machine, the date, and the scores with the command that recomputes them from the weights
(``benchmarks/train_pretrained.py`` writes them).

``pretrained:NAME`` is accepted wherever a model path is read (``genlab.load``, every
command's model argument): ``genlab.io.model_paths`` resolves it (see ``resolve``).
Output paths refuse such names (``genlab.outputs``, ``genlab.io.save_model``).

    >>> import genlab
    >>> from genlab import pretrained
    >>> [m.name for m in pretrained.list_models()]
    ['rbm-mnist5k']
    >>> rbm = genlab.load("pretrained:rbm-mnist5k")
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genlab.errors import GenlabError
from genlab.io import PRETRAINED_FOLDER as FOLDER
from genlab.io import PRETRAINED_PREFIX as PREFIX
from genlab.io import (
    model_paths,
    pretrained_names,
    pretrained_path,
    read_header,
    resolve_model_name,
)
from genlab.results import Result

# The fields of meta["pretrained"] every shipped model records.
REQUIRED_FIELDS = ("description", "scores", "score_command", "command", "seed",
                   "genlab_version", "genlab_commit", "train_seconds", "machine", "date")


@dataclass
class PretrainedModel(Result):
    """One shipped model, as ``list_models`` describes it."""

    name: str                  # use as ``pretrained:NAME``
    kind: str                  # the saved kind, e.g. ``rbm.BernoulliRBM``
    description: str           # what it is, one line
    size_bytes: int            # both files together
    scores: dict[str, float]   # recorded scores, keyed by their path in the score command's JSON
    score_command: str         # recomputes ``scores`` from the shipped weights
    command: str               # trains the model again
    seed: int
    genlab_version: str
    genlab_commit: str         # ``git rev-parse HEAD`` when it was trained
    train_seconds: float       # wall time of ``command``
    machine: str               # platform and CPU it was trained on
    date: str                  # UTC date of training, ISO 8601
    weights_dtype: str = "float32"           # as stored; loaded as float32
    extra: dict[str, Any] = field(default_factory=dict)  # the rest of meta["pretrained"]

    @property
    def path(self) -> Path:
        """``NAME`` inside the installed package (see ``path``)."""
        return pretrained_path(self.name)


def names() -> list[str]:
    """The shipped models' names, sorted: those with both files in the package."""
    return pretrained_names()


def is_pretrained(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a ``pretrained:NAME`` name (text only; nothing is looked up)."""
    return os.fspath(path).startswith(PREFIX)


def path(name: str) -> Path:
    """``NAME`` (the model's two files without their suffixes) inside the installed package.

    ``name`` may carry the ``pretrained:`` prefix. Raises ``GenlabError`` (one line,
    listing the available names) for a name genlab does not ship.
    """
    return pretrained_path(name)


def resolve(model: str | os.PathLike[str]) -> Path:
    """``model`` as a path: ``pretrained:NAME`` -> ``path(NAME)``, anything else unchanged."""
    return resolve_model_name(model)


def _entry(name: str) -> PretrainedModel:
    base = pretrained_path(name)
    header = read_header(base)
    info = dict(header["meta"].get("pretrained") or {})
    missing = [k for k in REQUIRED_FIELDS if k not in info]
    if missing:
        raise GenlabError(f"{base}.json: meta['pretrained'] lacks {', '.join(missing)}")
    size = sum(p.stat().st_size for p in model_paths(base))
    fields = {k: info.pop(k) for k in REQUIRED_FIELDS}
    dtype = info.pop("weights_dtype", "float32")
    return PretrainedModel(name=name, kind=header["kind"], size_bytes=size,
                           weights_dtype=dtype, extra=info, **fields)


def get(name: str) -> PretrainedModel:
    """The catalogue entry of the shipped model ``name`` (see ``list_models``)."""
    return _entry(path(name).name)


def list_models() -> list[PretrainedModel]:
    """Every shipped model, by name: what it is, its size, its recorded scores, and the
    commands that train it and recompute the scores."""
    return [_entry(n) for n in names()]


def total_bytes() -> int:
    """The size of all shipped model files together."""
    return sum(m.size_bytes for m in list_models())


__all__ = ["FOLDER", "PREFIX", "PretrainedModel", "get", "is_pretrained", "list_models",
           "names", "path", "resolve", "total_bytes"]
