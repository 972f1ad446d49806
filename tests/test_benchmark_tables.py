"""``benchmarks/betavae_table.py``: pooling of result files and Welch's t, checked by hand
and against the table in benchmarks/RESULTS.md that it produced; and the run names of
``benchmarks/bench_betavae.py`` that the pooling and resuming go by, down to a three-step
run that resumes from its own checkpoint and not from another schedule's, and keeps
snapshots along the way without changing the training."""

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest

import genlab.latent.stacked as stacked
from genlab.latent.stacked import StackedBetaVAE

ROOT = Path(__file__).resolve().parents[1]


def load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def table():
    return load("betavae_table")


def test_run_names_keep_different_schedules_apart():
    label = load("bench_betavae").label
    assert label(4, 0) == label(4, 0, 100, 19200, 38400) == "beta4"
    assert label(1, 25) == "capacity25"
    assert label(1, 25, 100, 38400, 38400) == "capacity25_gamma100"
    # C reaching its maximum before the run ends is another schedule: another name
    assert label(1, 25, 100, 19200, 38400) == "capacity25_gamma100_ramp19200"


def test_model_names_read_back_as_their_settings():
    bench = load("bench_betavae")
    for spec, steps in ((bench.Spec(4.0), 100), (bench.Spec(1.0, 25.0), 100),
                        (bench.Spec(1.0, 25.0, 100.0), 100),
                        (bench.Spec(1.0, 25.0, 100.0, 19200), 38400)):
        name = bench.label(spec.beta, spec.capacity, spec.gamma,
                           spec.capacity_steps or steps, steps)
        assert bench.parse_label(name) == spec
    with pytest.raises(SystemExit, match="unknown model"):
        bench.parse_label("beta_four")


def test_a_stacked_sweep_trains_every_model_to_the_same_step(tmp_path, monkeypatch):
    """``--stack``: the models of a sweep train as one StackedBetaVAE, start from the
    weights their separate runs start from, stop at one step, and are recorded under the
    separate runs' names; the command line in the results file says how they ran."""
    bench = load("bench_betavae")
    sizes = bench.SIZES.scaled(0.01)
    monkeypatch.setattr(bench, "sample_sizes", lambda votes: sizes)
    seen = []
    monkeypatch.setattr(stacked, "StackedBetaVAE",
                        lambda models, seeds: seen.append(models) or StackedBetaVAE(models, seeds))
    out = tmp_path / "stack.json"
    monkeypatch.setattr(sys, "argv", [
        "bench_betavae.py", "--steps", "3", "--batch-size", "4", "--lr", "1e-4",
        "--models", "beta1", "capacity25_gamma100_ramp2", "--seeds", "1", "2", "--stack",
        "--no-amp", "--runs", str(tmp_path / "runs"), "--out", str(out)])
    bench.main()
    sweep = json.loads(out.read_text())["sweeps"][0]
    assert "--models beta1 capacity25_gamma100_ramp2 --seeds 1 2" in sweep["command"]
    assert sweep["command"].endswith(" --stack")
    runs = sweep["runs"]
    assert [(r["model"], r["seed"]) for r in runs] == [
        ("beta1", 1), ("capacity25_gamma100_ramp2", 1), ("beta1", 2),
        ("capacity25_gamma100_ramp2", 2)]
    assert all(r["steps"] == 3 and r["stacked"] == 4 and r["batch_size"] == 4 for r in runs)
    assert runs[1]["capacity_max"] == 25.0 and runs[1]["capacity_steps"] == 2
    # each model of the stack started from its separate run's initial weights
    start = seen[0][2].state_dict()
    alone = bench.build_model(1.0, 2).state_dict()
    assert all(start[k].equal(alone[k]) for k in alone)
    assert all(0.0 <= r["mig"] <= 1.0 for r in runs)
    saved = sorted(p.parent.name for p in (tmp_path / "runs").glob("stack_*/*/model.json"))
    assert saved == ["beta1_seed1", "beta1_seed2", "capacity25_gamma100_ramp2_seed1",
                     "capacity25_gamma100_ramp2_seed2"]


def test_welch_t_by_hand(table):
    # means 2 and 5, sample variances 1 and 20/3: se = sqrt(1/3 + 5/3) = sqrt(2)
    assert table.welch_t([1, 2, 3], [2, 4, 6, 8]) == pytest.approx(-3 / math.sqrt(2))
    assert table.mean_sd([4.0]) == (4.0, 0.0)
    assert table.mean_sd([1.0, 3.0]) == pytest.approx((2.0, math.sqrt(2)))


def test_permutation_p_by_enumeration(table):
    # the six splits of {1, 2, 3, 4} into two pairs have first-pair sums 3, 4, 5, 5, 6, 7
    assert table.permutation_p([3, 4], [1, 2]) == pytest.approx(1 / 6)  # the largest split
    assert table.permutation_p([1, 3], [2, 4]) == pytest.approx(5 / 6)  # sums >= 4
    assert table.permutation_p([1, 2], [3, 4]) == 1.0
    assert table.permutation_p([1, 1], [1, 1]) == 1.0                    # ties count
    # unequal groups: C(5, 2) = 10 splits, and only {4, 5} has a first-pair mean of 4.5
    assert table.permutation_p([4, 5], [1, 2, 3]) == pytest.approx(1 / 10)


def sweep(votes, *runs):
    return {"metric_sample_sizes": {"factorvae_train": votes},
            "runs": [{"model": m, "seed": s, "steps": n, "mig": v} for m, s, n, v in runs]}


def test_pooled_runs_filters_and_lets_the_last_file_win(table, tmp_path, capsys):
    a, b, log = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "log.json"
    a.write_text(json.dumps({"sweeps": [sweep(1000, ("beta1", 0, 100, 0.1),
                                              ("beta1", 1, 50, 0.9))]}))
    b.write_text(json.dumps({"sweeps": [sweep(1000, ("beta1", 0, 100, 0.2)),
                                        sweep(10000, ("beta4", 0, 100, 0.3))]}))
    log.write_text(json.dumps({"runs": [{"train_log": []}]}))
    runs = table.pooled_runs([a, log, b], steps=100, factorvae_train=1000)
    assert list(runs) == ["beta1"] and list(runs["beta1"]) == [0]
    assert runs["beta1"][0]["mig"] == 0.2 and runs["beta1"][0]["file"] == "b.json"
    assert "skipping log.json" in capsys.readouterr().err
    assert set(table.pooled_runs([a, b])) == {"beta1", "beta4"}


def results_table(table, monkeypatch, capsys, *options):
    """The rows, by model, that RESULTS.md's pooling command prints with ``options``."""
    files = sorted(str(p) for p in (ROOT / "benchmarks" / "results").glob(
        "betavae_4ep_lr1e-4_*.json"))
    monkeypatch.setattr(sys, "argv", ["betavae_table.py", *files, "--steps", "38400",
                                      "--votes", "1000", *options])
    table.main()
    return {line.split(" | ")[0].lstrip("| "): line
            for line in capsys.readouterr().out.splitlines()}


def test_reproduces_the_five_seed_table(table, monkeypatch, capsys):
    rows = results_table(table, monkeypatch, capsys, "--seeds", "0", "1", "2", "3", "4")
    assert "0.032 ± 0.021 (0.027, 0.016, 0.022, 0.028, 0.068)" in rows["beta1"]
    assert "0.041 ± 0.019" in rows["beta4"] and "t = +0.7" in rows["beta4"]
    assert ("0.050 ± 0.017 (0.068, 0.034, 0.063, 0.054, 0.030); t = +1.5"
            in rows["capacity25_gamma100"])
    assert ("0.490 ± 0.073 (0.592, 0.458, 0.542, 0.428, 0.430); t = +0.6"
            in rows["capacity25_gamma100"])
    assert ("0.069 ± 0.053 (0.135, 0.031, 0.063, 0.006, 0.109); t = +1.4, p = 0.12"
            in rows["capacity25_gamma100_ramp19200"])
    assert ("0.513 ± 0.095 (0.618, 0.502, 0.500, 0.368, 0.576); t = +0.9, p = 0.23"
            in rows["capacity25_gamma100_ramp19200"])


def test_a_capacity_run_resumes_from_its_own_folder_only(tmp_path):
    bench = load("bench_betavae")
    sizes = bench.SIZES.scaled(0.01)
    kw = dict(batch=8, lr=1e-4, figure=False, runs=tmp_path, capacity=25.0, gamma=100.0,
              amp=False, sizes=sizes)
    first = bench.one_run(1.0, 0, 3, capacity_steps=2, **kw)
    assert first["model"] == "capacity25_gamma100_ramp2" and first["steps"] == 3
    assert (tmp_path / "capacity25_gamma100_ramp2_seed0").is_dir()
    # the same schedule, run longer, continues from the checkpoint ...
    again = bench.one_run(1.0, 0, 5, capacity_steps=2, **kw)
    assert again["resumed_from"] == 3 and again["steps"] == 5
    # ... while a full ramp over the same steps is another model and starts afresh
    full = bench.one_run(1.0, 0, 3, capacity_steps=3, **kw)
    assert full["model"] == "capacity25_gamma100" and not full["resumed_from"]
    assert 0.0 <= first["mig"] <= 1.0 and 0.0 <= first["factorvae"] <= 1.0


def test_snapshots_keep_the_checkpoint_along_the_way_and_change_nothing(tmp_path):
    from genlab.latent.betavae import BetaVAE, BetaVAEConfig
    from genlab.train import load_checkpoint_weights

    bench = load("bench_betavae")
    kw = dict(batch=8, lr=1e-4, figure=False, capacity=25.0, gamma=100.0, capacity_steps=2,
              amp=False, sizes=bench.SIZES.scaled(0.01))
    staged = bench.one_run(1.0, 0, 4, runs=tmp_path / "staged", snapshots=(2, 9), **kw)
    whole = bench.one_run(1.0, 0, 4, runs=tmp_path / "whole", **kw)
    run = tmp_path / "staged" / "capacity25_gamma100_ramp2_seed0"
    assert sorted(p.name for p in run.glob("step*")) == ["step2"]  # 9 is past the end
    snap = json.loads((run / "step2" / "checkpoint.json").read_text())
    assert snap["meta"]["loop"]["step"] == 2
    assert staged["steps"] == whole["steps"] == 4 and staged["resumed_from"] is None
    # stopping at the snapshot and going on is the same training as one run
    a, b = (load_checkpoint_weights(r, BetaVAE(BetaVAEConfig())).state_dict() for r in
            (run, tmp_path / "whole" / "capacity25_gamma100_ramp2_seed0"))
    assert all(a[k].equal(b[k]) for k in a)
    assert staged["mig"] == whole["mig"] and staged["factorvae"] == whole["factorvae"]


def test_reproduces_the_seven_seed_rows(table, monkeypatch, capsys):
    rows = results_table(table, monkeypatch, capsys, "--seeds", *map(str, range(7)))
    assert "0.041 ± 0.027 (0.027, 0.016, 0.022, 0.028, 0.068, 0.089, 0.039)" in rows["beta1"]
    assert ("0.056 ± 0.049 (0.135, 0.031, 0.063, 0.006, 0.109, 0.021, 0.029); t = +0.7, "
            "p = 0.25" in rows["capacity25_gamma100_ramp19200"])
    assert ("0.501 ± 0.085 (0.618, 0.502, 0.500, 0.368, 0.576, 0.422, 0.518); t = +0.4, "
            "p = 0.36" in rows["capacity25_gamma100_ramp19200"])


def test_reproduces_the_ten_seed_rows(table, monkeypatch, capsys):
    rows = results_table(table, monkeypatch, capsys)
    assert ("0.037 ± 0.024 (0.027, 0.016, 0.022, 0.028, 0.068, 0.089, 0.039, 0.035, 0.029, "
            "0.014)" in rows["beta1"])
    assert ("0.048 ± 0.044 (0.135, 0.031, 0.063, 0.006, 0.109, 0.021, 0.029, 0.021, 0.008, "
            "0.061); t = +0.7, p = 0.24" in rows["capacity25_gamma100_ramp19200"])
    assert ("0.470 ± 0.096 (0.618, 0.502, 0.500, 0.368, 0.576, 0.422, 0.518, 0.344, 0.342, "
            "0.508); t = +0.1, p = 0.47" in rows["capacity25_gamma100_ramp19200"])


def test_axes_scores_a_run_as_the_bench_recorded_it(tmp_path, monkeypatch, capsys):
    bench = load("bench_betavae")
    sizes = bench.SIZES.scaled(0.01)
    run = bench.one_run(1.0, 0, 3, batch=8, lr=1e-4, figure=False, runs=tmp_path,
                        amp=False, sizes=sizes)
    # betavae_axes takes the bench's sample sizes for --scores VOTES from beside itself
    monkeypatch.setattr(bench, "sample_sizes", lambda votes: sizes)
    monkeypatch.setitem(sys.modules, "bench_betavae", bench)
    monkeypatch.setattr(sys, "argv", ["betavae_axes.py", str(tmp_path / "beta1_seed0"),
                                      "--n", "200", "--scores", "2"])
    load("betavae_axes").main()
    line = next(s for s in capsys.readouterr().out.splitlines() if "FactorVAE" in s)
    assert line.startswith(f"  MIG {run['mig']:.3f} (per factor ")
    assert line.endswith(f"FactorVAE {run['factorvae']:.3f}")


def test_the_step_profile_runs_fit_on_a_stack_and_reports_its_speed(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["profile_betavae_step.py", "--device", "cpu",
                                      "--models", "2", "--batch-size", "4", "--steps", "2",
                                      "--warmup", "1", "--rows", "3"])
    load("profile_betavae_step").main()
    out = capsys.readouterr().out
    assert "cpu (CPU), 2 models x 4: " in out and " ms per step, " in out
    assert "convolution" in out  # the operator table
