"""Which way does each live latent of a trained beta-VAE point in (scale, x, y)?

For each run folder (a ``bench_betavae.py --runs`` checkpoint or a ``genlab disentangle
train`` run), encode 3,000 test images, regress each live latent's posterior mean
(sd > 0.05 over the images) linearly on the standardised factors (scale, x, y) and print
its coefficients, the angle of its (x, y) part (0 = the x axis, +-90 = the y axis) and the
R^2 of the fit (:func:`genlab.metrics.axes.linear_axes`; ``genlab disentangle axes``
does the same on uniformly sampled factors), by decreasing sd. A disentangled code has
latents at 0 or +-90 degrees with high R^2.
With ``--traverse PREFIX`` it also draws each run's latent traversal, as
``bench_betavae.py`` does for seed 0 (first test image, latents sorted by their KL on the
first 2,000 test images), into ``PREFIX{run folder name}.png``.
Each run also gets one line of every latent's KL on the same test images split into the
information it carries about the image and the mismatch of its aggregate posterior with
N(0, 1) (:func:`genlab.latent.betavae.kl_split`): a latent with KL but no information
tells the decoder nothing. With ``--scores VOTES`` it also scores MIG and the FactorVAE
score as ``bench_betavae.py --votes VOTES`` does (the same metric seeds), for instance on
the snapshots that ``bench_betavae.py --snapshots`` keeps along a run.

    PYTHONPATH=src python benchmarks/betavae_axes.py RUNS/beta4_seed0 RUNS/beta1_seed0
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from genlab.data.dsprites import DSpritesData, images, index_to_factors, split_indices
from genlab.io import has_model, model_paths
from genlab.latent.base import LatentModel, load_latent_model
from genlab.latent.betavae import BetaVAE, BetaVAEConfig, kl_split
from genlab.latent.runs import MODEL_NAME
from genlab.latent.traverse import traversal_figure
from genlab.metrics.axes import describe, linear_axes
from genlab.metrics.dsprites_eval import evaluate_dsprites
from genlab.train import CHECKPOINT_NAME, has_checkpoint, load_checkpoint_weights


def load(run: Path) -> LatentModel:
    """The trained model of ``run``: ``model.*`` when saved, else the training checkpoint
    (whose networks are the default :class:`BetaVAEConfig`'s)."""
    if has_model(run / MODEL_NAME):
        return load_latent_model(run)[0]
    return load_checkpoint_weights(run, BetaVAE(BetaVAEConfig()))


def traverse(model: LatentModel, run: Path, test: torch.Tensor, out: Path) -> None:
    """``run``'s traversal figure around ``test[0]``, latents sorted by their KL on ``test``,
    titled with the folder name and, for a training checkpoint, the steps it trained."""
    title = run.name
    if has_checkpoint(run):
        meta = json.loads(model_paths(run / CHECKPOINT_NAME)[1].read_text())
        title += (f": {meta['meta']['loop']['step']} steps of "
                  f"{meta['config']['batch_size']}")
    traversal_figure(model, test, out, title=title)
    print(f"  traversal: {out}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--n", type=int, default=3000, help="test images")
    ap.add_argument("--traverse", metavar="PREFIX",
                    help="also write each run's traversal to PREFIX{run folder name}.png")
    ap.add_argument("--scores", type=int, metavar="VOTES",
                    help="also score MIG and FactorVAE as bench_betavae.py --votes VOTES")
    args = ap.parse_args()
    idx = torch.from_numpy(split_indices("test")[: args.n].copy())
    factors = index_to_factors(idx).double()
    x = images(idx).reshape(len(idx), -1).float()
    f = factors[:, [1, 3, 4]]                          # scale, x, y
    # the benchmark's figures: the first 2,000 test images, rendered once for every run
    test = (DSpritesData(split_indices("test")).draw(index=torch.arange(2000))
            if args.traverse else None)
    if args.scores:
        from bench_betavae import sample_sizes  # beside this script
        sizes = sample_sizes(args.scores)
    for run in args.runs:
        model = load(run).eval()
        with torch.no_grad():
            mu = model.encode(x).double()
        print(run)
        for ax in linear_axes(mu, f, ("scale", "x", "y"), ("x", "y")):
            print("  " + describe(ax))
        split = kl_split(model, x)
        print(f"  KL {float((split.information + split.mismatch).sum()):.2f} nats = "
              f"information {float(split.information.sum()):.2f} + mismatch "
              f"{float(split.mismatch.sum()):.2f}; per latent (information/mismatch): "
              + ", ".join(f"z{j} {a:.2f}/{b:.2f}" for j, (a, b) in
                  enumerate(zip(split.information.tolist(), split.mismatch.tolist(),
                                     strict=True))))
        if args.scores:
            scores = evaluate_dsprites(model.encode, "cpu", seed=0, sizes=sizes,
                                       metrics=("mig", "factorvae"))
            print(f"  MIG {scores.mig.score:.3f} (per factor "
                  + ", ".join(f"{v:.3f}" for v in scores.mig.per_factor)
                  + f"), FactorVAE {scores.factorvae.score:.3f}")
        if args.traverse:
            traverse(model, run, test, Path(f"{args.traverse}{run.name}.png"))


if __name__ == "__main__":
    main()
