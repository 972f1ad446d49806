"""``genlab rbm``: --json output, files written, and one-line user errors (exit 2)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import genlab.rbm.base as rbm_base
from genlab.cli.main import main
from genlab.data import load_dataset
from genlab.rbm import load_rbm
from genlab.rbm.tasks import run_eval, run_filters, run_sample, run_train

SMALL = ["--hidden", "8", "--epochs", "2", "--limit", "300", "--threads", "1"]


def _run(capsys, *args):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def _json(capsys, *args) -> dict:
    code, out, err = _run(capsys, *args, "--json")
    assert code == 0, err
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1
    return json.loads(lines[0])


def _user_error(capsys, *args) -> str:
    code, out, err = _run(capsys, *args)
    lines = err.strip().splitlines()
    assert code == 2, (code, out, err)
    assert len(lines) == 1 and lines[0].startswith("genlab: error: "), err
    return lines[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    path = tmp_path_factory.mktemp("rbm") / "small"
    assert main(["rbm", "train", "digits", *SMALL, "--out", str(path), "--device", "cpu"]) == 0
    return path


def test_train_reports_and_saves(capsys, tmp_path):
    r = _json(capsys, "rbm", "train", "digits", *SMALL, "--method", "cd", "--k", "2",
              "--out", tmp_path / "m", "--device", "cpu")
    assert r["n_hidden"] == 8 and r["n_train"] == 300 and r["method"] == "cd"
    assert (tmp_path / "m.safetensors").is_file() and (tmp_path / "m.json").is_file()
    # 64 binary units: log p(v) lies in (64 log 1/2 ... 0) for a model no worse than uniform
    assert -64 * 0.6931472 < r["train_log_likelihood"] < 0


def test_train_gaussian(capsys, tmp_path):
    r = _json(capsys, "rbm", "train", "digits", *SMALL, "--visible", "gaussian", "--lr",
              "0.005", "--out", tmp_path / "g", "--device", "cpu")
    assert r["model"] == "GaussianBernoulliRBM" and r["binarize"] == "none"
    assert "exact_log_z" in r


def test_eval_reports_ais_beside_exact(capsys, trained):
    r = _json(capsys, "rbm", "eval", trained, "digits", "--ais-runs", "50", "--ais-betas",
              "500", "--threads", "1", "--device", "cpu")
    assert r["split"] == "test" and r["n_examples"] == 300
    for key in ("log_z", "log_z_std_err", "log_likelihood", "exact_log_z",
                "exact_log_likelihood", "pseudo_likelihood"):
        assert isinstance(r[key], float)
    assert r["ais_layer"] == "hidden"  # the trained model has 8 hidden and 64 visible units
    # log-likelihoods differ exactly by the difference of the log Zs
    assert r["log_likelihood"] - r["exact_log_likelihood"] == pytest.approx(
        r["exact_log_z"] - r["log_z"], abs=1e-6)


def test_sample_and_filters_write_pngs(capsys, trained, tmp_path):
    r = _json(capsys, "rbm", "sample", trained, "--n", "9", "--steps", "20",
              "--out", tmp_path / "s.png", "--threads", "1")
    assert r["n"] == 9 and (tmp_path / "s.png").stat().st_size > 0
    r = _json(capsys, "rbm", "filters", trained, "--out", tmp_path / "f.png")
    assert r["n"] == 8 and r["image_shape"] == [8, 8] and (tmp_path / "f.png").is_file()
    code, out, _ = _run(capsys, "rbm", "filters", trained, "--out", tmp_path / "f2.png")
    assert code == 0 and "saved 8 filters" in out


def test_user_errors(capsys, trained, tmp_path):
    missing = tmp_path / "nothing"
    assert "not found" in _user_error(capsys, "rbm", "eval", missing, "digits")
    assert "not found" in _user_error(capsys, "rbm", "sample", missing)
    assert "not found" in _user_error(capsys, "rbm", "filters", missing)
    _user_error(capsys, "rbm", "train", "digits", "--hidden", "0", "--out", tmp_path / "x")
    _user_error(capsys, "rbm", "train", "nosuchdata", "--out", tmp_path / "x")
    _user_error(capsys, "rbm", "train", "digits", "--out", tmp_path / "x", "--lr", "nan")
    _user_error(capsys, "rbm", "train", "digits")  # --out is required
    _user_error(capsys, "rbm", "train", "digits", *SMALL, "--momentum", "1",
                "--out", tmp_path / "x")
    assert "features" in _user_error(capsys, "rbm", "eval", trained, "mnist5k", "--limit", "5")
    _user_error(capsys, "rbm", "eval", trained, "digits", "--ais-runs", "0")
    _user_error(capsys, "rbm", "eval", trained, "digits", "--ais-layer", "both")
    _user_error(capsys, "rbm", "sample", trained, "--n", "-3")
    (tmp_path / "junk.json").write_text("[]")
    (tmp_path / "junk.safetensors").write_bytes(b"junk")
    _user_error(capsys, "rbm", "filters", tmp_path / "junk")


def test_help_has_examples(capsys):
    with pytest.raises(SystemExit):
        main(["rbm", "train", "--help"])
    assert "examples:" in capsys.readouterr().out


def test_training_into_an_existing_name_is_refused_unless_overwritten(capsys, tmp_path):
    out = tmp_path / "m"
    _json(capsys, "rbm", "train", "digits", *SMALL, "--out", out, "--device", "cpu")
    before = (tmp_path / "m.safetensors").read_bytes()
    line = _user_error(capsys, "rbm", "train", "digits", *SMALL, "--out", out)
    assert "already holds a training run (m.json, m.safetensors)" in line
    assert "--overwrite" in line and (tmp_path / "m.safetensors").read_bytes() == before
    line = _user_error(capsys, "rbm", "train", "digits", *SMALL, "--out", out, "--resume")
    assert "no checkpoint to resume from" in line
    r = _json(capsys, "rbm", "train", "digits", *SMALL, "--hidden", "4", "--out", out,
              "--overwrite", "--device", "cpu")
    assert r["n_hidden"] == 4 and load_rbm(out).components_.shape == (4, 64)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.safetensors"]


def test_ctrl_c_leaves_a_checkpoint_and_resume_finishes_the_same_model(capsys, tmp_path,
                                                                       monkeypatch, ctrl_c_at):
    args = ["rbm", "train", "digits", *SMALL, "--momentum", "0.5", "--lr", "0.05", "--device",
            "cpu"]
    _json(capsys, *args, "--out", tmp_path / "whole")
    ctrl_c_at(rbm_base, "cd_update", 20)   # update 5 of epoch 2 (15 mini-batches of 20 rows)
    code, out, err = _run(capsys, *args, "--out", tmp_path / "m")
    monkeypatch.undo()
    assert code == 130 and out == ""
    assert "interrupted at epoch 2, row 100 of 300; a checkpoint is in" in err
    assert sorted(p.name for p in tmp_path.glob("m.*")) == ["m.checkpoint.json",
                                                           "m.checkpoint.safetensors"]
    assert "already holds a training run" in _user_error(capsys, *args, "--out", tmp_path / "m")
    line = _user_error(capsys, *args, "--lr", "0.01", "--out", tmp_path / "m", "--resume")
    assert "other settings (learning_rate 0.05 there, 0.01 here)" in line
    line = _user_error(capsys, *args[:-2], "--limit", "200", "--device", "cpu", "--out",
                       tmp_path / "m", "--resume")
    assert "other data" in line
    _json(capsys, *args, "--out", tmp_path / "m", "--resume")
    assert sorted(p.name for p in tmp_path.glob("m.*")) == ["m.json", "m.safetensors"]
    assert np.array_equal(load_rbm(tmp_path / "m").components_,
                          load_rbm(tmp_path / "whole").components_)


def _timeless(obj: dict) -> dict:
    """``obj`` without wall-clock times (the one thing two runs may differ in)."""
    return {k: v for k, v in obj.items() if "seconds" not in k}


def test_eval_log_likelihood_is_the_estimators(capsys, trained):
    """The printed log-likelihoods are BaseRBM.log_likelihood under the printed log Zs."""
    r = _json(capsys, "rbm", "eval", trained, "digits", "--ais-runs", "10", "--ais-betas",
              "100", "--device", "cpu")
    model = load_rbm(trained, device="cpu")
    X = load_dataset("digits", split="test", binarize="threshold").draw(
        torch.Generator().manual_seed(0)).numpy()
    assert r["log_likelihood"] == model.log_likelihood(X, log_z=r["log_z"])
    assert r["exact_log_likelihood"] == model.log_likelihood(X, log_z=r["exact_log_z"])
    assert r["log_z"] == model.ais_log_partition(10, 100, seed=0).log_z
    assert r["exact_log_z"] == model.exact_log_partition()


def test_tasks_return_what_the_commands_print(capsys, trained, tmp_path):
    r = _json(capsys, "rbm", "eval", trained, "digits", "--ais-runs", "10", "--ais-betas",
              "100", "--device", "cpu")
    report = run_eval(trained, "digits", ais_runs=10, ais_betas=100, device="cpu")
    assert _timeless(report.to_dict()) == _timeless(r)
    assert report.log_likelihood == r["log_likelihood"] and report.ais_layer == "hidden"
    r = _json(capsys, "rbm", "sample", trained, "--n", "4", "--steps", "5", "--out",
              tmp_path / "s.png", "--seed", "2", "--device", "cpu")
    assert run_sample(trained, tmp_path / "t.png", n=4, steps=5, seed=2, device="cpu"
                      ).to_dict() == {**r, "out": str(tmp_path / "t.png")}
    r = _json(capsys, "rbm", "filters", trained, "--n", "4", "--out", tmp_path / "f.png")
    assert run_filters(trained, tmp_path / "f.png", n=4).to_dict() == r


def test_train_task_gives_the_commands_model(capsys, tmp_path):
    r = _json(capsys, "rbm", "train", "digits", "--hidden", "4", "--epochs", "1", "--limit",
              "100", "--seed", "5", "--out", tmp_path / "cli", "--device", "cpu")
    report = run_train("digits", tmp_path / "lib", hidden=4, epochs=1, limit=100, seed=5,
                       device="cpu")
    assert _timeless(report.to_dict()) == {**_timeless(r), "out": str(tmp_path / "lib")}
    assert np.array_equal(load_rbm(tmp_path / "lib").components_,
                          load_rbm(tmp_path / "cli").components_)


def test_commands_leave_the_thread_count_alone(capsys, trained, tmp_path):
    """Without --threads no command changes torch's thread count (the entry point alone
    applies a --threads the user gave)."""
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        _json(capsys, "rbm", "train", "digits", "--hidden", "4", "--epochs", "1", "--limit",
              "50", "--out", tmp_path / "m", "--device", "cpu")
        _json(capsys, "rbm", "eval", trained, "digits", "--limit", "20", "--ais-runs", "2",
              "--ais-betas", "10", "--device", "cpu")
        _json(capsys, "rbm", "sample", trained, "--n", "2", "--steps", "2", "--out",
              tmp_path / "s.png", "--device", "cpu")
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_the_command_and_the_library_share_one_set_of_defaults():
    """``genlab rbm train``'s option defaults are ``TRAIN_DEFAULTS``, and so are the settings
    of the estimator ``rbm_estimator`` builds when given none; Gaussian units are not
    centred."""
    from dataclasses import fields

    from genlab.cli.main import build_parser
    from genlab.rbm.tasks import TRAIN_DEFAULTS, rbm_estimator

    train = build_parser().parse_args(["rbm", "train", "mnist5k", "--out", "x"])
    options = {"hidden": "hidden", "method": "method", "k": "k", "epochs": "epochs",
               "lr": "lr", "batch_size": "batch_size", "momentum": "momentum",
               "weight_decay": "weight_decay", "schedule": "schedule"}
    for field, dest in options.items():
        assert getattr(train, dest) == getattr(TRAIN_DEFAULTS, field), field
    model = rbm_estimator(device="cpu")
    params = {"hidden": "n_components", "method": "method", "k": "k", "epochs": "n_iter",
              "lr": "learning_rate", "batch_size": "batch_size", "momentum": "momentum",
              "weight_decay": "weight_decay", "schedule": "learning_rate_schedule",
              "centered": "centered", "centering_rate": "centering_rate",
              "pt_chains": "pt_chains"}
    assert set(params) == {f.name for f in fields(TRAIN_DEFAULTS)}
    for field, param in params.items():
        assert getattr(model, param) == getattr(TRAIN_DEFAULTS, field), field
    assert rbm_estimator("gaussian", device="cpu").centered is False
