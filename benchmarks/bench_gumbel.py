"""Benchmark: categorical VAE (20 x 10) with Gumbel-softmax, straight-through Gumbel-softmax
and REINFORCE, same architecture and budget, plus genlab's sampler against
``torch.nn.functional.gumbel_softmax``.

Writes benchmarks/results/gumbel.json and prints the Markdown tables for RESULTS.md.

    python benchmarks/bench_gumbel.py                      # everything in one process
    python benchmarks/bench_gumbel.py --epochs 2 --datasets mnist5k --quick

or the two data sets in parallel processes, then the merged table:

    python benchmarks/bench_gumbel.py --datasets mnist5k --out /tmp/g1.json
    python benchmarks/bench_gumbel.py --datasets fashion-mnist --no-sampler --out /tmp/g2.json
    python benchmarks/bench_gumbel.py --merge /tmp/g1.json /tmp/g2.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from genlab.data import load_dataset  # noqa: E402
from genlab.io import atomic_write_json  # noqa: E402
from genlab.latent.categorical_vae import CategoricalVAE, CategoricalVAEConfig  # noqa: E402
from genlab.latent.evaluate import evaluate_likelihood  # noqa: E402
from genlab.latent.gumbel import gumbel_softmax  # noqa: E402
from genlab.latent.runs import fixed_draw  # noqa: E402
from genlab.plots import plot_curves, plot_image_grid  # noqa: E402
from genlab.train import TrainConfig, fit, steps_per_epoch  # noqa: E402

HERE = Path(__file__).resolve().parent
ESTIMATORS = ("gumbel", "straight-through", "reinforce")
# Jang, Gu & Poole (2017), Table 1: full binarised MNIST, 20 x 10 categorical VAE, test -ELBO.
PUBLISHED = {"gumbel": 101.5, "straight-through": 107.8, "reinforce": 110.6}
LABELS = {"gumbel": "Gumbel-softmax", "straight-through": "straight-through Gumbel-softmax",
          "reinforce": "score function (REINFORCE, EMA baseline)"}


def best_of(fn, repeats: int) -> float:
    """Best wall time of ``repeats`` calls (seconds)."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def bench_sampler(repeats: int) -> list[dict]:
    """genlab.gumbel_softmax vs torch.nn.functional.gumbel_softmax, (B, M, K) logits."""
    rows = []
    for shape in ((100, 20, 10), (1000, 20, 10), (100, 1000)):
        logits = torch.randn(*shape, generator=torch.Generator().manual_seed(0))
        gen = torch.Generator().manual_seed(1)
        for hard in (False, True):
            def ours_fn(lg=logits, h=hard, g=gen):
                return gumbel_softmax(lg, 0.5, hard=h, generator=g)

            def theirs_fn(lg=logits, h=hard):
                return torch.nn.functional.gumbel_softmax(lg, 0.5, hard=h)

            ours, theirs = best_of(ours_fn, repeats), best_of(theirs_fn, repeats)
            rows.append({"shape": list(shape), "hard": hard, "genlab_ms": 1e3 * ours,
                         "torch_ms": 1e3 * theirs})
    return rows


def train_one(data_name: str, estimator: str, args: argparse.Namespace, train, test_x,
              out_dir: Path) -> dict:
    total = steps_per_epoch(len(train), args.batch_size) * args.epochs
    # anneal so that tau reaches tau_min after 70% of the run (Jang et al. use r in
    # [1e-5, 1e-4] over far longer runs)
    rate = math.log(args.tau0 / args.tau_min) / (0.7 * total)
    cfg = CategoricalVAEConfig(image_shape=train.image_shape, hidden=(512, 256), n_latent=20,
                               n_categories=10, estimator=estimator, tau0=args.tau0,
                               tau_min=args.tau_min, anneal_rate=rate)
    torch.manual_seed(0)  # weight initialisation, identical for the three estimators
    model = CategoricalVAE(cfg)
    model.init_output_bias(train.images.mean(0))
    t = time.perf_counter()
    fit_result = fit(model, train, TrainConfig(epochs=args.epochs, batch_size=args.batch_size,
                                               lr=args.lr, seed=0), quiet=True)
    seconds = time.perf_counter() - t
    ev = evaluate_likelihood(model, test_x, args.iw, torch.Generator().manual_seed(0))
    row = {"data": data_name, "estimator": estimator, "neg_elbo": -ev.elbo,
           "neg_elbo_se": ev.elbo_se, "nll_iw": ev.nll_iw, "nll_iw_se": ev.nll_iw_se,
           "iw_k": ev.k, "n_test": ev.n, "train_seconds": seconds, "steps": fit_result.steps,
           "epochs": args.epochs, "anneal_rate": rate, "final_tau": model.tau,
           "train_curve": fit_result.train_loss}
    if estimator == "gumbel":
        with torch.no_grad():
            samples = model.sample(64, torch.Generator().manual_seed(0))
        plot_image_grid(samples, out_dir / f"gumbel_vae_samples_{data_name}.png",
                        image_shape=train.image_shape, vmin=0, vmax=1,
                        title=f"categorical VAE (20x10, Gumbel-softmax) on {data_name}: "
                              "means of p(x|z), z ~ uniform prior")
    print(f"{data_name:14s} {estimator:17s} -ELBO {row['neg_elbo']:7.2f} "
          f"NLL(IW {args.iw}) {row['nll_iw']:7.2f}  {seconds:6.0f} s", file=sys.stderr,
          flush=True)
    return row


def markdown(result: dict) -> str:
    a = result["args"]
    lines = ["| data set (train images, epochs) | estimator | test -ELBO (nats) | test NLL, "
             f"IWAE K={a['iw']} (nats) | train time (s) | Jang et al. 2017, full MNIST -ELBO |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in result["vae"]:
        pub = PUBLISHED[r["estimator"]] if r["data"] == "mnist5k" else None
        lines.append(f"| {r['data']} ({r['n_train']}, {r['epochs']}) | "
                     f"{LABELS[r['estimator']]} | {r['neg_elbo']:.1f} ± {r['neg_elbo_se']:.1f} | "
                     f"{r['nll_iw']:.1f} ± {r['nll_iw_se']:.1f} | "
                     f"{r['train_seconds']:.0f} | {'' if pub is None else pub} |")
    lines += ["", "| logits shape | hard | genlab `gumbel_softmax` (ms) | "
              "`torch.nn.functional.gumbel_softmax` (ms) |", "| --- | --- | --- | --- |"]
    for r in result["sampler"]:
        lines.append(f"| {'x'.join(map(str, r['shape']))} | {r['hard']} | "
                     f"{r['genlab_ms']:.2f} | {r['torch_ms']:.2f} |")
    return "\n".join(lines)


def main() -> None:
    from genlab.device import keep_freed_memory

    keep_freed_memory()  # as the genlab command line does for its process: timings match it
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--datasets", default="mnist5k,fashion-mnist")
    p.add_argument("--epochs", type=int, default=25)
    p.add_argument("--fashion-limit", type=int, default=4000,
                   help="Fashion-MNIST training images used (default 4000 of 60000)")
    p.add_argument("--fashion-epochs", type=int, default=25)
    p.add_argument("--test-limit", type=int, default=1000)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--tau0", type=float, default=1.0)
    p.add_argument("--tau-min", type=float, default=0.5)
    p.add_argument("--iw", type=int, default=100)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--quick", action="store_true", help="no output files, fewer repeats")
    p.add_argument("--estimators", default=",".join(ESTIMATORS),
                   help="comma-separated subset of gumbel,straight-through,reinforce")
    p.add_argument("--no-sampler", action="store_true", help="skip the sampler timings")
    p.add_argument("--merge", nargs="+", default=None, metavar="JSON",
                   help="merge the results of earlier runs into --out and print the tables")
    p.add_argument("--out", default=str(HERE / "results" / "gumbel.json"))
    p.add_argument("--figures", default=str(HERE.parent / "docs" / "figures"))
    args = p.parse_args()
    if args.merge:
        parts = [json.loads(Path(f).read_text()) for f in args.merge]
        result = dict(parts[0])
        order = {(d, e): i for i, (d, e) in enumerate(
            (d, e) for d in ("mnist5k", "fashion-mnist") for e in ESTIMATORS)}
        result["vae"] = sorted((r for part in parts for r in part["vae"]),
                               key=lambda r: order.get((r["data"], r["estimator"]), 99))
        result["sampler"] = [r for part in parts for r in part["sampler"]]
        result["runs"] = [part["args"] for part in parts]
        atomic_write_json(args.out, result)
        curves = {f"{r['data']} {r['estimator']}": r["train_curve"] for r in result["vae"]}
        plot_curves(curves, Path(args.figures) / "gumbel_vae_training.png", xlabel="epoch",
                    ylabel="training -ELBO estimate (nats)",
                    title="categorical VAE 20x10: training objective per epoch")
        print(markdown(result))
        return
    torch.set_num_threads(args.threads)
    fig_dir = Path(args.figures)
    fig_dir.mkdir(parents=True, exist_ok=True)
    rows, curves = [], {}
    for name in args.datasets.split(","):
        limit = args.fashion_limit if name == "fashion-mnist" else None
        train = load_dataset(name, split="train", binarize="bernoulli", limit=limit)
        test = load_dataset(name, split="test", binarize="bernoulli", limit=args.test_limit)
        test_x = fixed_draw(test, 0)
        run_args = argparse.Namespace(**vars(args))
        if name == "fashion-mnist":
            run_args.epochs = args.fashion_epochs
        for est in args.estimators.split(","):
            row = train_one(name, est, run_args, train, test_x, fig_dir)
            row["n_train"] = len(train)
            rows.append(row)
            curves[f"{name} {est}"] = row["train_curve"]
    sampler = [] if args.no_sampler else bench_sampler(3 if args.quick else args.repeats)
    result = {"args": vars(args), "vae": rows, "sampler": sampler,
              "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                          "torch": torch.__version__, "threads": args.threads},
              "published": {"source": "Jang, Gu & Poole 2017, Table 1 (binarised MNIST, "
                                      "20x10 categorical VAE, test -ELBO)", **PUBLISHED}}
    if not args.quick:
        atomic_write_json(args.out, result)
        plot_curves(curves, fig_dir / "gumbel_vae_training.png", xlabel="epoch",
                    ylabel="training -ELBO estimate (nats)",
                    title="categorical VAE 20x10: training objective per epoch")
    print(markdown(result))


if __name__ == "__main__":
    main()
