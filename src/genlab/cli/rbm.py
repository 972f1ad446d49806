"""``genlab rbm``: train restricted Boltzmann machines, measure their log-likelihood, sample
from them and look at their filters."""

from __future__ import annotations

import argparse
from typing import Any

from genlab.cli.common import (
    add_checkpointed_output,
    add_command,
    add_data_options,
    add_group,
    add_threads,
    emit,
    input_name,
    nonneg_float,
    nonneg_int,
    output_file,
    positive_float,
    positive_int,
    probability,
)
from genlab.errors import GenlabError
from genlab.rbm.partition import AIS_LAYERS, REVERSE_BURN_IN
from genlab.rbm.tasks import (
    TRAIN_DEFAULTS,
    VISIBLE_UNITS,
    run_eval,
    run_filters,
    run_sample,
    run_train,
)


def _data_options(parser: argparse.ArgumentParser) -> None:
    """The common data options, with binarisation defaulting to the model's needs."""
    add_data_options(parser, positional=True)
    for action in parser._actions:
        if action.dest == "binarize":
            action.default = None
            action.help = ("none, threshold at 0.5, or bernoulli resampling (if not given: "
                           "threshold for Bernoulli units, none for Gaussian units; eval uses "
                           "the model's)")


def _at_least(low: int):
    """argparse type: an integer >= ``low`` (AIS needs two runs to estimate its error, and
    three distributions: the base, one between, the model)."""
    def parse(text: str) -> int:
        value = positive_int(text)
        if value < low:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {value}")
        return value
    return parse


def _zero_or_at_least(low: int):
    """argparse type: 0 (off) or an integer >= ``low``."""
    def parse(text: str) -> int:
        value = nonneg_int(text)
        if 0 < value < low:
            raise argparse.ArgumentTypeError(f"expected 0 (off) or an integer >= {low}, got "
                                             f"{value}")
        return value
    return parse


def _check_visible_options(args: argparse.Namespace) -> None:
    """--sigma and --fixed-variance shape Gaussian units; with Bernoulli units they would
    be ignored without a word."""
    if args.visible == "bernoulli":
        given = [flag for flag, used in (("--sigma", args.sigma is not None),
                                         ("--fixed-variance", args.fixed_variance)) if used]
        if given:
            one = len(given) == 1
            raise GenlabError(f"{' and '.join(given)} appl{'ies' if one else 'y'} to Gaussian "
                              f"visible units only; add --visible gaussian, or drop "
                              f"{'it' if one else 'them'}")


def _rate(text: str) -> float:
    """argparse type: a float in (0, 1]."""
    value = positive_float(text)
    if value > 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text!r}")
    return value


def _check_training_options(args: argparse.Namespace) -> None:
    """--pt-chains shapes parallel tempering and --centering-rate the centring; without
    --method pt or a centred run they would be ignored without a word."""
    if args.pt_chains is not None and args.method != "pt":
        raise GenlabError("--pt-chains applies to --method pt only; add --method pt, or drop "
                          "it")
    if (args.centering_rate is not None
            and not TRAIN_DEFAULTS.centred_for(args.visible, args.centering)):
        raise GenlabError("--centering-rate applies to centred training only (Bernoulli "
                          "visible units, without --no-centering); drop it")
    if args.centering and args.visible != "bernoulli":
        raise GenlabError("--centering is implemented for Bernoulli visible units only; drop "
                          "it, or use --visible bernoulli")


def cmd_train(args: argparse.Namespace) -> None:
    _check_visible_options(args)
    _check_training_options(args)
    tuning: dict[str, Any] = {}
    if args.pt_chains is not None:
        tuning["pt_chains"] = args.pt_chains
    if args.centering_rate is not None:
        tuning["centering_rate"] = args.centering_rate
    report = run_train(
        args.data, args.out, visible=args.visible, hidden=args.hidden, split=args.split,
        binarize=args.binarize, limit=args.limit, data_dir=args.data_dir, seed=args.seed,
        device=args.device, resume=args.resume, overwrite=args.overwrite, method=args.method,
        k=args.k, epochs=args.epochs, lr=args.lr, batch_size=args.batch_size,
        momentum=args.momentum, weight_decay=args.weight_decay, schedule=args.schedule,
        sigma=args.sigma, fixed_variance=args.fixed_variance, centered=args.centering,
        verbose=args.verbose, **tuning)
    emit(args, report, lambda r: f"trained {r['model']} ({r['n_hidden']} hidden) on "
         f"{r['n_train']} examples in {r['seconds']:.1f} s; saved to {r['out']}")


def cmd_eval(args: argparse.Namespace) -> None:
    report = run_eval(args.model, args.data, split=args.split, binarize=args.binarize,
                      limit=args.limit, data_dir=args.data_dir, ais_runs=args.ais_runs,
                      ais_betas=args.ais_betas, ais_layer=args.ais_layer, seed=args.seed,
                      device=args.device, reverse_ais=args.reverse_ais,
                      reverse_burn_in=args.reverse_burn_in, raise_runs=args.raise_runs,
                      raise_betas=args.raise_betas)
    emit(args, report, _eval_text)


def _eval_text(r: dict[str, Any]) -> str:
    lines = [f"{r['kind']} on {r['n_examples']} {r['data']} ({r['split']}) examples",
             f"log Z (AIS over the {r['ais_layer']} units, {r['ais_runs']} runs x "
             f"{r['ais_betas']} betas): "
             f"{r['log_z']:.3f} +- {r['log_z_std_err']:.3f}",
             f"average log-likelihood: {r['log_likelihood']:.3f} nats"]
    if "reverse_log_z" in r:
        lines[-1:] = [
            f"log Z (reverse AIS from chains of {r['reverse_burn_in']} Gibbs sweeps): "
            f"{r['reverse_log_z']:.3f} +- {r['reverse_log_z_std_err']:.3f}",
            f"average log-likelihood: between {r['reverse_log_likelihood']:.3f} +- "
            f"{r['reverse_log_z_std_err']:.3f} (reverse AIS) and {r['log_likelihood']:.3f} "
            f"+- {r['log_z_std_err']:.3f} (AIS) nats"]
    if "raise_log_likelihood" in r:
        lines.append(f"RAISE, the annealing model's average log-likelihood ({r['raise_runs']} "
                     f"runs x {r['raise_betas']} betas per example): "
                     f"{r['raise_log_likelihood']:.3f} +- {r['raise_std_err']:.3f} nats")
    if "exact_log_z" in r:
        lines.append(f"exact log Z: {r['exact_log_z']:.3f}; exact average log-likelihood: "
                     f"{r['exact_log_likelihood']:.3f} nats")
    if "pseudo_likelihood" in r:
        lines.append(f"pseudo-likelihood (scikit-learn's score): {r['pseudo_likelihood']:.3f}")
    return "\n".join(lines)


def cmd_sample(args: argparse.Namespace) -> None:
    report = run_sample(args.model, args.out, n=args.n, steps=args.steps, seed=args.seed,
                        device=args.device)
    emit(args, report,
         lambda r: f"saved {r['n']} samples ({r['steps']} Gibbs sweeps) to {r['out']}")


def cmd_filters(args: argparse.Namespace) -> None:
    emit(args, run_filters(args.model, args.out, n=args.n),
         lambda r: f"saved {r['n']} filters to {r['out']}")


def register(subparsers: argparse._SubParsersAction) -> None:
    sub = add_group(subparsers, "rbm", "restricted Boltzmann machines: train, evaluate, sample",
                    description="Restricted Boltzmann machines (Bernoulli or Gaussian visible "
                    "units) trained by CD-k, persistent CD or parallel tempering, optionally "
                    "centred, with log Z by AIS and reverse AIS (a lower and an upper "
                    "estimate) and, for small models, by exact enumeration.")
    p = add_command(sub, "train", cmd_train, "train an RBM and save it",
                    examples="genlab rbm train mnist5k --out rbm500\n"
                             "genlab rbm train mnist5k --hidden 500 --no-centering --k 5 "
                             "--epochs 30 --lr 0.05 --out pcd5\n"
                             "genlab rbm train digits --hidden 16 --method cd --k 3 --out small "
                             "--json\n"
                             "genlab rbm train mnist5k --out rbm500 --resume\n"
                             "genlab rbm train digits --hidden 16 --method pt --pt-chains 10 "
                             "--out tempered\n"
                             "genlab rbm train mnist5k --visible gaussian --hidden 100 "
                             "--lr 0.001 --out grbm")
    _data_options(p)
    add_checkpointed_output(p, "OUT")
    p.add_argument("--hidden", type=positive_int, default=TRAIN_DEFAULTS.hidden,
                   help="number of hidden units")
    p.add_argument("--visible", choices=VISIBLE_UNITS, default="bernoulli",
                   help="visible units (for bernoulli, data are thresholded at 0.5 unless "
                        "--binarize says otherwise)")
    p.add_argument("--method", choices=("cd", "pcd", "pt"), default=TRAIN_DEFAULTS.method,
                   help="cd (chains restart at the data), pcd (persistent chains) or pt "
                        "(persistent parallel tempering: each chain a ladder of tempered "
                        "replicas that swap states)")
    p.add_argument("--k", type=positive_int, default=TRAIN_DEFAULTS.k,
                   help="Gibbs sweeps per update (for pt: at every temperature)")
    p.add_argument("--pt-chains", type=_at_least(2), default=None,
                   help="pt: tempered replicas per chain, at inverse temperatures spaced "
                        f"linearly up to 1 (if not given: {TRAIN_DEFAULTS.pt_chains})")
    p.add_argument("--centering", action=argparse.BooleanOptionalAction, default=None,
                   help="train the centred RBM (Melchior et al. 2016): the gradient with "
                        "offsets that follow the visible means and hidden activations; "
                        "the saved model is the plain RBM; Bernoulli visible units only "
                        f"(if not given: {'on' if TRAIN_DEFAULTS.centered else 'off'} for "
                        "bernoulli units, off for gaussian)")
    p.add_argument("--centering-rate", type=_rate, default=None,
                   help="centred runs: the offsets' sliding factor in (0, 1] (if not given: "
                        f"{TRAIN_DEFAULTS.centering_rate:g})")
    p.add_argument("--epochs", type=positive_int, default=TRAIN_DEFAULTS.epochs,
                   help="passes over the data")
    p.add_argument("--lr", type=positive_float, default=TRAIN_DEFAULTS.lr, help="learning rate")
    p.add_argument("--batch-size", type=positive_int, default=TRAIN_DEFAULTS.batch_size,
                   help="mini-batch size (also the number of persistent chains)")
    p.add_argument("--momentum", type=probability, default=TRAIN_DEFAULTS.momentum,
                   help="momentum in [0, 1)")
    p.add_argument("--weight-decay", type=nonneg_float, default=TRAIN_DEFAULTS.weight_decay,
                   help="L2 penalty on W")
    p.add_argument("--schedule", choices=("constant", "linear"),
                   default=TRAIN_DEFAULTS.schedule,
                   help="learning-rate schedule (linear decays to 0)")
    p.add_argument("--sigma", type=positive_float, default=None,
                   help="Gaussian units: initial (or fixed) standard deviation (if not given: 1)")
    p.add_argument("--fixed-variance", action="store_true",
                   help="Gaussian units: keep sigma fixed instead of learning it")
    add_threads(p)
    p.add_argument("--verbose", action="store_true",
                   help="log the pseudo-likelihood after every epoch")

    p = add_command(sub, "eval", cmd_eval, "log Z (AIS and reverse AIS, and exact when small) "
                    "and the average log-likelihood of data",
                    examples="genlab rbm eval rbm500 mnist5k --split test --json\n"
                             "genlab rbm eval small digits --split test --ais-runs 100 "
                             "--ais-betas 5000\n"
                             "genlab rbm eval rbm500 mnist5k --no-reverse-ais")
    p.add_argument("model", type=input_name, help="model name given to 'genlab rbm train --out'")
    _data_options(p)
    p.set_defaults(split="test")
    p.add_argument("--ais-runs", type=_at_least(2), default=100,
                   help="independent AIS runs, at least 2")
    p.add_argument("--ais-betas", type=_at_least(3), default=10000,
                   help="intermediate distributions, at least 3")
    p.add_argument("--ais-layer", choices=AIS_LAYERS, default="auto",
                   help="the layer AIS anneals over: auto (hidden when it has at most "
                        "20 units and is the smaller layer, else visible), visible "
                        "(Salakhutdinov and Murray's base-rate model) or hidden")
    p.add_argument("--reverse-ais", action=argparse.BooleanOptionalAction, default=True,
                   help="also estimate log Z by reverse AIS over the same path (an upper "
                        "estimate beside AIS's lower one), so that the log-likelihood is "
                        "reported between a lower and an upper estimate; it costs "
                        "--ais-betas plus --reverse-burn-in Gibbs sweeps, about as much "
                        "again as AIS")
    p.add_argument("--reverse-burn-in", type=nonneg_int, default=REVERSE_BURN_IN,
                   help="Gibbs sweeps of the RBM's chains whose last states start the "
                        "reverse AIS runs (approximate samples of the model)")
    p.add_argument("--raise-runs", type=_zero_or_at_least(2), default=0,
                   help="RAISE: reverse AIS runs started at each example, for a lower "
                        "estimate of the annealing model's log-likelihood without log Z; "
                        "0 switches it off; it costs examples x runs x (--raise-betas + 1) "
                        "Gibbs sweeps")
    p.add_argument("--raise-betas", type=_at_least(3), default=1000,
                   help="RAISE: intermediate distributions, at least 3")
    add_threads(p)

    p = add_command(sub, "sample", cmd_sample, "save a grid of samples from long Gibbs chains",
                    examples="genlab rbm sample rbm500 --n 64 --steps 1000 --out samples.png")
    p.add_argument("model", type=input_name, help="model name given to 'genlab rbm train --out'")
    p.add_argument("--n", type=positive_int, default=64, help="number of chains")
    p.add_argument("--steps", type=positive_int, default=1000,
                   help="Gibbs sweeps per chain")
    p.add_argument("--out", type=output_file, default="samples.png",
                   help="PNG to write")
    add_threads(p)

    p = add_command(sub, "filters", cmd_filters, "save a grid of the learned filters (rows of W)",
                    examples="genlab rbm filters rbm500 --n 100 --out filters.png", seed=False,
                    device=False)
    p.add_argument("model", type=input_name, help="model name given to 'genlab rbm train --out'")
    p.add_argument("--n", type=positive_int, default=100, help="how many filters")
    p.add_argument("--out", type=output_file, default="filters.png",
                   help="PNG to write")

