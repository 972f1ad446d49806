"""genlab's BernoulliRBM against scikit-learn's, on the same data and hyper-parameters.

Run from the repository root::

    PYTHONPATH=src python benchmarks/bench_rbm.py [--repeats 2] [--quality-epochs 10]

* Speed: seconds per epoch of PCD-1 (500 hidden units, learning rate 0.05, no
  shuffling, as scikit-learn trains) on the 4,000 binarised MNIST-5k training images at
  batch sizes 10, 20 and 100, best of ``--repeats``; the same with ``genlab rbm train``'s
  defaults (centred, momentum 0.5, shuffled); and the matrix-multiply floor, the
  time the five ``(B, 784) x (784, 500)``-sized products of each mini-batch take alone.
* Quality at equal time: scikit-learn trains ``--quality-epochs`` epochs at batch size
  20; genlab trains the same epochs without shuffling (scikit-learn's training, a check
  that the two implementations agree), then for the same wall-clock time as scikit-learn,
  once with the same settings and once with momentum 0.5 and a linearly decaying learning
  rate; all are scored by the average test log-likelihood, with log Z by AIS over each
  layer (the same runs, betas and seed for every model) and the larger of the two
  estimates used (see ``test_log_likelihood``).

scikit-learn runs in a subprocess (the peers' environment from ``benchmarks/peers.sh``
when it exists, else this Python); every process uses one CPU thread. Writes
``benchmarks/results/rbm.json`` and prints the Markdown table for RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from genlab.data import load_dataset
from genlab.rbm import BernoulliRBM
from genlab.rbm.tasks import rbm_estimator

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
N_HIDDEN, LR = 500, 0.05
BATCH_SIZES = (10, 20, 100)

PEER = r"""
import json, sys, time
import numpy as np
from sklearn.neural_network import BernoulliRBM
cfg = json.loads(sys.argv[1])
X = np.load(cfg["train"])
out = {"version": __import__("sklearn").__version__, "epoch_seconds": {}}
for bs in cfg["batch_sizes"]:
    best = float("inf")
    for _ in range(cfg["repeats"]):
        rbm = BernoulliRBM(cfg["hidden"], learning_rate=cfg["lr"], batch_size=bs, n_iter=1,
                           random_state=cfg["seed"])
        t = time.perf_counter(); rbm.fit(X); best = min(best, time.perf_counter() - t)
    out["epoch_seconds"][str(bs)] = best
rbm = BernoulliRBM(cfg["hidden"], learning_rate=cfg["lr"], batch_size=cfg["quality_batch"],
                   n_iter=cfg["quality_epochs"], random_state=cfg["seed"])
t = time.perf_counter(); rbm.fit(X); out["quality_seconds"] = time.perf_counter() - t
np.savez(cfg["weights"], components=rbm.components_, intercept_hidden=rbm.intercept_hidden_,
         intercept_visible=rbm.intercept_visible_)
print(json.dumps(out))
"""


def peer_python() -> str:
    env_python = HERE / ".env" / "bin" / "python"
    return str(env_python) if env_python.is_file() else sys.executable


def one_thread_env() -> dict[str, str]:
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    return env


def mnist5k_arrays() -> tuple[np.ndarray, np.ndarray]:
    """The 4,000 MNIST-5k training and 1,000 test images, threshold 0.5, float64
    ``(n, 784)``: the data of ``genlab rbm train mnist5k``."""
    def split(name: str) -> np.ndarray:
        return load_dataset("mnist5k", name, binarize="threshold").x.numpy().astype(np.float64)

    return split("train"), split("test")


def rbm_from_params(components: np.ndarray, intercept_hidden: np.ndarray,
                    intercept_visible: np.ndarray, train: np.ndarray) -> BernoulliRBM:
    """A fitted genlab ``BernoulliRBM`` with these parameters (``W`` ``(n_h, n_v)``, ``c``,
    ``b``), float32, its AIS base-rate model from the mean of ``train`` ``(n, n_v)``."""
    rbm = BernoulliRBM(components.shape[0], device="cpu")
    rbm.components_ = np.asarray(components, dtype=np.float32)
    rbm.intercept_hidden_ = np.asarray(intercept_hidden, dtype=np.float32)
    rbm.intercept_visible_ = np.asarray(intercept_visible, dtype=np.float32)
    rbm.n_features_in_ = train.shape[1]
    rbm.h_samples_ = np.zeros((1, components.shape[0]), np.float32)
    rbm._data_mean = train.mean(0)
    return rbm


def best_epoch(make: Callable[[], BernoulliRBM], X: np.ndarray, repeats: int) -> float:
    """The shortest of ``repeats`` one-epoch fits of a fresh ``make()`` on ``X``, seconds."""
    best = float("inf")
    for _ in range(repeats):
        rbm = make()
        t = time.perf_counter()
        rbm.fit(X)
        best = min(best, time.perf_counter() - t)
    return best


def genlab_epoch(X: np.ndarray, bs: int, repeats: int, seed: int, **extra) -> float:
    """An epoch of PCD-1 at scikit-learn's settings (no shuffling), changed by ``extra``."""
    settings = {"shuffle": False, **extra}
    return best_epoch(lambda: BernoulliRBM(N_HIDDEN, learning_rate=LR, batch_size=bs, n_iter=1,
                                           random_state=seed, device="cpu", **settings),
                      X, repeats)


def command_epoch(X: np.ndarray, bs: int, repeats: int, seed: int) -> float:
    """An epoch with ``genlab rbm train``'s settings (``rbm_estimator``'s defaults: centred
    PCD-1 with momentum, shuffled batches); the learning rate does not change an epoch's
    work, so it stays LR."""
    return best_epoch(lambda: rbm_estimator(hidden=N_HIDDEN, epochs=1, lr=LR, batch_size=bs,
                                            seed=seed, device="cpu"), X, repeats)


def matmul_floor(n: int, bs: int, repeats: int) -> float:
    """Seconds for the five (B x 784 x 500) products of every mini-batch of one epoch."""
    W = torch.randn(N_HIDDEN, 784) * 0.01
    v = (torch.rand(bs, 784) < 0.13).float()
    h = (torch.rand(bs, N_HIDDEN) < 0.5).float()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(0, n, bs):
            v @ W.t()
            h @ W
            v @ W.t()
            h.t() @ v
            h.t() @ v
        best = min(best, time.perf_counter() - t)
    return best


def test_log_likelihood(rbm: BernoulliRBM, X_test: np.ndarray, runs: int, betas: int
                        ) -> dict[str, float]:
    """Average test log-likelihood with log Z by AIS over each layer in turn.

    ``log Z_hat`` is a stochastic lower bound (``P(log Z_hat > log Z + t) <= e^-t``) and on
    784x500 RBMs the two paths disagree by several nats either way, so the reported
    log-likelihood uses the larger of the two estimates (the less flattering one). A
    standard error near 1 means one run dominates the weights: the estimate is unreliable.
    """
    out: dict[str, float] = {}
    for layer in ("visible", "hidden"):
        ais = rbm.ais_log_partition(n_runs=runs, n_betas=betas, seed=0, layer=layer)
        out[f"log_z_{layer}"], out[f"log_z_{layer}_std_err"] = ais.log_z, ais.std_err
    best = max(("visible", "hidden"), key=lambda layer: out[f"log_z_{layer}"])
    out["log_z"], out["log_z_std_err"] = out[f"log_z_{best}"], out[f"log_z_{best}_std_err"]
    out["log_likelihood"] = rbm.log_likelihood(X_test, log_z=out["log_z"])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=2, help="best of this many epochs")
    ap.add_argument("--quality-epochs", type=int, default=10)
    ap.add_argument("--quality-batch", type=int, default=20)
    ap.add_argument("--ais-runs", type=int, default=100)
    ap.add_argument("--ais-betas", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    WORK.mkdir(exist_ok=True)
    train, test = mnist5k_arrays()
    np.save(WORK / "rbm_train.npy", train)
    cfg = {"train": str(WORK / "rbm_train.npy"), "batch_sizes": list(BATCH_SIZES),
           "repeats": args.repeats, "hidden": N_HIDDEN, "lr": LR, "seed": args.seed,
           "quality_batch": args.quality_batch, "quality_epochs": args.quality_epochs,
           "weights": str(WORK / "rbm_sklearn.npz")}
    print("scikit-learn (subprocess) ...", file=sys.stderr)
    proc = subprocess.run([peer_python(), "-c", PEER, json.dumps(cfg)], capture_output=True,
                          text=True, env=one_thread_env(), check=True)
    peer = json.loads(proc.stdout.strip().splitlines()[-1])

    rows = []
    for bs in BATCH_SIZES:
        print(f"genlab, batch size {bs} ...", file=sys.stderr)
        ours = genlab_epoch(train, bs, args.repeats, args.seed)
        default = command_epoch(train, bs, args.repeats, args.seed)
        floor = matmul_floor(len(train), bs, args.repeats)
        theirs = peer["epoch_seconds"][str(bs)]
        rows.append({"batch_size": bs, "sklearn_s": theirs, "genlab_s": ours,
                     "speedup": theirs / ours, "floor_s": floor, "floor_fraction": floor / ours,
                     "genlab_default_s": default, "default_speedup": theirs / default})

    # quality at equal training time: sklearn's weights scored by genlab's AIS
    print("quality at equal time ...", file=sys.stderr)
    w = np.load(WORK / "rbm_sklearn.npz")
    sk = rbm_from_params(w["components"], w["intercept_hidden"], w["intercept_visible"], train)
    budget = peer["quality_seconds"]

    def same_time(**extra) -> int:
        """Epochs of these settings that fit in scikit-learn's training time (each setting
        timed on its own: momentum costs two more passes over W per step)."""
        per_epoch = genlab_epoch(train, args.quality_batch, args.repeats, args.seed, **extra)
        return max(1, int(budget / per_epoch))

    quality = {"sklearn": {"epochs": args.quality_epochs, "seconds": budget,
                           **test_log_likelihood(sk, test, args.ais_runs, args.ais_betas)}}
    tuned = {"momentum": 0.5, "learning_rate_schedule": "linear"}
    variants = {  # name: (epochs, extra settings)
        "genlab, same epochs, no shuffling (scikit-learn's training)":
            (args.quality_epochs, {"shuffle": False}),
        "genlab, same time": (same_time(shuffle=True), {}),
        "genlab, same time, momentum 0.5 + linear decay": (same_time(shuffle=True, **tuned),
                                                           tuned)}
    for name, (n_epochs, extra) in variants.items():
        print(f"{name}: {n_epochs} epochs, then AIS ...", file=sys.stderr)
        ours = BernoulliRBM(N_HIDDEN, learning_rate=LR, batch_size=args.quality_batch,
                            n_iter=n_epochs, random_state=args.seed, device="cpu", **extra)
        t = time.perf_counter()
        ours.fit(train)
        seconds = time.perf_counter() - t
        quality[name] = {"epochs": n_epochs, "seconds": seconds,
                         **test_log_likelihood(ours, test, args.ais_runs, args.ais_betas)}
    result = {"machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, 1 thread each, "
                         "shared and noisy",
              "torch": torch.__version__, "sklearn": peer["version"],
              "data": "mnist5k train (4000) / test (1000), threshold 0.5",
              "n_hidden": N_HIDDEN, "learning_rate": LR, "speed": rows, "quality": quality,
              "ais": {"runs": args.ais_runs, "betas": args.ais_betas},
              "cuda": torch.cuda.is_available()}
    out = HERE / "results" / "rbm.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(markdown(result))


def markdown(r: dict) -> str:
    lines = ["| batch size | scikit-learn s/epoch | genlab s/epoch | speed-up | "
             "genlab, the command's defaults | speed-up | matmul floor s/epoch | "
             "genlab at floor |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for row in r["speed"]:
        lines.append(f"| {row['batch_size']} | {row['sklearn_s']:.3f} | {row['genlab_s']:.3f} | "
                     f"{row['speedup']:.2f}x | {row['genlab_default_s']:.3f} | "
                     f"{row['default_speedup']:.2f}x | {row['floor_s']:.3f} | "
                     f"{100 * row['floor_fraction']:.0f}% |")
    lines += ["", "| model (batch 20, PCD-1) | epochs | train s | test log-likelihood (nats) | "
              "log Z (AIS over v) | log Z (AIS over h) |",
              "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, q in r["quality"].items():
        lines.append(f"| {name} | {q['epochs']} | {q['seconds']:.1f} | "
                     f"{q['log_likelihood']:.2f} | "
                     f"{q['log_z_visible']:.2f} +- {q['log_z_visible_std_err']:.2f} | "
                     f"{q['log_z_hidden']:.2f} +- {q['log_z_hidden_std_err']:.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
