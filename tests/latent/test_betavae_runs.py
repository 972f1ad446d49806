"""One seed, one beta-VAE, whichever command or function builds it; a stack of one seed
trains as that seed alone; and each ``genlab disentangle`` command prints its library
task's result."""

import importlib.util
import json
import math
from pathlib import Path

import pytest
import torch

import genlab.latent.runs as runs
import genlab.latent.stacked as stacked
from genlab.cli.main import main
from genlab.data.dsprites import DSpritesData, split_indices
from genlab.latent.betavae import BetaVAEConfig, build_betavae
from genlab.latent.betavae_runs import (
    betavae_run_axes,
    evaluate_betavae_run,
    train_dsprites_betavae,
)
from genlab.latent.stacked import StackedBetaVAE, train_betavae_seeds
from genlab.train import TrainConfig

ROOT = Path(__file__).resolve().parents[2]
CONFIG = BetaVAEConfig(latent=2)
# The decoder's last bias starts at logit(mean pixel) of the training images, which each
# command takes from its own data (rendered batches or images held in memory): data, not seed.
OUTPUT_BIAS = "decoder.deconv.6.bias"


def cli(capsys, *argv):
    status = main([*argv, "--device", "cpu"])
    out, err = capsys.readouterr()
    assert status == 0, err
    return json.loads(out) if "--json" in argv else out


@pytest.fixture
def initial_weights(monkeypatch):
    """The state dicts of the beta-VAEs each training starts from, one list per call of
    :func:`genlab.train.fit` (a stack's models unstacked), by seed order."""
    seen = []

    def spy(fit):
        def record(model, *args, **kwargs):
            models = model.unstack() if isinstance(model, StackedBetaVAE) else [model]
            seen.append([{k: t.clone() for k, t in m.state_dict().items()} for m in models])
            return fit(model, *args, **kwargs)
        return record

    monkeypatch.setattr(runs, "fit", spy(runs.fit))
    monkeypatch.setattr(stacked, "fit", spy(stacked.fit))
    return seen


def assert_same_weights(a: dict, b: dict, skip: tuple[str, ...] = ()) -> None:
    assert a.keys() == b.keys()
    for k in a:
        if k not in skip:
            assert torch.equal(a[k], b[k]), k


def test_one_seed_gives_the_same_initial_beta_vae_everywhere(tmp_path, capsys, initial_weights):
    """Seed 3 gives bit-for-bit the same initial weights through ``disentangle train``
    (alone and as one model of a ``--seeds`` stack), ``vae train --latent-type beta``,
    :func:`train_betavae_seeds` (alone and stacked), the benchmark's builder and
    :func:`build_betavae`; seed 5 gives others."""
    small = ("--steps", "1", "--batch-size", "4", "--limit", "16", "--latent", "2")
    cli(capsys, "disentangle", "train", *small, "--seed", "3", "--out", str(tmp_path / "a"))
    cli(capsys, "disentangle", "train", *small, "--seeds", "5", "3", "--out", str(tmp_path / "b"))
    cli(capsys, "vae", "train", "dsprites", "--latent-type", "beta", "--latent", "2", "--limit",
        "16", "--epochs", "1", "--batch-size", "16", "--seed", "3", "--out", str(tmp_path / "c"))
    data = DSpritesData(split_indices("train")[:16])
    one = TrainConfig(epochs=1, batch_size=4, max_steps=1, checkpoint_every=0)
    train_betavae_seeds(CONFIG, data, [3], one)
    train_betavae_seeds(CONFIG, data, [3, 5], TrainConfig(**{**one.__dict__, "batch_size": 8}))
    single, (stack_5, stack_3), vae_train, library, (lib_3, lib_5) = initial_weights
    reference = build_betavae(CONFIG, 3).state_dict()
    for weights in (single[0], stack_3, vae_train[0], library[0], lib_3):
        assert_same_weights(weights, reference, skip=(OUTPUT_BIAS,))
    spec = importlib.util.spec_from_file_location("bench", ROOT / "benchmarks" / "bench_betavae.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert_same_weights(bench.build_model(4.0, 3).state_dict(),
                        build_betavae(BetaVAEConfig(capacity_steps=1), 3).state_dict())
    assert not torch.equal(stack_5["encoder.conv.0.weight"], reference["encoder.conv.0.weight"])
    assert_same_weights(stack_5, lib_5, skip=(OUTPUT_BIAS,))


def test_a_stack_of_one_seed_trains_as_that_seed_alone():
    """The stack computes each layer as a grouped convolution or a batched product: the same
    sums in another order, so the gradients differ by float32 rounding. Adam moves each
    weight by about ``lr`` per step whatever its gradient's size, so such a difference can
    move a weight whose gradient is near zero by up to that: the bound is 0.1 ``n lr``
    after ``n`` steps. Measured here: at most 0.003 ``n lr``; another data order moves
    nearly half the weights by more than the bound (checked below, so the test can fail)."""
    data = DSpritesData(split_indices("train")[:256])
    lr, n = 5e-4, 3
    config = TrainConfig(epochs=1, batch_size=8, lr=lr, seed=5, max_steps=n, checkpoint_every=0)

    def flat(seed_of_data: int, stack: bool) -> torch.Tensor:
        cfg = TrainConfig(**{**config.__dict__, "seed": seed_of_data})
        model = train_betavae_seeds(CONFIG, data, [5], cfg, stack=stack).models[0]
        return torch.cat([p.detach().flatten() for p in model.parameters()])

    alone = flat(5, stack=False)
    assert (flat(5, stack=True) - alone).abs().max() < 0.1 * n * lr
    assert ((flat(6, stack=False) - alone).abs() > 0.1 * n * lr).float().mean() > 0.2


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bv") / "run"
    assert main(["disentangle", "train", "--steps", "2", "--batch-size", "4", "--limit", "16",
                 "--latent", "2", "--checkpoint-every", "0", "--no-amp", "--out", str(out),
                 "--device", "cpu", "--json"]) == 0
    return out


def without(d: dict, *keys: str) -> dict:
    return {k: v for k, v in d.items() if k not in keys}


def same(a, b) -> bool:
    """Equal JSON values, floats to float64 rounding: the axes' least-squares solve (LAPACK)
    need not add its terms in the same order on every call."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-15)
    return a == b


def test_disentangle_train_prints_its_task_result(tmp_path, capsys):
    argv = ("--beta", "2", "--steps", "2", "--batch-size", "4", "--limit", "16", "--latent",
            "2", "--no-amp", "--seeds", "1", "2", "--json")
    printed = cli(capsys, "disentangle", "train", *argv, "--out", str(tmp_path / "cli"))
    task = train_dsprites_betavae(tmp_path / "lib", BetaVAEConfig(beta=2.0, latent=2),
                                  seeds=[1, 2], steps=2, batch_size=4, limit=16, amp=False)
    got = task.to_dict()
    timing = ("out", "models", "seconds", "images_per_second")
    assert without(got, *timing) == without(printed, *timing)
    assert got["models"] == [str(tmp_path / "lib" / "seed1"), str(tmp_path / "lib" / "seed2")]
    assert task.steps == printed["steps"] == 2 and len(task.models) == 2


def test_disentangle_eval_and_axes_print_their_task_results(trained_run, capsys):
    printed = cli(capsys, "disentangle", "eval", str(trained_run), "--metrics", "mig,factorvae",
                  "--fraction", "0.001", "--seed", "4", "--json")
    task = evaluate_betavae_run(trained_run, ("mig", "factorvae"), 0.001, seed=4)
    got = task.to_dict()
    for name in ("mig", "factorvae"):
        assert same(without(got.pop(name), "seconds"), without(printed.pop(name), "seconds"))
    assert same(got, printed)
    assert 0.0 <= task.scores.mig.score <= 1.0 and task.scores.betavae is None
    printed = cli(capsys, "disentangle", "axes", str(trained_run), "--n", "40", "--min-sd", "0",
                  "--json")
    axes = betavae_run_axes(trained_run, n_samples=40, min_sd=0.0)
    assert same(axes.to_dict(), printed)
    lines = cli(capsys, "disentangle", "axes", str(trained_run), "--n", "40", "--min-sd", "0")
    assert lines.splitlines()[0] == axes.lines()[0]
    assert len(lines.splitlines()) == len(axes.lines())
