"""Train a preset in one call: ``train_vae`` and ``train_ae``.

Each loads the preset's data, builds its model (weights fixed by the seed through
``genlab.train.seeded_init``), trains it with ``genlab.train.fit`` into a run
folder ``RUN`` (``RUN/model.*``, ``RUN/checkpoint.*``, ``RUN/metrics.jsonl``; see
``genlab.latent.runs``) and returns a typed result. ``genlab vae train`` and
``genlab ae train`` are these functions behind flags.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch

from genlab.data import ImageDataset
from genlab.latent.base import LatentModel
from genlab.latent.evaluate import reconstruction_error
from genlab.latent.presets import Preset
from genlab.latent.runs import check_run_folder, fixed_draw, run_data, train_run
from genlab.memory import check_allocation, forward_bytes, parameter_bytes
from genlab.progress import log
from genlab.results import Result
from genlab.train import seeded_init


@dataclass
class TrainResult(Result):
    """A finished (or stopped, resumable) training run."""

    out: str                        # the run folder
    kind: str                       # the model's kind ("vae", "ae", ...)
    settings: dict[str, Any]        # the preset's table values (Preset.settings())
    config: dict[str, Any]          # the model's config as saved
    steps: int                      # optimiser steps done in total
    epochs: int                     # epochs completed
    seconds: float                  # wall-clock seconds of this call
    epoch_seconds: list[float]      # seconds per epoch
    train_loss: list[float]         # mean training loss per epoch
    val_loss: list[float]           # mean validation loss per epoch (empty without val)
    stopped_early: bool             # early stopping ended the run
    resumed_from: int | None        # the step the run resumed from (None: a fresh run)


@dataclass
class VAETrainResult(TrainResult):
    """``TrainResult`` of a VAE, with its latent family and size."""

    latent_type: str = "gaussian"   # gaussian | categorical | beta
    parameters: int = 0             # trainable numbers in the model


@dataclass
class AETrainResult(TrainResult):
    """``TrainResult`` of an autoencoder, with its test reconstruction error."""

    test_mse: float | None = None   # mean sum_d (x_d - g(f(x))_d)^2 over 2,000 test images
    test_bce: float | None = None   # mean Bernoulli cross-entropy (nats); None: no test split


def check_model_memory(build: Callable[[], torch.nn.Module], what: str,
                       device: torch.device | str) -> None:
    """Refuse a model whose training cannot fit: its parameters about six times over
    (weights, gradients, Adam's two moments, the checkpoint and the saved model), measured
    by building it on the meta device (nothing allocated)."""
    check_allocation(6 * parameter_bytes(build), what, device,
                     "use smaller --hidden/--latent sizes")


def check_decode_memory(model: LatentModel, n: int, what: str,
                        device: torch.device | str) -> None:
    """Refuse decoding ``n`` codes at once when it cannot fit: the decoder's activations
    per image (counted on the meta device) and the images, their CPU copy and the figure."""
    def run(copy: torch.nn.Module) -> None:
        copy.decode_mean(torch.zeros(1, model.latent_dim, device="meta"))

    per_image = forward_bytes(model, run) or 0
    check_allocation(n * (per_image + 24 * model.data_dim), what, device, "use a smaller size")


def _sizes(preset: Preset) -> str:
    table = preset.settings()
    hidden = ",".join(map(str, table["hidden"])) or "none"
    return f"--hidden {hidden} and --latent {table['latent']}"


def _start(preset: Preset, out: str | os.PathLike[str], what: str, resume: bool,
           overwrite: bool, device: torch.device | str, data_dir: str | None,
           build: Callable[[tuple[int, int]], LatentModel] | None
           ) -> tuple[LatentModel, ImageDataset, ImageDataset | None]:
    """Check the run folder, load the data, check the memory and build the model."""
    check_run_folder(out, resume, overwrite)
    data, val = preset.load_data(data_dir)
    if build is None:
        build = preset.model  # seeded by the preset
    else:
        build = _seeded(build, preset.train_config.seed)
    check_model_memory(lambda: build(data.image_shape), f"{what} with {_sizes(preset)}",
                       device)
    return build(data.image_shape), data, val


def _seeded(build: Callable[[tuple[int, int]], LatentModel], seed: int
            ) -> Callable[[tuple[int, int]], LatentModel]:
    def seeded(shape: tuple[int, int]) -> LatentModel:
        with seeded_init(seed):
            return build(shape)
    return seeded


def _fit(model: LatentModel, data: ImageDataset, val: ImageDataset | None, preset: Preset,
         out: str | os.PathLike[str], resume: bool, overwrite: bool,
         device: torch.device | str, data_dir: str | None,
         extra_meta: dict[str, Any] | None) -> dict[str, Any]:
    """Train and return the fields every ``TrainResult`` shares."""
    r = train_run(model.to(device), data, preset.train_config, out, val=val, resume=resume,
                  overwrite=overwrite, device=device, data_dir=data_dir, extra_meta=extra_meta)
    return {"out": str(out), "kind": model.kind, "settings": preset.settings(),
            "config": asdict(model.config), "steps": r.steps, "epochs": r.epochs,
            "seconds": r.seconds, "epoch_seconds": r.epoch_seconds,
            "train_loss": r.train_loss, "val_loss": r.val_loss,
            "stopped_early": r.stopped_early, "resumed_from": r.resumed_from}


def train_vae(preset: Preset, out: str | os.PathLike[str], *, resume: bool = False,
              overwrite: bool = False, device: torch.device | str = "cpu",
              data_dir: str | None = None, latent_type: str = "gaussian",
              build: Callable[[tuple[int, int]], LatentModel] | None = None
              ) -> VAETrainResult:
    """Train the VAE of ``preset`` (``vae_preset``) into ``out``.

    The model is ``preset.model(image_shape)`` (or ``build(image_shape)`` for another
    latent family, built under the same seed), its output bias set to the logit of the
    mean training image, then trained on the ELBO with ``preset.train_config``. ``resume``
    continues a stopped run exactly; ``overwrite`` replaces a finished one.
    """
    model, data, val = _start(preset, out, "a VAE", resume, overwrite, device, data_dir, build)
    if hasattr(model, "init_output_bias") and not resume:
        model.init_output_bias(data.images.mean(0))
    size = sum(p.numel() for p in model.parameters())
    log(f"training a {model.kind} ({latent_type} latents, {size:,} parameters) on "
        f"{len(data)} {preset.data_name} images for {preset.train_config.epochs} epochs")
    fields = _fit(model, data, val, preset, out, resume, overwrite, device, data_dir,
                  {"latent_type": latent_type})
    return VAETrainResult(**fields, latent_type=latent_type, parameters=size)


def train_ae(preset: Preset, out: str | os.PathLike[str], *, resume: bool = False,
             overwrite: bool = False, device: torch.device | str = "cpu",
             data_dir: str | None = None) -> AETrainResult:
    """Train the autoencoder of ``preset`` (``ae_preset``) into
    ``out``; then, for a preset on the training split, measure its reconstruction error on
    2,000 test images binarised once with the seed (``reconstruction_error``)."""
    model, data, val = _start(preset, out, "an autoencoder", resume, overwrite, device,
                              data_dir, None)
    cfg = preset.model_config
    what = "a denoising " if cfg.corrupt else "a stochastic " if cfg.code_noise else "an "
    log(f"training {what}autoencoder ({cfg.arch} {list(cfg.hidden)}, code {cfg.latent}) "
        f"on {len(data)} {preset.data_name} images for {preset.train_config.epochs} epochs")
    fields = _fit(model, data, val, preset, out, resume, overwrite, device, data_dir, None)
    if preset.split != "train":
        return AETrainResult(**fields)
    test = run_data({"data": {"name": preset.data_name, "binarize": preset.binarize,
                              "image_shape": list(data.image_shape)}}, "test", 2000, None,
                    data_dir)
    err = reconstruction_error(model, fixed_draw(test, preset.train_config.seed, device))
    return AETrainResult(**fields, test_mse=err.mse, test_bce=err.bce)
