r"""Learning a Boltzmann machine by following the gradient of the log-likelihood.

For data $v_1, \dots, v_N$ on the visible units and $P(x) = \exp(-\beta E(x)) / Z$:

$$
\frac{\partial \langle \log P(v) \rangle_\text{data}}{\partial w_{ij}}
  = \beta \left(\langle x_i x_j \rangle_\text{data} - \langle x_i x_j \rangle_P\right), \qquad
\frac{\partial \langle \log P(v) \rangle_\text{data}}{\partial b_i}
  = \beta \left(\langle x_i \rangle_\text{data} - \langle x_i \rangle_P\right)
$$

(Ackley, Hinton & Sejnowski, 1985). Without hidden units the data term is the data's
own correlation. With hidden units it is taken under ``P(h | v)`` with the visible
units clamped to each example ("clamped phase"); the model term is taken under $P$
("free phase"). Three ways to get the two terms:

* ``exact``: both by enumeration (small machines; see :mod:`genlab.boltzmann.exact`);
* ``pcd``: the free phase from persistent chains that carry on between updates
  (Tieleman, 2008), the clamped phase from persistent hidden states per example;
* ``fresh``: the free phase from new random chains each update, ``sweeps`` sweeps long,
  optionally annealed ($\beta_t$ rising geometrically from `anneal_from` $\cdot \beta$ to
  $\beta$), as Ackley, Hinton & Sejnowski did.

With `data_noise` $= p$ each clamped visible bit is flipped with probability $p$ in every
update ("noisy clamping"; Ackley, Hinton & Sejnowski used it to keep the weights finite on
data whose maximum-likelihood weights are infinite). The log-likelihood is always
evaluated on the clean data.

Updates use momentum $\mu$, weight decay $\lambda$ and the schedule
$\eta_t = \eta / (1 + \mathrm{decay} \cdot t)$:

$$
V \leftarrow \mu V + \eta_t (\nabla - \lambda W), \qquad W \leftarrow W + V \odot \mathrm{mask}
$$

with `mask` symmetric with zero diagonal, so $W$ stays symmetric with $w_{ii} = 0$.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from genlab.boltzmann.boltzmann import (
    BoltzmannMachine,
    check_energy_scale,
    check_spins,
    check_weights,
)
from genlab.boltzmann.exact import (
    MAX_EXACT_UNITS,
    exact_clamped_moments,
    exact_log_likelihood,
    exact_moments,
)
from genlab.boltzmann.gibbs import gibbs_sweep, random_spins
from genlab.checkpoints import (
    Interrupt,
    data_identity,
    log_interrupted,
    prepare_checkpoint,
    refuse_other,
)
from genlab.errors import GenlabError
from genlab.io import delete_model, load_model, save_model, tensor_digest
from genlab.memory import check_allocation, tensor_bytes
from genlab.progress import log, progress
from genlab.spins import local_fields
from genlab.validate import check_tensors, setting

METHODS = ("exact", "pcd", "fresh")


@dataclass
class BMTrainConfig:
    """How to train a Boltzmann machine (every field has a default)."""

    n_hidden: int = 0            # hidden units after the visible ones
    epochs: int = 100            # passes over the data
    batch_size: int = 100        # examples per update (the whole set when larger)
    lr: float = 0.05             # eta, the learning rate
    lr_decay: float = 0.0        # eta_t = eta / (1 + lr_decay * t), t = update count
    momentum: float = 0.5        # mu
    weight_decay: float = 0.0    # lambda, L2 penalty on W
    method: str = "pcd"          # exact | pcd | fresh
    n_chains: int = 100          # free-phase chains
    sweeps: int = 1              # free-phase sweeps per update (pcd), or chain length (fresh)
    anneal_from: float = 1.0     # fresh chains: beta_t rises geometrically from this * beta
    clamped_sweeps: int = 2      # hidden-unit sweeps per update in the clamped phase
    beta: float = 1.0            # inverse temperature of the model being fitted
    data_noise: float = 0.0      # flip each clamped visible bit with this probability
    init_scale: float = 0.01     # initial w_ij ~ N(0, init_scale^2)
    eval_every: int = 1          # epochs between exact log-likelihood evaluations
    max_exact_units: int = 16    # evaluate the exact log-likelihood up to this many units


@dataclass
class TrainResult:
    """What :func:`fit_boltzmann` returns: the machine, the per-epoch curve, update count."""

    model: BoltzmannMachine
    history: list[dict] = field(default_factory=list)
    updates: int = 0


def validate_config(cfg: BMTrainConfig) -> None:
    """Raise :class:`GenlabError` for a configuration that cannot run."""
    if cfg.method not in METHODS:
        raise GenlabError(f"unknown method {cfg.method!r}; choose one of {', '.join(METHODS)}")
    for name in ("epochs", "batch_size", "n_chains", "sweeps", "clamped_sweeps", "eval_every"):
        if getattr(cfg, name) < 1:
            raise GenlabError(f"{name} must be >= 1, got {getattr(cfg, name)}")
    if cfg.n_hidden < 0:
        raise GenlabError(f"n_hidden must be >= 0, got {cfg.n_hidden}")
    if not 0 <= cfg.data_noise < 0.5:
        raise GenlabError(f"data_noise must be in [0, 0.5), got {cfg.data_noise}")
    if not 0 < cfg.anneal_from <= 1:
        raise GenlabError(f"anneal_from must be in (0, 1], got {cfg.anneal_from}")
    for name in ("lr", "lr_decay", "momentum", "weight_decay", "beta", "init_scale"):
        value = getattr(cfg, name)
        if not math.isfinite(value) or value < 0:
            raise GenlabError(f"{name} must be a finite number >= 0, got {value}")
    if cfg.momentum >= 1:
        raise GenlabError(f"momentum must be < 1, got {cfg.momentum}")


def _correlations(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``<x_i>`` (n,) and ``<x_i x_j>`` (n, n) of the rows of ``x`` (batch, n)."""
    return x.mean(0), x.T @ x / x.shape[0]


def clamped_sweep(model: BoltzmannMachine, v: torch.Tensor, h: torch.Tensor, beta: float,
                  generator: torch.Generator) -> torch.Tensor:
    r"""One Gibbs sweep of the hidden units $h$ (batch, H) with visible units clamped to
    $v$ (batch, V): the hidden units see the bias $b_h + \sum_v w_{hv} v$. In place."""
    nv = model.n_visible
    bias = local_fields(v, model.weights[:nv, nv:], model.bias[nv:])     # (batch, H)
    return gibbs_sweep(h, model.weights[nv:, nv:].contiguous(), bias, beta, generator)


CHECKPOINT_KIND = "boltzmann-machine.checkpoint"


@dataclass
class _Position:
    """Where a run is: the epoch under way (1-based), the first row of its next update and
    its row order, the update count, and what the history row of the epoch reports."""

    epoch: int = 1
    row: int = 0
    order: torch.Tensor | None = None
    updates: int = 0
    lr: float = 0.0
    gap: float = float("nan")
    stopped: bool = False


def _nan(value: float | None) -> float:
    """A float back from JSON, where NaN was written as null."""
    return float("nan") if value is None else float(value)


class _Checkpoint:
    """The checkpoint of :func:`fit_boltzmann`: save, and check and restore on resume."""

    def __init__(self, path: Path, settings: dict, data: dict) -> None:
        self.path, self.settings, self.data = path, settings, data

    @classmethod
    def of_run(cls, path: str | os.PathLike[str], cfg: BMTrainConfig, model: BoltzmannMachine,
               init: BoltzmannMachine | None, generator: torch.Generator,
               data: torch.Tensor) -> _Checkpoint:
        """The checkpoint of a run: what a resume must match (configuration, seed, mask,
        initial machine and data)."""
        settings = {**config_dict(cfg), "n_visible": model.n_visible,
                    "seed": generator.initial_seed(), "mask": tensor_digest(model.mask),
                    "init": None if init is None else tensor_digest(init.weights, init.bias)}
        return cls(Path(path), settings, data_identity(data))

    def save(self, model: BoltzmannMachine, state: dict[str, torch.Tensor],
             generator: torch.Generator, pos: _Position, history: list[dict]) -> None:
        tensors = {"weights": model.weights, "bias": model.bias, **state,
                   "generator": generator.get_state()}
        if pos.order is not None:
            tensors["order"] = pos.order
        loop = {"epoch": pos.epoch, "row": pos.row, "updates": pos.updates, "lr": pos.lr,
                "gap": pos.gap, "stopped": pos.stopped}
        save_model(self.path, tensors, CHECKPOINT_KIND, self.settings,
                   {"loop": loop, "history": history, "data": self.data})

    def load(self, model: BoltzmannMachine, state: dict[str, torch.Tensor],
             generator: torch.Generator, cfg: BMTrainConfig, n_data: int, batch: int
             ) -> tuple[_Position, list[dict]]:
        """Restore ``model``, ``state`` (in place) and ``generator``; returns the position
        and the history. Everything is checked before anything is changed."""
        where = f"checkpoint {self.path}"
        fix = "resume with the same settings, or start again with --overwrite"
        tensors, settings, meta = load_model(self.path, CHECKPOINT_KIND, model.weights.device)
        refuse_other(where, "written with other settings", settings, self.settings, fix=fix)
        refuse_other(where, "trained on other data", meta.get("data"), self.data,
                     fix="resume on the same data, or start again with --overwrite")
        loop = meta.get("loop") if isinstance(meta.get("loop"), dict) else {}
        pos = _Position(epoch=setting(loop, "epoch", int, where, low=1, high=cfg.epochs + 1),
                        row=setting(loop, "row", int, where, low=0, high=n_data - batch),
                        updates=setting(loop, "updates", int, where, low=0),
                        lr=setting(loop, "lr", float, where, low=0),
                        gap=_nan(setting(loop, "gap", float | None, where)),
                        stopped=setting(loop, "stopped", bool, where))
        history = meta.get("history")
        if pos.row % batch or not (isinstance(history, list)
                                   and all(isinstance(h, dict) for h in history)):
            raise GenlabError(f"{where}: the position or history of the run is damaged; "
                              "start again with --overwrite")
        expected = {"weights": model.weights, "bias": model.bias, **state,
                    "generator": generator.get_state()}
        if pos.row or "order" in tensors:  # the epoch under way drew its order
            expected["order"] = torch.zeros(n_data, dtype=torch.int64)
        check_tensors(tensors, expected, where)
        if "order" in tensors:
            pos.order = tensors["order"]
            if not (pos.order.dtype == torch.int64 and torch.equal(
                    pos.order.sort().values, torch.arange(n_data, device=pos.order.device))):
                raise GenlabError(f"{where}: the row order is not a permutation of the "
                                  f"{n_data} rows; the file is damaged")
        weights, bias = tensors["weights"].float(), tensors["bias"].float()
        check_weights(weights, bias)  # checked, not symmetrised: the run goes on bit for bit
        if (weights * (1 - model.mask)).abs().max() > 0:
            raise GenlabError(f"{where}: the weights connect units the mask keeps apart; "
                              "the file is damaged")
        for name in ("chains", "hidden"):
            check_spins(tensors[name], tensors[name].shape[1], f"{where}: {name}")
        try:
            generator.set_state(tensors["generator"].cpu())
        except (RuntimeError, TypeError) as exc:
            raise GenlabError(f"{where}: the random generator's state is damaged "
                              f"({str(exc).splitlines()[0]})") from None
        model.weights, model.bias = weights, bias
        for name, t in state.items():
            t.copy_(tensors[name])
        for row in history:
            if "corr_gap" in row:
                row["corr_gap"] = _nan(row["corr_gap"])
        log(f"resuming from {self.path}: {pos.epoch - 1} of {cfg.epochs} epochs done "
            f"({pos.updates} updates)")
        return pos, history


def check_train_memory(n_data: int, n_visible: int, config: BMTrainConfig,
                       device: torch.device | str = "cpu") -> None:
    """Refuse (:class:`GenlabError`, one line) a training run that cannot fit in memory.

    The ``(n, n)`` weights are held about eight times (weights, mask, velocity, the data
    and model correlations and their temporaries); the chains ``(n_chains, n)`` and a batch
    a few times for a sweep; the clamped hidden states ``(n_data, n_hidden)`` three times.
    """
    cfg = config
    n = n_visible + cfg.n_hidden
    need = (8 * tensor_bytes((n, n)) + 4 * tensor_bytes((cfg.n_chains, n))
            + 4 * tensor_bytes((min(cfg.batch_size, n_data), n))
            + 3 * tensor_bytes((n_data, cfg.n_hidden)))
    check_allocation(need, f"training {n_visible}+{cfg.n_hidden} units with {cfg.n_chains} "
                     f"chains on {n_data} rows", device, "use fewer hidden units or chains")


def fit_boltzmann(data: torch.Tensor, config: BMTrainConfig | None = None,
                  generator: torch.Generator | None = None,
                  device: torch.device | str = "cpu", mask: torch.Tensor | None = None,
                  init: BoltzmannMachine | None = None,
                  stop: Callable[[int, BoltzmannMachine], bool] | None = None,
                  show_progress: bool | None = None,
                  checkpoint: str | os.PathLike[str] | None = None, resume: bool = False,
                  overwrite: bool = False, max_epochs: int | None = None,
                  keep_checkpoint: bool = False) -> TrainResult:
    r"""Fit a Boltzmann machine to ±1 data (N, V) by log-likelihood gradient ascent.

    Args:
        data: (N, V) rows of -1/+1 on the visible units.
        config: :class:`BMTrainConfig`. generator: all randomness (seeded).
        mask: (n, n) 0/1 connectivity, n = V + n_hidden (all pairs by default).
        init: start from this machine instead of small random weights.
        stop: called as ``stop(epoch, model)`` after each epoch; training ends when it
            returns True.
        checkpoint: a name ``CKPT`` to checkpoint to (``CKPT.safetensors`` + ``.json``,
            :func:`genlab.io.save_model`): the machine, the velocities, the free-phase
            chains, the clamped hidden states, the generator's state, the position in the
            run and the history, at the end of every epoch and on Ctrl-C. None: none.
        resume: continue from ``checkpoint`` exactly (bitwise the result of a run that
            never stopped); refused when it was written with another configuration, seed
            (``generator.initial_seed()``), mask, initial machine or other data. Without a
            checkpoint there, a fresh start.
        overwrite: delete an earlier checkpoint instead of refusing it.
        max_epochs: stop after this many epochs in all (the checkpoint stays; ``resume``
            continues).
        keep_checkpoint: keep the checkpoint of a finished run (by default deleted at the
            end; keep it until the machine is saved).
    Returns:
        :class:`TrainResult`; ``history`` has per epoch (epoch 0 = the start, when the
        log-likelihood is evaluated) the learning rate, the largest
        gap $\max_{ij} |\langle x_i x_j \rangle_\text{data} - \langle x_i x_j \rangle_P|$ seen in
        the last update, and the exact
        mean log-likelihood when the machine has at most ``max_exact_units`` units.

    Ctrl-C stops the run before the next update; with ``checkpoint`` it writes a
    checkpoint there, logs where it stopped and raises ``KeyboardInterrupt``.
    """
    cfg = config or BMTrainConfig()
    device = torch.device(device)
    v_all = _check_run(data, cfg, max_epochs, checkpoint, device)
    n_data, nv = v_all.shape
    resuming = checkpoint is not None and prepare_checkpoint(checkpoint, resume, overwrite)
    if generator is None:
        generator = torch.Generator(device=device).manual_seed(0)
    model = _initial_machine(cfg, nv, init, mask, generator, device)
    state = {"vel_w": torch.zeros_like(model.weights), "vel_b": torch.zeros_like(model.bias),
             "chains": random_spins(cfg.n_chains, model.n_units, generator, device),
             "hidden": random_spins(n_data, cfg.n_hidden, generator, device)}  # clamped
    batch = min(cfg.batch_size, n_data)
    exact_ll = model.n_units <= min(cfg.max_exact_units, MAX_EXACT_UNITS)
    history: list[dict] = []
    pos = _Position(lr=cfg.lr)
    run = None if checkpoint is None else _Checkpoint.of_run(checkpoint, cfg, model, init,
                                                              generator, v_all)
    if run is not None and resuming:
        pos, history = run.load(model, state, generator, cfg, n_data, batch)
    if exact_ll and not resuming:  # the starting point of the curve
        history.append({"epoch": 0, "updates": 0, "lr": pos.lr, "corr_gap": pos.gap,
                        "log_likelihood": exact_log_likelihood(model.weights, model.bias,
                                                               v_all, nv, cfg.beta)})
    last = cfg.epochs if max_epochs is None else min(cfg.epochs, max_epochs)
    epochs = range(pos.epoch, last + 1) if not pos.stopped else range(0)
    with Interrupt() as interrupt:
        for epoch in progress(epochs, total=len(epochs), desc="bm train",
                              enabled=show_progress):
            pos.epoch = epoch
            _epoch(model, state, v_all, pos, cfg, batch, generator, interrupt, run, history)
            history.append(_epoch_row(model, v_all, pos, cfg, exact_ll))
            pos.stopped = stop is not None and stop(epoch, model)
            pos.epoch, pos.row, pos.order = epoch + 1, 0, None
            if run is not None:
                run.save(model, state, generator, pos, history)
            if pos.stopped:
                break
    if run is not None and (pos.stopped or pos.epoch > cfg.epochs) and not keep_checkpoint:
        delete_model(run.path)
    return TrainResult(model, history, pos.updates)


def _check_run(data: torch.Tensor, cfg: BMTrainConfig, max_epochs: int | None,
               checkpoint: str | os.PathLike[str] | None,
               device: torch.device | str) -> torch.Tensor:
    """Refuse a run that cannot go; return the data as float32 (N, V) on ``device``."""
    validate_config(cfg)
    if max_epochs is not None and (checkpoint is None or max_epochs < 1):
        raise GenlabError(f"max_epochs={max_epochs} stops a run to resume later: it needs a "
                          "checkpoint and must be >= 1")
    device = torch.device(device)
    v_all = check_spins(data, int(torch.as_tensor(data).shape[-1]), "data")
    v_all = v_all.to(device=device, dtype=torch.float32)
    n_data, nv = v_all.shape
    n = nv + cfg.n_hidden
    if cfg.method == "exact" and n > MAX_EXACT_UNITS:
        raise GenlabError(f"method 'exact' enumerates 2^n states and needs n <= "
                          f"{MAX_EXACT_UNITS}; this machine has {n} units: use 'pcd'")
    check_train_memory(n_data, nv, cfg, device)
    return v_all


def _initial_machine(cfg: BMTrainConfig, nv: int, init: BoltzmannMachine | None,
                     mask: torch.Tensor | None, generator: torch.Generator,
                     device: torch.device) -> BoltzmannMachine:
    """``init`` on ``device`` (float32), or small random weights ``w_ij ~ N(0, s^2)``
    (``s = init_scale``), symmetric, zero where ``mask`` is."""
    n = nv + cfg.n_hidden
    if init is not None:
        if init.n_units != n or init.n_visible != nv:
            raise GenlabError(f"initial machine has {init.n_visible}+{init.n_hidden} units, "
                              f"need {nv}+{cfg.n_hidden}")
        return init.to(device, torch.float32)
    model = BoltzmannMachine.zeros(nv, cfg.n_hidden, mask, device)
    w = cfg.init_scale * torch.randn(n, n, generator=generator, device=device)
    model.weights = torch.triu(w, 1) + torch.triu(w, 1).T
    model.weights *= model.mask
    return model


def free_phase_betas(cfg: BMTrainConfig) -> list[float]:
    r"""The inverse temperature of each free-phase sweep of an update: ``beta`` throughout,
    or for ``fresh`` chains with ``anneal_from = a < 1`` the geometric schedule
    $\beta_k = \beta a^{1 - k / (S - 1)}$, $k = 0, \dots, S-1$, rising to ``beta`` (simulated
    annealing)."""
    if cfg.method == "fresh" and cfg.anneal_from < 1.0:
        return [cfg.beta * cfg.anneal_from ** (1 - k / max(cfg.sweeps - 1, 1))
                for k in range(cfg.sweeps)]
    return [cfg.beta] * cfg.sweeps


def clamped_phase(model: BoltzmannMachine, v: torch.Tensor, hidden: torch.Tensor,
                  idx: torch.Tensor, cfg: BMTrainConfig, generator: torch.Generator
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The data term: $\langle x_i \rangle_\text{data}$ (n,) and
    $\langle x_i x_j \rangle_\text{data}$ (n, n) with the visible units clamped to the rows
    ``v`` (batch, V).

    Hidden units are summed out exactly under $P(h \mid v)$ (`exact`), or sampled: the
    persistent hidden states ``hidden[idx]`` (batch, H) of these rows get ``clamped_sweeps``
    Gibbs sweeps (written back), and the moments are those of the rows ``[v, h]``.
    """
    if cfg.method == "exact":
        moments = exact_clamped_moments(model.weights, model.bias, v, model.n_visible,
                                        cfg.beta)
        return moments.mean.float(), moments.corr.float()
    h = hidden[idx].contiguous()
    for _ in range(cfg.clamped_sweeps if cfg.n_hidden else 0):
        clamped_sweep(model, v, h, cfg.beta, generator)
    hidden[idx] = h
    return _correlations(torch.cat([v, h], dim=1))


def free_phase(model: BoltzmannMachine, chains: torch.Tensor, cfg: BMTrainConfig,
               betas: list[float], generator: torch.Generator
               ) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The model term: $\langle x_i \rangle_P$ (n,) and $\langle x_i x_j \rangle_P$ (n, n).

    By enumeration (``exact``), or from the chains (n_chains, n) after one Gibbs sweep at
    each of ``betas``: persistent chains carry on (``pcd``), ``fresh`` ones restart from
    random states. ``chains`` is updated in place.
    """
    if cfg.method == "exact":
        moments = exact_moments(model.weights, model.bias, cfg.beta)
        return moments.mean.float(), moments.corr.float()
    if cfg.method == "fresh":
        chains.copy_(random_spins(cfg.n_chains, model.n_units, generator, chains.device))
    for beta_t in betas:
        gibbs_sweep(chains, model.weights, model.bias, beta_t, generator)
    return _correlations(chains)


def _step(model: BoltzmannMachine, state: dict[str, torch.Tensor], pos: _Position,
          cfg: BMTrainConfig, data: tuple[torch.Tensor, torch.Tensor],
          free: tuple[torch.Tensor, torch.Tensor]) -> None:
    """One update from the two phases' ``(<x_i>, <x_i x_j>)``: momentum, weight decay and
    the learning-rate schedule of the module docstring; records the correlation gap."""
    (m_data, c_data), (m_model, c_model) = data, free
    pos.lr = cfg.lr / (1.0 + cfg.lr_decay * pos.updates)
    grad_w = cfg.beta * (c_data - c_model) - cfg.weight_decay * model.weights
    grad_b = cfg.beta * (m_data - m_model)
    state["vel_w"] = cfg.momentum * state["vel_w"] + pos.lr * grad_w * model.mask
    state["vel_b"] = cfg.momentum * state["vel_b"] + pos.lr * grad_b
    model.weights = model.weights + state["vel_w"]
    model.bias = model.bias + state["vel_b"]
    n = model.n_units
    pos.gap = float(((c_data - c_model) * model.mask).abs().max()) if n > 1 else 0.0
    pos.updates += 1


def _epoch(model: BoltzmannMachine, state: dict[str, torch.Tensor], v_all: torch.Tensor,
           pos: _Position, cfg: BMTrainConfig, batch: int, generator: torch.Generator,
           interrupt: Interrupt, run: _Checkpoint | None, history: list[dict]) -> None:
    """The updates of epoch ``pos.epoch`` from row ``pos.row`` of its order on."""
    device, n_data = v_all.device, v_all.shape[0]
    betas = free_phase_betas(cfg)
    if pos.order is None:  # a resumed epoch keeps the order it drew when it began
        pos.order = torch.randperm(n_data, generator=generator, device=device)
    for s in range(pos.row, n_data - batch + 1, batch):
        if interrupt.requested:
            pos.row = s
            if run is not None:
                run.save(model, state, generator, pos, history)
            log_interrupted(f"epoch {pos.epoch} after {pos.updates} updates",
                            None if run is None else run.path)
            raise KeyboardInterrupt
        idx = pos.order[s:s + batch]
        v = v_all[idx]
        if cfg.data_noise > 0:  # noisy clamping: keeps the weights finite
            flip = torch.rand(v.shape, generator=generator, device=device) < cfg.data_noise
            v = torch.where(flip, -v, v)
        data = clamped_phase(model, v, state["hidden"], idx, cfg, generator)
        free = free_phase(model, state["chains"], cfg, betas, generator)
        _step(model, state, pos, cfg, data, free)


def _epoch_row(model: BoltzmannMachine, v_all: torch.Tensor, pos: _Position,
               cfg: BMTrainConfig, exact_ll: bool) -> dict:
    """The history row of the epoch just done (refusing weights that diverged): updates,
    learning rate, correlation gap and, on evaluation epochs, the exact log-likelihood."""
    epoch = pos.epoch
    try:  # non-finite weights, or weights whose energies overflow
        check_energy_scale(model.weights, model.bias, cfg.beta, model.weights.dtype)
    except GenlabError:
        raise GenlabError(f"training diverged at epoch {epoch} (the weights grew "
                          "beyond what float32 holds); lower the learning rate"
                          + (" or the weight decay" if cfg.weight_decay else "")) from None
    row = {"epoch": epoch, "updates": pos.updates, "lr": pos.lr, "corr_gap": pos.gap}
    if exact_ll and (epoch % cfg.eval_every == 0 or epoch == cfg.epochs):
        row["log_likelihood"] = exact_log_likelihood(model.weights, model.bias, v_all,
                                                     model.n_visible, cfg.beta)
    return row


def final_log_likelihood(history: list[dict]) -> float | None:
    r"""The last exact mean log-likelihood $\frac{1}{N} \sum_n \log P(v_n)$ in a training history
    (None when the machine was too large to evaluate it)."""
    return next((h["log_likelihood"] for h in reversed(history) if "log_likelihood" in h),
                None)


def config_dict(cfg: BMTrainConfig) -> dict:
    """The configuration as a plain dict (saved beside the weights)."""
    return asdict(cfg)
