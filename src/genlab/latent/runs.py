"""Training runs of latent models: a folder ``RUN`` holding the model and its history.

``RUN/model.safetensors`` + ``RUN/model.json`` (weights, config, and in ``meta`` the data
set, binarisation, training configuration and results), ``RUN/checkpoint.*`` (for
``--resume``) and ``RUN/metrics.jsonl``. ``train_run`` is what ``genlab ae train``
and ``genlab vae train`` call; ``run_data`` reloads the data a run was trained on.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from genlab.data import ImageDataset, load_dataset
from genlab.data.datasets import is_builtin
from genlab.data.transforms import BINARIZE_MODES
from genlab.errors import GenlabError
from genlab.io import model_files
from genlab.latent.base import LatentModel
from genlab.train import FitResult, TrainConfig, fit, init_distributed_from_env, prepare_run
from genlab.validate import setting

MODEL_NAME = "model"


def split_validation(data: ImageDataset, n_val: int) -> tuple[ImageDataset, ImageDataset | None]:
    """Hold out the last ``n_val`` images of ``data`` for validation."""
    if n_val <= 0:
        return data, None
    if n_val >= len(data):
        raise GenlabError(f"--val {n_val} leaves no training images (the split has "
                          f"{len(data)}); use a smaller --val")
    cut = len(data) - n_val

    def part(sl: slice) -> ImageDataset:
        labels = None if data.labels is None else data.labels[sl]
        return data.with_options(images=data.images[sl], labels=labels)

    return part(slice(0, cut)), part(slice(cut, None))


def data_meta(data: ImageDataset, data_dir: str | None) -> dict[str, Any]:
    """What ``run_data`` needs to reload a run's data set."""
    return {"name": data.name, "binarize": data.binarize, "data_dir": data_dir,
            "image_shape": list(data.image_shape)}


def run_outputs(run: str | os.PathLike[str]) -> tuple[Path, ...]:
    """The saved models in ``RUN`` that a new training would replace: ``RUN/model.*`` and
    ``RUN/seed*/model.*`` (one per model of a stack)."""
    run = Path(run)
    folders = [run, *sorted(p for p in run.glob("seed*") if p.is_dir())] if run.is_dir() else []
    return tuple(f for folder in folders for f in model_files(folder / MODEL_NAME))


def check_run_folder(run: str | os.PathLike[str], resume: bool, overwrite: bool) -> None:
    """Refuse, before any work, a run folder that ``train_run`` would refuse."""
    prepare_run(run, resume, overwrite, run_outputs(run), check_only=True)


def train_run(model: LatentModel, data: ImageDataset, config: TrainConfig,
              run: str | os.PathLike[str], val: ImageDataset | None = None,
              resume: bool = False, device: torch.device | str = "cpu",
              data_dir: str | None = None, extra_meta: dict[str, Any] | None = None,
              save: Callable[[Path, dict[str, Any]], None] | None = None,
              overwrite: bool = False, outputs: tuple[Path, ...] | None = None) -> FitResult:
    """Train ``model`` with ``genlab.train.fit`` and save it as ``RUN/model``, or with
    ``save(RUN, meta)`` where given (e.g. each model of a stack in a folder of its own).

    A folder that already holds a run (its checkpoint, metrics or ``outputs``, by default
    ``run_outputs``) is refused unless ``resume`` continues it or ``overwrite`` replaces
    it (``genlab.train.prepare_run``).

    Under ``torchrun`` (``WORLD_SIZE`` > 1) the process group is set up from the
    environment and the run is data parallel; rank 0 saves.
    """
    run = Path(run)
    rank = init_distributed_from_env(torch.device(device)).rank
    if outputs is None:
        outputs = run_outputs(run)
    if rank == 0:
        prepare_run(run, resume, overwrite, outputs)
    result = fit(model, data, config, val=val, run=run, resume=resume, device=device,
                 overwrite=overwrite)
    meta = {"data": data_meta(data, data_dir), "train": asdict(config),
            "fit": {"steps": result.steps, "epochs": result.epochs,
                    "train_loss": result.train_loss, "val_loss": result.val_loss,
                    "epoch_seconds": result.epoch_seconds, "stopped_early": result.stopped_early},
            **(extra_meta or {})}
    if rank == 0:
        if save is None:
            model.save(run / MODEL_NAME, meta)
        else:
            save(run, meta)
    return result


def run_data(meta: dict[str, Any], split: str = "test", limit: int | None = None,
             data: str | None = None, data_dir: str | None = None) -> ImageDataset:
    """The data set a run was trained on (or ``data`` instead), split ``split``.

    A model file never chooses which files genlab reads: the data set it records is
    used only when it is a built-in one (``digits``, ``mnist5k``, ``fashion-mnist``,
    ``dsprites``), looked up where the user says (``data_dir``, ``$GENLAB_DATA``), never
    in a folder the file names; a model trained on a file needs ``data`` from the user.
    """
    where = "the model's record of its data"
    info = meta.get("data")
    info = info if isinstance(info, dict) else {}
    recorded = info.get("name")
    if data is None:
        if not isinstance(recorded, str) or not (is_builtin(recorded) or recorded == "dsprites"):
            what = f"on {recorded!r}" if isinstance(recorded, str) else "on data it does not name"
            raise GenlabError(f"the model was trained {what}, not a built-in data set; pass "
                              "the data with --data NAME (a model file does not choose which "
                              "files genlab reads)")
        data = recorded
    binarize = setting(info, "binarize", str, where, default="none", choices=BINARIZE_MODES)
    ds = load_dataset(data, split=split, binarize=binarize, limit=limit, data_dir=data_dir)
    shape = setting(info, "image_shape", tuple[int, int], where, default=ds.image_shape, low=1)
    if ds.image_shape != shape:
        raise GenlabError(f"{data} has {ds.image_shape[0]}x{ds.image_shape[1]} images but the "
                          f"model was trained on {shape[0]}x{shape[1]}")
    return ds


def fixed_draw(data: ImageDataset, seed: int, device: torch.device | str = "cpu"
               ) -> torch.Tensor:
    """``(n, D)`` images binarised once with ``seed`` (a fixed test set for evaluation)."""
    return data.draw(torch.Generator().manual_seed(seed)).to(device)
