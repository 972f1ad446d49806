"""What each CPU setting buys the 64x64 beta-VAE's training step.

Times steps of 64 dSprites images (forward, backward, fused Adam; the batches are
rendered beforehand) on one thread, each configuration in a fresh process so that the
allocator setting of one cannot leak into the next:

* ``float32, row-major``: the networks as torch runs them by default;
* ``+ glibc keeps freed memory``: :func:`genlab.device.keep_freed_memory` (what the
  ``genlab`` command line applies to its process);
* ``+ bfloat16``: autocast to bfloat16 (``--amp``; only where it is native);
* ``+ channels-last activations``: maps in channels-last order (but the one-channel input
  is both layouts at once, so the encoder's convolutions follow their row-major weights);
* ``+ channels-last weights``: genlab's networks as they are, weights channels-last too,
  i.e. what ``genlab disentangle train`` runs.

Prints a markdown table and writes ``benchmarks/results/betavae_step.json``.

``--stacks`` instead measures, in genlab's default setting, what training several models
in one process as a stack (:mod:`genlab.latent.stacked`) buys on a CPU against one
process per model: images/s of all models together, written to
``benchmarks/results/betavae_stack_cpu.json``.

    PYTHONPATH=src python benchmarks/bench_betavae_step.py
    PYTHONPATH=src python benchmarks/bench_betavae_step.py --stacks
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import torch

from genlab.device import cpu_name, native_bf16
from genlab.io import atomic_write_json

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "betavae_step.json"
STACK_OUT = ROOT / "benchmarks" / "results" / "betavae_stack_cpu.json"
CONFIGS = (("float32, row-major", dict(alloc=False, amp=False, cl=False)),
           ("+ glibc keeps freed memory", dict(alloc=True, amp=False, cl=False)),
           ("+ bfloat16 autocast", dict(alloc=True, amp=True, cl=False)),
           ("+ channels-last activations", dict(alloc=True, amp=True, cl=True)),
           ("+ channels-last weights (genlab's default)",
            dict(alloc=True, amp=True, cl="weights")))

CHILD = r"""
import json, sys, time, torch
alloc, amp, cl, steps, stack, threads = json.loads(sys.argv[1])
if alloc:
    from genlab.device import keep_freed_memory
    assert keep_freed_memory()
torch.set_num_threads(threads)
import genlab.latent.betavae as bv
import genlab.latent.stacked as st
if not cl:  # genlab's networks without the channels-last conversion
    bv.feature_maps = st.feature_maps = lambda x, shape: x.reshape(x.shape[0], *shape)
from genlab.data.dsprites import DSpritesData, split_indices
from genlab.device import native_bf16
models = [bv.build_betavae(bv.BetaVAEConfig(beta=4.0), seed) for seed in range(stack)]
if cl != "weights":  # genlab's weights are channels-last; the earlier rows undo that
    models = [m.to(memory_format=torch.contiguous_format) for m in models]
model = models[0] if stack == 1 else st.StackedBetaVAE(models)
opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
data = DSpritesData(split_indices("train"))
g = torch.Generator().manual_seed(0)
batches = [data.draw(index=torch.randint(0, len(data), (64 * stack,), generator=g))
           for _ in range(steps + 5)]
use_amp = amp and native_bf16("cpu")
def step(x):
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=use_amp):
        out = model.loss(x, g)
    opt.zero_grad(set_to_none=True)
    out.loss.backward()
    opt.step()
for x in batches[:5]:
    step(x)
t0 = time.perf_counter()
for x in batches[5:]:
    step(x)
print(json.dumps({"ms_per_step": (time.perf_counter() - t0) / steps * 1e3,
                  "bfloat16": use_amp}))
"""


class Child(subprocess.Popen):
    """One timing process; :meth:`communicate_json` waits for its result line."""

    def communicate_json(self) -> dict:
        out, err = self.communicate()
        if self.returncode:
            raise SystemExit(f"timing process failed: {err.strip().splitlines()[-1]}")
        return json.loads(out.strip().splitlines()[-1])


def child(cfg: dict, steps: int, stack: int = 1, threads: int = 1) -> Child:
    """Start a fresh process timing ``steps`` steps of ``stack`` models x 64 images."""
    arg = json.dumps([cfg["alloc"], cfg["amp"], cfg["cl"], steps, stack, threads])
    return Child([sys.executable, "-c", CHILD, arg], stdout=subprocess.PIPE,
                 stderr=subprocess.PIPE, text=True)


def stacks(args: argparse.Namespace) -> None:
    """``--stacks``: what one process of K stacked models buys over K processes on a CPU."""
    default = CONFIGS[-1][1]  # genlab's default setting
    layouts = (("one model, one thread", 1, 1, 1),
               ("two processes side by side, one model and one thread each", 1, 1, 2),
               ("stack of 2 models, two threads", 2, 2, 1),
               ("stack of 4 models, two threads", 4, 2, 1),
               ("stack of 8 models, two threads", 8, 2, 1))
    rows = []
    for name, k, threads, procs in layouts:
        rates = []
        for _ in range(args.repeats):
            runs = [child(default, args.steps, k, threads) for _ in range(procs)]
            rates.append(sum(64e3 * k / r.communicate_json()["ms_per_step"] for r in runs))
        rows.append({"layout": name, "models_per_process": k, "threads": threads,
                     "processes": procs, "images_per_second": rates})
    print(f"| layout | training images/s, all models together (best of {args.repeats}; all) |")
    print("| --- | --- |")
    for r in rows:
        print(f"| {r['layout']} | {max(r['images_per_second']):.0f} ("
              + ", ".join(f"{v:.0f}" for v in r["images_per_second"]) + ") |")
    write_rows(args, STACK_OUT, " --stacks", f"{os.cpu_count()} cores, ", "", rows)


def write_rows(args: argparse.Namespace, default_out: Path, flag: str, cores: str,
               threads: str, rows: list[dict]) -> None:
    """Write ``rows`` with the command that reproduces them and the machine they ran on
    to ``--out`` (``default_out`` when not given)."""
    out = Path(args.out or default_out)
    atomic_write_json(out, {
        "command": "PYTHONPATH=src python benchmarks/bench_betavae_step.py" + flag + (
            f" --steps {args.steps}" if args.steps != 50 else "") + (
            f" --repeats {args.repeats}" if args.repeats != 3 else "") + (
            f" --out {args.out}" if out.resolve() != default_out else ""),
        "machine": f"{cpu_name()} ({platform.machine()}), {cores}torch {torch.__version__}, "
                   f"native bfloat16 {native_bf16('cpu')}{threads}", "rows": rows})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=3, help="fresh processes per setting; "
                    "the table reports the fastest (the VM's noise only slows runs down)")
    ap.add_argument("--stacks", action="store_true",
                    help="instead: images/s of genlab's default setting as one model on one "
                         "thread, two such processes side by side, and stacks of 2, 4 and 8 "
                         "models (genlab.latent.stacked) on two threads")
    ap.add_argument("--out", default=None,
                    help=f"default {DEFAULT_OUT.name}, or {STACK_OUT.name} with --stacks")
    args = ap.parse_args()
    if args.stacks:
        return stacks(args)
    rows = []
    for name, cfg in CONFIGS:
        times, bf16 = [], False
        for _ in range(args.repeats):
            r = child(cfg, args.steps).communicate_json()
            times.append(r["ms_per_step"])
            bf16 = r["bfloat16"]
        rows.append({"setting": name, **cfg, "bfloat16_native": bf16, "ms_per_step": times,
                     "images_per_second": 64e3 / min(times)})
    base = rows[0]["images_per_second"]
    print("| setting | ms per step of 64 (fastest of "
          f"{args.repeats}) | training images/s | vs float32 |")
    print("| --- | --- | --- | --- |")
    for r in rows:
        note = " (not native here: float32)" if r["amp"] and not r["bfloat16_native"] else ""
        print(f"| {r['setting']}{note} | {min(r['ms_per_step']):.1f} | "
              f"{r['images_per_second']:.0f} | {r['images_per_second'] / base:.2f}x |")
    write_rows(args, DEFAULT_OUT, "", "", ", 1 thread", rows)


if __name__ == "__main__":
    main()
