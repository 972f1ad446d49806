"""Every option of every command, given an obviously bad value, is refused before any work:
exit 2, one ``genlab: error:`` line that names the option (or the value), nothing on stdout.

The options are read from the real parser (``build_parser``), so a new option is covered
as soon as it exists; a new command needs a line in ``BASE`` (its minimal valid
arguments). The base arguments are small, so a bad value that slipped through would show
up as a failing test rather than as a long run.
"""

from __future__ import annotations

import argparse
import contextlib
import io

import numpy as np
import pytest

import genlab.cli.main as cli_main
from genlab.cli import common
from genlab.cli.main import build_parser, main

PARSER = build_parser()


def _commands(parser: argparse.ArgumentParser) -> dict[tuple[str, ...], argparse.ArgumentParser]:
    """``{("group", "command"): parser}`` for every command (``("tour",)`` for a group that
    is one command)."""
    out = {}
    for gname, gparser in parser._subparsers._group_actions[0].choices.items():
        if gparser._subparsers is None:
            out[(gname,)] = gparser
            continue
        for cname, cparser in gparser._subparsers._group_actions[0].choices.items():
            out[(gname, cname)] = cparser
    return out


COMMANDS = _commands(PARSER)

# The minimal valid arguments of each command: positionals, then options (option -> value).
# "{tmp}" is a module temporary folder; "{net}", "{rbm}", "{ae}", "{vae}" are small models
# trained once by the ``files`` fixture; "{pats}", "{cues}", "{w}", "{rows}" tiny arrays.
BASE: dict[tuple[str, ...], tuple[list[str], dict[str, str]]] = {
    ("data", "list"): ([], {}),
    ("models", "list"): ([], {}),
    ("data", "show"): (["digits"], {"--n": "2", "--out": "{tmp}/d.png"}),
    ("hopfield", "demo"): ([], {"--out": "{tmp}/hdemo"}),
    ("hopfield", "store"): (["{pats}"], {"--out": "{tmp}/net2"}),
    ("hopfield", "recall"): (["{net}", "{cues}"], {}),
    ("hopfield", "capacity"): ([], {"--n": "10", "--alphas": "0.1",
                                    "--out": "{tmp}/cap.png"}),
    ("tsp", "solve"): (["random:5"], {"--restarts": "1"}),
    ("tsp", "exact"): (["random:5"], {}),
    ("tsp", "info"): (["random:5"], {}),
    ("bm", "sample"): ([], {"--weights": "{w}", "--chains": "2", "--samples": "8"}),
    ("bm", "exact"): ([], {"--weights": "{w}"}),
    ("bm", "meanfield"): ([], {"--weights": "{w}"}),
    ("bm", "train"): (["{rows}"], {"--out": "{tmp}/bm", "--epochs": "1"}),
    ("bm", "encoder"): ([], {"--seeds": "1", "--epochs": "5"}),
    ("rbm", "train"): (["digits"], {"--out": "{tmp}/rbm2", "--hidden": "4", "--epochs": "1",
                                    "--limit": "50"}),
    ("rbm", "eval"): (["{rbm}", "digits"], {"--ais-runs": "2", "--ais-betas": "10",
                                            "--limit": "20"}),
    ("rbm", "sample"): (["{rbm}"], {"--n": "2", "--steps": "2", "--out": "{tmp}/rs.png"}),
    ("rbm", "filters"): (["{rbm}"], {"--n": "2", "--out": "{tmp}/rf.png"}),
    ("ae", "train"): (["digits"], {"--out": "{tmp}/ae2", "--epochs": "1", "--limit": "64"}),
    ("ae", "eval"): (["{ae}"], {"--n": "16"}),
    ("ae", "reconstruct"): (["{ae}"], {"--n": "2", "--out": "{tmp}/ar.png"}),
    ("vae", "train"): (["digits"], {"--out": "{tmp}/vae2", "--epochs": "1", "--limit": "64"}),
    ("vae", "eval"): (["{vae}"], {"--iw": "2", "--n": "16"}),
    ("vae", "sample"): (["{vae}"], {"--n": "2", "--out": "{tmp}/vs.png"}),
    ("vae", "reconstruct"): (["{vae}"], {"--n": "2", "--out": "{tmp}/vr.png"}),
    ("vae", "manifold"): (["{vae}"], {"--grid": "2", "--out": "{tmp}/vm.png"}),
    ("vae", "traverse"): (["{vae}"], {"--n-kl": "4", "--steps": "2", "--out": "{tmp}/vt.png"}),
    ("disentangle", "train"): ([], {"--out": "{tmp}/dis", "--steps": "1", "--limit": "64"}),
    # these need a 64x64 model; the digits VAE stands in, since every flag is checked first
    ("disentangle", "eval"): (["{vae}"], {}),
    ("disentangle", "axes"): (["{vae}"], {}),
    ("gumbel", "sample"): ([], {"--logits": "1,2", "--n": "10"}),
    ("gumbel", "plot"): ([], {"--n-mc": "100", "--out": "{tmp}/g.png"}),
    ("tour",): ([], {"--only": "hopfield", "--quick": None, "--out": "{tmp}/tour"}),
}

# Options that cannot be given together with a base option they replace.
REPLACES = {"--model": ("--weights",)}

NUMBERS = ["", "x", "-1", "nan", "inf", "1e999"]
PATH_TYPES = {common.output_file, common.output_model, common.output_dir, common.existing_file,
              common.existing_dir, common.input_name}

# (command, option, value) that are legitimately valid although they look bad, each with a
# comment saying why. Empty: every value bad_values() makes is meaningless for its option
# (a signed offset taking "-1" would be the kind of entry this is for).
ALLOWED: set[tuple[tuple[str, ...], str, str]] = set()

# The long work of each command: a bad value must be refused before any of it starts.
WORK = [("genlab.latent.training", "train_run"),
        ("genlab.latent.stacked", "train_run"), ("genlab.cli.bm", "train_machine"),
        ("genlab.cli.bm", "encoder_study"), ("genlab.cli.bm", "sample_report"),
        ("genlab.tsp.tasks", "solve"), ("genlab.hopfield.tasks", "capacity_curve"),
        ("genlab.tour.runner", "run_tour"), ("genlab.rbm.BernoulliRBM", "fit"),
        ("genlab.rbm.GaussianBernoulliRBM", "fit")]


class WorkStarted(Exception):
    """Raised by the stand-ins of :data:`WORK`: the command got past its checks."""


def _forbid_work(monkeypatch) -> None:
    import importlib

    def started(*args, **kwargs):
        raise WorkStarted("the command started its work with a bad value")

    for where, name in WORK:
        module, _, cls = where.rpartition(".") if where.startswith("genlab.rbm.") else \
            (where, "", "")
        target = getattr(importlib.import_module(module), cls) if cls else \
            importlib.import_module(module)
        monkeypatch.setattr(target, name, started)


def bad_values(action: argparse.Action, tmp: str) -> list[str]:
    """Obviously bad values for ``action``, by its type."""
    under_file = f"{tmp}/regular_file/x"
    if action.type in PATH_TYPES:
        values = ["", under_file]
        if action.type in (common.output_file, common.output_model):
            values.append(f"{tmp}/")  # a folder where a file is expected
        if action.type is common.output_dir:
            values.append(f"{tmp}/regular_file")  # a file where a folder is expected
        return values
    if action.choices is not None:
        return ["nope", ""]
    return NUMBERS


def _value_options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions
            if a.option_strings and a.nargs != 0
            and not isinstance(a, (argparse._HelpAction, argparse._VersionAction))]


CASES = [(cmd, action.option_strings[-1]) for cmd, parser in COMMANDS.items()
         for action in _value_options(parser)]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Tiny inputs and models, made once through the CLI itself."""
    tmp = tmp_path_factory.mktemp("bad_flags")
    (tmp / "regular_file").write_text("not a folder")
    rng = np.random.default_rng(0)
    np.save(tmp / "pats.npy", rng.choice([-1, 1], size=(2, 16)).astype(np.int8))
    np.save(tmp / "cues.npy", rng.choice([-1, 1], size=(1, 16)).astype(np.int8))
    w = rng.normal(size=(4, 4))
    w = np.triu(w, 1)
    np.save(tmp / "w.npy", w + w.T)
    np.save(tmp / "rows.npy", rng.choice([-1.0, 1.0], size=(20, 4)))
    made = {"tmp": str(tmp), "pats": str(tmp / "pats.npy"), "cues": str(tmp / "cues.npy"),
            "w": str(tmp / "w.npy"), "rows": str(tmp / "rows.npy"), "net": str(tmp / "net"),
            "rbm": str(tmp / "rbm"), "ae": str(tmp / "ae"), "vae": str(tmp / "vae")}
    for argv in (["hopfield", "store", made["pats"], "--out", made["net"]],
                 ["rbm", "train", "digits", "--hidden", "4", "--epochs", "1", "--limit", "50",
                  "--out", made["rbm"]],
                 ["ae", "train", "digits", "--epochs", "1", "--limit", "64", "--out",
                  made["ae"]],
                 ["vae", "train", "digits", "--latent", "2", "--epochs", "1", "--limit", "64",
                  "--out", made["vae"]]):
        with contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()) as err:
            assert main([*argv, "--device", "cpu"]) == 0, (argv, err.getvalue())
    return made


def _argv(cmd: tuple[str, ...], files: dict[str, str], option: str | None = None,
          value: str | None = None) -> list[str]:
    positionals, options = BASE[cmd]
    options = dict(options)
    if option is not None:
        options.pop(option, None)
        for other in REPLACES.get(option, ()):
            options.pop(other, None)
    argv = [*cmd, *(p.format(**files) for p in positionals)]
    for opt, val in options.items():
        argv += [opt] if val is None else [opt, val.format(**files)]
    if option is not None:
        argv += [option, value]
    return argv


def _run(argv: list[str], monkeypatch) -> tuple[int, str, str]:
    # one parser for the whole module: building it for each of the many runs costs more
    # than the runs themselves
    monkeypatch.setattr(cli_main, "build_parser", lambda: PARSER)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def test_every_command_has_base_arguments():
    assert set(COMMANDS) == set(BASE)


@pytest.mark.parametrize(("cmd", "option"), CASES, ids=[" ".join(c) + " " + o for c, o in CASES])
def test_bad_value_is_refused_first(cmd, option, files, monkeypatch):
    action = COMMANDS[cmd]._option_string_actions[option]
    words = {option, action.dest.replace("_", " "), action.dest.replace("_", "-")}
    _forbid_work(monkeypatch)
    problems = []
    for value in bad_values(action, files["tmp"]):
        if (cmd, option, value) in ALLOWED:
            continue
        argv = _argv(cmd, files, option, value)
        try:
            code, out, err = _run(argv, monkeypatch)
        except WorkStarted as exc:
            problems.append((value, str(exc)))
            continue
        lines = err.strip().splitlines()
        named = lines and (any(w in lines[0] for w in words) or (value and value in lines[0]))
        if not (code == 2 and out == "" and len(lines) == 1
                and lines[0].startswith("genlab: error: ") and "Traceback" not in err
                and named):
            problems.append((value, code, out[:200], err[-400:]))
    assert not problems, f"genlab {' '.join(cmd)} {option}: " + "\n".join(map(repr, problems))


# ----- the flags that used to mean nothing, one by one -----------------------------------

def test_hopfield_eta_must_be_positive_and_finite(user_error, cli, files, tmp_path):
    for value in ("inf", "nan", "0", "-0.5"):
        assert "--eta" in user_error("hopfield", "store", files["pats"], "--eta", value,
                                     "--out", tmp_path / "net")
    res = cli("hopfield", "store", files["pats"], "--eta", "0.5", "--out", tmp_path / "net")
    assert res.code == 0, res.err
    assert cli("hopfield", "recall", tmp_path / "net", files["cues"]).code == 0


def test_hopfield_flips_at_most_the_units(user_error, cli, tmp_path):
    msg = user_error("hopfield", "demo", "--flips", "26", "--out", tmp_path / "demo")
    assert "--flips 26" in msg and "25" in msg
    assert not (tmp_path / "demo").exists()
    res = cli("hopfield", "demo", "--flips", "25", "--out", tmp_path / "demo", "--json")
    assert res.code == 0, res.err
    assert res.json()["cues"] == 8  # every unit of each letter flipped: still a valid run


def test_vae_train_refuses_another_latent_types_flags(user_error, tmp_path):
    out = tmp_path / "run"
    for flag, value, kind in (("--beta", "2", "beta"), ("--capacity", "0", "beta"),
                              ("--gamma", "10", "beta"), ("--tau0", "2", "categorical"),
                              ("--tau-min", "0.1", "categorical"),
                              ("--categories", "4x3", "categorical"),
                              ("--hard", None, "categorical")):
        argv = ["vae", "train", "digits", "--out", out, flag] + ([value] if value else [])
        msg = user_error(*argv)
        assert flag in msg and f"--latent-type {kind}" in msg, msg
    msg = user_error("vae", "train", "digits", "--latent-type", "categorical", "--beta", "2",
                     "--binarize", "threshold", "--out", out)
    assert "--beta" in msg and "--latent-type beta" in msg
    assert not out.exists()


def test_vae_train_type_flags_still_work_with_their_type(cli, tmp_path):
    res = cli("vae", "train", "digits", "--latent-type", "categorical", "--categories", "4x3",
              "--tau0", "2", "--binarize", "threshold", "--epochs", "1", "--limit", "64",
              "--out", tmp_path / "cat", "--json")
    assert res.code == 0, res.err
    config = res.json()["config"]
    assert config["tau0"] == 2.0 and config["tau_min"] == 0.5 and config["anneal_rate"] == 1e-4


def test_rbm_train_refuses_zero_epochs(user_error, tmp_path):
    assert "--epochs" in user_error("rbm", "train", "digits", "--epochs", "0", "--out",
                                    tmp_path / "rbm")
    assert not list(tmp_path.iterdir())


def test_gumbel_show(user_error, cli):
    assert "--show" in user_error("gumbel", "sample", "--logits", "1,2", "--show", "-1")
    res = cli("gumbel", "sample", "--logits", "1,2", "--n", "10", "--show", "0", "--json")
    assert res.code == 0 and res.json()["samples"] == []


def test_tour_threads_only_and_out(user_error, tmp_path):
    for value in ("-1", "0"):
        assert "--threads" in user_error("tour", "--threads", value, "--out", tmp_path / "r")
    for value in ("", ",", "nope", "hopfield,nope"):
        msg = user_error("tour", "--only", value, "--out", tmp_path / "r")
        assert "--only" in msg and "hopfield, capacity, tsp" in msg, msg
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert "is a file" in user_error("tour", "--out", blocker)
    assert "--screenshot" in user_error("tour", "--out", tmp_path / "r", "--screenshot",
                                        tmp_path)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("value", ["-1", str(2**63), str(2**64), "1.5"])
def test_seed_range(user_error, value):
    assert "--seed" in user_error("tsp", "info", "random:5", "--seed", value)
    assert "--seed" in user_error("tour", "--seed", value)
    assert "--seeds" in user_error("disentangle", "train", "--out", "x", "--seeds", "0", value)


def test_encoder_seeds_stay_in_range(user_error):
    msg = user_error("bm", "encoder", "--seed", str(2**63 - 1), "--seeds", "2")
    assert "--seeds" in msg and "--seed" in msg


def test_largest_seed_is_accepted(cli):
    res = cli("tsp", "info", "random:5", "--seed", str(2**63 - 1), "--json")
    assert res.code == 0, res.err


def test_vae_train_empty_out_writes_nothing(user_error, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert "empty" in user_error("vae", "train", "digits", "--out", "")
    assert not list(tmp_path.iterdir())


def test_output_checks_name_the_problem(user_error, files, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert "is a folder" in user_error("rbm", "sample", files["rbm"], "--out", tmp_path)
    assert "is a file, not a folder" in user_error("bm", "train", files["rows"], "--out",
                                                   blocker / "bm")
    (tmp_path / "m.json").mkdir()  # the model's config file name is taken by a folder
    assert "m.json" in user_error("bm", "train", files["rows"], "--out", tmp_path / "m")
    assert "is a file" in user_error("ae", "train", "digits", "--out", blocker)


def test_manifold_data_needs_codes(user_error, files, tmp_path):
    msg = user_error("vae", "manifold", files["vae"], "--n", "10", "--out", tmp_path / "m.png")
    assert "--n" in msg and "--codes" in msg
