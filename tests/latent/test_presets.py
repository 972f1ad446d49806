"""The presets are what the commands train: ``genlab vae train DATA`` builds exactly
``vae_preset(DATA)``, and one seed gives one set of initial weights whichever of the CLI,
the library or the tour builds the model."""

from types import SimpleNamespace

import pytest
import torch

from genlab.cli.main import main
from genlab.data import load_dataset
from genlab.errors import GenlabError
from genlab.latent import VAE, VAEConfig, ae_preset, train_ae, train_vae, vae_preset
from genlab.latent import training as training_module
from genlab.latent.presets import categorical_vae_preset


@pytest.fixture
def captured(monkeypatch):
    """Replace the training loop: record the model (its initial weights), the data and the
    TrainConfig each run would train, and report a run of no steps."""
    seen: list[dict] = []

    def record(model, data, config, run, **kwargs):
        seen.append({"model": model, "state": {k: v.clone() for k, v in
                                               model.state_dict().items()},
                     "data": data, "config": config})
        return SimpleNamespace(steps=0, epochs=0, seconds=0.0, epoch_seconds=[],
                               train_loss=[], val_loss=[], stopped_early=False,
                               resumed_from=None)

    monkeypatch.setattr(training_module, "train_run", record)
    return seen


def assert_same_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:  # bit for bit; a NaN buffer (no REINFORCE baseline yet) equals a NaN
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, equal_nan=True, msg=key)


def test_reference_network_is_not_a_preset():
    assert VAE(VAEConfig()).config.hidden == (400,) and VAEConfig().latent == 20
    p = vae_preset("fashion-mnist")
    assert p.model_config.hidden == (1024, 512) and p.model_config.activation == "silu"
    assert p.train_config.amp is True and p.train_config.schedule == "cosine"
    assert p.model_config.kl_warmup == 0.5 and p.train_config.lr == 3e-3


def test_fashion_mnist_cli_trains_the_library_preset(captured, tmp_path, capsys):
    try:
        load_dataset("fashion-mnist", split="test", limit=1)
    except GenlabError:
        pytest.skip("Fashion-MNIST is not installed")
    assert main(["vae", "train", "fashion-mnist", "--out", str(tmp_path / "r")]) == 0
    (run,) = captured
    preset = vae_preset("fashion-mnist")
    assert run["model"].config == preset.model_config
    assert run["config"] == preset.train_config
    assert (run["data"].name, run["data"].binarize, len(run["data"])) == (
        "fashion-mnist", preset.binarize, 60000)


def test_flags_override_preset_fields(captured, tmp_path):
    assert main(["vae", "train", "digits", "--latent", "3", "--lr", "0.01", "--epochs", "2",
                 "--seed", "4", "--out", str(tmp_path / "r")]) == 0
    preset = vae_preset("digits", latent=3, lr=0.01, epochs=2, seed=4)
    assert captured[0]["model"].config == preset.model_config
    assert captured[0]["config"] == preset.train_config
    assert preset.model_config.hidden == (128,)  # the rest stays the digits preset


def test_unknown_override_is_refused():
    with pytest.raises(GenlabError, match="unknown preset setting 'hiden'"):
        vae_preset("digits", hiden=(3,))


@pytest.mark.parametrize("seed", [0, 11])
def test_one_seed_one_vae(captured, tmp_path, seed):
    """The CLI, train_vae and the preset's own model() start from the same weights."""
    assert main(["vae", "train", "digits", "--seed", str(seed), "--limit", "200",
                 "--out", str(tmp_path / "cli")]) == 0
    preset = vae_preset("digits", seed=seed, limit=200)
    train_vae(preset, tmp_path / "lib")
    cli, lib = captured
    assert_same_weights(cli["state"], lib["state"])
    direct = preset.model(lib["data"].image_shape)
    direct.init_output_bias(lib["data"].images.mean(0))
    assert_same_weights(cli["state"], direct.state_dict())
    other = vae_preset("digits", seed=seed + 1).model((8, 8)).state_dict()
    assert any(not torch.equal(other[k], v) for k, v in preset.model((8, 8)).state_dict().items())


def test_one_seed_one_categorical_vae_and_autoencoder(captured, tmp_path):
    assert main(["vae", "train", "digits", "--latent-type", "categorical", "--categories",
                 "4x3", "--anneal-rate", "3e-4", "--seed", "3", "--limit", "100",
                 "--out", str(tmp_path / "c")]) == 0
    train_vae(categorical_vae_preset("digits", categories=(4, 3), anneal_rate=3e-4, seed=3,
                                     limit=100), tmp_path / "c2", latent_type="categorical")
    assert main(["ae", "train", "digits", "--corrupt", "mask:0.3", "--seed", "3", "--limit",
                 "100", "--out", str(tmp_path / "a")]) == 0
    train_ae(ae_preset("digits", corrupt="mask:0.3", seed=3, limit=100), tmp_path / "a2")
    cat_cli, cat_lib, ae_cli, ae_lib = captured
    assert cat_cli["model"].config == cat_lib["model"].config
    assert_same_weights(cat_cli["state"], cat_lib["state"])
    assert ae_cli["model"].config == ae_lib["model"].config
    assert ae_cli["config"] == ae_lib["config"]
    assert_same_weights(ae_cli["state"], ae_lib["state"])
