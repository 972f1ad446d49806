"""``genlab vae``: train, evaluate, sample, reconstruct and map variational autoencoders.

Latent types are a registry: ``--latent-type NAME`` picks a :class:`LatentType`, which
adds its own flags to ``vae train`` and builds the model from the parsed flags. Another
module extends the group by calling :func:`register_latent_type` at import time and/or
defining ``add_vae_commands(sub)``, and by adding its module name to :data:`EXTENSIONS`.
Every other command (eval, sample, reconstruct, manifold) works for any model registered
with :func:`genlab.latent.register_model`.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from genlab.cli.common import (
    add_command,
    add_data_options,
    add_group,
    emit,
    existing_dir,
    input_name,
    nonneg_int,
    output_dir,
    output_file,
    positive_float,
    positive_int,
    probability,
)
from genlab.device import resolve_device
from genlab.errors import GenlabError
from genlab.latent import LatentModel
from genlab.latent.presets import VAE_SETTINGS, Preset, vae_preset
from genlab.latent.tasks import decode_manifold, evaluate_vae, reconstruct_test_images, sample_vae
from genlab.latent.training import train_vae
from genlab.train import dist_info

# Modules that extend ``genlab vae`` (latent types, extra commands); imported by register().
EXTENSIONS: tuple[str, ...] = ("genlab.cli.vae_categorical", "genlab.cli.disentangle")


@dataclass(frozen=True)
class LatentType:
    """A kind of latent variable ``vae train --latent-type NAME`` can build.

    ``build(args, image_shape)`` returns the untrained model from the parsed flags (the
    shared ones: arch, hidden, latent, activation, channels, likelihood, kl_warmup,
    iw_train, already filled from the data set's preset,
    :func:`genlab.latent.presets.vae_preset`, plus the type's own, added by
    ``add_arguments(parser)``). ``vae train`` builds it under the run's seed.
    """

    name: str
    help: str
    build: Callable[[argparse.Namespace, tuple[int, int]], LatentModel]
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None


LATENT_TYPES: dict[str, LatentType] = {}

# The flags each latent type adds to ``vae train``, as (dest, option) pairs; filled by
# register(). They default to None (False for switches), so a value means it was given.
TYPE_FLAGS: dict[str, list[tuple[str, str]]] = {}


def register_latent_type(spec: LatentType) -> LatentType:
    """Make ``spec`` available as ``vae train --latent-type spec.name``."""
    LATENT_TYPES[spec.name] = spec
    return spec


def _build_gaussian(args: argparse.Namespace, image_shape: tuple[int, int]) -> LatentModel:
    return vae_preset(args.data, **preset_overrides(args, VAE_SETTINGS)).model(image_shape)


register_latent_type(LatentType("gaussian", "z ~ N(mu, diag sigma^2), prior N(0, I)",
                                _build_gaussian))


def preset_overrides(args: argparse.Namespace, keys: tuple[str, ...]) -> dict[str, Any]:
    """The preset fields the flags set: the table ``keys`` given explicitly, and the run's
    own options (seed, checkpoints, stopping, data)."""
    given = {k: getattr(args, k) for k in keys if getattr(args, k, None) is not None}
    run = {"seed": args.seed, "checkpoint_every": args.checkpoint_every,
           "patience": args.patience, "max_steps": args.max_steps, "amp": args.amp,
           "binarize": args.binarize, "split": args.split, "limit": args.limit, "val": args.val}
    return {**run, **given}


def resolve_preset(args: argparse.Namespace, make: Callable[..., Preset] = vae_preset,
                   keys: tuple[str, ...] = VAE_SETTINGS, **extra: Any) -> Preset:
    """The data set's preset with the flags given; the flags left unset (None) are filled
    from it, and ``args.explicit`` records the ones the user gave."""
    if args.patience is not None and args.val == 0:
        raise GenlabError("--patience needs a validation set; add --val N")
    args.explicit = {key for key in keys if getattr(args, key, None) is not None}
    preset = make(args.data, **preset_overrides(args, keys), **extra)
    for key, value in preset.settings().items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    return preset


def int_list(text: str) -> list[int]:
    """argparse type: comma-separated positive integers (``512,256``); ``none``: empty."""
    if text.strip().lower() == "none":
        return []
    try:
        values = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}"
                                         ) from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive integers like 512,256, got {text!r}")
    return values


def add_train_options(p: argparse.ArgumentParser) -> None:
    """Options shared by ``ae train`` and ``vae train`` (data, loop, run folder)."""
    add_data_options(p, positional=True, binarize="bernoulli")
    p.add_argument("--out", type=output_dir, required=True,
                   help="run folder: model.*, checkpoint.*, metrics.jsonl")
    p.add_argument("--epochs", type=positive_int, default=None, help="passes over the data")
    p.add_argument("--batch-size", type=positive_int, default=None, help="mini-batch size")
    p.add_argument("--lr", type=positive_float, default=None, help="Adam learning rate")
    p.add_argument("--schedule", choices=("constant", "cosine"), default=None,
                   help="learning-rate schedule")
    p.add_argument("--val", type=nonneg_int, default=0,
                   help="hold out the last N training images for validation")
    p.add_argument("--patience", type=positive_int, default=None,
                   help="early stopping after this many epochs without validation gain")
    p.add_argument("--checkpoint-every", type=nonneg_int, default=500,
                   help="steps between checkpoints (0: epoch ends only)")
    p.add_argument("--resume", action="store_true",
                   help="continue from RUN/checkpoint exactly where it stopped")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the run already in RUN (its checkpoint, metrics and model)")
    p.add_argument("--max-steps", type=positive_int, default=None,
                   help="stop after this many steps in total (a resumable partial run)")
    p.add_argument("--amp", action=argparse.BooleanOptionalAction, default=None,
                   help="bfloat16 mixed precision where the device has native bfloat16 "
                        "(CUDA; CPUs with AVX512-BF16 or AMX); ignored elsewhere")
    p.add_argument("--hidden", type=int_list, default=None,
                   help="hidden layer sizes, comma-separated (e.g. 512,256; none: no hidden layer)")
    p.add_argument("--latent", type=positive_int, default=None, help="latent dimension")
    p.add_argument("--arch", choices=("mlp", "conv"), default=None, help="network type")
    p.add_argument("--channels", type=int_list, default=None,
                   help="conv channels per stride-2 layer (if not given: 32,64)")


def check_channels(args: argparse.Namespace) -> None:
    """Refuse ``--channels`` for an MLP: only the conv networks have channels, so it would
    be ignored (call after :func:`resolve_defaults`, which records the flags given)."""
    if "channels" in getattr(args, "explicit", ()) and args.arch != "conv":
        raise GenlabError("--channels sets the conv layers, but --arch is mlp; add --arch "
                          "conv or drop --channels")


def check_type_flags(args: argparse.Namespace) -> None:
    """Refuse a flag of another latent type than ``--latent-type``: it would be ignored."""
    for name, flags in TYPE_FLAGS.items():
        if name == args.latent_type:
            continue
        for dest, option in flags:
            value = getattr(args, dest, None)
            if value is not None and value is not False:
                raise GenlabError(f"{option} applies to --latent-type {name} only, not to "
                                  f"{args.latent_type}; add --latent-type {name} or drop "
                                  f"{option}")


def cmd_train(args: argparse.Namespace) -> None:
    check_type_flags(args)
    preset = resolve_preset(args)
    if args.latent_type != "beta":  # the beta-VAE refuses --arch and --channels itself
        check_channels(args)
    spec = LATENT_TYPES[args.latent_type]
    result = train_vae(preset, args.out, resume=args.resume, overwrite=args.overwrite,
                       device=resolve_device(args.device), data_dir=args.data_dir,
                       latent_type=args.latent_type,
                       build=None if spec.name == "gaussian" else partial(spec.build, args))
    if dist_info().rank != 0:  # under torchrun only rank 0 reports
        return
    emit(args, result, lambda r: f"trained {r['steps']} steps ({r['epochs']} epochs, "
         f"{r['seconds']:.1f} s); saved {r['out']}/model")


def cmd_eval(args: argparse.Namespace) -> None:
    result = evaluate_vae(args.run, iw=args.iw, n=args.n, seed=args.seed,
                          batch_size=args.batch_size, data=args.data, data_dir=args.data_dir,
                          device=resolve_device(args.device))
    emit(args, result, lambda d: f"test ELBO {d['elbo']:.2f} nats, IWAE NLL (K={d['k']}) "
         f"{d['nll_iw']:.2f} +- {d['nll_iw_se']:.2f} nats on {d['n']} images")


def cmd_sample(args: argparse.Namespace) -> None:
    result = sample_vae(args.run, args.out, n=args.n, seed=args.seed,
                        device=resolve_device(args.device))
    emit(args, result, lambda d: f"saved {d['n']} samples to {d['out']}")


def reconstruct_command(args: argparse.Namespace) -> None:
    """``reconstruct`` for both groups: test images above their reconstructions."""
    result = reconstruct_test_images(args.run, args.out, n=args.n, seed=args.seed,
                                     corrupt=getattr(args, "corrupt", None), data=args.data,
                                     data_dir=args.data_dir,
                                     device=resolve_device(args.device))
    emit(args, result, lambda d: f"saved {d['n']} reconstructions to {d['out']}; test squared "
         f"error {d['mse']:.3f}, cross-entropy {d['bce']:.2f} nats per image")


def cmd_manifold(args: argparse.Namespace) -> None:
    unused = [flag for flag, value in (("--data", args.data), ("--data-dir", args.data_dir),
                                       ("--n", args.n)) if value is not None]
    if unused and args.codes is None:  # they choose the codes' test images; else ignored
        raise GenlabError(f"{unused[0]} chooses the test images of --codes; add --codes "
                          f"FILE.png or drop {unused[0]}")
    result = decode_manifold(args.run, args.out, grid=args.grid, span=args.span,
                             codes=args.codes, n=args.n, seed=args.seed, data=args.data,
                             data_dir=args.data_dir, device=resolve_device(args.device))
    g = args.grid
    emit(args, result, lambda d: f"saved the {g}x{g} manifold to {d['out']}"
         + (f" and the code scatter to {d['codes']}" if "codes" in d else ""))


def add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", metavar="RUN", type=input_name,
                   help="run folder (from train --out) or model path")
    p.add_argument("--data", type=input_name, default=None,
                   help="evaluate on this data set instead of the run's own (same image size)")
    p.add_argument("--data-dir", type=existing_dir, default=None,
                   help="folder holding data files")


def register(subparsers: argparse._SubParsersAction) -> None:
    for name in EXTENSIONS:
        importlib.import_module(name)
    sub = add_group(subparsers, "vae", "variational autoencoders: train, evaluate, sample")
    p = add_command(sub, "train", cmd_train, "train a VAE on a data set",
                    examples="genlab vae train fashion-mnist --out runs/vae\n"
                             "genlab vae train fashion-mnist --hidden 400 --latent 20 "
                             "--activation relu --schedule constant --out runs/ref\n"
                             "genlab vae train mnist5k --arch conv --epochs 20 --out runs/conv\n"
                             "genlab vae train digits --latent 2 --out runs/d2\n"
                             "genlab vae train fashion-mnist --out runs/vae --resume")
    add_train_options(p)
    p.add_argument("--latent-type", default="gaussian", choices=sorted(LATENT_TYPES),
                   help="the latent variable's family")
    p.add_argument("--activation", choices=("relu", "elu", "gelu", "silu", "tanh"),
                   default=None, help="hidden activation")
    p.add_argument("--likelihood", choices=("bernoulli", "gaussian"), default=None,
                   help="decoder p(x|z) (if not given: bernoulli; gaussian for --binarize none)")
    p.add_argument("--kl-warmup", type=probability, default=None,
                   help="fraction of training over which the KL weight rises from 0 to 1")
    p.add_argument("--iw-train", type=positive_int, default=None,
                   help="train on the IWAE bound with K samples (if not given: 1, the ELBO)")
    for spec in LATENT_TYPES.values():
        if spec.add_arguments is not None:
            before = len(p._actions)
            spec.add_arguments(p)
            TYPE_FLAGS[spec.name] = [(a.dest, a.option_strings[0]) for a in p._actions[before:]]

    p = add_command(sub, "eval", cmd_eval, "test ELBO and importance-weighted NLL (nats/image)",
                    examples="genlab vae eval runs/vae --json\n"
                             "genlab vae eval runs/vae --iw 5000 --n 1000 --json")
    add_run_options(p)
    p.add_argument("--iw", type=positive_int, default=1000,
                   help="importance samples K of the IWAE estimate")
    p.add_argument("--n", type=positive_int, default=None,
                   help="evaluate the first N test images (if not given: all)")
    p.add_argument("--batch-size", type=positive_int, default=100,
                   help="test images per batch")

    p = add_command(sub, "sample", cmd_sample, "save a grid of samples from the model",
                    examples="genlab vae sample runs/vae --n 64 --out samples.png")
    p.add_argument("run", metavar="RUN", type=input_name,
                   help="run folder (from train --out) or model path")
    p.add_argument("--n", type=positive_int, default=64, help="how many samples")
    p.add_argument("--out", type=output_file, default="samples.png",
                   help="PNG file")

    p = add_command(sub, "reconstruct", reconstruct_command,
                    "save test images beside their reconstructions",
                    examples="genlab vae reconstruct runs/vae --out recon.png")
    add_run_options(p)
    p.add_argument("--n", type=positive_int, default=16, help="how many images")
    p.add_argument("--out", type=output_file, default="recon.png",
                   help="PNG file")

    p = add_command(sub, "manifold", cmd_manifold,
                    "decode a grid over a 2-D latent space; scatter the test codes",
                    examples="genlab vae manifold runs/d2 --out manifold.png "
                             "--codes codes.png")
    add_run_options(p)
    p.add_argument("--grid", type=positive_int, default=20, help="grid points per axis")
    p.add_argument("--span", type=positive_float, default=3.0,
                   help="the grid covers [-span, span] on each axis")
    p.add_argument("--out", type=output_file, default="manifold.png",
                   help="PNG file")
    p.add_argument("--codes", type=output_file, default=None,
                   help="also save a scatter of test codes here")
    p.add_argument("--n", type=positive_int, default=None, help="test images for --codes")

    for name in EXTENSIONS:
        add = getattr(importlib.import_module(name), "add_vae_commands", None)
        if add is not None:
            add(sub)
