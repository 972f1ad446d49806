"""``genlab rbm train --method pt`` and ``--centering`` / ``--no-centering``: they train on a
small data set, save a plain RBM that ``genlab rbm eval`` reads, and refuse options that would
be ignored."""

from __future__ import annotations

import pytest

from genlab.rbm import load_rbm

SMALL = ["--hidden", "6", "--epochs", "2", "--limit", "200", "--threads", "1", "--device",
         "cpu"]


@pytest.mark.parametrize("options", [
    ["--method", "pt", "--pt-chains", "4", "--no-centering"],
    ["--centering", "--centering-rate", "0.05"],
    ["--method", "pt", "--centering"],
    ["--no-centering"],
    [],  # centred by default for Bernoulli units
])
def test_train_with_the_new_options_saves_a_model_eval_reads(cli, tmp_path, options):
    out = tmp_path / "m"
    r = cli("rbm", "train", "digits", *SMALL, *options, "--out", out, "--json")
    assert r.code == 0, r.err
    trained = r.json()
    pt, centred = "pt" in options, "--no-centering" not in options
    assert trained["method"] == ("pt" if pt else "pcd")
    assert trained["centered"] is centred
    assert trained.get("pt_chains") == (4 if "--pt-chains" in options
                                        else 10 if pt else None)
    assert trained.get("centering_rate") == (
        (0.05 if "--centering-rate" in options else 0.01) if centred else None)
    model = load_rbm(out, device="cpu")
    assert model.method == trained["method"] and model.centered is centred
    r = cli("rbm", "eval", out, "digits", "--limit", "50", "--ais-runs", "4", "--ais-betas",
            "50", "--device", "cpu", "--threads", "1", "--json")
    assert r.code == 0, r.err
    evaluated = r.json()
    # the saved model is the plain RBM whose exact log Z the training reported
    assert evaluated["exact_log_z"] == pytest.approx(trained["exact_log_z"], abs=1e-6)


def test_options_that_would_be_ignored_are_refused(user_error, tmp_path):
    out = ["--out", tmp_path / "x"]
    assert "--method pt" in user_error("rbm", "train", "digits", *SMALL, "--pt-chains", "4",
                                       *out)
    assert "centred training only" in user_error("rbm", "train", "digits", *SMALL,
                                                 "--no-centering", "--centering-rate", "0.1",
                                                 *out)
    # Gaussian units are not centred by default, so a centring rate would be ignored
    assert "centred training only" in user_error("rbm", "train", "digits", *SMALL,
                                                 "--visible", "gaussian", "--centering-rate",
                                                 "0.1", *out)
    assert "Bernoulli" in user_error("rbm", "train", "digits", *SMALL, "--visible",
                                     "gaussian", "--centering", *out)
    user_error("rbm", "train", "digits", *SMALL, "--method", "pt", "--pt-chains", "1", *out)
    user_error("rbm", "train", "digits", *SMALL, "--centering", "--centering-rate", "1.5",
               *out)
