"""The tour's beta-VAE step."""

from __future__ import annotations

from typing import Any

from genlab.tour.cli_steps import Command, cli_step
from genlab.tour.runner import Step, TourContext
from genlab.tour.sections.common import _q


def _betavae(ctx: TourContext) -> list[Command]:
    s = str(ctx.seed)
    cmds = []
    for beta in (1, 4):
        cmds += [Command(["disentangle", "train", "--beta", str(beta), "--steps",
                          _q(ctx, 40, 600), "--batch-size", "32", "--limit",
                          _q(ctx, 4096, 16384), "--out", f"{{out}}/runs/beta{beta}", "--overwrite",
                          "--seed", s]),
                 Command(["vae", "traverse", f"{{out}}/runs/beta{beta}", "--steps", "8",
                          "--out", f"{{out}}/betavae_traverse_beta{beta}.png", "--seed", s],
                         [(f"betavae_traverse_beta{beta}.png",
                           f"beta = {beta}: each latent from -3 to +3, sorted by KL")]),
                 Command(["disentangle", "eval", f"{{out}}/runs/beta{beta}", "--metrics", "mig",
                          "--fraction", _q(ctx, 0.02, 0.1), "--seed", s])]
    return cmds


def _betavae_numbers(results: list[dict]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for beta, ev in ((1, results[2]), (4, results[5])):
        metrics = ev.get("metrics", ev)
        mig = metrics.get("mig")
        out[f"MIG, beta = {beta}"] = mig.get("score") if isinstance(mig, dict) else mig
    out["training steps each"] = results[0].get("steps")
    return out


STEP = Step("betavae", "beta-VAE on dSprites",
            "E_q[log p(x|z)] - beta KL(q(z|x) || p(z))",
            cli_step(_betavae, _betavae_numbers,
                     "The same convolutional VAE trained with beta = 1 and beta = 4 on "
                     "procedurally generated dSprites; latent traversals and the mutual "
                     "information gap. (A short CPU budget: disentanglement needs far more "
                     "training; see benchmarks/RESULTS.md.)"))
