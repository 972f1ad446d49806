"""Data parallelism for ``genlab.train.fit`` (``torch.distributed``, launched by
``torchrun``; gloo on the CPU, nccl on CUDA).

Each global batch of $B$ rows is split into $W$ = ``world_size`` contiguous shards; rank
$r$ trains on rows $[rB/W, (r + 1)B/W)$ and ``DistributedDataParallel`` averages the
gradients, which with equal shards is the gradient of the combined batch. The ranks agree
on when to stop (``agree_to_stop``), and rank 0 alone logs and checkpoints.
"""

from __future__ import annotations

import os
from typing import NamedTuple

import torch
import torch.distributed as dist
from torch import nn

from genlab.train.protocol import LossOutput


class DistInfo(NamedTuple):
    """This process's place in a data-parallel run."""

    rank: int
    world_size: int
    active: bool


def dist_info() -> DistInfo:
    """Rank and world size when ``torch.distributed`` is initialised, else ``(0, 1, False)``."""
    if dist.is_available() and dist.is_initialized():
        return DistInfo(dist.get_rank(), dist.get_world_size(), True)
    return DistInfo(0, 1, False)


def init_distributed_from_env(device: torch.device) -> DistInfo:
    """Initialise the process group when launched by ``torchrun`` (``WORLD_SIZE`` > 1)."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return dist_info()


def close_distributed(wait: bool = True) -> None:
    """Destroy the process group, if one is initialised; with ``wait``, first wait for
    every rank (a command that ended well), so no rank exits before rank 0 has saved.

    Called when a command ends, so that the group's threads are shut down in order rather
    than by the interpreter's teardown. A command that failed does not wait: the other
    ranks may never arrive."""
    if dist.is_available() and dist.is_initialized():
        try:
            if wait:
                dist.barrier()
        finally:
            dist.destroy_process_group()


class LossModule(nn.Module):
    """Makes ``model.loss`` the forward pass, so DDP's gradient hooks see it."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, generator: torch.Generator) -> LossOutput:
        return self.model.loss(x, generator)


def loss_module(model: nn.Module, info: DistInfo, device: torch.device) -> nn.Module:
    """``model.loss`` as a module's forward, wrapped in ``DistributedDataParallel`` when
    this process is one rank of a data-parallel run."""
    trained: nn.Module = LossModule(model)
    if info.active:
        from torch.nn.parallel import DistributedDataParallel
        trained = DistributedDataParallel(
            trained, device_ids=[device.index or 0] if device.type == "cuda" else None)
    return trained


def shard(x: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """This rank's contiguous shard of the global batch ``x``: ``(B / W, ...)``."""
    n = len(x)
    return x[info.rank * n // info.world_size:(info.rank + 1) * n // info.world_size]


def mean_over_ranks(value: float, info: DistInfo, device: torch.device) -> float:
    """The mean of ``value`` over the ranks (``value`` itself outside data parallelism)."""
    if not info.active:
        return value
    t = torch.tensor([value], device=device)
    dist.all_reduce(t)
    return float(t) / info.world_size


def agree_to_stop(time_up: bool, interrupted: bool, info: DistInfo,
                  device: torch.device) -> tuple[bool, bool]:
    """``(time is up, interrupted)`` as every rank sees it: the maximum over the ranks, so
    that every rank stops at the same step (a rank that went on alone would wait forever
    for the others' gradients)."""
    if not info.active:
        return time_up, interrupted
    flags = torch.tensor([float(time_up), float(interrupted)], device=device)
    dist.all_reduce(flags, op=dist.ReduceOp.MAX)
    return bool(flags[0].item()), bool(flags[1].item())
