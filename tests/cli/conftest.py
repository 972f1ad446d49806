"""Helpers for CLI tests: run ``genlab`` in-process and check its output conventions."""

import json
from dataclasses import dataclass

import pytest

from genlab.cli.main import main


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> dict:
        """stdout must be exactly one JSON object."""
        lines = [line for line in self.out.splitlines() if line.strip()]
        assert len(lines) == 1, f"expected one JSON line on stdout, got: {self.out!r}"
        obj = json.loads(lines[0])
        assert isinstance(obj, dict)
        return obj


@pytest.fixture
def cli(capsys):
    """``cli(*args)`` runs ``genlab args...`` through the real entry point function."""

    def run(*args: str) -> Result:
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def user_error(cli):
    """``user_error(*args)`` asserts exit 2 and one ``genlab: error:`` line; returns it."""

    def run(*args: str) -> str:
        res = cli(*args)
        assert res.code == 2, (res.code, res.out, res.err)
        lines = res.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("genlab: error: "), res.err
        assert "Traceback" not in res.err
        return lines[0]

    return run
