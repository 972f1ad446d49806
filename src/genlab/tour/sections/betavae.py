"""The tour's beta-VAE step: beta = 1 and beta = 4 on dSprites, their latent traversals (rows
named and sorted by the factor each latent informs most) and MIG, through the library
functions that ``genlab disentangle train|eval`` and ``genlab vae traverse`` call."""

from __future__ import annotations

import shlex

from genlab.latent.betavae import BetaVAEConfig
from genlab.latent.betavae_runs import evaluate_betavae_run, train_dsprites_betavae
from genlab.latent.tasks import traverse_latents
from genlab.tour.runner import Step, StepOutput, TourContext

BETAS = (1, 4)
TRAVERSE_STEPS = 8     # values per latent in the traversal figure
QUICK_FACTOR_SAMPLES = 2000  # images behind the latents' factor names in --quick (else 10,000)


def _factor_samples(ctx: TourContext) -> int | None:
    """dSprites images for each latent's mutual information with the factors (None: vae
    traverse's default, the MIG's 10,000)."""
    return QUICK_FACTOR_SAMPLES if ctx.quick else None


def _commands(ctx: TourContext, beta: int, steps: int, limit: int, fraction: float) -> list[str]:
    """The ``genlab`` command lines that reproduce one beta's training, figure and score
    (paths relative to the report folder)."""
    s, dev, run = str(ctx.seed), ctx.device.type, f"runs/beta{beta}"
    argvs = [["disentangle", "train", "--beta", str(beta), "--steps", str(steps),
              "--batch-size", "32", "--limit", str(limit), "--out", run, "--overwrite",
              "--seed", s, "--device", dev],
             ["vae", "traverse", run, "--steps", str(TRAVERSE_STEPS), "--out",
              f"betavae_traverse_beta{beta}.png", "--seed", s, "--device", dev]
             + (["--factor-samples", str(n)] if (n := _factor_samples(ctx)) else []),
             ["disentangle", "eval", run, "--metrics", "mig", "--fraction", str(fraction),
              "--seed", s, "--device", dev]]
    return ["genlab " + shlex.join(a) for a in argvs]


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
        traverse_latents(folder, ctx.file(name), steps=TRAVERSE_STEPS, seed=ctx.seed,
                         device=ctx.device, factor_samples=_factor_samples(ctx))
        figures.append((name, f"beta = {beta}: each latent from -3 to +3, rows named and "
                              "sorted by the factor it informs most"))
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
