"""Train, score and ship the pretrained models of ``genlab.pretrained``.

Each model is trained by its recorded ``genlab`` command, run as a subprocess (its wall time
is the training time recorded), then scored by its recorded score command, which prints JSON.
Its weights are stored in float16 only where the score recomputed from the float16 weights
equals the float32 one within the estimate's standard error (both are recorded); otherwise
in float32. The model is saved into ``src/genlab/pretrained/`` with ``meta["pretrained"]``:
what it is, the commands, seed, genlab version and commit, training seconds, machine, date
and scores. ``tests/test_pretrained.py`` recomputes every recorded score from the shipped
weights.

    PYTHONPATH=src python benchmarks/train_pretrained.py              # the RBM (about a minute)
    PYTHONPATH=src python benchmarks/train_pretrained.py --betavae    # the beta-VAE pair (hours)
    PYTHONPATH=src python benchmarks/train_pretrained.py --only rbm-mnist5k
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import genlab
from genlab.device import cpu_name
from genlab.io import model_paths, open_model, save_model
from genlab.pretrained import FOLDER, PREFIX

ROOT = Path(__file__).resolve().parents[1]
MAX_TOTAL_BYTES = 10 * 10**6


@dataclass(frozen=True)
class Entry:
    """One shipped model: how to train it and how to score it."""

    name: str
    description: str
    train: str         # the genlab command that trains it, with {seed} and {out}
    model_in_out: str  # where the trained model lies under {out}: "" (NAME itself) or "/model"
    score: str         # the genlab command printing the scores as JSON, with {model}
    scores: tuple[str, ...]   # the scores recorded: key paths into that JSON ("mig.score")
    # the standard error of the first score, from the score command's JSON (the float16 test)
    error: Callable[[dict[str, Any]], float]
    error_text: str   # what ``error`` is, for the record
    settings: dict[str, Any]  # the score command's settings, recorded with the scores
    betavae: bool = False


RBM = Entry(
    name="rbm-mnist5k",
    description="Bernoulli RBM, 784 visible x 500 hidden units, trained on MNIST-5k by PCD-5 "
                "(momentum 0.5, learning rate 0.05 decaying linearly, 30 epochs)",
    train="genlab rbm train mnist5k --hidden 500 --method pcd --k 5 --epochs 30 --lr 0.05 "
          "--momentum 0.5 --schedule linear --batch-size 20 --no-centering --seed {seed} "
          "--out {out}",
    model_in_out="",
    score="genlab rbm eval {model} mnist5k --split test --ais-runs 32 --ais-betas 3000 "
          "--ais-layer visible --seed 0 --device cpu --json",
    scores=("log_likelihood", "log_z", "log_z_std_err"),
    error=lambda r: float(r["log_z_std_err"]),
    error_text="the AIS standard error of log Z",
    settings={"data": "mnist5k test split (1,000 images)", "ais_runs": 32,
              "ais_betas": 3000, "ais_layer": "visible", "seed": 0, "device": "cpu"},
)

# The pair that shows the capacity form against the plain VAE at one seed and budget (Adam
# 1e-4, 38,400 steps of 64 images: 4 epochs of the dSprites train split); see
# docs/betavae-study.md. An hour or more each on a 2-core CPU.
_DSPRITES = "--steps 38400 --batch-size 64 --lr 0.0001 --threads 1 --seed {seed} --out {out}"
_DSPRITES_SCORE = ("genlab disentangle eval {model} --metrics mig,factorvae,betavae --fraction 0.1 "
                   "--seed 0 --device cpu --json")
def _factorvae_error(result: dict[str, Any]) -> float:
    """The binomial standard error of the FactorVAE score (an accuracy over its votes)."""
    p, n = result["factorvae"]["score"], result["sample_sizes"]["factorvae_eval"]
    return math.sqrt(max(p * (1 - p), 1e-12) / n)


_DSPRITES_SETTINGS = {"metrics": ["mig", "factorvae", "betavae"], "fraction": 0.1, "seed": 0,
                      "device": "cpu", "mig_codes": 1000, "factorvae_votes": "1,000 + 500",
                      "betavae_votes": "1,000 + 500 of 64 pairs"}
BETAVAE = (
    Entry(name="betavae-dsprites-capacity",
          description="beta-VAE on dSprites, capacity form: gamma |KL - C| with C rising to "
                      "25 nats by step 19,200 and held there, gamma = 100 (10 latents)",
          train=f"genlab disentangle train --capacity 25 --capacity-steps 19200 --gamma 100 "
                f"{_DSPRITES}",
          model_in_out="/model", score=_DSPRITES_SCORE,
          scores=("factorvae.score", "mig.score", "betavae.score"),
          error=_factorvae_error, error_text="the binomial standard error of the FactorVAE "
          "score", settings=_DSPRITES_SETTINGS, betavae=True),
    Entry(name="vae-dsprites-beta1",
          description="the plain VAE (beta = 1) on dSprites, 10 latents, the same seed and "
                      "budget as betavae-dsprites-capacity",
          train=f"genlab disentangle train --beta 1 {_DSPRITES}",
          model_in_out="/model", score=_DSPRITES_SCORE,
          scores=("factorvae.score", "mig.score", "betavae.score"),
          error=_factorvae_error, error_text="the binomial standard error of the FactorVAE "
          "score", settings=_DSPRITES_SETTINGS, betavae=True),
)
ENTRIES = (RBM, *BETAVAE)


def lookup(result: dict[str, Any], key: str) -> float:
    """The number at the dotted ``key`` path of a command's JSON."""
    value: Any = result
    for part in key.split("."):
        value = value[part]
    return float(value)


def genlab_argv(command: str) -> list[str]:
    """A ``genlab ...`` command line as the argv of this Python running ``-m genlab``."""
    words = shlex.split(command)
    assert words[0] == "genlab", command
    return [sys.executable, "-m", "genlab", *words[1:]]


def run_genlab(command: str) -> tuple[str, float]:
    """Run ``command`` with genlab from this checkout; its stdout and wall seconds."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    print(f"$ {command}", file=sys.stderr, flush=True)
    start = time.perf_counter()
    done = subprocess.run(genlab_argv(command), env=env, cwd=ROOT, check=True,
                          stdout=subprocess.PIPE, text=True)
    return done.stdout, time.perf_counter() - start


def score(entry: Entry, model: str) -> tuple[dict[str, float], float]:
    """The entry's scores of the model at ``model``, from its score command, and the
    standard error of the first."""
    out, _ = run_genlab(entry.score.format(model=model))
    result = json.loads(out)
    return {key: lookup(result, key) for key in entry.scores}, entry.error(result)


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, stdout=subprocess.PIPE,
                          text=True).stdout.strip()


def machine() -> str:
    return f"{platform.platform()}; {cpu_name()}; {os.cpu_count()} CPUs"


def train(entry: Entry, work: Path, seed: int) -> tuple[Path, dict[str, Any]]:
    """Train ``entry`` with ``seed`` into ``work``, unless a finished run of it is there; its
    run folder and the training record (command, seconds, commit, machine, date), which is
    written beside the run as NAME-seedS.json once the command has finished."""
    out = work / f"{entry.name}-seed{seed}"
    record_path = work / f"{entry.name}-seed{seed}.json"
    if record_path.is_file():
        print(f"reusing the finished run {out}", file=sys.stderr)
        return out, json.loads(record_path.read_text())
    commit = git("rev-parse", "HEAD")
    if git("status", "--porcelain", "--untracked-files=no"):
        commit += "+uncommitted changes"
    _, seconds = run_genlab(entry.train.format(seed=seed, out=out))
    record = {"command": entry.train.format(seed=seed, out=entry.name), "seed": seed,
              "genlab_version": genlab.__version__, "genlab_commit": commit,
              "train_seconds": round(seconds, 1), "machine": machine(),
              "date": datetime.datetime.now(datetime.UTC).date().isoformat()}
    record_path.write_text(json.dumps(record, indent=2) + "\n")
    return out, record


def ship(entry: Entry, work: Path, seed: int = 0) -> dict[str, Any]:
    """Train (with ``seed``), score and save one entry into the package; returns its
    meta["pretrained"]."""
    out, record = train(entry, work, seed)
    trained = f"{out}{entry.model_in_out}"
    full, tolerance = score(entry, trained)
    saved = open_model(trained)
    tensors = saved.tensors()
    target = FOLDER / entry.name
    # float16 only where the score does not move beyond its standard error
    half = {k: v.half() if v.is_floating_point() else v for k, v in tensors.items()}
    info: dict[str, Any] = {
        "description": entry.description,
        **record,
        "score_command": entry.score.format(model=PREFIX + entry.name),
        "score_settings": entry.settings,
        "float32_scores": full,
    }
    meta = dict(saved.meta)
    meta["pretrained"] = {**info, "scores": full, "weights_dtype": "float16"}
    save_model(target, half, saved.kind, saved.config, meta)
    halved, _ = score(entry, PREFIX + entry.name)
    info["float16_scores"] = halved
    main_key = entry.scores[0]
    keep_half = abs(halved[main_key] - full[main_key]) <= tolerance
    info["float16_check"] = (f"|{main_key}(float16) - {main_key}(float32)| = "
                             f"{abs(halved[main_key] - full[main_key]):.4f} "
                             f"{'<=' if keep_half else '>'} {tolerance:.4f}, {entry.error_text}")
    if keep_half:
        meta["pretrained"] = {**info, "scores": halved, "weights_dtype": "float16"}
        save_model(target, half, saved.kind, saved.config, meta)
    else:
        meta["pretrained"] = {**info, "scores": full, "weights_dtype": "float32"}
        save_model(target, tensors, saved.kind, saved.config, meta)
    print(json.dumps(meta["pretrained"], indent=2), file=sys.stderr)
    return meta["pretrained"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--betavae", action="store_true",
                    help="also train the beta-VAE pair (an hour or more each on a CPU)")
    ap.add_argument("--only", nargs="+", default=None, metavar="NAME",
                    help="ship only these entries")
    ap.add_argument("--seed", type=int, default=0,
                    help="the training seed of the chosen entries (recorded with them)")
    ap.add_argument("--train-only", action="store_true",
                    help="train into --work and stop (a later run without it ships)")
    ap.add_argument("--work", type=Path, default=None,
                    help="folder for the training runs (if not given: a temporary one)")
    args = ap.parse_args()
    chosen = [e for e in ENTRIES if (args.only is None and (args.betavae or not e.betavae))
              or (args.only is not None and e.name in args.only)]
    if args.train_only and args.work is None:
        ap.error("--train-only needs --work, where a later run finds the trained model")
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for entry in chosen:
            if args.train_only:
                train(entry, work, args.seed)
            else:
                ship(entry, work, args.seed)
    if args.train_only:
        return
    total = sum(p.stat().st_size for name in (e.name for e in ENTRIES)
                for p in model_paths(FOLDER / name) if p.is_file())
    print(f"shipped models: {total / 1e6:.2f} MB in all", file=sys.stderr)
    if total >= MAX_TOTAL_BYTES:
        sys.exit(f"the shipped models take {total / 1e6:.2f} MB, over the 10 MB limit")


if __name__ == "__main__":
    main()
