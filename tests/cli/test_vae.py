"""``genlab ae`` and ``genlab vae`` through the CLI: --json output, files, and every bad
input giving exit 2 with one ``genlab: error:`` line."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from genlab.cli.main import main

torch.set_num_threads(1)


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *args) -> dict:
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    lines = [ln for ln in out.splitlines() if ln.strip()]
    assert len(lines) == 1, out
    return json.loads(lines[0])


def user_error(capsys, *args) -> str:
    code, out, err = run(capsys, *args)
    lines = err.strip().splitlines()
    assert code == 2, (code, out, err)
    assert len(lines) == 1 and lines[0].startswith("genlab: error: "), err
    return lines[0]


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("vae") / "run"
    code = main(["vae", "train", "digits", "--latent", "2", "--hidden", "32", "--epochs", "2",
                 "--limit", "400", "--val", "100", "--patience", "5", "--out", str(out)])
    assert code == 0
    return out


@pytest.fixture(scope="module")
def ae_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ae") / "run"
    code = main(["ae", "train", "digits", "--corrupt", "mask:0.3", "--epochs", "1",
                 "--limit", "300", "--out", str(out)])
    assert code == 0
    return out


def test_vae_train_json(capsys, tmp_path):
    r = run_json(capsys, "vae", "train", "digits", "--epochs", "1", "--limit", "200",
                 "--arch", "conv", "--channels", "4,8", "--hidden", "16", "--out",
                 tmp_path / "r")
    assert r["kind"] == "vae" and r["epochs"] == 1 and r["config"]["arch"] == "conv"
    assert r["steps"] == 4 and len(r["train_loss"]) == 1          # 200 / 64 -> 4 steps
    assert (tmp_path / "r/model.safetensors").is_file()
    assert (tmp_path / "r/checkpoint.json").is_file()
    lines = (tmp_path / "r/metrics.jsonl").read_text().splitlines()
    assert json.loads(lines[-1])["split"] == "epoch"


def test_vae_train_amp_default_and_no_amp(capsys, tmp_path):
    """Fashion-MNIST's default trains with --amp; other data sets and --no-amp without."""
    from genlab.latent import vae_preset

    assert vae_preset("fashion-mnist").train_config.amp is True
    assert vae_preset("digits").train_config.amp is False
    common = ("--epochs", "1", "--limit", "64", "--hidden", "8", "--latent", "2")
    r = run_json(capsys, "vae", "train", "digits", *common, "--out", tmp_path / "a")
    assert r["settings"]["amp"] is False
    r = run_json(capsys, "vae", "train", "digits", *common, "--amp", "--out", tmp_path / "b")
    assert r["settings"]["amp"] is True
    r = run_json(capsys, "vae", "train", "digits", *common, "--no-amp", "--out", tmp_path / "c")
    assert r["settings"]["amp"] is False


def test_vae_resume(capsys, tmp_path):
    args = ("vae", "train", "digits", "--epochs", "2", "--limit", "256", "--hidden", "16",
            "--batch-size", "64")
    full = run_json(capsys, *args, "--out", tmp_path / "a")
    run_json(capsys, *args, "--max-steps", "5", "--out", tmp_path / "b")
    resumed = run_json(capsys, *args, "--resume", "--out", tmp_path / "b")
    assert resumed["resumed_from"] == 5 and resumed["steps"] == full["steps"] == 8
    assert resumed["train_loss"][-1] == full["train_loss"][-1]
    # the same networks under another KL warm-up are another objective: refused
    code, _, err = run(capsys, *args, "--kl-warmup", "0.5", "--resume", "--out", tmp_path / "b")
    last = err.strip().splitlines()[-1]  # after the "training a vae ..." log line
    assert code == 2 and last.startswith("genlab: error: checkpoint in ")
    assert "other settings (kl_warmup 0.3 there, 0.5 here)" in last


def test_vae_eval_sample_reconstruct_manifold(capsys, vae_run, tmp_path):
    r = run_json(capsys, "vae", "eval", vae_run, "--iw", "20", "--n", "50")
    assert set(r) >= {"elbo", "nll_iw", "k", "n"} and r["k"] == 20 and r["n"] == 50
    assert r["nll_iw"] <= -r["elbo"] + 5 * r["elbo_se"]
    for cmd, extra in (("sample", ()), ("reconstruct", ()),
                       ("manifold", ("--codes", tmp_path / "codes.png"))):
        png = tmp_path / f"{cmd}.png"
        r = run_json(capsys, "vae", cmd, vae_run, "--out", png, *extra)
        assert png.read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "codes.png").is_file()


def test_ae_train_eval_reconstruct(capsys, ae_run, tmp_path):
    r = run_json(capsys, "ae", "eval", ae_run)
    assert r["corrupt"] == "mask:0.3" and r["n"] == 300 and r["mse"] > 0
    r = run_json(capsys, "ae", "reconstruct", ae_run, "--out", tmp_path / "r.png")
    assert (tmp_path / "r.png").is_file()


def test_bad_inputs(capsys, vae_run, ae_run, tmp_path):
    out = tmp_path / "x"
    user_error(capsys, "vae", "eval", tmp_path / "missing")
    user_error(capsys, "vae", "train", "nosuchdata", "--out", out)
    user_error(capsys, "vae", "train", "digits", "--hidden", "4,x", "--out", out)
    user_error(capsys, "vae", "train", "digits", "--latent", "0", "--out", out)
    user_error(capsys, "vae", "train", "digits", "--patience", "2", "--out", out)
    user_error(capsys, "vae", "train", "digits", "--val", "5000", "--out", out)
    user_error(capsys, "vae", "train", "digits", "--lr", "nan", "--out", out)
    user_error(capsys, "vae", "train", "digits")                      # no --out
    user_error(capsys, "vae", "eval", vae_run, "--iw", "0")
    user_error(capsys, "vae", "sample", ae_run, "--out", tmp_path / "s.png")
    user_error(capsys, "vae", "eval", ae_run)
    user_error(capsys, "ae", "train", "digits", "--corrupt", "blur:1", "--out", out)
    user_error(capsys, "ae", "train", "digits", "--corrupt", "mask:2", "--out", out)
    user_error(capsys, "ae", "train", "digits", "--activation", "linear", "--out", out)
    user_error(capsys, "vae", "eval", vae_run, "--data", "mnist5k")    # 28x28 vs 8x8
    (tmp_path / "bad.json").write_text("{}")
    (tmp_path / "bad.safetensors").write_bytes(b"")
    user_error(capsys, "vae", "eval", tmp_path / "bad")
    # a 2-D manifold needs a 2-D latent
    run_json(capsys, "vae", "train", "digits", "--epochs", "1", "--limit", "100", "--latent",
             "3", "--hidden", "8", "--out", tmp_path / "l3")
    user_error(capsys, "vae", "manifold", tmp_path / "l3", "--out", tmp_path / "m.png")


def test_torchrun_two_processes_train_what_one_process_trains(capsys, tmp_path):
    """``torchrun --nproc-per-node 2 -m genlab ae train`` (gloo, real processes): one JSON
    result and one log line from rank 0, and the weights of one process trained on the
    same global batches (the deterministic autoencoder; float32 summation order only)."""
    train = ["ae", "train", "digits", "--limit", "128", "--epochs", "2", "--batch-size", "32",
             "--device", "cpu", "--json"]
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {**os.environ, "PYTHONPATH": src, "OMP_NUM_THREADS": "1"}
    ddp = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                          "--nproc-per-node", "2", "-m", "genlab", *train,
                          "--out", str(tmp_path / "ddp")],
                         capture_output=True, text=True, env=env, timeout=300)
    assert ddp.returncode == 0, ddp.stderr
    lines = ddp.stdout.splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["steps"] == 8   # 2 x 128 / 32
    assert ddp.stderr.count("training an autoencoder") == 1
    one = run_json(capsys, *train[:-1], "--out", tmp_path / "one")
    assert one["steps"] == 8
    a = load_file(tmp_path / "ddp" / "model.safetensors")
    b = load_file(tmp_path / "one" / "model.safetensors")
    assert a.keys() == b.keys()
    assert max(float((a[k] - b[k]).abs().max()) for k in a) < 1e-5
