"""``genlab disentangle train/eval`` and ``genlab vae traverse`` in-process: JSON and errors."""

import json

import pytest

from genlab.cli.main import main
from genlab.device import native_bf16


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "b4"
    status = main(["disentangle", "train", "--beta", "4", "--steps", "2", "--batch-size", "8",
                   "--limit", "64", "--latent", "3", "--checkpoint-every", "0",
                   "--out", str(run_dir), "--json", "--device", "cpu"])
    assert status == 0
    return run_dir


def test_train_json(trained, capsys):
    run_dir = trained.parent / "cap"
    status, out, _ = run(capsys, "disentangle", "train", "--capacity", "10", "--steps", "1",
                         "--batch-size", "4", "--limit", "16", "--latent", "2",
                         "--out", str(run_dir), "--json", "--device", "cpu")
    assert status == 0
    res = json.loads(out)
    assert res["steps"] == 1 and res["config"]["capacity_max"] == 10.0
    assert res["images_per_second"] > 0 and (run_dir / "model.json").is_file()
    assert res["bfloat16"] is native_bf16("cpu")       # --amp is the default


def test_train_no_amp_stays_float32(tmp_path, capsys):
    status, out, err = run(capsys, "disentangle", "train", "--no-amp", "--steps", "1",
                           "--batch-size", "4", "--limit", "16", "--latent", "2",
                           "--out", str(tmp_path / "f32"), "--json", "--device", "cpu")
    assert status == 0, err
    assert json.loads(out)["bfloat16"] is False


def test_train_several_seeds_as_one_stack(tmp_path, capsys):
    """--seeds trains one model per seed at once and saves each in RUN/seed{S}; each
    starts from the weights a single run with that seed starts from (compared after a
    --time-limit that is over before the first step)."""
    from genlab.latent import load_latent_model

    def train(out, *argv):
        status, stdout, err = run(capsys, "disentangle", "train", "--beta", "1", "--batch-size",
                                  "4", "--limit", "32", "--latent", "2", "--no-amp", "--out",
                                  str(tmp_path / out), "--json", "--device", "cpu", *argv)
        assert status == 0, err
        return json.loads(stdout)

    res = train("stack", "--seeds", "3", "5", "--steps", "2")
    assert res["steps"] == 2
    assert res["models"] == [str(tmp_path / "stack" / "seed3"), str(tmp_path / "stack" / "seed5")]
    meta = json.loads((tmp_path / "stack" / "seed5" / "model.json").read_text())["meta"]
    assert meta["seed"] == 5 and meta["stacked"] == 2
    status, out, err = run(capsys, "disentangle", "eval", str(tmp_path / "stack" / "seed3"),
                           "--metrics", "mig", "--fraction", "0.001", "--json", "--device", "cpu")
    assert status == 0, err
    assert 0.0 <= json.loads(out)["mig"]["score"] <= 1.0
    assert train("start", "--seeds", "3", "5", "--time-limit", "1e-9")["steps"] == 0
    assert train("single", "--seed", "5", "--time-limit", "1e-9")["steps"] == 0
    alone = load_latent_model(tmp_path / "single")[0].state_dict()
    stacked = load_latent_model(tmp_path / "start" / "seed5")[0].state_dict()
    trained = load_latent_model(tmp_path / "stack" / "seed5")[0].state_dict()
    assert all(alone[k].equal(stacked[k]) for k in alone)
    assert not all(alone[k].equal(trained[k]) for k in alone)  # two steps moved it


def test_eval_json(trained, capsys):
    status, out, err = run(capsys, "disentangle", "eval", str(trained), "--metrics",
                           "mig,factorvae", "--fraction", "0.001", "--json", "--device", "cpu")
    assert status == 0, err
    res = json.loads(out)
    assert 0.0 <= res["mig"]["score"] <= 1.0 and 0.0 <= res["factorvae"]["score"] <= 1.0
    assert res["sample_sizes"]["mig_samples"] == 10 and "betavae" not in res


def test_traverse_json(trained, tmp_path, capsys):
    png = tmp_path / "t.png"
    status, out, err = run(capsys, "vae", "traverse", str(trained), "--out", str(png),
                           "--steps", "3", "--n-kl", "8", "--index", "2", "--json",
                           "--device", "cpu")
    assert status == 0, err
    res = json.loads(out)
    assert png.stat().st_size > 0 and sorted(res["order"]) == [0, 1, 2]
    assert len(res["values"]) == 3 and res["values"][0] == -3.0
    for kl, info, rest in zip(res["kl"], res["information"], res["mismatch"], strict=True):
        assert info >= 0 and info + rest == pytest.approx(kl, rel=1e-4, abs=1e-6)


def test_axes_json_and_text(trained, capsys):
    status, out, err = run(capsys, "disentangle", "axes", str(trained), "--n", "40",
                           "--min-sd", "0", "--json", "--device", "cpu")
    assert status == 0, err
    res = json.loads(out)
    assert res["n_samples"] == 40 and res["factors"] == ["scale", "pos_x", "pos_y"]
    assert sorted(a["latent"] for a in res["latents"]) == [0, 1, 2]   # --min-sd 0: all 3
    for a in res["latents"]:
        assert set(a["coefficients"]) == set(res["factors"]) and -1e-9 <= a["r2"] <= 1 + 1e-9
        assert a["angle_deg"] is None or -180 <= a["angle_deg"] <= 180
    status, out, err = run(capsys, "disentangle", "axes", str(trained), "--n", "40",
                           "--min-sd", "0", "--device", "cpu")
    assert status == 0 and out.count("R^2") == 3


def test_models_of_other_images_are_refused(tmp_path, capsys):
    run_dir = tmp_path / "digits"
    status, _, err = run(capsys, "vae", "train", "digits", "--limit", "32", "--epochs", "1",
                         "--latent", "2", "--out", str(run_dir), "--json", "--device", "cpu")
    assert status == 0, err
    for cmd in ("eval", "axes"):
        status, out, err = run(capsys, "disentangle", cmd, str(run_dir), "--device", "cpu")
        assert status == 2 and out == "" and err.count("\n") == 1
        assert "8x8 images; this needs a dSprites model (64x64)" in err


def test_vae_train_latent_type_beta(tmp_path, capsys):
    # the same beta-VAE through the vae group, on dSprites held in memory
    out_dir = tmp_path / "vb"
    status, out, err = run(capsys, "vae", "train", "dsprites", "--latent-type", "beta",
                           "--beta", "2", "--limit", "32", "--epochs", "1", "--batch-size", "16",
                           "--latent", "4", "--out", str(out_dir), "--json", "--device", "cpu")
    assert status == 0, err
    res = json.loads(out)
    assert res["kind"] == "betavae" and res["config"]["beta"] == 2.0
    assert res["config"]["latent"] == 4 and res["steps"] == 2
    status, out, err = run(capsys, "vae", "eval", str(out_dir), "--iw", "4", "--n", "8",
                           "--json", "--device", "cpu")
    assert status == 0, err
    assert json.loads(out)["nll_iw"] <= -json.loads(out)["elbo"] + 1e-6  # IWAE >= ELBO


@pytest.mark.parametrize("argv", [
    ["vae", "train", "digits", "--latent-type", "beta", "--out", "x"],  # 8x8 images
    ["vae", "train", "dsprites", "--latent-type", "beta", "--arch", "mlp", "--out", "x"],
    ["vae", "train", "dsprites", "--latent-type", "beta", "--hidden", "64,32", "--out", "x"],
    ["disentangle", "eval", "no/such/run"],
    ["disentangle", "eval", "RUN", "--metrics", "dci"],
    ["disentangle", "eval", "RUN", "--fraction", "0"],
    ["disentangle", "eval", "RUN", "--fraction", "2"],
    ["disentangle", "train", "--beta", "-1", "--out", "x"],
    ["disentangle", "train", "--steps", "0", "--out", "x"],
    ["disentangle", "train", "--beta", "nan", "--out", "x"],
    ["disentangle", "train", "--seeds", "1", "1", "--out", "x"],
    ["disentangle", "train", "--time-limit", "0", "--out", "x"],
    ["vae", "traverse", "RUN", "--index", "50", "--n-kl", "10"],
    ["vae", "traverse", "RUN", "--steps", "1"],
    ["vae", "traverse", "no/such/run"],
    ["disentangle", "axes", "no/such/run"],
    ["disentangle", "axes", "RUN", "--n", "3"],
    ["disentangle", "axes", "RUN", "--min-sd", "-1"],
])
def test_bad_inputs_exit_2_with_one_line(trained, capsys, argv):
    argv = [str(trained) if a == "RUN" else a for a in argv]
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == ""
    assert err.startswith("genlab: error: ") and err.count("\n") == 1
