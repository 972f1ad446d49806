"""RBMs side by side at equal wall time: scikit-learn, learnergy and genlab.

Run from the repository root (after ``benchmarks/peers.sh --no-deps learnergy==2.0.2``)::

    PYTHONPATH=src python benchmarks/bench_rbm_peers.py --seconds 60 --ais-runs 32 --ais-betas 3000

Every model has 500 hidden units and trains on the 4,000 MNIST-5k training images
(threshold 0.5, as ``genlab rbm train mnist5k``) for at most ``--seconds`` of wall time:

* scikit-learn ``BernoulliRBM`` (PCD-1, no shuffling): learning rate and batch size fixed
  in ``PEERS`` (the best of a small grid at a shorter budget, see ``SEARCH``);
* learnergy's ``RBM`` (CD-k with torch's SGD, shuffled), trained by its own ``fit``:
  steps, learning rate, momentum and batch size fixed in ``PEERS``, chosen the same way;
* genlab's default, exactly ``genlab rbm train mnist5k`` (its own epochs, whatever time
  they take);
* genlab's best setting at this budget, fixed in ``GENLAB_BEST`` (chosen by ``--search``
  among ``GENLAB_CANDIDATES`` at a shorter budget, never at benchmark time).

Each time-limited model trains, in one ``fit``, as many epochs as fit in ``--seconds``:
throwaway fits of its own settings (not counted) time a fit of one epoch and of two, after
a warm-up epoch, so that an epoch's cost and a fit's one-off cost (learnergy's first epoch
is several times its later ones) are counted apart (``_epochs_in``). Each model trains
in its own subprocess (the peers' environment ``benchmarks/.env`` when it exists), one at a
time, with one CPU thread. Every model is converted to genlab's ``(W, b, c)`` and scored by
the same code: the average test log-likelihood of the 1,000 MNIST-5k test images under
forward AIS (a stochastic lower bound on ``log Z``, so the upper estimate of the
likelihood) and reverse AIS (an upper bound on ``log Z``: the lower estimate), both over the
visible units from the same base-rate model, with the same runs, betas and seed for every
model. Writes ``benchmarks/results/rbm_peers.json`` (``--search``:
``rbm_peers_search.json``) after every model, so that a run cut short keeps the rows it
finished, and prints a Markdown table.
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
from typing import Any

import numpy as np
import torch

from bench_rbm import WORK, mnist5k_arrays, one_thread_env, peer_python, rbm_from_params
from genlab.rbm.tasks import TRAIN_DEFAULTS

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
N_HIDDEN = 500
LEARNERGY_VERSION = "2.0.2"

# The peers' settings: the best test log-likelihood (upper estimate) of a small grid at a
# 10 s budget (``--search --seconds 10 --ais-runs 32 --ais-betas 1000``, 2026-12-07,
# results/rbm_peers_search.json; the machine was still partly busy during the peers' rows):
# scikit-learn's defaults (learning rate 0.1, batch 10) and bench_rbm.py's settings (0.05,
# batch 20 and 100); learnergy's defaults (CD-1, learning rate 0.1, no momentum, its
# ``fit``'s batch of 128) and learning rate 0.05 with momentum 0.5 at batch 20. genlab's
# best is the candidate with the best lower estimate in the same search, PCD-10 (then
# uncentred), trained centred ("PCD-10, centred") since centring became the default: at
# 60 s (2026-12-07, results/rbm_peers.json) centred PCD-10 reached -88.8 / -87.4 nats,
# uncentred -102.4 / -89.8.
PEERS: dict[str, dict[str, Any]] = {
    "sklearn": {"learning_rate": 0.05, "batch_size": 100},
    "learnergy": {"steps": 1, "learning_rate": 0.05, "momentum": 0.5, "batch_size": 20},
}
SEARCH_PEERS: dict[str, list[dict[str, Any]]] = {
    "sklearn": [{"learning_rate": 0.1, "batch_size": 10},
                {"learning_rate": 0.05, "batch_size": 20},
                {"learning_rate": 0.05, "batch_size": 100}],
    "learnergy": [{"steps": 1, "learning_rate": 0.1, "momentum": 0.0, "batch_size": 128},
                  {"steps": 1, "learning_rate": 0.05, "momentum": 0.5, "batch_size": 20}],
}
# genlab's candidates (settings of ``genlab.rbm.tasks.rbm_estimator``; epochs fill the budget).
# Each says ``centered`` itself, since ``rbm_estimator`` centres by default: the uncentred
# rows are those of the committed search (results/rbm_peers_search.json, measured when the
# default was uncentred, hence its settings without ``centered`` and its shorter names).
_TUNED = {"lr": 0.05, "batch_size": 20, "momentum": 0.5, "schedule": "linear"}
GENLAB_CANDIDATES: dict[str, dict[str, Any]] = {
    "PCD-1": {**_TUNED, "method": "pcd", "k": 1, "centered": False},
    "PCD-5": {**_TUNED, "method": "pcd", "k": 5, "centered": False},
    "PCD-10": {**_TUNED, "method": "pcd", "k": 10, "centered": False},
    "PCD-10, centred": {**_TUNED, "method": "pcd", "k": 10, "centered": True},
    "PCD-5, centred": {**_TUNED, "method": "pcd", "k": 5, "centered": True},
    "PCD-1, centred": {**_TUNED, "method": "pcd", "k": 1, "centered": True},
    "PT, 10 temperatures": {**_TUNED, "method": "pt", "k": 1, "pt_chains": 10,
                            "centered": False},
}
GENLAB_BEST = "PCD-10, centred"
SEARCH = "rbm_peers_search.json"


# ----- parameters in genlab's convention ---------------------------------------------------

def sklearn_params(rbm: Any) -> dict[str, np.ndarray]:
    """scikit-learn's ``BernoulliRBM`` as ``W`` ``(n_h, n_v)``, ``b`` ``(n_v,)``, ``c``
    ``(n_h,)``: ``components_``, ``intercept_visible_``, ``intercept_hidden_``; its free
    energy ``-v b - sum_j log(1 + exp(v W_j + c_j))`` is genlab's."""
    return {"W": np.asarray(rbm.components_), "b": np.asarray(rbm.intercept_visible_),
            "c": np.asarray(rbm.intercept_hidden_)}


def learnergy_params(rbm: Any) -> dict[str, np.ndarray]:
    """learnergy's ``RBM`` as ``W`` ``(n_h, n_v)``, ``b``, ``c``: its ``W`` is
    ``(n_v, n_h)``, ``a`` the visible and ``b`` the hidden biases (its ``energy(v)`` is the
    free energy ``-v a - sum_j softplus(v W_:j + b_j)``)."""
    def array(t: torch.Tensor) -> np.ndarray:
        return t.detach().cpu().numpy()

    return {"W": array(rbm.W).T.copy(), "b": array(rbm.a), "c": array(rbm.b)}


# ----- training, one model per subprocess --------------------------------------------------

def _epochs_in(budget: float, fit: Callable[[int], Any]) -> tuple[int, float]:
    """The epochs ``n`` one ``fit(n)`` (a fresh model trained ``n`` epochs) can train in
    ``budget`` seconds, and the seconds of an epoch after the first.

    After a warm-up ``fit(1)`` (the process's own one-off costs), ``fit(1)`` takes ``a``
    and ``fit(2)`` takes ``b``: an epoch after the first takes ``e = b - a`` and a fit of
    ``n`` epochs about ``a + (n - 1) e``, so a fit whose first epoch is slow is not held
    to the epochs its first epoch would allow. None of these fits counts.
    """
    def seconds(n: int) -> float:
        t = time.perf_counter()
        fit(n)
        return time.perf_counter() - t

    seconds(1)
    a = seconds(1)
    b = seconds(2)
    later = b - a if b > a else b / 2  # timing noise can make b <= a: then b / 2
    return 1 + max(0, int((budget - a) / later)), later


def _fit_estimator(make: Callable[[int], Any], X: np.ndarray, budget: float,
                   version: str) -> dict[str, Any]:
    """Train a scikit-learn-style RBM ``make(epochs)`` on ``X`` for the epochs that fit in
    ``budget`` seconds (``_epochs_in``); its parameters, epochs, seconds and ``version``."""
    epochs, epoch_seconds = _epochs_in(budget, lambda n: make(n).fit(X))
    rbm = make(epochs)
    t = time.perf_counter()
    rbm.fit(X)
    return {"params": sklearn_params(rbm), "epochs": epochs, "seconds": time.perf_counter() - t,
            "epoch_seconds": epoch_seconds, "version": version}


def train_sklearn(X: np.ndarray, budget: float, seed: int, learning_rate: float,
                  batch_size: int) -> dict[str, Any]:
    from sklearn import __version__
    from sklearn.neural_network import BernoulliRBM

    def make(n_iter: int) -> BernoulliRBM:
        return BernoulliRBM(N_HIDDEN, learning_rate=learning_rate, batch_size=batch_size,
                            n_iter=n_iter, random_state=seed)

    return _fit_estimator(make, X, budget, f"scikit-learn {__version__}")


def train_learnergy(X: np.ndarray, budget: float, seed: int, steps: int,
                    learning_rate: float, momentum: float, batch_size: int) -> dict[str, Any]:
    from importlib.metadata import version

    from learnergy.models.bernoulli import RBM
    from torch.utils.data import TensorDataset

    data = TensorDataset(torch.tensor(X, dtype=torch.float32), torch.zeros(len(X)))

    def make() -> RBM:
        torch.manual_seed(seed)
        return RBM(n_visible=X.shape[1], n_hidden=N_HIDDEN, steps=steps,
                   learning_rate=learning_rate, momentum=momentum)

    epochs, epoch_seconds = _epochs_in(budget, lambda n: make().fit(data, batch_size, n))
    rbm = make()
    t = time.perf_counter()
    rbm.fit(data, batch_size=batch_size, epochs=epochs)
    return {"params": learnergy_params(rbm), "epochs": epochs,
            "seconds": time.perf_counter() - t, "epoch_seconds": epoch_seconds,
            "version": f"learnergy {version('learnergy')}"}


def train_genlab(X: np.ndarray, budget: float, seed: int, **settings: Any) -> dict[str, Any]:
    import genlab
    from genlab.rbm.tasks import rbm_estimator

    def make(epochs: int):
        return rbm_estimator("bernoulli", N_HIDDEN, epochs=epochs, seed=seed, device="cpu",
                             **settings)

    return _fit_estimator(make, X, budget, f"genlab {genlab.__version__}")


def train_genlab_default(seed: int) -> dict[str, Any]:
    """``genlab rbm train mnist5k`` as a user runs it (its own data loading and epochs)."""
    import genlab

    out = WORK / "rbm_peers_default"
    cmd = [sys.executable, "-m", "genlab", "rbm", "train", "mnist5k", "--out", str(out),
           "--device", "cpu", "--seed", str(seed), "--overwrite", "--json"]
    report = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True,
                                       env=worker_env()).stdout)
    rbm = genlab.load(out)
    return {"params": sklearn_params(rbm), "epochs": report["epochs"],
            "seconds": report["seconds"], "epoch_seconds": report["seconds_per_epoch"],
            "version": f"genlab {genlab.__version__}"}


def worker(cfg: dict[str, Any]) -> None:
    """Train the one model ``cfg`` names; save its ``(W, b, c)`` and print a JSON line."""
    torch.set_num_threads(1)
    X = np.load(cfg["train"])
    kind, settings, budget, seed = cfg["kind"], cfg["settings"], cfg["seconds"], cfg["seed"]
    if kind == "sklearn":
        done = train_sklearn(X, budget, seed, **settings)
    elif kind == "learnergy":
        done = train_learnergy(X, budget, seed, **settings)
    elif kind == "genlab-default":
        done = train_genlab_default(seed)
    else:
        done = train_genlab(X, budget, seed, **settings)
    np.savez(cfg["weights"], **done.pop("params"))
    print(json.dumps(done))


def worker_env() -> dict[str, str]:
    """One thread; this checkout's genlab first on the path."""
    env = one_thread_env()
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "src"), str(HERE)] + [p for p in [env.get("PYTHONPATH")] if p])
    return env


def train_in_subprocess(kind: str, settings: dict[str, Any], seconds: float, seed: int,
                        name: str) -> dict[str, Any]:
    """Train one model in its own process (the peers' Python for the peers); returns the
    worker's report with ``params`` loaded back."""
    weights = WORK / f"rbm_peers_{name}.npz"
    cfg = {"kind": kind, "settings": settings, "seconds": seconds, "seed": seed,
           "train": str(WORK / "rbm_train.npy"), "weights": str(weights)}
    python = sys.executable if kind.startswith("genlab") else peer_python()
    proc = subprocess.run([python, str(Path(__file__).resolve()), "--worker", json.dumps(cfg)],
                          capture_output=True, text=True, env=worker_env(), cwd=WORK)
    if proc.returncode:
        raise RuntimeError(f"{kind} {settings} failed:\n{proc.stderr[-3000:]}")
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    with np.load(weights) as w:
        report["params"] = {k: w[k] for k in ("W", "b", "c")}
    return report


# ----- scoring -----------------------------------------------------------------------------

def score(params: dict[str, np.ndarray], train: np.ndarray, test: np.ndarray, runs: int,
          betas: int, seed: int = 0) -> dict[str, float]:
    """Average test log-likelihood between reverse AIS (lower) and forward AIS (upper),
    over the visible units from the training data's base-rate model."""
    rbm = rbm_from_params(params["W"], params["c"], params["b"], train)
    bounds = rbm.log_likelihood_bounds(test, n_runs=runs, n_betas=betas, seed=seed,
                                       layer="visible")
    return {"ll_lower": bounds.lower, "ll_lower_std_err": bounds.lower_std_err,
            "ll_upper": bounds.upper, "ll_upper_std_err": bounds.upper_std_err,
            "log_z_forward": bounds.forward.log_z, "log_z_reverse": bounds.reverse.log_z}


def default_settings() -> str:
    """The defaults of ``genlab rbm train`` (``genlab.rbm.tasks.TRAIN_DEFAULTS``) in words."""
    d = TRAIN_DEFAULTS
    words = [f"{d.method.upper()}-{d.k}", f"lr {d.lr:g}", f"batch {d.batch_size}"]
    if d.momentum:
        words.append(f"momentum {d.momentum:g}")
    if d.schedule != "constant":
        words.append(f"{d.schedule} decay")
    if d.weight_decay:
        words.append(f"weight decay {d.weight_decay:g}")
    if d.centered:
        words.append("centred")
    return ", ".join(words)


def describe(kind: str, settings: dict[str, Any]) -> str:
    if kind == "genlab-default":
        return (f"`genlab rbm train mnist5k` ({default_settings()}, "
                f"{TRAIN_DEFAULTS.epochs} epochs)")
    if kind == "genlab" and not settings:
        return f"the command's defaults ({default_settings()}), epochs filling the time"
    return ", ".join(f"{k} {v}" for k, v in settings.items())


def run(models: list[tuple[str, str, dict[str, Any]]], seconds: float, runs: int, betas: int,
        seed: int, out: Path) -> dict[str, Any]:
    """Train ``models`` (name, kind, settings) one after another and score each, writing
    the results so far to ``out`` after every model."""
    WORK.mkdir(exist_ok=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    train, test = mnist5k_arrays()
    np.save(WORK / "rbm_train.npy", train)
    rows: list[dict[str, Any]] = []
    result = {"machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, 1 thread each",
              "torch": torch.__version__, "seconds": seconds, "seed": seed,
              "data": "mnist5k train (4000) / test (1000), threshold 0.5",
              "n_hidden": N_HIDDEN, "ais": {"runs": runs, "betas": betas, "layer": "visible",
                                            "seed": 0},
              "models": rows}
    for i, (name, kind, settings) in enumerate(models):
        print(f"{name}: training ...", file=sys.stderr)
        done = train_in_subprocess(kind, settings, seconds, seed, f"{i}")
        print(f"{name}: {done['epochs']} epochs in {done['seconds']:.1f} s; AIS ...",
              file=sys.stderr)
        rows.append({"model": name, "kind": kind, "setting": describe(kind, settings),
                     "settings": settings,
                     **{k: v for k, v in done.items() if k != "params"},
                     **score(done["params"], train, test, runs, betas)})
        out.write_text(json.dumps(result, indent=2) + "\n")
    return result


def markdown(r: dict[str, Any]) -> str:
    lines = [f"| model | setting | epochs in {r['seconds']:g} s | train s | "
             "test LL, lower (reverse AIS) | test LL, upper (AIS) |",
             "| --- | --- | ---: | ---: | ---: | ---: |"]
    for m in r["models"]:
        lines.append(f"| {m['model']} ({m['version']}) | {m['setting']} | {m['epochs']} | "
                     f"{m['seconds']:.1f} | {m['ll_lower']:.2f} +- {m['ll_lower_std_err']:.2f}"
                     f" | {m['ll_upper']:.2f} +- {m['ll_upper_std_err']:.2f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="wall-time budget per model")
    ap.add_argument("--ais-runs", type=int, default=32)
    ap.add_argument("--ais-betas", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--search", action="store_true",
                    help="score the peers' grids and genlab's candidates instead")
    ap.add_argument("--skip", default="", help="comma-separated kinds to leave out")
    ap.add_argument("--out", type=Path, default=None, help="JSON file to write")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(json.loads(args.worker))
        return
    torch.set_num_threads(1)
    if args.search:
        models = [(f"{kind} {describe(kind, s)}", kind, s)
                  for kind, grid in SEARCH_PEERS.items() for s in grid]
        models += [(f"genlab {name}", "genlab", s) for name, s in GENLAB_CANDIDATES.items()]
    else:
        models = [("scikit-learn BernoulliRBM", "sklearn", PEERS["sklearn"]),
                  ("learnergy RBM", "learnergy", PEERS["learnergy"]),
                  ("genlab default", "genlab-default", {}),
                  ("genlab default settings", "genlab", {}),
                  (f"genlab best ({GENLAB_BEST})", "genlab", GENLAB_CANDIDATES[GENLAB_BEST])]
    skip = {s for s in args.skip.split(",") if s}
    models = [m for m in models if m[1] not in skip]
    out = args.out or HERE / "results" / (SEARCH if args.search else "rbm_peers.json")
    result = run(models, args.seconds, args.ais_runs, args.ais_betas, args.seed, out)
    print(markdown(result))


if __name__ == "__main__":
    main()
