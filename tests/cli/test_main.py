"""The ``genlab`` entry point: version, help, and the user-error convention."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from genlab import __version__
from genlab.cli.main import GROUPS, build_parser

SRC = str(Path(__file__).resolve().parents[2] / "src")


def test_version(capsys):
    from genlab.cli.main import main

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"genlab {__version__}"


def test_every_command_has_help_with_examples():
    parser = build_parser()
    groups = parser._subparsers._group_actions[0].choices
    assert set(groups) == set(GROUPS)
    for gname, gparser in groups.items():
        if gparser._subparsers is None:  # a single command such as ``genlab tour``
            text = gparser.format_help()
            assert "examples:" in text and f"genlab {gname}" in text, gname
            continue
        commands = gparser._subparsers._group_actions[0].choices
        assert commands, gname
        for cname, cparser in commands.items():
            text = cparser.format_help()
            assert "examples:" in text and f"genlab {gname} {cname}" in text, (gname, cname)


def test_no_group_is_a_user_error(user_error):
    assert "GROUP" in user_error()


def test_unknown_option_is_a_user_error(user_error):
    assert "--bogus" in user_error("data", "list", "--bogus")


def test_real_process_exit_codes(tmp_path):
    """Through a real interpreter: exit 2, one line, no traceback; --json parses."""
    env = {**os.environ, "PYTHONPATH": SRC}
    bad = subprocess.run([sys.executable, "-m", "genlab", "data", "show", "nope"],
                         capture_output=True, text=True, env=env)
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and bad.stderr.startswith("genlab: error: ")
    ok = subprocess.run([sys.executable, "-m", "genlab", "data", "list", "--json"],
                        capture_output=True, text=True, env=env)
    assert ok.returncode == 0 and ok.stdout.startswith("{")
    assert ok.stderr == ""


def test_options_are_taken_only_by_their_full_names(user_error):
    """``--hid`` is not read as ``--hidden`` (nor ``--lim`` as ``--limit``): an abbreviation
    silently means whichever option it begins, which changes when an option is added."""
    assert "unrecognized arguments: --hid 8" in user_error("vae", "train", "digits", "--hid",
                                                          "8", "--out", "unused")
    assert "unrecognized arguments: --lim 5" in user_error("data", "show", "digits", "--lim",
                                                          "5")
