"""The tour's TSP step."""

from __future__ import annotations

from typing import Any

from genlab.tour.cli_steps import Command, cli_step
from genlab.tour.runner import Step, TourContext
from genlab.tour.sections.common import _q


def _tsp(ctx: TourContext) -> list[Command]:
    inst = "ulysses16"
    return [Command(["tsp", "solve", inst, "--method", "mean-field", "--restarts",
                     _q(ctx, 4, 16), "--plot", "{out}/tsp_meanfield.png", "--seed", str(ctx.seed)],
                    [("tsp_meanfield.png", f"{inst}: the mean-field (softassign) network's tour "
                      "and its energy over the annealing")]),
            Command(["tsp", "solve", "random:10", "--method", "hopfield-tank", "--restarts",
                     _q(ctx, 20, 100), "--plot", "{out}/tsp_hopfield_tank.png",
                     "--seed", str(ctx.seed)],
                    [("tsp_hopfield_tank.png", "10 random cities on the Hopfield-Tank network")])]


def _tsp_numbers(results: list[dict]) -> dict[str, Any]:
    mf, ht = results
    return {"instance": mf["instance"], "cities": mf["n"], "mean-field tour length": mf["length"],
            "optimum": mf["optimum"], "mean-field gap to optimum": mf["gap"],
            "Hopfield-Tank (10 cities) gap": ht.get("gap"),
            "Hopfield-Tank restarts valid without repair": ht["valid_fraction"]}


STEP = Step("tsp", "Travelling salesman on a Hopfield network",
            "E = A/2 sum_x sum_i!=j V_xi V_xj + B/2 sum_i sum_x!=y V_xi V_yi "
            "+ C/2 (sum V - n)^2 + D/2 sum_xy d_xy sum_i V_xi (V_y,i+1 + V_y,i-1)",
            cli_step(_tsp, _tsp_numbers,
                     "One neuron per city x position: strong inhibition within rows and "
                     "columns, distance-weighted inhibition between neighbouring positions."))
