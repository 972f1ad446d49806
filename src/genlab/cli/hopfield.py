"""``genlab hopfield``: store patterns, recall from cues, measure capacity, the letters demo.

Binary networks (Hebbian, Storkey, pseudo-inverse) and the modern network (``--rule
modern``, softmax updates) share the commands; a saved network file says which it is.
"""

from __future__ import annotations

import argparse

from genlab.cli.common import (
    add_command,
    add_group,
    emit,
    existing_file,
    input_name,
    output_dir,
    output_file,
    output_model,
    positive_float,
    positive_int,
)
from genlab.hopfield.capacity import CAPACITY_RULES
from genlab.hopfield.demo import run_demo
from genlab.hopfield.learning import RULES
from genlab.hopfield.letters import SHAPE
from genlab.hopfield.tasks import recall_cues, run_capacity, store_network


def cmd_demo(args: argparse.Namespace) -> None:
    res = run_demo(args.out, seed=args.seed, flips=args.flips, device=args.device)
    emit(args, res, lambda r: f"recalled {r['recalled']} of {r['cues']} cues exactly; figures "
                              f"{r['recall_figure']} and {r['overload_figure']}")


def cmd_store(args: argparse.Namespace) -> None:
    res = store_network(args.patterns, args.out, rule=args.rule, eta=args.eta, beta=args.beta,
                        device=args.device)
    emit(args, res, lambda r: f"stored {r['patterns']} patterns of {r['units']} units "
                              f"({r['rule']}); {r['stable_patterns']} are fixed points; "
                              f"saved {r['out']}")


def _recall_line(i: int, p: dict) -> str:
    end = ("converged" if p["converged"] else
           "in a two-cycle" if p["cycle"] else "NOT converged")
    return (f"cue {i}: nearest {p['nearest']} overlap {p['overlap']:.3f} {end} after "
            f"{p['sweeps']} sweeps, energy {p['energy']:.4g}")


def cmd_recall(args: argparse.Namespace) -> None:
    res = recall_cues(args.net, args.cues, out=args.out, mode=args.mode,
                      max_sweeps=args.max_sweeps, clamp=args.clamp, seed=args.seed,
                      device=args.device)
    emit(args, res, lambda r: "\n".join(_recall_line(i, p) for i, p in enumerate(r["results"])))


def _capacity_line(rule: str, v: dict) -> str:
    curve = " ".join(f"{a:g}:{m:.2f}" for a, m in zip(v["alphas"], v["overlap"], strict=True))
    return f"{rule}: critical load {v['critical_load']}; overlap {curve}"


def cmd_capacity(args: argparse.Namespace) -> None:
    alphas = [float(a) for a in args.alphas.split(",")] if args.alphas else None
    res = run_capacity(args.n, rule=args.rule, alphas=alphas, trials=args.trials,
                       mode=args.mode, beta=args.beta, max_sweeps=args.max_sweeps,
                       out=args.out, seed=args.seed, device=args.device)
    emit(args, res, lambda r: "\n".join(_capacity_line(k, v) for k, v in r["rules"].items()))


def _alphas(text: str) -> str:
    try:
        vals = [float(a) for a in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected loads like 0.05,0.1,0.15, got {text!r}"
                                         ) from None
    if not vals or any(not (0 < v <= 4) for v in vals):
        raise argparse.ArgumentTypeError("every load must be in (0, 4]")
    return text


def register(subparsers: argparse._SubParsersAction) -> None:
    sub = add_group(subparsers, "hopfield", "binary Hopfield networks: store, recall, capacity")
    p = add_command(sub, "demo", cmd_demo, "letters demo: 25 units, 4 letters, cleaned cues",
                    examples="genlab hopfield demo --out figs\ngenlab hopfield demo --json")
    p.add_argument("--out", type=output_dir, default="hopfield_demo",
                   help="folder for the figures")
    p.add_argument("--flips", type=positive_int, default=3,
                   help=f"pixels flipped per cue (at most {SHAPE[0] * SHAPE[1]})")
    p = add_command(sub, "store", cmd_store, "store patterns in a network file",
                    examples="genlab hopfield store letters.txt --rule storkey --out net\n"
                             "genlab hopfield store pats.npy --out net --json", seed=False)
    p.add_argument("patterns", type=existing_file,
                   help=".npy/.npz (P, N) of ±1 or {0,1}, or a text file of '#'/'.' glyphs")
    p.add_argument("--rule", choices=(*RULES, "modern"), default="hebbian",
                   help="learning rule, or 'modern' for the softmax network")
    p.add_argument("--eta", type=positive_float, default=None,
                   help="Hebbian rate > 0 (if not given: 1/N)")
    p.add_argument("--beta", type=positive_float, default=None,
                   help="inverse temperature of the modern network (if not given: 1)")
    p.add_argument("--out", type=output_model, required=True,
                   help="network NAME (NAME.safetensors + NAME.json)")
    p = add_command(sub, "recall", cmd_recall, "run the dynamics from cues",
                    examples="genlab hopfield recall net cues.npy --out states.npy --json\n"
                             "genlab hopfield recall net cues.npy --mode sync --clamp mask.npy\n"
                             "genlab hopfield store pats.npy --rule modern --beta 2 --out mnet\n"
                             "genlab hopfield recall mnet cues.npy --json")
    p.add_argument("net", type=input_name, help="network saved by 'genlab hopfield store'")
    p.add_argument("cues", type=existing_file, help=".npy/.npz (C, N) of -1/0/+1 or glyphs")
    p.add_argument("--mode", choices=("async", "sync"), default=None,
                   help="binary networks: async (if not given) or sync; not for modern ones")
    p.add_argument("--max-sweeps", type=positive_int, default=100,
                   help="sweep limit (modern network: update limit)")
    p.add_argument("--clamp", type=existing_file, default=None,
                   help=".npy bool/0-1 mask (N,) or (C, N) of units held at their cue values")
    p.add_argument("--out", type=output_file, default=None,
                   help=".npy file for the final states (int8 ±1; "
                   "float32 for a modern network)")
    p = add_command(sub, "capacity", cmd_capacity, "retrieval against load alpha = P/N",
                    examples="genlab hopfield capacity --n 200 --rule all --out cap.png\n"
                             "genlab hopfield capacity --n 1000 --rule hebbian "
                             "--alphas 0.12,0.13,0.14,0.15,0.16 --trials 2 --json")
    p.add_argument("--n", type=positive_int, default=200, help="units")
    p.add_argument("--rule", choices=(*CAPACITY_RULES, "all"), default="all")
    p.add_argument("--beta", type=positive_float, default=None,
                   help="inverse temperature of the modern network (if not given: 1)")
    p.add_argument("--trials", type=positive_int, default=1)
    p.add_argument("--alphas", type=_alphas, default=None,
                   help="comma-separated loads (if not given: 0.02..0.24)")
    p.add_argument("--mode", choices=("async", "sync"), default=None,
                   help="binary networks: async (if not given) or sync; not for modern ones")
    p.add_argument("--max-sweeps", type=positive_int, default=100)
    p.add_argument("--out", type=output_file, default="hopfield_capacity.png",
                   help="PNG for the plot")
