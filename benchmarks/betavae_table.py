"""Pool ``bench_betavae.py`` result files into one table: mean ± sd over seeds per model,
and Welch's t of each model's mean against a reference model's.

Runs are matched by model name and seed; when the same (model, seed) appears in several
files, the last file given wins, so a re-score can be placed after the run it replaces.
Welch's t is ``(m_a - m_b) / sqrt(s_a^2 / n_a + s_b^2 / n_b)`` with sample sds; the seeds
are the replicates, so it measures a difference against seed-to-seed spread. Next to it,
p is the exact one-sided permutation p-value of the difference of the means: the share of
all ``C(n_a + n_b, n_a)`` ways to split the pooled seeds' scores into groups of ``n_a`` and
``n_b`` whose difference is at least the observed one. It assumes nothing about the shape
of the spread over seeds (Welch's t assumes it is roughly normal).

    PYTHONPATH=src python benchmarks/betavae_table.py benchmarks/results/betavae_4ep_lr1e-4_*.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import statistics
import sys
from pathlib import Path

FIELDS = (("mig", "MIG"), ("factorvae", "FactorVAE score"),
          ("test_recon_nats", "test -log p(x\\|z) (nats)"), ("test_kl_nats", "test KL (nats)"),
          ("active_latents", "live latents"), ("images_per_second", "train images/s"))


def pooled_runs(paths: list[Path], steps: int | None = None,
                factorvae_train: int | None = None,
                seeds: set[int] | None = None) -> dict[str, dict[int, dict]]:
    """``{model: {seed: run}}`` from every sweep of every file, optionally only runs of
    ``steps`` steps scored with ``factorvae_train`` FactorVAE training votes, of ``seeds``."""
    out: dict[str, dict[int, dict]] = {}
    for path in paths:
        sweeps = json.loads(path.read_text()).get("sweeps")
        if sweeps is None:  # e.g. a stopped run's training log: nothing was scored
            print(f"skipping {path.name}: no scored sweeps", file=sys.stderr)
            continue
        for sweep in sweeps:
            votes = sweep.get("metric_sample_sizes", {}).get("factorvae_train")
            if factorvae_train is not None and votes != factorvae_train:
                continue
            for run in sweep["runs"]:
                if steps is not None and run["steps"] != steps:
                    continue
                if seeds is not None and run["seed"] not in seeds:
                    continue
                out.setdefault(run["model"], {})[run["seed"]] = {**run, "file": path.name}
    return out


def mean_sd(values: list[float]) -> tuple[float, float]:
    """Mean and sample sd (0 for a single value)."""
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def welch_t(a: list[float], b: list[float]) -> float:
    se = math.sqrt(statistics.variance(a) / len(a) + statistics.variance(b) / len(b))
    diff = statistics.fmean(a) - statistics.fmean(b)
    return diff / se if se > 0 else math.inf


def permutation_p(a: list[float], b: list[float]) -> float:
    """Exact one-sided permutation p-value of ``mean(a) - mean(b)``: the share of the
    ``C(n_a + n_b, n_a)`` splits of the pooled values whose difference is at least as large
    (the observed split included, so p >= 1 / C(n_a + n_b, n_a)). With the pooled total
    fixed, that difference rises with the first group's sum, so the sums are compared."""
    pooled = [*a, *b]
    observed = sum(a) - 1e-12 * (1 + sum(map(abs, pooled)))  # ties count as at least as large
    hits = sum(sum(c) >= observed for c in itertools.combinations(pooled, len(a)))
    return hits / math.comb(len(pooled), len(a))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--steps", type=int, default=None, help="only runs of this many steps")
    ap.add_argument("--votes", type=int, default=None,
                    help="only sweeps scored with this many FactorVAE training votes")
    ap.add_argument("--seeds", type=int, nargs="+", default=None, help="only these seeds")
    ap.add_argument("--reference", default="beta1", help="model the t values compare with")
    args = ap.parse_args()
    runs = pooled_runs(args.files, args.steps, args.votes,
                       set(args.seeds) if args.seeds else None)
    ref = runs.get(args.reference, {})
    print("| model | seeds | " + " | ".join(name for _, name in FIELDS) + " |")
    print("| --- | --- | " + " | ".join("---" for _ in FIELDS) + " |")
    for model in sorted(runs, key=lambda m: (m != args.reference, m)):
        by_seed = runs[model]
        seeds = sorted(by_seed)
        cells = []
        for key, _ in FIELDS:
            vals = [float(by_seed[s][key]) for s in seeds]
            if key == "images_per_second" and not any(vals):
                cells.append("- (re-scored, not trained)")
                continue
            m, sd = mean_sd(vals)
            digits = 3 if key in ("mig", "factorvae") else 1
            cell = f"{m:.{digits}f} ± {sd:.{digits}f}"
            if key in ("mig", "factorvae"):
                cell += " (" + ", ".join(f"{v:.3f}" for v in vals) + ")"
                if model != args.reference and len(ref) > 1 and len(vals) > 1:
                    other = [float(r[key]) for r in ref.values()]
                    cell += (f"; t = {welch_t(vals, other):+.1f}, "
                             f"p = {permutation_p(vals, other):.2f}")
            cells.append(cell)
        print(f"| {model} | {', '.join(map(str, seeds))} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
