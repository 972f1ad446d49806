"""The tour's Hopfield associative memory step."""

from __future__ import annotations

from typing import Any

from genlab.tour.cli_steps import Command, cli_step
from genlab.tour.runner import Step, TourContext


def _hopfield_memory(ctx: TourContext) -> list[Command]:
    return [Command(["hopfield", "demo", "--out", "{out}/hopfield", "--seed", str(ctx.seed)],
                    [("hopfield/hopfield_recall.png",
                      "four 5x5 letters stored; corrupted cues recalled unit by unit"),
                     ("hopfield/hopfield_overload.png",
                      "twelve letters in 25 units: the memory fails")])]


def _hopfield_memory_numbers(results: list[dict]) -> dict[str, Any]:
    r = results[0]
    over = r["overload"]
    return {"letters stored": r["letters"], "cues": r["cues"], "cues recalled": r["recalled"],
            "overloaded memory": over["letters"],
            "stable letters when overloaded": f"{sum(over['stable'])} of {len(over['stable'])}"}


STEP = Step("hopfield", "Hopfield associative memory",
            "x_i = sign(sum_j w_ij x_j),   w_ij = eta sum_n x_i^(n) x_j^(n),   w_ii = 0,   "
            "E(x) = -1/2 sum_ij w_ij x_i x_j",
            cli_step(_hopfield_memory, _hopfield_memory_numbers,
                     "A 25-unit network stores four 5x5 letters by Hebb's rule and cleans "
                     "corrupted cues one unit at a time; twelve letters overload it."))
