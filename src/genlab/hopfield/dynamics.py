r"""Hopfield dynamics on ±1 units, batched over cues.

Activity $a_i = \sum_j w_{ij} x_j + b_i$; activity rule $x_i = +1$ if $a_i \ge 0$ else $-1$;
energy $E(x) = -\frac{1}{2} \sum_{ij} w_{ij} x_i x_j - \sum_i b_i x_i$. States are `(C, N)`: one
row per cue. A cue may hold 0 for an unknown unit: it contributes nothing to the other
units' activities until it is first updated. Clamped units keep their cue values.

* synchronous: $x \leftarrow \mathrm{sign}(x W + b)$ for all units at once: one matrix
  product per sweep.
* asynchronous (the default): one unit at a time, in a fresh random order each sweep.
  The order is shared by the cues of a batch, so a cue gets exactly the answer it would
  get alone with the same generator. For speed the units of a sweep are taken in blocks
  of ``block_size`` consecutive positions of the order: the activities of a whole block
  come from one matrix product at the start of the block, and before each unit is
  updated its activity is corrected for the units of the same block already updated,
  $a_k = a_k^{(0)} + \sum_{j < k \text{ in block}} w_{kj} (x_j^\text{new} - x_j^\text{old})$.
  That is algebraically the one-unit-at-a-time rule, at the cost of a matrix product per
  sweep. On the CPU the loop over a block's units is compiled (:mod:`genlab.hopfield.native`,
  cues in tiles of 64 so each step is a vector operation); elsewhere it runs as torch
  operations.

A sweep that changes no unit proves a fixed point (asynchronous: every unit's activity
was evaluated at the final state). Synchronous dynamics with symmetric weights ends in a
fixed point or a cycle of length two (Goles-Chacc et al. 1985); a cue whose sweep returns
it to its state of two sweeps before is stopped there and reported as ``cycled``.

For Hebbian weights $W = \eta (X^\top X - P I)$ with few patterns ($4 P < N$) the
synchronous activities are computed from the patterns, $a = \eta ((x X^\top) X - P x)$:
$4 P N$ instead of $2 N^2$ operations per cue, and the same integers, so the same
answer to the last bit (pass ``factor=X``). The energy of the asynchronous dynamics is tracked
exactly as $E \leftarrow E - a_k \Delta x_k$ ($w_{kk} = 0$), which the activity rule makes
$\le 0$.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from genlab.errors import GenlabError
from genlab.hopfield.native import hopfield_kernel, run_hopfield_block
from genlab.spins import spin_energy

MODES = ("async", "sync")
# the compiled asynchronous sweep takes activities for this many blocks in one product
# (a wide product runs nearer the machine's peak than several narrow ones), then corrects
# each block's later neighbours in the span with one small product per block
OUTER_BLOCKS = 4
RECORDS = ("none", "sweeps", "updates")


@dataclass(frozen=True)
class Dynamics:
    """The result of running the dynamics from ``C`` cues on ``N`` units.

    Attributes:
        states: ``(C, N)`` final states, ±1 (float).
        converged: ``(C,)`` bool, True when a sweep changed no unit (a fixed point).
        cycled: ``(C,)`` bool, True when synchronous updates fell into a two-cycle
            (the final state's successor is the state before it); always False for
            asynchronous updates, which reach fixed points.
        sweeps: ``(C,)`` int64, sweeps run for each cue, counting the last one, in
            which nothing changed when it converged.
        energy: ``(C,)`` final energies ``E(x)``.
        energy_history: ``(S + 1, C)`` the energy of the cue (row 0) and after every
            sweep; a cue that stopped earlier repeats its final energy.
        trajectory: ``(T, C, N)`` recorded states: the cues, then the state after every
            sweep (``record="sweeps"``) or after every single-unit update that changed
            some cue (``record="updates"``); ``(0, C, N)`` when nothing was recorded.
    """

    states: torch.Tensor
    converged: torch.Tensor
    cycled: torch.Tensor
    sweeps: torch.Tensor
    energy: torch.Tensor
    energy_history: torch.Tensor
    trajectory: torch.Tensor


def check_clamp(clamp: torch.Tensor | None, cues: torch.Tensor) -> torch.Tensor | None:
    """Broadcast a clamp mask ``(N,)`` or ``(C, N)`` to ``(C, N)`` bool, checking it."""
    if clamp is None:
        return None
    m = torch.as_tensor(clamp, device=cues.device)
    if m.dtype != torch.bool:
        if m.is_floating_point() and not bool(torch.isfinite(m).all()):
            raise GenlabError("the clamp mask contains NaN or infinite values; use 0/1 or bool")
        if not bool(((m == 0) | (m == 1)).all()):
            raise GenlabError("the clamp mask must hold only 0/1 (or True/False)")
        m = m.bool()
    if m.ndim == 1:
        m = m.unsqueeze(0)
    if m.ndim != 2 or m.shape[1] != cues.shape[1] or m.shape[0] not in (1, cues.shape[0]):
        raise GenlabError(f"the clamp mask has shape {tuple(m.shape)}; it must be "
                          f"({cues.shape[1]},) or ({cues.shape[0]}, {cues.shape[1]})")
    m = m.expand(cues.shape[0], -1)
    if bool((m & (cues == 0)).any()):
        raise GenlabError("a clamped unit has the unknown value 0 in its cue; clamp only "
                          "units whose values are known (±1)")
    return m.contiguous()


def _sign_(a: torch.Tensor) -> torch.Tensor:
    """The activity rule in place: ``a`` becomes +1 where ``a >= 0``, else -1.

    ``copysign(1, a)`` is that rule except at ``a = -0.0`` (a sum of signed zeros, e.g. a
    unit with no weights), which ``a + 0.0`` turns into ``+0.0`` first. Both are in-place
    passes: no ``(C, N)`` temporaries, which cost more than the arithmetic at this size.
    """
    a.add_(0.0)
    return torch.copysign(torch.ones((), dtype=a.dtype, device=a.device), a, out=a)


def fields(weights: torch.Tensor, states: torch.Tensor, factor: torch.Tensor | None = None,
           out: torch.Tensor | None = None) -> torch.Tensor:
    r"""Activities without bias, $x W$ for states `(C, N)`; returns `(C, N)`.

    With `factor` $X$ `(P, N)` the weights must equal $X^\top X - P I$ and the
    product is taken as $(x X^\top) X - P x$ (exact for ±1/0 entries while
    ``P N < 2**24`` in float32). ``out``, a ``(C, N)`` buffer, receives the result.
    """
    if factor is None:
        return torch.mm(states, weights, out=out)  # weights are symmetric
    h = torch.mm(states @ factor.T, factor, out=out)
    return h.add_(states, alpha=-factor.shape[0])


def _sync_sweep(j: torch.Tensor, b: torch.Tensor | None, x: torch.Tensor,
                clamp: torch.Tensor | None, factor: torch.Tensor | None = None,
                out: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """One synchronous sweep of ``x`` ``(C, N)``; returns ``(new, energy of x)``.

    ``new`` is written into ``out`` (a ``(C, N)`` buffer that must not be ``x``) when given.
    """
    h = fields(j, x, factor, out)  # (C, N)
    e = -0.5 * torch.linalg.vecdot(h, x)
    if b is not None:
        h.add_(b)
        e = e - x @ b
    new = _sign_(h)
    if clamp is not None:
        torch.where(clamp, x, new, out=new)
    return new, e


def _compiled_async(dtype: torch.dtype, device: torch.device, block_size: int, tracing: bool):
    """The compiled asynchronous block loop when it applies (CPU, a C compiler, no
    per-update trace, blocks up to 256 units: it keeps (block, 64-cue) tiles on its
    stack), else None."""
    if tracing or block_size > 256:
        return None
    return hopfield_kernel(dtype, device)


def _async_sweep(j: torch.Tensor, b: torch.Tensor | None, x: torch.Tensor,
                 clamp: torch.Tensor | None, perm: torch.Tensor, block_size: int,
                 trace: list[torch.Tensor] | None, work: torch.Tensor | None = None,
                 out: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """One asynchronous sweep in the order ``perm``; returns ``(new, energy decrease)``.

    ``work`` and ``out``, ``(C, N)`` buffers distinct from ``x`` and each other, let the
    compiled path run without fresh allocations (``new`` is then ``out``).

    Within a block the new states are kept as bits ``u = (x + 1) / 2`` so that one
    unit costs two small kernels: ``a_k += sum_{j<k} 2 w_kj u_j`` (the block's other
    contributions, ``- sum_{j<k} w_kj (x_j^old + 1)``, are folded into ``a^(0)`` by one
    matrix product per block) and ``u_k = H(a_k)`` with ``H(0) = 1``.
    """
    kernel = _compiled_async(x.dtype, x.device, block_size, trace is not None)
    if kernel is not None:
        return _async_sweep_native(kernel, j, b, x, clamp, perm, block_size, work, out)
    n, c = x.shape[1], x.shape[0]
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(n, device=perm.device)
    xp = x[:, perm].T.contiguous()  # (N, C): units in update order
    jp = j[perm][:, perm]  # (N, N)
    bp = None if b is None else b[perm]
    mp = None if clamp is None else clamp[:, perm].T.contiguous()  # (N, C)
    one = torch.ones((), dtype=x.dtype, device=x.device)
    drop = torch.zeros(c, dtype=x.dtype, device=x.device)
    for s0 in range(0, n, block_size):
        s1 = min(n, s0 + block_size)
        old = xp[s0:s1]  # (B, C) states before the block
        low = jp[s0:s1, s0:s1].tril(-1)  # (B, B) w_kj for j before k in the block
        h = jp[s0:s1] @ xp  # (B, C) activities at the start of the block
        h -= low @ (old + 1.0)
        if bp is not None:
            h += bp[s0:s1, None]
        low2 = 2.0 * low
        u = torch.empty_like(old)  # (B, C) new bits
        for k in range(s1 - s0):
            if k:
                h[k].addmv_(u[:k].T, low2[k, :k])
            torch.heaviside(h[k], one, out=u[k])
            if mp is not None:
                torch.where(mp[s0 + k], (old[k] + 1.0) * 0.5, u[k], out=u[k])
            if trace is not None and bool((2.0 * u[k] - 1.0 != old[k]).any()):
                snap = xp.clone()
                snap[s0:s0 + k + 1] = 2.0 * u[:k + 1] - 1.0
                trace.append(snap.T[:, inv])
        new = 2.0 * u - 1.0
        drop += (h * (new - old)).sum(0)
        xp[s0:s1] = new
    return xp.T[:, inv].contiguous(), drop


def _async_sweep_native(kernel, j: torch.Tensor, b: torch.Tensor | None, x: torch.Tensor,
                        clamp: torch.Tensor | None, perm: torch.Tensor, block_size: int,
                        work: torch.Tensor | None = None, out: torch.Tensor | None = None
                        ) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`_async_sweep` with the units of a block visited by a compiled loop (CPU).

    The states are ``(C, N)`` with the units in update order (one gather per sweep, so a
    block is contiguous in every row). The activities of a span of ``OUTER_BLOCKS`` blocks
    are one product ``x W[:, span]``; within a block, the loop adds
    ``(x_u^new - x_u^old) w_uv`` to the activities of the block's later units ``v`` after
    each unit ``u``, and after the block the span's later units get
    ``(x^new - x^old)_block W[block, later]``, one small product.
    """
    n = x.shape[1]
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(n, device=perm.device)
    xp = torch.index_select(x, 1, perm, out=work)  # (C, N) in update order, updated in place
    jp = j[perm][:, perm]  # (N, N)
    bp = None if b is None else b[perm]
    mp = None if clamp is None else clamp[:, perm].to(torch.uint8).contiguous()
    drop = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
    span = OUTER_BLOCKS * block_size
    for o0 in range(0, n, span):
        o1 = min(n, o0 + span)
        act = xp @ jp[o0:o1].T  # (C, K) activities at the start of the span (W symmetric)
        if bp is not None:
            act += bp[o0:o1]
        for s0 in range(o0, o1, block_size):
            s1 = min(o1, s0 + block_size)
            a = act[:, s0 - o0:s1 - o0].contiguous()  # (C, k)
            old = xp[:, s0:s1].clone() if s1 < o1 else None
            run_hopfield_block(kernel, xp, a, jp[s0:s1, s0:s1].contiguous(), s0, mp, drop)
            if old is not None:  # the span's later units see this block's changes
                act[:, s1 - o0:].addmm_(xp[:, s0:s1] - old, jp[s0:s1, s1:o1])
    return torch.index_select(xp, 1, inv, out=out), drop


def _grow_rows(hist: torch.Tensor, rows: int) -> torch.Tensor:
    """``hist`` ``(R, C)`` extended to ``(rows, C)`` with NaN rows (doubling keeps the
    copies linear in the number of sweeps run)."""
    more = hist.new_full((rows - hist.shape[0], hist.shape[1]), float("nan"))
    return torch.cat([hist, more])


@dataclass
class _Run:
    """What a driver accumulates while cues ``(C, N)`` evolve (see :class:`Dynamics`)."""

    x: torch.Tensor  # (C, N) current states
    converged: torch.Tensor  # (C,) bool
    cycled: torch.Tensor  # (C,) bool
    sweeps: torch.Tensor  # (C,) int64
    hist: torch.Tensor  # (R, C) energies before / after each sweep, grown as sweeps happen
    frames: list[torch.Tensor]  # recorded (C, N) states
    max_sweeps: int
    last: int = 0  # the last sweep run

    @classmethod
    def start(cls, x: torch.Tensor, max_sweeps: int, record: str) -> _Run:
        c, dev = x.shape[0], x.device
        # a large max_sweeps costs nothing up front: the history grows with the sweeps run
        hist = torch.full((min(max_sweeps, 16) + 1, c), float("nan"), dtype=x.dtype,
                          device=dev)
        return cls(x=x, converged=torch.zeros(c, dtype=torch.bool, device=dev),
                   cycled=torch.zeros(c, dtype=torch.bool, device=dev),
                   sweeps=torch.zeros(c, dtype=torch.int64, device=dev), hist=hist,
                   frames=[x.clone()] if record != "none" else [], max_sweeps=max_sweeps)

    def begin_sweep(self, s: int) -> None:
        """Note that sweep ``s`` runs, making room for its energies."""
        self.last = s
        if s >= self.hist.shape[0]:
            self.hist = _grow_rows(self.hist, min(self.max_sweeps + 1, 2 * self.hist.shape[0]))

    def take(self, active: torch.Tensor, xa: torch.Tensor, new: torch.Tensor,
             whole: bool, record: str) -> torch.Tensor:
        """Store the states ``new`` a sweep gave the ``active`` cues (``xa`` before it);
        returns which of them it left unchanged, now marked converged."""
        # ±1 rows are equal iff their dot product is N (a 0 in xa counts as a change)
        same = torch.linalg.vecdot(new, xa) == xa.shape[1]
        self.sweeps[active] = self.last
        if whole:
            self.x = new
        else:
            self.x[active] = new
        if record == "sweeps":
            self.frames.append(self.x.clone())
        self.converged[active[same]] = True
        return same

    def result(self, scale: float) -> Dynamics:
        """The :class:`Dynamics`, each cue's history held at its final energy after it
        stopped, energies times ``scale``."""
        c, n = self.x.shape
        dev = self.x.device
        hist = self.hist[: self.last + 1]
        idx = torch.arange(self.last + 1, device=dev)[:, None]
        final = hist[self.sweeps, torch.arange(c, device=dev)]
        hist = torch.where(idx > self.sweeps[None, :], final[None, :], hist) * scale
        traj = torch.stack(self.frames) if self.frames else self.x.new_zeros((0, c, n))
        return Dynamics(states=self.x, converged=self.converged, cycled=self.cycled,
                        sweeps=self.sweeps, energy=final * scale, energy_history=hist,
                        trajectory=traj)


def _run_sync(weights: torch.Tensor, bias: torch.Tensor | None, x: torch.Tensor,
              mask: torch.Tensor | None, max_sweeps: int, record: str,
              factor: torch.Tensor | None) -> _Run:
    """Synchronous sweeps ``x <- sign(x W + b)`` from ``x`` ``(C, N)`` until each cue reaches
    a fixed point, a two-cycle (its new state equals the one two sweeps back), or
    ``max_sweeps``. Row ``s - 1`` of the history is the energy before sweep ``s``."""
    c, n = x.shape
    run = _Run.start(x, max_sweeps, record)
    active = torch.arange(c, device=x.device)
    before = x  # the state one sweep before x
    spare = None  # a free (C, N) buffer for the next sweep's states
    for s in range(1, max_sweeps + 1):
        if active.numel() == 0:
            break
        run.begin_sweep(s)
        whole = active.numel() == c
        xa = run.x if whole else run.x[active]
        ma = None if mask is None else (mask if whole else mask[active])
        new, e_before = _sync_sweep(weights, bias, xa, ma, factor, spare if whole else None)
        spare = None
        run.hist[s - 1, active] = e_before
        back = before if whole else before[active]
        two = (torch.linalg.vecdot(new, back) == n) if s > 1 else None
        if whole:
            if before is not xa:  # the state two sweeps back: its buffer is free now
                spare = before
            before = xa
        else:
            before[active] = xa
        same = run.take(active, xa, new, whole, record)
        stop = same
        run.hist[s, active[same]] = e_before[same]
        if two is not None:
            two &= ~same
            run.cycled[active[two]] = True
            run.hist[s, active[two]] = run.hist[s - 2, active[two]]  # back to that state
            stop = same | two
        active = active[~stop]
    if active.numel():  # energy of the last state of unconverged cues
        xs = run.x[active]
        e = -0.5 * torch.linalg.vecdot(fields(weights, xs, factor), xs)
        run.hist[run.last, active] = e if bias is None else e - xs @ bias
    return run


def _run_async(weights: torch.Tensor, bias: torch.Tensor | None, x: torch.Tensor,
               mask: torch.Tensor | None, max_sweeps: int, record: str,
               gen: torch.Generator, block_size: int) -> _Run:
    """Asynchronous sweeps from ``x`` ``(C, N)``, each in a fresh order ``randperm(N)`` from
    ``gen``, until a sweep changes no unit of a cue or ``max_sweeps``. The energy is
    tracked as ``E <- E - sum_k a_k dx_k`` from the cue's (row 0 of the history)."""
    c, n = x.shape
    run = _Run.start(x, max_sweeps, record)
    active = torch.arange(c, device=x.device)
    # the compiled sweep's working copy of the states, when it runs
    compiled = _compiled_async(x.dtype, x.device, block_size, record == "updates") is not None
    work = torch.empty_like(x) if compiled else None
    spare = None  # a free (C, N) buffer for the next sweep's states
    run.hist[0] = spin_energy(x, weights, bias)
    for s in range(1, max_sweeps + 1):
        if active.numel() == 0:
            break
        run.begin_sweep(s)
        whole = active.numel() == c
        xa = run.x if whole else run.x[active]
        ma = None if mask is None else (mask if whole else mask[active])
        perm = torch.randperm(n, generator=gen, device=gen.device).to(x.device)
        sub: list[torch.Tensor] | None = [] if record == "updates" else None
        new, drop = _async_sweep(weights, bias, xa, ma, perm, block_size, sub,
                                 work if whole else None, spare if whole else None)
        run.hist[s, active] = run.hist[s - 1, active] - drop
        for snap in sub or ():  # the whole batch after each update that changed a cue
            full = run.x.clone()
            full[active] = snap
            run.frames.append(full)
        if whole:
            spare = xa  # the state before this sweep: its buffer is free now
        same = run.take(active, xa, new, whole, record)
        active = active[~same]
    return run


def run_dynamics(weights: torch.Tensor, cues: torch.Tensor, bias: torch.Tensor | None = None,
                 mode: Literal["async", "sync"] = "async", max_sweeps: int = 100,
                 clamp: torch.Tensor | None = None, generator: torch.Generator | None = None,
                 block_size: int = 64, record: Literal["none", "sweeps", "updates"] = "none",
                 scale: float = 1.0, factor: torch.Tensor | None = None) -> Dynamics:
    """Run the dynamics from ``cues`` ``(C, N)`` (entries -1, 0, +1) with weights ``(N, N)``.

    ``weights`` must be symmetric with a zero diagonal; the energy reported is that of
    ``scale * weights`` and ``scale * bias`` (the dynamics, a sign rule, does not depend
    on a positive scale). ``clamp`` ``(N,)`` or ``(C, N)`` marks units held at their cue
    values. Stops a cue at its first sweep that changes nothing, at a synchronous
    two-cycle, or after ``max_sweeps``. ``factor`` ``(P, N)``, given only when
    $W = X^\top X - P I$ for $X$ = `factor`, lets synchronous sweeps use the cheaper product.
    ``generator`` (default: one seeded with 0) draws the asynchronous orders.
    """
    if mode not in MODES:
        raise GenlabError(f"unknown update mode {mode!r}; choose async or sync")
    if record not in RECORDS:
        raise GenlabError(f"unknown record option {record!r}; choose one of {RECORDS}")
    if max_sweeps < 1 or block_size < 1:
        raise GenlabError("max_sweeps and block_size must be >= 1")
    n = weights.shape[0]
    if cues.ndim != 2 or cues.shape[1] != n:
        raise GenlabError(f"cues have shape {tuple(cues.shape)} but the network has {n} "
                          f"units; give an array of shape (count, {n})")
    if factor is not None and (factor.ndim != 2 or factor.shape[1] != n):
        raise GenlabError(f"factor must have shape (P, {n}), got {tuple(factor.shape)}")
    x = cues.to(device=weights.device, dtype=weights.dtype).clone()
    mask = check_clamp(clamp, x)
    if mode == "sync":
        run = _run_sync(weights, bias, x, mask, max_sweeps, record, factor)
    else:
        gen = generator if generator is not None else torch.Generator().manual_seed(0)
        run = _run_async(weights, bias, x, mask, max_sweeps, record, gen, block_size)
    return run.result(scale)
