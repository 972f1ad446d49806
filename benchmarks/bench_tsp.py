"""Benchmark genlab's neural TSP solvers against the optimum and the classical baselines.

Runs, in one process, on the TSPLIB instances in ``../shared/data/tsplib`` (proven optima) and
on random 10-city instances (optimum by Held-Karp):

* Hopfield-Tank (1985) with the published parameters: fraction of valid tours, gaps;
* mean-field annealing, the elastic net and the self-organising map (the network alone, best
  of R restarts computed as one batch), and separately the same tours after a 2-opt polish;
* nearest neighbour (best start city) and 2-opt from it.

Writes ``benchmarks/results/tsp.json`` and prints the Markdown tables of RESULTS.md.
Usage: ``PYTHONPATH=src python benchmarks/bench_tsp.py [--restarts R] [--only NAME ...]``

With ``--seeds 1 2 3 4 5`` it runs instead every network on every TSPLIB instance once per
seed (default restarts unless ``--restarts`` is given), writes every run to
``benchmarks/results/tsp_seeds.json`` and prints the mean, spread and worst case of the gap
over the seeds, per method and per instance.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from genlab.device import cpu_name
from genlab.tsp import (
    best_nearest_neighbour,
    gap_to_optimum,
    held_karp,
    random_euclidean,
    read_tsplib,
    solve,
    tour_length,
    two_opt,
)

ROOT = Path(__file__).resolve().parents[1]
TSPLIB = ROOT.parent / "shared" / "data" / "tsplib"
# The published mark: a growing-ring self-organising map, 2.49 % above optimum on average over
# 12 TSPLIB instances (as usually cited).
SOM_MARK = 2.49
# the networks run on TSPLIB, and their names in the tables
NETWORKS = {"mean-field": "mean field", "elastic-net": "elastic net", "som": "SOM"}


def gap(length, opt: float):
    """The gap to the optimum in % (:func:`genlab.tsp.gap_to_optimum` times 100), for one
    length or an array of them."""
    return 100.0 * gap_to_optimum(length, opt)


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def run_instance(name: str, inst, opt: float, restarts: int, seed: int) -> dict:
    row: dict = {"instance": name, "n": inst.n, "optimum": opt}
    (nn_tour, nn_len), t_nn = timed(lambda: best_nearest_neighbour(inst.dist))
    t2, t_2opt = timed(lambda: two_opt(inst.dist, nn_tour))
    row["nearest_neighbour"] = {"gap": gap(nn_len, opt), "seconds": t_nn}
    row["nn_2opt"] = {"gap": gap(tour_length(inst.dist, t2), opt), "seconds": t_nn + t_2opt}
    for method in NETWORKS:
        res = solve(inst, method, restarts=restarts, seed=seed, device="cpu")
        pol, t_pol = timed(lambda res=res: two_opt(inst.dist, res.tour))
        row[method] = {"gap": gap(res.length, opt), "mean_gap": float(np.mean(
            gap(res.lengths, opt))), "valid_fraction": res.valid_fraction,
            "seconds": res.seconds, "polished_gap": gap(tour_length(inst.dist, pol), opt),
            "polish_seconds": t_pol, "steps": res.steps}
        print(f"  {name:10s} {method:12s} gap {row[method]['gap']:6.2f}%  "
              f"(+2opt {row[method]['polished_gap']:5.2f}%)  {res.seconds:6.1f} s", flush=True)
    return row


def hopfield_tank_10(instances: int, restarts: int) -> dict:
    """Hopfield-Tank on random 10-city instances: valid fraction and gaps of valid runs."""
    rows = []
    for seed in range(instances):
        inst = random_euclidean(10, seed)
        opt = held_karp(inst.dist).length
        res = solve(inst, "hopfield-tank", restarts=restarts, seed=seed, device="cpu")
        g = gap(res.lengths, opt)
        rows.append({"seed": seed, "valid_fraction": res.valid_fraction,
                     "valid_mean_gap": float(g[res.valid].mean()) if res.valid.any() else None,
                     "valid_optimal": int(np.sum(res.valid & (g < 1e-9))),
                     "best_gap": gap(res.length, opt), "best_valid": res.best_valid,
                     "repaired_mean_gap": float(g.mean()), "seconds": res.seconds})
        mf = solve(inst, "mean-field", restarts=16, seed=seed, device="cpu")
        en = solve(inst, "elastic-net", restarts=8, seed=seed, device="cpu")
        rows[-1]["mean_field_gap"] = gap(mf.length, opt)
        rows[-1]["mean_field_seconds"] = mf.seconds
        rows[-1]["elastic_net_gap"] = gap(en.length, opt)
        nn, nn_len = best_nearest_neighbour(inst.dist)
        rows[-1]["nn_gap"] = gap(nn_len, opt)
        rows[-1]["nn_2opt_gap"] = gap(tour_length(inst.dist, two_opt(inst.dist, nn)), opt)
        print(f"  random10 seed {seed}: HT valid {res.valid_fraction:.2f}, MF gap "
              f"{rows[-1]['mean_field_gap']:.2f}%", flush=True)
    return {"restarts": restarts, "rows": rows}


def markdown(result: dict) -> str:
    ht = result["hopfield_tank_10"]["rows"]
    R = result["hopfield_tank_10"]["restarts"]
    vf = np.mean([r["valid_fraction"] for r in ht])
    vg = [r["valid_mean_gap"] for r in ht if r["valid_mean_gap"] is not None]
    vopt = sum(r["valid_optimal"] for r in ht)
    nvalid = sum(round(r["valid_fraction"] * R) for r in ht)
    lines = [
        f"Random 10-city instances (uniform in the unit square, seeds 0-{len(ht) - 1}), "
        "optimum by Held-Karp.",
        "",
        "| method | valid tours | mean gap | note |",
        "| --- | --- | --- | --- |",
        f"| Hopfield-Tank (genlab, A=B=D=500, C=200, u0=0.02, n~=15; {R} runs per instance) | "
        f"{100 * vf:.1f}% ({nvalid} of {R * len(ht)}) | {np.mean(vg):.2f}% over valid runs | "
        f"{vopt} of the valid runs are optimal |",
        "| Hopfield & Tank 1985 (as usually cited) | 16 of 20 runs | about half of the valid "
        "runs among the 2 shortest tours | one 10-city instance |",
        "| Wilson & Pawley 1988 (as usually cited) | about 15 of 100 runs | 'not much better than "
        "random' | same parameters, their 10-city sets |",
        f"| mean-field (genlab, 16 restarts) | 100% | "
        f"{np.mean([r['mean_field_gap'] for r in ht]):.2f}% | best of the batch |",
        f"| elastic net (genlab, 8 restarts) | 100% | "
        f"{np.mean([r['elastic_net_gap'] for r in ht]):.2f}% | best of the batch |",
        f"| nearest neighbour (best start) | 100% | {np.mean([r['nn_gap'] for r in ht]):.2f}% | |",
        f"| nearest neighbour + 2-opt | 100% | {np.mean([r['nn_2opt_gap'] for r in ht]):.2f}% "
        "| |",
        "",
        f"TSPLIB instances (proven optima), {result['restarts']} restarts per network, "
        "gap = length / optimum - 1 in %, network alone; 2-opt polish in its own columns.",
        "",
        "| instance | n | mean-field | s | elastic net | s | SOM | s | best neural | SOM mark | "
        "MF + 2-opt | EN + 2-opt | NN | NN + 2-opt |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in result["tsplib"]:
        mf, en, so = r["mean-field"], r["elastic-net"], r["som"]
        best = min(mf["gap"], en["gap"], so["gap"])
        lines.append(f"| {r['instance']} | {r['n']} | {mf['gap']:.2f} | {mf['seconds']:.1f} | "
                     f"{en['gap']:.2f} | {en['seconds']:.1f} | {so['gap']:.2f} | "
                     f"{so['seconds']:.1f} | {best:.2f} | {SOM_MARK} (avg) | "
                     f"{mf['polished_gap']:.2f} | {en['polished_gap']:.2f} | "
                     f"{r['nearest_neighbour']['gap']:.2f} | {r['nn_2opt']['gap']:.2f} |")
    rows = result["tsplib"]

    def avg(key, sub="gap", upto=10**9):
        vals = [r[key][sub] for r in rows if r["n"] <= upto]
        return np.mean(vals) if vals else float("nan")

    best_avg = np.mean([min(r[m]["gap"] for m in NETWORKS) for r in rows])
    lines.append(f"| **mean (all)** | | {avg('mean-field'):.2f} | | {avg('elastic-net'):.2f} | | "
                 f"{avg('som'):.2f} | | "
                 f"{best_avg:.2f} | 2.49 | {avg('mean-field', 'polished_gap'):.2f} | "
                 f"{avg('elastic-net', 'polished_gap'):.2f} | {avg('nearest_neighbour'):.2f} | "
                 f"{avg('nn_2opt'):.2f} |")
    lines.append(f"| mean (n <= 52) | | {avg('mean-field', upto=52):.2f} | | "
                 f"{avg('elastic-net', upto=52):.2f} | | {avg('som', upto=52):.2f} | | | | | | "
                 "| |")
    return "\n".join(lines)


def run_seeds(name: str, inst, opt: float, seeds: list[int], restarts: int | None,
              methods=tuple(NETWORKS)) -> dict:
    """Every network in ``methods`` on one instance once per seed: the gap of the returned
    tour, the mean gap of its restarts, the 2-opt-polished gap and the time of every run."""
    row: dict = {"instance": name, "n": inst.n, "optimum": opt, "runs": {}}
    kw = {} if restarts is None else {"restarts": restarts}
    for method in methods:
        runs = []
        for seed in seeds:
            res = solve(inst, method, seed=seed, device="cpu", **kw)
            pol = two_opt(inst.dist, res.tour)
            runs.append({"seed": seed, "gap": gap(res.length, opt), "restarts": len(res.lengths),
                         "mean_gap": float(np.mean(gap(res.lengths, opt))),
                         "valid_fraction": res.valid_fraction, "seconds": res.seconds,
                         "steps": res.steps,
                         "polished_gap": gap(tour_length(inst.dist, pol), opt)})
            print(f"  {name:10s} {method:12s} seed {seed} gap {runs[-1]['gap']:6.2f}%  "
                  f"{res.seconds:6.1f} s", flush=True)
        row["runs"][method] = runs
    return row


def spread(values) -> dict:
    """Mean, sample standard deviation (0 for one value), smallest and largest of ``values``."""
    v = np.asarray(values, dtype=float)
    return {"mean": float(v.mean()), "sd": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
            "min": float(v.min()), "max": float(v.max())}


def summarise_seeds(rows: list[dict]) -> dict:
    """Per instance and method the spread of the gap over seeds (``rows[i]["gap"]``); the
    best method per instance (the lowest mean over seeds) and its mean; per method the mean
    over instances of the per-instance means, the worst instance and the slowest run."""
    methods = list(rows[0]["runs"])
    for r in rows:
        r["gap"] = {m: spread([run["gap"] for run in r["runs"][m]]) for m in methods}
        best = min(methods, key=lambda m: r["gap"][m]["mean"])
        r["best"] = {"method": best, **r["gap"][best]}
    summary = {}
    for m in methods:
        means = [r["gap"][m]["mean"] for r in rows]
        worst = int(np.argmax(means))
        runs = [(run["seconds"], r["instance"]) for r in rows for run in r["runs"][m]]
        summary[m] = {"mean": float(np.mean(means)),
                      "mean_sd": float(np.mean([r["gap"][m]["sd"] for r in rows])),
                      "worst_instance": rows[worst]["instance"], "worst_mean": means[worst],
                      "largest_gap": max(r["gap"][m]["max"] for r in rows),
                      "slowest_seconds": max(runs)[0], "slowest_instance": max(runs)[1]}
    best = [r["best"]["mean"] for r in rows]
    worst = int(np.argmax(best))
    summary["best"] = {"mean": float(np.mean(best)),
                       "mean_sd": float(np.mean([r["best"]["sd"] for r in rows])),
                       "worst_instance": rows[worst]["instance"], "worst_mean": best[worst],
                       "largest_gap": max(r["best"]["max"] for r in rows)}
    return summary


def seeds_markdown(result: dict) -> str:
    """The tables of a ``--seeds`` run: per method, then per instance (mean +- sd over seeds)."""
    rows, summary = result["tsplib"], result["summary"]
    methods = [m for m in summary if m != "best"]
    seeds = result["seeds"]
    lines = [f"TSPLIB instances (proven optima), the network alone, {result['restarts_note']}; "
             f"gap = length / optimum - 1 in %, per instance the mean over seeds "
             f"{', '.join(map(str, seeds))}, then averaged over the {len(rows)} instances.",
             "",
             "| method | mean gap | mean sd over seeds | worst instance (mean) | largest gap of "
             "a run | slowest run |",
             "| --- | ---: | ---: | --- | ---: | ---: |"]
    for m in methods + ["best"]:
        s = summary[m]
        label = NETWORKS.get(m, "best network per instance")
        slow = (f"{s['slowest_seconds']:.1f} s ({s['slowest_instance']})"
                if "slowest_seconds" in s else "")
        lines.append(f"| {label} | {s['mean']:.2f}% | {s['mean_sd']:.2f} | "
                     f"{s['worst_instance']} ({s['worst_mean']:.2f}%) | {s['largest_gap']:.2f}% "
                     f"| {slow} |")
    lines += ["", "| instance | n | " + " | ".join(NETWORKS.get(m, m) for m in methods)
              + " | best |", "| --- | ---: |" + " ---: |" * (len(methods) + 1)]
    for r in rows:
        cells = [f"{r['gap'][m]['mean']:.2f} ± {r['gap'][m]['sd']:.2f}" for m in methods]
        lines.append(f"| {r['instance']} | {r['n']} | " + " | ".join(cells)
                     + f" | {r['best']['mean']:.2f} ({NETWORKS.get(r['best']['method'])}) |")
    return "\n".join(lines)


def tsplib_instances(only=None) -> list:
    """``(name, instance)`` of the TSPLIB files with known optima, smallest first."""
    paths = sorted(TSPLIB.glob("*.tsp"), key=lambda p: read_tsplib(p).n)
    out = [(p.name[:-4], read_tsplib(p)) for p in paths]
    return [(name, inst) for name, inst in out if not only or name in only]


def main_seeds(args) -> None:
    """``--seeds``: every network on every TSPLIB instance once per seed."""
    if not (TSPLIB / "OPTIMA.txt").is_file():
        raise SystemExit(f"TSPLIB folder {TSPLIB} not found")
    methods = args.methods or list(NETWORKS)
    result: dict = {"machine": cpu_name(), "torch": torch.__version__,
                    "command": " ".join(["python", *sys.argv]), "seeds": args.seeds,
                    "restarts": args.restarts, "methods": methods,
                    "restarts_note": (f"{args.restarts} restarts" if args.restarts
                                      else "each method's default restarts"), "tsplib": []}
    out = Path(args.out or ROOT / "benchmarks" / "results" / "tsp_seeds.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    for name, inst in tsplib_instances(args.only):
        result["tsplib"].append(run_seeds(name, inst, inst.optimum, args.seeds, args.restarts,
                                          methods))
        result["summary"] = summarise_seeds(result["tsplib"])
        out.write_text(json.dumps(result, indent=1) + "\n")  # kept after every instance
    print(seeds_markdown(result))


def combine(results: list[dict]) -> dict:
    """One ``--seeds`` result from several (e.g. one per method, run apart): the runs of every
    instance joined, later files winning for a method both hold; summarised afresh."""
    out = {k: v for k, v in results[0].items() if k not in ("tsplib", "summary")}
    rows: dict = {}
    for res in results:
        for r in res["tsplib"]:
            row = rows.setdefault(r["instance"], {k: r[k] for k in ("instance", "n", "optimum")}
                                  | {"runs": {}})
            row["runs"].update(r["runs"])
    out["methods"] = [m for m in NETWORKS if any(m in r["runs"] for r in rows.values())]
    out["command"] = [res.get("command") for res in results]
    out["tsplib"] = sorted(rows.values(), key=lambda r: r["n"])
    for r in out["tsplib"]:
        r["runs"] = {m: r["runs"][m] for m in out["methods"]}
    out["summary"] = summarise_seeds(out["tsplib"])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--restarts", type=int, default=None,
                    help="restarts per network (default 16; with --seeds each method's default)")
    ap.add_argument("--seeds", type=int, nargs="+", default=None,
                    help="run the networks on TSPLIB once per seed and report the spread")
    ap.add_argument("--methods", nargs="+", default=None, choices=list(NETWORKS),
                    help="with --seeds: the networks to run (default all)")
    ap.add_argument("--ht-instances", type=int, default=10)
    ap.add_argument("--ht-restarts", type=int, default=100)
    ap.add_argument("--only", nargs="*", default=None, help="TSPLIB instance names")
    ap.add_argument("--out", default=None,
                    help="results file (default benchmarks/results/tsp.json, with --seeds "
                    "tsp_seeds.json)")
    ap.add_argument("--combine", nargs="+", default=None,
                    help="join the results files of --seeds runs into --out and print the tables")
    ap.add_argument("--tsplib", default=None,
                    help="folder of the TSPLIB files and OPTIMA.txt (../shared/data/tsplib)")
    args = ap.parse_args()
    if args.tsplib:
        global TSPLIB
        TSPLIB = Path(args.tsplib)
    torch.set_num_threads(1)
    if args.combine:
        result = combine([json.loads(Path(f).read_text()) for f in args.combine])
        out = Path(args.out or ROOT / "benchmarks" / "results" / "tsp_seeds.json")
        out.write_text(json.dumps(result, indent=1) + "\n")
        return print(seeds_markdown(result))
    if args.seeds:
        return main_seeds(args)
    args.restarts = args.restarts or 16
    args.out = args.out or str(ROOT / "benchmarks" / "results" / "tsp.json")
    result: dict = {"machine": cpu_name(),
                    "torch": torch.__version__, "restarts": args.restarts}
    print("Hopfield-Tank on random 10-city instances", flush=True)
    result["hopfield_tank_10"] = hopfield_tank_10(args.ht_instances, args.ht_restarts)
    result["tsplib"] = []
    if (TSPLIB / "OPTIMA.txt").is_file():
        for name, inst in tsplib_instances(args.only):
            result["tsplib"].append(run_instance(name, inst, inst.optimum, args.restarts, 0))
    else:
        print(f"TSPLIB folder {TSPLIB} not found: only the random instances were run")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(markdown(result))


if __name__ == "__main__":
    main()
