"""Help that cannot drift: every default ``--help`` shows is the parser's own.

Help texts state no default by hand; :class:`genlab.cli.common.HelpFormatter` appends
``(default: X)`` from each action's default (after ``set_defaults``), so a command whose
default changes changes its help with it.
"""

import argparse
import re

import pytest

from genlab.cli.common import HelpFormatter, _shown_text, default_text, shown_default
from genlab.cli.main import build_parser, main

HAND_WRITTEN = re.compile(r"\bdefault", re.IGNORECASE)


def _parsers(parser: argparse.ArgumentParser, prog: str = "genlab"):
    """``(prog, parser)`` for the parser and every sub-command under it."""
    yield prog, parser
    seen = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                if id(sub) not in seen:
                    seen.add(id(sub))
                    yield from _parsers(sub, f"{prog} {name}")


PARSERS = list(_parsers(build_parser()))


def _options(parser: argparse.ArgumentParser):
    return [a for a in parser._actions if a.help != argparse.SUPPRESS
            and not isinstance(a, argparse._SubParsersAction)]


def test_every_parser_is_walked_and_uses_the_formatter():
    progs = {prog for prog, _ in PARSERS}
    assert {"genlab rbm eval", "genlab vae train", "genlab tour", "genlab data show"} <= progs
    assert len(PARSERS) > 30
    for prog, parser in PARSERS:
        assert issubclass(parser.formatter_class, HelpFormatter), prog


def test_no_help_text_states_a_default_by_hand():
    stated = [f"{prog} {'/'.join(a.option_strings) or a.dest}: {a.help!r}"
              for prog, parser in PARSERS for a in _options(parser)
              if HAND_WRITTEN.search((a.help or "").replace("%(default)s", ""))]
    assert stated == [], "help texts that state a default by hand:\n" + "\n".join(stated)


def _entry(text: str, action: argparse.Action) -> str:
    """What ``--help`` (``text``) says about ``action``: its lines, joined."""
    if not action.option_strings:
        return ""
    option = re.escape(action.option_strings[0])
    found = re.search(rf"^  {option}(?=[ ,\n]).*?(?=^  -|^\S|\Z)", text, re.MULTILINE | re.DOTALL)
    assert found is not None, f"{action.option_strings[0]} not in\n{text}"
    return " ".join(found.group().split())


def test_each_shown_default_comes_from_the_parser():
    for prog, parser in PARSERS:
        formatter = parser._get_formatter()
        text = parser.format_help()
        for action in _options(parser):
            shown = _entry(text, action) or formatter._expand_help(action)
            mentions = HAND_WRITTEN.findall(shown)
            where = f"{prog} {'/'.join(action.option_strings) or action.dest}"
            if shown_default(action):
                assert len(mentions) == 1, f"{where}: {shown!r}"
                assert shown.endswith(f"(default: {_shown_text(action)})"), where
            else:
                assert mentions == [], f"{where}: {shown!r}"


@pytest.mark.parametrize("command, option, default", [
    ("rbm eval", "--split", "test"),     # set_defaults(split="test"), not the shared "train"
    ("rbm train", "--split", "train"),
    ("vae train", "--binarize", "bernoulli"),
    ("data show", "--n", "64"),
    ("tour", "--seed", "0"),
])
def test_help_shows_the_default_the_command_uses(capsys, command, option, default):
    with pytest.raises(SystemExit):
        main([*command.split(), "--help"])
    out = capsys.readouterr().out
    entry = re.search(rf"^ +{option}(?=[ ,\n]).*?(?=^ +-|\Z)", out, re.MULTILINE | re.DOTALL)
    assert entry is not None, out
    assert " ".join(entry.group().split()).endswith(f"(default: {default})")
    parser = dict(PARSERS)[f"genlab {command}"]
    dest = option.lstrip("-").replace("-", "_")
    assert default_text(parser.get_default(dest)) == default   # what the command gets
