"""The library tasks return what the commands print: each task's ``to_dict()`` equals the
``--json`` output of the command that calls it, key for key and value for value."""

import json

import pytest

from genlab.cli.main import main
from genlab.latent import ae_preset, train_ae, train_vae, vae_preset
from genlab.latent.gumbel_tasks import draw_gumbel_samples, temperature_figure
from genlab.latent.tasks import (
    decode_manifold,
    evaluate_ae,
    evaluate_vae,
    reconstruct_test_images,
    sample_vae,
    traverse_latents,
)

TIMING = ("seconds", "epoch_seconds", "out")  # wall-clock times and the folder differ


def cli_json(capsys, *argv) -> dict:
    assert main([str(a) for a in argv] + ["--json"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("runs")
    vae = train_vae(vae_preset("digits", latent=2, hidden=(16,), epochs=1, limit=200, seed=2),
                    base / "vae")
    ae = train_ae(ae_preset("digits", corrupt="mask:0.3", epochs=1, limit=200, seed=2),
                  base / "ae")
    return base, vae, ae


def test_train_results_equal_the_commands_json(capsys, tmp_path, runs):
    _, vae, ae = runs
    printed = cli_json(capsys, "vae", "train", "digits", "--latent", 2, "--hidden", 16,
                       "--epochs", 1, "--limit", 200, "--seed", 2, "--out", tmp_path / "v")
    ours = vae.to_dict()
    assert printed.keys() == ours.keys()
    assert {k: v for k, v in printed.items() if k not in TIMING} == \
        {k: v for k, v in ours.items() if k not in TIMING}
    printed = cli_json(capsys, "ae", "train", "digits", "--corrupt", "mask:0.3", "--epochs", 1,
                       "--limit", 200, "--seed", 2, "--out", tmp_path / "a")
    ours = ae.to_dict()
    assert printed.keys() == ours.keys()
    assert {k: v for k, v in printed.items() if k not in TIMING} == \
        {k: v for k, v in ours.items() if k not in TIMING}


def test_run_tasks_equal_the_commands_json(capsys, tmp_path, runs):
    base, _, _ = runs
    vae, ae = base / "vae", base / "ae"
    assert cli_json(capsys, "vae", "eval", vae, "--iw", 5, "--n", 30, "--seed", 1) == \
        evaluate_vae(vae, iw=5, n=30, seed=1).to_dict()
    png = tmp_path / "s.png"
    assert cli_json(capsys, "vae", "sample", vae, "--n", 9, "--out", png) == \
        sample_vae(vae, png, n=9).to_dict()
    assert cli_json(capsys, "vae", "reconstruct", vae, "--n", 4, "--out", png) == \
        reconstruct_test_images(vae, png, n=4).to_dict()
    codes = tmp_path / "c.png"
    assert cli_json(capsys, "vae", "manifold", vae, "--grid", 3, "--out", png) == \
        decode_manifold(vae, png, grid=3).to_dict()
    assert cli_json(capsys, "vae", "manifold", vae, "--grid", 3, "--out", png, "--codes",
                    codes, "--n", 20) == \
        decode_manifold(vae, png, grid=3, codes=codes, n=20).to_dict()
    assert cli_json(capsys, "vae", "traverse", vae, "--steps", 3, "--n-kl", 20, "--index", 2,
                    "--out", png, "--seed", 1) == \
        traverse_latents(vae, png, steps=3, n_kl=20, index=2, seed=1).to_dict()
    for extra, corrupt in (((), None), (("--corrupt", "none"), ""),
                           (("--corrupt", "gauss:0.2"), "gauss:0.2")):
        printed = cli_json(capsys, "ae", "eval", ae, "--n", 40, *extra)
        assert printed == evaluate_ae(ae, n=40, corrupt=corrupt).to_dict()
        assert ("denoise_mse" in printed) == (corrupt != "")
    assert cli_json(capsys, "ae", "reconstruct", ae, "--n", 4, "--out", png) == \
        reconstruct_test_images(ae, png, n=4).to_dict()


def test_gumbel_tasks_equal_the_commands_json(capsys, tmp_path):
    printed = cli_json(capsys, "gumbel", "sample", "--logits", "1,0,-inf", "--method", "soft",
                       "--tau", "0.5", "--n", 300, "--seed", 4, "--device", "cpu")
    assert printed == draw_gumbel_samples([1, 0, float("-inf")], method="soft", tau=0.5, n=300,
                                          seed=4).to_dict()
    png = tmp_path / "t.png"
    assert cli_json(capsys, "gumbel", "plot", "--taus", "0.5,2", "--n-mc", 200, "--out",
                    png) == temperature_figure(png, taus=(0.5, 2), n_mc=200).to_dict()
