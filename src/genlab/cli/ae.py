"""``genlab ae``: deterministic, stochastic and denoising autoencoders."""

from __future__ import annotations

import argparse
import math
from dataclasses import asdict
from typing import Any

import torch

from genlab.cli.common import (
    add_command,
    add_group,
    emit,
    finite_float,
    output_file,
    positive_int,
)
from genlab.cli.vae import (
    add_run_options,
    add_train_options,
    check_channels,
    check_model_memory,
    load_training_data,
    reconstruct_command,
    resolve_defaults,
    train_config,
)
from genlab.device import make_generator, resolve_device
from genlab.errors import GenlabError
from genlab.latent import AEConfig, Autoencoder, load_latent_model
from genlab.latent.corruption import parse_corruption
from genlab.latent.evaluate import reconstruction_error
from genlab.latent.runs import check_run_folder, fixed_draw, run_data, train_run
from genlab.progress import log
from genlab.train import dist_info, seeded_init

DEFAULTS: dict[str, dict[str, Any]] = {
    "default": {"arch": "mlp", "hidden": [256], "latent": 32, "activation": "relu",
                "epochs": 10, "batch_size": 128, "lr": 1e-3, "schedule": "cosine",
                "channels": [32, 64], "loss": "bce"},
    "digits": {"hidden": [128], "latent": 8, "epochs": 50, "batch_size": 64},
}
KEYS = ("arch", "hidden", "latent", "activation", "epochs", "batch_size", "lr", "schedule",
        "channels", "loss")


def cmd_train(args: argparse.Namespace) -> None:
    device = resolve_device(args.device)
    settings = resolve_defaults(args, DEFAULTS, KEYS)
    check_channels(args)
    check_run_folder(args.out, args.resume, args.overwrite)
    if args.stochastic < 0:
        raise GenlabError(f"--stochastic must be >= 0, got {args.stochastic}")
    data, val = load_training_data(args)
    config = AEConfig(image_shape=data.image_shape, arch=args.arch, hidden=tuple(args.hidden),
                      latent=args.latent, activation=args.activation,
                      channels=tuple(args.channels), loss=args.loss,
                      code_noise=args.stochastic, corrupt=args.corrupt or "")
    check_model_memory(lambda: Autoencoder(config),
                       f"an autoencoder with --hidden {','.join(map(str, args.hidden)) or 'none'}"
                       f" and --latent {args.latent}", device)
    with seeded_init(args.seed):
        model = Autoencoder(config).to(device)
    cfg = train_config(args)
    what = "a denoising " if args.corrupt else "a stochastic " if args.stochastic else "an "
    log(f"training {what}autoencoder ({args.arch} {settings['hidden']}, code {args.latent}) "
        f"on {len(data)} {args.data} images for {cfg.epochs} epochs")
    result = train_run(model, data, cfg, args.out, val=val, resume=args.resume,
                       overwrite=args.overwrite, device=device,
                       data_dir=args.data_dir)
    if dist_info().rank != 0:  # under torchrun only rank 0 reports
        return
    test = run_data({"data": {"name": args.data, "binarize": args.binarize,
                              "image_shape": list(data.image_shape)}}, "test", 2000, None,
                    args.data_dir) if args.split == "train" else None
    err = reconstruction_error(model, fixed_draw(test, args.seed, device)) if test else None
    emit(args, {"out": str(args.out), "kind": model.kind, "settings": settings,
                "config": asdict(config), "steps": result.steps, "epochs": result.epochs,
                "seconds": result.seconds, "epoch_seconds": result.epoch_seconds,
                "train_loss": result.train_loss, "val_loss": result.val_loss,
                "stopped_early": result.stopped_early, "resumed_from": result.resumed_from,
                "test_mse": None if err is None else err.mse,
                "test_bce": None if err is None else err.bce},
         lambda r: f"trained {r['steps']} steps ({r['seconds']:.1f} s); saved {r['out']}/model"
                   + (f"; test squared error {r['test_mse']:.3f} per image"
                      if r["test_mse"] is not None else ""))


def corruption_spec(text: str) -> str:
    """argparse type: ``KIND:LEVEL`` with a finite level (see
    :mod:`genlab.latent.corruption`), or ``none`` for clean inputs (given as "")."""
    if text.strip().lower() == "none":
        return ""
    try:
        spec = parse_corruption(text)
    except GenlabError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if spec is None:
        raise argparse.ArgumentTypeError("expected KIND:LEVEL such as mask:0.3, or none")
    if not math.isfinite(spec.level):
        raise argparse.ArgumentTypeError(f"the corruption level must be finite, got {text!r}")
    return text


def _corruption(args: argparse.Namespace, model: Any) -> Any:
    spec = args.corrupt if args.corrupt is not None else getattr(model.config, "corrupt", "")
    return parse_corruption(spec)


def cmd_eval(args: argparse.Namespace) -> None:
    device = resolve_device(args.device)
    model, meta = load_latent_model(args.run, device=device)
    data = run_data(meta, "test", args.n, args.data, args.data_dir)
    x = fixed_draw(data, args.seed, device)
    err = reconstruction_error(model, x)
    result = {"mse": err.mse, "bce": err.bce, "n": err.n, "kind": model.kind}
    corruption = _corruption(args, model)
    if corruption is not None:
        noisy = corruption(x, make_generator(args.seed, device))
        clean = reconstruction_error(model, noisy)  # error against the corrupted input ...
        with torch.no_grad():  # ... and the denoising error against the clean x
            r = model.reconstruct(noisy)
        result.update(corrupt=str(corruption),
                      denoise_mse=float(((r - x) ** 2).sum(1).mean()),
                      corrupted_mse=float(((noisy - x) ** 2).sum(1).mean()),
                      noisy_recon_mse=clean.mse)
    emit(args, result, lambda d: f"test reconstruction: squared error {d['mse']:.3f}, "
         f"cross-entropy {d['bce']:.2f} nats per image on {d['n']} images"
         + (f"; from {d['corrupt']}-corrupted inputs: {d['denoise_mse']:.3f} (the corrupted "
            f"inputs themselves: {d['corrupted_mse']:.3f})" if "corrupt" in d else ""))


def cmd_reconstruct(args: argparse.Namespace) -> None:
    device = resolve_device(args.device)
    model, _ = load_latent_model(args.run, device=device)
    corruption = _corruption(args, model)
    reconstruct_command(args, corruption)


def register(subparsers: argparse._SubParsersAction) -> None:
    sub = add_group(subparsers, "ae", "autoencoders: deterministic, stochastic, denoising")
    p = add_command(sub, "train", cmd_train, "train an autoencoder",
                    examples="genlab ae train mnist5k --latent 32 --out runs/ae\n"
                             "genlab ae train mnist5k --corrupt mask:0.3 --out runs/dae\n"
                             "genlab ae train fashion-mnist --corrupt gauss:0.5 --out runs/dae\n"
                             "genlab ae train mnist5k --stochastic 0.5 --out runs/sae\n"
                             "genlab ae train digits --hidden none --activation linear "
                             "--loss mse --binarize none --latent 5 --out runs/linear")
    add_train_options(p)
    p.add_argument("--activation", choices=("relu", "elu", "gelu", "silu", "tanh", "linear"),
                   default=None, help="hidden activation (linear: with --hidden none)")
    p.add_argument("--loss", choices=("bce", "mse"), default=None,
                   help="reconstruction loss: Bernoulli cross-entropy or squared error")
    p.add_argument("--corrupt", type=corruption_spec, default=None, metavar="KIND:LEVEL",
                   help="denoising: gauss:SD, mask:P or saltpepper:P")
    p.add_argument("--stochastic", type=finite_float, default=0.0, metavar="SD",
                   help="stochastic encoder p(h|x) = N(f(x), SD^2 I) (0: deterministic)")

    for name, func, help_ in (("eval", cmd_eval, "test reconstruction (and denoising) error"),
                              ("reconstruct", cmd_reconstruct,
                               "save test images beside their reconstructions")):
        p = add_command(sub, name, func, help_,
                        examples=f"genlab ae {name} runs/dae"
                                 + (" --json" if name == "eval" else " --out recon.png"))
        add_run_options(p)
        p.add_argument("--corrupt", type=corruption_spec, default=None, metavar="KIND:LEVEL",
                       help="corrupt the inputs first (if not given: the model's own "
                            "corruption; none: clean inputs)")
        if name == "eval":
            p.add_argument("--n", type=positive_int, default=None, help="first N test images")
        else:
            p.add_argument("--n", type=positive_int, default=16, help="images")
            p.add_argument("--out", type=output_file, default="recon.png",
                           help="PNG file")
