"""Where a run is: ``LoopState``, what ``genlab.train.fit`` advances step by step
and what a checkpoint saves beside the weights and the optimiser."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import torch
from torch import nn

from genlab.errors import GenlabError
from genlab.validate import config_from_dict


@dataclass
class LoopState:
    """Where a run is: what a checkpoint saves beside the weights, and what resume continues
    from. Every field but ``best`` is saved as JSON (``counters``); ``best`` as the
    checkpoint's ``best.*`` tensors."""

    step: int = 0                    # optimiser steps taken in total
    epoch: int = 0                   # epochs completed
    epoch_step: int = 0              # steps taken in the current epoch
    best_val: float | None = None    # best validation loss so far
    bad_epochs: int = 0              # epochs since it improved
    stopped: bool = False            # early stopping fired
    train_loss: list[float] = field(default_factory=list)  # mean loss of each epoch
    val_loss: list[float] = field(default_factory=list)    # validation loss of each epoch
    epoch_loss_sum: float = 0.0      # sum of batch-size weighted losses this epoch
    epoch_count: int = 0             # rows seen this epoch
    best: dict[str, torch.Tensor] | None = field(default=None, repr=False, compare=False)
    # the weights of the best validation loss (state-dict names), or None

    def validate(self) -> None:
        """Raise ``GenlabError`` for a state no run can be in."""
        if min(self.step, self.epoch, self.epoch_step, self.bad_epochs, self.epoch_count) < 0:
            raise GenlabError("counters must be >= 0")
        if len(self.train_loss) != self.epoch or len(self.val_loss) > self.epoch:
            raise GenlabError("the per-epoch losses do not match the epoch count")

    def counters(self) -> dict[str, Any]:
        """Every field but ``best``, as JSON values (what a checkpoint's ``loop`` holds)."""
        return {f.name: list(v) if isinstance(v := getattr(self, f.name), list) else v
                for f in fields(self) if f.name != "best"}

    @classmethod
    def from_counters(cls, values: Any, where: str) -> LoopState:
        """The state whose ``counters`` are ``values`` (checked; ``best`` None)."""
        if isinstance(values, Mapping) and "best" in values:
            raise GenlabError(f"{where} has unknown fields ['best']; was it saved by a newer "
                              "genlab?")
        return config_from_dict(cls, values, where)

    def add_batch(self, epoch_step: int, loss: float, rows: int) -> None:
        """Count one optimiser step: step ``epoch_step - 1`` of this epoch, of ``rows`` rows
        with mean loss ``loss``."""
        self.step += 1
        self.epoch_step = epoch_step
        self.epoch_loss_sum += loss * rows
        self.epoch_count += rows

    def epoch_train_loss(self) -> float:
        """The mean training loss of this epoch's rows, appended to ``train_loss``."""
        loss = self.epoch_loss_sum / max(1, self.epoch_count)
        self.train_loss.append(loss)
        return loss

    def add_validation(self, loss: float, model: nn.Module, min_delta: float,
                       patience: int | None) -> None:
        """Record this epoch's validation loss; keep ``model``'s weights when it improves
        on the best by more than ``min_delta``; stop after ``patience`` epochs without."""
        self.val_loss.append(loss)
        if self.best_val is None or loss < self.best_val - min_delta:
            self.best_val = loss
            self.bad_epochs = 0
            self.best = {k: t.detach().clone() for k, t in model.state_dict().items()}
        else:
            self.bad_epochs += 1
            if patience is not None and self.bad_epochs >= patience:
                self.stopped = True

    def next_epoch(self) -> None:
        """The current epoch is complete: start the next one."""
        self.epoch += 1
        self.epoch_step = 0
        self.epoch_loss_sum = 0.0
        self.epoch_count = 0
