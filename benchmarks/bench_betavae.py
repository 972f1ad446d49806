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
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import NamedTuple

import torch

from genlab.data.dsprites import DSpritesData, split_indices
from genlab.device import cpu_name, make_generator, resolve_device
from genlab.io import atomic_write_json, model_paths
from genlab.latent.betavae import BetaVAE, BetaVAEConfig, build_betavae, kl_per_latent
from genlab.latent.stacked import train_betavae_seeds
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


class Spec(NamedTuple):
    """One model setting of a sweep (what :func:`label` names)."""

    beta: float
    capacity: float = 0.0
    gamma: float = GAMMA
    capacity_steps: int = 0   # 0: C rises over the whole run


def parse_label(name: str) -> Spec:
    """The setting :func:`label` names: ``beta4`` -> beta 4; ``capacity25_gamma100_ramp19200``
    -> C_max 25, gamma 100, C at its maximum from step 19,200 (beta 1, as the CLI's)."""
    parts = name.split("_")
    try:
        if len(parts) == 1 and parts[0].startswith("beta"):
            return Spec(float(parts[0][4:]))
        if parts[0].startswith("capacity"):
            opts = {"gamma": GAMMA, "ramp": 0}
            for part in parts[1:]:
                key = "gamma" if part.startswith("gamma") else "ramp"
                opts[key] = (float if key == "gamma" else int)(part[len(key):])
            return Spec(1.0, float(parts[0][8:]), opts["gamma"], opts["ramp"])
    except ValueError:
        pass
    raise SystemExit(f"bench_betavae: unknown model {name!r}; use names such as beta4, "
                     "capacity25, capacity25_gamma100 or capacity25_gamma100_ramp19200")


def keep_snapshot(run: Path, to: Path) -> None:
    """Copy ``run``'s training checkpoint into the run folder ``to`` (once: an existing
    snapshot is kept), which ``betavae_axes.py`` reads like any other run."""
    if has_checkpoint(to):
        return
    to.mkdir(parents=True, exist_ok=True)
    for src in model_paths(run / CHECKPOINT_NAME):
        shutil.copyfile(src, to / src.name)


def model_config(beta: float, capacity: float = 0.0, capacity_steps: int = 1,
                 gamma: float = GAMMA) -> BetaVAEConfig:
    """The beta-VAE (or capacity form) of a setting."""
    return BetaVAEConfig(beta=beta, capacity_max=capacity, capacity_steps=capacity_steps,
                         gamma=gamma)


def build_model(beta: float, seed: int, capacity: float = 0.0, capacity_steps: int = 1,
                gamma: float = GAMMA) -> BetaVAE:
    """A beta-VAE (or capacity form) with the weight initialisation of ``seed``, as every
    genlab command builds it (:func:`genlab.latent.betavae.build_betavae`)."""
    return build_betavae(model_config(beta, capacity, capacity_steps, gamma), seed)


def score_model(model: BetaVAE, name: str, seed: int, steps: int, batch: int,
                sizes: SampleSizes, device: torch.device | str, figure: bool,
                tag: str = "") -> dict:
    """Test reconstruction and KL, per-latent KL, MIG and FactorVAE score of a trained
    model (and, with ``figure``, its traversal in docs/figures): the record's scores."""
    model.eval()
    test = DSpritesData(split_indices("test")).draw(index=torch.arange(2000))
    with torch.no_grad():
        t = model.elbo_terms(test, make_generator(0, device))
    kl = kl_per_latent(model, test)
    t0 = time.perf_counter()
    scores = evaluate_dsprites(model.encode, device, seed=0, sizes=sizes,
                               metrics=("mig", "factorvae"))
    eval_s = time.perf_counter() - t0
    c = model.config
    if figure:
        what = (f"capacity C = 0 -> {c.capacity_max:g} nats over {c.capacity_steps} steps, "
                f"gamma {c.gamma:g}"
                if c.capacity_max > 0 else f"beta = {c.beta:g}")
        traversal_figure(model, test, ROOT / "docs" / "figures"
                         / f"betavae_traverse_{name}{tag}.png",
                         title=f"{what}, {steps} steps of {batch} (seed {seed})", kl=kl)
    return {"eval_seconds": eval_s, "test_recon_nats": float(-t.log_px_z.mean()),
            "test_kl_nats": float(t.kl.mean()), "kl_per_latent": kl.tolist(),
            "active_latents": int((kl > 0.1).sum()), "mig": scores.mig.score,
            "mig_per_factor": scores.mig.per_factor,
            "factorvae": scores.factorvae.score,
            "factorvae_votes": [sizes.factorvae_train, sizes.factorvae_eval]}


def run_record(model: BetaVAE, name: str, seed: int, steps: int, batch: int, lr: float,
               init_bias: bool, device: torch.device | str, bfloat16: bool,
               resumed_from: int | None, train_s: float, new_steps: int) -> dict:
    """The training half of a run's record (the scores are :func:`score_model`'s)."""
    c = model.config
    return {"model": name, "beta": c.beta, "capacity_max": c.capacity_max,
            "capacity_steps": c.capacity_steps, "gamma": c.gamma, "seed": seed,
            "init_output_bias": init_bias, "steps": steps, "batch_size": batch, "lr": lr,
            "device": str(device), "bfloat16": bfloat16, "resumed_from": resumed_from,
            "train_seconds": train_s, "images_per_second": new_steps * batch / train_s}


def one_run(beta: float, seed: int, steps: int, batch: int, lr: float, figure: bool,
            init_bias: bool = False, tag: str = "", runs: Path | None = None,
            capacity: float = 0.0, capacity_steps: int = 1, gamma: float = GAMMA,
            amp: bool = True, sizes: SampleSizes = SIZES,
            device: torch.device | str = "cpu", snapshots: tuple[int, ...] = ()) -> dict:
    model = build_model(beta, seed, capacity, capacity_steps, gamma)
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
    record = run_record(model, name, seed, result.steps, batch, lr, init_bias, device,
                        result.bfloat16, resumed_from, train_s,
                        result.steps - (resumed_from or 0))
    return {**record, **score_model(model, name, seed, result.steps, batch, sizes, device,
                                    figure, tag)}


def stacked_runs(specs: list[Spec], seeds: list[int], steps: int, batch: int, lr: float,
                 init_bias: bool = False, tag: str = "", runs: Path | None = None,
                 amp: bool = True, sizes: SampleSizes = SIZES,
                 device: torch.device | str = "cpu", time_limit: float | None = None,
                 on_record: Callable[[dict], None] | None = None) -> list[dict]:
    """Every (seed, setting) model trained at once as one stack
    (:func:`genlab.latent.stacked.train_betavae_seeds`: each with its separate run's initial
    weights and objective, batches of ``batch`` each), for ``steps`` steps or until
    ``time_limit`` seconds have passed, whichever comes first: all models stop at the same
    step. Then each is scored as :func:`one_run` scores it (and, with ``runs``, saved as
    ``RUNS/stack_.../{model}_seed{S}/model``); ``on_record(record)`` is called after each."""
    settings = [(spec._replace(capacity_steps=spec.capacity_steps or steps), seed)
                for seed in seeds for spec in specs]
    names = [label(sp.beta, sp.capacity, sp.gamma, sp.capacity_steps, steps)
             for sp, _ in settings]
    k = len(settings)
    data = DSpritesData(split_indices("train"))
    cfg = TrainConfig(epochs=epochs_for_steps(steps, len(data), batch * k),
                      batch_size=batch * k, lr=lr, seed=seeds[0], max_steps=steps,
                      max_seconds=time_limit, amp=amp, checkpoint_every=5000 if runs else 0,
                      log_every=max(1, min(500, steps // 5)))
    run = (runs / ("stack_" + "_".join(dict.fromkeys(names)) + "_seeds"
                   + "-".join(map(str, seeds)))) if runs else None
    trained = train_betavae_seeds(
        [model_config(sp.beta, sp.capacity, sp.capacity_steps, sp.gamma) for sp, _ in settings],
        data, [seed for _, seed in settings], cfg, run, stack=True,
        names=[f"{name}_seed{seed}" for name, (_, seed) in zip(names, settings, strict=True)],
        init_bias=init_bias, resume=run is not None, device=device)
    result = trained.fit
    records = []
    for model, name, (_, seed) in zip(trained.models, names, settings, strict=True):
        record = run_record(model, name, seed, result.steps, batch, lr, init_bias, device,
                            result.bfloat16, result.resumed_from, trained.seconds,
                            result.steps - (result.resumed_from or 0))
        record["stacked"] = k
        record.update(score_model(model, name, seed, result.steps, batch, sizes, device,
                                  figure=seed == 0, tag=tag))
        records.append(record)
        if on_record is not None:
            on_record(record)
    return records


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


def parse_args() -> argparse.Namespace:
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
    ap.add_argument("--models", nargs="+", default=None, metavar="NAME",
                    help="settings by name instead of --betas/--capacity/--gamma/"
                         "--capacity-steps, e.g. beta1 beta4 capacity25_gamma100_ramp19200")
    ap.add_argument("--stack", action="store_true",
                    help="train every (seed, model) at once as one stacked model in one "
                         "process (genlab.latent.stacked), all stopping at the same step")
    ap.add_argument("--time-limit", type=float, default=None, metavar="SECONDS",
                    help="with --stack, stop training after this many seconds (every model "
                         "at the same step) and score what was trained")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "betavae.json"))
    args = ap.parse_args()
    if not args.stack and (args.time_limit is not None):
        ap.error("--time-limit goes with --stack")
    if args.stack and args.snapshots:
        ap.error("--snapshots does not go with --stack")
    return args


def command_line(args: argparse.Namespace) -> str:
    """The command that reproduces this sweep, as the results file records it."""
    return "PYTHONPATH=src python benchmarks/bench_betavae.py " + " ".join(
        f"--{k.replace('_', '-')} {v}" for k, v in
        (("steps", args.steps), ("batch_size", args.batch_size), ("lr", args.lr))) + (
        " --models " + " ".join(args.models) if args.models else
        " --betas " + " ".join(f"{b:g}" for b in args.betas)) + (
        " --seeds " + " ".join(map(str, args.seeds))) + (
        f" --capacity {args.capacity:g} --capacity-steps {args.capacity_steps or args.steps}"
        + (f" --gamma {args.gamma:g}" if args.gamma != GAMMA else "")
        if args.capacity > 0 and not args.models else "") + (
        " --init-bias" if args.init_bias else "") + (
        "" if args.amp else " --no-amp") + (
        f" --votes {args.votes}" if args.votes != SIZES.factorvae_train else "") + (
        f" --device {args.device}" if args.device != "cpu" else "") + (
        f" --tag {args.tag}" if args.tag else "") + (
        f" --runs {args.runs}" if args.runs else "") + (
        " --snapshots " + " ".join(map(str, args.snapshots)) if args.snapshots else "") + (
        " --stack" if args.stack else "") + (
        f" --time-limit {args.time_limit:g}" if args.time_limit is not None else "")


def print_table(runs: list[dict], models: list[str]) -> None:
    """The markdown table of the sweep for benchmarks/RESULTS.md."""
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


def main() -> None:
    from genlab.device import keep_freed_memory

    keep_freed_memory()  # as the genlab command line does for its process: timings match it
    args = parse_args()
    specs = ([parse_label(m) for m in args.models] if args.models else
             [Spec(b, args.capacity, args.gamma, args.capacity_steps or 0) for b in args.betas])
    models = [label(sp.beta, sp.capacity, sp.gamma, sp.capacity_steps or args.steps, args.steps)
              for sp in specs]
    torch.set_num_threads(args.threads)  # this script's own process, as --threads asks
    device = resolve_device(args.device)
    torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick its fastest kernels
    start = time.perf_counter()
    runs: list[dict] = []
    command = command_line(args)

    def record(r: dict) -> None:
        runs.append(r)
        print(f"{r['model']} seed={r['seed']}: MIG {r['mig']:.3f} FactorVAE "
              f"{r['factorvae']:.3f} recon {r['test_recon_nats']:.1f} KL "
              f"{r['test_kl_nats']:.1f} ({r['steps']} steps, {r['images_per_second']:.1f} "
              f"img/s, train {r['train_seconds']:.0f} s, eval {r['eval_seconds']:.0f} s)",
              flush=True)
        save_sweep(Path(args.out), {
            "command": command,
            "machine": f"{cpu_name()} ({platform.machine()}), torch "
                       f"{torch.__version__}, {args.threads} thread(s)" + (
                           f", {torch.cuda.get_device_name(device)}"
                           if device.type == "cuda" else ""),
            "metric_sample_sizes": asdict(sample_sizes(args.votes)), "runs": runs,
            "wall_seconds": time.perf_counter() - start})

    if args.stack:
        stacked_runs(specs, args.seeds, args.steps, args.batch_size, args.lr,
                     init_bias=args.init_bias, tag=args.tag, runs=args.runs, amp=args.amp,
                     sizes=sample_sizes(args.votes), device=device,
                     time_limit=args.time_limit, on_record=record)
    for seed in args.seeds if not args.stack else []:
        for sp in specs:
            if time.perf_counter() - start > args.budget:
                print(f"budget of {args.budget:.0f} s spent; stopping before "
                      f"{label(sp.beta, sp.capacity, sp.gamma)} seed={seed}", flush=True)
                break
            record(one_run(sp.beta, seed, args.steps, args.batch_size, args.lr,
                           figure=seed == 0, init_bias=args.init_bias, tag=args.tag,
                           runs=args.runs, capacity=sp.capacity,
                           capacity_steps=sp.capacity_steps or args.steps, gamma=sp.gamma,
                           amp=args.amp, sizes=sample_sizes(args.votes), device=device,
                           snapshots=tuple(args.snapshots)))
    print_table(runs, models)


if __name__ == "__main__":
    main()
