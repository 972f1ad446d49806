"""A full or closed standard output, through a real interpreter: never a traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[2] / "src")
ENV = {**os.environ, "PYTHONPATH": SRC}
COMMAND = [sys.executable, "-m", "genlab", "data", "list"]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_full_stdout_is_one_error_line(json_flag):
    with open("/dev/full", "w") as full:
        res = subprocess.run(COMMAND + json_flag, stdout=full, stderr=subprocess.PIPE,
                             text=True, env=ENV, timeout=120)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("genlab: error: "), res.stderr
    assert "standard output" in lines[0]
    assert "Traceback" not in res.stderr and "Exception ignored" not in res.stderr


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_closed_pipe_exits_quietly(json_flag):
    """The reader left before genlab wrote (``genlab data list | head -c0``)."""
    proc = subprocess.Popen(COMMAND + json_flag, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=ENV)
    proc.stdout.close()  # long before the interpreter has imported genlab and torch
    _, err = proc.communicate(timeout=120)
    err = err.decode()
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert "BrokenPipeError" not in err
    assert proc.returncode == 0
    assert err == ""
