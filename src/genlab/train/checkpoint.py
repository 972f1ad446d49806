"""The checkpoint of a run, ``RUN/checkpoint.safetensors`` + ``.json``: the weights, the
optimiser's state, the ``LoopState`` (its best weights as ``best.*``), the model's and
the training's settings and the identity of the data, saved as one unit by
``genlab.io.save_model``. Resuming checks it was written by the same run
(``genlab.checkpoints.refuse_other``)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from genlab.checkpoints import prepare_checkpoint, refuse_other
from genlab.errors import GenlabError
from genlab.io import has_model, load_model, save_model
from genlab.train.config import RESUMABLE_SETTINGS, TrainConfig
from genlab.train.metrics import METRICS_NAME
from genlab.train.optimizer import check_optimizer, load_optimizer, optimizer_tensors
from genlab.train.state import LoopState
from genlab.validate import check_tensors

CHECKPOINT_KIND = "genlab-checkpoint"
CHECKPOINT_NAME = "checkpoint"


def model_settings(model: nn.Module) -> dict[str, Any] | None:
    """The model's ``config`` dataclass as JSON values (tuples as lists), or None."""
    cfg = getattr(model, "config", None)
    if not is_dataclass(cfg) or isinstance(cfg, type):
        return None
    return json.loads(json.dumps(asdict(cfg), default=str))


def save_checkpoint(run: Path, model: nn.Module, opt: torch.optim.Optimizer,
                    state: LoopState, config: TrainConfig,
                    data: dict[str, Any] | None = None) -> Path:
    """Write ``RUN/checkpoint`` (weights, optimiser, the loop state with its best weights,
    the model's settings and the identity of the data) as one unit
    (``genlab.io.save_model``)."""
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    opt_tensors, opt_meta = optimizer_tensors(opt)
    tensors.update(opt_tensors)
    if state.best is not None:
        tensors.update({f"best.{k}": v for k, v in state.best.items()})
    return save_model(run / CHECKPOINT_NAME, tensors, CHECKPOINT_KIND, asdict(config),
                      {"loop": state.counters(), "optimizer": opt_meta,
                       "model": model_settings(model), "data": data})


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


def depends_on_length(model: nn.Module, config: TrainConfig | None) -> bool:
    """Whether a run's steps depend on how many epochs it has: through a cosine learning
    rate, or a model whose ``set_progress`` uses the total (see ``genlab.train``).
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
    saved, now = meta.get("model"), model_settings(model)
    if saved is not None and now is not None:
        refuse_other(where, "written by a model with other settings", saved, now)
    if config is not None:
        skip = RESUMABLE_SETTINGS + (() if depends_on_length(model, config) else ("epochs",))
        refuse_other(where, "written with other training settings", saved_config,
                     asdict(config), skip)
    if data is not None and meta.get("data") is not None:
        refuse_other(where, "trained on other data", meta["data"], data)


def load_checkpoint(run: Path, model: nn.Module, opt: torch.optim.Optimizer,
                    device: torch.device, config: TrainConfig | None = None,
                    data: dict[str, Any] | None = None) -> LoopState:
    """Restore weights and optimiser from ``RUN/checkpoint``; returns the loop state (with
    its best weights).

    Everything is checked before the model is touched. A model whose settings differ from
    those the checkpoint was written with (say another beta or capacity schedule, with the
    same networks), a training ``config`` that differs in anything but
    ``RESUMABLE_SETTINGS``, or other ``data`` (see ``data_identity``) is refused:
    continuing would mix two runs in one."""
    tensors, saved_config, meta = load_model(run / CHECKPOINT_NAME, kind=CHECKPOINT_KIND,
                                             device=device,
                                             nan_ok=_nan_buffers(model, ("model", "best")))
    where = f"checkpoint in {run}"
    _check_resume(run, model, config, saved_config, meta, data)
    state = LoopState.from_counters(meta.get("loop"), f"{where}: loop state")
    best = {k[5:]: v for k, v in tensors.items() if k.startswith("best.")} or None
    if best is not None:
        check_tensors(best, model.state_dict(), f"{where}: best weights")
    state.best = best
    _load_weights(run, model, tensors)
    try:
        load_optimizer(opt, tensors, meta["optimizer"])
    except (KeyError, ValueError, TypeError, IndexError, AttributeError, RuntimeError) as exc:
        raise GenlabError(f"{where}: the optimiser state is damaged ({type(exc).__name__}: "
                          f"{str(exc).splitlines()[0] if str(exc) else ''}); train into a new "
                          "folder") from None
    check_optimizer(run, opt)
    return state


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
    refused unless ``resume`` or ``overwrite`` (see ``prepare_checkpoint``).
    """
    run = Path(run)
    if run.exists() and not run.is_dir():
        raise GenlabError(f"{run} is a file; give a folder for the run")
    return prepare_checkpoint(run / CHECKPOINT_NAME, resume, overwrite,
                              (*outputs, run / METRICS_NAME, run / "tb"), check_only,
                              where=str(run), elsewhere="train into a new folder")
