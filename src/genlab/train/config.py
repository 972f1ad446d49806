"""How to train: ``TrainConfig``, its checks, and what follows from it (steps per
epoch, the learning-rate schedule, the settings a resumed run may change)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from genlab.errors import GenlabError


@dataclass
class TrainConfig:
    r"""How to train (model-independent).

    The learning rate at optimiser step $s$ of a run of $T$ steps is ``lr`` times
    ``lr_factor(s, T, config)``: with $W$ = ``warmup_steps`` and
    $\rho$ = ``lr_min / lr``,

    $$
    f(s) = \begin{cases}
      (s + 1) / W & s < W \text{ (linear warm-up)} \\
      \rho + (1 - \rho)\, \frac{1}{2} \left(1 + \cos(\pi \min(1, t))\right),
        \quad t = \frac{s - W}{\max(1, T - W)} & \text{cosine schedule} \\
      1 & \text{constant schedule}
    \end{cases}
    $$

    Attributes:
        epochs: passes over the training set.
        batch_size: the global batch $B$ (split over the data-parallel ranks).
        lr: peak learning rate of Adam.
        weight_decay: AdamW's decoupled weight decay (0: Adam).
        schedule: ``constant`` or ``cosine`` (decay to ``lr_min`` over the run).
        warmup_steps: linear learning-rate warm-up steps $W$.
        lr_min: final learning rate of the cosine schedule.
        grad_clip: clip the global gradient norm to this (None: off).
        seed: the whole run is a function of this seed.
        checkpoint_every: steps between checkpoints (0: only at epoch ends).
        log_every: steps between training-metric lines.
        patience: early stopping after this many epochs without a validation improvement
            (None: off).
        min_delta: an improvement smaller than this does not count.
        amp: bfloat16 autocast where the device computes bfloat16 natively.
        tensorboard: also write TensorBoard events to ``RUN/tb``.
        max_steps: stop after this many steps (resumable).
        max_seconds: stop, with a checkpoint, once this call has trained this long: a
            wall-clock budget, resumable like ``max_steps``.
        drop_last: drop the last incomplete batch of an epoch.
    """

    epochs: int = 10                 # passes over the training set
    batch_size: int = 128            # global batch (split over DDP ranks)
    lr: float = 1e-3                 # peak learning rate of Adam
    weight_decay: float = 0.0        # AdamW decoupled weight decay
    schedule: str = "constant"       # constant | cosine (decay to lr_min over the run)
    warmup_steps: int = 0            # linear learning-rate warm-up steps
    lr_min: float = 0.0              # final learning rate of the cosine schedule
    grad_clip: float | None = None   # clip the global gradient norm to this (None: off)
    seed: int = 0                    # the whole run is a function of this seed
    checkpoint_every: int = 500      # steps between checkpoints (0: only at epoch ends)
    log_every: int = 50              # steps between training-metric lines
    patience: int | None = None      # early stopping: epochs without val improvement
    min_delta: float = 0.0           # improvement smaller than this does not count
    amp: bool = False                # bfloat16 autocast where the device has native bf16
    tensorboard: bool = False        # also write TensorBoard events to RUN/tb
    max_steps: int | None = None     # stop after this many steps (for tests/interruptions)
    max_seconds: float | None = None  # stop (with a checkpoint) once this call has trained
                                     # this long: a wall-clock budget, resumable like max_steps
    drop_last: bool = False          # drop the last incomplete batch of an epoch

    def validate(self) -> None:
        """Raise ``GenlabError`` for values that cannot train."""
        checks = [(self.epochs >= 1, "epochs must be >= 1"),
                  (self.batch_size >= 1, "batch size must be >= 1"),
                  (math.isfinite(self.lr) and self.lr > 0, "learning rate must be > 0"),
                  (self.schedule in ("constant", "cosine"),
                   "schedule must be constant or cosine"),
                  (self.warmup_steps >= 0, "warmup steps must be >= 0"),
                  (self.checkpoint_every >= 0, "checkpoint_every must be >= 0"),
                  (self.log_every >= 1, "log_every must be >= 1"),
                  (self.patience is None or self.patience >= 1, "patience must be >= 1"),
                  (self.max_seconds is None or self.max_seconds > 0,
                   "max_seconds must be > 0"),
                  (self.grad_clip is None or self.grad_clip > 0, "grad clip must be > 0")]
        for ok, msg in checks:
            if not ok:
                raise GenlabError(msg)


# What a resumed run may change: how long it runs and how it logs, not what it computes
# (and ``epochs``, where no step depends on the run's length: see
# genlab.train.checkpoint.depends_on_length).
RESUMABLE_SETTINGS = ("max_steps", "max_seconds", "checkpoint_every", "log_every",
                      "tensorboard")


def lr_factor(step: int, total: int, cfg: TrainConfig) -> float:
    r"""Learning-rate multiplier $f(s)$ at ``step`` $s$ of ``total`` $T$: linear warm-up,
    then constant or cosine (the formula is in ``TrainConfig``).

    With $W$ = ``warmup_steps`` and $\rho$ = ``lr_min / lr``: $f(s) = (s + 1)/W$ while
    $s < W$; then $1$ (constant) or
    $\rho + (1 - \rho)\,\frac{1}{2}\left(1 + \cos(\pi \min(1, t))\right)$ with
    $t = (s - W) / \max(1, T - W)$ (cosine).
    """
    if cfg.warmup_steps and step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    if cfg.schedule == "cosine":
        t = (step - cfg.warmup_steps) / max(1, total - cfg.warmup_steps)
        floor = cfg.lr_min / cfg.lr
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))
    return 1.0


def steps_per_epoch(n: int, batch_size: int, drop_last: bool = False) -> int:
    r"""Optimiser steps in one epoch of $n$ examples: $\lceil n / B \rceil$, or
    $\lfloor n / B \rfloor$ when the last incomplete batch is dropped."""
    return n // batch_size if drop_last else math.ceil(n / batch_size)


def epochs_for_steps(steps: int, n: int, batch_size: int, drop_last: bool = False) -> int:
    """The fewest epochs (at least 1) that hold ``steps`` optimiser steps, for a run that
    is given ``max_steps=steps``."""
    return max(1, math.ceil(steps / max(1, steps_per_epoch(n, batch_size, drop_last))))
