"""``genlab disentangle``: train beta-VAEs on dSprites and score their disentanglement;
also adds ``genlab vae traverse`` (latent traversals) and ``genlab vae train --latent-type
beta`` (a beta-VAE on any data set of 64x64-like images held in memory) to the ``vae``
group."""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict
from pathlib import Path

import torch

from genlab.cli.common import (
    add_command,
    add_group,
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
from genlab.data.dsprites import FACTOR_NAMES, FACTOR_SIZES, DSpritesData, split_indices
from genlab.device import resolve_device
from genlab.errors import GenlabError
from genlab.io import read_header
from genlab.latent import LatentModel, VariationalModel, load_latent_model
from genlab.latent.betavae import BetaVAE, BetaVAEConfig, kl_split
from genlab.latent.runs import MODEL_NAME, check_run_folder, run_data, train_run
from genlab.latent.stacked import StackedBetaVAE
from genlab.latent.traverse import traversal_figure
from genlab.memory import check_allocation, parameter_bytes
from genlab.metrics.axes import describe, factor_axes
from genlab.metrics.dsprites_eval import METRICS, SampleSizes, evaluate_dsprites
from genlab.metrics.ground_truth import dsprites_code_function
from genlab.progress import log
from genlab.train import (
    CHECKPOINT_KIND,
    CHECKPOINT_NAME,
    TrainConfig,
    epochs_for_steps,
    has_checkpoint,
)


def _load_variational(run: str, device: torch.device) -> tuple[VariationalModel, dict]:
    model, meta = load_latent_model(run, device=device)
    if not isinstance(model, VariationalModel):
        raise GenlabError(f"{run} holds a {model.kind!r} model; this needs a VAE or beta-VAE")
    return model, meta


def _load_dsprites_model(run: str, device: torch.device) -> VariationalModel:
    """The VAE of ``run`` in eval mode, checked to take dSprites' 64x64 images."""
    model, _ = _load_variational(run, device)
    if model.image_shape != (64, 64):
        raise GenlabError(f"{run} was trained on {model.image_shape[0]}x"
                          f"{model.image_shape[1]} images; this needs a dSprites model (64x64)")
    return model.eval()


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
    return BetaVAE(BetaVAEConfig(
        image_shape=image_shape, latent=args.latent if "latent" in explicit else 10,
        beta=4.0 if args.beta is None else args.beta,
        capacity_max=0.0 if args.capacity is None else args.capacity,
        capacity_steps=100_000 if args.capacity_steps is None else args.capacity_steps,
        gamma=1000.0 if args.gamma is None else args.gamma,
        hidden=args.hidden[0] if "hidden" in explicit else 256))


register_latent_type(LatentType(
    "beta", "Gaussian latents with the KL weighted by beta (or a capacity |KL - C|), the "
    "literature's 64x64 conv networks", _build_beta, _beta_arguments))


def _check_resumed_stack(run: str, seeds: list[int] | None) -> None:
    """Refuse to resume a stack of models as one model, one model as a stack, or a stack
    under other ``--seeds`` (each model is saved as ``RUN/seed{S}``: another list would
    name one model's weights after another seed), saying which flags continue the run."""
    if not has_checkpoint(run):
        return  # nothing to continue: prepare_run says so, or the run starts afresh
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


def cmd_train(args: argparse.Namespace) -> None:
    device = resolve_device(args.device)
    check_run_folder(args.out, args.resume, args.overwrite)
    stacked = args.seeds is not None
    seeds = args.seeds if stacked else [args.seed]
    if len(set(seeds)) < len(seeds):
        raise GenlabError(f"--seeds must be different seeds, got {' '.join(map(str, seeds))}")
    if args.resume:
        _check_resumed_stack(args.out, args.seeds)
    rows = split_indices("train")
    data = DSpritesData(rows if args.limit is None else rows[:args.limit])
    config = BetaVAEConfig(latent=args.latent, beta=args.beta, capacity_max=args.capacity,
                           capacity_steps=args.capacity_steps, gamma=args.gamma)
    k = len(seeds)
    epochs = epochs_for_steps(args.steps, len(data), args.batch_size * k)
    cfg = TrainConfig(epochs=epochs, batch_size=args.batch_size * k, lr=args.lr,
                      seed=seeds[0], checkpoint_every=args.checkpoint_every, amp=args.amp,
                      max_steps=args.steps, max_seconds=args.time_limit,
                      log_every=max(1, min(200, args.steps // 10)))
    check_allocation(6 * k * parameter_bytes(lambda: BetaVAE(config)),
                     f"{k} beta-VAE(s) with --latent {args.latent}", device,
                     "use fewer latents")
    what = (f"capacity C_max={args.capacity} gamma={args.gamma}" if args.capacity > 0
            else f"beta={args.beta}")
    log(f"training {f'{k} beta-VAEs (seeds {seeds}) as one stack' if stacked else 'a beta-VAE'}"
        f" ({what}, latent {args.latent}) on {len(data)} dSprites images for {args.steps} "
        f"steps of {args.batch_size} on {device}")
    models = []
    for seed in seeds:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)  # weight initialisation
            models.append(BetaVAE(config))
    model = StackedBetaVAE(models, seeds) if stacked else models[0]
    if not args.resume:
        model.init_output_bias(data.draw(index=torch.arange(min(len(data), 2000))))

    def save_each(run: Path, meta: dict) -> None:  # RUN/seed{S}/model for each model
        for seed, one in zip(seeds, model.unstack(), strict=True):
            one.save(run / f"seed{seed}" / MODEL_NAME, {**meta, "seed": seed, "stacked": k})

    t0 = time.perf_counter()
    result = train_run(model.to(device), data, cfg, args.out, resume=args.resume,
                       overwrite=args.overwrite, device=device, extra_meta={"latent_type": "beta"},
                       save=save_each if stacked else None)
    seconds = time.perf_counter() - t0
    last = next((h for h in reversed(result.history) if "loss" in h), {})
    out = {"out": str(args.out), "kind": models[0].kind, "config": asdict(config),
           "steps": result.steps, "seconds": result.seconds,
           "images_per_second": result.steps * args.batch_size * k / max(seconds, 1e-9),
           "train_loss": result.train_loss, "last": last,
           "bfloat16": result.bfloat16,
           "parameters": sum(p.numel() for p in models[0].parameters())}
    if stacked:
        out["models"] = [str(Path(args.out) / f"seed{seed}") for seed in seeds]
    emit(args, out, lambda r: f"trained {r['steps']} steps in {r['seconds']:.1f} s "
         f"({r['images_per_second']:.0f} images/s); saved " + (
             ", ".join(f"{m}/model" for m in r["models"]) if stacked else f"{r['out']}/model"))


def cmd_eval(args: argparse.Namespace) -> None:
    device = resolve_device(args.device)
    metrics = tuple(m.strip() for m in args.metrics.split(",") if m.strip())
    unknown = [m for m in metrics if m not in METRICS] or ([] if metrics else ["(none)"])
    if unknown:
        raise GenlabError(f"--metrics: unknown metric {unknown[0]!r}; choose from "
                          f"{', '.join(METRICS)}")
    sizes = SampleSizes().scaled(args.fraction)
    model = _load_dsprites_model(args.run, device)
    log(f"scoring {args.run} on {', '.join(metrics)} (fraction {args.fraction} of the papers' "
        "sample sizes)")
    result = evaluate_dsprites(model.encode, device, args.seed, sizes, metrics)
    result.update(run=str(args.run), config=getattr(model, "config", None) and
                  asdict(model.config))

    def text(r: dict) -> str:
        return "\n".join(f"{m:<10} {r[m]['score']:.3f}  ({r[m]['seconds']:.0f} s)"
                         for m in metrics)

    emit(args, result, text)


AXES_FACTORS = ("scale", "pos_x", "pos_y")
AXES_PLANE = ("pos_x", "pos_y")


def cmd_axes(args: argparse.Namespace) -> None:
    device = resolve_device(args.device)
    model = _load_dsprites_model(args.run, device)
    res = factor_axes(dsprites_code_function(model.encode, device), FACTOR_SIZES,
                      FACTOR_NAMES, AXES_FACTORS, AXES_PLANE, seed=args.seed,
                      n_samples=args.n, min_sd=args.min_sd)
    head = (f"{len(res.latents)} latents with sd >= {res.min_sd} on {res.n_samples} codes; "
            "coefficients per factor sd")
    emit(args, {"run": str(args.run), **asdict(res)},
         "\n".join([head, *map(describe, res.latents)]))


def cmd_traverse(args: argparse.Namespace) -> None:
    device = resolve_device(args.device)
    model, meta = _load_variational(args.run, device)
    if args.steps < 2:
        raise GenlabError(f"--steps must be at least 2 for a traversal, got {args.steps}")
    if args.index >= args.n_kl:
        raise GenlabError(f"--index {args.index} must be below --n-kl {args.n_kl} (the seed "
                          "image is one of the test images the KL is measured on)")
    data = run_data(meta, split="test", limit=args.n_kl, data=args.data,
                    data_dir=args.data_dir)
    if args.index >= len(data):
        raise GenlabError(f"--index {args.index} is past the {len(data)} test images")
    x = data.draw(torch.Generator().manual_seed(args.seed)).to(device)
    split = kl_split(model, x[:args.n_kl])
    trav = traversal_figure(model, x[:args.n_kl], args.out,
                            title=f"{args.run}: latent traversals around test image "
                                  f"{args.index} (rows sorted by KL)",
                            index=args.index, low=-args.span, high=args.span, steps=args.steps,
                            kl=split.information + split.mismatch)
    emit(args, {"out": str(args.out), "order": trav.order, "kl": trav.kl,
                "information": split.information.tolist(), "mismatch": split.mismatch.tolist(),
                "values": trav.values, "index": args.index},
         lambda r: (f"saved the traversal of {len(r['order'])} latents to {r['out']}; KL "
                    f"{sum(r['kl']):.2f} nats = information {sum(r['information']):.2f} + "
                    f"aggregate-posterior mismatch {sum(r['mismatch']):.2f}"))


def add_vae_commands(sub: argparse._SubParsersAction) -> None:
    """``genlab vae traverse`` (called by :mod:`genlab.cli.vae` for its extensions)."""
    p = add_command(sub, "traverse", cmd_traverse,
                    "vary each latent from -3 to +3 around a seed image, one row per latent; "
                    "reports each latent's KL as information + aggregate-posterior mismatch",
                    examples="genlab vae traverse runs/beta4 --out traverse.png\n"
                             "genlab vae traverse runs/beta4 --index 7 --steps 8 --json")
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
    p.add_argument("--metrics", default=",".join(METRICS),
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
