"""Bad inputs to ``genlab data``, ``hopfield``, ``tsp``, ``bm`` and ``rbm`` that were once
answered with a traceback, a NaN result or exit 0: each is now one ``genlab: error:`` line
and exit 2 (see README, "Conventions of the command-line tool").

Each case is ``(args, expected)``: the command line, with ``{d}`` standing for a folder of
small files made once by the ``files`` fixture, and a piece of the error message.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from genlab.hopfield.network import HopfieldNetwork


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> str:
    """A folder with a 25-unit Hopfield network ``net``, its cues and a 5-unit ``W.npy``."""
    d = tmp_path_factory.mktemp("campaign")
    rng = np.random.default_rng(0)
    pats = np.sign(rng.standard_normal((3, 25))).astype(np.float32)
    np.save(d / "cues.npy", pats)
    HopfieldNetwork().fit(torch.from_numpy(pats)).save(d / "net")
    w = rng.standard_normal((5, 5))
    w = (w + w.T) / 2
    np.fill_diagonal(w, 0.0)
    np.save(d / "W.npy", w)
    np.save(d / "W_huge.npy", w * 1e300)   # finite in float64, infinite in float32
    dist = np.array([[0, 1, 2], [1, 0, 3], [2, 3, 0]], dtype=np.float64)
    np.save(d / "D_1e200.npy", dist * 1e200)  # finite, but its squares are not
    np.save(d / "D_1e306.npy", dist * 1e306)  # finite, but a tour's length is not
    (d / "huge.tsp").write_text(
        "NAME: huge\nTYPE: TSP\nDIMENSION: 3\nEDGE_WEIGHT_TYPE: EXPLICIT\n"
        "EDGE_WEIGHT_FORMAT: UPPER_ROW\nEDGE_WEIGHT_SECTION\n1e308 1e308\n1e308\nEOF\n")
    rows = np.sign(rng.standard_normal((6, 9)))
    np.save(d / "rows.npy", rows)
    (d / "bom.tsp").write_bytes(
        b"\xef\xbb\xbfNAME: bom\nTYPE: TSP\nDIMENSION: 4\nEDGE_WEIGHT_TYPE: EUC_2D\n"
        b"NODE_COORD_SECTION\n1 0 0\n2 1 0\n3 1 1\n4 0 1\nEOF\n")
    # saved models whose settings were edited by hand
    for name, key, value in (("net_eta", "scale", 1e308), ("bm_extra", "rule", "hebbian")):
        src = d / ("net" if name.startswith("net") else "bm")
        if name.startswith("bm"):
            from genlab.boltzmann.boltzmann import BoltzmannMachine
            BoltzmannMachine.zeros(4).save(src)
        header = json.loads(src.with_suffix(".json").read_text())
        header["config"][key] = value
        (d / f"{name}.json").write_text(json.dumps(header))
        shutil.copy(src.with_suffix(".safetensors"), d / f"{name}.safetensors")
    np.save(d / "pats.npy", pats)
    np.save(d / "images.npy", (pats.reshape(3, 5, 5) > 0).astype(np.float32))
    return str(d)


CASES = {
    # a model name that is a folder: the file names built from it raised ValueError
    "recall-net-dot": (["hopfield", "recall", ".", "{d}/cues.npy"], "names a folder"),
    "recall-net-root": (["hopfield", "recall", "/", "{d}/cues.npy"], "names a folder"),
    "bm-exact-model-dotdot": (["bm", "exact", "--model", "{d}/.."], "names a folder"),
    # a folder holding no model: say so rather than "NAME.safetensors not found"
    "rbm-eval-folder": (["rbm", "eval", "{d}", "digits"], "is a folder, not a model"),
    # beta * W beyond float64: log Z and the means were NaN, printed with exit 0
    "bm-exact-beta-overflow": (["bm", "exact", "--weights", "{d}/W.npy", "--beta", "1e308"],
                               "energies would overflow"),
    "bm-meanfield-beta-overflow": (["bm", "meanfield", "--weights", "{d}/W.npy", "--beta",
                                    "1e308"], "energies would overflow"),
    # weights beyond float32 (the sampler's default): energies were inf, printed as null
    "bm-sample-weights-float32": (["bm", "sample", "--weights", "{d}/W_huge.npy",
                                   "--samples", "4", "--chains", "2"], "--float64"),
    "bm-sample-beta-float32": (["bm", "sample", "--weights", "{d}/W.npy", "--beta", "1e300",
                                "--samples", "4", "--chains", "2"], "energies would overflow"),
    # tours longer than float64 holds: a traceback (tsp info), "optimal length inf" (exact)
    "tsp-info-explicit-overflow": (["tsp", "info", "{d}/huge.tsp"], "distances are too large"),
    "tsp-exact-matrix-overflow": (["tsp", "exact", "{d}/D_1e306.npy"],
                                  "distances are too large"),
    # --resume and --overwrite together: the resume won silently (or the message spoke of
    # a missing checkpoint)
    "bm-train-resume-overwrite": (["bm", "train", "{d}/rows.npy", "--out", "{d}/both",
                                   "--resume", "--overwrite"], "give only one of them"),
    "rbm-train-resume-overwrite": (["rbm", "train", "digits", "--out", "{d}/both",
                                    "--resume", "--overwrite"], "give only one of them"),
    # data-set options given with a .npy of rows were ignored, and the run went on
    "bm-train-rows-split": (["bm", "train", "{d}/rows.npy", "--out", "{d}/s_bm", "--split",
                             "test"], "--split"),
    "bm-train-rows-data-dir": (["bm", "train", "{d}/rows.npy", "--out", "{d}/s_bm",
                                "--data-dir", "{d}"], "--data-dir"),
    # --binarize none was turned into threshold without a word
    "bm-train-binarize-none": (["bm", "train", "digits", "--out", "{d}/s_bm", "--binarize",
                                "none"], "invalid choice"),
    # an empty data set name read the current folder as a folder of PNGs
    "data-show-empty-name": (["data", "show", "", "--out", "{d}/g.png"],
                             "data set name is empty"),
    "rbm-train-empty-data": (["rbm", "train", "", "--out", "{d}/e_rbm"],
                             "data set name is empty"),
    # --threads far beyond the CPUs: torch's thread pool exhausted the memory maps (crash)
    "rbm-train-threads-huge": (["rbm", "train", "digits", "--out", "{d}/t_rbm", "--threads",
                                "100000"], "--threads"),
    "tour-threads-huge": (["tour", "--quick", "--out", "{d}/t_tour", "--threads", "100000"],
                          "--threads"),
    # Gaussian-unit options with Bernoulli units were ignored
    "rbm-train-sigma-bernoulli": (["rbm", "train", "digits", "--out", "{d}/g_rbm", "--sigma",
                                   "2"], "--visible gaussian"),
    "rbm-train-fixed-variance-bernoulli": (["rbm", "train", "digits", "--out", "{d}/g_rbm",
                                            "--fixed-variance"], "--visible gaussian"),
    # AIS settings it cannot run with were refused only after the model and data were read,
    # naming n_runs / n_betas rather than the options
    "rbm-eval-ais-runs-1": (["rbm", "eval", "{d}/net", "digits", "--ais-runs", "1"],
                            "--ais-runs"),
    "rbm-eval-ais-betas-2": (["rbm", "eval", "{d}/net", "digits", "--ais-betas", "2"],
                             "--ais-betas"),
    # a modern network's beta or a Hebbian eta beyond float32: NaN states and energies,
    # printed as null with exit 0 (at store, at recall, in capacity)
    "hopfield-store-modern-beta-huge": (["hopfield", "store", "{d}/pats.npy", "--rule",
                                         "modern", "--beta", "1e308", "--out", "{d}/m"],
                                        "beta = 1e+308"),
    "hopfield-store-modern-beta-tiny": (["hopfield", "store", "{d}/pats.npy", "--rule",
                                         "modern", "--beta", "1e-300", "--out", "{d}/m"],
                                        "beta = 1e-300"),
    "hopfield-capacity-modern-beta-huge": (["hopfield", "capacity", "--rule", "modern",
                                            "--beta", "1e308", "--n", "10", "--alphas", "0.1",
                                            "--out", "{d}/c.png"], "beta = 1e+308"),
    "hopfield-store-eta-huge": (["hopfield", "store", "{d}/pats.npy", "--eta", "1e308",
                                 "--out", "{d}/h"], "eta = 1e+308"),
    "hopfield-recall-scale-huge": (["hopfield", "recall", "{d}/net_eta", "{d}/cues.npy"],
                                   "scale = 1e+308"),
    # a machine's config with a setting no machine has was loaded as if it were not there
    "bm-model-unknown-setting": (["bm", "exact", "--model", "{d}/bm_extra"],
                                 "unknown settings ['rule']"),
    # options the chosen rule does not use were ignored (recall refuses --mode already)
    "hopfield-capacity-beta-hebbian": (["hopfield", "capacity", "--rule", "hebbian", "--beta",
                                        "2", "--n", "10", "--alphas", "0.1", "--out",
                                        "{d}/c.png"], "--beta"),
    "hopfield-capacity-mode-modern": (["hopfield", "capacity", "--rule", "modern", "--mode",
                                       "sync", "--n", "10", "--alphas", "0.1", "--out",
                                       "{d}/c.png"], "drop --mode"),
    # --labels for data without labels drew the grid without captions, silently
    "data-show-labels-none": (["data", "show", "{d}/images.npy", "--labels", "--out",
                               "{d}/g.png"], "no labels"),
    # sampling options with --method exact, hidden-unit sweeps without hidden units: ignored
    "bm-train-exact-chains": (["bm", "train", "{d}/rows.npy", "--out", "{d}/e_bm", "--method",
                               "exact", "--chains", "5"], "--chains is not used"),
    "bm-train-clamped-sweeps-no-hidden": (["bm", "train", "{d}/rows.npy", "--out", "{d}/e_bm",
                                           "--clamped-sweeps", "3"], "without --hidden"),
    # the solved-check enumerates 2^(groups + hidden) states: 137 GB asked of the allocator
    # (a RuntimeError traceback) after training had started
    "bm-encoder-many-hidden": (["bm", "encoder", "--seeds", "1", "--hidden", "30", "--method",
                                "pcd", "--epochs", "5"], "groups + hidden must be at most"),
}

# Inputs that were refused with a traceback although they are fine: now they succeed.
ACCEPTED = {
    # the elastic net squared the distances of a matrix to embed it: LinAlgError
    "tsp-solve-elastic-large-distances": ["tsp", "solve", "{d}/D_1e200.npy", "--method",
                                          "elastic-net", "--restarts", "1"],
    # a UTF-8 byte-order mark before NAME (some editors write one) was a syntax error
    "tsp-info-bom": ["tsp", "info", "{d}/bom.tsp"],
}


@pytest.mark.parametrize("case", ACCEPTED, ids=list(ACCEPTED))
def test_accepted(cli, files, case):
    res = cli(*[a.format(d=files) for a in ACCEPTED[case]], "--json")
    assert res.code == 0, res.err
    assert "Traceback" not in res.err and "Warning" not in res.err
    assert res.json()


@pytest.mark.parametrize("json_flag", [[], ["--json"]], ids=["text", "json"])
@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_refused_in_one_line(user_error, files, case, json_flag):
    args, expected = CASES[case]
    line = user_error(*[a.format(d=files) for a in args], *json_flag)
    assert expected in line


def test_bm_train_diverging_says_why(cli, files):
    """A learning rate that sends the weights past float32 stopped with "weights contain NaN
    or infinite values" from deep inside; it now says the training diverged and what to do.
    (The run has logged its start, so the error is the last line, not the only one.)"""
    res = cli("bm", "train", f"{files}/rows.npy", "--epochs", "2", "--lr", "1e38", "--out",
              f"{files}/lr_bm", "--json")
    assert res.code == 2 and res.out == ""
    last = res.err.strip().splitlines()[-1]
    assert last.startswith("genlab: error: training diverged") and "learning rate" in last
    assert "Traceback" not in res.err


def test_rbm_eval_grey_levels_refused(cli, user_error, tmp_path):
    """A Bernoulli RBM's "log-likelihood" of grey-level data (--binarize none) was printed
    as if it meant something; now it is refused, and 0/1 data still evaluate."""
    model = tmp_path / "rbm"
    assert cli("rbm", "train", "digits", "--hidden", "3", "--epochs", "1", "--limit", "20",
               "--out", model).code == 0
    line = user_error("rbm", "eval", model, "digits", "--limit", "5", "--ais-runs", "2",
                      "--ais-betas", "5", "--binarize", "none", "--json")
    assert "needs 0/1 data" in line and "--binarize threshold" in line
    res = cli("rbm", "eval", model, "digits", "--limit", "5", "--ais-runs", "2",
              "--ais-betas", "5", "--json")
    assert res.code == 0 and res.json()["binarize"] == "threshold"


# An output named like one of the command's inputs overwrote it (the cues, the model's files,
# the weights, the instance, the data): each is now refused before anything is written.
CLOBBER = {
    "hopfield-recall-out-cues": ["hopfield", "recall", "{d}/net", "{d}/cues.npy", "--out",
                                 "{d}/cues.npy"],
    "hopfield-recall-out-model-json": ["hopfield", "recall", "{d}/net", "{d}/cues.npy",
                                       "--out", "{d}/net.json"],
    "bm-sample-out-weights": ["bm", "sample", "--weights", "{d}/W.npy", "--samples", "4",
                              "--out", "{d}/W.npy"],
    "bm-sample-trace-weights": ["bm", "sample", "--weights", "{d}/W.npy", "--samples", "4",
                                "--plot-trace", "{d}/./W.npy"],
    "tsp-solve-out-instance": ["tsp", "solve", "{d}/bom.tsp", "--out", "{d}/bom.tsp"],
    "bm-train-plot-data": ["bm", "train", "{d}/rows.npy", "--out", "{d}/x", "--plot",
                           "{d}/rows.npy"],
    "data-show-out-data": ["data", "show", "{d}/rows.npy", "--out", "{d}/rows.npy"],
    # two outputs of one command on one file: only the last would remain
    "bm-train-plot-model": ["bm", "train", "{d}/rows.npy", "--out", "{d}/y", "--plot",
                            "{d}/y.json"],
    "tsp-solve-plot-out": ["tsp", "solve", "random:5", "--out", "{d}/r.json", "--plot",
                           "{d}/r.json"],
}


@pytest.mark.parametrize("case", CLOBBER, ids=list(CLOBBER))
def test_outputs_never_overwrite_inputs(user_error, files, case):
    before = {p: p.read_bytes() for p in Path(files).iterdir() if p.is_file()}
    line = user_error(*[a.format(d=files) for a in CLOBBER[case]])
    assert "would overwrite" in line or "both write" in line
    assert {p: p.read_bytes() for p in Path(files).iterdir() if p.is_file()} == before


def test_symlinked_output_is_an_input_too(user_error, files, tmp_path):
    link = tmp_path / "link.npy"
    link.symlink_to(Path(files) / "cues.npy")
    line = user_error("hopfield", "recall", f"{files}/net", f"{files}/cues.npy", "--out", link)
    assert "would overwrite" in line


def test_outputs_beside_inputs_still_written(cli, files, tmp_path):
    res = cli("hopfield", "recall", f"{files}/net", f"{files}/cues.npy", "--out",
              tmp_path / "states.npy", "--json")
    assert res.code == 0 and (tmp_path / "states.npy").is_file()
