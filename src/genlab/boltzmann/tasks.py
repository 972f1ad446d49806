"""The tasks of ``genlab bm``: one function per command, each returning a typed result.

* ``genlab bm sample``: :func:`sample_report` -> :class:`SampleReport`, the means and
  correlations of Gibbs chains with their MCSE, ESS and R-hat;
* ``genlab bm exact``: :func:`exact_report` -> :class:`ExactReport`, ``log Z``, ``<x_i>``
  and ``<x_i x_j>`` by enumeration;
* ``genlab bm meanfield``: :func:`mean_field_report` -> :class:`MeanFieldReport`, the bound
  ``log Z >= -F`` and its gap ``KL(Q || P)`` to the exact value;
* ``genlab bm train``: :func:`train_machine` -> :class:`TrainReport`, a fitted machine, saved;
* ``genlab bm encoder``: :func:`encoder_study` -> :class:`EncoderStudy`, the encoder problem
  over seeds.

Each writes the files it is given paths for (samples, figures, the model) and returns what the
command prints; :meth:`~genlab.results.Result.to_dict` gives the command's JSON keys.
"""

from __future__ import annotations

import io
import os
import time
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genlab.boltzmann.boltzmann import BoltzmannMachine, check_energy_scale, check_weights
from genlab.boltzmann.diagnostics import pair_correlations, summarize, summary_memory
from genlab.boltzmann.encoder import (
    EncoderRun,
    encoder_config,
    solve_statistics,
    train_encoder,
)
from genlab.boltzmann.exact import MAX_EXACT_UNITS, exact_moments
from genlab.boltzmann.gibbs import sample, sample_memory
from genlab.boltzmann.learning import (
    BMTrainConfig,
    check_train_memory,
    config_dict,
    final_log_likelihood,
    fit_boltzmann,
)
from genlab.boltzmann.meanfield import mean_field, mean_field_kl
from genlab.checkpoints import checkpoint_beside, prepare_output
from genlab.device import make_generator, resolve_device
from genlab.errors import GenlabError
from genlab.io import atomic_write_bytes, delete_model, to_jsonable
from genlab.memory import check_allocation
from genlab.progress import log
from genlab.results import Result

PathLike = str | os.PathLike[str]

MAX_CORRELATION_UNITS = 200  # the pair products of every draw are kept: n(n-1)/2 series


def _shown(result: Result, hidden: tuple[str, ...] = (), optional: tuple[str, ...] = ()
           ) -> dict[str, Any]:
    """The fields of ``result`` as JSON values, without ``hidden`` ones and without the
    ``optional`` ones that are None."""
    shown = {f.name: getattr(result, f.name) for f in fields(result)
             if f.name not in hidden
             and not (f.name in optional and getattr(result, f.name) is None)}
    return to_jsonable(shown)


def save_npy(path: PathLike, array: np.ndarray) -> Path:
    """Write ``array`` to ``path`` as a .npy file, atomically (never a torn file)."""
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    try:
        return atomic_write_bytes(path, buf.getvalue())
    except OSError as exc:
        raise GenlabError(f"cannot write {path}: {exc.strerror or exc}") from None


@dataclass
class SampleReport(Result):
    """What :func:`sample_report` returns. Tensors are float64 unless said otherwise;
    ``n`` units, ``S`` kept samples and ``C`` chains."""

    n_units: int
    beta: float
    chains: int
    samples: int                          # S, kept samples per chain
    burn_in: int
    thin: int
    order: str
    seed: int | None
    device: str
    seconds: float                        # wall-clock time of the sampling
    updates_per_second: float             # single-unit updates, n C sweeps / seconds
    mean: torch.Tensor                    # (n,) <x_i>
    mean_mcse: torch.Tensor               # (n,) its Monte Carlo standard error
    mean_ess: torch.Tensor                # (n,) effective sample size
    mean_rhat: torch.Tensor               # (n,) split R-hat
    energy: dict[str, float]              # mean, mcse, ess, rhat of E(x) after burn-in
    energy_trace_per_chain_last: torch.Tensor  # (C,) E(x) of each chain's last state
    max_rhat: float                       # over the means (and the pairs, with correlations)
    correlations: torch.Tensor | None = None        # (n, n) <x_i x_j>
    correlations_mcse: torch.Tensor | None = None   # (n, n) its MCSE
    out: Path | None = None               # the samples (S, C, n) int8 .npy, when written
    plot_trace: Path | None = None        # the energy-trace figure, when written
    draws: torch.Tensor | None = field(default=None, repr=False)  # (S, C, n) int8 samples

    def to_dict(self) -> dict[str, Any]:
        return _shown(self, hidden=("draws",),
                      optional=("correlations", "correlations_mcse", "out", "plot_trace"))


def _check_sample_memory(n: int, chains: int, samples: int, burn_in: int, thin: int,
                         correlations: bool, dtype: torch.dtype, device: torch.device) -> None:
    """The samples, and the diagnostics of every unit (and pair) over them, must fit."""
    s, c = samples, chains
    need = sample_memory(n, c, s, burn_in, thin, dtype) + summary_memory((s, c, n))
    if correlations:  # float32 products of every pair, then their diagnostics
        pairs = n * (n - 1) // 2
        need += 4 * s * c * pairs + summary_memory((s, c, pairs))
    check_allocation(need, f"{c} chains x {s} samples (burn-in {burn_in}, thin {thin}) of "
                     f"{n} units" + (" with correlations" if correlations else ""), device,
                     "use fewer chains or samples")


def sample_report(weights: torch.Tensor, bias: torch.Tensor | None = None, beta: float = 1.0,
                  chains: int = 16, samples: int = 1000, burn_in: int = 100, thin: int = 1,
                  order: str = "fixed", seed: int | None = 0,
                  device: torch.device | str = "cpu", float64: bool = False,
                  correlations: bool = False, out: PathLike | None = None,
                  plot_trace: PathLike | None = None) -> SampleReport:
    """Gibbs-sample ``P(x) = exp(-beta E(x)) / Z`` with ``chains`` independent chains and
    summarise the draws (:mod:`genlab.boltzmann.diagnostics`).

    Each chain starts from uniform random spins (``seed``), drops ``burn_in`` sweeps and
    keeps every ``thin``-th sweep, ``samples`` times. Reports ``<x_i>`` with its MCSE, ESS
    and split R-hat, the same for ``E(x)`` over the kept sweeps, and with ``correlations``
    the matrix ``<x_i x_j>`` and its MCSE (:func:`~.diagnostics.pair_correlations`).
    ``out``: save the samples (S, C, n) int8 as .npy; ``plot_trace``: save each chain's
    energy per sweep as a PNG.
    """
    w, b = check_weights(weights, bias)
    n = w.shape[0]
    if correlations and n > MAX_CORRELATION_UNITS:
        raise GenlabError(f"correlations keep n(n-1)/2 series per draw; at most "
                          f"{MAX_CORRELATION_UNITS} units, got {n}")
    if samples < 4:
        raise GenlabError(f"samples must be >= 4 for the diagnostics, got {samples}")
    device = resolve_device(device)
    dtype = torch.float64 if float64 else torch.float32
    if beta > 0:  # refused before the log line: a refusal is the one line printed
        check_energy_scale(w, b, beta, dtype, "" if float64 else
                           " (or compute in float64: --float64)")
    _check_sample_memory(n, chains, samples, burn_in, thin, correlations, dtype, device)
    log(f"bm sample: n={n}, beta={beta}, {chains} chains x {samples} samples, "
        f"burn-in {burn_in}, thin {thin}, {order} order, on {device}")
    t0 = time.perf_counter()
    run = sample(w, b, beta, chains, samples, burn_in, thin, make_generator(seed, device),
                 order, device=device, dtype=dtype)
    seconds = time.perf_counter() - t0
    s = summarize(run.samples)
    e = summarize(run.energy_trace[burn_in:, :, None])
    report = SampleReport(
        n, beta, chains, samples, burn_in, thin, order, seed, str(device), seconds,
        n * chains * run.sweeps / seconds, s.mean, s.mcse, s.ess, s.rhat,
        {"mean": float(e.mean[0]), "mcse": float(e.mcse[0]), "ess": float(e.ess[0]),
         "rhat": float(e.rhat[0])},
        run.energy_trace[-1], float(s.rhat.max()), draws=run.samples)
    if correlations:
        pairs = pair_correlations(run.samples)
        report.correlations, report.correlations_mcse = pairs.corr, pairs.mcse
        report.max_rhat = max(report.max_rhat, pairs.max_rhat)
    if out is not None:
        report.out = save_npy(out, run.samples.cpu().numpy())
    if plot_trace is not None:
        from genlab.boltzmann.bm_plots import plot_energy_traces
        plot_energy_traces(run.energy_trace.cpu(), plot_trace)
        report.plot_trace = Path(plot_trace)
    return report


@dataclass
class ExactReport(Result):
    """What :func:`exact_report` returns (float64)."""

    n_units: int
    beta: float
    log_z: float                # log Z = log sum_x exp(-beta E(x))
    mean: torch.Tensor          # (n,) <x_i>
    correlations: torch.Tensor  # (n, n) <x_i x_j>


def exact_report(weights: torch.Tensor, bias: torch.Tensor | None = None,
                 beta: float = 1.0) -> ExactReport:
    """``log Z``, ``<x_i>`` and ``<x_i x_j>`` by summing over all ``2^n`` states
    (:func:`~genlab.boltzmann.exact.exact_moments`; n <= 20)."""
    ex = exact_moments(weights, bias, beta)
    return ExactReport(int(ex.mean.shape[0]), beta, ex.log_z, ex.mean, ex.corr)


@dataclass
class MeanFieldReport(Result):
    """What :func:`mean_field_report` returns."""

    n_units: int
    beta: float
    log_z_bound: float          # -F <= log Z
    free_energy: float          # F[P*, Q] of the best restart
    m: torch.Tensor             # (n,) its magnetisations, float64
    iterations: int
    converged: bool
    log_z: float | None         # exact log Z (None beyond MAX_EXACT_UNITS units)
    kl: float | None            # KL(Q || P) = log Z + F >= 0 (None without log Z)


def mean_field_report(weights: torch.Tensor, bias: torch.Tensor | None = None,
                      beta: float = 1.0, damping: float = 0.5, tol: float = 1e-10,
                      max_iter: int = 2000, restarts: int = 8,
                      seed: int | None = 0) -> MeanFieldReport:
    """The mean-field bound ``log Z >= -F`` (:func:`~genlab.boltzmann.meanfield.mean_field`,
    restarts drawn from ``seed``) and, for machines of at most ``MAX_EXACT_UNITS`` units,
    the exact ``log Z`` and the gap ``KL(Q || P) = log Z + F``."""
    w, b = check_weights(weights, bias)
    r = mean_field(w, b, beta, damping, tol, max_iter, restarts, make_generator(seed))
    log_z = kl = None
    if w.shape[0] <= MAX_EXACT_UNITS:
        log_z = exact_moments(w, b, beta).log_z
        kl = mean_field_kl(r.free_energy, log_z)
    return MeanFieldReport(int(w.shape[0]), beta, r.log_z_bound, r.free_energy, r.m,
                           r.iterations, r.converged, log_z, kl)


@dataclass
class TrainReport(Result):
    """What :func:`train_machine` returns."""

    out: Path | None            # where the machine was saved (None: not saved)
    n_visible: int
    n_hidden: int
    rows: int
    method: str
    updates: int
    seconds: float
    log_likelihood: float | None       # the last exact mean log P(v) of the history
    log_likelihood_note: str | None    # why there is none
    history: list[dict]                # per epoch: updates, lr, corr_gap, log_likelihood
    plot: Path | None                  # the training-curve figure, when written
    model: BoltzmannMachine | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return _shown(self, hidden=("model",))


def train_machine(data: torch.Tensor, config: BMTrainConfig | None = None,
                  out: PathLike | None = None, seed: int | None = 0,
                  device: torch.device | str = "cpu", resume: bool = False,
                  overwrite: bool = False, plot: PathLike | None = None,
                  data_name: str = "data") -> TrainReport:
    """Fit a machine to ±1 rows ``data`` (N, V) (:func:`~.learning.fit_boltzmann`, all
    randomness from ``seed``) and save it as ``out`` (not saved when None).

    With ``out`` the run checkpoints to ``out.checkpoint`` every epoch and on Ctrl-C;
    ``resume`` continues such a run, ``overwrite`` replaces an earlier one. The saved
    machine's metadata holds ``data_name``, the rows, the seed, the history and the
    configuration. ``plot``: save the training curve as a PNG.
    """
    cfg = config or BMTrainConfig()
    device = resolve_device(device)
    x = torch.as_tensor(data).to(device)
    check_train_memory(x.shape[0], x.shape[-1], cfg, device)
    resuming = out is not None and prepare_output(out, resume, overwrite)
    if not resuming:  # a resumed fit says where it goes on, once it has checked the checkpoint
        log(f"bm train: {x.shape[0]} rows x {x.shape[-1]} visible + {cfg.n_hidden} hidden "
            f"units, {cfg.method}, {cfg.epochs} epochs on {device}")
    t0 = time.perf_counter()
    res = fit_boltzmann(x, cfg, make_generator(seed, device), device,
                        checkpoint=None if out is None else checkpoint_beside(out),
                        resume=resuming, keep_checkpoint=True)
    seconds = time.perf_counter() - t0
    final_ll = final_log_likelihood(res.history)
    if out is not None:
        meta = {"data": data_name, "rows": int(x.shape[0]), "seed": seed,
                "history": res.history, "log_likelihood": final_ll}
        res.model.save(out, {**meta, "train_config": config_dict(cfg)})
        delete_model(checkpoint_beside(out))
    if plot is not None:
        from genlab.boltzmann.bm_plots import plot_training_curve
        plot_training_curve(res.history, plot)
    note = None if final_ll is not None else \
        f"exact log-likelihood only for at most {cfg.max_exact_units} units"
    return TrainReport(None if out is None else Path(out), int(x.shape[1]), cfg.n_hidden,
                       int(x.shape[0]), cfg.method, res.updates, seconds, final_ll, note,
                       res.history, None if plot is None else Path(plot), res.model)


@dataclass
class EncoderSeed:
    """One seed's run of the encoder problem."""

    seed: int
    solved: bool
    updates: int


@dataclass
class EncoderStudy(Result):
    """What :func:`encoder_study` returns."""

    problem: str                  # "g-h-g encoder"
    method: str
    seeds: int                    # runs, one per seed
    solved: int                   # runs that solved it
    success_rate: float           # solved / seeds
    median_updates: float | None  # over the solved runs
    max_updates: int | None
    seconds: float
    runs: list[EncoderSeed]
    config: dict                  # the BMTrainConfig used, as a dict


def encoder_study(seed: int = 0, seeds: int = 20, groups: int = 4, hidden: int = 2,
                  epochs: int = 2000, method: str = "exact", lr: float | None = None,
                  momentum: float | None = None, data_noise: float = 0.05,
                  device: torch.device | str = "cpu") -> EncoderStudy:
    """Train the ``groups-hidden-groups`` encoder from seeds ``seed .. seed + seeds - 1``
    (:func:`~genlab.boltzmann.encoder.train_encoder`, settings of
    :func:`~genlab.boltzmann.encoder.encoder_config`, ``lr`` and ``momentum`` replacing
    theirs when given) and report how often and how fast it is solved
    (:func:`~genlab.boltzmann.encoder.solve_statistics`)."""
    device = resolve_device(device)
    cfg = encoder_config(hidden, epochs, method, groups, data_noise)
    if lr is not None:
        cfg = replace(cfg, lr=lr)
    if momentum is not None:
        cfg = replace(cfg, momentum=momentum)
    runs: list[EncoderSeed] = []
    t0 = time.perf_counter()
    for s in range(seed, seed + seeds):
        run = train_encoder(s, groups, hidden, cfg, device=device)
        log(f"seed {s}: {'solved' if run.solved else 'not solved'} after {run.updates} "
            "updates")
        runs.append(EncoderSeed(s, run.solved, run.updates))
    stats = solve_statistics([EncoderRun(r.solved, r.updates) for r in runs])
    return EncoderStudy(f"{groups}-{hidden}-{groups} encoder", method, seeds, stats.solved,
                        stats.success_rate, stats.median_updates, stats.max_updates,
                        time.perf_counter() - t0, runs, config_dict(cfg))
