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
from dataclasses import asdict, dataclass
from typing import Any

import torch

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
from genlab.data import FASHION_CLASSES, ImageDataset, load_dataset
from genlab.device import make_generator, resolve_device
from genlab.errors import GenlabError
from genlab.latent import VAE, LatentModel, VAEConfig, VariationalModel, load_latent_model
from genlab.latent.evaluate import evaluate_likelihood, reconstruction_error
from genlab.latent.plots import plot_codes, plot_manifold, plot_reconstructions
from genlab.latent.runs import (
    check_run_folder,
    fixed_draw,
    run_data,
    split_validation,
    train_run,
)
from genlab.memory import check_allocation, forward_bytes, parameter_bytes
from genlab.plots import plot_image_grid
from genlab.progress import log
from genlab.train import TrainConfig, dist_info, seeded_init

# Modules that extend ``genlab vae`` (latent types, extra commands); imported by register().
EXTENSIONS: tuple[str, ...] = ("genlab.cli.vae_categorical", "genlab.cli.disentangle")


@dataclass(frozen=True)
class LatentType:
    """A kind of latent variable ``vae train --latent-type NAME`` can build.

    ``build(args, image_shape)`` returns the untrained model from the parsed flags (the
    shared ones: arch, hidden, latent, activation, channels, likelihood, kl_warmup,
    iw_train, already resolved to the data set's defaults, plus the type's own, added by
    ``add_arguments(parser)``).
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
    return VAE(VAEConfig(image_shape=image_shape, arch=args.arch, hidden=tuple(args.hidden),
                         latent=args.latent, likelihood=args.likelihood,
                         activation=args.activation, channels=tuple(args.channels),
                         kl_warmup=args.kl_warmup, iw_train=args.iw_train))


register_latent_type(LatentType("gaussian", "z ~ N(mu, diag sigma^2), prior N(0, I)",
                                _build_gaussian))

# The defaults ``vae train DATA`` uses with no flags: genlab's best model per data set
# (see docs/vae.md for how they compare). Anything not here falls back to "default".
DEFAULTS: dict[str, dict[str, Any]] = {
    "default": {"arch": "mlp", "hidden": [512, 256], "latent": 32, "activation": "elu",
                "epochs": 10, "batch_size": 128, "lr": 2e-3, "schedule": "cosine",
                "kl_warmup": 0.3, "iw_train": 1, "likelihood": "bernoulli",
                "channels": [32, 64], "amp": False},
    # measured on Fashion-MNIST (benchmarks/RESULTS.md): wider layers, SiLU, a higher
    # learning rate and a longer KL warm-up gain 3 nats over the shared default; bfloat16
    # products (where the CPU or GPU has them) pay for the width
    "fashion-mnist": {"hidden": [1024, 512], "activation": "silu", "lr": 3e-3,
                      "kl_warmup": 0.5, "amp": True},
    "digits": {"hidden": [128], "latent": 8, "epochs": 50, "batch_size": 64},
    # the disentanglement literature's settings for 64x64 dSprites (Adam 5e-4, batch 64)
    "dsprites": {"lr": 5e-4, "schedule": "constant", "batch_size": 64},
}

SHARED = ("arch", "hidden", "latent", "activation", "epochs", "batch_size", "lr", "schedule",
          "kl_warmup", "iw_train", "likelihood", "channels", "amp")


def resolve_defaults(args: argparse.Namespace, defaults: dict[str, dict[str, Any]] | None = None,
                     keys: tuple[str, ...] = SHARED) -> dict[str, Any]:
    """Fill every flag in ``keys`` left unset (None) from ``defaults`` for the data set."""
    defaults = DEFAULTS if defaults is None else defaults
    chosen = dict(defaults["default"])
    chosen.update(defaults.get(args.data, {}))
    args.explicit = {key for key in keys if getattr(args, key, None) is not None}
    for key in keys:
        if getattr(args, key, None) is None:
            setattr(args, key, chosen[key])
    return {k: getattr(args, k) for k in keys}


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


def load_training_data(args: argparse.Namespace) -> tuple[ImageDataset, ImageDataset | None]:
    data = load_dataset(args.data, split=args.split, binarize=args.binarize,
                        limit=args.limit, data_dir=args.data_dir)
    return split_validation(data, args.val)


def check_model_memory(build: Callable[[], torch.nn.Module], what: str,
                       device: torch.device) -> None:
    """Refuse a model whose training cannot fit: its parameters about six times over
    (weights, gradients, Adam's two moments, the checkpoint and the saved model), measured
    by building it on the meta device (nothing allocated)."""
    check_allocation(6 * parameter_bytes(build), what, device,
                     "use smaller --hidden/--latent sizes")


def check_decode_memory(model: LatentModel, n: int, what: str, device: torch.device) -> None:
    """Refuse decoding ``n`` codes at once when it cannot fit: the decoder's activations
    per image (counted on the meta device) and the images, their CPU copy and the figure."""
    def run(copy: torch.nn.Module) -> None:
        copy.decode_mean(torch.zeros(1, model.latent_dim, device="meta"))

    per_image = forward_bytes(model, run) or 0
    check_allocation(n * (per_image + 24 * model.data_dim), what, device,
                     "use a smaller size")


def train_config(args: argparse.Namespace) -> TrainConfig:
    if args.patience is not None and args.val == 0:
        raise GenlabError("--patience needs a validation set; add --val N")
    return TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                       schedule=args.schedule, seed=args.seed,
                       checkpoint_every=args.checkpoint_every, patience=args.patience,
                       amp=bool(args.amp), max_steps=args.max_steps)


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
    device = resolve_device(args.device)
    check_run_folder(args.out, args.resume, args.overwrite)
    settings = resolve_defaults(args)
    if args.latent_type != "beta":  # the beta-VAE refuses --arch and --channels itself
        check_channels(args)
    spec = LATENT_TYPES[args.latent_type]
    data, val = load_training_data(args)
    check_model_memory(lambda: spec.build(args, data.image_shape),
                       f"a VAE with --hidden {','.join(map(str, args.hidden)) or 'none'} and "
                       f"--latent {args.latent}", device)
    with seeded_init(args.seed):
        model = spec.build(args, data.image_shape)
    if hasattr(model, "init_output_bias") and not args.resume:
        model.init_output_bias(data.images.mean(0))
    cfg = train_config(args)
    size = sum(p.numel() for p in model.parameters())
    log(f"training a {model.kind} ({args.latent_type} latents, {size:,} parameters) on "
        f"{len(data)} {args.data} images for {cfg.epochs} epochs")
    result = train_run(model.to(device), data, cfg, args.out, val=val, resume=args.resume,
                       overwrite=args.overwrite, device=device, data_dir=args.data_dir,
                       extra_meta={"latent_type": args.latent_type})
    if dist_info().rank != 0:  # under torchrun only rank 0 reports
        return
    out = {"out": str(args.out), "kind": model.kind, "latent_type": args.latent_type,
           "settings": settings, "config": asdict(model.config), "steps": result.steps,
           "epochs": result.epochs, "seconds": result.seconds,
           "epoch_seconds": result.epoch_seconds, "train_loss": result.train_loss,
           "val_loss": result.val_loss, "stopped_early": result.stopped_early,
           "resumed_from": result.resumed_from,
           "parameters": sum(p.numel() for p in model.parameters())}
    emit(args, out, lambda r: f"trained {r['steps']} steps ({r['epochs']} epochs, "
         f"{r['seconds']:.1f} s); saved {r['out']}/model")


def _load(args: argparse.Namespace) -> tuple[LatentModel, dict[str, Any], torch.device]:
    device = resolve_device(args.device)
    model, meta = load_latent_model(args.run, device=device)
    return model, meta, device


def _variational(model: LatentModel, what: str) -> VariationalModel:
    if not isinstance(model, VariationalModel):
        raise GenlabError(f"{what} needs a VAE, but this run holds a {model.kind!r} model")
    return model


def cmd_eval(args: argparse.Namespace) -> None:
    model, meta, device = _load(args)
    model = _variational(model, "vae eval")
    data = run_data(meta, "test", args.n, args.data, args.data_dir)
    x = fixed_draw(data, args.seed, device)
    gen = make_generator(args.seed, device)
    r = evaluate_likelihood(model, x, args.iw, gen, batch_size=args.batch_size)
    emit(args, {"elbo": r.elbo, "nll_iw": r.nll_iw, "k": r.k, "n": r.n,
                "elbo_se": r.elbo_se, "nll_iw_se": r.nll_iw_se, "kind": model.kind},
         lambda d: f"test ELBO {d['elbo']:.2f} nats, IWAE NLL (K={d['k']}) "
                   f"{d['nll_iw']:.2f} +- {d['nll_iw_se']:.2f} nats on {d['n']} images")


def cmd_sample(args: argparse.Namespace) -> None:
    model, meta, device = _load(args)
    model = _variational(model, "vae sample")
    check_decode_memory(model, args.n, f"--n {args.n} samples", device)
    with torch.no_grad():
        x = model.sample(args.n, make_generator(args.seed, device))
    plot_image_grid(x.cpu(), args.out, image_shape=model.image_shape, vmin=0, vmax=1,
                    title=f"{args.n} samples from p(x|z) p(z) (means)")
    emit(args, {"out": str(args.out), "n": args.n, "kind": model.kind},
         lambda d: f"saved {d['n']} samples to {d['out']}")


def reconstruct_command(args: argparse.Namespace, corrupt: Callable | None = None) -> None:
    """``reconstruct`` for both groups: test images above their reconstructions."""
    model, meta, device = _load(args)
    data = run_data(meta, "test", None, args.data, args.data_dir)
    gen = torch.Generator().manual_seed(args.seed)
    idx = torch.randperm(len(data), generator=gen)[:args.n].sort().values
    x = data.draw(gen, idx).to(device)
    noisy = corrupt(x, make_generator(args.seed, device)) if corrupt is not None else None
    with torch.no_grad():
        r = model.reconstruct(noisy if noisy is not None else x)
    err = reconstruction_error(model, fixed_draw(data, args.seed, device)[:2000])
    plot_reconstructions(x.cpu(), r.cpu(), model.image_shape, args.out,
                         noisy=None if noisy is None else noisy.cpu(),
                         title=f"{model.kind}: test inputs and reconstructions")
    emit(args, {"out": str(args.out), "n": len(x), "kind": model.kind,
                "mse": err.mse, "bce": err.bce, "n_error": err.n},
         lambda d: f"saved {d['n']} reconstructions to {d['out']}; test squared error "
                   f"{d['mse']:.3f}, cross-entropy {d['bce']:.2f} nats per image")


def cmd_manifold(args: argparse.Namespace) -> None:
    unused = [flag for flag, value in (("--data", args.data), ("--data-dir", args.data_dir),
                                       ("--n", args.n)) if value is not None]
    if unused and args.codes is None:  # they choose the codes' test images; else ignored
        raise GenlabError(f"{unused[0]} chooses the test images of --codes; add --codes "
                          f"FILE.png or drop {unused[0]}")
    model, meta, device = _load(args)
    model = _variational(model, "vae manifold")
    if model.latent_dim != 2:
        raise GenlabError(f"vae manifold needs a 2-D latent, this model has {model.latent_dim}; "
                          "train one with --latent 2")
    g = args.grid
    check_decode_memory(model, g * g, f"--grid {g} ({g}x{g} images)", device)
    vals = torch.linspace(-args.span, args.span, g)
    # row 0 of the picture is the largest z2, so the grid reads like the z-plane
    z = torch.stack(torch.meshgrid(vals, vals.flip(0), indexing="xy"), -1).reshape(-1, 2)
    z = z.to(device)
    with torch.no_grad():
        images = model.decode_mean(z).cpu()
    plot_manifold(images, model.image_shape, g, args.span, args.out)
    result = {"out": str(args.out), "grid": g, "kind": model.kind}
    if args.codes is not None:
        data = run_data(meta, "test", args.n, args.data, args.data_dir)
        with torch.no_grad():
            codes = model.encode(fixed_draw(data, args.seed, device)).cpu()
        names = list(FASHION_CLASSES) if data.name == "fashion-mnist" else None
        plot_codes(codes, data.labels, args.codes, names)
        result.update(codes=str(args.codes), n=len(codes))
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
