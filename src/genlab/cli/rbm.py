"""``genlab rbm``: train restricted Boltzmann machines, measure their log-likelihood, sample
from them and look at their filters."""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import torch

from genlab.checkpoints import checkpoint_beside, prepare_output
from genlab.cli.common import (
    add_checkpointed_output,
    add_command,
    add_data_options,
    add_group,
    emit,
    input_name,
    nonneg_float,
    output_file,
    positive_float,
    positive_int,
    probability,
    thread_count,
)
from genlab.data import ImageDataset, load_dataset
from genlab.device import resolve_device
from genlab.errors import GenlabError
from genlab.io import delete_model
from genlab.progress import log
from genlab.rbm import BaseRBM, BernoulliRBM, GaussianBernoulliRBM, load_rbm
from genlab.rbm.partition import AIS_LAYERS, MAX_EXACT_UNITS
from genlab.rbm.plots import image_shape_of, plot_filters, plot_samples

EXACT_UNITS = 20  # exact log Z is reported beside AIS when a layer has at most this many units


def _data_options(parser: argparse.ArgumentParser) -> None:
    """The common data options, with binarisation defaulting to the model's needs."""
    add_data_options(parser, positional=True)
    for action in parser._actions:
        if action.dest == "binarize":
            action.default = None
            action.help = ("none, threshold at 0.5, or bernoulli resampling (if not given: "
                           "threshold for Bernoulli units, none for Gaussian units; eval uses "
                           "the model's)")


def _set_threads(args: argparse.Namespace) -> None:
    if getattr(args, "threads", None):
        torch.set_num_threads(args.threads)


def _add_threads(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--threads", type=thread_count, default=None,
                        help="CPU threads for torch (if not given: torch's choice); 1 is fastest "
                             "for small models on a busy machine")


def _at_least(low: int):
    """argparse type: an integer >= ``low`` (AIS needs two runs to estimate its error, and
    three distributions: the base, one between, the model)."""
    def parse(text: str) -> int:
        value = positive_int(text)
        if value < low:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {value}")
        return value
    return parse


def _load_data(args: argparse.Namespace, binarize: str | None = None) -> ImageDataset:
    return load_dataset(args.data, split=args.split, binarize=binarize or args.binarize,
                        limit=args.limit, data_dir=args.data_dir)


def _matrix(data: ImageDataset, seed: int) -> np.ndarray:
    return data.draw(torch.Generator().manual_seed(seed)).numpy()


def _check_features(model: BaseRBM, X: np.ndarray, what: str) -> None:
    if X.shape[1] != model.n_features_in_:
        raise GenlabError(f"{what} has {X.shape[1]} features per example but the model was "
                          f"trained on {model.n_features_in_}; use the data set it was "
                          "trained on")


def _exact_units(model: BaseRBM) -> int:
    n_h, n_v = model.components_.shape
    return n_h if isinstance(model, GaussianBernoulliRBM) else min(n_h, n_v)


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


def _check_binary(model: BaseRBM, X: np.ndarray, data: ImageDataset, binarize: str) -> None:
    """A Bernoulli RBM gives probabilities to 0/1 vectors only: a log-likelihood of grey
    levels would be a number without meaning."""
    if isinstance(model, BernoulliRBM) and not bool(np.isin(X, (0.0, 1.0)).all()):
        odd = X[~np.isin(X, (0.0, 1.0))].flat[0]
        raise GenlabError(f"a Bernoulli RBM's log-likelihood needs 0/1 data, but {data.name} "
                          f"with --binarize {binarize} holds values like {odd:g}; use "
                          "--binarize threshold or bernoulli")


def cmd_train(args: argparse.Namespace) -> None:
    _set_threads(args)
    _check_visible_options(args)
    prepare_output(args.out, args.resume, args.overwrite, check_only=True)
    device = resolve_device(args.device)
    binarize = args.binarize or ("threshold" if args.visible == "bernoulli" else "none")
    data = _load_data(args, binarize)
    X = _matrix(data, args.seed)
    cls = BernoulliRBM if args.visible == "bernoulli" else GaussianBernoulliRBM
    kwargs: dict[str, Any] = dict(
        learning_rate=args.lr, batch_size=args.batch_size, n_iter=args.epochs,
        random_state=args.seed, method=args.method, k=args.k, momentum=args.momentum,
        weight_decay=args.weight_decay, learning_rate_schedule=args.schedule,
        device=str(device), verbose=int(args.verbose))
    if cls is GaussianBernoulliRBM:
        kwargs.update(sigma=1.0 if args.sigma is None else args.sigma,
                      learn_variance=not args.fixed_variance)
    model = cls(args.hidden, **kwargs)
    try:
        model._validate_params()
    except ValueError as exc:
        raise GenlabError(f"bad training option: {exc}") from None
    model.check_fit_memory(X.shape[1], X.shape[0])
    resume = prepare_output(args.out, args.resume, args.overwrite)
    if not resume:  # a resumed fit says where it goes on, once it has checked the checkpoint
        log(f"training a {cls.__name__} with {args.hidden} hidden units on {len(X)} examples "
            f"of {data.name} ({args.method.upper()}-{args.k}, {args.epochs} epochs, {device})")
    start = time.perf_counter()
    try:
        model.fit(X, checkpoint=checkpoint_beside(args.out), resume=resume,
                  keep_checkpoint=True)
    except ValueError as exc:
        raise GenlabError(f"cannot train on {data.name}: {exc}") from None
    seconds = time.perf_counter() - start
    result: dict[str, Any] = {
        "out": str(args.out), "model": cls.__name__, "data": data.name, "split": data.split,
        "binarize": binarize, "n_train": len(X), "n_visible": int(X.shape[1]),
        "n_hidden": args.hidden, "method": args.method, "k": args.k, "epochs": args.epochs,
        "batch_size": args.batch_size, "learning_rate": args.lr, "seconds": seconds,
        "seconds_per_epoch": seconds / max(args.epochs, 1), "device": str(device)}
    if _exact_units(model) <= EXACT_UNITS:
        log_z = model.exact_log_partition()
        result["exact_log_z"] = log_z
        result["train_log_likelihood"] = model.log_likelihood(X, log_z=log_z)
    meta = {"data": data.name, "split": data.split, "binarize": binarize,
            "image_shape": list(data.image_shape), "seed": args.seed,
            "train_seconds": seconds, "n_train": len(X)}
    model.save(args.out, meta=meta)
    delete_model(checkpoint_beside(args.out))
    emit(args, result, lambda r: f"trained {r['model']} ({r['n_hidden']} hidden) on "
         f"{r['n_train']} examples in {r['seconds']:.1f} s; saved to {r['out']}")


def cmd_eval(args: argparse.Namespace) -> None:
    _set_threads(args)
    model = load_rbm(args.model, device=str(resolve_device(args.device)))
    binarize = args.binarize or model.meta_.get("binarize", "threshold")
    data = _load_data(args, binarize)
    X = _matrix(data, args.seed)
    _check_features(model, X, data.name)
    _check_binary(model, X, data, binarize)
    start = time.perf_counter()
    ais = model.ais_log_partition(n_runs=args.ais_runs, n_betas=args.ais_betas, seed=args.seed,
                                  layer=args.ais_layer)
    ais_seconds = time.perf_counter() - start
    fe = model.free_energy(X).astype(np.float64)
    result: dict[str, Any] = {
        "model": str(args.model), "kind": type(model).__name__, "data": data.name,
        "split": data.split, "binarize": binarize, "n_examples": len(X),
        "n_hidden": int(model.n_components), "log_z": ais.log_z, "log_z_std_err": ais.std_err,
        "log_z_low": ais.log_z_low, "log_z_high": ais.log_z_high,
        "log_likelihood": float(-fe.mean() - ais.log_z),
        "ais_runs": ais.n_runs, "ais_betas": ais.n_betas,
        "ais_layer": ais.layer, "ais_seconds": ais_seconds}
    if isinstance(model, BernoulliRBM):
        result["pseudo_likelihood"] = float(np.mean(model.score_samples(X)))
    if _exact_units(model) <= min(EXACT_UNITS, MAX_EXACT_UNITS):
        exact = model.exact_log_partition()
        result["exact_log_z"] = exact
        result["exact_log_likelihood"] = float(-fe.mean() - exact)
    emit(args, result, _eval_text)


def _eval_text(r: dict[str, Any]) -> str:
    lines = [f"{r['kind']} on {r['n_examples']} {r['data']} ({r['split']}) examples",
             f"log Z (AIS over the {r['ais_layer']} units, {r['ais_runs']} runs x "
             f"{r['ais_betas']} betas): "
             f"{r['log_z']:.3f} +- {r['log_z_std_err']:.3f}",
             f"average log-likelihood: {r['log_likelihood']:.3f} nats"]
    if "exact_log_z" in r:
        lines.append(f"exact log Z: {r['exact_log_z']:.3f}; exact average log-likelihood: "
                     f"{r['exact_log_likelihood']:.3f} nats")
    if "pseudo_likelihood" in r:
        lines.append(f"pseudo-likelihood (scikit-learn's score): {r['pseudo_likelihood']:.3f}")
    return "\n".join(lines)


def cmd_sample(args: argparse.Namespace) -> None:
    _set_threads(args)
    model = load_rbm(args.model, device=str(resolve_device(args.device)))
    model.set_params(random_state=args.seed)
    if hasattr(model, "random_state_"):
        del model.random_state_
    samples = model.sample(args.n, n_steps=args.steps)
    shape = image_shape_of(samples.shape[1], model.meta_.get("image_shape"))
    gaussian = isinstance(model, GaussianBernoulliRBM)
    plot_samples(samples, args.out, image_shape=shape,
                 title=f"{args.n} samples after {args.steps} Gibbs sweeps",
                 vmin=None if gaussian else 0.0, vmax=None if gaussian else 1.0)
    emit(args, {"model": str(args.model), "out": str(args.out), "n": args.n,
                "steps": args.steps, "mean": float(samples.mean())},
         lambda r: f"saved {r['n']} samples ({r['steps']} Gibbs sweeps) to {r['out']}")


def cmd_filters(args: argparse.Namespace) -> None:
    model = load_rbm(args.model, device="cpu")
    w = model.components_
    n = min(args.n, w.shape[0])
    shape = image_shape_of(w.shape[1], model.meta_.get("image_shape"))
    if shape is None:
        raise GenlabError(f"the model's {w.shape[1]} visible units do not form an image; "
                          "filters can only be drawn for image data")
    plot_filters(w, args.out, n=n, image_shape=shape, title=f"{n} of {w.shape[0]} filters")
    emit(args, {"model": str(args.model), "out": str(args.out), "n": n,
                "n_hidden": int(w.shape[0]), "image_shape": list(shape),
                "weight_min": float(w.min()), "weight_max": float(w.max())},
         lambda r: f"saved {r['n']} filters to {r['out']}")


def register(subparsers: argparse._SubParsersAction) -> None:
    sub = add_group(subparsers, "rbm", "restricted Boltzmann machines: train, evaluate, sample",
                    description="Restricted Boltzmann machines (Bernoulli or Gaussian visible "
                    "units) trained by CD-k or persistent CD, with log Z by AIS and, for small "
                    "models, by exact enumeration.")
    p = add_command(sub, "train", cmd_train, "train an RBM and save it",
                    examples="genlab rbm train mnist5k --hidden 500 --method pcd --epochs 20 "
                             "--out rbm500\n"
                             "genlab rbm train digits --hidden 16 --method cd --k 3 --out small "
                             "--json\n"
                             "genlab rbm train mnist5k --hidden 500 --epochs 20 --out rbm500 "
                             "--resume\n"
                             "genlab rbm train mnist5k --visible gaussian --hidden 100 "
                             "--lr 0.001 --out grbm")
    _data_options(p)
    add_checkpointed_output(p, "OUT")
    p.add_argument("--hidden", type=positive_int, default=500,
                   help="number of hidden units")
    p.add_argument("--visible", choices=("bernoulli", "gaussian"), default="bernoulli",
                   help="visible units (for bernoulli, data are thresholded at 0.5 unless "
                        "--binarize says otherwise)")
    p.add_argument("--method", choices=("cd", "pcd"), default="pcd",
                   help="cd (chains restart at the data) or pcd (persistent chains)")
    p.add_argument("--k", type=positive_int, default=1, help="Gibbs sweeps per update")
    p.add_argument("--epochs", type=positive_int, default=10, help="passes over the data")
    p.add_argument("--lr", type=positive_float, default=0.05, help="learning rate")
    p.add_argument("--batch-size", type=positive_int, default=20, help="mini-batch size")
    p.add_argument("--momentum", type=probability, default=0.0, help="momentum in [0, 1)")
    p.add_argument("--weight-decay", type=nonneg_float, default=0.0, help="L2 penalty on W")
    p.add_argument("--schedule", choices=("constant", "linear"), default="constant",
                   help="learning-rate schedule (linear decays to 0)")
    p.add_argument("--sigma", type=positive_float, default=None,
                   help="Gaussian units: initial (or fixed) standard deviation (if not given: 1)")
    p.add_argument("--fixed-variance", action="store_true",
                   help="Gaussian units: keep sigma fixed instead of learning it")
    _add_threads(p)
    p.add_argument("--verbose", action="store_true",
                   help="log the pseudo-likelihood after every epoch")

    p = add_command(sub, "eval", cmd_eval, "log Z (AIS, and exact when small) and the average "
                    "log-likelihood of data",
                    examples="genlab rbm eval rbm500 mnist5k --split test --json\n"
                             "genlab rbm eval small digits --split test --ais-runs 100 "
                             "--ais-betas 5000")
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
    _add_threads(p)

    p = add_command(sub, "sample", cmd_sample, "save a grid of samples from long Gibbs chains",
                    examples="genlab rbm sample rbm500 --n 64 --steps 1000 --out samples.png")
    p.add_argument("model", type=input_name, help="model name given to 'genlab rbm train --out'")
    p.add_argument("--n", type=positive_int, default=64, help="number of chains")
    p.add_argument("--steps", type=positive_int, default=1000,
                   help="Gibbs sweeps per chain")
    p.add_argument("--out", type=output_file, default="samples.png",
                   help="PNG to write")
    _add_threads(p)

    p = add_command(sub, "filters", cmd_filters, "save a grid of the learned filters (rows of W)",
                    examples="genlab rbm filters rbm500 --n 100 --out filters.png", seed=False,
                    device=False)
    p.add_argument("model", type=input_name, help="model name given to 'genlab rbm train --out'")
    p.add_argument("--n", type=positive_int, default=100, help="how many filters")
    p.add_argument("--out", type=output_file, default="filters.png",
                   help="PNG to write")

