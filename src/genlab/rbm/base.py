"""What the Bernoulli and the Gaussian-Bernoulli RBM estimators share.

The estimators follow scikit-learn's conventions: ``__init__`` only stores
parameters; fitted state ends in ``_`` and is kept as numpy arrays (so pickling,
``clone`` and pipelines behave as with ``sklearn.neural_network.BernoulliRBM``); the
work is done in float32 torch tensors on ``device``.
"""

from __future__ import annotations

import os
import time
from numbers import Integral, Real
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, InvalidParameterError, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from genlab import registry
from genlab.checkpoints import (
    Interrupt,
    data_identity,
    log_interrupted,
    prepare_checkpoint,
    refuse_other,
)
from genlab.device import denormals_flushed, resolve_device
from genlab.errors import GenlabError
from genlab.io import SavedModel, delete_model, load_model, save_model
from genlab.memory import check_allocation, tensor_bytes
from genlab.progress import log
from genlab.rbm.energy import (
    RBMParams,
    free_energy,
    hidden_input,
    hidden_probs,
    sample_hidden,
    sample_visible,
    visible_mean,
)
from genlab.rbm.partition import (
    REVERSE_BURN_IN,
    AISResult,
    LogLikelihoodBounds,
    ais_layer,
    ais_log_partition,
    base_rate_bias,
    exact_log_partition,
    log_likelihood_bounds,
    reverse_ais_log_partition,
)
from genlab.rbm.raise_estimator import RAISEResult, raise_log_likelihood
from genlab.rbm.sampling import Offsets, Optimiser, cd_update, gibbs_from_hidden, uncentre
from genlab.rbm.tempering import temperature_ladder
from genlab.validate import check_tensors, setting

TRAIN_DTYPE = torch.float32
RESUMABLE_PARAMS = ("verbose", "device")  # what a resumed fit may change: not the result


class _Checkpointing:
    """Where a fit checkpoints to, what it checks on resume, and where in the run it is
    (epoch, first row of the next mini-batch, that epoch's row order)."""

    def __init__(self, path: Path, kind: str, settings: dict[str, Any], data: dict[str, Any],
                 max_epochs: int | None) -> None:
        self.path, self.kind, self.settings, self.data = path, kind, settings, data
        self.max_epochs = None if max_epochs is None else int(max_epochs)
        self.epoch, self.row, self.order = 0, 0, None

    def save(self, p: RBMParams, velocity: RBMParams | None, chain: torch.Tensor | None,
             gen: torch.Generator, epoch: int, row: int, order: torch.Tensor | None,
             offsets: Offsets | None = None) -> None:
        """Write the checkpoint (one unit, :func:`genlab.io.save_model`)."""
        tensors = {f"params.{k}": v for k, v in p._asdict().items() if v is not None}
        if velocity is not None:
            tensors.update({f"velocity.{k}": v for k, v in velocity._asdict().items()
                            if v is not None})
        if chain is not None:
            tensors["chain"] = chain
        if offsets is not None:
            tensors["offsets.visible"], tensors["offsets.hidden"] = offsets.visible, offsets.hidden
        if order is not None:
            tensors["order"] = order
        tensors["generator"] = gen.get_state()
        save_model(self.path, tensors, self.kind, self.settings,
                   {"epoch": epoch, "row": row, "data": self.data})

    def load(self, model: BaseRBM, fresh: RBMParams, gen: torch.Generator, n: int) -> RBMParams:
        """Restore the run from the checkpoint into ``model`` (velocity, chains) and ``gen``;
        returns the parameters. Everything is checked first."""
        where = f"checkpoint {self.path}"
        tensors, settings, meta = load_model(self.path, self.kind, fresh.weights.device)
        refuse_other(where, "written with other settings", settings, self.settings,
                     RESUMABLE_PARAMS, fix="resume with the same settings, or start again "
                     "with --overwrite")
        refuse_other(where, "trained on other data", meta.get("data"), self.data,
                     fix="resume on the same data, or start again with --overwrite")
        epoch = setting(meta, "epoch", int, where, low=0, high=int(model.n_iter))
        row = setting(meta, "row", int, where, low=0, high=max(n - 1, 0))
        if row % int(model.batch_size) or (row and epoch >= int(model.n_iter)):
            raise GenlabError(f"{where}: row {row} of epoch {epoch + 1} is not where a "
                              "mini-batch begins in this run; the file is damaged")
        expected = {f"params.{k}": v for k, v in fresh._asdict().items() if v is not None}
        if model.momentum > 0:
            expected.update({f"velocity.{k}": v for k, v in fresh._asdict().items()
                             if v is not None})
        if model.method == "pcd":
            expected["chain"] = torch.zeros(model.batch_size, model.n_components)
        elif model.method == "pt":
            expected["chain"] = torch.zeros(model.pt_chains, model.batch_size,
                                            model.n_components)
        if model.centered:
            expected["offsets.visible"] = torch.zeros(fresh.n_visible)
            expected["offsets.hidden"] = torch.zeros(fresh.n_hidden)
        shuffled = model.shuffle and n > 1
        if shuffled and (row > 0 or "order" in tensors):  # the epoch under way drew it
            expected["order"] = torch.zeros(n, dtype=torch.int64)
        expected["generator"] = gen.get_state()
        check_tensors(tensors, expected, where)
        order = tensors.get("order")
        if order is not None and not (order.dtype == torch.int64 and torch.equal(
                order.sort().values, torch.arange(n, device=order.device))):
            raise GenlabError(f"{where}: the row order is not a permutation of the {n} rows; "
                              "the file is damaged")
        try:
            gen.set_state(tensors["generator"].cpu())
        except (RuntimeError, TypeError) as exc:
            raise GenlabError(f"{where}: the random generator's state is damaged "
                              f"({str(exc).splitlines()[0]})") from None
        self.epoch, self.row, self.order = epoch, row, order
        log(f"resuming {type(model).__name__} from {self.path}: {epoch} of {model.n_iter} "
            "epochs done" + (f", {row} of {n} rows of the next" if row else ""))
        if model.method == "pcd":
            model.h_samples_ = tensors["chain"].cpu().numpy()
        elif model.method == "pt":
            model._ladder = tensors["chain"].cpu().numpy()
        if model.centered:
            model._offsets = (tensors["offsets.visible"].cpu().numpy(),
                              tensors["offsets.hidden"].cpu().numpy())
        if model.momentum > 0:
            model._velocity = tuple(None if t is None else tensors[f"velocity.{k}"].cpu().numpy()
                                    for k, t in fresh._asdict().items())
        return RBMParams(*(None if t is None else tensors[f"params.{k}"].to(TRAIN_DTYPE)
                           for k, t in fresh._asdict().items()))


class BaseRBM(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Shared fitting, sampling, likelihood and save/load code (not used directly)."""

    _gaussian: ClassVar[bool] = False
    _parameter_constraints: ClassVar[dict] = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_iter": [Interval(Integral, 0, None, closed="left")],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "method": [StrOptions({"cd", "pcd", "pt"})],
        "k": [Interval(Integral, 1, None, closed="left")],
        "pt_chains": [Interval(Integral, 2, None, closed="left")],
        "centered": ["boolean"],
        "centering_rate": [Interval(Real, 0, 1, closed="right")],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "learning_rate_schedule": [StrOptions({"constant", "linear"})],
        "shuffle": ["boolean"],
        "device": [str],
    }

    # ----- torch views of the fitted state -------------------------------------------------

    def _device(self) -> torch.device:
        return resolve_device(self.device)

    def _params(self, dtype: torch.dtype = TRAIN_DTYPE) -> RBMParams:
        """The fitted parameters as fresh tensors on the estimator's device."""
        dev = self._device()

        def t(a: np.ndarray) -> torch.Tensor:
            return torch.tensor(np.asarray(a), dtype=dtype, device=dev)

        log_var = t(self.log_variance_) if self._gaussian else None
        return RBMParams(t(self.components_), t(self.intercept_visible_),
                         t(self.intercept_hidden_), log_var)

    def _store(self, p: RBMParams) -> None:
        """Copy tensors back into the numpy attributes (float32)."""
        self.components_ = np.ascontiguousarray(p.weights.detach().cpu().numpy())
        self.intercept_visible_ = p.visible_bias.detach().cpu().numpy()
        self.intercept_hidden_ = p.hidden_bias.detach().cpu().numpy()
        if p.log_var is not None:
            self.log_variance_ = p.log_var.detach().cpu().numpy()
        self._n_features_out = self.components_.shape[0]

    def _tensor(self, X: np.ndarray, dtype: torch.dtype = TRAIN_DTYPE) -> torch.Tensor:
        return torch.tensor(X, dtype=dtype, device=self._device())

    def _check(self, X: Any, reset: bool) -> np.ndarray:
        """Validate ``X`` (dense or CSR, float32/64) into a dense numpy array."""
        X = validate_data(self, X, accept_sparse="csr", dtype=(np.float64, np.float32),
                          reset=reset)
        if hasattr(X, "toarray"):
            X = X.toarray()
        return X

    def _infer_dtype(self, X: np.ndarray) -> torch.dtype:
        """Inference runs in float64 for float64 input (exactly reproducible row by row)."""
        return torch.float64 if X.dtype == np.float64 else torch.float32

    @staticmethod
    def _generator(rng: np.random.RandomState, device: torch.device) -> torch.Generator:
        gen = torch.Generator(device=device)
        gen.manual_seed(int(rng.randint(np.iinfo(np.int32).max)))
        return gen

    # ----- fitting ---------------------------------------------------------------------------

    def check_fit_memory(self, n_features: int, n_samples: int = 0) -> None:
        """Raise :class:`GenlabError` (one line) when fitting ``n_samples`` rows of
        ``n_features`` cannot fit in memory, before anything is allocated.

        The ``(n_components, n_features)`` weights exist about six times over (their
        float64 initial draw, the float32 weights, velocity, update and the saved copy); a
        mini-batch's ``(batch_size, n_components + n_features)`` states a few times; the
        data once more as a float32 tensor.
        """
        h, b = int(self.n_components), int(self.batch_size)
        what, fewer = f"batch size {b}", "use fewer hidden units or a smaller batch size"
        if self.method == "pt":  # the ladders' states, energies and noise
            what += f", {int(self.pt_chains)} tempered chains each"
            fewer = "use fewer hidden units, tempered chains or a smaller batch size"
            b *= 1 + int(self.pt_chains)
        need = (6 * tensor_bytes((h, n_features)) + 8 * tensor_bytes((b, h + n_features))
                + tensor_bytes((n_samples, n_features)))
        check_allocation(need, f"an RBM of {h} hidden x {n_features} visible units ({what})",
                         self._device(), fewer)

    def _init_params(self, n_features: int, rng: np.random.RandomState,
                     X: np.ndarray) -> RBMParams:
        dev = self._device()
        w = torch.tensor(rng.normal(0, 0.01, (self.n_components, n_features)),
                         dtype=TRAIN_DTYPE, device=dev)
        b = torch.zeros(n_features, dtype=TRAIN_DTYPE, device=dev)
        c = torch.zeros(self.n_components, dtype=TRAIN_DTYPE, device=dev)
        if self.centered:
            # Melchior et al. (2016), Algorithm 1: b_c = logit(mu), c_c = logit(lambda) = 0
            # with the offsets mu = the data mean and lambda = 0.5, in plain parameters
            offsets = self._initial_offsets(RBMParams(w, b, c), self._tensor(X))
            assert offsets is not None
            b_c = base_rate_bias(offsets.visible, gaussian=False)
            return uncentre(RBMParams(w, b_c, c), offsets)
        return RBMParams(w, b, c, self._init_log_var(n_features, X))

    def _init_log_var(self, n_features: int, X: np.ndarray) -> torch.Tensor | None:
        return None

    def _optimiser(self, epoch: int, n_epochs: int) -> Optimiser:
        lr = float(self.learning_rate)
        if self.learning_rate_schedule == "linear" and n_epochs > 0:
            lr *= 1.0 - epoch / n_epochs
        return Optimiser(lr, float(self.momentum), float(self.weight_decay),
                         bool(getattr(self, "learn_variance", False)))

    def _update_data_mean(self, X: np.ndarray, reset: bool) -> None:
        mean, n = X.mean(axis=0), X.shape[0]
        if reset or not hasattr(self, "_data_count"):
            self._data_mean, self._data_count = mean.astype(np.float64), n
        else:
            total = self._data_count + n
            self._data_mean = self._data_mean + (mean - self._data_mean) * (n / total)
            self._data_count = total

    def _train(self, p: RBMParams, x: torch.Tensor, n_epochs: int,
               gen: torch.Generator, epoch_offset: int = 0, total_epochs: int = 0,
               run: _Checkpointing | None = None) -> RBMParams:
        """Run ``n_epochs`` of CD-k/PCD-k/PT over ``x`` ``(n, n_v)``; returns the parameters.

        The velocity and the persistent chains start from ``_velocity`` (when set) and
        ``h_samples_``; ``run`` checkpoints and resumes (see :meth:`fit`)."""
        velocity = RBMParams(*(None if t is None else torch.zeros_like(t) for t in p)) \
            if self.momentum > 0 else None
        if velocity is not None and hasattr(self, "_velocity"):
            velocity = RBMParams(*(None if a is None else self._tensor(a) for a in self._velocity))
        chain, betas = self._chains(p)
        offsets = self._initial_offsets(p, x)
        with denormals_flushed(), Interrupt() as interrupt:
            self._epochs(p, velocity, chain, x, n_epochs, gen, epoch_offset, total_epochs,
                         run, interrupt, offsets, betas)
        return p

    def _chains(self, p: RBMParams) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """The persistent chains the run starts from (``h_samples_`` ``(M, n_h)`` for PCD;
        the tempered ladders ``(T, M, n_h)``, at 0 when there are none yet, for PT) and the
        inverse temperatures ``(T,)`` (PT only)."""
        if self.method == "pcd":
            return self._tensor(self.h_samples_), None
        if self.method != "pt":
            return None, None
        shape = (int(self.pt_chains), int(self.batch_size), int(self.n_components))
        ladder = getattr(self, "_ladder", None)
        chain = self._tensor(ladder) if ladder is not None and ladder.shape == shape \
            else torch.zeros(shape, dtype=TRAIN_DTYPE, device=p.weights.device)
        return chain, temperature_ladder(shape[0], self._gaussian, TRAIN_DTYPE,
                                         p.weights.device)

    def _initial_offsets(self, p: RBMParams, x: torch.Tensor) -> Offsets | None:
        """The centring offsets the run starts from: those of the last run (``_offsets``),
        else the mean of ``x`` ``(n, n_v)`` and 0.5 (Melchior et al. 2016, Algorithm 1)."""
        if not self.centered:
            return None
        if getattr(self, "_offsets", None) is not None:
            mu, lam = (self._tensor(a) for a in self._offsets)
        else:
            mu = x.mean(0).to(TRAIN_DTYPE)
            lam = torch.full((p.n_hidden,), 0.5, dtype=TRAIN_DTYPE, device=x.device)
        return Offsets(mu, lam, float(self.centering_rate))

    def _check_options(self) -> None:
        """Refuse settings that do not go together (one line)."""
        if self.centered and self._gaussian:
            raise GenlabError("centring is implemented for Bernoulli visible units only; "
                              "standardise Gaussian data instead, or use a BernoulliRBM")

    def _epochs(self, p: RBMParams, velocity: RBMParams | None, chain: torch.Tensor | None,
                x: torch.Tensor, n_epochs: int, gen: torch.Generator, epoch_offset: int,
                total_epochs: int, run: _Checkpointing | None, interrupt: Interrupt,
                offsets: Offsets | None = None, betas: torch.Tensor | None = None) -> None:
        n, bs = x.shape[0], int(self.batch_size)
        epoch, row, order = (run.epoch, run.row, run.order) if run is not None else (0, 0, None)
        last = (n - 1) // bs * bs  # the first row of an epoch's last mini-batch
        stop = n_epochs if run is None or run.max_epochs is None else min(n_epochs,
                                                                           run.max_epochs)
        begin = time.perf_counter()
        while epoch < stop:
            opt = self._optimiser(epoch_offset + epoch, total_epochs or n_epochs)
            if order is None:  # a resumed epoch keeps the order it drew when it began
                order = torch.randperm(n, generator=gen, device=gen.device) \
                    if self.shuffle and n > 1 else None
            xs = x if order is None else x[order]
            for start in range(row, n, bs):
                if interrupt.requested:
                    if run is not None:
                        run.save(p, velocity, chain, gen, epoch, start, order, offsets)
                    log_interrupted(f"epoch {epoch + 1}, row {start} of {n}",
                                    None if run is None else run.path)
                    raise KeyboardInterrupt
                h = cd_update(p, velocity, xs[start:start + bs], chain, int(self.k), opt, gen,
                              offsets=offsets, betas=betas)
                if chain is not None:
                    chain = h
            # finite weights can still overflow float32 in the units' inputs (huge data
            # times huge weights), after which every probability is a saturated 0 or 1
            if not (torch.isfinite(p.weights).all()
                    and torch.isfinite(hidden_input(p, xs[last:last + bs])).all()):
                raise GenlabError("the RBM's weights or unit inputs became NaN or infinite "
                                  "during training; lower learning_rate (or momentum), or "
                                  "scale the data to [0, 1], and fit again")
            if self.verbose:
                now = time.perf_counter()
                self._store(p)
                pl = float(np.mean(self.score_samples(x[:1000].cpu().numpy())))
                log(f"[{type(self).__name__}] Iteration {epoch_offset + epoch + 1}, "
                    f"pseudo-likelihood = {pl:.2f}, time = {now - begin:.2f}s")
                begin = now
            epoch, row, order = epoch + 1, 0, None
            if run is not None:
                run.save(p, velocity, chain, gen, epoch, 0, None, offsets)
        if velocity is not None:
            self._velocity = tuple(None if t is None else t.cpu().numpy() for t in velocity)
        if betas is not None:
            self._ladder = chain.cpu().numpy()
            self.h_samples_ = self._ladder[-1].copy()  # the beta = 1 replicas
        elif chain is not None:
            self.h_samples_ = chain.cpu().numpy()
        if offsets is not None:
            self._offsets = (offsets.visible.cpu().numpy(), offsets.hidden.cpu().numpy())
        if run is not None:
            run.epoch = epoch

    def _settings(self) -> dict[str, Any]:
        """The estimator's parameters as JSON values (a ``RandomState`` as None)."""
        params = self.get_params()
        if not isinstance(params.get("random_state"), (int, type(None))):
            params["random_state"] = None
        return params

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any = None, *, checkpoint: str | os.PathLike[str] | None = None,
            resume: bool = False, overwrite: bool = False, max_epochs: int | None = None,
            keep_checkpoint: bool = False) -> BaseRBM:
        """Fit the model to ``X`` by ``n_iter`` epochs of CD-k, PCD-k or parallel tempering
        (centred when ``centered``).

        Args:
            X: ndarray or CSR matrix of shape ``(n_samples, n_features)``.
            y: ignored.
            checkpoint: a name ``CKPT`` to checkpoint to: ``CKPT.safetensors`` + ``.json``
                (:func:`genlab.io.save_model`) hold the parameters, the momentum
                velocities, the persistent chains, the centring offsets, the state of
                the random generator and the position in the run, written at the end of
                every epoch and on Ctrl-C. None: no checkpoints.
            resume: continue from ``checkpoint`` where it stopped (a fresh start when there
                is none). The run goes on exactly: its result is bitwise the result of a
                run that never stopped. Refused when the checkpoint was written with other
                parameters (``verbose`` and ``device`` aside) or other data.
            overwrite: delete an earlier checkpoint instead of refusing it.
            max_epochs: stop after this many epochs in all (the checkpoint stays;
                ``resume`` continues).
            keep_checkpoint: keep the checkpoint of a finished run (by default it is
                deleted when the last epoch ends; keep it until the model is saved).

        Returns:
            self, with ``components_`` ``(n_components, n_features)``,
            ``intercept_hidden_`` ``(n_components,)``, ``intercept_visible_``
            ``(n_features,)`` and ``h_samples_`` (the persistent chains,
            ``(batch_size, n_components)``) as float32 arrays.

        Ctrl-C stops the run at the next mini-batch boundary; with ``checkpoint`` it
        writes a checkpoint there, logs where it stopped, and raises
        ``KeyboardInterrupt``. A checkpoint of an unfinished run at ``checkpoint`` is
        refused unless ``resume`` or ``overwrite``.
        """
        X = self._check(X, reset=True)
        self._check_options()
        self.check_fit_memory(X.shape[1], X.shape[0])
        if max_epochs is not None and (checkpoint is None or int(max_epochs) < 1):
            raise GenlabError(f"max_epochs={max_epochs} stops a run to resume later: it needs "
                              "a checkpoint and must be >= 1")
        resuming = checkpoint is not None and prepare_checkpoint(checkpoint, resume, overwrite)
        rng = check_random_state(self.random_state)
        for attr in ("_velocity", "_ladder", "_offsets"):
            if hasattr(self, attr):
                delattr(self, attr)
        p = self._init_params(X.shape[1], rng, X)
        self.h_samples_ = np.zeros((self.batch_size, self.n_components), dtype=np.float32)
        self._update_data_mean(X, reset=True)
        gen = self._generator(rng, self._device())
        x = self._tensor(X)
        run = None
        if checkpoint is not None:
            run = _Checkpointing(Path(checkpoint), f"rbm.{type(self).__name__}.checkpoint",
                                 self._settings(), data_identity(x), max_epochs)
            if resuming:
                p = run.load(self, p, gen, x.shape[0])
        with torch.no_grad():
            p = self._train(p, x, int(self.n_iter), gen, run=run)
        self._store(p)
        if run is not None and run.epoch >= int(self.n_iter) and not keep_checkpoint:
            delete_model(run.path)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X: Any, y: Any = None) -> BaseRBM:
        """One CD-k/PCD-k pass over ``X`` ``(n_samples, n_features)`` (mini-batches of
        ``batch_size``), starting from the current parameters; returns self."""
        first = not hasattr(self, "components_")
        X = self._check(X, reset=first)
        self._check_options()
        if not hasattr(self, "random_state_"):
            self.random_state_ = check_random_state(self.random_state)
        if first:
            self.check_fit_memory(X.shape[1], X.shape[0])
            self._store(self._init_params(X.shape[1], self.random_state_, X))
            self.h_samples_ = np.zeros((self.batch_size, self.n_components), dtype=np.float32)
        self._update_data_mean(X, reset=first)
        p = self._params()
        gen = self._generator(self.random_state_, self._device())
        shuffle, self.shuffle = self.shuffle, False
        try:
            with torch.no_grad():
                p = self._train(p, self._tensor(X), 1, gen)
        finally:
            self.shuffle = shuffle
        self._store(p)
        return self

    # ----- inference -------------------------------------------------------------------------

    def transform(self, X: Any) -> np.ndarray:
        """The hidden activation probabilities ``P(h = 1 | v = X)``.

        Args:
            X: ndarray or CSR matrix of shape ``(n_samples, n_features)``.

        Returns:
            ndarray of shape ``(n_samples, n_components)`` in the dtype of ``X``.
        """
        check_is_fitted(self)
        X = self._check(X, reset=False)
        dt = self._infer_dtype(X)
        with torch.no_grad():
            return hidden_probs(self._params(dt), self._tensor(X, dt)).cpu().numpy()

    def free_energy(self, X: Any) -> np.ndarray:
        """``F(v) = -log sum_h exp(-E(v, h))`` for each row of ``X``; shape ``(n_samples,)``."""
        check_is_fitted(self)
        X = self._check(X, reset=False)
        dt = self._infer_dtype(X)
        with torch.no_grad():
            return free_energy(self._params(dt), self._tensor(X, dt)).cpu().numpy()

    def gibbs(self, v: Any) -> np.ndarray:
        """One Gibbs sweep ``h ~ P(h | v)``, ``v' ~ p(v | h)``.

        Args:
            v: ndarray of shape ``(n_samples, n_features)``, the visible states.

        Returns:
            ndarray of shape ``(n_samples, n_features)``: the new visible sample (0./1.
            for Bernoulli units), float in the dtype of ``v`` (scikit-learn returns bool).
        """
        check_is_fitted(self)
        v = self._check(v, reset=False)
        if not hasattr(self, "random_state_"):
            self.random_state_ = check_random_state(self.random_state)
        dt = self._infer_dtype(v)
        gen = self._generator(self.random_state_, self._device())
        with torch.no_grad():
            p = self._params(dt)
            h = sample_hidden(p, self._tensor(v, dt), gen)
            return sample_visible(p, h, gen).cpu().numpy()

    def sample(self, n_samples: int = 64, n_steps: int = 1000, init: Any = None) -> np.ndarray:
        """Run ``n_samples`` Gibbs chains for ``n_steps`` sweeps; return ``E[v | h]`` at the end.

        Chains start from ``init`` ``(n_samples, n_features)`` when given, else from the
        visible biases' own distribution (``W = 0``). Returns an ndarray of shape
        ``(n_samples, n_features)``, float32: the visible means of the last sweep.
        """
        check_is_fitted(self)
        if int(n_samples) < 1 or int(n_steps) < 1:
            raise GenlabError(f"sample needs n_samples >= 1 and n_steps >= 1, got {n_samples} "
                              f"and {n_steps}")
        n_v, n_h = self.components_.shape[1], self.components_.shape[0]
        # a sweep's (n_samples, n_h + n_v) probabilities, samples and noise
        check_allocation(6 * tensor_bytes((n_samples, n_h + n_v)),
                         f"sampling {n_samples} chains of {n_h}+{n_v} units", self._device(),
                         "draw fewer samples")
        if not hasattr(self, "random_state_"):
            self.random_state_ = check_random_state(self.random_state)
        gen = self._generator(self.random_state_, self._device())
        with torch.no_grad():
            p = self._params()
            if init is None:
                zero_h = torch.zeros(n_samples, p.n_hidden, device=p.weights.device)
                v = sample_visible(p, zero_h, gen)
            else:
                v = self._tensor(self._check(init, reset=False))
            h = sample_hidden(p, v, gen)
            state = gibbs_from_hidden(p, h, int(n_steps), gen)
            return visible_mean(p, state.h).cpu().numpy()

    # ----- the likelihood --------------------------------------------------------------------

    def exact_log_partition(self, max_units: int = 20) -> float:
        """``log Z`` by enumerating the smaller layer (at most ``max_units`` units), float64.

        See :func:`genlab.rbm.partition.exact_log_partition`.
        """
        check_is_fitted(self)
        return exact_log_partition(self._params(torch.float64), max_units=max_units)

    def _ais_setup(self, n_runs: int, n_betas: int, seed: int | None, layer: str
                   ) -> tuple[RBMParams, str, torch.Tensor | None, torch.Generator]:
        """What forward and reverse AIS share: the parameters, the layer, the base model's
        biases of that layer (None: the RBM's own) and a generator seeded by ``seed``."""
        check_is_fitted(self)
        if int(n_runs) < 2 or int(n_betas) < 3:
            raise GenlabError(f"AIS needs n_runs >= 2 and n_betas >= 3, got {n_runs} and "
                              f"{n_betas}")
        p = self._params()
        layer = ais_layer(p, layer)
        mean = getattr(self, "_data_mean", None) if layer == "visible" else None
        base = None if mean is None else base_rate_bias(
            torch.tensor(mean, dtype=TRAIN_DTYPE, device=p.weights.device), self._gaussian)
        gen = torch.Generator(device=p.weights.device)
        if seed is None:
            gen.seed()
        else:
            gen.manual_seed(int(seed))
        return p, layer, base, gen

    def ais_log_partition(self, n_runs: int = 100, n_betas: int = 10000,
                          seed: int | None = 0, layer: str = "auto") -> AISResult:
        """``log Z`` by annealed importance sampling (Salakhutdinov and Murray 2008).

        ``layer="visible"`` is Salakhutdinov and Murray's base-rate model over ``v``, whose
        visible biases come from the mean of the training data seen by
        ``fit``/``partial_fit``; ``layer="hidden"`` anneals the hidden units from a base
        model with the RBM's own hidden biases and ``W = 0``. ``layer="auto"`` takes the
        hidden layer when ``n_components <= min(n_features, 20)`` (far more reliable there)
        and the visible layer otherwise. Returns an :class:`~genlab.rbm.partition.AISResult`
        (``log_z``, ``std_err``, ...); see :func:`genlab.rbm.partition.ais_log_partition`.
        The estimate is a stochastic lower bound on ``log Z``.
        """
        p, layer, base, gen = self._ais_setup(n_runs, n_betas, seed, layer)
        with torch.no_grad():
            return ais_log_partition(p, base, int(n_runs), int(n_betas), gen, layer)

    def reverse_ais_log_partition(self, n_runs: int = 100, n_betas: int = 10000,
                                  seed: int | None = 0, layer: str = "auto",
                                  burn_in: int = REVERSE_BURN_IN) -> AISResult:
        """``log Z`` by reverse annealing (Burda, Grosse and Salakhutdinov 2015): a stochastic
        upper bound on ``log Z`` beside :meth:`ais_log_partition`'s lower one.

        The same path, base model, schedule and ``layer`` as :meth:`ais_log_partition`,
        walked from the RBM back to the base model. Each of the ``n_runs`` runs starts from
        its own Gibbs chain of the RBM, begun at a draw from the base model and run
        ``burn_in`` sweeps: approximate samples of the RBM, so the bound holds only as far
        as these chains have mixed. Returns an :class:`~genlab.rbm.partition.AISResult` with
        ``direction="reverse"``; see :func:`genlab.rbm.partition.reverse_ais_log_partition`.
        """
        if int(burn_in) < 0:
            raise GenlabError(f"reverse AIS needs burn_in >= 0 Gibbs sweeps, got {burn_in}")
        p, layer, base, gen = self._ais_setup(n_runs, n_betas, seed, layer)
        with torch.no_grad():
            return reverse_ais_log_partition(p, base, int(n_runs), int(n_betas), gen, layer,
                                             burn_in=int(burn_in))

    def log_likelihood(self, X: Any, log_z: float | None = None, n_runs: int = 100,
                       n_betas: int = 10000, seed: int | None = 0, layer: str = "auto"
                       ) -> float:
        """The average log-likelihood ``mean_n log p(v_n) = -mean_n F(v_n) - log Z`` (nats).

        ``log_z`` defaults to the AIS estimate (:meth:`ais_log_partition` with ``n_runs``,
        ``n_betas``, ``seed``, ``layer``); pass :meth:`exact_log_partition` for small models. Unlike
        :meth:`score_samples`, this is the likelihood itself, not a proxy for it. Under the
        forward AIS estimate it is an optimistic (upper) estimate; :meth:`log_likelihood_bounds`
        gives it with a conservative (lower) one from reverse AIS.
        """
        fe = self.free_energy(X)
        if log_z is None:
            log_z = self.ais_log_partition(n_runs, n_betas, seed, layer).log_z
        return float(-np.mean(fe.astype(np.float64)) - log_z)

    def log_likelihood_bounds(self, X: Any, n_runs: int = 100, n_betas: int = 10000,
                              seed: int | None = 0, layer: str = "auto",
                              burn_in: int = REVERSE_BURN_IN) -> LogLikelihoodBounds:
        r"""The average log-likelihood of ``X`` ``(n_samples, n_features)`` between a lower
        and an upper estimate, each with its standard error.

        ``upper`` is :meth:`log_likelihood` under :meth:`ais_log_partition` (forward AIS
        underestimates $\log Z$ in expectation, so it overestimates the likelihood);
        ``lower`` is the same under :meth:`reverse_ais_log_partition` (with ``burn_in``),
        which overestimates $\log Z$ in expectation when its starting chains have mixed.
        Both use ``n_runs``, ``n_betas``, ``seed`` and ``layer``. Returns a
        :class:`~genlab.rbm.partition.LogLikelihoodBounds` holding both AIS results.
        """
        forward = self.ais_log_partition(n_runs, n_betas, seed, layer)
        reverse = self.reverse_ais_log_partition(n_runs, n_betas, seed, layer, burn_in)
        mean_log_p_star = float(-np.mean(self.free_energy(X).astype(np.float64)))
        return log_likelihood_bounds(mean_log_p_star, forward, reverse)

    def raise_log_likelihood(self, X: Any, n_runs: int = 10, n_betas: int = 1000,
                             seed: int | None = 0, layer: str = "auto") -> RAISEResult:
        """RAISE (Burda, Grosse and Salakhutdinov 2015): a stochastic lower bound on the
        average log-likelihood of ``X`` ``(n_samples, n_features)`` under the annealing
        model of AIS's path, without ``log Z``; ``n_runs`` reverse runs per row over
        ``n_betas`` intermediate distributions, the path and ``layer`` of
        :meth:`ais_log_partition`. It costs ``n_samples * n_runs * (n_betas + 1)`` Gibbs
        sweeps. Returns a :class:`~genlab.rbm.raise_estimator.RAISEResult`; see
        :func:`genlab.rbm.raise_estimator.raise_log_likelihood`.
        """
        p, layer, base, gen = self._ais_setup(n_runs, n_betas, seed, layer)
        X = self._check(X, reset=False)
        with torch.no_grad():
            return raise_log_likelihood(p, self._tensor(X), base, int(n_runs), int(n_betas),
                                        gen, layer)

    # ----- save / load -----------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str], meta: dict[str, Any] | None = None) -> Path:
        """Save as ``NAME.safetensors`` + ``NAME.json`` (see :func:`genlab.io.save_model`)."""
        check_is_fitted(self)
        tensors = {"components": self.components_, "intercept_hidden": self.intercept_hidden_,
                   "intercept_visible": self.intercept_visible_, "h_samples": self.h_samples_}
        if self._gaussian:
            tensors["log_variance"] = self.log_variance_
        if hasattr(self, "_data_mean"):
            tensors["data_mean"] = self._data_mean
        tensors = {k: torch.as_tensor(np.ascontiguousarray(v, dtype=np.float32))
                   for k, v in tensors.items()}
        params = self._settings()
        meta = dict(meta or {})
        meta.setdefault("n_features_in", int(self.n_features_in_))
        meta.setdefault("data_count", int(getattr(self, "_data_count", 0)))
        return save_model(path, tensors, kind=f"rbm.{type(self).__name__}", config=params,
                          meta=meta)

    @classmethod
    def from_saved_model(cls, saved: SavedModel, device: str = "auto") -> BaseRBM:
        """The registry's builder for the kinds ``rbm.<class name>`` (see
        :mod:`genlab.registry`); ``device`` replaces the saved device setting."""
        tensors, config, meta = saved.tensors(), dict(saved.config), saved.meta
        config["device"] = device
        model = cls._from_saved(tensors, config, meta)
        where = f"{saved.where}: meta"
        setting(meta, "binarize", str, where, default=None,
                choices=("none", "threshold", "bernoulli"))
        setting(meta, "image_shape", tuple[int, int] | None, where, default=None, low=1)
        model.meta_ = meta
        return model

    @classmethod
    def _from_saved(cls, tensors: dict[str, torch.Tensor], config: dict[str, Any],
                    meta: dict[str, Any]) -> BaseRBM:
        names = ["components", "intercept_hidden", "intercept_visible", "h_samples"]
        if cls._gaussian:
            names.append("log_variance")
        missing = [n for n in names if n not in tensors]
        if missing:
            raise GenlabError(f"saved {cls.__name__} lacks tensors {', '.join(missing)}; the "
                              "file is damaged, save the model again")
        valid = set(cls().get_params())
        unknown = set(config) - valid
        extra = set(tensors) - {*names, "data_mean"}
        if unknown or extra:
            raise GenlabError(f"saved {cls.__name__} has unknown settings or tensors "
                              f"{sorted(unknown | extra)}")
        model = cls(**config)
        try:
            model._validate_params()
        except (InvalidParameterError, ValueError, TypeError) as exc:
            raise GenlabError(f"saved {cls.__name__} has an invalid setting: "
                              f"{str(exc).splitlines()[0]}") from None
        arr = {k: v.cpu().numpy() for k, v in tensors.items()}
        w = arr["components"]
        shapes_ok = (w.ndim == 2 and w.shape[0] == model.n_components
                     and arr["intercept_hidden"].shape == (w.shape[0],)
                     and arr["intercept_visible"].shape == (w.shape[1],)
                     and arr["h_samples"].ndim == 2 and arr["h_samples"].shape[1] == w.shape[0]
                     and all(arr[k].shape == (w.shape[1],)
                             for k in ("log_variance", "data_mean") if k in arr))
        if not shapes_ok:
            raise GenlabError(f"saved {cls.__name__} has tensor shapes that do not fit together "
                              f"or its n_components {model.n_components}; save it again")
        for k, v in arr.items():
            if not np.isfinite(v).all():
                raise GenlabError(f"saved {cls.__name__} tensor {k} holds NaN or infinity")
        model.components_ = w
        model.intercept_hidden_ = arr["intercept_hidden"]
        model.intercept_visible_ = arr["intercept_visible"]
        model.h_samples_ = arr["h_samples"]
        if cls._gaussian:
            model.log_variance_ = arr["log_variance"]
        model.n_features_in_ = int(w.shape[1])
        model._n_features_out = int(w.shape[0])
        if "data_mean" in arr:
            model._data_mean = arr["data_mean"].astype(np.float64)
            model._data_count = setting(meta, "data_count", int, f"saved {cls.__name__}",
                                        default=0, low=0)
        return model


def load_rbm(path: str | os.PathLike[str], device: str = "auto") -> BaseRBM:
    """Load a :class:`BernoulliRBM` or :class:`GaussianBernoulliRBM` saved with ``save``.

    ``device`` replaces the saved device setting. Raises :class:`GenlabError` for a
    missing, corrupt or non-RBM file.
    """
    return registry.load(path, device, family="rbm")
