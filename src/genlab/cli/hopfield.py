"""``genlab hopfield``: store patterns, recall from cues, measure capacity, the letters demo.

Binary networks (Hebbian, Storkey, pseudo-inverse) and the modern network (``--rule
modern``, softmax updates) share the commands; a saved network file says which it is.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

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
from genlab.data.npfiles import read_npy
from genlab.device import make_generator, resolve_device
from genlab.errors import GenlabError
from genlab.hopfield.capacity import (
    AGS_CRITICAL_LOAD,
    CAPACITY_RULES,
    capacity_curve,
    check_capacity_memory,
)
from genlab.hopfield.learning import RULES
from genlab.hopfield.letters import (
    DEMO_LETTERS,
    OVERLOAD_LETTERS,
    SHAPE,
    flip_cues,
    half_cues,
    letters,
)
from genlab.hopfield.modern import ModernHopfield, check_beta_range
from genlab.hopfield.network import HopfieldNetwork, load_hopfield
from genlab.hopfield.patterns import load_patterns
from genlab.hopfield.plots import plot_capacity, plot_recall_strips
from genlab.io import atomic_write_bytes
from genlab.progress import log


def _strips(net: HopfieldNetwork, cues: torch.Tensor, clamp: torch.Tensor | None,
            gen: torch.Generator) -> tuple[list[torch.Tensor], list[dict]]:
    rows, info = [], []
    for i in range(len(cues)):
        out = net.recall(cues[i], clamp=clamp, generator=gen, record="updates")
        rows.append(out.trajectory[:, 0])
        info.append({"nearest": int(out.nearest[0]), "overlap": float(out.overlap[0]),
                     "converged": bool(out.converged[0]), "sweeps": int(out.sweeps[0]),
                     "updates": int(out.trajectory.shape[0] - 1)})
    return rows, info


def cmd_demo(args: argparse.Namespace) -> None:
    dev = resolve_device(args.device)
    units = SHAPE[0] * SHAPE[1]
    if args.flips > units:
        raise GenlabError(f"--flips {args.flips} is more than the {units} units of a letter; "
                          f"give at most {units}")
    gen = make_generator(args.seed)
    out = Path(args.out)
    pats = letters(DEMO_LETTERS)
    net = HopfieldNetwork(device=dev).fit(pats)
    flipped = flip_cues(pats, args.flips, gen)
    halves, known = half_cues(pats)
    rows, info = _strips(net, torch.cat([flipped, halves]), None, gen)
    labels = [f"{c}, {args.flips} flipped" for c in DEMO_LETTERS] + \
             [f"{c}, half missing" for c in DEMO_LETTERS]
    recall_png = plot_recall_strips(rows, labels, out / "hopfield_recall.png", SHAPE,
                                    "25-unit Hopfield network, 4 letters: state after each "
                                    "unit that changed")
    big = letters(OVERLOAD_LETTERS)
    over = HopfieldNetwork(device=dev).fit(big)
    orows, oinfo = _strips(over, big[:6], None, gen)
    olabels = [f"{c} (stored)" for c in OVERLOAD_LETTERS[:6]]
    over_png = plot_recall_strips(orows, olabels, out / "hopfield_overload.png", SHAPE,
                                  f"{len(OVERLOAD_LETTERS)} letters in 25 units: stored "
                                  "patterns drift to spurious states")
    ok = sum(r["nearest"] == i % 4 and r["overlap"] == 1.0 for i, r in enumerate(info))
    emit(args, {"letters": DEMO_LETTERS, "recall_figure": str(recall_png),
                "overload_figure": str(over_png), "cues": len(info), "recalled": ok,
                "per_cue": info, "overload": {"letters": OVERLOAD_LETTERS,
                                              "stable": [bool(s) for s in over.stable(big)],
                                              "per_cue": oinfo}},
         lambda r: f"recalled {r['recalled']} of {r['cues']} cues exactly; figures "
                   f"{r['recall_figure']} and {r['overload_figure']}")


def cmd_store(args: argparse.Namespace) -> None:
    pats, shape = load_patterns(args.patterns)
    dev = resolve_device(args.device)
    if args.rule == "modern":
        if args.eta is not None:
            raise GenlabError("--eta is the Hebbian learning rate; the modern network "
                              "takes --beta")
        net: HopfieldNetwork | ModernHopfield = ModernHopfield(
            beta=1.0 if args.beta is None else args.beta, device=dev).fit(pats)
    else:
        if args.beta is not None:
            raise GenlabError("--beta applies to --rule modern only")
        net = HopfieldNetwork(rule=args.rule, eta=args.eta, device=dev).fit(pats)
    stable = net.stable(net.patterns_)
    path = net.save(args.out, meta={"source": str(args.patterns),
                                    "image_shape": list(shape) if shape else None})
    emit(args, {"out": str(path), "rule": args.rule, "patterns": int(pats.shape[0]),
                "units": int(pats.shape[1]), "load": pats.shape[0] / pats.shape[1],
                "stable_patterns": int(stable.sum()),
                "image_shape": list(shape) if shape else None},
         lambda r: f"stored {r['patterns']} patterns of {r['units']} units ({r['rule']}); "
                   f"{r['stable_patterns']} are fixed points; saved {r['out']}")


def cmd_recall(args: argparse.Namespace) -> None:
    net = load_hopfield(args.net, device=resolve_device(args.device))
    modern = isinstance(net, ModernHopfield)
    if modern and args.mode is not None:
        raise GenlabError("the modern network updates all units at once; drop --mode")
    cues, _ = load_patterns(args.cues, "cues", allow_zero=True)
    if cues.shape[1] != net.n_units:
        raise GenlabError(f"cues have {cues.shape[1]} units but the network has {net.n_units}")
    clamp = None
    if args.clamp is not None:
        clamp = torch.as_tensor(read_npy(args.clamp, "clamp mask"))
    if modern:
        res = net.recall(cues, max_steps=args.max_sweeps, clamp=clamp)
        sweeps, cycled, mode = res.steps, torch.zeros_like(res.converged), "modern"
        states = res.states.cpu().numpy().astype(np.float32)  # continuous
    else:
        mode = args.mode or "async"
        res = net.recall(cues, mode=mode, max_sweeps=args.max_sweeps, clamp=clamp,
                         generator=make_generator(args.seed))
        sweeps, cycled = res.sweeps, res.cycled
        states = res.states.cpu().numpy().astype(np.int8)
    if args.out:
        import io as _io
        buf = _io.BytesIO()
        np.save(buf, states)
        atomic_write_bytes(args.out, buf.getvalue())
    per = [{"nearest": int(n), "overlap": float(m), "converged": bool(c), "cycle": bool(y),
            "sweeps": int(s), "energy": float(e)}
           for n, m, c, y, s, e in zip(res.nearest, res.overlap, res.converged, cycled, sweeps,
                                       res.energy, strict=True)]
    emit(args, {"cues": len(per), "mode": mode, "converged": int(res.converged.sum()),
                "cycles": int(cycled.sum()), "out": str(args.out) if args.out else None,
                "results": per},
         lambda r: "\n".join(f"cue {i}: nearest {p['nearest']} overlap {p['overlap']:.3f} "
                             + ("converged" if p["converged"] else
                                "in a two-cycle" if p["cycle"] else "NOT converged")
                             + f" after {p['sweeps']} sweeps, energy {p['energy']:.4g}"
                             for i, p in enumerate(r["results"])))


def cmd_capacity(args: argparse.Namespace) -> None:
    dev = resolve_device(args.device)
    gen = make_generator(args.seed)
    rules = CAPACITY_RULES if args.rule == "all" else (args.rule,)
    if args.beta is not None and "modern" not in rules:
        raise GenlabError(f"--beta is the modern network's inverse temperature; --rule "
                          f"{args.rule} does not use it (give --rule modern or all)")
    if args.mode is not None and rules == ("modern",):
        raise GenlabError("the modern network updates all units at once; drop --mode")
    beta = 1.0 if args.beta is None else args.beta
    mode = args.mode or "async"
    alphas = [float(a) for a in args.alphas.split(",")] if args.alphas else \
        [round(0.02 * k, 2) for k in range(1, 13)]
    for rule in rules:  # every rule's size (and the modern network's beta) before one runs
        check_capacity_memory(args.n, rule, max(alphas), dev)
        if rule == "modern":
            check_beta_range(beta, args.n, max(1, round(max(alphas) * args.n)))
    results = []
    for rule in rules:
        log(f"capacity: {rule}, N = {args.n}, {len(alphas)} loads, {args.trials} trials")
        results.append(capacity_curve(args.n, rule, alphas, args.trials, mode=mode,
                                      max_sweeps=args.max_sweeps, generator=gen, device=dev,
                                      beta=beta))
    fig = plot_capacity(results, args.out) if args.out else None
    emit(args, {"n": args.n, "trials": args.trials, "theory_critical_load": AGS_CRITICAL_LOAD,
                "figure": str(fig) if fig else None,
                "rules": {r.rule: {"alphas": r.alphas, "patterns": r.patterns,
                                   "overlap": r.overlap, "recalled": r.recalled,
                                   "stable": r.stable, "critical_load": r.critical_load}
                          for r in results}},
         lambda r: "\n".join(f"{k}: critical load {v['critical_load']}; overlap "
                             + " ".join(f"{a:g}:{m:.2f}" for a, m in zip(v["alphas"],
                                                                         v["overlap"], strict=True))
                             for k, v in r["rules"].items()))


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
