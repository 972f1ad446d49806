"""What ``genlab.train.fit`` asks of a model and of its data."""

from __future__ import annotations

from typing import NamedTuple, Protocol, runtime_checkable

import torch


class LossOutput(NamedTuple):
    """What ``model.loss`` returns: the scalar to minimise and named values to log."""

    loss: torch.Tensor
    metrics: dict[str, float | torch.Tensor]


@runtime_checkable
class Trainable(Protocol):
    """The contract of a model trained by ``fit`` (see ``genlab.train``)."""

    def loss(self, x: torch.Tensor, generator: torch.Generator) -> LossOutput: ...


class Batches(Protocol):
    """A data set ``fit`` can draw from (e.g. ``genlab.data.ImageDataset``)."""

    def __len__(self) -> int: ...

    def draw(self, generator: torch.Generator | None = None,
             index: torch.Tensor | None = None) -> torch.Tensor: ...


def data_device(data: Batches) -> torch.device:
    """Where ``data`` keeps its rows: the device its row indices must be on."""
    images = getattr(data, "images", None)
    return images.device if isinstance(images, torch.Tensor) else torch.device("cpu")


def on_device(data: Batches, device: torch.device) -> Batches:
    """``data.on_device(device)`` where the data has it: an ``ImageDataset`` moves its
    images there once, dSprites renders its batches there."""
    return data.on_device(device) if hasattr(data, "on_device") else data


def metric_value(v: float | torch.Tensor) -> float:
    """A logged metric (a float or a 0-d tensor) as a float."""
    return float(v.detach()) if isinstance(v, torch.Tensor) else float(v)
