r"""Storage capacity: start at each of $P = \alpha N$ random stored patterns, run the
dynamics, and measure how much of the pattern survives; compare with theory.

Theory for the Hebbian rule at zero temperature (Amit, Gutfreund & Sompolinsky 1985,
replica-symmetric): the retrieval overlap is $m = \mathrm{erf}(y)$ where $y$ is the largest
root of

$$
y \left(\sqrt{2 \alpha} + \frac{2}{\sqrt{\pi}} e^{-y^2}\right) = \mathrm{erf}(y);
$$

roots exist only below $\alpha_c \approx 0.138$, above which retrieval collapses.

The modern network (rule `"modern"`, :class:`~genlab.hopfield.modern.ModernHopfield`)
is measured the same way, its final state read as $\mathrm{sign}(\xi)$: its capacity grows
exponentially with ``N``, so it recalls every pattern at loads far beyond 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from genlab.errors import GenlabError
from genlab.hopfield.learning import RULES
from genlab.hopfield.modern import ModernHopfield
from genlab.hopfield.network import HopfieldNetwork
from genlab.memory import check_allocation, tensor_bytes
from genlab.progress import progress

AGS_CRITICAL_LOAD = 0.138
CAPACITY_RULES = (*RULES, "modern")
DEFAULT_ALPHAS = tuple(round(0.02 * k, 2) for k in range(1, 13))  # 0.02 .. 0.24


def ags_overlap(alpha: float) -> float:
    r"""Retrieval overlap $m(\alpha)$ of the Hebbian network at $T = 0$ (0 above $\alpha_c$)."""
    if alpha <= 0:
        return 1.0
    top = max(6.0, 1.0 / math.sqrt(2 * alpha) + 1.0)  # the root is near 1/sqrt(2 alpha)
    ys = np.linspace(1e-4, top, 60001)
    erf = np.vectorize(math.erf)(ys)
    f = erf - ys * (math.sqrt(2 * alpha) + 2 / math.sqrt(math.pi) * np.exp(-ys ** 2))
    roots = np.nonzero(np.sign(f[:-1]) != np.sign(f[1:]))[0]
    if len(roots) == 0:
        return 0.0
    k = roots[-1]  # the retrieval state is the largest root
    y = ys[k] - f[k] * (ys[k + 1] - ys[k]) / (f[k + 1] - f[k])
    return math.erf(y)


@dataclass
class CapacityResult:
    """Per load ``alpha``: mean final overlap with the starting pattern and the fraction
    of patterns recalled with fewer than ``tolerance`` of their bits wrong."""

    n: int
    rule: str
    mode: str
    alphas: list[float]
    patterns: list[int]
    overlap: list[float]
    overlap_sem: list[float]
    recalled: list[float]
    stable: list[float]  # fraction of stored patterns that are exact fixed points
    sweeps: list[float]
    tolerance: float = 0.01
    critical_load: float | None = None
    theory: list[float] = field(default_factory=list)

    def largest_recalled_load(self, level: float = 0.5) -> float:
        """The largest measured load at which at least ``level`` of the patterns were
        recalled (0 when none was)."""
        ok = [a for a, f in zip(self.alphas, self.recalled, strict=True) if f >= level]
        return max(ok) if ok else 0.0


def critical_load(alphas: list[float], recalled: list[float], level: float = 0.5
                  ) -> float | None:
    """The load where the recalled fraction first falls below ``level`` (linear
    interpolation between the measured loads); None if it never does."""
    for k in range(1, len(alphas)):
        if recalled[k - 1] >= level > recalled[k]:
            a0, a1, r0, r1 = alphas[k - 1], alphas[k], recalled[k - 1], recalled[k]
            return a0 + (r0 - level) * (a1 - a0) / (r0 - r1)
    return None


def check_capacity_memory(n: int, rule: str, alpha: float,
                          device: str | torch.device = "cpu") -> None:
    """Refuse (:class:`GenlabError`) a capacity run at load ``alpha`` that cannot fit.

    A binary network holds its ``(n, n)`` weights about three times over (the weights, the
    permuted copy of an asynchronous sweep, the product that builds them); the modern
    network its ``(P, P)`` similarities of the patterns used as cues. Both keep a few
    ``(P, n)`` pattern and state arrays.
    """
    p = max(1, round(alpha * n))
    need = 6 * tensor_bytes((p, n))
    need += 3 * tensor_bytes((p, p)) if rule == "modern" else 3 * tensor_bytes((n, n))
    check_allocation(need, f"a capacity run with {n} units and up to {p} patterns",
                     device, "use fewer units (--n) or lower loads")


def capacity_curve(n: int, rule: str, alphas: list[float], trials: int = 1,
                   mode: str = "async", max_sweeps: int = 100,
                   generator: torch.Generator | None = None,
                   device: str | torch.device = "cpu", tolerance: float = 0.01,
                   beta: float = 1.0) -> CapacityResult:
    r"""Measure retrieval for loads `alphas` ($P = \mathrm{round}(\alpha N)$, at least 1).

    Every stored pattern is a cue; the overlap $m = x \cdot \xi / N$ of the final state
    with it is averaged over patterns and ``trials`` independent pattern sets. For
    ``rule="modern"`` (inverse temperature ``beta``) ``max_sweeps`` bounds the updates.
    """
    if rule not in CAPACITY_RULES:
        raise GenlabError(f"unknown learning rule {rule!r}; choose one of "
                          f"{', '.join(CAPACITY_RULES)}")
    if n < 2 or trials < 1 or not alphas or any(not 0 < a for a in alphas):
        raise GenlabError("capacity needs n >= 2, trials >= 1 and loads alpha > 0")
    check_capacity_memory(n, rule, max(alphas), device)
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    res = CapacityResult(n=n, rule=rule, mode=mode, alphas=list(alphas), patterns=[],
                         overlap=[], overlap_sem=[], recalled=[], stable=[], sweeps=[],
                         tolerance=tolerance)
    for alpha in progress(alphas, desc=f"capacity {rule}"):
        p = max(1, round(alpha * n))
        ms, st, sw = [], [], []
        for _ in range(trials):
            pats = torch.randint(0, 2, (p, n), generator=gen).float() * 2 - 1
            if rule == "modern":
                net = ModernHopfield(beta=beta, device=device).fit(pats)
                out = net.recall(net.patterns_, max_steps=max_sweeps)
                final = torch.where(out.states >= 0, 1.0, -1.0).to(out.states)
                st.append(net.stable(net.patterns_).cpu())
                sw.append(out.sweeps.float().cpu())
            else:
                net = HopfieldNetwork(rule=rule, device=device).fit(pats)
                out = net.recall(net.patterns_, mode=mode, max_sweeps=max_sweeps,
                                 generator=gen)
                final = out.states
                st.append((out.sweeps == 1).cpu())
                sw.append(out.sweeps.float().cpu())
            ms.append((final * net.patterns_).mean(1).cpu())
        m = torch.cat(ms).double()
        res.patterns.append(p)
        res.overlap.append(float(m.mean()))
        res.overlap_sem.append(float(m.std() / math.sqrt(len(m))) if len(m) > 1 else 0.0)
        res.recalled.append(float(((1 - m) / 2 < tolerance).double().mean()))
        res.stable.append(float(torch.cat(st).double().mean()))
        res.sweeps.append(float(torch.cat(sw).mean()))
    res.critical_load = critical_load(res.alphas, res.recalled)
    if rule == "hebbian":
        res.theory = [ags_overlap(a) for a in res.alphas]
    return res
