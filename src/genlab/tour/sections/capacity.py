"""The tour's Hopfield capacity step."""

from __future__ import annotations

from typing import Any

from genlab.tour.cli_steps import Command, cli_step
from genlab.tour.runner import Step, TourContext
from genlab.tour.sections.common import _q


def _hopfield_capacity(ctx: TourContext) -> list[Command]:
    return [Command(["hopfield", "capacity", "--n", _q(ctx, 100, 400), "--rule", "all",
                     "--trials", _q(ctx, 1, 2), "--out", "{out}/hopfield_capacity.png",
                     "--seed", str(ctx.seed)],
                    [("hopfield_capacity.png", "final overlap with the stored pattern against "
                      "the load alpha = P/N for each learning rule, with the 0.138 line")])]


def _hopfield_capacity_numbers(results: list[dict]) -> dict[str, Any]:
    r = results[0]
    out: dict[str, Any] = {"units N": r["n"], "theory critical load": r["theory_critical_load"]}
    for rule, v in r["rules"].items():
        alphas, rec = v["alphas"], v["recalled"]
        ok = [a for a, f in zip(alphas, rec, strict=False) if f >= 0.5]
        out[f"{rule}: largest load with half the patterns recalled"] = max(ok) if ok else 0.0
    return out


STEP = Step("capacity", "Hopfield capacity",
            "alpha = P / N;   Hebbian recall breaks down near alpha_c = 0.138",
            cli_step(_hopfield_capacity, _hopfield_capacity_numbers,
                     "How many random patterns each learning rule, and the modern softmax "
                     "network, stores before recall fails."))
