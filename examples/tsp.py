"""The travelling salesman on a mean-field (Hopfield-Tank type) network: ulysses16.

One neuron V_Xi per city X and tour position i (an n x n matrix). Hopfield and Tank's
energy rewards short tours and punishes any matrix that is not a permutation:

    E = A/2 sum_X sum_{i != j} V_Xi V_Xj + B/2 sum_i sum_{X != Y} V_Xi V_Yi
        + C/2 (sum_Xi V_Xi - n)^2 + D/2 sum_{X,Y} d_XY sum_i V_Xi (V_{Y,i+1} + V_{Y,i-1}).

Mean-field annealing replaces each neuron by its mean at inverse temperature beta,
V = Sinkhorn(exp(beta Q)) with Q = -dE/dV, and raises beta until the state freezes into
a tour; the row and column constraints are kept exactly by the Sinkhorn normalisation
(softassign), so only the distance term is left to minimise. The tour is compared with
the proven optimum: gap = L / L* - 1.

    python examples/tsp.py --out examples-out

writes tsp_tour.png (the tour and the energy during the annealing).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from genlab.tsp import (
    gap_to_optimum,
    known_optimum,
    load_instance,
    nearest_neighbour,
    solve_mean_field,
    tour_length,
    two_opt,
)
from genlab.tsp.plots import plot_tour


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("examples-out"),
                        help="folder for the figures (default: examples-out)")
    parser.add_argument("--small", action="store_true",
                        help="a few seconds' version (also GENLAB_EXAMPLES_SMALL=1)")
    args = parser.parse_args()
    args.small = args.small or os.environ.get("GENLAB_EXAMPLES_SMALL") == "1"
    args.out.mkdir(parents=True, exist_ok=True)
    return args


def main() -> None:
    args = parse_args()

    # ulysses16 ships with genlab: 16 places of the Odyssey, geographical distances d_XY
    inst = load_instance("ulysses16")
    optimum, source = known_optimum(inst)              # L*, proven (TSPLIB's .opt.tour)
    print(f"{inst.name}: {inst.n} cities, optimum L* = {optimum:g} "
          f"(from {Path(source).name})")

    # R independent networks anneal at once (the batch is the first dimension); the
    # shortest tour read from their final states is returned
    restarts = 4 if args.small else 32
    res = solve_mean_field(inst.dist, restarts=restarts, seed=0, device="cpu")
    gaps = gap_to_optimum(res.lengths, optimum)        # (R,) one gap per restart
    print(f"mean-field network, {restarts} restarts: best tour {res.length:g}, "
          f"gap {100 * gap_to_optimum(res.length, optimum):.2f} %")
    print(f"  worst restart's gap {100 * float(gaps.max()):.2f} %; final states that were "
          f"permutation matrices by themselves: {100 * res.valid_fraction:.0f} %")

    # the classical baselines for scale: a greedy tour, then 2-opt (a local search, which
    # the network does not use)
    greedy = nearest_neighbour(inst.dist, start=0)
    print(f"  nearest neighbour from city 0: {tour_length(inst.dist, greedy):g}; "
          f"the network's tour after 2-opt: "
          f"{tour_length(inst.dist, two_opt(inst.dist, res.tour)):g}")

    plot_tour(inst, res, args.out / "tsp_tour.png",
              title=f"{inst.name}: mean-field network, length {res.length:g} "
                    f"(optimum {optimum:g})")
    print(f"figures in {args.out}/")


if __name__ == "__main__":
    main()
