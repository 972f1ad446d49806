"""``genlab ae``: deterministic, stochastic and denoising autoencoders."""

from __future__ import annotations

import argparse
import math

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
    reconstruct_command,
    resolve_preset,
)
from genlab.device import resolve_device
from genlab.errors import GenlabError
from genlab.latent.corruption import parse_corruption
from genlab.latent.presets import AE_SETTINGS, ae_preset
from genlab.latent.tasks import evaluate_ae
from genlab.latent.training import train_ae
from genlab.train import dist_info


def cmd_train(args: argparse.Namespace) -> None:
    if args.stochastic < 0:
        raise GenlabError(f"--stochastic must be >= 0, got {args.stochastic}")
    preset = resolve_preset(args, ae_preset, AE_SETTINGS, corrupt=args.corrupt or "",
                            code_noise=args.stochastic)
    check_channels(args)
    result = train_ae(preset, args.out, resume=args.resume, overwrite=args.overwrite,
                      device=resolve_device(args.device), data_dir=args.data_dir)
    if dist_info().rank != 0:  # under torchrun only rank 0 reports
        return
    emit(args, result,
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


def cmd_eval(args: argparse.Namespace) -> None:
    result = evaluate_ae(args.run, n=args.n, corrupt=args.corrupt, seed=args.seed,
                         data=args.data, data_dir=args.data_dir,
                         device=resolve_device(args.device))
    emit(args, result, lambda d: f"test reconstruction: squared error {d['mse']:.3f}, "
         f"cross-entropy {d['bce']:.2f} nats per image on {d['n']} images"
         + (f"; from {d['corrupt']}-corrupted inputs: {d['denoise_mse']:.3f} (the corrupted "
            f"inputs themselves: {d['corrupted_mse']:.3f})" if "corrupt" in d else ""))


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
                              ("reconstruct", reconstruct_command,
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
