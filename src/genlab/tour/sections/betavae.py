"""The tour's beta-VAE step: beta = 1 and beta = 4 on dSprites, their latent traversals and
MIG, through the library functions that ``genlab disentangle train|eval`` and ``genlab vae
traverse`` call."""

from __future__ import annotations

import shlex
from pathlib import Path

import torch

from genlab.data import load_dataset
from genlab.latent.betavae import BetaVAE, BetaVAEConfig, kl_split
from genlab.latent.betavae_runs import evaluate_betavae_run, train_dsprites_betavae
from genlab.latent.traverse import traversal_figure
from genlab.tour.runner import Step, StepOutput, TourContext

BETAS = (1, 4)
TRAVERSE_STEPS = 8     # values per latent in the traversal figure
N_KL = 1000            # test images the latents are sorted by KL on (vae traverse's default)


def _commands(ctx: TourContext, beta: int, steps: int, limit: int, fraction: float) -> list[str]:
    """The ``genlab`` command lines that reproduce one beta's training, figure and score
    (paths relative to the report folder)."""
    s, dev, run = str(ctx.seed), ctx.device.type, f"runs/beta{beta}"
    argvs = [["disentangle", "train", "--beta", str(beta), "--steps", str(steps),
              "--batch-size", "32", "--limit", str(limit), "--out", run, "--overwrite",
              "--seed", s, "--device", dev],
             ["vae", "traverse", run, "--steps", str(TRAVERSE_STEPS), "--out",
              f"betavae_traverse_beta{beta}.png", "--seed", s, "--device", dev],
             ["disentangle", "eval", run, "--metrics", "mig", "--fraction", str(fraction),
              "--seed", s, "--device", dev]]
    return ["genlab " + shlex.join(a) for a in argvs]


def _traverse(model: BetaVAE, run: Path, out: Path, seed: int, device: torch.device) -> None:
    """What ``genlab vae traverse RUN`` draws: each latent from -3 to +3 around test image 0,
    rows sorted by their KL (information + mismatch) on the first N_KL test images."""
    data = load_dataset("dsprites", split="test", limit=N_KL)
    x = data.draw(torch.Generator().manual_seed(seed)).to(device)
    split = kl_split(model, x)
    traversal_figure(model, x, out, title=f"{run}: latent traversals around test image 0 "
                                          "(rows sorted by KL)",
                     index=0, low=-3.0, high=3.0, steps=TRAVERSE_STEPS,
                     kl=split.information + split.mismatch)


def run(ctx: TourContext) -> StepOutput:
    steps, limit, fraction = (40, 4096, 0.02) if ctx.quick else (600, 16384, 0.1)
    figures, numbers, lines = [], {}, []
    trained_steps = None
    for beta in BETAS:
        folder = ctx.out / "runs" / f"beta{beta}"
        trained = train_dsprites_betavae(folder, BetaVAEConfig(beta=float(beta)),
                                         seed=ctx.seed, steps=steps, batch_size=32,
                                         limit=limit, overwrite=True, device=ctx.device)
        trained_steps = trained_steps if trained_steps is not None else trained.steps
        name = f"betavae_traverse_beta{beta}.png"
        _traverse(trained.models[0], folder, ctx.file(name), ctx.seed, ctx.device)
        figures.append((name, f"beta = {beta}: each latent from -3 to +3, sorted by KL"))
        scores = evaluate_betavae_run(folder, ("mig",), fraction, ctx.seed, ctx.device).scores
        numbers[f"MIG, beta = {beta}"] = scores.mig.score
        lines += _commands(ctx, beta, steps, limit, fraction)
    numbers["training steps each"] = trained_steps
    return StepOutput(figures=figures, numbers=numbers, command="\n$ ".join(lines),
                      summary="The same convolutional VAE trained with beta = 1 and beta = 4 on "
                              "procedurally generated dSprites; latent traversals and the "
                              "mutual information gap. (A short CPU budget: disentanglement "
                              "needs far more training; see benchmarks/RESULTS.md.)")


STEP = Step("betavae", "beta-VAE on dSprites",
            "E_q[log p(x|z)] - beta KL(q(z|x) || p(z))", run)
