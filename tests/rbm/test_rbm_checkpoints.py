"""RBM checkpoints: a fit stopped (max_epochs, Ctrl-C, a torn checkpoint save) and resumed
ends bitwise equal to the fit that never stopped; other settings or data are refused."""

from __future__ import annotations

import json
import signal

import numpy as np
import pytest

import genlab.rbm.base as rbm_base
from genlab.errors import GenlabError
from genlab.io import model_paths
from genlab.rbm import BernoulliRBM, GaussianBernoulliRBM

ROWS, BATCH = 43, 8            # 6 mini-batches an epoch, the last one short
X = (np.random.default_rng(0).random((ROWS, 10)) < 0.3).astype(np.float64)


def settings(method: str = "pcd", **extra) -> dict:
    return dict(n_components=5, n_iter=4, batch_size=BATCH, method=method, k=2, momentum=0.5,
                learning_rate_schedule="linear", random_state=3, **extra)


def same(a, b) -> bool:
    """Bitwise equal fitted states."""
    return all(np.array_equal(getattr(a, k), getattr(b, k)) for k in
               ("components_", "intercept_hidden_", "intercept_visible_", "h_samples_"))


@pytest.fixture(scope="module")
def full():
    return {m: BernoulliRBM(**settings(m)).fit(X) for m in ("cd", "pcd")}


@pytest.mark.parametrize("method", ["cd", "pcd"])
def test_stopped_after_an_epoch_and_resumed_is_bitwise_the_full_fit(full, method, tmp_path):
    ckpt = tmp_path / "ck"
    part = BernoulliRBM(**settings(method)).fit(X, checkpoint=ckpt, max_epochs=2)
    assert model_paths(ckpt)[1].is_file()
    meta = json.loads(model_paths(ckpt)[1].read_text())["meta"]
    assert (meta["epoch"], meta["row"]) == (2, 0)
    assert not np.array_equal(part.components_, full[method].components_)
    resumed = BernoulliRBM(**settings(method)).fit(X, checkpoint=ckpt, resume=True)
    assert same(resumed, full[method])
    assert not any(p.exists() for p in model_paths(ckpt))  # a finished run drops it


@pytest.mark.parametrize(("method", "update"), [("cd", 9), ("pcd", 6), ("pcd", 7)])
def test_ctrl_c_checkpoints_at_the_next_mini_batch_and_resumes_exactly(
        full, method, update, tmp_path, monkeypatch, ctrl_c_at, capsys):
    """Update 6 is the last of epoch 1: Ctrl-C there stops at the first mini-batch of
    epoch 2, after its row order was drawn."""
    ckpt = tmp_path / "ck"
    ctrl_c_at(rbm_base, "cd_update", update)   # Ctrl-C during mini-batch update ``update``
    with pytest.raises(KeyboardInterrupt):
        BernoulliRBM(**settings(method)).fit(X, checkpoint=ckpt)
    monkeypatch.undo()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    epoch, row = divmod(update, 6)
    err = capsys.readouterr().err
    assert f"interrupted at epoch {epoch + 1}, row {row * BATCH} of {ROWS}; a checkpoint is " \
           f"in {ckpt}" in err and "--resume" in err
    meta = json.loads(model_paths(ckpt)[1].read_text())["meta"]
    assert (meta["epoch"], meta["row"]) == (epoch, row * BATCH)
    resumed = BernoulliRBM(**settings(method)).fit(X, checkpoint=ckpt, resume=True)
    assert same(resumed, full[method])


def test_gaussian_units_resume_exactly(tmp_path):
    kw = settings("pcd", learning_rate=0.01)
    data = np.random.default_rng(1).normal(size=(ROWS, 10))
    whole = GaussianBernoulliRBM(**kw).fit(data)
    GaussianBernoulliRBM(**kw).fit(data, checkpoint=tmp_path / "g", max_epochs=3)
    resumed = GaussianBernoulliRBM(**kw).fit(data, checkpoint=tmp_path / "g", resume=True)
    assert same(resumed, whole)
    assert np.array_equal(resumed.log_variance_, whole.log_variance_)


def test_a_torn_checkpoint_save_resumes_from_the_one_before(full, tmp_path, monkeypatch,
                                                            kill_before_rename, capsys):
    """The checkpoint of epoch 2 stops between its two renames: resume takes the complete
    checkpoint of epoch 1 and still ends bitwise equal to the fit that never stopped."""
    ckpt = tmp_path / "ck"
    BernoulliRBM(**settings()).fit(X, checkpoint=ckpt, max_epochs=1)
    kill_before_rename("ck.json")            # killed between the weights and the JSON
    with pytest.raises(KeyboardInterrupt):
        BernoulliRBM(**settings()).fit(X, checkpoint=ckpt, resume=True)
    monkeypatch.undo()
    resumed = BernoulliRBM(**settings()).fit(X, checkpoint=ckpt, resume=True)
    assert "did not finish; loaded the model saved before it" in capsys.readouterr().err
    assert same(resumed, full["pcd"])


def test_resume_under_other_settings_or_data_is_refused(full, tmp_path):
    ckpt = tmp_path / "ck"
    BernoulliRBM(**settings()).fit(X, checkpoint=ckpt, max_epochs=1)
    with pytest.raises(GenlabError, match=r"other settings \(learning_rate 0\.1 there, 0\.2 "
                                          r"here\); resume with the same settings"):
        BernoulliRBM(**settings(learning_rate=0.2)).fit(X, checkpoint=ckpt, resume=True)
    with pytest.raises(GenlabError, match=r"other settings \(random_state 3 there, 4 here"):
        BernoulliRBM(**{**settings(), "random_state": 4}).fit(X, checkpoint=ckpt, resume=True)
    with pytest.raises(GenlabError, match="trained on other data .*fingerprint"):
        BernoulliRBM(**settings()).fit(1 - X, checkpoint=ckpt, resume=True)
    with pytest.raises(GenlabError, match="trained on other data .*n 43 there, 40 here"):
        BernoulliRBM(**settings()).fit(X[:40], checkpoint=ckpt, resume=True)
    with pytest.raises(GenlabError, match="GaussianBernoulliRBM.checkpoint"):
        GaussianBernoulliRBM(**settings()).fit(X, checkpoint=ckpt, resume=True)
    # how it reports is not what it computes: verbose may change
    resumed = BernoulliRBM(**settings(verbose=1)).fit(X, checkpoint=ckpt, resume=True)
    assert same(resumed, full["pcd"])


def test_an_unfinished_run_is_refused_unless_resumed_or_overwritten(full, tmp_path):
    ckpt = tmp_path / "ck"
    BernoulliRBM(**settings()).fit(X, checkpoint=ckpt, max_epochs=1)
    before = model_paths(ckpt)[0].read_bytes()
    with pytest.raises(GenlabError, match="already holds a training run .*--resume.*"
                                          "--overwrite"):
        BernoulliRBM(**settings()).fit(X, checkpoint=ckpt)
    assert model_paths(ckpt)[0].read_bytes() == before   # refused before any work
    fresh = BernoulliRBM(**settings()).fit(X, checkpoint=ckpt, overwrite=True,
                                           keep_checkpoint=True)
    assert same(fresh, full["pcd"]) and model_paths(ckpt)[1].is_file()
    # a kept checkpoint of a finished run resumes to the same model at once
    assert same(BernoulliRBM(**settings()).fit(X, checkpoint=ckpt, resume=True), full["pcd"])


def test_damaged_checkpoint_positions_are_refused(tmp_path):
    ckpt = tmp_path / "ck"
    BernoulliRBM(**settings()).fit(X, checkpoint=ckpt, max_epochs=1)
    jpath = model_paths(ckpt)[1]
    header = json.loads(jpath.read_text())
    for loop in ({"epoch": 9, "row": 0}, {"epoch": 1, "row": 3}, {"epoch": 1, "row": 8},
                 {"epoch": -1, "row": 0}, {"epoch": 1}):
        jpath.write_text(json.dumps({**header, "meta": {**header["meta"], **loop,
                                                        "row": loop.get("row")}}))
        with pytest.raises(GenlabError):
            BernoulliRBM(**settings()).fit(X, checkpoint=ckpt, resume=True)


def test_max_epochs_needs_a_checkpoint():
    with pytest.raises(GenlabError, match="needs a checkpoint"):
        BernoulliRBM(**settings()).fit(X, max_epochs=1)
