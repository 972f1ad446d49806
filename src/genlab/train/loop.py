"""The training loop, ``fit`` (its contract is in ``genlab.train``)."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from genlab.checkpoints import Interrupt, data_identity, log_interrupted
from genlab.device import native_bf16, resolve_device
from genlab.errors import GenlabError
from genlab.io import make_folder
from genlab.progress import log, progress
from genlab.train.checkpoint import has_checkpoint, load_checkpoint, prepare_run, save_checkpoint
from genlab.train.config import TrainConfig, lr_factor, steps_per_epoch
from genlab.train.distributed import (
    DistInfo,
    agree_to_stop,
    dist_info,
    loss_module,
    mean_over_ranks,
    shard,
)
from genlab.train.metrics import MetricsLog
from genlab.train.optimizer import make_optimizer
from genlab.train.protocol import (
    Batches,
    Trainable,
    data_device,
    metric_value,
    on_device,
)
from genlab.train.seeding import epoch_order, step_generator
from genlab.train.state import LoopState


def _clock() -> float:
    """``time.perf_counter()`` of the ``time`` module as ``genlab.train`` holds it,
    looked up at each call: a test replaces it there to run a time budget out at once."""
    return sys.modules[__package__].time.perf_counter()


@dataclass
class FitResult:
    """What ``fit`` returns."""

    steps: int                                  # optimiser steps taken in total
    epochs: int                                 # epochs completed
    seconds: float                              # wall time of this call
    epoch_seconds: list[float]                  # wall time of each epoch run in this call
    train_loss: list[float]                     # mean training loss per epoch
    val_loss: list[float]                       # validation loss per epoch (if validated)
    best_val: float | None                      # best validation loss
    stopped_early: bool                         # early stopping fired
    resumed_from: int | None                    # step resumed from, or None
    history: list[dict[str, Any]] = field(default_factory=list)  # the metrics lines
    bfloat16: bool = False                      # trained under bfloat16 autocast


@dataclass
class _Run:
    """One call of ``fit``: what stays fixed while the ``LoopState`` advances."""

    model: nn.Module
    trained: nn.Module               # model.loss as forward; DDP-wrapped under data parallel
    opt: torch.optim.Optimizer
    config: TrainConfig
    train: Batches
    val: Batches | None
    data_device: torch.device        # where the training rows are (their indices go there)
    device: torch.device
    dist: DistInfo
    folder: Path | None              # RUN, or None: nothing written
    data_id: dict[str, Any] | None   # what the checkpoint records of the training data
    per_epoch: int                   # optimiser steps per epoch
    resumed_from: int | None
    metrics: MetricsLog
    use_amp: bool
    quiet: bool
    on_epoch: Callable[[int, dict[str, float]], None] | None
    t0: float = 0.0
    epoch_seconds: list[float] = field(default_factory=list)

    @property
    def total_steps(self) -> int:
        return self.per_epoch * self.config.epochs

    @property
    def talks(self) -> bool:
        """Whether this process logs: rank 0, unless quiet."""
        return self.dist.rank == 0 and not self.quiet

    def checkpoint(self, state: LoopState) -> None:
        if self.folder is not None and self.dist.rank == 0:
            save_checkpoint(self.folder, self.model, self.opt, state, self.config, self.data_id)


@torch.no_grad()
def evaluate_loss(model: nn.Module, data: Batches, batch_size: int, device: torch.device,
                  seed: int = 0) -> float:
    """Mean of ``model.loss`` over ``data`` (batch-size weighted) with fixed noise ``seed``."""
    was_training = model.training
    model.eval()
    n = len(data)
    total = 0.0
    for k, start in enumerate(range(0, n, batch_size)):
        idx = torch.arange(start, min(n, start + batch_size))
        gen = step_generator(seed, -2, k, device)
        x = data.draw(gen, idx.to(data_device(data))).to(device)
        total += metric_value(model.loss(x, gen).loss) * len(idx)
    model.train(was_training)
    return total / n


def _check_inputs(model: nn.Module, train: Batches, config: TrainConfig) -> None:
    config.validate()
    if not isinstance(model, Trainable):
        raise GenlabError(f"{type(model).__name__} has no loss(x, generator) method; it "
                          "cannot be trained by genlab.train.fit")
    if len(train) == 0:
        raise GenlabError("the training set is empty")


def _per_epoch(n: int, config: TrainConfig) -> int:
    per_epoch = steps_per_epoch(n, config.batch_size, config.drop_last)
    if per_epoch == 0:
        raise GenlabError(f"batch size {config.batch_size} is larger than the training set "
                          f"({n}) with drop_last")
    return per_epoch


def _resume(folder: Path, model: nn.Module, opt: torch.optim.Optimizer, device: torch.device,
            config: TrainConfig, data_id: dict[str, Any] | None, per_epoch: int,
            talks: bool) -> LoopState:
    """The loop state of ``RUN/checkpoint``, with the model and optimiser restored."""
    state = load_checkpoint(folder, model, opt, device, config, data_id)
    if state.epoch > config.epochs or state.epoch_step > per_epoch:
        raise GenlabError(f"checkpoint in {folder} is at epoch {state.epoch}, step "
                          f"{state.epoch_step}, past this run's {config.epochs} epochs of "
                          f"{per_epoch} steps; the file is damaged")
    if talks:
        log(f"resuming from step {state.step} (epoch {state.epoch + 1}, "
            f"step {state.epoch_step} of it)")
    return state


def _start(model: nn.Module, train: Batches, config: TrainConfig, val: Batches | None,
           run: str | os.PathLike[str] | None, resume: bool,
           device: torch.device | str | None,
           on_epoch: Callable[[int, dict[str, float]], None] | None, quiet: bool,
           overwrite: bool) -> tuple[_Run, LoopState]:
    """Check the inputs, open the run folder and resume from its checkpoint where asked."""
    _check_inputs(model, train, config)
    device = resolve_device(next(model.parameters()).device if device is None else device)
    model.to(device)
    info = dist_info()
    if config.batch_size % info.world_size:
        raise GenlabError(f"batch size {config.batch_size} must be a multiple of the number "
                          f"of processes {info.world_size}")
    is_main = info.rank == 0
    folder = Path(run) if run is not None else None
    resuming = False
    if folder is not None:
        resuming = prepare_run(folder, resume, overwrite) if is_main else resume
        if is_main:
            make_folder(folder)
    data_id = data_identity(train) if folder is not None else None
    train = on_device(train, device)
    val = on_device(val, device) if val is not None else None
    opt = make_optimizer(model, config)
    per_epoch = _per_epoch(len(train), config)
    state, resumed_from = LoopState(), None
    if resuming and has_checkpoint(folder):
        state = _resume(folder, model, opt, device, config, data_id, per_epoch,
                        is_main and not quiet)
        resumed_from = state.step
    metrics = MetricsLog(folder, is_main, resumed_from, config.tensorboard and is_main)
    return _Run(model=model, trained=loss_module(model, info, device), opt=opt,
                config=config, train=train, val=val, data_device=data_device(train),
                device=device, dist=info, folder=folder, data_id=data_id,
                per_epoch=per_epoch, resumed_from=resumed_from, metrics=metrics,
                use_amp=config.amp and native_bf16(device), quiet=quiet,
                on_epoch=on_epoch), state


def _optimizer_step(r: _Run, state: LoopState, out_loss: torch.Tensor) -> float:
    """One optimiser step on ``out_loss``; returns the loss (the mean over the ranks)."""
    value = float(out_loss.detach())  # the step's one wait for an accelerator
    if not math.isfinite(value):
        raise GenlabError(f"the loss became {value} at step {state.step}; "
                          "lower the learning rate or check the data")
    r.opt.zero_grad(set_to_none=True)
    out_loss.backward()
    if r.config.grad_clip is not None:
        nn.utils.clip_grad_norm_(r.model.parameters(), r.config.grad_clip)
    r.opt.step()
    return mean_over_ranks(value, r.dist, r.device)


def _train_step(r: _Run, state: LoopState, order: torch.Tensor, epoch: int, s: int) -> None:
    """Step ``s`` of epoch ``epoch``: draw its batch and noise, take the optimiser step,
    log and checkpoint on schedule."""
    cfg, device = r.config, r.device
    idx = order[s * cfg.batch_size:(s + 1) * cfg.batch_size]
    gen = step_generator(cfg.seed, epoch, s, device)
    x = r.train.draw(gen, idx.to(r.data_device)).to(device)  # (B, D), on every rank
    if r.dist.active:  # contiguous shard of the global batch; own noise per rank
        x = shard(x, r.dist)
        gen = step_generator(cfg.seed, epoch, s * r.dist.world_size + r.dist.rank + 1, device)
    set_progress = getattr(r.model, "set_progress", None)
    if callable(set_progress):
        set_progress(state.step, r.total_steps)
    for g in r.opt.param_groups:
        g["lr"] = cfg.lr * lr_factor(state.step, r.total_steps, cfg)
    with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=r.use_amp):
        out = r.trained(x, gen)
    value = _optimizer_step(r, state, out.loss)
    state.add_batch(s + 1, value, len(idx))
    if state.step % cfg.log_every == 0:
        rec = {"step": state.step, "epoch": epoch + 1, "split": "train",
               "loss": value, "lr": r.opt.param_groups[0]["lr"]}
        rec.update({k: metric_value(v) for k, v in out.metrics.items()})
        r.metrics.write(rec)
    if cfg.checkpoint_every and state.step % cfg.checkpoint_every == 0:
        r.checkpoint(state)


def _must_stop(r: _Run, interrupt: Interrupt) -> tuple[bool, bool]:
    """``(time is up, interrupted)`` before a step, as every rank agrees."""
    cfg = r.config
    up = cfg.max_seconds is not None and _clock() - r.t0 >= cfg.max_seconds
    return agree_to_stop(up, interrupt.requested, r.dist, r.device)


def _end_epoch(r: _Run, state: LoopState, seconds: float) -> None:
    """Validate, log and checkpoint the epoch just completed, then start the next one."""
    epoch = state.epoch
    r.epoch_seconds.append(seconds)
    summary = {"train_loss": state.epoch_train_loss()}
    if r.val is not None:
        v = evaluate_loss(r.model, r.val, r.config.batch_size, r.device, r.config.seed)
        state.add_validation(v, r.model, r.config.min_delta, r.config.patience)
        summary["val_loss"] = v
    r.metrics.write({"step": state.step, "epoch": epoch + 1, "split": "epoch",
                     "seconds": seconds, **summary})
    if r.talks:
        log(f"epoch {epoch + 1}/{r.config.epochs}: "
            + ", ".join(f"{k} {v:.4f}" for k, v in summary.items()) + f" ({seconds:.1f} s)")
    if r.on_epoch is not None:
        r.on_epoch(epoch, summary)
    state.next_epoch()
    r.checkpoint(state)


def _run_epoch(r: _Run, state: LoopState, interrupt: Interrupt) -> bool:
    """Train the rest of the current epoch; False when ``max_steps`` or ``max_seconds``
    stopped it first (a checkpoint is written). Ctrl-C: a checkpoint, then
    ``KeyboardInterrupt``."""
    cfg, epoch = r.config, state.epoch
    te = _clock()
    order = epoch_order(len(r.train), cfg.seed, epoch)
    steps = range(state.epoch_step, r.per_epoch)
    interrupted = False
    for s in progress(steps, total=len(steps), desc=f"epoch {epoch + 1}/{cfg.epochs}",
                      enabled=None if r.talks else False):
        if cfg.max_steps is not None and state.step >= cfg.max_steps:
            break
        if cfg.max_seconds is not None or r.dist.active or interrupt.requested:
            up, interrupted = _must_stop(r, interrupt)
            if up or interrupted:
                break
        _train_step(r, state, order, epoch, s)
    if interrupted:
        r.checkpoint(state)
        r.metrics.close()
        if r.talks:
            log_interrupted(f"step {state.step}", r.folder)
        raise KeyboardInterrupt
    if state.epoch_step < r.per_epoch:  # stopped by max_steps or max_seconds
        r.checkpoint(state)
        return False
    _end_epoch(r, state, _clock() - te)
    return True


def fit(model: nn.Module, train: Batches, config: TrainConfig, val: Batches | None = None,
        run: str | os.PathLike[str] | None = None, resume: bool = False,
        device: torch.device | str | None = None,
        on_epoch: Callable[[int, dict[str, float]], None] | None = None,
        quiet: bool = False, overwrite: bool = False) -> FitResult:
    """Train ``model`` (see ``genlab.train`` for the contract) with Adam(W).

    Args:
        model: an ``nn.Module`` with ``loss(x, generator) -> LossOutput``; moved to
            ``device``. Its parameters end as the last (or, with early stopping, the best)
            weights.
        train: training data; ``train.draw(gen, index)`` gives the ``(B, D)`` batch.
        config: ``TrainConfig``.
        val: validation data for the per-epoch validation loss and early stopping.
        run: folder for ``checkpoint.*`` and ``metrics.jsonl`` (None: nothing written).
        resume: continue from ``RUN/checkpoint`` when it exists; the checkpoint must have
            been written with the same model settings, training settings (other than
            ``RESUMABLE_SETTINGS``) and data, or it is refused.
        device: default: the device of the model's parameters.
        on_epoch: called on every rank as ``on_epoch(epoch, {"train_loss", "val_loss"})``.
        quiet: no log lines.
        overwrite: replace an earlier run in ``RUN`` (see ``prepare_run``); without it
            (or ``resume``) a folder holding one is refused.

    Returns:
        ``FitResult``.

    Ctrl-C stops the run at the next step boundary, writes a checkpoint (with ``run``)
    and raises ``KeyboardInterrupt``; ``resume`` then continues exactly. Nothing of the
    process is changed (threads, allocator, global random generators).
    """
    r, state = _start(model, train, config, val, run, resume, device, on_epoch, quiet,
                      overwrite)
    r.t0 = _clock()
    model.train()
    with Interrupt() as interrupt:
        while state.epoch < config.epochs and not state.stopped:
            if not _run_epoch(r, state, interrupt):
                break
    if state.stopped and r.talks:
        log(f"early stopping: no validation improvement for {config.patience} epochs")
    if state.best is not None and config.patience is not None:
        model.load_state_dict(state.best)
    r.metrics.close()
    return FitResult(steps=state.step, epochs=state.epoch, seconds=_clock() - r.t0,
                     epoch_seconds=r.epoch_seconds, train_loss=list(state.train_loss),
                     val_loss=list(state.val_loss), best_val=state.best_val,
                     stopped_early=bool(state.stopped), resumed_from=r.resumed_from,
                     history=r.metrics.lines, bfloat16=r.use_amp)
