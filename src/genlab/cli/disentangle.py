"""``genlab disentangle``: train beta-VAEs on dSprites and score their disentanglement;
also adds ``genlab vae traverse`` (latent traversals) and ``genlab vae train --latent-type
beta`` (a beta-VAE on any data set of 64x64-like images held in memory) to the ``vae``
group."""

from __future__ import annotations

import argparse

from genlab.cli.common import (
    add_command,
    add_group,
    add_threads,
    emit,
    existing_dir,
    input_name,
    nonneg_float,
    nonneg_int,
    output_dir,
    output_file,
    positive_float,
    positive_int,
    probability,
    seed_int,
)
from genlab.cli.vae import LatentType, register_latent_type
from genlab.device import resolve_device
from genlab.errors import GenlabError
from genlab.latent import LatentModel
from genlab.latent.betavae import BetaVAE, BetaVAEConfig
from genlab.latent.betavae_runs import (
    betavae_run_axes,
    evaluate_betavae_run,
    train_dsprites_betavae,
)
from genlab.latent.tasks import DEFAULT_FACTOR_SAMPLES, ROW_ORDERS, traverse_latents
from genlab.metrics.dsprites_eval import METRICS, check_metrics


def _beta_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("beta-VAE (--latent-type beta)")
    # None: not given (vae train refuses these flags for other latent types)
    g.add_argument("--beta", type=nonneg_float, default=None,
                   help="weight of the KL term (if not given: 4; 1 is the plain VAE)")
    g.add_argument("--capacity", type=nonneg_float, default=None,
                   help="C_max in nats: > 0 trains -(recon) + gamma |KL - C| (if not given: "
                        "0, off)")
    g.add_argument("--capacity-steps", type=positive_int, default=None,
                   help="steps for C to reach C_max (if not given: 100000)")
    g.add_argument("--gamma", type=positive_float, default=None,
                   help="weight of |KL - C| (if not given: 1000)")


def _build_beta(args: argparse.Namespace, image_shape: tuple[int, int]) -> LatentModel:
    """``vae train --latent-type beta``: the literature's conv beta-VAE on the data set."""
    explicit = getattr(args, "explicit", set())
    if args.likelihood != "bernoulli":
        raise GenlabError("the beta-VAE has a Bernoulli decoder; use --binarize bernoulli "
                          "or threshold and --likelihood bernoulli")
    unused = sorted(k for k in ("arch", "channels", "kl_warmup", "iw_train", "activation")
                    if k in explicit)
    if unused:
        raise GenlabError(f"--{unused[0].replace('_', '-')} does not apply to --latent-type "
                          "beta (the literature's fixed conv networks and objective)")
    if "hidden" in explicit and len(args.hidden) != 1:
        raise GenlabError("--hidden for the beta-VAE is one width (its two FC layers)")
    given = {"latent": args.latent if "latent" in explicit else None, "beta": args.beta,
             "capacity_max": args.capacity, "capacity_steps": args.capacity_steps,
             "gamma": args.gamma, "hidden": args.hidden[0] if "hidden" in explicit else None}
    # the flags not given take BetaVAEConfig's defaults; vae train builds it under --seed
    return BetaVAE(BetaVAEConfig(image_shape=image_shape,
                                 **{k: v for k, v in given.items() if v is not None}))


register_latent_type(LatentType(
    "beta", "Gaussian latents with the KL weighted by beta (or a capacity |KL - C|), the "
    "literature's 64x64 conv networks", _build_beta, _beta_arguments))


def cmd_train(args: argparse.Namespace) -> None:
    config = BetaVAEConfig(latent=args.latent, beta=args.beta, capacity_max=args.capacity,
                           capacity_steps=args.capacity_steps, gamma=args.gamma)
    result = train_dsprites_betavae(
        args.out, config, seed=args.seed, seeds=args.seeds, steps=args.steps,
        batch_size=args.batch_size, lr=args.lr, limit=args.limit,
        checkpoint_every=args.checkpoint_every, amp=args.amp, time_limit=args.time_limit,
        resume=args.resume, overwrite=args.overwrite, device=resolve_device(args.device))
    emit(args, result, lambda r: f"trained {r['steps']} steps in {r['seconds']:.1f} s "
         f"({r['images_per_second']:.0f} images/s); saved " + (
             ", ".join(f"{m}/model" for m in r["models"]) if "models" in r
             else f"{r['out']}/model"))


def metric_list(text: str) -> tuple[str, ...]:
    """argparse type: comma-separated metric names (``mig,factorvae``)."""
    try:
        return check_metrics(m.strip() for m in text.split(",") if m.strip())
    except GenlabError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_eval(args: argparse.Namespace) -> None:
    result = evaluate_betavae_run(args.run, args.metrics, args.fraction, args.seed,
                                  resolve_device(args.device))
    emit(args, result, lambda r: "\n".join(
        f"{m:<10} {r[m]['score']:.3f}  ({r[m]['seconds']:.0f} s)" for m in args.metrics))


def cmd_axes(args: argparse.Namespace) -> None:
    result = betavae_run_axes(args.run, args.n, args.min_sd, args.seed,
                              resolve_device(args.device))
    emit(args, result, "\n".join(result.lines()))


def cmd_traverse(args: argparse.Namespace) -> None:
    result = traverse_latents(args.run, args.out, index=args.index, steps=args.steps,
                              span=args.span, n_kl=args.n_kl, seed=args.seed, data=args.data,
                              data_dir=args.data_dir, device=resolve_device(args.device),
                              order=args.order, factor_samples=args.factor_samples)
    text = (f"saved the traversal of {len(result.order)} latents to {result.out}; KL "
            f"{sum(result.kl):.2f} nats = information {sum(result.information):.2f} + "
            f"aggregate-posterior mismatch {sum(result.mismatch):.2f}")
    if result.factor is not None:
        text += (f"\nrows (factor each latent informs most, normalised MI on "
                 f"{result.factor_samples} images; nothing below {result.mi_threshold:.3f}):\n"
                 + "\n".join(f"  {label}" for label in result.row_labels()))
    emit(args, result, text)


def add_vae_commands(sub: argparse._SubParsersAction) -> None:
    """``genlab vae traverse`` (called by :mod:`genlab.cli.vae` for its extensions)."""
    p = add_command(sub, "traverse", cmd_traverse,
                    "vary each latent from -3 to +3 around a seed image, one row per latent; "
                    "on dSprites each row is named by the factor its latent informs most "
                    "(the MIG's normalised mutual information) and rows are sorted by "
                    "factor; reports each latent's KL as information + aggregate-posterior "
                    "mismatch",
                    examples="genlab vae traverse runs/beta4 --out traverse.png\n"
                             "genlab vae traverse runs/beta4 --index 7 --steps 8 --json\n"
                             "genlab vae traverse runs/beta4 --order kl --factor-samples 2000")
    p.add_argument("run", metavar="RUN", type=input_name,
                   help="run folder (from train --out) or model path")
    p.add_argument("--out", type=output_file, default="traverse.png",
                   help="PNG file")
    p.add_argument("--index", type=nonneg_int, default=0,
                   help="which test image seeds the traversal")
    p.add_argument("--steps", type=positive_int, default=10,
                   help="values per latent")
    p.add_argument("--span", type=positive_float, default=3.0,
                   help="each latent goes from -span to +span")
    p.add_argument("--n-kl", type=positive_int, default=1000,
                   help="test images used to sort the latents by KL")
    p.add_argument("--order", choices=ROW_ORDERS, default=None,
                   help="rows by the factor each latent informs most (x, y, scale, shape, "
                        "orientation, then latents informing none by KL) or by KL, largest "
                        "first (if not given: factor for dSprites models, kl otherwise)")
    p.add_argument("--factor-samples", type=positive_int, default=None, metavar="N",
                   help="dSprites images of uniform factors (drawn with --seed) for the "
                        "mutual information between latents and factors (if not given: "
                        f"{DEFAULT_FACTOR_SAMPLES:,}, the MIG's; dSprites models only)")
    p.add_argument("--data", type=input_name, default=None,
                   help="use this data set instead of the run's own")
    p.add_argument("--data-dir", type=existing_dir, default=None,
                   help="folder holding data files")


def register(subparsers: argparse._SubParsersAction) -> None:
    sub = add_group(subparsers, "disentangle",
                    "beta-VAEs on dSprites and the BetaVAE, FactorVAE and MIG scores")
    p = add_command(sub, "train", cmd_train, "train a beta-VAE (or capacity-annealed VAE) "
                    "on dSprites, rendered batch by batch",
                    examples="genlab disentangle train --beta 4 --steps 20000 --out runs/b4\n"
                             "genlab disentangle train --beta 1 --out runs/vae\n"
                             "genlab disentangle train --capacity 25 --capacity-steps 100000 "
                             "--steps 150000 --out runs/cap --device cuda\n"
                             "genlab disentangle train --beta 4 --limit 20000 --steps 500 "
                             "--out runs/quick --json\n"
                             "genlab disentangle train --beta 4 --seeds 0 1 2 3 --steps 300000 "
                             "--lr 1e-4 --device cuda --out runs/b4  # runs/b4/seed0 ...")
    p.add_argument("--out", type=output_dir, required=True,
                   help="run folder: model.*, checkpoint.*, metrics.jsonl")
    p.add_argument("--beta", type=nonneg_float, default=4.0,
                   help="weight of the KL term (1 is the plain VAE)")
    p.add_argument("--capacity", type=nonneg_float, default=0.0,
                   help="C_max in nats: > 0 trains -(recon) + gamma |KL - C| instead, "
                        "C rising linearly from 0 (0: off)")
    p.add_argument("--capacity-steps", type=positive_int, default=100_000,
                   help="steps for C to reach C_max")
    p.add_argument("--gamma", type=positive_float, default=1000.0,
                   help="weight of |KL - C| (1000: Burgess et al.; in 38,400-step runs 1000 "
                        "left the KL without information and 100 trained)")
    p.add_argument("--latent", type=positive_int, default=10, help="latents")
    p.add_argument("--steps", type=positive_int, default=20_000,
                   help="optimiser steps")
    p.add_argument("--batch-size", type=positive_int, default=64,
                   help="images per step")
    p.add_argument("--lr", type=positive_float, default=5e-4,
                   help="Adam learning rate")
    add_threads(p, "runs at one thread each side by side use two cores best")
    p.add_argument("--limit", type=positive_int, default=None,
                   help="train on the first N images of the shuffled train split "
                        "(if not given: all 614,400)")
    p.add_argument("--checkpoint-every", type=nonneg_int, default=1000,
                   help="steps between checkpoints")
    p.add_argument("--resume", action="store_true", help="continue from RUN/checkpoint")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the run already in RUN (its checkpoint, metrics and models)")
    p.add_argument("--amp", action=argparse.BooleanOptionalAction, default=True,
                   help="bfloat16 autocast where the device has native bfloat16 (about "
                        "1.4x faster on a CPU with AVX512-BF16; ignored elsewhere)")
    p.add_argument("--seeds", type=seed_int, nargs="+", default=None, metavar="S",
                   help="train one model per seed at once, as one stacked model (each "
                        "with its own batches of --batch-size), saved as RUN/seed{S}/model; "
                        "on a GPU several cost little more than one")
    p.add_argument("--time-limit", type=positive_float, default=None, metavar="SECONDS",
                   help="stop after this many seconds of training (with a checkpoint; "
                        "--resume goes on)")

    p = add_command(sub, "eval", cmd_eval, "BetaVAE score, FactorVAE score and MIG of a "
                    "trained model on dSprites",
                    examples="genlab disentangle eval runs/b4 --json\n"
                             "genlab disentangle eval runs/b4 --metrics mig,factorvae "
                             "--fraction 0.1 --json")
    p.add_argument("run", metavar="RUN", type=input_name,
                   help="run folder (from train --out) or model path")
    p.add_argument("--metrics", type=metric_list, default=METRICS,
                   help=f"comma-separated, from {', '.join(METRICS)}")
    p.add_argument("--fraction", type=probability, default=1.0,
                   help="fraction of the papers' sample sizes (1: 10,000 training "
                        "and 5,000 evaluation votes of 64, 10,000 MIG codes)")

    p = add_command(sub, "axes", cmd_axes, "which of scale, x and y each latent follows: a "
                    "least-squares read-out of every live latent, with its direction in the "
                    "x-y plane",
                    examples="genlab disentangle axes runs/b4\n"
                             "genlab disentangle axes runs/b4 --n 2000 --json")
    p.add_argument("run", metavar="RUN", type=input_name,
                   help="run folder (from train --out) or model path")
    p.add_argument("--n", type=positive_int, default=10_000,
                   help="codes of uniformly sampled factors")
    p.add_argument("--min-sd", type=nonneg_float, default=0.05,
                   help="leave out latents whose code sd is below this")
