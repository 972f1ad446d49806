"""A Hopfield network as an associative memory: four 5x5 letters stored by Hebb's rule.

Units x_i in {-1, +1}. Hebb's rule stores P patterns x^(n) in the weights

    w_ij = 1/N sum_n x_i^(n) x_j^(n),   w_ij = w_ji,   w_ii = 0,

and recall updates one unit at a time,

    a_i = sum_j w_ij x_j,   x_i <- +1 if a_i >= 0 else -1,

which never raises the energy E(x) = -1/2 sum_ij w_ij x_i x_j: a cue slides downhill
into a minimum, the stored letter when the cue is close enough to it. With random
patterns the memory holds while the load alpha = P/N stays below about 0.138 (Amit,
Gutfreund and Sompolinsky); above it the final overlap m = x . x^(n) / N collapses.

    python examples/hopfield_memory.py --out examples-out

writes hopfield_recall.png (every cue, frame by frame) and hopfield_capacity.png.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import torch

from genlab.hopfield import HopfieldNetwork
from genlab.hopfield.capacity import AGS_CRITICAL_LOAD, ags_overlap, capacity_curve
from genlab.hopfield.letters import SHAPE, flip_cues, letters
from genlab.hopfield.plots import plot_capacity, plot_recall_strips


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
    gen = torch.Generator().manual_seed(0)

    # --- store: Hebb's rule over the four letters G, R, T, V -------------------------------
    names = "GRTV"
    patterns = letters(names)                            # (P, N) = (4, 25) of ±1
    net = HopfieldNetwork(rule="hebbian").fit(patterns)  # w = X^T X / N, zero diagonal
    print(f"stored {len(names)} letters in {net.n_units} units (alpha = P/N = "
          f"{len(names) / net.n_units:.2f})")

    # --- recall: each letter with 3, 6 and 9 of its 25 pixels flipped ----------------------
    frames, labels = [], []
    for flips in (3, 6, 9):
        cues = flip_cues(patterns, flips, gen)           # (4, 25)
        for letter, cue in zip(names, cues, strict=True):
            # record="updates" keeps the state after every single-unit change: the frames
            out = net.recall(cue, generator=gen, record="updates")
            frames.append(out.trajectory[:, 0])          # (T, 25)
            labels.append(f"{letter}, {flips} flipped")
            found = names[int(out.nearest[0])]
            print(f"  {letter} with {flips} flips -> {found} (overlap m = "
                  f"{float(out.overlap[0]):+.2f}, {out.trajectory.shape[0] - 1} updates, "
                  f"energy {float(out.energy_history[0, 0]):.2f} -> {float(out.energy[0]):.2f})")
    plot_recall_strips(frames, labels, args.out / "hopfield_recall.png", SHAPE,
                       "Hebb's rule, 4 letters in 25 units: the state after each update")

    # --- capacity: random patterns at load alpha = P/N, every stored pattern as the cue ----
    n, trials = (60, 1) if args.small else (400, 3)
    alphas = [0.05, 0.1, 0.15, 0.2] if args.small else [round(0.02 * k, 2) for k in range(1, 13)]
    curve = capacity_curve(n, "hebbian", alphas, trials=trials, generator=gen)
    print(f"capacity, N = {n}: final overlap m against the theory's (T = 0)")
    for alpha, m, theory in zip(curve.alphas, curve.overlap, map(ags_overlap, curve.alphas),
                                strict=True):
        print(f"  alpha = {alpha:.2f}: m = {m:.3f} (theory {theory:.3f})")
    # critical_load: where fewer than half the patterns come back with under 1% wrong bits
    where = "beyond these loads" if curve.critical_load is None else f"{curve.critical_load:.3f}"
    print(f"  half the patterns are lost at alpha = {where}; theory (N -> infinity): "
          f"{AGS_CRITICAL_LOAD}")
    plot_capacity([curve], args.out / "hopfield_capacity.png")
    print(f"figures in {args.out}/")


if __name__ == "__main__":
    main()
