"""``genlab vae train --latent-type categorical`` and eval/sample on the saved run."""

import json

import pytest

from genlab.cli.main import main


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("cvae") / "run"
    status = main(["vae", "train", "digits", "--latent-type", "categorical", "--categories",
                   "4x3", "--hard", "--epochs", "1", "--limit", "256", "--hidden", "32",
                   "--tau0", "2", "--anneal-rate", "0.01", "--out", str(out), "--json",
                   "--device", "cpu"])
    assert status == 0
    return out


def test_train_eval_sample(capsys, trained, tmp_path):
    status, out, _ = run(capsys, "vae", "eval", str(trained), "--iw", "20", "--n", "40",
                         "--json")
    assert status == 0
    r = json.loads(out)
    assert r["kind"] == "categorical_vae" and r["n"] == 40
    # the IWAE NLL is a tighter bound than the negative ELBO up to Monte Carlo error
    assert r["nll_iw"] <= -r["elbo"] + 5 * (r["elbo_se"] + r["nll_iw_se"])
    png = tmp_path / "s.png"
    status, out, _ = run(capsys, "vae", "sample", str(trained), "--n", "9", "--out", str(png),
                         "--json")
    assert status == 0 and png.read_bytes()[:4] == b"\x89PNG"


def test_train_json_records_the_config(capsys, tmp_path):
    status, out, _ = run(capsys, "vae", "train", "digits", "--latent-type", "categorical",
                         "--estimator", "reinforce", "--max-steps", "3", "--limit", "128",
                         "--hidden", "16", "--categories", "3x5", "--out",
                         str(tmp_path / "r"), "--json")
    assert status == 0
    cfg = json.loads(out)["config"]
    assert (cfg["n_latent"], cfg["n_categories"], cfg["estimator"]) == (3, 5, "reinforce")


@pytest.mark.parametrize("extra", [
    ["--categories", "20"], ["--categories", "0x3"], ["--categories", "4x1"],
    ["--hard", "--estimator", "reinforce"], ["--estimator", "bogus"], ["--tau0", "0"],
    ["--tau-min", "-1"], ["--anneal-rate", "-0.1"], ["--kl-warmup", "0.5"],
    ["--iw-train", "5"], ["--likelihood", "gaussian"],
])
def test_bad_categorical_options(capsys, tmp_path, extra):
    status, out, err = run(capsys, "vae", "train", "digits", "--latent-type", "categorical",
                           "--max-steps", "1", "--out", str(tmp_path / "r"), *extra)
    assert status == 2 and out == ""
    assert err.startswith("genlab: error: ") and err.count("\n") == 1
