"""The tour's Hopfield capacity step."""

from __future__ import annotations

from typing import Any

from genlab.hopfield.tasks import run_capacity
from genlab.tour.runner import Step, StepOutput, TourContext


def _hopfield_capacity(ctx: TourContext) -> StepOutput:
    n, trials = (100, 1) if ctx.quick else (400, 2)
    res = run_capacity(n, rule="all", trials=trials, out=ctx.file("hopfield_capacity.png"),
                       seed=ctx.seed, device=ctx.device)
    numbers: dict[str, Any] = {"units N": res.n,
                               "theory critical load": res.theory_critical_load}
    for curve in res.curves:
        numbers[f"{curve.rule}: largest load with half the patterns recalled"] = \
            curve.largest_recalled_load(0.5)
    return StepOutput(
        figures=[("hopfield_capacity.png", "final overlap with the stored pattern against "
                  "the load alpha = P/N for each learning rule, with the 0.138 line")],
        numbers=numbers,
        command=f"genlab hopfield capacity --n {n} --rule all --trials {trials} "
                f"--out hopfield_capacity.png --seed {ctx.seed} --device {ctx.device.type}",
        summary="How many random patterns each learning rule, and the modern softmax "
                "network, stores before recall fails.")


STEP = Step("capacity", "Hopfield capacity",
            "alpha = P / N;   Hebbian recall breaks down near alpha_c = 0.138",
            _hopfield_capacity)
