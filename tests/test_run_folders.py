"""Nothing the user had is lost in a run folder: a new run never mixes with an old one,
resume continues only what it can continue exactly, a torn checkpoint or metrics line
is survived, and Ctrl-C leaves a checkpoint that resumes to the uninterrupted result."""

import json
import signal

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from genlab.data import ImageDataset, load_dataset
from genlab.errors import GenlabError
from genlab.io import model_paths
from genlab.latent import VAE, VAEConfig
from genlab.train import CHECKPOINT_NAME, TrainConfig, fit, prepare_run, read_metrics, seeded_init

torch.set_num_threads(1)
CFG = dict(epochs=2, batch_size=64, checkpoint_every=3)


def small_vae() -> VAE:
    with seeded_init(0):
        return VAE(VAEConfig(image_shape=(8, 8), hidden=(16,), latent=3))


@pytest.fixture(scope="module")
def digits() -> ImageDataset:
    return load_dataset("digits", binarize="threshold", limit=320)


def same(a: nn.Module, b: nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(),
                                                 b.state_dict().values(), strict=True))


@pytest.fixture(scope="module")
def full(digits) -> VAE:
    """The uninterrupted run every interrupted one must end equal to."""
    model = small_vae()
    fit(model, digits, TrainConfig(**CFG), quiet=True)
    return model


def test_a_new_run_into_a_folder_holding_one_is_refused(digits, tmp_path):
    fit(small_vae(), digits, TrainConfig(**CFG, max_steps=4), run=tmp_path, quiet=True)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    with pytest.raises(GenlabError, match="already holds a training run .*--resume.*"
                                          "--overwrite"):
        fit(small_vae(), digits, TrainConfig(**CFG), run=tmp_path, quiet=True)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before
    r = fit(small_vae(), digits, TrainConfig(**CFG, max_steps=2), run=tmp_path, quiet=True,
            overwrite=True)
    assert r.steps == 2 and r.resumed_from is None
    assert [rec["step"] for rec in read_metrics(tmp_path / "metrics.jsonl")] == []


def test_outputs_named_by_the_caller_count_as_a_run(tmp_path):
    (tmp_path / "model.json").write_text("{}")
    with pytest.raises(GenlabError, match="model.json"):
        prepare_run(tmp_path, outputs=(tmp_path / "model.json",))
    assert not prepare_run(tmp_path, outputs=(tmp_path / "model.json",), overwrite=True,
                           check_only=True)
    assert (tmp_path / "model.json").exists()          # check_only deletes nothing
    prepare_run(tmp_path, outputs=(tmp_path / "model.json",), overwrite=True)
    assert not (tmp_path / "model.json").exists()
    (tmp_path / "f").write_text("x")
    with pytest.raises(GenlabError, match="is a file"):
        prepare_run(tmp_path / "f")


@pytest.mark.parametrize("change, match", [
    (dict(batch_size=32), "batch_size 64 there, 32 here"),
    (dict(seed=1), "seed 0 there, 1 here"),
    (dict(lr=2e-3), "lr 0.001 there, 0.002 here"),
    (dict(schedule="cosine"), "schedule 'constant' there, 'cosine' here"),
])
def test_resume_refuses_other_training_settings(digits, tmp_path, change, match):
    fit(small_vae(), digits, TrainConfig(**CFG, max_steps=4), run=tmp_path, quiet=True)
    with pytest.raises(GenlabError, match=match):
        fit(small_vae(), digits, TrainConfig(**{**CFG, **change}), run=tmp_path, resume=True,
            quiet=True)
    # how long it runs and how it logs may change
    r = fit(small_vae(), digits, TrainConfig(**{**CFG, "log_every": 7, "checkpoint_every": 5}),
            run=tmp_path, resume=True, quiet=True)
    assert r.resumed_from == 4


def test_more_epochs_resume_only_where_no_step_depends_on_the_run_length(digits, tmp_path):
    """A constant learning rate and a model without a KL warm-up compute the same steps in
    a longer run, so one may be extended; a cosine schedule or a warm-up may not."""
    def warm_vae() -> VAE:
        with seeded_init(0):
            return VAE(VAEConfig(image_shape=(8, 8), hidden=(16,), latent=3, kl_warmup=0.5))

    for name, make, cfg in [("cosine", small_vae, dict(CFG, schedule="cosine")),
                            ("warm-up", warm_vae, CFG)]:
        run = tmp_path / name
        fit(make(), digits, TrainConfig(**cfg, max_steps=4), run=run, quiet=True)
        with pytest.raises(GenlabError, match="epochs 2 there, 3 here"):
            fit(make(), digits, TrainConfig(**{**cfg, "epochs": 3}), run=run, resume=True,
                quiet=True)
    fit(small_vae(), digits, TrainConfig(**CFG), run=tmp_path / "c", quiet=True)
    longer = small_vae()
    r = fit(longer, digits, TrainConfig(**{**CFG, "epochs": 3}), run=tmp_path / "c",
            resume=True, quiet=True)
    assert r.resumed_from == 10 and r.steps == 15
    straight = small_vae()
    fit(straight, digits, TrainConfig(**{**CFG, "epochs": 3}), quiet=True)
    assert same(straight, longer)


def test_resume_refuses_other_data(digits, tmp_path):
    fit(small_vae(), digits, TrainConfig(**CFG, max_steps=4), run=tmp_path, quiet=True)
    other = load_dataset("digits", binarize="threshold", limit=320, split="test")
    with pytest.raises(GenlabError, match="trained on other data .*fingerprint"):
        fit(small_vae(), other, TrainConfig(**CFG), run=tmp_path, resume=True, quiet=True)
    with pytest.raises(GenlabError, match="trained on other data .*n 320 there, 300 here"):
        fit(small_vae(), digits.with_options(images=digits.images[:300]), TrainConfig(**CFG),
            run=tmp_path, resume=True, quiet=True)
    with pytest.raises(GenlabError, match="other data"):
        fit(small_vae(), digits.with_options(binarize="bernoulli"), TrainConfig(**CFG),
            run=tmp_path, resume=True, quiet=True)


@pytest.mark.parametrize("missing", ["json", "safetensors"])
def test_a_checkpoint_missing_one_file_is_refused_not_restarted(digits, tmp_path, missing):
    fit(small_vae(), digits, TrainConfig(**CFG, max_steps=4), run=tmp_path, quiet=True)
    (tmp_path / f"{CHECKPOINT_NAME}.{missing}").unlink()
    with pytest.raises(GenlabError, match=f"checkpoint without its {CHECKPOINT_NAME}.{missing}"):
        fit(small_vae(), digits, TrainConfig(**CFG), run=tmp_path, resume=True, quiet=True)


def test_a_torn_checkpoint_save_resumes_from_the_one_before(digits, full, tmp_path,
                                                             monkeypatch, kill_before_rename,
                                                             capsys):
    """The checkpoint of step 6 stops between its two renames: resume takes the complete
    checkpoint of step 3 and still ends bitwise equal to the uninterrupted run."""
    fit(small_vae(), digits, TrainConfig(**CFG, max_steps=3), run=tmp_path, quiet=True)
    kill_before_rename(f"{CHECKPOINT_NAME}.json")  # killed between the weights and the JSON
    with pytest.raises(KeyboardInterrupt):
        fit(small_vae(), digits, TrainConfig(**CFG), run=tmp_path, resume=True, quiet=True)
    monkeypatch.undo()
    resumed = small_vae()
    r = fit(resumed, digits, TrainConfig(**CFG), run=tmp_path, resume=True, quiet=True)
    assert r.resumed_from == 3
    assert "did not finish; loaded the model saved before it" in capsys.readouterr().err
    assert same(full, resumed)


def test_a_torn_last_metrics_line_is_dropped_with_a_warning(digits, full, tmp_path, capsys):
    fit(small_vae(), digits, TrainConfig(**CFG, max_steps=4, log_every=1), run=tmp_path,
        quiet=True)
    path = tmp_path / "metrics.jsonl"
    path.write_text(path.read_text() + '{"step": 5, "epo')
    resumed = small_vae()
    fit(resumed, digits, TrainConfig(**CFG, log_every=1), run=tmp_path, resume=True, quiet=True)
    assert "was cut short" in capsys.readouterr().err
    steps = [r["step"] for r in read_metrics(path) if r["split"] == "train"]
    assert steps == list(range(1, 11))
    assert same(full, resumed)
    path.write_text('{"step": 1}\nnot json\n{"step": 2}\n')
    with pytest.raises(GenlabError, match="line 2 of .* is not a metrics record"):
        read_metrics(path)


class CtrlC(VAE):
    """A VAE that presses Ctrl-C (SIGINT to its own process) before step ``at``."""

    at = -1

    def set_progress(self, step, total):
        super().set_progress(step, total)
        if step == self.at:
            signal.raise_signal(signal.SIGINT)


def test_ctrl_c_writes_a_checkpoint_that_resumes_exactly(digits, full, tmp_path, capsys):
    with seeded_init(0):
        model = CtrlC(VAEConfig(image_shape=(8, 8), hidden=(16,), latent=3))
    model.at = 4
    with pytest.raises(KeyboardInterrupt):
        fit(model, digits, TrainConfig(**CFG), run=tmp_path)
    err = capsys.readouterr().err
    assert "interrupted at step 5; a checkpoint is in" in err and "--resume" in err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    state = json.loads(model_paths(tmp_path / CHECKPOINT_NAME)[1].read_text())["meta"]["loop"]
    assert state["step"] == 5
    resumed = small_vae()
    r = fit(resumed, digits, TrainConfig(**CFG), run=tmp_path, resume=True, quiet=True)
    assert r.resumed_from == 5 and same(full, resumed)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_generated_checkpoint_corruptions_resume_or_raise_genlab_error(digits, tmp_path_factory,
                                                                       json_values, data):
    run = tmp_path_factory.mktemp("run")
    fit(small_vae(), digits, TrainConfig(**CFG, max_steps=4), run=run, quiet=True)
    jpath = model_paths(run / CHECKPOINT_NAME)[1]
    header = json.loads(jpath.read_text())
    loop, opt = header["meta"]["loop"], header["meta"]["optimizer"]
    target = data.draw(st.sampled_from([
        (loop, sorted(loop)), (opt, ["param_groups", "scalars"]),
        (opt["param_groups"][0], sorted(opt["param_groups"][0])),
        (header["meta"], ["loop", "optimizer", "model", "data"]),
        (header["config"], sorted(header["config"]))]))
    section, keys = target
    section[data.draw(st.sampled_from(keys))] = data.draw(json_values)
    jpath.write_text(json.dumps(header))
    try:
        fit(small_vae(), digits, TrainConfig(**CFG), run=run, resume=True, quiet=True)
    except GenlabError as exc:
        assert "\n" not in str(exc)
