"""Boltzmann machine checkpoints: fit_boltzmann stopped (max_epochs, Ctrl-C, a torn save)
and resumed ends bitwise equal to the run that never stopped; other settings or data are
refused."""

from __future__ import annotations

import json
import signal

import pytest
import torch
from bm_helpers import one_thread  # noqa: F401  (one_thread: autouse fixture)

import genlab.boltzmann.learning as learning
from genlab.boltzmann.learning import BMTrainConfig, fit_boltzmann
from genlab.errors import GenlabError
from genlab.io import model_paths

DATA = torch.where(torch.rand(60, 5, generator=torch.Generator().manual_seed(1)) < 0.3, -1, 1)
CONFIGS = {
    "pcd": BMTrainConfig(n_hidden=2, epochs=5, batch_size=25, momentum=0.5, lr_decay=0.1,
                         data_noise=0.05),
    "exact": BMTrainConfig(n_hidden=1, epochs=5, batch_size=25, method="exact"),
    "fresh": BMTrainConfig(epochs=5, batch_size=25, method="fresh", sweeps=3,
                           anneal_from=0.5),
}


def train(method: str, seed: int = 4, data: torch.Tensor = DATA, **kwargs):
    return fit_boltzmann(data, CONFIGS[method], torch.Generator().manual_seed(seed), **kwargs)


def same(a, b) -> bool:
    """Bitwise equal machines, update counts and histories (NaN as NaN)."""
    return (torch.equal(a.model.weights, b.model.weights)
            and torch.equal(a.model.bias, b.model.bias) and a.updates == b.updates
            and json.dumps(a.history) == json.dumps(b.history))


@pytest.fixture(scope="module")
def full():
    return {m: train(m) for m in CONFIGS}


@pytest.mark.parametrize("method", list(CONFIGS))
def test_stopped_after_an_epoch_and_resumed_is_bitwise_the_full_run(full, method, tmp_path):
    ckpt = tmp_path / "ck"
    part = train(method, checkpoint=ckpt, max_epochs=2)
    assert part.updates == 4 and model_paths(ckpt)[1].is_file()
    resumed = train(method, checkpoint=ckpt, resume=True)
    assert same(resumed, full[method])
    assert not any(p.exists() for p in model_paths(ckpt))


@pytest.mark.parametrize(("method", "sweep"), [("pcd", 7), ("pcd", 4), ("fresh", 10)])
def test_ctrl_c_checkpoints_before_the_next_update_and_resumes_exactly(
        full, method, sweep, tmp_path, monkeypatch, ctrl_c_at, capsys):
    ckpt = tmp_path / "ck"
    ctrl_c_at(learning, "gibbs_sweep", sweep)
    with pytest.raises(KeyboardInterrupt):
        train(method, checkpoint=ckpt)
    monkeypatch.undo()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    err = capsys.readouterr().err
    assert f"; a checkpoint is in {ckpt}, and --resume continues from it" in err
    assert same(train(method, checkpoint=ckpt, resume=True), full[method])


def test_a_torn_checkpoint_save_resumes_from_the_one_before(full, tmp_path, monkeypatch,
                                                            kill_before_rename, capsys):
    ckpt = tmp_path / "ck"
    train("pcd", checkpoint=ckpt, max_epochs=1)
    kill_before_rename("ck.json")            # killed between the weights and the JSON
    with pytest.raises(KeyboardInterrupt):
        train("pcd", checkpoint=ckpt, resume=True)
    monkeypatch.undo()
    resumed = train("pcd", checkpoint=ckpt, resume=True)
    assert "did not finish; loaded the model saved before it" in capsys.readouterr().err
    assert same(resumed, full["pcd"])


def test_resume_under_other_settings_seed_or_data_is_refused(tmp_path):
    ckpt = tmp_path / "ck"
    train("pcd", checkpoint=ckpt, max_epochs=1)
    other = BMTrainConfig(**{**CONFIGS["pcd"].__dict__, "lr": 0.1})
    with pytest.raises(GenlabError, match=r"other settings \(lr 0\.05 there, 0\.1 here\)"):
        fit_boltzmann(DATA, other, torch.Generator().manual_seed(4), checkpoint=ckpt,
                      resume=True)
    with pytest.raises(GenlabError, match=r"other settings \(seed 4 there, 5 here\)"):
        train("pcd", seed=5, checkpoint=ckpt, resume=True)
    with pytest.raises(GenlabError, match="trained on other data .*fingerprint"):
        train("pcd", data=-DATA, checkpoint=ckpt, resume=True)
    with pytest.raises(GenlabError, match="already holds a training run"):
        train("pcd", checkpoint=ckpt)
    assert train("pcd", checkpoint=ckpt, overwrite=True).updates == 10


def test_max_epochs_needs_a_checkpoint():
    with pytest.raises(GenlabError, match="needs a checkpoint"):
        train("pcd", max_epochs=1)
