"""``genlab bm sample|exact|meanfield|train|encoder`` in-process: JSON output and errors."""

import json

import numpy as np
import pytest
import torch

import genlab.boltzmann.learning as learning
from genlab.boltzmann.boltzmann import BoltzmannMachine
from genlab.boltzmann.exact import exact_moments
from genlab.cli.main import main


@pytest.fixture(autouse=True)
def _one_thread():
    # shared CPU cores: one torch thread keeps the small Gibbs runs fast and steady
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *args):
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1
    return json.loads(lines[0])


def user_error(capsys, *args):
    code, out, err = run(capsys, *args)
    assert code == 2, (code, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("genlab: error: "), err
    return lines[0]


@pytest.fixture
def machine(tmp_path):
    rng = np.random.default_rng(0)
    n = 6
    w = np.triu(rng.normal(size=(n, n)) / n ** 0.5, 1)
    w = w + w.T
    b = rng.normal(size=n) * 0.3
    np.save(tmp_path / "W.npy", w)
    np.save(tmp_path / "b.npy", b)
    return tmp_path / "W.npy", tmp_path / "b.npy", torch.from_numpy(w), torch.from_numpy(b)


def test_exact_json(capsys, machine):
    wp, bp, w, b = machine
    obj = run_json(capsys, "bm", "exact", "--weights", wp, "--bias", bp, "--beta", "0.7")
    ex = exact_moments(w, b, 0.7)
    assert obj["log_z"] == pytest.approx(ex.log_z, abs=1e-9)
    assert np.allclose(obj["mean"], ex.mean.numpy()) and np.allclose(obj["correlations"],
                                                                      ex.corr.numpy())


def test_sample_json_within_mcse(capsys, machine, tmp_path):
    wp, bp, w, b = machine
    obj = run_json(capsys, "bm", "sample", "--weights", wp, "--bias", bp, "--chains", "16",
                   "--samples", "500", "--burn-in", "50", "--correlations",
                   "--out", tmp_path / "X.npy", "--seed", "3", "--plot-trace",
                   tmp_path / "t.png")
    ex = exact_moments(w, b)
    # 6 means and 15 correlations, each within 5 MCSE (false alarm ~ 21 x 5.7e-7)
    z = np.abs(np.array(obj["mean"]) - ex.mean.numpy()) / np.array(obj["mean_mcse"])
    assert z.max() < 5
    i, j = np.triu_indices(6, 1)
    zc = np.abs(np.array(obj["correlations"])[i, j] - ex.corr.numpy()[i, j]) \
        / np.array(obj["correlations_mcse"])[i, j]
    assert zc.max() < 5 and obj["max_rhat"] < 1.1
    assert (tmp_path / "t.png").read_bytes()[:4] == b"\x89PNG"
    x = np.load(tmp_path / "X.npy")
    assert x.shape == (500, 16, 6) and set(np.unique(x)) <= {-1, 1}


def test_meanfield_json(capsys, machine):
    wp, bp, _, _ = machine
    obj = run_json(capsys, "bm", "meanfield", "--weights", wp, "--bias", bp)
    assert obj["log_z_bound"] <= obj["log_z"] + 1e-9 and obj["kl"] >= -1e-9
    assert obj["kl"] == pytest.approx(obj["log_z"] - obj["log_z_bound"])


def test_train_save_and_reuse(capsys, tmp_path):
    rows = np.where(np.random.default_rng(1).random((200, 5)) < 0.3, -1, 1).astype(np.int8)
    np.save(tmp_path / "rows.npy", rows)
    obj = run_json(capsys, "bm", "train", tmp_path / "rows.npy", "--hidden", "1", "--epochs",
                   "3", "--batch-size", "50", "--out", tmp_path / "m", "--plot",
                   tmp_path / "c.png")
    assert obj["updates"] == 12 and obj["log_likelihood"] is not None
    assert [h["epoch"] for h in obj["history"]] == [0, 1, 2, 3]
    assert (tmp_path / "m.safetensors").is_file() and (tmp_path / "c.png").is_file()
    obj = run_json(capsys, "bm", "exact", "--model", tmp_path / "m")
    assert len(obj["mean"]) == 6


def test_encoder_json(capsys):
    obj = run_json(capsys, "bm", "encoder", "--seeds", "1", "--epochs", "300")
    assert obj["seeds"] == 1 and len(obj["runs"]) == 1


def test_text_output(capsys, machine):
    wp, bp, _, _ = machine
    code, out, _ = run(capsys, "bm", "meanfield", "--weights", wp)
    assert code == 0 and "log Z >= -F" in out


def test_bad_inputs(capsys, machine, tmp_path):
    wp, bp, _, _ = machine
    asym = tmp_path / "asym.npy"
    np.save(asym, np.array([[0.0, 1.0], [0.0, 0.0]]))
    diag = tmp_path / "diag.npy"
    np.save(diag, np.eye(3))
    nan = tmp_path / "nan.npy"
    np.save(nan, np.array([[0.0, np.nan], [np.nan, 0.0]]))
    big = tmp_path / "big.npy"
    np.save(big, np.zeros((21, 21)))
    junk = tmp_path / "junk.npy"
    junk.write_bytes(b"not a numpy file")
    zeros = tmp_path / "zeros.npy"
    np.save(zeros, np.zeros((10, 4)))
    cases = [
        (["bm", "exact", "--weights", tmp_path / "missing.npy"], "not found"),
        (["bm", "exact", "--weights", junk], "not a valid .npy"),
        (["bm", "exact", "--weights", asym], "symmetric"),
        (["bm", "exact", "--weights", diag], "zero diagonal"),
        (["bm", "exact", "--weights", nan], "NaN"),
        (["bm", "exact", "--weights", big], "at most 20"),
        (["bm", "exact", "--weights", wp, "--bias", asym], "bias must have shape"),
        (["bm", "exact"], "exactly one of"),
        (["bm", "exact", "--weights", wp, "--beta", "-1"], "beta"),
        (["bm", "exact", "--weights", wp, "--beta", "nan"], "finite"),
        (["bm", "exact", "--model", tmp_path / "nomodel"], "not found"),
        (["bm", "sample", "--weights", wp, "--chains", "0"], "positive integer"),
        (["bm", "sample", "--weights", wp, "--samples", "2"], "samples"),
        (["bm", "sample", "--weights", wp, "--order", "backwards"], "invalid choice"),
        (["bm", "sample", "--weights", wp, "--device", "tpu"], "unknown device"),
        (["bm", "meanfield", "--weights", wp, "--damping", "0"], "damping"),
        (["bm", "train", zeros, "--out", tmp_path / "m"], "-1 and \\+1"),
        (["bm", "train", tmp_path / "none.npy", "--out", tmp_path / "m"], "not found"),
        (["bm", "train", "nosuchdata", "--out", tmp_path / "m"], ""),
        (["bm", "train", zeros, "--out", tmp_path / "m", "--lr", "-1"], "number > 0"),
        (["bm", "train", zeros, "--method", "exact", "--hidden", "30", "--out",
          tmp_path / "m"], ""),
        (["bm", "nope"], "invalid choice"),
    ]
    for args, msg in cases:
        line = user_error(capsys, *args)
        assert msg.replace("\\", "") in line, (args, line)


def test_train_refuses_an_existing_name_and_resumes_after_ctrl_c(capsys, tmp_path,
                                                                 monkeypatch, ctrl_c_at):
    rows = np.where(np.random.default_rng(2).random((100, 5)) < 0.3, -1, 1).astype(np.int8)
    np.save(tmp_path / "rows.npy", rows)
    args = ["bm", "train", tmp_path / "rows.npy", "--hidden", "1", "--epochs", "4",
            "--batch-size", "25"]
    whole = run_json(capsys, *args, "--out", tmp_path / "whole")
    line = user_error(capsys, *args, "--out", tmp_path / "whole")
    assert "already holds a training run (whole.json, whole.safetensors)" in line
    assert run_json(capsys, *args, "--out", tmp_path / "whole", "--overwrite")["updates"] == 16

    ctrl_c_at(learning, "gibbs_sweep", 20)   # 3 sweeps an update: during update 7 (epoch 2)
    code, out, err = run(capsys, *args, "--out", tmp_path / "m")
    monkeypatch.undo()
    assert code == 130 and out == ""
    assert "interrupted at epoch 2 after 7 updates; a checkpoint is in" in err
    assert sorted(p.name for p in tmp_path.glob("m.*")) == ["m.checkpoint.json",
                                                           "m.checkpoint.safetensors"]
    assert "other settings (lr 0.05 there, 0.1 here)" in user_error(
        capsys, *args, "--lr", "0.1", "--out", tmp_path / "m", "--resume")
    assert "other settings (seed 0 there, 1 here)" in user_error(
        capsys, *args, "--seed", "1", "--out", tmp_path / "m", "--resume")
    resumed = run_json(capsys, *args, "--out", tmp_path / "m", "--resume")
    assert resumed["history"] == whole["history"] and resumed["updates"] == 16
    assert sorted(p.name for p in tmp_path.glob("m.*")) == ["m.json", "m.safetensors"]
    a, b = BoltzmannMachine.load(tmp_path / "m"), BoltzmannMachine.load(tmp_path / "whole")
    assert torch.equal(a.weights, b.weights) and torch.equal(a.bias, b.bias)


def _same_but(task: dict, printed: dict, timed: tuple[str, ...]) -> None:
    """The task's result and the command's JSON agree on every key but the timings."""
    assert list(task) == list(printed)
    assert {k: v for k, v in task.items() if k not in timed} == \
        {k: v for k, v in printed.items() if k not in timed}


def test_tasks_give_what_the_commands_print(capsys, machine, tmp_path):
    from genlab.boltzmann.tasks import (
        encoder_study,
        exact_report,
        mean_field_report,
        sample_report,
        train_machine,
    )
    wp, bp, w, b = machine
    flags = ["--weights", wp, "--bias", bp, "--beta", "0.7"]
    assert exact_report(w, b, 0.7).to_dict() == run_json(capsys, "bm", "exact", *flags)
    assert mean_field_report(w, b, 0.7, restarts=3, seed=2).to_dict() == \
        run_json(capsys, "bm", "meanfield", *flags, "--restarts", "3", "--seed", "2")
    task = sample_report(w, b, 0.7, chains=4, samples=50, burn_in=10, seed=5,
                         correlations=True, out=tmp_path / "X.npy")
    printed = run_json(capsys, "bm", "sample", *flags, "--chains", "4", "--samples", "50",
                       "--burn-in", "10", "--seed", "5", "--correlations", "--out",
                       tmp_path / "X.npy")
    _same_but(task.to_dict(), printed, ("seconds", "updates_per_second"))
    assert np.array_equal(np.load(tmp_path / "X.npy"), task.draws.numpy())

    rows = np.where(np.random.default_rng(3).random((40, 4)) < 0.3, -1, 1).astype(np.int8)
    np.save(tmp_path / "rows.npy", rows)
    cfg = learning.BMTrainConfig(n_hidden=1, epochs=2, batch_size=20)
    task = train_machine(torch.from_numpy(rows), cfg, tmp_path / "a", seed=1,
                         data_name=str(tmp_path / "rows.npy"))
    printed = run_json(capsys, "bm", "train", tmp_path / "rows.npy", "--hidden", "1",
                       "--epochs", "2", "--batch-size", "20", "--seed", "1", "--out",
                       tmp_path / "b")
    _same_but(task.to_dict(), printed, ("seconds", "out"))
    saved = BoltzmannMachine.load(tmp_path / "b")
    assert torch.equal(saved.weights, task.model.weights)

    task = encoder_study(seed=3, seeds=2, epochs=40)
    printed = run_json(capsys, "bm", "encoder", "--seed", "3", "--seeds", "2", "--epochs", "40")
    _same_but(task.to_dict(), printed, ("seconds",))
