"""The pretrained models shipped in ``genlab.pretrained``: each loads through the catalogue,
through ``pretrained:NAME`` on the command line and in ``genlab.load``, and its recorded
scores are recomputed from the shipped weights with the recorded seed and settings."""

import json
import shlex

import numpy as np
import pytest
import torch

import genlab
import genlab.io
from genlab import pretrained
from genlab.cli.main import main
from genlab.errors import GenlabError
from genlab.io import open_model, save_model

NAMES = pretrained.names()
MAX_TOTAL_BYTES = 10 * 10**6


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """``genlab argv...`` in-process: (exit code, stdout, stderr)."""
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def user_error(capsys, *argv: str) -> str:
    """The one ``genlab: error:`` line of a command that must fail with exit 2."""
    code, out, err = run(capsys, *argv)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("genlab: error: "), (code, err)
    return lines[0]


def lookup(result: dict, key: str) -> float:
    for part in key.split("."):
        result = result[part]
    return float(result)


def test_a_model_is_shipped_and_all_fit_in_10_mb():
    assert "rbm-mnist5k" in NAMES
    assert pretrained.total_bytes() < MAX_TOTAL_BYTES


@pytest.mark.parametrize("name", NAMES)
def test_meta_records_how_the_model_was_made(name):
    entry = pretrained.get(name)
    info = open_model(f"pretrained:{name}").meta["pretrained"]
    assert set(pretrained.REQUIRED_FIELDS) <= set(info)
    assert entry.name == name and entry.path == pretrained.path(name)
    assert entry.description and entry.command.startswith("genlab ")
    assert entry.score_command.startswith("genlab ") and f"pretrained:{name}" in \
        entry.score_command
    assert f"--seed {entry.seed}" in entry.command
    assert entry.scores and all(isinstance(v, float) for v in entry.scores.values())
    assert entry.genlab_version and len(entry.genlab_commit.split("+")[0]) == 40
    assert entry.train_seconds > 0 and entry.machine and entry.date[:2] == "20"
    assert entry.weights_dtype in ("float16", "float32")
    assert entry.size_bytes == sum(p.stat().st_size for p in
                                   (entry.path.with_suffix(".safetensors"),
                                    entry.path.with_suffix(".json")))


@pytest.mark.parametrize("name", NAMES)
def test_loads_through_the_catalogue_and_by_name(name):
    by_name = genlab.load(f"pretrained:{name}")
    by_path = genlab.load(pretrained.path(name))
    assert type(by_name) is type(by_path)
    saved = open_model(f"pretrained:{name}")
    assert saved.kind == pretrained.get(name).kind
    # stored in half precision where the scores allowed it, always computed in float32
    assert all(t.dtype == torch.float32 for t in saved.tensors().values()
               if t.is_floating_point())


# The BetaVAE score's votes of 64 image pairs take a minute per shipped model on two cores: the
# default run recomputes the other recorded scores, the slow run all of them. Each metric
# draws its factors from the seed alone, so a subset scores what the whole command scores.
SLOW_METRICS = ("betavae",)


def recompute(capsys, name: str, slow: bool) -> None:
    """Run ``name``'s recorded score command again on the shipped weights (without the slow
    metrics unless ``slow``) and compare every recorded score it prints."""
    entry = pretrained.get(name)
    words = shlex.split(entry.score_command)
    assert words[0] == "genlab" and "--json" in words
    keys = list(entry.scores)
    if "--metrics" in words:
        at = words.index("--metrics") + 1
        metrics = words[at].split(",")
        kept = [m for m in metrics if slow or m not in SLOW_METRICS]
        if kept != metrics:
            if not kept:
                pytest.skip("only slow metrics recorded")
            words[at] = ",".join(kept)
            keys = [k for k in keys if k.split(".")[0] in kept]
    code, out, err = run(capsys, *words[1:])
    assert code == 0, err
    result = json.loads(out)
    for key in keys:
        assert lookup(result, key) == pytest.approx(entry.scores[key], rel=1e-6, abs=1e-6), key


@pytest.mark.parametrize("name", NAMES)
def test_recorded_scores_recompute_from_the_weights(capsys, name):
    """The recorded score command, run again on the shipped weights with the recorded seed,
    gives the recorded numbers (AIS and the metrics are deterministic on the CPU)."""
    recompute(capsys, name, slow=False)


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in NAMES
                                  if any(m in pretrained.get(n).score_command
                                         for m in SLOW_METRICS)])
def test_recorded_slow_scores_recompute_from_the_weights(capsys, name):
    recompute(capsys, name, slow=True)


def test_rbm_scores_within_error_of_float32():
    """float16 storage was kept only where it left the score within the AIS error."""
    entry = pretrained.get("rbm-mnist5k")
    full, error = entry.extra["float32_scores"], entry.scores["log_z_std_err"]
    if entry.weights_dtype == "float16":
        gap = abs(entry.scores["log_likelihood"] - full["log_likelihood"])
        assert gap <= full["log_z_std_err"] + 1e-9, (gap, error)
    assert entry.extra["score_settings"]["ais_runs"] >= 2
    assert entry.scores["log_likelihood"] < 0


PAIR = ("betavae-dsprites-capacity", "vae-dsprites-beta1")


def test_the_beta_vae_pair_is_shipped_with_one_seed_and_budget():
    """The capacity form and the plain VAE differ only in the objective: the same seed,
    steps, batch size, learning rate and threads in their recorded commands."""
    assert set(PAIR) <= set(NAMES)
    capacity, plain = (shlex.split(pretrained.get(n).command) for n in PAIR)
    objective = {"--capacity", "--capacity-steps", "--gamma", "--beta"}

    def budget(words):
        return {w: words[i + 1] for i, w in enumerate(words)
                if w.startswith("--") and w not in objective | {"--out"}}

    assert budget(capacity) == budget(plain)
    assert "--capacity" in capacity and plain[plain.index("--beta") + 1] == "1"
    assert pretrained.get(PAIR[0]).seed == pretrained.get(PAIR[1]).seed


@pytest.mark.parametrize("name", [n for n in NAMES if n in PAIR])
def test_beta_vae_scores_within_error_of_float32(name):
    """float16 storage was kept only where the FactorVAE score moved less than its
    binomial standard error."""
    entry = pretrained.get(name)
    full = entry.extra["float32_scores"]
    if entry.weights_dtype == "float16":
        p = full["factorvae.score"]
        n = 500  # the recorded command's evaluation votes (fraction 0.1 of 5,000)
        assert "--fraction 0.1" in entry.score_command
        gap = abs(entry.scores["factorvae.score"] - p)
        assert gap <= (p * (1 - p) / n) ** 0.5 + 1e-9, gap
    assert 0 <= entry.scores["mig.score"] <= 1


def named_rows(capsys, tmp_path, name: str) -> list[tuple[str | None, float, bool]]:
    """(factor, MI, active) of each traversal row of the shipped model ``name``."""
    code, out, err = run(capsys, "vae", "traverse", f"pretrained:{name}", "--steps", "4",
                         "--out", tmp_path / f"{name}.png", "--json")
    assert code == 0, err
    report = json.loads(out)
    return list(zip(report["factor"], report["mi"], report["active"], strict=True))


def test_the_pair_shows_one_latent_per_position_against_a_spread(capsys, tmp_path):
    """What the tour shows of the shipped pair (rows named from the MIG's mutual-information
    matrix on 10,000 codes): the capacity model holds x and y in one active latent each,
    each informing its factor far above the chance level (0.012), with the other latents
    inactive but one; the plain VAE keeps every latent active and spreads x and y over
    several."""
    capacity = named_rows(capsys, tmp_path, PAIR[0])
    for factor in ("x", "y"):
        rows = [mi for f, mi, active in capacity if f == factor and active]
        assert len(rows) == 1 and rows[0] > 0.25, (factor, capacity)
    assert sum(active for _, _, active in capacity) <= 3
    plain = named_rows(capsys, tmp_path, PAIR[1])
    assert all(active for _, _, active in plain)
    assert sum(f == "x" for f, _, _ in plain) > 1 and sum(f == "y" for f, _, _ in plain) > 1


def test_rbm_commands_take_the_name(capsys, tmp_path):
    code, out, err = run(capsys, "rbm", "filters", "pretrained:rbm-mnist5k", "--n", "16",
                         "--out", tmp_path / "f.png", "--json")
    assert code == 0, err
    assert (tmp_path / "f.png").is_file()
    code, out, err = run(capsys, "rbm", "sample", "pretrained:rbm-mnist5k", "--n", "4",
                         "--steps", "5", "--out", tmp_path / "s.png", "--device", "cpu")
    assert code == 0, err
    assert (tmp_path / "s.png").is_file()


def test_any_model_argument_takes_the_name(capsys, tmp_path, monkeypatch):
    """The name is resolved where every loader reads a model's files: a Hopfield network
    shipped (here, in a stand-in package folder) is recalled by name."""
    patterns = np.where(np.random.default_rng(0).random((3, 30)) < 0.5, -1, 1)
    np.save(tmp_path / "p.npy", patterns.astype(np.float32))
    shipped = tmp_path / "shipped"
    code, _, err = run(capsys, "hopfield", "store", tmp_path / "p.npy", "--out", shipped / "net")
    assert code == 0, err
    monkeypatch.setattr(genlab.io, "PRETRAINED_FOLDER", shipped)
    assert pretrained.names() == ["net"]
    code, out, err = run(capsys, "hopfield", "recall", "pretrained:net", tmp_path / "p.npy",
                         "--json")
    assert code == 0, err
    assert json.loads(out)


def test_unknown_names_are_refused_in_one_line(capsys):
    line = user_error(capsys, "rbm", "sample", "pretrained:nope", "--out", "x.png")
    assert "'nope'" in line and "rbm-mnist5k" in line
    with pytest.raises(GenlabError, match="available: .*rbm-mnist5k"):
        genlab.load("pretrained:nope")
    with pytest.raises(GenlabError, match="no pretrained model"):
        pretrained.path("nope")


def test_outputs_refuse_the_names(capsys, tmp_path):
    """Shipped files are read-only: no command or save writes a ``pretrained:`` name."""
    for argv in (("rbm", "train", "digits", "--hidden", "4", "--epochs", "1",
                  "--out", "pretrained:rbm-mnist5k"),
                 ("rbm", "sample", "pretrained:rbm-mnist5k", "--out", "pretrained:x.png"),
                 ("disentangle", "train", "--out", "pretrained:run")):
        line = user_error(capsys, *argv)
        assert "read-only" in line, line
    with pytest.raises(GenlabError, match="read-only"):
        save_model("pretrained:rbm-mnist5k", {"w": torch.zeros(2)}, "rbm.BernoulliRBM", {})


def test_models_list(capsys):
    code, out, err = run(capsys, "models", "list", "--json")
    assert code == 0, err
    listed = {m["name"]: m for m in json.loads(out)["models"]}
    assert sorted(listed) == NAMES
    for name, m in listed.items():
        assert m["use_as"] == f"pretrained:{name}"
        for key in ("kind", "description", "size_bytes", "scores", "command", "score_command",
                    "seed", "genlab_version", "genlab_commit", "train_seconds", "machine",
                    "date", "weights_dtype"):
            assert key in m, key
    code, out, err = run(capsys, "models", "list")
    assert code == 0 and all(f"pretrained:{n}" in out for n in NAMES)
    assert pretrained.get("rbm-mnist5k").command in out


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_recorded_command_still_trains(capsys, tmp_path, name):
    """The recorded training command starts and trains, cut short."""
    words = shlex.split(pretrained.get(name).command)[1:]
    out = words.index("--out")
    words[out + 1] = str(tmp_path / "again")
    if words[0] == "rbm":
        short = ["--epochs", "2", "--limit", "2000"]   # 200 updates of 20 images
        words = [w for i, w in enumerate(words)
                 if not (w == "--epochs" or (i and words[i - 1] == "--epochs"))] + short
    else:
        words = [w for i, w in enumerate(words)
                 if not (w == "--steps" or (i and words[i - 1] == "--steps"))]
        words += ["--steps", "200", "--limit", "2000"]
    code, _, err = run(capsys, *words, "--json")
    assert code == 0, err
