"""Beta-VAEs on dSprites as tasks: train one (or a stack of seeds), score a trained one's
disentanglement, read out what its latents follow. Each returns a typed
``Result``; ``genlab disentangle train|eval|axes`` print its
``to_dict``, and the tour reads its fields.

    from genlab.latent.betavae_runs import train_dsprites_betavae, evaluate_betavae_run
    trained = train_dsprites_betavae("runs/b4", BetaVAEConfig(beta=4.0), steps=20_000)
    evaluate_betavae_run("runs/b4", metrics=("mig",)).scores.mig.score
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from genlab.data.dsprites import FACTOR_NAMES, FACTOR_SIZES, DSpritesData, split_indices
from genlab.errors import GenlabError
from genlab.io import read_header, to_jsonable
from genlab.latent.base import VariationalModel, load_latent_model
from genlab.latent.betavae import BetaVAE, BetaVAEConfig
from genlab.latent.runs import check_run_folder
from genlab.latent.stacked import BetaVAESeeds, train_betavae_seeds
from genlab.memory import check_allocation, parameter_bytes
from genlab.metrics.axes import FactorAxes, describe, factor_axes
from genlab.metrics.dsprites_eval import (
    METRICS,
    DSpritesScores,
    SampleSizes,
    check_metrics,
    evaluate_dsprites,
)
from genlab.metrics.ground_truth import dsprites_code_function
from genlab.progress import log
from genlab.results import Result
from genlab.train import (
    CHECKPOINT_KIND,
    CHECKPOINT_NAME,
    TrainConfig,
    epochs_for_steps,
    has_checkpoint,
)

AXES_FACTORS = ("scale", "pos_x", "pos_y")  # dSprites' ordered factors
AXES_PLANE = ("pos_x", "pos_y")


def load_dsprites_model(run: str | os.PathLike[str], device: torch.device | str = "cpu"
                        ) -> VariationalModel:
    """The VAE saved in ``run`` (a run folder or model path) in eval mode, checked to be a
    VAE of dSprites' 64x64 images."""
    model, _ = load_latent_model(run, device=device)
    if not isinstance(model, VariationalModel):
        raise GenlabError(f"{run} holds a {model.kind!r} model; this needs a VAE or beta-VAE")
    if model.image_shape != (64, 64):
        raise GenlabError(f"{run} was trained on {model.image_shape[0]}x"
                          f"{model.image_shape[1]} images; this needs a dSprites model (64x64)")
    return model.eval()


def check_resumed_stack(run: str | os.PathLike[str], seeds: Sequence[int] | None) -> None:
    """Refuse to resume a stack of models as one model, one model as a stack, or a stack
    under other seeds (each model is saved as ``RUN/seed{S}``: another list would name one
    model's weights after another seed), saying which flags continue the run. ``seeds``
    None: one model."""
    if not has_checkpoint(run):
        return  # nothing to continue: the run starts afresh
    saved = read_header(Path(run) / CHECKPOINT_NAME, CHECKPOINT_KIND)["meta"].get("model")
    if not isinstance(saved, dict):
        return
    if "models" not in saved:
        if seeds is not None:
            raise GenlabError(f"{run} holds the run of one model, not a stack; resume it "
                              "without --seeds (with --seed for its seed)")
        return
    before = saved.get("seeds")
    listed = " ".join(map(str, before)) if isinstance(before, list) else None
    again = f"resume it with --seeds {listed}" if listed else "train into a new folder"
    if seeds is None:
        raise GenlabError(f"{run} holds a stack of {len(saved['models'])} models"
                          + (f" (seeds {listed})" if listed else "") + f"; {again}")
    if before != list(seeds):
        raise GenlabError(f"{run} holds the stack of "
                          + (f"seeds {listed}" if listed else "an earlier version's seeds")
                          + f", not of --seeds {' '.join(map(str, seeds))}; {again}")


# ----- train ----------------------------------------------------------------------------------

@dataclass
class DSpritesTraining(Result):
    """What ``train_dsprites_betavae`` returns."""

    out: Path                  # the run folder
    config: BetaVAEConfig      # every model's settings
    batch_size: int            # images per step of each model
    trained: BetaVAESeeds      # the models, their seeds and the training run

    @property
    def models(self) -> list[BetaVAE]:
        """The trained models, one per seed."""
        return self.trained.models

    @property
    def steps(self) -> int:
        """Optimiser steps taken in total (resumed ones included)."""
        return self.trained.fit.steps

    @property
    def images_per_second(self) -> float:
        """Images of all models trained per wall second (over the steps of the run)."""
        k = len(self.trained.seeds)
        return self.steps * self.batch_size * k / max(self.trained.seconds, 1e-9)

    def to_dict(self) -> dict[str, Any]:
        fit = self.trained.fit
        out: dict[str, Any] = {
            "out": str(self.out), "kind": BetaVAE.kind, "config": asdict(self.config),
            "steps": fit.steps, "seconds": fit.seconds,
            "images_per_second": self.images_per_second, "train_loss": fit.train_loss,
            "last": next((h for h in reversed(fit.history) if "loss" in h), {}),
            "bfloat16": fit.bfloat16,
            "parameters": sum(p.numel() for p in self.models[0].parameters())}
        if self.trained.stacked:
            out["models"] = [str(f) for f in self.trained.folders]
        return to_jsonable(out)


def _check_training(out: Path, config: BetaVAEConfig, seeds: Sequence[int] | None,
                    resume: bool, overwrite: bool, device: torch.device | str) -> list[int]:
    """Refuse, before any work, what ``train_dsprites_betavae`` cannot do."""
    check_run_folder(out, resume, overwrite)
    listed = [] if seeds is None else list(seeds)
    if len(set(listed)) < len(listed) or (seeds is not None and not listed):
        raise GenlabError(f"--seeds must be different seeds, got {' '.join(map(str, listed))}")
    if resume:
        check_resumed_stack(out, seeds)
    config.validate()
    k = max(1, len(listed))
    check_allocation(6 * k * parameter_bytes(lambda: BetaVAE(config)),
                     f"{k} beta-VAE(s) with --latent {config.latent}", device,
                     "use fewer latents")
    return listed


def train_dsprites_betavae(out: str | os.PathLike[str], config: BetaVAEConfig | None = None, *,
                           seed: int = 0, seeds: Sequence[int] | None = None,
                           steps: int = 20_000, batch_size: int = 64, lr: float = 5e-4,
                           limit: int | None = None, checkpoint_every: int = 1000,
                           amp: bool = True, time_limit: float | None = None,
                           resume: bool = False, overwrite: bool = False,
                           device: torch.device | str = "cpu") -> DSpritesTraining:
    """Train the beta-VAE ``config`` on dSprites' train split (its first ``limit`` images),
    rendered batch by batch, for ``steps`` Adam steps of ``batch_size`` images at ``lr``,
    into the run folder ``out`` (``OUT/model``).

    With ``seeds``, one model per seed trains at once as one stack, each on its own
    ``batch_size`` images per step, saved as ``OUT/seed{S}/model``
    (``train_betavae_seeds``); else one model of ``seed``.
    ``time_limit`` stops after that many seconds (with a checkpoint; ``resume`` goes on).
    """
    out, config = Path(out), config or BetaVAEConfig()
    listed = _check_training(out, config, seeds, resume, overwrite, device)
    run_seeds = listed or [seed]
    rows = split_indices("train")
    data = DSpritesData(rows if limit is None else rows[:limit])
    k = len(run_seeds)
    train_config = TrainConfig(
        epochs=epochs_for_steps(steps, len(data), batch_size * k), batch_size=batch_size * k,
        lr=lr, seed=run_seeds[0], checkpoint_every=checkpoint_every, amp=amp,
        max_steps=steps, max_seconds=time_limit, log_every=max(1, min(200, steps // 10)))
    what = (f"capacity C_max={config.capacity_max} gamma={config.gamma}"
            if config.capacity_max > 0 else f"beta={config.beta}")
    log(f"training {f'{k} beta-VAEs (seeds {listed}) as one stack' if listed else 'a beta-VAE'}"
        f" ({what}, latent {config.latent}) on {len(data)} dSprites images for {steps} "
        f"steps of {batch_size} on {device}")
    trained = train_betavae_seeds(config, data, run_seeds, train_config, out,
                                  stack=bool(listed), resume=resume, overwrite=overwrite,
                                  device=device, extra_meta={"latent_type": "beta"})
    return DSpritesTraining(out, config, batch_size, trained)


# ----- eval and axes --------------------------------------------------------------------------

@dataclass
class DSpritesEvaluation(Result):
    """What ``evaluate_betavae_run`` returns: the run's scores and its model's settings."""

    run: str
    config: dict[str, Any] | None   # the model's config (None for a model without one)
    scores: DSpritesScores

    def to_dict(self) -> dict[str, Any]:
        return {**self.scores.to_dict(), "run": self.run, "config": to_jsonable(self.config)}


def evaluate_betavae_run(run: str | os.PathLike[str], metrics: Sequence[str] = METRICS,
                         fraction: float = 1.0, seed: int = 0,
                         device: torch.device | str = "cpu",
                         sizes: SampleSizes | None = None) -> DSpritesEvaluation:
    r"""The disentanglement scores ``metrics``
    (``genlab.metrics.dsprites_eval.evaluate_dsprites``) of the dSprites VAE saved in
    ``run``, on the posterior means $\mu(x)$, with ``fraction`` of the papers' sample sizes
    (or the given ``sizes``) and factors drawn under ``seed``; each metric draws its own
    factors from ``seed``, so a metric scores the same whichever others are asked."""
    metrics = check_metrics(metrics)
    model = load_dsprites_model(run, device)
    if sizes is None:
        sizes = SampleSizes().scaled(fraction)
        log(f"scoring {run} on {', '.join(metrics)} (fraction {fraction} of the papers' "
            "sample sizes)")
    else:
        log(f"scoring {run} on {', '.join(metrics)}")
    scores = evaluate_dsprites(model.encode, device, seed, sizes, metrics)
    config = getattr(model, "config", None)
    return DSpritesEvaluation(str(run), config and asdict(config), scores)


@dataclass
class DSpritesAxes(Result):
    """What ``betavae_run_axes`` returns: the run and its latents' read-outs."""

    run: str
    axes: FactorAxes

    def lines(self) -> list[str]:
        """A head line and one line per live latent (``genlab.metrics.axes.describe``)."""
        head = (f"{len(self.axes.latents)} latents with sd >= {self.axes.min_sd} on "
                f"{self.axes.n_samples} codes; coefficients per factor sd")
        return [head, *map(describe, self.axes.latents)]

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable({"run": self.run, **asdict(self.axes)})


def betavae_run_axes(run: str | os.PathLike[str], n_samples: int = 10_000,
                     min_sd: float = 0.05, seed: int = 0,
                     device: torch.device | str = "cpu") -> DSpritesAxes:
    """Which of scale, x and y each latent of ``run``'s dSprites VAE follows: the
    least-squares read-out (``genlab.metrics.axes.factor_axes``) of every latent with
    code sd >= ``min_sd`` on ``n_samples`` codes of factors drawn under ``seed``, with its
    direction in the x-y plane."""
    model = load_dsprites_model(run, device)
    axes = factor_axes(dsprites_code_function(model.encode, device), FACTOR_SIZES,
                       FACTOR_NAMES, AXES_FACTORS, AXES_PLANE, seed=seed,
                       n_samples=n_samples, min_sd=min_sd)
    return DSpritesAxes(str(run), axes)
