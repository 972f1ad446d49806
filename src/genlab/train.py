"""The one training loop for every neural model in genlab.

A model trains here when it is an ``nn.Module`` with a method

    ``model.loss(x, generator) -> LossOutput(loss, metrics)``

where ``x`` is a ``(B, D)`` mini-batch on the model's device, ``generator`` is the
``torch.Generator`` (on that device) to draw every random number of the step from
(reparameterisation noise, corruption, Gumbel noise), ``loss`` is the scalar to
minimise (a mean over the batch, so that data-parallel gradient averaging equals the
gradient of the combined batch) and ``metrics`` maps names to floats or 0-d tensors to
log. A model may also define ``set_progress(step, total_steps)`` (called before every
step, e.g. for KL warm-up or capacity schedules), and then ``uses_run_length``: whether
what it does depends on ``total_steps`` (assumed when it is not said), which decides
whether a resumed run may be given more epochs.

What :func:`fit` guarantees:

* **Seeded and resumable.** The order of epoch ``e`` is ``randperm`` under seed
  ``mix(seed, e)`` and the random numbers of step ``s`` of that epoch come from a fresh
  generator seeded ``mix(seed, e, s)``; so the run is a pure function of the seed, and
  resuming at ``(e, s)`` from a checkpoint (weights, optimiser state, scheduler step,
  early-stopping state) continues exactly as if it had never stopped.
* **Checkpoints** ``RUN/checkpoint.safetensors`` + ``.json`` every ``checkpoint_every``
  steps and at the end of each epoch, written atomically by :func:`genlab.io.save_model`.
* **Metrics** as JSON lines in ``RUN/metrics.jsonl`` (one object per logged step and
  per validation), optionally TensorBoard.
* **Early stopping** on the validation loss (mean of ``loss`` over the validation set,
  fixed noise), keeping the best weights.
* **Devices and precision**: any torch device; ``amp`` uses bfloat16 autocast where the
  device computes bfloat16 natively (CUDA; CPUs with AVX512-BF16 or AMX) and is ignored
  elsewhere (:func:`genlab.device.native_bf16`).
  The optimiser is Adam (AdamW with weight decay), in torch's fused form on CPU and CUDA
  (:func:`make_optimizer`).
* **Data parallel** (``torch.distributed``, launched by ``torchrun``; gloo on CPU, nccl on
  CUDA): each global batch of ``batch_size`` rows is split into ``world_size``
  contiguous shards, gradients are averaged by ``DistributedDataParallel``; with equal
  shards this is the gradient of the combined batch. Rank 0 logs and checkpoints.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any, NamedTuple, Protocol, runtime_checkable

import torch
import torch.distributed as dist
from torch import nn

from genlab.checkpoints import (
    Interrupt,
    data_identity,
    log_interrupted,
    prepare_checkpoint,
    refuse_other,
)
from genlab.device import keep_freed_memory, native_bf16, resolve_device
from genlab.errors import GenlabError
from genlab.io import (
    atomic_write_bytes,
    has_model,
    load_model,
    make_folder,
    save_model,
)
from genlab.progress import log, progress
from genlab.validate import check_tensors, config_from_dict

CHECKPOINT_KIND = "genlab-checkpoint"
CHECKPOINT_NAME = "checkpoint"
METRICS_NAME = "metrics.jsonl"


class LossOutput(NamedTuple):
    """What ``model.loss`` returns: the scalar to minimise and named values to log."""

    loss: torch.Tensor
    metrics: dict[str, float | torch.Tensor]


@runtime_checkable
class Trainable(Protocol):
    """The contract of a model trained by :func:`fit` (see the module docstring)."""

    def loss(self, x: torch.Tensor, generator: torch.Generator) -> LossOutput: ...


class Batches(Protocol):
    """A data set :func:`fit` can draw from (e.g. :class:`genlab.data.ImageDataset`)."""

    def __len__(self) -> int: ...

    def draw(self, generator: torch.Generator | None = None,
             index: torch.Tensor | None = None) -> torch.Tensor: ...


@dataclass
class TrainConfig:
    """How to train (model-independent)."""

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
        """Raise :class:`GenlabError` for values that cannot train."""
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


@dataclass
class FitResult:
    """What :func:`fit` returns."""

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
class LoopState:
    """Where a run is: what a checkpoint saves beside the weights, and what resume continues
    from."""

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

    def validate(self) -> None:
        """Raise :class:`GenlabError` for a state no run can be in."""
        if min(self.step, self.epoch, self.epoch_step, self.bad_epochs, self.epoch_count) < 0:
            raise GenlabError("counters must be >= 0")
        if len(self.train_loss) != self.epoch or len(self.val_loss) > self.epoch:
            raise GenlabError("the per-epoch losses do not match the epoch count")


def mix_seed(*parts: int) -> int:
    """A 63-bit seed from integers (splitmix64), so nearby seeds give unrelated streams."""
    h = 0x9E3779B97F4A7C15
    for p in parts:
        h = (h ^ (int(p) & 0xFFFFFFFFFFFFFFFF)) * 0xBF58476D1CE4E5B9 & 0xFFFFFFFFFFFFFFFF
        h ^= h >> 31
        h = (h * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        h ^= h >> 29
    return h & 0x7FFFFFFFFFFFFFFF


@contextlib.contextmanager
def seeded_init(seed: int) -> Iterator[None]:
    """Build modules inside this block for a weight initialisation fixed by ``seed``.

    PyTorch's layer initialisers draw from the global CPU generator; this forks it, so
    the caller's global random state is left as it was.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(mix_seed(seed, -3))
        yield


def step_generator(seed: int, epoch: int, step: int, device: torch.device) -> torch.Generator:
    """The generator for step ``step`` of epoch ``epoch`` (what resume relies on)."""
    return torch.Generator(device=device).manual_seed(mix_seed(seed, epoch, step))


def epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The shuffled row order of epoch ``epoch``: ``(n,)`` int64 on the CPU."""
    return torch.randperm(n, generator=torch.Generator().manual_seed(mix_seed(seed, epoch, -1)))


def lr_factor(step: int, total: int, cfg: TrainConfig) -> float:
    """Learning-rate multiplier at ``step``: linear warm-up, then constant or cosine."""
    if cfg.warmup_steps and step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    if cfg.schedule == "cosine":
        t = (step - cfg.warmup_steps) / max(1, total - cfg.warmup_steps)
        floor = cfg.lr_min / cfg.lr
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))
    return 1.0


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


class _LossModule(nn.Module):
    """Makes ``model.loss`` the forward pass, so DDP's gradient hooks see it."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, generator: torch.Generator) -> LossOutput:
        return self.model.loss(x, generator)


# ----- checkpoints ---------------------------------------------------------------------------

def _optimizer_tensors(opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    sd = opt.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, state in sd["state"].items():
        for key, value in state.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim.{pid}.{key}"] = value
            else:
                scalars.setdefault(str(pid), {})[key] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def _load_optimizer(opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor],
                    meta: dict[str, Any]) -> None:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith("optim."):
            _, pid, key = name.split(".", 2)
            state.setdefault(int(pid), {})[key] = value
    for pid, values in meta["scalars"].items():
        state.setdefault(int(pid), {}).update(values)
    # Everything but the learning rate (set before every step) is fixed by the settings
    # the resume check compared, so saved groups that differ from fresh ones are damaged.
    fresh = json.loads(json.dumps(opt.state_dict()["param_groups"]))
    if len(meta["param_groups"]) != len(fresh) or any(
            {k: v for k, v in g.items() if k != "lr"} != {k: v for k, v in f.items() if k != "lr"}
            for g, f in zip(meta["param_groups"], fresh, strict=True)):
        raise ValueError("the parameter groups are not those of this optimiser")
    opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    # The moments come back row-major; a fused step pairs a weight with its moments by
    # storage order, so a channels-last weight would be updated with another's moments.
    for group in opt.param_groups:
        for p in group["params"]:
            moments = opt.state.get(p, {})
            for key, value in moments.items():
                if (isinstance(value, torch.Tensor) and value.shape == p.shape
                        and value.stride() != p.stride()):
                    moments[key] = torch.empty_like(p, dtype=value.dtype).copy_(value)


def _model_settings(model: nn.Module) -> dict[str, Any] | None:
    """The model's ``config`` dataclass as JSON values (tuples as lists), or None."""
    cfg = getattr(model, "config", None)
    if not is_dataclass(cfg) or isinstance(cfg, type):
        return None
    return json.loads(json.dumps(asdict(cfg), default=str))


# What a resumed run may change: how long it runs and how it logs, not what it computes
# (and ``epochs``, where no step depends on the run's length: see _depends_on_length).
RESUMABLE_SETTINGS = ("max_steps", "max_seconds", "checkpoint_every", "log_every",
                      "tensorboard")


def save_checkpoint(run: Path, model: nn.Module, opt: torch.optim.Optimizer,
                    state: LoopState, best: dict[str, torch.Tensor] | None,
                    config: TrainConfig, data: dict[str, Any] | None = None) -> Path:
    """Write ``RUN/checkpoint`` (weights, optimiser, best weights, loop state, the model's
    settings and the identity of the data) as one unit (:func:`genlab.io.save_model`)."""
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    opt_tensors, opt_meta = _optimizer_tensors(opt)
    tensors.update(opt_tensors)
    if best is not None:
        tensors.update({f"best.{k}": v for k, v in best.items()})
    return save_model(run / CHECKPOINT_NAME, tensors, CHECKPOINT_KIND, asdict(config),
                      {"loop": asdict(state), "optimizer": opt_meta,
                       "model": _model_settings(model), "data": data})


def _load_weights(run: Path, model: nn.Module, tensors: dict[str, torch.Tensor]) -> None:
    weights = {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}
    try:
        model.load_state_dict(weights)
    except RuntimeError as exc:
        raise GenlabError(f"checkpoint in {run} does not fit this model (different "
                          f"architecture?): {str(exc).splitlines()[0]}") from None


def _nan_buffers(model: nn.Module, prefixes: tuple[str, ...]) -> tuple[str, ...]:
    """The checkpoint tensors (``PREFIX.name``) of the model's buffers where NaN means
    "not set yet" (``model.nan_buffers``), which loading must let through."""
    return tuple(f"{prefix}.{name}" for name in getattr(model, "nan_buffers", ())
                 for prefix in prefixes)


def load_checkpoint_weights(run: str | os.PathLike[str], model: nn.Module,
                            device: torch.device | str = "cpu") -> nn.Module:
    """Load only the current weights of ``RUN/checkpoint`` into ``model`` (e.g. to inspect
    a run that has not finished); returns ``model``."""
    tensors, _, _ = load_model(Path(run) / CHECKPOINT_NAME, kind=CHECKPOINT_KIND,
                               device=device, nan_ok=_nan_buffers(model, ("model",)))
    _load_weights(Path(run), model, tensors)
    return model


def _depends_on_length(model: nn.Module, config: TrainConfig | None) -> bool:
    """Whether a run's steps depend on how many epochs it has: through a cosine learning
    rate, or a model whose ``set_progress`` uses the total (see the module docstring).
    Where nothing does, a resumed run may be extended with more epochs."""
    if config is not None and config.schedule != "constant":
        return True
    if not callable(getattr(model, "set_progress", None)):
        return False
    return bool(getattr(model, "uses_run_length", True))


def _check_resume(run: Path, model: nn.Module, config: TrainConfig | None, saved_config: Any,
                  meta: dict[str, Any], data: dict[str, Any] | None) -> None:
    """Refuse to continue a checkpoint under other model settings, training settings or
    data: the result would be neither run."""
    where = f"checkpoint in {run}"
    saved, now = meta.get("model"), _model_settings(model)
    if saved is not None and now is not None:
        refuse_other(where, "written by a model with other settings", saved, now)
    if config is not None:
        skip = RESUMABLE_SETTINGS + (() if _depends_on_length(model, config) else ("epochs",))
        refuse_other(where, "written with other training settings", saved_config,
                     asdict(config), skip)
    if data is not None and meta.get("data") is not None:
        refuse_other(where, "trained on other data", meta["data"], data)


def _check_optimizer(run: Path, opt: torch.optim.Optimizer) -> None:
    """Every loaded moment has its parameter's shape and a finite step count."""
    for group in opt.param_groups:
        for p in group["params"]:
            for key, value in opt.state.get(p, {}).items():
                if isinstance(value, torch.Tensor) and key != "step" and value.shape != p.shape:
                    raise GenlabError(f"checkpoint in {run}: optimiser state {key} has shape "
                                      f"{tuple(value.shape)} for a parameter of shape "
                                      f"{tuple(p.shape)}; the file is damaged")


def load_checkpoint(run: Path, model: nn.Module, opt: torch.optim.Optimizer,
                    device: torch.device, config: TrainConfig | None = None,
                    data: dict[str, Any] | None = None
                    ) -> tuple[LoopState, dict[str, torch.Tensor] | None]:
    """Restore weights and optimiser from ``RUN/checkpoint``; returns (loop state, best).

    Everything is checked before the model is touched. A model whose settings differ from
    those the checkpoint was written with (say another beta or capacity schedule, with the
    same networks), a training ``config`` that differs in anything but
    :data:`RESUMABLE_SETTINGS`, or other ``data`` (see :func:`data_identity`) is refused:
    continuing would mix two runs in one."""
    tensors, saved_config, meta = load_model(run / CHECKPOINT_NAME, kind=CHECKPOINT_KIND,
                                             device=device,
                                             nan_ok=_nan_buffers(model, ("model", "best")))
    where = f"checkpoint in {run}"
    _check_resume(run, model, config, saved_config, meta, data)
    state = config_from_dict(LoopState, meta.get("loop"), f"{where}: loop state")
    best = {k[5:]: v for k, v in tensors.items() if k.startswith("best.")} or None
    if best is not None:
        check_tensors(best, model.state_dict(), f"{where}: best weights")
    _load_weights(run, model, tensors)
    try:
        _load_optimizer(opt, tensors, meta["optimizer"])
    except (KeyError, ValueError, TypeError, IndexError, AttributeError, RuntimeError) as exc:
        raise GenlabError(f"{where}: the optimiser state is damaged ({type(exc).__name__}: "
                          f"{str(exc).splitlines()[0] if str(exc) else ''}); train into a new "
                          "folder") from None
    _check_optimizer(run, opt)
    return state, best


def has_checkpoint(run: str | os.PathLike[str]) -> bool:
    """True when ``RUN/checkpoint`` exists (so ``resume`` has something to continue)."""
    return has_model(Path(run) / CHECKPOINT_NAME)


def prepare_run(run: str | os.PathLike[str], resume: bool = False, overwrite: bool = False,
                outputs: tuple[str | os.PathLike[str], ...] = (), check_only: bool = False
                ) -> bool:
    """Check the run folder ``RUN`` before training into it; returns whether to resume.

    ``outputs`` are further files the caller will write there (e.g. ``RUN/model.*``).
    A folder holding an earlier run (its checkpoint, the weights a checkpoint save keeps
    until it finishes, ``metrics.jsonl``, TensorBoard's ``tb`` folder, or ``outputs``) is
    refused unless ``resume`` or ``overwrite`` (see :func:`prepare_checkpoint`).
    """
    run = Path(run)
    if run.exists() and not run.is_dir():
        raise GenlabError(f"{run} is a file; give a folder for the run")
    return prepare_checkpoint(run / CHECKPOINT_NAME, resume, overwrite,
                              (*outputs, run / METRICS_NAME, run / "tb"), check_only,
                              where=str(run), elsewhere="train into a new folder")


# ----- the loop ------------------------------------------------------------------------------

def _value(v: float | torch.Tensor) -> float:
    return float(v.detach()) if isinstance(v, torch.Tensor) else float(v)


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
        x = data.draw(gen, idx.to(_data_device(data))).to(device)
        total += _value(model.loss(x, gen).loss) * len(idx)
    model.train(was_training)
    return total / n


def _data_device(data: Batches) -> torch.device:
    images = getattr(data, "images", None)
    return images.device if isinstance(images, torch.Tensor) else torch.device("cpu")


def _on_device(data: Batches, device: torch.device) -> Batches:
    """``data.on_device(device)`` where the data has it: an :class:`ImageDataset` moves its
    images there once, dSprites renders its batches there."""
    return data.on_device(device) if hasattr(data, "on_device") else data


def read_metrics(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The records of a ``metrics.jsonl``. A last line cut short (a crash while it was
    appended) is dropped with a warning; a damaged line before it is an error."""
    path = Path(path)
    try:
        lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise GenlabError(f"{path} cannot be read ({exc})") from None
    records = []
    for k, line in enumerate(lines):
        try:
            record = json.loads(line)
            if not isinstance(record, dict) or not isinstance(record.get("step", 0), int):
                raise ValueError("not a metrics record")
        except ValueError:
            if k == len(lines) - 1:
                log(f"genlab: warning: the last line of {path} was cut short (a crash while "
                    "it was written); dropped it")
                break
            raise GenlabError(f"line {k + 1} of {path} is not a metrics record; the file is "
                              "damaged: move it away to resume without it") from None
        records.append(record)
    return records


class _MetricsLog:
    def __init__(self, run: Path | None, enabled: bool, resume_step: int | None,
                 tensorboard: bool) -> None:
        self.path = run / METRICS_NAME if run is not None and enabled else None
        self.lines: list[dict[str, Any]] = []
        self.writer = None
        if self.path is not None:
            old: list[str] = []
            if resume_step is not None and self.path.is_file():
                # keep only what happened up to the checkpoint: the rest is redone
                old = [json.dumps(r) for r in read_metrics(self.path)
                       if r.get("step", 0) <= resume_step]
            atomic_write_bytes(self.path, "".join(ln + "\n" for ln in old).encode())
            if tensorboard:
                try:
                    from torch.utils.tensorboard import SummaryWriter
                except ImportError:
                    raise GenlabError("TensorBoard logging needs the tensorboard package "
                                      "(pip install tensorboard); or leave it off") from None
                self.writer = SummaryWriter(str(run / "tb"))

    def write(self, record: dict[str, Any]) -> None:
        self.lines.append(record)
        if self.path is not None:
            with open(self.path, "a") as fh:
                fh.write(json.dumps(record) + "\n")
        if self.writer is not None:
            for k, v in record.items():
                if isinstance(v, float) and k not in ("step", "epoch"):
                    self.writer.add_scalar(f"{record.get('split', 'train')}/{k}", v,
                                           record["step"])

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _must_stop(t0: float, max_seconds: float | None, interrupt: Interrupt, active: bool,
               device: torch.device) -> tuple[bool, bool]:
    """``(time is up, interrupted)`` before a step: ``max_seconds`` have passed since
    ``t0``, or Ctrl-C was pressed. Under data parallelism the ranks agree (a maximum over
    them), so that every rank stops at the same step: a rank that went on alone would wait
    forever for the others' gradients."""
    up = max_seconds is not None and time.perf_counter() - t0 >= max_seconds
    stop = interrupt.requested
    if active:
        flags = torch.tensor([float(up), float(stop)], device=device)
        dist.all_reduce(flags, op=dist.ReduceOp.MAX)
        up, stop = bool(flags[0].item()), bool(flags[1].item())
    return up, stop


def steps_per_epoch(n: int, batch_size: int, drop_last: bool = False) -> int:
    """Optimiser steps in one epoch of ``n`` examples: ``ceil(n / B)``, or ``floor(n / B)``
    when the last incomplete batch is dropped."""
    return n // batch_size if drop_last else math.ceil(n / batch_size)


def epochs_for_steps(steps: int, n: int, batch_size: int, drop_last: bool = False) -> int:
    """The fewest epochs (at least 1) that hold ``steps`` optimiser steps, for a run that
    is given ``max_steps=steps``."""
    return max(1, math.ceil(steps / max(1, steps_per_epoch(n, batch_size, drop_last))))


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """Adam, or AdamW with ``config.weight_decay``; the fused kernel where torch has one.

    The fused update does the same arithmetic as the default multi-tensor one in a single
    pass over each parameter; on a CPU it takes about an eighth of the time (the default
    Adam step was a quarter of a VAE training step), so it is used for floating-point
    parameters on CPU and CUDA, and the default everywhere else.
    """
    params = list(model.parameters())
    fused = bool(params) and all(p.device.type in ("cpu", "cuda") and p.is_floating_point()
                                 for p in params)
    fused_or_default = True if fused else None   # None: torch's own choice
    if config.weight_decay:
        return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay,
                                 fused=fused_or_default)
    return torch.optim.Adam(params, lr=config.lr, fused=fused_or_default)


def fit(model: nn.Module, train: Batches, config: TrainConfig, val: Batches | None = None,
        run: str | os.PathLike[str] | None = None, resume: bool = False,
        device: torch.device | str | None = None,
        on_epoch: Callable[[int, dict[str, float]], None] | None = None,
        quiet: bool = False, overwrite: bool = False) -> FitResult:
    """Train ``model`` (see the module docstring for the contract) with Adam(W).

    Args:
        model: an ``nn.Module`` with ``loss(x, generator) -> LossOutput``; moved to
            ``device``. Its parameters end as the last (or, with early stopping, the best)
            weights.
        train: training data; ``train.draw(gen, index)`` gives the ``(B, D)`` batch.
        config: :class:`TrainConfig`.
        val: validation data for the per-epoch validation loss and early stopping.
        run: folder for ``checkpoint.*`` and ``metrics.jsonl`` (None: nothing written).
        resume: continue from ``RUN/checkpoint`` when it exists; the checkpoint must have
            been written with the same model settings, training settings (other than
            :data:`RESUMABLE_SETTINGS`) and data, or it is refused.
        device: default: the device of the model's parameters.
        on_epoch: called on every rank as ``on_epoch(epoch, {"train_loss", "val_loss"})``.
        quiet: no log lines.
        overwrite: replace an earlier run in ``RUN`` (see :func:`prepare_run`); without it
            (or ``resume``) a folder holding one is refused.

    Returns:
        :class:`FitResult`.

    Ctrl-C stops the run at the next step boundary, writes a checkpoint (with ``run``)
    and raises ``KeyboardInterrupt``; ``resume`` then continues exactly.
    """
    config.validate()
    if not isinstance(model, Trainable):
        raise GenlabError(f"{type(model).__name__} has no loss(x, generator) method; it "
                          "cannot be trained by genlab.train.fit")
    if len(train) == 0:
        raise GenlabError("the training set is empty")
    if device is None:
        device = next(model.parameters()).device
    device = resolve_device(device)
    if device.type == "cpu":
        keep_freed_memory()
    model.to(device)
    rank, world, active = dist_info()
    if config.batch_size % world:
        raise GenlabError(f"batch size {config.batch_size} must be a multiple of the number "
                          f"of processes {world}")
    is_main = rank == 0
    run_dir = Path(run) if run is not None else None
    resuming = False
    if run_dir is not None:
        resuming = prepare_run(run_dir, resume, overwrite) if is_main else resume
        if is_main:
            make_folder(run_dir)
    data_id = data_identity(train) if run_dir is not None else None
    train = _on_device(train, device)
    if val is not None:
        val = _on_device(val, device)

    opt = make_optimizer(model, config)
    n = len(train)
    per_epoch = steps_per_epoch(n, config.batch_size, config.drop_last)
    if per_epoch == 0:
        raise GenlabError(f"batch size {config.batch_size} is larger than the training set "
                          f"({n}) with drop_last")
    total_steps = per_epoch * config.epochs

    loop = LoopState()
    best: dict[str, torch.Tensor] | None = None
    resumed_from = None
    if resuming and has_checkpoint(run_dir):
        loop, best = load_checkpoint(run_dir, model, opt, device, config, data_id)
        if loop.epoch > config.epochs or loop.epoch_step > per_epoch:
            raise GenlabError(f"checkpoint in {run_dir} is at epoch {loop.epoch}, step "
                              f"{loop.epoch_step}, past this run's {config.epochs} epochs of "
                              f"{per_epoch} steps; the file is damaged")
        resumed_from = loop.step
        if not quiet and is_main:
            log(f"resuming from step {loop.step} (epoch {loop.epoch + 1}, "
                f"step {loop.epoch_step} of it)")
    metrics = _MetricsLog(run_dir, is_main, resumed_from, config.tensorboard and is_main)

    trained = _LossModule(model)
    if active:
        from torch.nn.parallel import DistributedDataParallel
        trained = DistributedDataParallel(
            trained, device_ids=[device.index or 0] if device.type == "cuda" else None)
    use_amp = config.amp and native_bf16(device)
    set_progress = getattr(model, "set_progress", None)
    data_device = _data_device(train)
    t0 = time.perf_counter()
    epoch_seconds: list[float] = []

    def checkpoint() -> None:
        if run_dir is not None and is_main:
            save_checkpoint(run_dir, model, opt, loop, best, config, data_id)

    model.train()
    with Interrupt() as interrupt:
        while loop.epoch < config.epochs and not loop.stopped:
            epoch = loop.epoch
            te = time.perf_counter()
            order = epoch_order(n, config.seed, epoch)
            steps = range(loop.epoch_step, per_epoch)
            interrupted = False
            for s in progress(steps, total=len(steps),
                              desc=f"epoch {epoch + 1}/{config.epochs}",
                              enabled=None if is_main and not quiet else False):
                if config.max_steps is not None and loop.step >= config.max_steps:
                    break
                if config.max_seconds is not None or active or interrupt.requested:
                    up, interrupted = _must_stop(t0, config.max_seconds, interrupt, active,
                                                 device)
                    if up or interrupted:
                        break
                idx = order[s * config.batch_size:(s + 1) * config.batch_size]
                gen = step_generator(config.seed, epoch, s, device)
                x = train.draw(gen, idx.to(data_device)).to(device)  # (B, D), on every rank
                if active:  # contiguous shard of the global batch; own noise per rank
                    x = x[rank * len(idx) // world:(rank + 1) * len(idx) // world]
                    gen = step_generator(config.seed, epoch, s * world + rank + 1, device)
                if callable(set_progress):
                    set_progress(loop.step, total_steps)
                for g in opt.param_groups:
                    g["lr"] = config.lr * lr_factor(loop.step, total_steps, config)
                with torch.autocast(device_type=device.type, dtype=torch.bfloat16,
                                    enabled=use_amp):
                    out = trained(x, gen)
                loss = out.loss
                value = float(loss.detach())  # the step's one wait for an accelerator
                if not math.isfinite(value):
                    raise GenlabError(f"the loss became {value} at step {loop.step}; "
                                      "lower the learning rate or check the data")
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if config.grad_clip is not None:
                    nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
                opt.step()
                if active:
                    t = torch.tensor([value], device=device)
                    dist.all_reduce(t)
                    value = float(t) / world
                loop.step += 1
                loop.epoch_step = s + 1
                loop.epoch_loss_sum += value * len(idx)
                loop.epoch_count += len(idx)
                if loop.step % config.log_every == 0:
                    rec = {"step": loop.step, "epoch": epoch + 1, "split": "train",
                           "loss": value, "lr": opt.param_groups[0]["lr"]}
                    rec.update({k: _value(v) for k, v in out.metrics.items()})
                    metrics.write(rec)
                if config.checkpoint_every and loop.step % config.checkpoint_every == 0:
                    checkpoint()
            if interrupted:
                checkpoint()
                metrics.close()
                if not quiet and is_main:
                    log_interrupted(f"step {loop.step}", run_dir)
                raise KeyboardInterrupt
            if loop.epoch_step < per_epoch:  # stopped by max_steps or max_seconds
                checkpoint()
                break
            epoch_seconds.append(time.perf_counter() - te)
            train_loss = loop.epoch_loss_sum / max(1, loop.epoch_count)
            loop.train_loss.append(train_loss)
            summary = {"train_loss": train_loss}
            if val is not None:
                v = evaluate_loss(model, val, config.batch_size, device, config.seed)
                loop.val_loss.append(v)
                summary["val_loss"] = v
                if loop.best_val is None or v < loop.best_val - config.min_delta:
                    loop.best_val = v
                    loop.bad_epochs = 0
                    best = {k: t.detach().clone() for k, t in model.state_dict().items()}
                else:
                    loop.bad_epochs += 1
                    if config.patience is not None and loop.bad_epochs >= config.patience:
                        loop.stopped = True
            metrics.write({"step": loop.step, "epoch": epoch + 1, "split": "epoch",
                           "seconds": epoch_seconds[-1], **summary})
            if not quiet and is_main:
                log(f"epoch {epoch + 1}/{config.epochs}: " + ", ".join(
                    f"{k} {v:.4f}" for k, v in summary.items())
                    + f" ({epoch_seconds[-1]:.1f} s)")
            if on_epoch is not None:
                on_epoch(epoch, summary)
            loop.epoch += 1
            loop.epoch_step = 0
            loop.epoch_loss_sum = 0.0
            loop.epoch_count = 0
            checkpoint()
    if loop.stopped and not quiet and is_main:
        log(f"early stopping: no validation improvement for {config.patience} epochs")
    if best is not None and config.patience is not None:
        model.load_state_dict(best)
    metrics.close()
    return FitResult(steps=loop.step, epochs=loop.epoch,
                     seconds=time.perf_counter() - t0, epoch_seconds=epoch_seconds,
                     train_loss=list(loop.train_loss), val_loss=list(loop.val_loss),
                     best_val=loop.best_val, stopped_early=bool(loop.stopped),
                     resumed_from=resumed_from, history=metrics.lines,
                     bfloat16=use_amp)
