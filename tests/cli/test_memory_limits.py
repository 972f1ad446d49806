"""Sizes far beyond the machine's memory are refused in one line, before any allocation."""

import time

import numpy as np
import pytest

from genlab.cli.main import main

HUGE = 10 ** 12


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A 6-unit machine, ±1 rows, an RBM, a beta-VAE and a VAE run trained for a moment."""
    d = tmp_path_factory.mktemp("limits")
    rng = np.random.default_rng(0)
    w = np.triu(rng.normal(size=(6, 6)), 1)
    np.save(d / "W.npy", w + w.T)
    np.save(d / "rows.npy", np.where(rng.random((40, 6)) < 0.5, -1.0, 1.0))
    assert main(["rbm", "train", "digits", "--hidden", "8", "--epochs", "1", "--limit", "100",
                 "--out", str(d / "rbm"), "--device", "cpu"]) == 0
    assert main(["disentangle", "train", "--steps", "1", "--batch-size", "8", "--limit", "16",
                 "--latent", "3", "--checkpoint-every", "0", "--out", str(d / "beta"),
                 "--device", "cpu"]) == 0
    assert main(["vae", "train", "digits", "--latent", "2", "--hidden", "16", "--epochs", "1",
                 "--limit", "100", "--out", str(d / "vae"), "--device", "cpu"]) == 0
    return d


CASES = [
    ("hopfield capacity --n {huge} --device cpu", "{huge} units"),
    ("tsp solve random:{huge} --device cpu", "random:{huge}"),
    ("tsp exact random:{huge}", "random:{huge}"),
    ("tsp solve burma14 --restarts {huge} --device cpu", "{huge} restarts"),
    ("tsp solve burma14 --method hopfield-tank --restarts {huge} --device cpu", "{huge} restarts"),
    ("tsp solve burma14 --method elastic-net --restarts {huge} --device cpu", "{huge} restarts"),
    ("bm sample --weights {d}/W.npy --chains {huge} --device cpu", "{huge} chains"),
    ("bm sample --weights {d}/W.npy --samples {huge} --device cpu", "{huge} samples"),
    ("bm sample --weights {d}/W.npy --burn-in {huge} --device cpu", "burn-in {huge}"),
    ("bm meanfield --weights {d}/W.npy --restarts {huge}", "{huge} restarts"),
    ("bm train {d}/rows.npy --hidden {huge} --out {d}/bm --device cpu", "6+{huge} units"),
    ("bm train {d}/rows.npy --chains {huge} --out {d}/bm --device cpu", "{huge} chains"),
    ("rbm train digits --hidden {huge} --limit 50 --out {d}/r --device cpu", "{huge} hidden"),
    ("rbm eval {d}/rbm digits --limit 50 --ais-runs {huge} --device cpu", "{huge} runs"),
    ("rbm eval {d}/rbm digits --limit 50 --ais-betas {huge} --device cpu", "{huge} betas"),
    ("rbm sample {d}/rbm --n {huge} --out {d}/s.png --device cpu", "{huge} chains"),
    ("rbm eval {d}/rbm digits --limit 50 --ais-runs 2 --ais-betas 10 --raise-runs {huge} "
     "--device cpu", "{huge} runs"),
    ("rbm train digits --hidden 8 --limit 50 --method pt --pt-chains {huge} --out {d}/r "
     "--device cpu", "{huge}"),
    ("tsp solve burma14 --method som --restarts {huge} --device cpu", "{huge} restarts"),
    ("vae train digits --hidden {huge} --limit 50 --out {d}/v --device cpu", "--hidden {huge}"),
    ("vae train digits --latent {huge} --limit 50 --out {d}/v --device cpu", "--latent {huge}"),
    ("ae train digits --latent {huge} --limit 50 --out {d}/a --device cpu", "--latent {huge}"),
    ("disentangle train --latent {huge} --limit 64 --out {d}/b --device cpu", "--latent {huge}"),
    ("vae sample {d}/vae --n {huge} --out {d}/s.png --device cpu", "--n {huge}"),
    ("vae manifold {d}/vae --grid {huge} --out {d}/m.png --device cpu", "--grid {huge}"),
    ("disentangle axes {d}/beta --n {huge} --device cpu", "{huge} codes"),
    ("gumbel sample --logits 1,2 --n {huge} --device cpu", "--n {huge}"),
    ("gumbel plot --n-mc {huge} --out {d}/g.png", "{huge} samples"),
]


@pytest.mark.parametrize("command, mentions", CASES, ids=[c for c, _ in CASES])
def test_absurd_sizes_are_refused_fast_in_one_line(user_error, files, command, mentions):
    args = command.format(d=files, huge=HUGE).split()
    t0 = time.perf_counter()
    line = user_error(*args)
    assert time.perf_counter() - t0 < 10  # refused before anything large is tried
    assert mentions.format(huge=HUGE) in line
    assert "needs about" in line and "available" in line


def test_recall_max_sweeps_allocates_nothing_up_front(cli, tmp_path):
    """The energy history grows with the sweeps run, not with --max-sweeps."""
    rng = np.random.default_rng(1)
    pats = np.where(rng.random((3, 50)) < 0.5, -1, 1)
    np.save(tmp_path / "p.npy", pats)
    assert cli("hopfield", "store", tmp_path / "p.npy", "--out", tmp_path / "net").code == 0
    t0 = time.perf_counter()
    res = cli("hopfield", "recall", tmp_path / "net", tmp_path / "p.npy", "--max-sweeps",
              HUGE, "--json")
    assert res.code == 0, res.err
    assert time.perf_counter() - t0 < 10
    assert all(r["converged"] for r in res.json()["results"])
