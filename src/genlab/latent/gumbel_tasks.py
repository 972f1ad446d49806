"""Gumbel tasks: draw categorical samples and summarise them; draw the temperature figure.

``genlab gumbel sample`` prints ``draw_gumbel_samples``; ``genlab gumbel plot`` prints
``temperature_figure``. Both take a seed and never touch the global generator.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from genlab.device import make_generator
from genlab.errors import GenlabError
from genlab.io import atomic_write_bytes
from genlab.latent.gumbel import gumbel_max, gumbel_softmax
from genlab.memory import check_allocation, tensor_bytes
from genlab.progress import log
from genlab.results import Result

METHODS = ("max", "soft", "hard")
# the figure's default distribution (Jang, Gu & Poole 2017, Fig. 1)
DEFAULT_LOGITS = tuple(math.log(p) for p in (0.05, 0.1, 0.05, 0.3, 0.5))
DEFAULT_TAUS = (0.1, 0.5, 1.0, 10.0)


@dataclass
class GumbelSamples(Result):
    """``n`` samples of one categorical distribution and how they compare with it."""

    method: str                          # max | soft | hard
    tau: float | None                    # temperature (None for Gumbel-max)
    n: int                               # samples drawn
    probs: list[float]                   # (K,) softmax(logits)
    argmax_frequencies: list[float]      # (K,) how often each class was the argmax
    mean: list[float]                    # (K,) the mean sample
    samples: list[list[float]]           # (show, K) the first samples
    out: str | None                      # the CSV of all samples (None: not written)


def _check_sample_memory(n: int, k: int, out: bool, device: torch.device | str) -> None:
    # the (n, K) noise, perturbed logits and samples in float64, and an int64 index
    check_allocation(6 * tensor_bytes((n, k), torch.float64), f"--n {n} samples of {k} "
                     "categories", device, "draw fewer samples")
    if out:  # the CSV is built in memory: a list of Python floats and a line per row
        check_allocation(n * (160 + 60 * k), f"--n {n} samples of {k} categories written "
                         "to --out", "cpu", "draw fewer samples")


def draw_gumbel_samples(logits: Sequence[float], *, method: str = "max",
                        tau: float | None = None, n: int = 10_000, show: int = 5,
                        out: str | os.PathLike[str] | None = None, seed: int = 0,
                        device: torch.device | str = "cpu") -> GumbelSamples:
    r"""Draw ``n`` samples of $\mathrm{Categorical}(\mathrm{softmax}(\mathrm{logits}))$ (float64):

    * ``max``: one-hot $z = \arg\max_k (\log \pi_k + g_k)$, $g_k = -\log(-\log u_k)$
      (exact);
    * ``soft``: $y = \mathrm{softmax}((\log \pi + g) / \tau)$ (Gumbel-softmax, default
      $\tau = 1$);
    * ``hard``: the one-hot argmax of $y$ (straight-through).

    Writes all samples as CSV to ``out`` if given; returns their summary and the first
    ``show``.
    """
    if method not in METHODS:
        raise GenlabError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if method == "max" and tau is not None:
        raise GenlabError("Gumbel-max draws have no temperature: give tau only to the soft "
                          "or hard methods")
    tau = 1.0 if tau is None else tau
    k = len(logits)
    _check_sample_memory(n, k, out is not None, device)
    gen = make_generator(seed, device)
    lg = torch.tensor(list(logits), dtype=torch.float64, device=device)
    batch = lg.expand(n, k)
    if method == "max":
        index = gumbel_max(batch, gen)
        samples = torch.nn.functional.one_hot(index, k).double()
    else:
        samples = gumbel_softmax(batch, tau, hard=method == "hard", generator=gen)
        index = samples.argmax(-1)
    counts = torch.bincount(index, minlength=k).cpu()
    if out is not None:
        lines = [",".join(f"{v:.9g}" for v in row) for row in samples.cpu().tolist()]
        atomic_write_bytes(out, ("\n".join(lines) + "\n").encode())
        log(f"wrote {n} samples to {out}")
    return GumbelSamples(method, None if method == "max" else tau, n,
                         torch.softmax(lg, 0).cpu().tolist(), (counts.double() / n).tolist(),
                         samples.mean(0).cpu().tolist(), samples[:show].cpu().tolist(),
                         None if out is None else str(out))


@dataclass
class TemperatureFigure(Result):
    """The temperature figure and the numbers it shows (see ``TemperatureSweep``)."""

    out: str                         # the PNG written
    taus: list[float]                # (T,) temperatures
    probs: list[float]               # (K,) softmax(logits)
    expectation: list[list[float]]   # (T, K) Monte Carlo means of y
    sample: list[list[float]]        # (T, K) one sample per temperature
    n_mc: int                        # samples behind each mean


def temperature_figure(out: str | os.PathLike[str], *,
                       logits: Sequence[float] = DEFAULT_LOGITS,
                       taus: Sequence[float] = DEFAULT_TAUS, n_mc: int = 100_000,
                       seed: int = 0) -> TemperatureFigure:
    r"""Draw $\mathbb{E}[y]$ and one sample $y = \mathrm{softmax}((\log \pi + g) / \tau)$ per
    temperature to ``out`` (``temperature_sweep``, on the CPU)."""
    from genlab.latent.gumbel_plots import plot_temperature_sweep, temperature_sweep

    sweep = temperature_sweep(torch.tensor(list(logits), dtype=torch.float64), list(taus),
                              n_mc=n_mc, generator=make_generator(seed, "cpu"))
    plot_temperature_sweep(sweep, out)
    return TemperatureFigure(str(out), list(sweep.taus), sweep.probs.tolist(),
                             sweep.expectation.tolist(), sweep.sample.tolist(), sweep.n_mc)
