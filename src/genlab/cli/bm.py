"""``genlab bm``: sample, enumerate, bound and train fully connected Boltzmann machines.

Each command parses its flags, reads its inputs, calls one task of
:mod:`genlab.boltzmann.tasks` and prints the result.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from genlab.boltzmann.boltzmann import (
    BoltzmannMachine,
    check_spins,
    check_weights,
)
from genlab.boltzmann.exact import MAX_EXACT_UNITS
from genlab.boltzmann.gibbs import ORDERS
from genlab.boltzmann.learning import METHODS, BMTrainConfig
from genlab.boltzmann.tasks import (
    EncoderStudy,
    MeanFieldReport,
    SampleReport,
    TrainReport,
    encoder_study,
    exact_report,
    mean_field_report,
    sample_report,
    train_machine,
)
from genlab.checkpoints import prepare_output
from genlab.cli.common import (
    MAX_SEED,
    add_checkpointed_output,
    add_command,
    add_group,
    data_source,
    emit,
    existing_dir,
    existing_file,
    finite_float,
    input_name,
    nonneg_float,
    nonneg_int,
    output_file,
    positive_float,
    positive_int,
    probability,
)
from genlab.data import load_dataset
from genlab.data.npfiles import read_npy
from genlab.device import make_generator
from genlab.errors import GenlabError


def noise_probability(text: str) -> float:
    """argparse type: a flip probability in [0, 0.5)."""
    value = finite_float(text)
    if not 0.0 <= value < 0.5:
        raise argparse.ArgumentTypeError(f"expected a probability in [0, 0.5), got {text!r}")
    return value


def _load_npy(path: str, what: str) -> torch.Tensor:
    p = Path(path)
    if not p.is_file():
        raise GenlabError(f"{what} file {path} not found")
    arr = read_npy(p, what)  # numbers only: refuses empty, damaged and non-numeric files
    return torch.from_numpy(np.ascontiguousarray(arr).astype(np.float64))


def _load_machine(args: argparse.Namespace) -> tuple[torch.Tensor, torch.Tensor]:
    """W, b (float64, CPU) from ``--weights/--bias`` or ``--model``."""
    if (args.weights is None) == (args.model is None):
        raise GenlabError("give exactly one of --weights W.npy or --model MODEL")
    if args.model is not None:
        m = BoltzmannMachine.load(args.model)
        if args.bias is not None:
            raise GenlabError("--bias goes with --weights, not with --model")
        return m.weights.double(), m.bias.double()
    w = _load_npy(args.weights, "weights")
    b = None if args.bias is None else _load_npy(args.bias, "bias")
    return check_weights(w, b)


def _machine_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--weights", type=existing_file,
                   help="W as an (n, n) .npy: symmetric, zero diagonal")
    p.add_argument("--bias", type=existing_file, help="b as an (n,) .npy (if not given: zeros)")
    p.add_argument("--model", type=input_name,
                   help="a machine saved by 'genlab bm train' instead of --weights")
    p.add_argument("--beta", type=finite_float, default=1.0,
                   help="inverse temperature beta >= 0")


def _check_beta(beta: float) -> None:
    if beta < 0:
        raise GenlabError(f"--beta must be >= 0, got {beta}")


def cmd_sample(args: argparse.Namespace) -> None:
    w, b = _load_machine(args)
    _check_beta(args.beta)
    result = sample_report(w, b, args.beta, args.chains, args.samples, args.burn_in, args.thin,
                           args.order, args.seed, args.device, args.float64,
                           args.correlations, args.out, args.plot_trace)
    emit(args, result, _sample_text(result))


def _sample_text(r: SampleReport) -> str:
    n = r.n_units
    lines = [f"{r.chains} chains x {r.samples} samples of {n} units "
             f"(beta {r.beta}) in {r.seconds:.2f} s; max R-hat {r.max_rhat:.3f}",
             f"{'unit':>5} {'mean':>9} {'mcse':>8} {'ess':>8} {'rhat':>6}"]
    for k in range(min(n, 20)):
        lines.append(f"{k:>5} {float(r.mean[k]):>9.4f} {float(r.mean_mcse[k]):>8.4f} "
                     f"{float(r.mean_ess[k]):>8.0f} {float(r.mean_rhat[k]):>6.3f}")
    if n > 20:
        lines.append(f"  ... {n - 20} more units (use --json)")
    if r.out is not None:
        lines.append(f"samples (samples, chains, units) saved to {r.out}")
    return "\n".join(lines)


def cmd_exact(args: argparse.Namespace) -> None:
    w, b = _load_machine(args)
    _check_beta(args.beta)
    result = exact_report(w, b, args.beta)
    emit(args, result, f"log Z = {result.log_z:.6f}\nmeans: "
         + " ".join(f"{float(m):.4f}" for m in result.mean))


def cmd_meanfield(args: argparse.Namespace) -> None:
    w, b = _load_machine(args)
    _check_beta(args.beta)
    result = mean_field_report(w, b, args.beta, args.damping, args.tol, args.max_iter,
                               args.restarts, args.seed)
    emit(args, result, _meanfield_text(result))


def _meanfield_text(r: MeanFieldReport) -> str:
    line = f"log Z >= -F = {r.log_z_bound:.6f} ({r.iterations} iterations" \
           f"{', converged' if r.converged else ', NOT converged'})"
    if r.log_z is not None:
        line += f"\nexact log Z = {r.log_z:.6f}, KL(Q||P) = {r.kl:.6f}"
    return line


def _load_train_data(args: argparse.Namespace) -> torch.Tensor:
    if args.data.endswith(".npy"):
        given = [flag for flag, value in (("--split", args.split), ("--binarize", args.binarize),
                                          ("--data-dir", args.data_dir)) if value is not None]
        if given:  # a file of rows has no splits and is already ±1: the flag would do nothing
            raise GenlabError(f"{' and '.join(given)} choose{'s' if len(given) == 1 else ''} "
                              f"how a named data set is read, not a .npy of ±1 rows like "
                              f"{args.data}; drop {'it' if len(given) == 1 else 'them'}")
        x = _load_npy(args.data, "data")
        if x.ndim != 2:
            raise GenlabError(f"{args.data}: data must be (rows, units), got {tuple(x.shape)}")
        x = check_spins(x, x.shape[1], f"{args.data}: data rows")
        return x[: args.limit] if args.limit else x
    data = load_dataset(args.data, split=args.split or "train",
                        binarize=args.binarize or "threshold", spins=True,
                        limit=args.limit, data_dir=args.data_dir)
    return data.draw(make_generator(args.seed))


def _check_train_options(args: argparse.Namespace) -> None:
    """Options the chosen method (or a machine without hidden units) does not use: given,
    they would be ignored without a word."""
    unused = []
    if args.method == "exact":   # both phases are enumerated: no chains, no sweeps
        unused = [f for f, v in (("--chains", args.chains), ("--sweeps", args.sweeps),
                                 ("--clamped-sweeps", args.clamped_sweeps)) if v is not None]
        why = "--method exact enumerates every state"
    elif args.hidden == 0 and args.clamped_sweeps is not None:
        unused, why = ["--clamped-sweeps"], "a machine without --hidden units has none to sweep"
    if unused:
        raise GenlabError(f"{' and '.join(unused)} {'is' if len(unused) == 1 else 'are'} not "
                          f"used: {why}; drop {'it' if len(unused) == 1 else 'them'}")


def _train_config(args: argparse.Namespace) -> BMTrainConfig:
    return BMTrainConfig(n_hidden=args.hidden, epochs=args.epochs, batch_size=args.batch_size,
                         lr=args.lr, lr_decay=args.lr_decay, momentum=args.momentum,
                         weight_decay=args.weight_decay, method=args.method,
                         **{k: v for k, v in (("n_chains", args.chains),
                                              ("sweeps", args.sweeps),
                                              ("clamped_sweeps", args.clamped_sweeps))
                            if v is not None},   # the rest keep BMTrainConfig's defaults
                         eval_every=args.eval_every,
                         data_noise=args.data_noise)


def cmd_train(args: argparse.Namespace) -> None:
    _check_train_options(args)
    prepare_output(args.out, args.resume, args.overwrite, check_only=True)  # before the data
    result = train_machine(_load_train_data(args), _train_config(args), args.out, args.seed,
                           args.device, args.resume, args.overwrite, args.plot, args.data)
    emit(args, result, _train_text(result))


def _train_text(r: TrainReport) -> str:
    return (f"trained {r.n_visible}+{r.n_hidden} units, {r.updates} updates in "
            f"{r.seconds:.1f} s; saved to {r.out}"
            + (f"; exact log-likelihood {r.log_likelihood:.4f}"
               if r.log_likelihood is not None else ""))


def cmd_encoder(args: argparse.Namespace) -> None:
    if args.seed + args.seeds - 1 > MAX_SEED:  # seeds S .. S + seeds - 1 are each run
        raise GenlabError(f"--seed {args.seed} with --seeds {args.seeds} goes past the "
                          f"largest seed {MAX_SEED}; give a smaller --seed")
    result = encoder_study(args.seed, args.seeds, args.groups, args.hidden, args.epochs,
                           args.method, args.lr, args.momentum, args.data_noise, args.device)
    emit(args, result, _encoder_text(result))


def _encoder_text(r: EncoderStudy) -> str:
    return (f"{r.problem}: solved {r.solved}/{r.seeds} (median {r.median_updates} updates, "
            f"max {r.max_updates})")


def register(subparsers: argparse._SubParsersAction) -> None:
    sub = add_group(subparsers, "bm", "fully connected Boltzmann machines on ±1 units",
                    description="Boltzmann machines: E(x) = -1/2 x'Wx - b'x, "
                                "P(x) = exp(-beta E(x)) / Z, units x_i in {-1, +1}.")
    p = add_command(sub, "sample", cmd_sample,
                    "Gibbs-sample many chains; means, correlations, MCSE and R-hat",
                    examples="genlab bm sample --weights W.npy --bias b.npy --beta 0.5 "
                             "--chains 64 --samples 2000 --burn-in 200 --json\n"
                             "genlab bm sample --model bm --correlations --out X.npy "
                             "--plot-trace trace.png")
    _machine_options(p)
    p.add_argument("--chains", type=positive_int, default=16, help="parallel chains (16)")
    p.add_argument("--samples", type=positive_int, default=1000,
                   help="kept samples per chain (1000)")
    p.add_argument("--burn-in", type=nonneg_int, default=100, help="sweeps discarded (100)")
    p.add_argument("--thin", type=positive_int, default=1, help="keep every k-th sweep (1)")
    p.add_argument("--order", choices=ORDERS, default="fixed",
                   help="sweep order: fixed 0..n-1 or a random permutation each sweep")
    p.add_argument("--correlations", action="store_true",
                   help="also report <x_i x_j> with its MCSE")
    p.add_argument("--float64", action="store_true", help="compute in float64")
    p.add_argument("--out", type=output_file,
                   help="save the samples (samples, chains, units) int8 as .npy")
    p.add_argument("--plot-trace", type=output_file,
                   help="save per-chain energy traces (every sweep) as a PNG")

    p = add_command(sub, "exact", cmd_exact, "log Z, means and correlations by enumeration "
                    f"(n <= {MAX_EXACT_UNITS})",
                    examples="genlab bm exact --weights W.npy --bias b.npy --json\n"
                             "genlab bm exact --model bm --beta 2", seed=False, device=False)
    _machine_options(p)

    p = add_command(sub, "meanfield", cmd_meanfield,
                    "the mean-field bound log Z >= -F (beside exact log Z when small)",
                    examples="genlab bm meanfield --weights W.npy --beta 0.5 --json\n"
                             "genlab bm meanfield --model bm --damping 0.3 --restarts 16",
                    device=False)
    _machine_options(p)
    p.add_argument("--damping", type=probability, default=0.5,
                   help="lambda in m <- (1-lambda) m + lambda tanh(beta(Wm+b)) (0.5)")
    p.add_argument("--restarts", type=positive_int, default=8, help="random starts (8)")
    p.add_argument("--max-iter", type=positive_int, default=2000, help="iteration cap (2000)")
    p.add_argument("--tol", type=positive_float, default=1e-10,
                   help="stop when max |dm| < tol (1e-10)")

    p = add_command(sub, "train", cmd_train,
                    "fit a machine (optionally with hidden units) to ±1 data",
                    examples="genlab bm train rows.npy --epochs 50 --out bm --json\n"
                             "genlab bm train rows.npy --hidden 4 --method exact --out bm\n"
                             "genlab bm train digits --limit 500 --epochs 5 --out digits_bm\n"
                             "genlab bm train digits --limit 500 --epochs 5 --out digits_bm "
                             "--resume")
    p.add_argument("data", metavar="DATA", type=data_source,
                   help="a .npy of -1/+1 rows, or a data set name (digits, mnist5k, "
                        "fashion-mnist), thresholded at 0.5 and mapped to ±1")
    p.add_argument("--split", default=None, choices=("train", "test", "all"),
                   help="data set split (train); not for a .npy of rows")
    p.add_argument("--binarize", default=None, choices=("threshold", "bernoulli"),
                   help="data set binarisation to ±1 units: threshold at 0.5 (if not given) or "
                        "bernoulli; not for a .npy of rows")
    p.add_argument("--limit", type=positive_int, default=None, help="use at most N rows")
    p.add_argument("--data-dir", type=existing_dir, default=None,
                   help="folder holding data files; not for a .npy of rows")
    p.add_argument("--hidden", type=nonneg_int, default=0, help="hidden units (0)")
    p.add_argument("--epochs", type=positive_int, default=50, help="passes over the data (50)")
    p.add_argument("--method", choices=METHODS, default="pcd",
                   help="exact (n <= 20) | pcd | fresh (pcd)")
    p.add_argument("--batch-size", type=positive_int, default=100, help="rows per update")
    p.add_argument("--lr", type=positive_float, default=0.05, help="learning rate (0.05)")
    p.add_argument("--lr-decay", type=nonneg_float, default=0.0,
                   help="eta_t = eta / (1 + decay t) (0)")
    p.add_argument("--momentum", type=probability, default=0.5, help="momentum (0.5)")
    p.add_argument("--weight-decay", type=nonneg_float, default=0.0, help="L2 on W (0)")
    p.add_argument("--chains", type=positive_int, default=None,
                   help="free-phase chains (100); not for --method exact")
    p.add_argument("--sweeps", type=positive_int, default=None,
                   help="free sweeps per update (1); not for --method exact")
    p.add_argument("--clamped-sweeps", type=positive_int, default=None,
                   help="hidden-unit sweeps per update with the data clamped (2); needs "
                        "--hidden units, not for --method exact")
    p.add_argument("--eval-every", type=positive_int, default=1,
                   help="epochs between exact log-likelihood evaluations (1)")
    p.add_argument("--data-noise", type=noise_probability, default=0.0,
                   help="flip each clamped visible bit with this probability per update (0)")
    p.add_argument("--plot", type=output_file, default=None,
                   help="save the training curve as this PNG")
    add_checkpointed_output(p)

    p = add_command(sub, "encoder", cmd_encoder,
                    "the 4-2-4 encoder problem (Ackley, Hinton & Sejnowski 1985) over seeds",
                    examples="genlab bm encoder --seeds 20 --json\n"
                             "genlab bm encoder --method pcd --seeds 20")
    p.add_argument("--seeds", type=positive_int, default=20, help="seeds to try (20)")
    p.add_argument("--groups", type=positive_int, default=4, help="units per visible group")
    p.add_argument("--hidden", type=positive_int, default=2, help="hidden units (2)")
    p.add_argument("--epochs", type=positive_int, default=2000, help="update cap per seed")
    p.add_argument("--method", choices=METHODS, default="exact", help="exact | pcd | fresh")
    p.add_argument("--lr", type=positive_float, default=None, help="learning rate (0.05)")
    p.add_argument("--momentum", type=probability, default=None,
                   help="momentum (0.9 for exact, 0.5 for pcd and fresh)")
    p.add_argument("--data-noise", type=noise_probability, default=0.05,
                   help="noisy clamping: flip probability of each clamped bit (0.05)")

