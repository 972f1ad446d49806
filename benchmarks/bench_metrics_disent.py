r"""genlab's MIG, FactorVAE and BetaVAE scores against an independent implementation.

The independent side is ``disent`` 0.8.0 (``disent.metrics.metric_mig`` and
``metric_factor_vae``, ports of disentanglement_lib), run on the same representation
functions over the same dSprites images. disent 0.8.0 has no BetaVAE score, so that one is
written here from Higgins et al. 2017 (appendix A.4) in disentanglement_lib's form
(``beta_vae.py``: mean absolute code difference of 64 pairs, scikit-learn's default
``LogisticRegression``), drawing its factors and images through disent's dataset classes.
Each side draws its own factors (disent from numpy's global generator, genlab from a
seeded ``torch.Generator``), so their scores differ by sampling noise, compared with the
spread over seeds; the MIG is also computed by disent's formula on genlab's own sample,
where the two must agree to rounding.

disent's package imports h5py, torchvision and lightning at import time (its HDF5 files,
image folders and training framework); none of them is on the metrics' code path and
torchvision and lightning pull a torch build, so the modules that are not installed are
replaced by empty stand-ins before disent is imported (recorded in the JSON).

Data: ``GenlabDSprites`` is disent's ``GroundTruthData`` over genlab's 737,280 dSprites
images (same factor names, sizes and row-major index). Its observation is the image
index; each representation renders that image with ``genlab.data.dsprites.DSpritesData``
(checked equal to pixel observations), so both sides score the same function of the same
images. genlab's code function is that representation composed with
``factors_to_index``.

Representations: ``ideal`` (codes = each factor scaled to [0, 1] plus N(0, 0.01^2) noise
fixed per image, and 5 collapsed dimensions of noise alone), ``no_shape`` (the same
without the shape: FactorVAE's votes for shape then land on collapsed dimensions, which
disent 0.8.0 counts and disentanglement_lib and genlab drop), ``random`` (10 dimensions of
N(0, 1) fixed per image, independent of the factors), ``vae`` (posterior means of a
short beta-VAE trained here with genlab) and, with ``--pretrained``, the posterior means of
genlab's shipped dSprites models (``pretrained:NAME``). Run in the benchmarks' environment::

    benchmarks/peers.sh --no-deps disent==0.8.0
    PYTHONPATH=src benchmarks/.env/bin/python benchmarks/bench_metrics_disent.py \
        --out benchmarks/results/metrics_disent.json
    PYTHONPATH=src benchmarks/.env/bin/python benchmarks/bench_metrics_disent.py \
        --only-pretrained --pretrained betavae-dsprites-capacity vae-dsprites-beta1 \
        --pretrained-fraction 0.2 --out benchmarks/results/metrics_disent_pretrained.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import time
import types
import warnings
from pathlib import Path

import numpy as np
import torch

from genlab import pretrained
from genlab.data import dsprites
from genlab.data.dsprites import FACTOR_NAMES, FACTOR_SIZES, N_IMAGES, DSpritesData
from genlab.metrics import betavae_score, factorvae_score, mig_score
from genlab.metrics.ground_truth import codes_of, sample_factors

NOT_ON_METRIC_PATH = ("h5py", "torchvision", "torchvision.datasets", "torchvision.transforms",
                      "torchvision.transforms.functional", "lightning")


class _StandIn(types.ModuleType):
    """An empty module whose attributes are empty classes (for annotations and bases)."""

    def __getattr__(self, name: str) -> type:
        if name.startswith("__"):
            raise AttributeError(name)
        return type(name, (), {})


def import_disent() -> tuple[types.ModuleType, list[str]]:
    """disent's package, with stand-ins for the import-time modules that are missing."""
    stood_in = []
    for name in NOT_ON_METRIC_PATH:
        top = name.split(".")[0]
        if top not in stood_in and importlib.util.find_spec(top) is not None:
            continue
        sys.modules[name] = _StandIn(name)
        if "." in name:
            parent, child = name.rsplit(".", 1)
            setattr(sys.modules[parent], child, sys.modules[name])
        stood_in.append(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba missing: disent falls back to python
        import disent
        import disent.dataset
        import disent.metrics
    return disent, stood_in


def make_dataset(disent: types.ModuleType):
    """disent's ``DisentDataset`` over genlab's dSprites (observation: the image index)."""

    class GenlabDSprites(disent.dataset.data.GroundTruthData):
        factor_names = FACTOR_NAMES
        factor_sizes = FACTOR_SIZES
        img_shape = (64, 64, 1)

        def _get_observation(self, idx: int) -> torch.Tensor:
            return torch.tensor(idx)

    return disent.dataset.DisentDataset(GenlabDSprites())


# ----- representations: image indices (n,) -> codes (n, d) --------------------------------

def table_representation(kind: str, seed: int = 1234):
    """Codes fixed per image: ``ideal`` (5 factor dimensions, 5 collapsed ones),
    ``no_shape`` (the same with the shape dimension collapsed too) or ``random``."""
    gen = torch.Generator().manual_seed(seed)
    noise = torch.randn(N_IMAGES, 10, generator=gen)
    if kind == "random":
        return lambda idx: noise[idx]
    scale = torch.tensor(FACTOR_SIZES, dtype=torch.float32) - 1
    keep = torch.tensor([kind != "no_shape", 1, 1, 1, 1], dtype=torch.float32)

    def ideal(idx: torch.Tensor) -> torch.Tensor:
        f = dsprites.index_to_factors(idx).float() / scale * keep
        return torch.cat([f + 0.01 * noise[idx, :5], 0.01 * noise[idx, 5:]], 1)
    return ideal


def vae_representation(run: Path | str):
    from genlab.latent.betavae_runs import load_dsprites_model

    model = load_dsprites_model(run)
    data = DSpritesData()

    def vae(idx: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return model.encode(data.draw(index=idx))
    return vae, model, data


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def seed_disent(seed: int) -> None:
    """disent (like disentanglement_lib) draws from numpy's global generator."""
    np.random.seed(seed)  # noqa: NPY002


def as_index(obs) -> torch.Tensor:
    return torch.as_tensor(obs).long().reshape(-1)


# ----- the reference BetaVAE score (Higgins et al. 2017; disentanglement_lib) -------------

def reference_betavae(dataset, rep, seed: int, n_train: int, n_eval: int, batch_size: int = 64,
                      max_iter: tuple[int, ...] = (100,)) -> list[float]:
    """Evaluation accuracy of the logistic regression fitted with each of ``max_iter``
    solver iterations (100: scikit-learn's default, as disentanglement_lib; genlab: 1000)
    on one set of points."""
    from sklearn.linear_model import LogisticRegression

    def points(n: int) -> tuple[np.ndarray, np.ndarray]:
        x, y = [], []
        for _ in range(n):
            k = np.random.randint(dataset.gt_data.num_factors)  # noqa: NPY002
            f1 = dataset.gt_data.sample_factors(batch_size)
            f2 = dataset.gt_data.sample_factors(batch_size)
            f2[:, k] = f1[:, k]
            z1 = rep(dataset.dataset_batch_from_factors(f1, mode="input")).numpy()
            z2 = rep(dataset.dataset_batch_from_factors(f2, mode="input")).numpy()
            x.append(np.mean(np.abs(z1 - z2), axis=0))
            y.append(k)
        return np.array(x), np.array(y)

    seed_disent(seed)
    x_train, y_train = points(n_train)
    x_eval, y_eval = points(n_eval)
    scores = []
    for iters in max_iter:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = LogisticRegression(max_iter=iters, random_state=seed).fit(x_train, y_train)
        scores.append(float(model.score(x_eval, y_eval)))
    return scores


def run_metrics(disent, dataset, rep, seed: int, fraction: float) -> dict[str, dict[str, float]]:
    """Every score of ``rep`` under ``seed`` from both sides, with ``fraction`` of the
    papers' sample sizes."""
    from disent.metrics import _factor_vae, _mig

    n = lambda v: max(2, round(v * fraction))  # noqa: E731
    code_fn = lambda f: rep(dsprites.factors_to_index(f))  # noqa: E731
    disent_rep = lambda obs: rep(as_index(obs))  # noqa: E731
    fv = dict(batch_size=64, num_train=n(10_000), num_eval=n(5_000),
              num_variance_estimate=n(10_000))
    out: dict[str, dict[str, float]] = {"mig": {}, "factorvae": {}, "betavae": {}}
    t = time.perf_counter()
    out["mig"]["genlab"] = mig_score(code_fn, FACTOR_SIZES, seed, n_samples=n(10_000)).score
    seed_disent(seed)
    out["mig"]["disent"] = float(disent.metrics.metric_mig(
        dataset, disent_rep, num_train=n(10_000))["mig.discrete_score"])
    # the same codes and factors as genlab's MIG (its seed's first draw) into disent's formula
    factors = sample_factors(n(10_000), FACTOR_SIZES, torch.Generator().manual_seed(seed))
    codes = codes_of(code_fn, factors).numpy()
    out["mig"]["disent_on_genlab_sample"] = float(
        _mig._compute_mig(codes.T, factors.numpy().T)["mig.discrete_score"])
    out["factorvae"]["genlab"] = factorvae_score(
        code_fn, FACTOR_SIZES, seed, n_train=fv["num_train"], n_eval=fv["num_eval"],
        n_variance=fv["num_variance_estimate"]).score
    seed_disent(seed)
    out["factorvae"]["disent"] = float(disent.metrics.metric_factor_vae(
        dataset, disent_rep, **fv)["factor_vae.eval_accuracy"])
    shipped = _factor_vae._prune_dims
    _factor_vae._prune_dims = lambda var: np.sqrt(var) >= 0.05  # disentanglement_lib's
    try:
        seed_disent(seed)
        out["factorvae"]["disent_threshold_0.05"] = float(disent.metrics.metric_factor_vae(
            dataset, disent_rep, **fv)["factor_vae.eval_accuracy"])
    finally:
        _factor_vae._prune_dims = shipped
    out["betavae"]["genlab"] = betavae_score(code_fn, FACTOR_SIZES, seed, n_train=n(10_000),
                                             n_eval=n(5_000)).score
    (out["betavae"]["reference"], out["betavae"]["reference_max_iter_1000"]) = \
        reference_betavae(dataset, disent_rep, seed, n(10_000), n(5_000), max_iter=(100, 1000))
    print(f"  seed {seed}: {time.perf_counter() - t:.0f} s "
          + json.dumps({m: {k: round(v, 4) for k, v in d.items()} for m, d in out.items()}),
          file=sys.stderr, flush=True)
    return out


def summarise(per_seed: list[dict[str, dict[str, float]]]) -> dict:
    """Mean and sd over seeds of every implementation, and each one's difference from
    genlab against 3 standard errors of that difference."""
    out = {}
    for metric in per_seed[0]:
        impls = per_seed[0][metric]
        vals = {i: np.array([s[metric][i] for s in per_seed]) for i in impls}
        entry = {i: {"per_seed": v.tolist(), "mean": float(v.mean()),
                     "sd": float(v.std(ddof=1)) if len(v) > 1 else 0.0}
                 for i, v in vals.items()}
        for i in impls:
            if i == "genlab":
                continue
            d = vals[i] - vals["genlab"]
            se = float(np.sqrt((vals[i].var(ddof=1) + vals["genlab"].var(ddof=1)) / len(d)))
            entry[i]["minus_genlab"] = float(d.mean())
            entry[i]["se_of_difference"] = se
            entry[i]["max_abs_difference"] = float(np.abs(d).max())
            entry[i]["within_3_se"] = bool(abs(d.mean()) <= max(3 * se, 1e-9))
        out[metric] = entry
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--vae-seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--fraction", type=float, default=0.5,
                   help="fraction of the papers' sample sizes for ideal and random codes")
    p.add_argument("--vae-fraction", type=float, default=0.05,
                   help="fraction of the papers' sample sizes for the beta-VAE")
    p.add_argument("--vae", type=Path, default=Path("/tmp/metrics-disent-vae"),
                   help="run folder of the beta-VAE (trained here when absent)")
    p.add_argument("--vae-steps", type=int, default=150)
    p.add_argument("--pretrained", nargs="+", default=[], metavar="NAME",
                   help="also score these shipped dSprites models (pretrained:NAME)")
    p.add_argument("--pretrained-fraction", type=float, default=0.2,
                   help="fraction of the papers' sample sizes for the shipped models")
    p.add_argument("--only-pretrained", action="store_true",
                   help="score the shipped models alone (no synthetic codes, no short VAE)")
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/metrics_disent.json"))
    args = p.parse_args()
    t0 = time.perf_counter()
    disent, stood_in = import_disent()
    dataset = make_dataset(disent)

    if args.only_pretrained and not args.pretrained:
        p.error("--only-pretrained needs --pretrained NAME ...")
    if not args.only_pretrained and not (args.vae / "model.safetensors").exists():
        from genlab.latent.betavae import BetaVAEConfig
        from genlab.latent.betavae_runs import train_dsprites_betavae
        train_dsprites_betavae(args.vae, BetaVAEConfig(beta=4.0), steps=args.vae_steps,
                               seed=0, overwrite=True)
    vae, model, data = vae_representation(
        f"pretrained:{args.pretrained[0]}" if args.only_pretrained else args.vae)
    # the index observation renders the same pixels as a pixel observation would
    idx = torch.randint(N_IMAGES, (256,), generator=torch.Generator().manual_seed(0))
    pixels = dsprites.render(torch.as_tensor(dataset.gt_data.idx_to_pos(idx.numpy())))
    assert torch.equal(data.draw(index=idx), pixels.reshape(256, -1))
    assert torch.equal(vae(as_index(dataset.dataset_batch_from_indices(idx.tolist(), "input"))),
                       model.encode(pixels.reshape(256, -1)))

    reps = {"ideal": (table_representation("ideal"), args.fraction, args.seeds),
            "no_shape": (table_representation("no_shape"), args.fraction, args.seeds),
            "random": (table_representation("random"), args.fraction, args.seeds),
            "vae": (vae, args.vae_fraction, args.vae_seeds)}
    if args.only_pretrained:
        reps = {}
    for name in args.pretrained:
        reps[f"pretrained:{name}"] = (vae_representation(f"pretrained:{name}")[0],
                                      args.pretrained_fraction, args.vae_seeds)
    results = {}
    for name, (rep, fraction, seeds) in reps.items():
        print(f"{name} (fraction {fraction}):", file=sys.stderr, flush=True)
        per_seed = [run_metrics(disent, dataset, rep, s, fraction) for s in seeds]
        results[name] = {"fraction_of_paper_sizes": fraction, "seeds": seeds,
                         **summarise(per_seed)}

    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    out = {
        "command": " ".join(["PYTHONPATH=src", "benchmarks/.env/bin/python", *sys.argv]),
        "date": time.strftime("%Y-%m-%d", time.gmtime()), "commit": commit,
        "machine": f"{cpu_name()}, {os.cpu_count()} cores, "
                   f"{torch.get_num_threads()} torch threads",
        "disent_version": disent.__version__ if hasattr(disent, "__version__") else "0.8.0",
        "stand_in_modules": stood_in,
        "vae": (None if args.only_pretrained else
                {"run": str(args.vae), "steps": args.vae_steps, "beta": 4.0, "seed": 0}),
        "pretrained": {name: {"command": pretrained.get(name).command,
                              "genlab_commit": pretrained.get(name).genlab_commit}
                       for name in args.pretrained},
        "seconds": round(time.perf_counter() - t0, 1),
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({r: {m: {i: round(v["mean"], 4) for i, v in e.items()}
                          for m, e in d.items() if isinstance(e, dict)}
                      for r, d in results.items()}, indent=1))


if __name__ == "__main__":
    main()
