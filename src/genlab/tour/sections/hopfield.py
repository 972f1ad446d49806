"""The tour's Hopfield associative memory step."""

from __future__ import annotations

from genlab.hopfield.demo import run_demo
from genlab.tour.runner import Step, StepOutput, TourContext


def _hopfield_memory(ctx: TourContext) -> StepOutput:
    res = run_demo(ctx.file("hopfield"), seed=ctx.seed, device=ctx.device)
    stable = res.overload_stable
    return StepOutput(
        figures=[("hopfield/hopfield_recall.png",
                  "four 5x5 letters stored; corrupted cues recalled unit by unit"),
                 ("hopfield/hopfield_overload.png",
                  "twelve letters in 25 units: the memory fails")],
        numbers={"letters stored": res.letters, "cues": res.cues, "cues recalled": res.recalled,
                 "overloaded memory": res.overload_letters,
                 "stable letters when overloaded": f"{sum(stable)} of {len(stable)}"},
        command=f"genlab hopfield demo --out hopfield --seed {ctx.seed} "
                f"--device {ctx.device.type}",
        summary="A 25-unit network stores four 5x5 letters by Hebb's rule and cleans "
                "corrupted cues one unit at a time; twelve letters overload it.")


STEP = Step("hopfield", "Hopfield associative memory",
            "x_i = sign(sum_j w_ij x_j),   w_ij = eta sum_n x_i^(n) x_j^(n),   w_ii = 0,   "
            "E(x) = -1/2 sum_ij w_ij x_i x_j",
            _hopfield_memory)
