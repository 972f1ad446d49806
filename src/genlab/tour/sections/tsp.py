"""The tour's TSP step."""

from __future__ import annotations

import shlex

from genlab.tour.runner import Step, StepOutput, TourContext
from genlab.tsp.tasks import run_solve

INSTANCE = "ulysses16"
FIGURES = [("tsp_meanfield.png", f"{INSTANCE}: the mean-field (softassign) network's tour "
            "and its energy over the annealing"),
           ("tsp_hopfield_tank.png", "10 random cities on the Hopfield-Tank network")]


def _tsp(ctx: TourContext) -> StepOutput:
    device, seed = ctx.device.type, ctx.seed
    runs = [(INSTANCE, "mean-field", 4 if ctx.quick else 16, FIGURES[0][0]),
            ("random:10", "hopfield-tank", 20 if ctx.quick else 100, FIGURES[1][0])]
    reports, lines = [], []
    for instance, method, restarts, figure in runs:
        reports.append(run_solve(instance, method, restarts=restarts, seed=seed, device=device,
                                 plot=ctx.file(figure)))
        lines.append("genlab " + shlex.join([
            "tsp", "solve", instance, "--method", method, "--restarts", str(restarts),
            "--plot", figure, "--seed", str(seed), "--device", device]))
    mf, ht = reports
    numbers = {"instance": mf.instance, "cities": mf.n, "mean-field tour length": mf.length,
               "optimum": mf.optimum, "mean-field gap to optimum": mf.gap,
               "Hopfield-Tank (10 cities) gap": ht.gap,
               "Hopfield-Tank restarts valid without repair": ht.valid_fraction}
    return StepOutput(figures=list(FIGURES), numbers=numbers, command="\n$ ".join(lines),
                      summary="One neuron per city x position: strong inhibition within rows "
                              "and columns, distance-weighted inhibition between neighbouring "
                              "positions.")


STEP = Step("tsp", "Travelling salesman on a Hopfield network",
            "E = A/2 sum_x sum_i!=j V_xi V_xj + B/2 sum_i sum_x!=y V_xi V_yi "
            "+ C/2 (sum V - n)^2 + D/2 sum_xy d_xy sum_i V_xi (V_y,i+1 + V_y,i-1)",
            _tsp)
