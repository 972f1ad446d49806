r"""The letters demonstration: a 25-unit network stores four 5x5 letters by Hebb's rule and
cleans corrupted cues one unit at a time; twelve letters overload it.

$w_{ij} = \frac{1}{N} \sum_\mu x_i^\mu x_j^\mu$ ($w_{ii} = 0$); asynchronous updates
$x_i = \mathrm{sign}(\sum_j w_{ij} x_j)$, one unit at a time, in a random order per sweep.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from genlab.device import make_generator, resolve_device
from genlab.errors import GenlabError
from genlab.hopfield.letters import (
    DEMO_LETTERS,
    OVERLOAD_LETTERS,
    SHAPE,
    flip_cues,
    half_cues,
    letters,
)
from genlab.hopfield.network import HopfieldNetwork
from genlab.hopfield.plots import plot_recall_strips
from genlab.results import Result


@dataclass
class CueOutcome:
    """How recall from one cue ended: the nearest stored pattern, the overlap ``m`` with
    it, whether a sweep changed nothing, the sweeps run and the single-unit updates that
    changed the state."""

    nearest: int
    overlap: float
    converged: bool
    sweeps: int
    updates: int


@dataclass
class DemoResult(Result):
    """What :func:`run_demo` did: the stored letters, the figures written, how many of the
    cues were recalled exactly, and the overloaded network's outcome."""

    letters: str
    recall_figure: Path
    overload_figure: Path
    cues: int
    recalled: int
    per_cue: list[CueOutcome]
    overload_letters: str
    overload_stable: list[bool]  # is each overloaded letter a fixed point?
    overload_per_cue: list[CueOutcome]

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d["overload"] = {"letters": d.pop("overload_letters"),
                         "stable": d.pop("overload_stable"),
                         "per_cue": d.pop("overload_per_cue")}
        return d


def _strips(net: HopfieldNetwork, cues: torch.Tensor, gen: torch.Generator
            ) -> tuple[list[torch.Tensor], list[CueOutcome]]:
    """Recall each cue ``(N,)`` of ``cues`` ``(C, N)`` alone, recording every update: the
    frames ``(T, N)`` of each cue and its outcome."""
    rows, outcomes = [], []
    for cue in cues:
        out = net.recall(cue, generator=gen, record="updates")
        rows.append(out.trajectory[:, 0])
        outcomes.append(CueOutcome(nearest=int(out.nearest[0]), overlap=float(out.overlap[0]),
                                   converged=bool(out.converged[0]), sweeps=int(out.sweeps[0]),
                                   updates=int(out.trajectory.shape[0] - 1)))
    return rows, outcomes


def run_demo(out: str | os.PathLike[str], seed: int | None = 0, flips: int = 3,
             device: str | torch.device = "cpu") -> DemoResult:
    """Store :data:`DEMO_LETTERS` (4 patterns, ``(4, 25)``) and recall each from a cue with
    ``flips`` random pixels flipped and from its top half (bottom half unknown, 0); then
    store :data:`OVERLOAD_LETTERS` (12) and start from six of them. Writes
    ``out/hopfield_recall.png`` and ``out/hopfield_overload.png`` (the state after every
    update that changed a unit). A cue counts as recalled when the final state is its own
    letter exactly (``m = 1``)."""
    units = SHAPE[0] * SHAPE[1]
    if not 0 <= flips <= units:
        raise GenlabError(f"--flips {flips} is not a number of pixels of a letter of {units} "
                          f"units; give 0 to {units}")
    dev = resolve_device(device)
    gen = make_generator(seed)
    out = Path(out)
    pats = letters(DEMO_LETTERS)
    net = HopfieldNetwork(device=dev).fit(pats)
    flipped = flip_cues(pats, flips, gen)
    halves, _ = half_cues(pats)
    rows, per_cue = _strips(net, torch.cat([flipped, halves]), gen)
    labels = [f"{c}, {flips} flipped" for c in DEMO_LETTERS] + \
             [f"{c}, half missing" for c in DEMO_LETTERS]
    recall_png = plot_recall_strips(rows, labels, out / "hopfield_recall.png", SHAPE,
                                    "25-unit Hopfield network, 4 letters: state after each "
                                    "unit that changed")
    big = letters(OVERLOAD_LETTERS)
    over = HopfieldNetwork(device=dev).fit(big)
    orows, over_per_cue = _strips(over, big[:6], gen)
    olabels = [f"{c} (stored)" for c in OVERLOAD_LETTERS[:6]]
    over_png = plot_recall_strips(orows, olabels, out / "hopfield_overload.png", SHAPE,
                                  f"{len(OVERLOAD_LETTERS)} letters in 25 units: stored "
                                  "patterns drift to spurious states")
    k = len(DEMO_LETTERS)
    recalled = sum(r.nearest == i % k and r.overlap == 1.0 for i, r in enumerate(per_cue))
    return DemoResult(letters=DEMO_LETTERS, recall_figure=recall_png, overload_figure=over_png,
                      cues=len(per_cue), recalled=recalled, per_cue=per_cue,
                      overload_letters=OVERLOAD_LETTERS,
                      overload_stable=[bool(s) for s in over.stable(big)],
                      overload_per_cue=over_per_cue)
