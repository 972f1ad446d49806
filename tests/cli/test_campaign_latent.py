"""Bad inputs to ``genlab ae``, ``vae``, ``disentangle``, ``gumbel`` and ``tour`` that once
slipped through: each is now refused in one line (exit 2, nothing on stdout, nothing
written), or, where the input was fine and only its reading was wrong, accepted.

One parametrized case per defect; every training here is a few steps on a tiny data set.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from genlab.cli.main import main
from genlab.tour import browser

TINY = ["--limit", "100", "--epochs", "1", "--hidden", "8"]
DIS = ["disentangle", "train", "--steps", "2", "--batch-size", "8", "--limit", "32",
       "--latent", "2"]


def _quiet(*argv: str | Path) -> None:
    """Run a setup command that must succeed (its output is not the test's business)."""
    assert main([str(a) for a in argv]) == 0


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Path:
    """A stack of two beta-VAEs (seeds 0 and 1) trained for two steps: RUN/seed{0,1}."""
    run = tmp_path_factory.mktemp("campaign") / "stack"
    _quiet(*DIS, "--seeds", "0", "1", "--out", run)
    return run


@pytest.fixture(scope="module")
def single(tmp_path_factory) -> Path:
    """One beta-VAE trained for two steps."""
    run = tmp_path_factory.mktemp("campaign") / "single"
    _quiet(*DIS, "--out", run)
    return run


# (id, command line with {tmp}, {stack} and {single} to fill in, words the error must hold)
REFUSED = [
    # --tau was silently ignored by Gumbel-max draws (the default method)
    ("gumbel-tau-with-max", "gumbel sample --logits 1,2 --tau 0.5", ["--tau", "--method"]),
    # --latent was silently ignored: a categorical code is --categories MxK
    ("categorical-latent", "vae train digits {tiny} --latent-type categorical --latent 3 "
                           "--out {tmp}/run", ["--latent", "--categories"]),
    # tau = max(tau_min, tau0 exp(-r t)) never reached a --tau0 below --tau-min
    ("categorical-tau0-below-floor", "vae train digits {tiny} --latent-type categorical "
                                     "--tau0 0.1 --out {tmp}/run", ["--tau0", "--tau-min"]),
    # REINFORCE draws exact samples: the temperature flags were silently ignored
    ("categorical-reinforce-temperature", "vae train digits {tiny} --latent-type categorical "
                                          "--estimator reinforce --anneal-rate 0 "
                                          "--out {tmp}/run", ["--anneal-rate", "reinforce"]),
    # --data on a command whose data set is positional was read as --data-dir
    ("data-flag-where-data-is-positional", "ae train --data digits --out {tmp}/run",
     ["--data", "first argument"]),
    # --channels was silently ignored by the MLP (the default --arch)
    ("vae-channels-with-mlp", "vae train digits {tiny} --latent 2 --channels 4 "
                              "--out {tmp}/run", ["--channels", "--arch conv"]),
    ("ae-channels-with-mlp", "ae train digits {tiny} --latent 2 --channels 4 --out {tmp}/run",
     ["--channels", "--arch conv"]),
    # --resume --overwrite resumed, silently ignoring --overwrite
    ("resume-and-overwrite", "vae train digits {tiny} --latent 2 --out {single} --resume "
                             "--overwrite", ["--resume", "--overwrite"]),
    ("resume-and-overwrite-dsprites", "{dis} --out {single} --resume --overwrite",
     ["--resume", "--overwrite"]),
    # a stack of seeds 0 1 resumed as --seeds 0 2 saved seed 1's model as RUN/seed2
    ("stack-resumed-with-other-seeds", "{dis} --seeds 0 2 --out {stack} --resume",
     ["seeds 0 1", "--seeds 0 1"]),
    # a stack resumed without --seeds: a page of 'None there, 4.0 here'
    ("stack-resumed-without-seeds", "{dis} --out {stack} --resume", ["stack of 2", "--seeds 0 1"]),
    ("single-resumed-as-stack", "{dis} --seeds 0 1 --out {single} --resume",
     ["one model", "without --seeds"]),
    # a stack's folder given as a model: 'give the path used with --out', which it was
    ("stack-folder-as-model", "vae eval {stack} --iw 2 --n 2", ["stack of 2", "seed0"]),
    ("stack-folder-to-axes", "disentangle axes {stack} --n 100", ["stack of 2", "seed1"]),
]


def _argv(line: str, tmp: Path, stack: Path | None, single: Path | None) -> list[str]:
    words = line.format(tiny=" ".join(TINY), dis=" ".join(DIS), tmp="{tmp}", stack="{stack}",
                        single="{single}").split()
    return [w.replace("{tmp}", str(tmp)).replace("{stack}", str(stack))
             .replace("{single}", str(single)) for w in words]


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize(("line", "words"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_refused_in_one_line_and_nothing_changes(line, words, user_error, tmp_path, request,
                                                 capsys):
    stack = request.getfixturevalue("stack") if "{stack}" in line else None
    single = request.getfixturevalue("single") if "{single}" in line else None
    capsys.readouterr()  # the setup's training logs
    before = {p: _listing(p) for p in (stack, single) if p is not None}
    message = user_error(*_argv(line, tmp_path, stack, single))
    for word in words:
        assert word in message, message
    assert not (tmp_path / "run").exists()
    assert {p: _listing(p) for p in before} == before  # nothing written, nothing deleted


# A value that starts with a minus sign and a number is a value, not an unknown option:
# ``--logits -inf,0`` was refused as "expected one argument" though the help shows -inf.
NEGATIVE = [
    ("logits-first-minus-inf", "gumbel sample --logits -inf,0,1 --n 5 --json", None),
    ("logits-first-negative", "gumbel plot --logits -1,2 --taus 1 --n-mc 10 --out {tmp}/g.png "
                              "--json", None),
    ("exponent-value-checked", "vae train digits --lr -1e-3 --out {tmp}/run", "'-1e-3'"),
    ("negative-nan-checked", "gumbel sample --logits 1,2 --method soft --tau -nan", "--tau"),
]


@pytest.mark.parametrize(("line", "shown"), [c[1:] for c in NEGATIVE], ids=[c[0] for c in NEGATIVE])
def test_values_starting_with_a_minus_sign_reach_their_check(line, shown, cli, user_error,
                                                              tmp_path):
    argv = _argv(line, tmp_path, None, None)
    if shown is None:
        res = cli(*argv)
        assert res.code == 0, res.err
        res.json()
    else:
        message = user_error(*argv)
        assert shown in message and "expected one argument" not in message


def test_tour_screenshot_without_chromium_refused_before_the_tour(user_error, tmp_path,
                                                                  monkeypatch):
    """The whole tour ran and only then 'Chromium not found' (exit 2)."""
    monkeypatch.setattr(browser, "find_chromium", lambda: None)
    message = user_error("tour", "--quick", "--only", "gumbel", "--out", tmp_path / "report",
                         "--screenshot", tmp_path / "shot.png")
    assert "--screenshot" in message and "Chromium" in message
    assert not (tmp_path / "report").exists()


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
@pytest.mark.parametrize("argv", [
    ["vae", "train", "digits", *TINY, "--latent", "2", "--out", "/proc/genlab-campaign/run"],
    ["tour", "--quick", "--only", "hopfield", "--out", "/proc/genlab-campaign/report"],
], ids=["vae-train", "tour"])
def test_a_folder_that_cannot_be_made_is_one_line(argv, cli):
    """As a superuser every permission check passes under /proc, and the run's mkdir then
    raised FileNotFoundError with a traceback (a user without those rights is refused by
    the check of --out instead). Logs may come first; the error is one line."""
    res = cli(*argv)
    assert res.code == 2 and res.out == "" and "Traceback" not in res.err, res.err
    errors = [line for line in res.err.splitlines() if line.startswith("genlab: error: ")]
    assert len(errors) == 1 and res.err.strip().splitlines()[-1] == errors[0]
    assert "/proc/genlab-campaign" in errors[0]
    assert not os.path.exists("/proc/genlab-campaign")
