"""The CLI side of run folders and model files: a second training into a run folder is
refused before any work, --overwrite replaces it, --resume refuses other settings, and a
model file never chooses which files genlab reads."""

import json

from genlab.io import load_model, model_paths, save_model

TRAIN = ("vae", "train", "digits", "--epochs", "1", "--limit", "200", "--hidden", "8",
         "--latent", "2", "--batch-size", "50")


def test_a_second_training_into_a_run_folder_is_refused(cli, user_error, tmp_path):
    run = tmp_path / "run"
    assert cli(*TRAIN, "--out", run, "--json").code == 0
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    line = user_error(*TRAIN, "--out", run)
    assert "already holds a training run" in line and "--overwrite" in line
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before
    res = cli(*TRAIN, "--out", run, "--overwrite", "--seed", "3", "--json")
    assert res.code == 0 and res.json()["steps"] == 4
    assert load_model(run / "model")[2]["train"]["seed"] == 3


def refused(res) -> str:
    """Exit 2, the error the last stderr line (after the command's log of what it starts),
    no traceback, nothing on stdout."""
    assert res.code == 2 and not res.out and "Traceback" not in res.err, res
    line = res.err.strip().splitlines()[-1]
    assert line.startswith("genlab: error: ")
    return line


def test_resume_with_other_settings_names_them(cli, tmp_path):
    run = tmp_path / "run"
    assert cli(*TRAIN, "--out", run, "--max-steps", "2").code == 0
    line = refused(cli(*TRAIN, "--out", run, "--resume", "--lr", "0.01"))
    assert "other training settings (lr 0.002 there, 0.01 here)" in line
    line = refused(cli("vae", "train", "mnist5k", "--epochs", "1", "--limit", "200", "--hidden",
                       "8", "--latent", "2", "--batch-size", "50", "--out", run, "--resume"))
    assert "other" in line
    assert cli(*TRAIN, "--out", run, "--resume").code == 0


def test_a_model_file_does_not_choose_which_files_are_read(cli, user_error, tmp_path):
    run = tmp_path / "run"
    assert cli(*TRAIN, "--out", run).code == 0
    secret = tmp_path / "secret.npz"
    secret.write_bytes(b"PK\x03\x04 not for genlab to read")
    tensors, config, meta = load_model(run / "model")
    header = json.loads(model_paths(run / "model")[1].read_text())
    for data in ({"name": str(secret), "binarize": "threshold"},
                 {"name": "digits", "binarize": "threshold", "data_dir": str(tmp_path / "x")}):
        meta["data"] = data
        save_model(run / "model", tensors, header["kind"], config, meta)
        if data["name"] == "digits":
            assert cli("vae", "eval", run, "--n", "20", "--iw", "2", "--json").code == 0
        else:
            line = user_error("vae", "eval", run, "--n", "20", "--iw", "2")
            assert "not a built-in data set" in line and "--data" in line
            assert "PK" not in line
    meta["data"] = {"name": "digits", "binarize": "sometimes"}
    save_model(run / "model", tensors, header["kind"], config, meta)
    assert "binarize must be one of" in user_error("vae", "eval", run, "--n", "20")
