"""``genlab tsp``: solve travelling-salesman instances with Hopfield-type networks."""

from __future__ import annotations

import argparse

from genlab.cli.common import (
    add_command,
    add_group,
    add_threads,
    data_source,
    emit,
    output_file,
    positive_int,
)
from genlab.tsp import BUILTIN_INSTANCES, DEFAULT_RESTARTS, METHODS
from genlab.tsp.exact import HELD_KARP_MAX_N
from genlab.tsp.tasks import POLISHES, run_exact, run_info, run_solve

INSTANCE_HELP = ("a TSPLIB .tsp file, a .npy distance matrix, random:N (N random cities from "
                 "--seed), or a built-in instance: " + ", ".join(BUILTIN_INSTANCES))


def cmd_solve(args: argparse.Namespace) -> None:
    report = run_solve(args.instance, args.method, restarts=args.restarts, seed=args.seed,
                       device=args.device, polish=args.polish, plot=args.plot, out=args.out)
    emit(args, report, _solve_text)


def _solve_text(r: dict) -> str:
    lines = [f"{r['instance']} ({r['n']} cities), {r['method']}, {r['restarts']} restarts: "
             f"length {r['length']:g}" + ("" if r["gap"] is None else
                                          f" (gap {100 * r['gap']:.2f}% to {r['optimum']:g})"),
             f"valid: {r['valid']} (network alone), valid fraction "
             f"{r['valid_fraction']:.2f}, {r['seconds']:.2f} s",
             "tour: " + " ".join(map(str, r["tour"]))]
    if "polish" in r:
        p = r["polish"]
        lines.append(f"2-opt polish: length {p['length']:g}" + (
            "" if p["gap"] is None else f" (gap {100 * p['gap']:.2f}%)"))
    return "\n".join(lines)


def cmd_exact(args: argparse.Namespace) -> None:
    emit(args, run_exact(args.instance, seed=args.seed),
         lambda r: f"{r['instance']}: optimal length {r['length']:g} "
                   f"(nearest neighbour {r['nearest_neighbour']:g})\ntour: "
                   + " ".join(map(str, r["tour"])))


def cmd_info(args: argparse.Namespace) -> None:
    emit(args, run_info(args.instance, seed=args.seed))


def register(subparsers: argparse._SubParsersAction) -> None:
    sub = add_group(subparsers, "tsp", "travelling-salesman tours from Hopfield-type networks",
                    description="Solve symmetric TSP instances with the Hopfield-Tank network, "
                                "mean-field annealing (softassign below 20 cities, serial Potts "
                                "neurons from 20 on), the elastic net or a self-organising map "
                                "(Kohonen ring).")
    p = add_command(sub, "solve", cmd_solve, "find a short tour with a neural method",
                    examples="genlab tsp solve burma14 --json\n"
                             "genlab tsp solve ../shared/data/tsplib/eil51.tsp --method "
                             "elastic-net --restarts 8 --plot eil51.png\n"
                             "genlab tsp solve random:10 --method hopfield-tank --restarts 100 "
                             "--seed 3 --json\n"
                             "genlab tsp solve ../shared/data/tsplib/st70.tsp --method som "
                             "--restarts 16 --json\n"
                             "genlab tsp solve dist.npy --method mean-field --polish 2opt")
    p.add_argument("instance", metavar="INSTANCE", type=data_source, help=INSTANCE_HELP)
    p.add_argument("--method", default="mean-field", choices=METHODS,
                   help="hopfield-tank, mean-field, elastic-net or som (self-organising map)")
    p.add_argument("--restarts", type=positive_int, default=None,
                   help="independent runs, computed as one batch; when not given: "
                   + ", ".join(f"{DEFAULT_RESTARTS[m]} for {m}" for m in METHODS))
    p.add_argument("--polish", default="none", choices=POLISHES,
                   help="also report the network's tour after 2-opt (separately)")
    p.add_argument("--plot", type=output_file, default=None,
                   help="PNG with the tour and the energy (som: the ring length) over the run")
    p.add_argument("--out", type=output_file, default=None,
                   help="also write the JSON result to this file")
    add_threads(p, "the networks are many small tensors, for which 1 is often fastest on "
                "a busy machine")
    p = add_command(sub, "exact", cmd_exact, f"the optimal tour by Held-Karp (n <= "
                    f"{HELD_KARP_MAX_N})", examples="genlab tsp exact burma14\n"
                    "genlab tsp exact random:12 --seed 1 --json", device=False)
    p.add_argument("instance", metavar="INSTANCE", type=data_source, help=INSTANCE_HELP)
    p = add_command(sub, "info", cmd_info, "an instance's size, optimum and classical baselines",
                    examples="genlab tsp info gr17\n"
                             "genlab tsp info ../shared/data/tsplib/berlin52.tsp --json",
                    device=False)
    p.add_argument("instance", metavar="INSTANCE", type=data_source, help=INSTANCE_HELP)
