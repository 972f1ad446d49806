"""``genlab tsp``: solve travelling-salesman instances with Hopfield-type networks."""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import torch

from genlab.cli.common import add_command, add_group, data_source, emit, output_file, positive_int
from genlab.device import resolve_device
from genlab.io import atomic_write_json
from genlab.progress import log
from genlab.tsp import (
    BUILTIN_INSTANCES,
    METHODS,
    best_nearest_neighbour,
    held_karp,
    load_instance,
    solve,
    tour_length,
    two_opt,
)
from genlab.tsp.exact import HELD_KARP_MAX_N
from genlab.tsp.solve import check_solve_memory
from genlab.tsp.tsplib import Instance

INSTANCE_HELP = ("a TSPLIB .tsp file, a .npy distance matrix, random:N (N random cities from "
                 "--seed), or a built-in instance: " + ", ".join(BUILTIN_INSTANCES))


def known_optimum(inst: Instance) -> tuple[float | None, str | None]:
    """The optimum from the instance's files, else from Held-Karp when n is small enough."""
    if inst.optimum is not None:
        return inst.optimum, inst.optimum_source
    if inst.n <= HELD_KARP_MAX_N:
        return held_karp(inst.dist).length, "held-karp"
    return None, None


def _gap(length: float, opt: float | None) -> float | None:
    return None if opt is None or opt <= 0 else length / opt - 1.0


def cmd_solve(args: argparse.Namespace) -> None:
    inst = load_instance(args.instance, seed=args.seed)
    check_solve_memory(inst.n, args.method, args.restarts, args.device)
    if resolve_device(args.device).type == "cpu":
        # the batched networks are many small tensors: on a shared CPU, intra-op threads cost
        # far more in synchronisation than they give
        torch.set_num_threads(1)
    log(f"{inst.name}: {inst.n} cities ({inst.edge_weight_type}); {args.method} with "
        f"{args.restarts} restarts")
    t0 = time.perf_counter()
    res = solve(inst, args.method, restarts=args.restarts, seed=args.seed, device=args.device)
    seconds = time.perf_counter() - t0
    opt, source = known_optimum(inst)
    assert sorted(res.tour.tolist()) == list(range(inst.n))
    length = tour_length(inst.dist, res.tour)
    out: dict[str, Any] = {
        "instance": inst.name, "n": inst.n, "method": args.method, "restarts": args.restarts,
        "tour": res.tour.tolist(), "length": length, "valid": res.best_valid,
        "valid_fraction": res.valid_fraction, "optimum": opt, "optimum_source": source,
        "gap": _gap(length, opt), "seconds": seconds, "steps": res.steps,
        "restart_lengths": {"min": float(res.lengths.min()), "mean": float(res.lengths.mean()),
                            "max": float(res.lengths.max())},
        "mean_gap": None if opt is None else float(np.mean(res.lengths / opt - 1.0)),
        "energy_start": float(res.energy[0]), "energy_end": float(res.energy[-1]),
    }
    if "update" in res.extra:  # which mean-field network ran: softassign or serial Potts
        out["update"] = res.extra["update"]
    if args.polish == "2opt":
        t1 = time.perf_counter()
        pt = two_opt(inst.dist, res.tour)
        plen = tour_length(inst.dist, pt)
        out["polish"] = {"method": "2opt", "tour": pt.tolist(), "length": plen,
                         "gap": _gap(plen, opt), "seconds": time.perf_counter() - t1}
    if args.plot:
        from genlab.tsp.plots import plot_tour
        plot_tour(inst, res, args.plot)
        out["plot"] = str(args.plot)
    if args.out:
        atomic_write_json(args.out, out)
        out["out"] = str(args.out)

    def text(r: dict) -> str:
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

    emit(args, out, text)


def cmd_exact(args: argparse.Namespace) -> None:
    inst = load_instance(args.instance, seed=args.seed)
    t0 = time.perf_counter()
    ex = held_karp(inst.dist)
    nn_tour, nn_len = best_nearest_neighbour(inst.dist)
    emit(args, {"instance": inst.name, "n": inst.n, "tour": ex.tour.tolist(),
                "length": ex.length, "nearest_neighbour": nn_len,
                "seconds": time.perf_counter() - t0},
         lambda r: f"{r['instance']}: optimal length {r['length']:g} "
                   f"(nearest neighbour {r['nearest_neighbour']:g})\ntour: "
                   + " ".join(map(str, r["tour"])))


def cmd_info(args: argparse.Namespace) -> None:
    inst = load_instance(args.instance, seed=args.seed)
    opt, source = known_optimum(inst)
    nn_tour, nn_len = best_nearest_neighbour(inst.dist)
    nn2 = tour_length(inst.dist, two_opt(inst.dist, nn_tour))
    emit(args, {"instance": inst.name, "n": inst.n, "edge_weight_type": inst.edge_weight_type,
                "comment": inst.comment, "optimum": opt, "optimum_source": source,
                "nearest_neighbour": nn_len, "nearest_neighbour_2opt": nn2,
                "has_coords": inst.coords is not None})


def register(subparsers: argparse._SubParsersAction) -> None:
    sub = add_group(subparsers, "tsp", "travelling-salesman tours from Hopfield-type networks",
                    description="Solve symmetric TSP instances with the Hopfield-Tank network, "
                                "mean-field annealing (softassign below 20 cities, serial Potts "
                                "neurons from 20 on) or the elastic net.")
    p = add_command(sub, "solve", cmd_solve, "find a short tour with a neural method",
                    examples="genlab tsp solve burma14 --json\n"
                             "genlab tsp solve ../shared/data/tsplib/eil51.tsp --method "
                             "elastic-net --restarts 8 --plot eil51.png\n"
                             "genlab tsp solve random:10 --method hopfield-tank --restarts 100 "
                             "--seed 3 --json\n"
                             "genlab tsp solve dist.npy --method mean-field --polish 2opt")
    p.add_argument("instance", metavar="INSTANCE", type=data_source, help=INSTANCE_HELP)
    p.add_argument("--method", default="mean-field", choices=METHODS,
                   help="hopfield-tank, mean-field or elastic-net")
    p.add_argument("--restarts", type=positive_int, default=16,
                   help="independent runs, computed as one batch")
    p.add_argument("--polish", default="none", choices=("none", "2opt"),
                   help="also report the network's tour after 2-opt (separately)")
    p.add_argument("--plot", type=output_file, default=None,
                   help="PNG with the tour and the energy over the run")
    p.add_argument("--out", type=output_file, default=None,
                   help="also write the JSON result to this file")
    p = add_command(sub, "exact", cmd_exact, f"the optimal tour by Held-Karp (n <= "
                    f"{HELD_KARP_MAX_N})", examples="genlab tsp exact burma14\n"
                    "genlab tsp exact random:12 --seed 1 --json", device=False)
    p.add_argument("instance", metavar="INSTANCE", type=data_source, help=INSTANCE_HELP)
    p = add_command(sub, "info", cmd_info, "an instance's size, optimum and classical baselines",
                    examples="genlab tsp info gr17\n"
                             "genlab tsp info ../shared/data/tsplib/berlin52.tsp --json",
                    device=False)
    p.add_argument("instance", metavar="INSTANCE", type=data_source, help=INSTANCE_HELP)
