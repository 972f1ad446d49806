"""beta = 1 (the VAE) against beta = 4 on dSprites under the same CPU training budget.

``--capacity C`` trains the capacity-annealed form instead (|KL - C| with C raised from 0
to C nats over ``--capacity-steps``, weighted by ``--gamma``, 1000 by default). For each
model and seed: train genlab's conv beta-VAE (the literature's 64x64 networks) on batches
rendered from the dSprites train split with :func:`genlab.train.fit`, time it
(images/second), then score MIG and the FactorVAE score with fixed metric seeds, and
record the per-latent KL. Writes
``benchmarks/results/betavae.json`` after every run (so a partial sweep keeps its
numbers), traversal figures for seed 0 into ``docs/figures``, and prints the markdown
table for ``benchmarks/RESULTS.md``. With ``--runs`` each model keeps its checkpoint
there (``benchmarks/betavae_axes.py`` reads it) and a longer sweep continues from it.

    PYTHONPATH=src python benchmarks/bench_betavae.py --steps 800 --batch-size 16 --init-bias
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch

from genlab.data.dsprites import DSpritesData, split_indices
from genlab.device import cpu_name, make_generator, resolve_device
from genlab.io import atomic_write_json, model_paths
from genlab.latent.betavae import BetaVAE, BetaVAEConfig, kl_per_latent
from genlab.latent.traverse import traversal_figure
from genlab.metrics.dsprites_eval import SampleSizes, evaluate_dsprites
from genlab.train import CHECKPOINT_NAME, TrainConfig, epochs_for_steps, fit, has_checkpoint

ROOT = Path(__file__).resolve().parent.parent
# Metric sample sizes that fit the CPU budget: MIG at the papers' 10,000 codes; the
# FactorVAE score with the papers' L = 64 but 200 + 100 votes (papers: 10,000 + 5,000)
# and 4,000 codes for the scales (papers: 10,000).
SIZES = SampleSizes(factorvae_train=200, factorvae_eval=100, n_variance=4000,
                    mig_samples=10_000)


GAMMA = BetaVAEConfig.gamma                # Burgess et al.'s weight of |KL - C|


def sample_sizes(votes: int) -> SampleSizes:
    """:data:`SIZES` with ``votes`` FactorVAE training votes and half as many evaluation
    votes (``--votes``; the binomial standard error of the score is at most
    ``0.5 / sqrt(votes / 2)``), and at least ``votes`` codes for the scales."""
    return replace(SIZES, factorvae_train=votes, factorvae_eval=max(1, votes // 2),
                   n_variance=max(SIZES.n_variance, votes))


def label(beta: float, capacity: float, gamma: float = GAMMA, capacity_steps: int = 0,
          steps: int = 0) -> str:
    """The model's name in tables, file names and run folders: ``beta4``, ``capacity25``;
    for a gamma other than Burgess et al.'s 1000, ``capacity25_gamma100``; and when C
    reaches its maximum after ``capacity_steps``, before the run's ``steps`` end,
    ``capacity25_gamma100_ramp19200`` (such a run must not resume or pool with a full ramp)."""
    if capacity <= 0:
        return f"beta{beta:g}"
    return (f"capacity{capacity:g}" + (f"_gamma{gamma:g}" if gamma != GAMMA else "")
            + (f"_ramp{capacity_steps}" if 0 < capacity_steps < steps else ""))


def keep_snapshot(run: Path, to: Path) -> None:
    """Copy ``run``'s training checkpoint into the run folder ``to`` (once: an existing
    snapshot is kept), which ``betavae_axes.py`` reads like any other run."""
    if has_checkpoint(to):
        return
    to.mkdir(parents=True, exist_ok=True)
    for src in model_paths(run / CHECKPOINT_NAME):
        shutil.copyfile(src, to / src.name)


def one_run(beta: float, seed: int, steps: int, batch: int, lr: float, figure: bool,
            init_bias: bool = False, tag: str = "", runs: Path | None = None,
            capacity: float = 0.0, capacity_steps: int = 1, gamma: float = GAMMA,
            amp: bool = True, sizes: SampleSizes = SIZES,
            device: torch.device | str = "cpu", snapshots: tuple[int, ...] = ()) -> dict:
    torch.manual_seed(seed)  # weight initialisation
    model = BetaVAE(BetaVAEConfig(beta=beta, capacity_max=capacity,
                                  capacity_steps=capacity_steps, gamma=gamma))
    name = label(beta, capacity, gamma, capacity_steps, steps)
    data = DSpritesData(split_indices("train"))
    if init_bias:
        model.init_output_bias(data.draw(index=torch.arange(2000)))
    epochs = epochs_for_steps(steps, len(data), batch)  # 9,600 steps of 64 per epoch
    cfg = TrainConfig(epochs=epochs, batch_size=batch, lr=lr, seed=seed, max_steps=steps, amp=amp,
                      checkpoint_every=500 if runs else 0, log_every=max(1, min(500, steps // 5)))
    run = runs / f"{name}_seed{seed}" if runs else None
    # With a run folder, a longer sweep continues each model from its checkpoint: the
    # constant learning rate and the seeded data order make that the same as one run. The
    # same holds for stopping at each snapshot step and going on, which keeps a copy of the
    # checkpoint there as RUN/step{N}.
    stops = sorted({s for s in snapshots if 0 < s < steps}) if run else []
    train_s, resumed_from = 0.0, None
    for i, stop in enumerate([*stops, steps]):
        t0 = time.perf_counter()
        result = fit(model, data, replace(cfg, max_steps=stop), run=run,
                     resume=run is not None, device=device, quiet=True)
        train_s += time.perf_counter() - t0
        if i == 0:
            resumed_from = result.resumed_from
        if stop < steps and result.steps == stop:
            keep_snapshot(run, run / f"step{stop}")
    new_steps = result.steps - (resumed_from or 0)
    model.eval()
    test = DSpritesData(split_indices("test")).draw(index=torch.arange(2000))
    with torch.no_grad():
        t = model.elbo_terms(test, make_generator(0, device))
    kl = kl_per_latent(model, test)
    t0 = time.perf_counter()
    scores = evaluate_dsprites(model.encode, device, seed=0, sizes=sizes,
                               metrics=("mig", "factorvae"))
    eval_s = time.perf_counter() - t0
    if figure:
        what = (f"capacity C = 0 -> {capacity:g} nats over {capacity_steps} steps, "
                f"gamma {gamma:g}"
                if capacity > 0 else f"beta = {beta:g}")
        traversal_figure(model, test, ROOT / "docs" / "figures"
                         / f"betavae_traverse_{name}{tag}.png",
                         title=f"{what}, {result.steps} steps of {batch} (seed {seed})",
                         kl=kl)
    return {"model": name, "beta": beta, "capacity_max": capacity,
            "capacity_steps": capacity_steps, "gamma": gamma, "seed": seed,
            "init_output_bias": init_bias,
            "steps": result.steps, "batch_size": batch, "lr": lr,
            "device": str(device), "bfloat16": result.bfloat16,
            "resumed_from": resumed_from, "train_seconds": train_s,
            "images_per_second": new_steps * batch / train_s,
            "eval_seconds": eval_s, "test_recon_nats": float(-t.log_px_z.mean()),
            "test_kl_nats": float(t.kl.mean()), "kl_per_latent": kl.tolist(),
            "active_latents": int((kl > 0.1).sum()), "mig": scores["mig"]["score"],
            "mig_per_factor": scores["mig"]["per_factor"],
            "factorvae": scores["factorvae"]["score"],
            "factorvae_votes": [sizes.factorvae_train, sizes.factorvae_eval]}


def save_sweep(path: Path, sweep: dict) -> None:
    """Store ``sweep`` in the results file, replacing an earlier sweep of the same command."""
    sweeps = json.loads(path.read_text())["sweeps"] if path.is_file() else []
    sweeps = [s for s in sweeps if s["command"] != sweep["command"]] + [sweep]
    atomic_write_json(path, {"sweeps": sweeps})


def summary(runs: list[dict], name: str, key: str) -> str:
    vals = [r[key] for r in runs if r["model"] == name]
    if not vals:
        return "-"
    sd = statistics.stdev(vals) if len(vals) > 1 else 0.0
    return f"{statistics.mean(vals):.3f} ± {sd:.3f} (n={len(vals)}; " + \
        ", ".join(f"{v:.3f}" for v in vals) + ")"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=250)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--betas", type=float, nargs="+", default=[1.0, 4.0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--capacity", type=float, default=0.0,
                    help="C_max in nats: train the capacity-annealed form (Burgess et al. "
                         "2018, gamma 1000) instead of beta")
    ap.add_argument("--capacity-steps", type=int, default=None,
                    help="steps over which C rises from 0 (default: all of --steps)")
    ap.add_argument("--gamma", type=float, default=GAMMA,
                    help="weight of |KL - C| in the capacity form (default 1000, Burgess et al.)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu", help="cpu (default), cuda or auto")
    ap.add_argument("--amp", action=argparse.BooleanOptionalAction, default=True,
                    help="bfloat16 autocast where the CPU has native bfloat16 (default on)")
    ap.add_argument("--init-bias", action="store_true",
                    help="start the decoder's output bias at logit(mean pixel)")
    ap.add_argument("--votes", type=int, default=SIZES.factorvae_train,
                    help="FactorVAE training votes (evaluation: half as many; papers: "
                         "10,000 + 5,000)")
    ap.add_argument("--tag", default="", help="suffix of the figure names")
    ap.add_argument("--budget", type=float, default=3600.0,
                    help="wall seconds; no new run starts after this")
    ap.add_argument("--runs", type=Path, default=None,
                    help="keep each model's checkpoint in RUNS/{beta4|capacity25}_seed{S}; a "
                         "later, longer sweep resumes from it")
    ap.add_argument("--snapshots", type=int, nargs="+", default=[], metavar="STEP",
                    help="with --runs, also keep the checkpoint at these steps as "
                         "RUNS/{model}_seed{S}/step{STEP}")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "betavae.json"))
    args = ap.parse_args()
    cap_steps = args.capacity_steps or args.steps
    models = [label(b, args.capacity, args.gamma, cap_steps, args.steps) for b in args.betas]
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    start = time.perf_counter()
    runs: list[dict] = []
    for seed in args.seeds:
        for beta in args.betas:
            if time.perf_counter() - start > args.budget:
                print(f"budget of {args.budget:.0f} s spent; stopping before beta={beta} "
                      f"seed={seed}", flush=True)
                break
            r = one_run(beta, seed, args.steps, args.batch_size, args.lr, figure=seed == 0,
                        init_bias=args.init_bias, tag=args.tag, runs=args.runs,
                        capacity=args.capacity, capacity_steps=cap_steps, gamma=args.gamma,
                        amp=args.amp,
                        sizes=sample_sizes(args.votes), device=device,
                        snapshots=tuple(args.snapshots))
            runs.append(r)
            print(f"{r['model']} seed={seed}: MIG {r['mig']:.3f} FactorVAE "
                  f"{r['factorvae']:.3f} recon {r['test_recon_nats']:.1f} KL "
                  f"{r['test_kl_nats']:.1f} ({r['images_per_second']:.1f} img/s, train "
                  f"{r['train_seconds']:.0f} s, eval {r['eval_seconds']:.0f} s)", flush=True)
            sweep = {
                "command": "PYTHONPATH=src python benchmarks/bench_betavae.py " + " ".join(
                    f"--{k.replace('_', '-')} {v}" for k, v in
                    (("steps", args.steps), ("batch_size", args.batch_size), ("lr", args.lr),
                     ("betas", " ".join(f"{b:g}" for b in args.betas)),
                     ("seeds", " ".join(map(str, args.seeds))))) + (
                    f" --capacity {args.capacity:g} --capacity-steps {cap_steps}"
                    + (f" --gamma {args.gamma:g}" if args.gamma != GAMMA else "")
                    if args.capacity > 0 else "") + (
                    " --init-bias" if args.init_bias else "") + (
                    "" if args.amp else " --no-amp") + (
                    f" --votes {args.votes}" if args.votes != SIZES.factorvae_train else "") + (
                    f" --device {args.device}" if args.device != "cpu" else "") + (
                    f" --tag {args.tag}" if args.tag else "") + (
                    f" --runs {args.runs}" if args.runs else "") + (
                    " --snapshots " + " ".join(map(str, args.snapshots))
                    if args.snapshots else ""),
                "machine": f"{cpu_name()} ({platform.machine()}), torch "
                           f"{torch.__version__}, {args.threads} thread(s)" + (
                               f", {torch.cuda.get_device_name(device)}"
                               if device.type == "cuda" else ""),
                "metric_sample_sizes": asdict(sample_sizes(args.votes)), "runs": runs,
                "wall_seconds": time.perf_counter() - start}
            save_sweep(Path(args.out), sweep)
    print()
    print("| model | MIG (mean ± sd over seeds) | FactorVAE score | test recon (nats) "
          "| test KL (nats) | active latents | images/s |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name in dict.fromkeys(models):
        sel = [r for r in runs if r["model"] == name]
        if not sel:
            continue
        print(f"| {name} | {summary(runs, name, 'mig')} | {summary(runs, name, 'factorvae')} "
              f"| {statistics.mean(r['test_recon_nats'] for r in sel):.1f} "
              f"| {statistics.mean(r['test_kl_nats'] for r in sel):.1f} "
              f"| {statistics.mean(r['active_latents'] for r in sel):.1f} "
              f"| {statistics.mean(r['images_per_second'] for r in sel):.1f} |")


if __name__ == "__main__":
    main()
