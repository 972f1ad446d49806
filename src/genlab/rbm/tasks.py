"""The RBM tasks behind ``genlab rbm train|eval|sample|filters``, as library calls with typed
results.

Each task takes a data set by name (see :func:`genlab.data.load_dataset`) and a model by the
name it was saved under, does the work, writes the files it is given paths for and returns
a :class:`~genlab.results.Result`, whose :meth:`~genlab.results.Result.to_dict` is what the
command prints with ``--json``. Every number comes from the estimators' own methods
(:meth:`~genlab.rbm.base.BaseRBM.log_likelihood`, :meth:`~genlab.rbm.base.BaseRBM.
ais_log_partition`, :meth:`~genlab.rbm.base.BaseRBM.reverse_ais_log_partition`,
:meth:`~genlab.rbm.base.BaseRBM.exact_log_partition`).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genlab.checkpoints import checkpoint_beside, prepare_output
from genlab.data import ImageDataset, load_dataset
from genlab.device import resolve_device
from genlab.errors import GenlabError
from genlab.io import delete_model
from genlab.progress import log
from genlab.rbm.base import BaseRBM, load_rbm
from genlab.rbm.bernoulli import BernoulliRBM
from genlab.rbm.gaussian import GaussianBernoulliRBM
from genlab.rbm.partition import MAX_EXACT_UNITS, REVERSE_BURN_IN
from genlab.rbm.plots import image_shape_of, plot_filters, plot_samples
from genlab.results import Result

# exact log Z is reported beside AIS when the enumerated layer has at most this many units
EXACT_UNITS = 20
VISIBLE_UNITS = ("bernoulli", "gaussian")


def _optional(result: Result, keys: tuple[str, ...]) -> dict[str, Any]:
    """``result.to_dict()`` without the ``keys`` whose value is None (they do not apply)."""
    shown = Result.to_dict(result)
    return {k: v for k, v in shown.items() if not (k in keys and v is None)}


def _examples(data: ImageDataset, seed: int) -> np.ndarray:
    """The data set's examples as an ``(n_samples, n_features)`` matrix, each one drawn by
    its binarisation rule with a generator seeded by ``seed``."""
    return data.draw(torch.Generator().manual_seed(seed)).numpy()


def _exact_units(model: BaseRBM) -> int:
    """The number of units :meth:`~BaseRBM.exact_log_partition` enumerates."""
    n_h, n_v = model.components_.shape
    return n_h if isinstance(model, GaussianBernoulliRBM) else min(n_h, n_v)


@dataclass
class TrainReport(Result):
    """What :func:`run_train` trained and saved; ``exact_log_z`` and
    ``train_log_likelihood`` only for a model small enough to enumerate (else None and left
    out of :meth:`to_dict`)."""

    out: Path  # the saved model's name
    model: str  # the estimator's class name
    data: str
    split: str
    binarize: str
    n_train: int
    n_visible: int
    n_hidden: int
    method: str  # "cd", "pcd" or "pt"
    k: int  # Gibbs sweeps per update (per temperature for "pt")
    epochs: int
    batch_size: int
    learning_rate: float
    seconds: float
    seconds_per_epoch: float
    device: str
    exact_log_z: float | None = None
    train_log_likelihood: float | None = None  # mean_n log p(v_n) over the training data
    centered: bool = False  # trained as a centred RBM
    centering_rate: float | None = None  # the offsets' sliding factor (centred runs only)
    pt_chains: int | None = None  # temperatures per persistent chain ("pt" only)

    def to_dict(self) -> dict[str, Any]:
        return _optional(self, ("exact_log_z", "train_log_likelihood", "centering_rate",
                                "pt_chains"))


@dataclass(frozen=True)
class TrainSettings:
    """The training settings of ``genlab rbm train`` and :func:`rbm_estimator`; their
    defaults (:data:`TRAIN_DEFAULTS`) are the one place both take theirs from.

    The default is centred PCD-1 (Melchior, Fischer and Wiskott 2016) with momentum and a
    small learning rate decaying linearly to 0 over 120 epochs: one Gibbs sweep per update,
    as cheap per epoch as scikit-learn's PCD-1, and on MNIST-5k (500 hidden units) a test
    log-likelihood 2 to 5 nats below what centred PCD-10 reaches in a minute (docs/rbm.md
    gives the measurements). Gaussian visible units are never centred. The estimators' own
    constructor defaults stay scikit-learn's (``BernoulliRBM()`` is its drop-in
    replacement).
    """

    hidden: int = 500  # hidden units
    method: str = "pcd"  # "cd", "pcd" or "pt"
    k: int = 1  # Gibbs sweeps per update (per temperature for "pt")
    epochs: int = 120  # passes over the data
    lr: float = 0.01  # learning rate, the epsilon of the update
    batch_size: int = 20  # rows per mini-batch, also the number of persistent chains
    momentum: float = 0.5  # alpha in u <- alpha u + epsilon grad
    weight_decay: float = 0.0  # L2 penalty on W
    schedule: str = "linear"  # learning-rate schedule: "constant" or "linear" (to 0)
    centered: bool = True  # the centred gradient, for Bernoulli visible units
    centering_rate: float = 0.01  # the centring offsets' sliding factor
    pt_chains: int = 10  # "pt": inverse temperatures per persistent chain

    def centred_for(self, visible: str, centered: bool | None = None) -> bool:
        """Whether a run on ``visible`` units is centred: ``centered`` when given, else
        ``self.centered`` for Bernoulli visible units (Gaussian ones are never centred)."""
        if centered is not None:
            return bool(centered)
        return self.centered and visible == "bernoulli"


TRAIN_DEFAULTS = TrainSettings()


def rbm_estimator(visible: str = "bernoulli", hidden: int = TRAIN_DEFAULTS.hidden, *,
                  method: str = TRAIN_DEFAULTS.method, k: int = TRAIN_DEFAULTS.k,
                  epochs: int = TRAIN_DEFAULTS.epochs, lr: float = TRAIN_DEFAULTS.lr,
                  batch_size: int = TRAIN_DEFAULTS.batch_size,
                  momentum: float = TRAIN_DEFAULTS.momentum,
                  weight_decay: float = TRAIN_DEFAULTS.weight_decay,
                  schedule: str = TRAIN_DEFAULTS.schedule, sigma: float | None = None,
                  fixed_variance: bool = False, pt_chains: int = TRAIN_DEFAULTS.pt_chains,
                  centered: bool | None = None,
                  centering_rate: float = TRAIN_DEFAULTS.centering_rate, seed: int = 0,
                  device: str | torch.device = "auto", verbose: bool = False) -> BaseRBM:
    """An unfitted :class:`BernoulliRBM` or (``visible="gaussian"``)
    :class:`GaussianBernoulliRBM` with ``hidden`` units and these training settings, by
    default those of ``genlab rbm train`` (:data:`TRAIN_DEFAULTS`; ``sigma``: the Gaussian
    units' initial or fixed standard deviation, 1 if not given; ``method="pt"``: parallel
    tempering with ``pt_chains`` temperatures; ``centered``: the centred gradient, offsets
    sliding by ``centering_rate``; None: ``TRAIN_DEFAULTS.centered`` for Bernoulli visible
    units, off for Gaussian ones, which are never centred).

    Raises:
        GenlabError: for a setting the estimator refuses (one line).
    """
    if visible not in VISIBLE_UNITS:
        raise GenlabError(f"visible units must be one of {', '.join(VISIBLE_UNITS)}, got "
                          f"{visible!r}")
    centered = TRAIN_DEFAULTS.centred_for(visible, centered)
    kwargs: dict[str, Any] = dict(
        learning_rate=lr, batch_size=batch_size, n_iter=epochs, random_state=seed,
        method=method, k=k, momentum=momentum, weight_decay=weight_decay,
        learning_rate_schedule=schedule, device=str(resolve_device(device)),
        verbose=int(verbose), pt_chains=pt_chains, centered=centered,
        centering_rate=centering_rate)
    if visible == "gaussian":
        model: BaseRBM = GaussianBernoulliRBM(
            hidden, sigma=1.0 if sigma is None else sigma, learn_variance=not fixed_variance,
            **kwargs)
    else:
        model = BernoulliRBM(hidden, **kwargs)
    try:
        model._validate_params()
    except ValueError as exc:
        raise GenlabError(f"bad training option: {exc}") from None
    model._check_options()
    return model


def run_train(data: str, out: str | os.PathLike[str], *, visible: str = "bernoulli",
              hidden: int = TRAIN_DEFAULTS.hidden, split: str = "train",
              binarize: str | None = None, limit: int | None = None,
              data_dir: str | os.PathLike[str] | None = None, seed: int = 0,
              device: str | torch.device = "auto", resume: bool = False,
              overwrite: bool = False, **settings: Any) -> TrainReport:
    """Train an RBM on the data set ``data`` and save it as ``out`` (checkpointing beside it,
    so that an interrupted run goes on with ``resume=True``; ``overwrite=True`` replaces a
    model already there).

    ``binarize`` defaults to ``"threshold"`` for Bernoulli visible units and ``"none"`` for
    Gaussian ones; ``settings`` are the training settings of :func:`rbm_estimator`
    (``method``, ``k``, ``epochs``, ``lr``, ...). For a model small enough to enumerate
    (``EXACT_UNITS``) the report adds the exact ``log Z`` and the training data's average
    log-likelihood :meth:`~BaseRBM.log_likelihood` under it.
    """
    prepare_output(out, resume, overwrite, check_only=True)
    device = resolve_device(device)
    binarize = binarize or ("threshold" if visible == "bernoulli" else "none")
    dataset = load_dataset(data, split=split, binarize=binarize, limit=limit, data_dir=data_dir)
    X = _examples(dataset, seed)
    model = rbm_estimator(visible, hidden, seed=seed, device=device, **settings)
    model.check_fit_memory(X.shape[1], X.shape[0])
    resuming = prepare_output(out, resume, overwrite)
    if not resuming:  # a resumed fit says where it goes on, once it has checked the checkpoint
        log(f"training a {type(model).__name__} with {hidden} hidden units on {len(X)} "
            f"examples of {dataset.name} ({model.method.upper()}-{model.k}"
            + (f" with {model.pt_chains} temperatures" if model.method == "pt" else "")
            + (", centred" if model.centered else "") + f", {model.n_iter} epochs, "
            f"{model.device})")
    start = time.perf_counter()
    try:
        model.fit(X, checkpoint=checkpoint_beside(out), resume=resuming, keep_checkpoint=True)
    except ValueError as exc:
        raise GenlabError(f"cannot train on {dataset.name}: {exc}") from None
    seconds = time.perf_counter() - start
    report = TrainReport(
        Path(out), type(model).__name__, dataset.name, dataset.split, binarize, len(X),
        int(X.shape[1]), hidden, model.method, model.k, model.n_iter, model.batch_size,
        model.learning_rate, seconds, seconds / max(model.n_iter, 1), model.device,
        centered=bool(model.centered),
        centering_rate=float(model.centering_rate) if model.centered else None,
        pt_chains=int(model.pt_chains) if model.method == "pt" else None)
    if _exact_units(model) <= EXACT_UNITS:
        report.exact_log_z = model.exact_log_partition()
        report.train_log_likelihood = model.log_likelihood(X, log_z=report.exact_log_z)
    meta = {"data": dataset.name, "split": dataset.split, "binarize": binarize,
            "image_shape": list(dataset.image_shape), "seed": seed, "train_seconds": seconds,
            "n_train": len(X)}
    model.save(out, meta=meta)
    delete_model(checkpoint_beside(out))
    return report


@dataclass
class EvalReport(Result):
    """``log Z`` by AIS and the average log-likelihood ``mean_n log p(v_n) = -mean_n F(v_n)
    - log Z`` of the data under it; the same under reverse AIS (unless switched off); the
    pseudo-likelihood for Bernoulli units and the exact ``log Z`` for small models (fields
    that do not apply are None and left out of :meth:`to_dict`).

    Forward AIS underestimates ``log Z`` in expectation, so ``log_likelihood`` is the upper
    (optimistic) estimate; reverse AIS overestimates it, so ``reverse_log_likelihood`` is the
    lower (conservative) one. Each has the standard error of its ``log Z``
    (``log_z_std_err``, ``reverse_log_z_std_err``): the data term is exact."""

    model: Path  # the model's name
    kind: str  # the estimator's class name
    data: str
    split: str
    binarize: str
    n_examples: int
    n_hidden: int
    log_z: float  # AIS estimate, see AISResult
    log_z_std_err: float
    log_z_low: float
    log_z_high: float
    log_likelihood: float  # nats per example, under the AIS log Z
    ais_runs: int
    ais_betas: int
    ais_layer: str
    ais_seconds: float
    pseudo_likelihood: float | None = None
    exact_log_z: float | None = None
    exact_log_likelihood: float | None = None  # nats per example, under the exact log Z
    reverse_log_z: float | None = None  # reverse AIS estimate, an upper estimate of log Z
    reverse_log_z_std_err: float | None = None
    reverse_log_z_low: float | None = None
    reverse_log_z_high: float | None = None
    reverse_log_likelihood: float | None = None  # nats per example: the lower estimate
    reverse_burn_in: int | None = None  # Gibbs sweeps of the chains reverse AIS starts from
    reverse_seconds: float | None = None
    raise_log_likelihood: float | None = None  # RAISE: the annealing model's, a lower estimate
    raise_std_err: float | None = None
    raise_runs: int | None = None  # reverse runs per example
    raise_betas: int | None = None
    raise_seconds: float | None = None

    def to_dict(self) -> dict[str, Any]:
        shown = _optional(self, ("pseudo_likelihood", "exact_log_z", "exact_log_likelihood",
                                 *RAISE_KEYS))
        if self.reverse_log_z is None:  # switched off (an infinite log_z_high shows as None)
            shown = {k: v for k, v in shown.items() if k not in REVERSE_KEYS}
        return shown


REVERSE_KEYS = ("reverse_log_z", "reverse_log_z_std_err", "reverse_log_z_low",
                "reverse_log_z_high", "reverse_log_likelihood", "reverse_burn_in",
                "reverse_seconds")
RAISE_KEYS = ("raise_log_likelihood", "raise_std_err", "raise_runs", "raise_betas",
              "raise_seconds")


def _check_features(model: BaseRBM, X: np.ndarray, what: str) -> None:
    if X.shape[1] != model.n_features_in_:
        raise GenlabError(f"{what} has {X.shape[1]} features per example but the model was "
                          f"trained on {model.n_features_in_}; use the data set it was "
                          "trained on")


def _check_binary(model: BaseRBM, X: np.ndarray, data: ImageDataset, binarize: str) -> None:
    """A Bernoulli RBM gives probabilities to 0/1 vectors only: a log-likelihood of grey
    levels would be a number without meaning."""
    if isinstance(model, BernoulliRBM) and not bool(np.isin(X, (0.0, 1.0)).all()):
        odd = X[~np.isin(X, (0.0, 1.0))].flat[0]
        raise GenlabError(f"a Bernoulli RBM's log-likelihood needs 0/1 data, but {data.name} "
                          f"with --binarize {binarize} holds values like {odd:g}; use "
                          "--binarize threshold or bernoulli")


def run_eval(model: str | os.PathLike[str], data: str, *, split: str = "test",
             binarize: str | None = None, limit: int | None = None,
             data_dir: str | os.PathLike[str] | None = None, ais_runs: int = 100,
             ais_betas: int = 10000, ais_layer: str = "auto", seed: int = 0,
             device: str | torch.device = "auto", reverse_ais: bool = True,
             reverse_burn_in: int = REVERSE_BURN_IN, raise_runs: int = 0,
             raise_betas: int = 1000) -> EvalReport:
    """Estimate ``log Z`` of the RBM saved as ``model`` by AIS
    (:meth:`~BaseRBM.ais_log_partition` with ``ais_runs``, ``ais_betas``, ``ais_layer``,
    ``seed``) and the average log-likelihood of the data set ``data`` under it
    (:meth:`~BaseRBM.log_likelihood`); with ``reverse_ais`` the same under reverse AIS
    (:meth:`~BaseRBM.reverse_ais_log_partition`, the same settings and ``reverse_burn_in``
    Gibbs sweeps of its starting chains), so that the log-likelihood lies between a lower
    and an upper estimate (:meth:`~BaseRBM.log_likelihood_bounds`); for a small model
    (``EXACT_UNITS``) the same under the exact ``log Z``. ``binarize`` defaults to the one
    the model was trained with. Reverse AIS costs ``ais_betas + reverse_burn_in`` sweeps
    against forward AIS's ``ais_betas``. With ``raise_runs`` (0: off) the report adds RAISE
    (:meth:`~BaseRBM.raise_log_likelihood` with ``raise_runs`` runs per example over
    ``raise_betas`` betas), a lower estimate of the annealing model's log-likelihood that
    needs no ``log Z``; it costs ``n_examples * raise_runs * (raise_betas + 1)`` sweeps.
    """
    if reverse_ais and int(reverse_burn_in) < 0:
        raise GenlabError(f"reverse AIS needs a burn-in of >= 0 Gibbs sweeps, got "
                          f"{reverse_burn_in}")
    if int(raise_runs) == 1 or int(raise_runs) < 0 or (raise_runs and int(raise_betas) < 3):
        raise GenlabError(f"RAISE needs 0 (off) or at least 2 runs per example and at least "
                          f"3 betas, got {raise_runs} runs and {raise_betas} betas")
    rbm = load_rbm(model, device=str(resolve_device(device)))
    binarize = binarize or rbm.meta_.get("binarize", "threshold")
    dataset = load_dataset(data, split=split, binarize=binarize, limit=limit, data_dir=data_dir)
    X = _examples(dataset, seed)
    _check_features(rbm, X, dataset.name)
    _check_binary(rbm, X, dataset, binarize)
    start = time.perf_counter()
    ais = rbm.ais_log_partition(n_runs=ais_runs, n_betas=ais_betas, seed=seed, layer=ais_layer)
    ais_seconds = time.perf_counter() - start
    report = EvalReport(
        Path(model), type(rbm).__name__, dataset.name, dataset.split, binarize, len(X),
        int(rbm.n_components), ais.log_z, ais.std_err, ais.log_z_low, ais.log_z_high,
        rbm.log_likelihood(X, log_z=ais.log_z), ais.n_runs, ais.n_betas, ais.layer,
        ais_seconds)
    if reverse_ais:
        start = time.perf_counter()
        rev = rbm.reverse_ais_log_partition(n_runs=ais_runs, n_betas=ais_betas, seed=seed,
                                            layer=ais_layer, burn_in=reverse_burn_in)
        report.reverse_seconds = time.perf_counter() - start
        report.reverse_log_z, report.reverse_log_z_std_err = rev.log_z, rev.std_err
        report.reverse_log_z_low, report.reverse_log_z_high = rev.log_z_low, rev.log_z_high
        report.reverse_log_likelihood = rbm.log_likelihood(X, log_z=rev.log_z)
        report.reverse_burn_in = rev.burn_in
    if raise_runs:
        start = time.perf_counter()
        raised = rbm.raise_log_likelihood(X, n_runs=raise_runs, n_betas=raise_betas, seed=seed,
                                          layer=ais_layer)
        report.raise_seconds = time.perf_counter() - start
        report.raise_log_likelihood, report.raise_std_err = (raised.log_likelihood,
                                                             raised.std_err)
        report.raise_runs, report.raise_betas = raised.n_runs, raised.n_betas
    if isinstance(rbm, BernoulliRBM):
        report.pseudo_likelihood = float(np.mean(rbm.score_samples(X)))
    if _exact_units(rbm) <= min(EXACT_UNITS, MAX_EXACT_UNITS):
        report.exact_log_z = rbm.exact_log_partition()
        report.exact_log_likelihood = rbm.log_likelihood(X, log_z=report.exact_log_z)
    return report


@dataclass
class SampleReport(Result):
    """The grid of samples :func:`run_sample` wrote."""

    model: Path
    out: Path  # the PNG
    n: int  # chains
    steps: int  # Gibbs sweeps per chain
    mean: float  # the mean of the samples E[v | h] over chains and units


def run_sample(model: str | os.PathLike[str], out: str | os.PathLike[str], *, n: int = 64,
               steps: int = 1000, seed: int = 0, device: str | torch.device = "auto"
               ) -> SampleReport:
    """Run ``n`` Gibbs chains of the RBM saved as ``model`` for ``steps`` sweeps each
    (:meth:`~BaseRBM.sample`, seeded by ``seed``) and save their final ``E[v | h]`` as a
    PNG grid ``out``."""
    rbm = load_rbm(model, device=str(resolve_device(device)))
    rbm.set_params(random_state=seed)
    if hasattr(rbm, "random_state_"):
        del rbm.random_state_
    samples = rbm.sample(n, n_steps=steps)
    shape = image_shape_of(samples.shape[1], rbm.meta_.get("image_shape"))
    gaussian = isinstance(rbm, GaussianBernoulliRBM)
    plot_samples(samples, out, image_shape=shape, title=f"{n} samples after {steps} Gibbs sweeps",
                 vmin=None if gaussian else 0.0, vmax=None if gaussian else 1.0)
    return SampleReport(Path(model), Path(out), n, steps, float(samples.mean()))


@dataclass
class FiltersReport(Result):
    """The grid of filters (rows ``W_j`` of the weights) :func:`run_filters` wrote."""

    model: Path
    out: Path  # the PNG
    n: int  # filters drawn
    n_hidden: int
    image_shape: tuple[int, int]
    weight_min: float
    weight_max: float


def run_filters(model: str | os.PathLike[str], out: str | os.PathLike[str], *, n: int = 100
                ) -> FiltersReport:
    """Save the first ``n`` filters of the RBM saved as ``model`` as a PNG grid ``out`` (see
    :func:`~genlab.rbm.plots.plot_filters`).

    Raises:
        GenlabError: when the visible units do not form an image.
    """
    rbm = load_rbm(model, device="cpu")
    w = rbm.components_  # (n_h, n_v)
    n = min(n, w.shape[0])
    shape = image_shape_of(w.shape[1], rbm.meta_.get("image_shape"))
    if shape is None:
        raise GenlabError(f"the model's {w.shape[1]} visible units do not form an image; "
                          "filters can only be drawn for image data")
    plot_filters(w, out, n=n, image_shape=shape, title=f"{n} of {w.shape[0]} filters")
    return FiltersReport(Path(model), Path(out), n, int(w.shape[0]), shape, float(w.min()),
                         float(w.max()))
