"""Tour steps made of ``genlab`` commands: what the report shows is exactly what ran.

Each step runs one or more CLI commands in-process (``--json`` on), collects their JSON
results, and lists the figures they wrote. The command lines are shown in the report so a
reader can reproduce any figure by pasting them.
"""

from __future__ import annotations

import contextlib
import io
import json
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from genlab.errors import GenlabError
from genlab.tour.runner import StepOutput, TourContext


@dataclass
class Command:
    """One ``genlab`` command line; ``{out}`` in an argument is the report folder."""

    argv: list[str]
    figures: list[tuple[str, str]] = field(default_factory=list)  # (file in out, caption)


def run_cli(argv: list[str]) -> dict[str, Any]:
    """Run ``genlab argv --json`` in-process and return its JSON result.

    Raises GenlabError with the command's own error line when it fails.
    """
    from genlab.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([*argv, "--json"])
    if code != 0:
        last = [line for line in err.getvalue().splitlines() if line.strip()]
        raise GenlabError(f"'genlab {shlex.join(argv)}' exited {code}: "
                          f"{last[-1] if last else 'no message'}")
    text = out.getvalue().strip().splitlines()
    return json.loads(text[-1]) if text else {}


def cli_step(commands: Callable[[TourContext], list[Command]],
             numbers: Callable[[list[dict[str, Any]]], dict[str, Any]],
             summary: str = "") -> Callable[[TourContext], StepOutput]:
    """A step function running ``commands(ctx)`` and reporting ``numbers(results)``."""

    def run(ctx: TourContext) -> StepOutput:
        cmds = commands(ctx)
        results, figures, lines = [], [], []
        for cmd in cmds:
            argv = [a.replace("{out}", str(ctx.out)) for a in cmd.argv]
            argv = argv + ["--device", str(ctx.device.type)] if _takes_device(argv) else argv
            lines.append("genlab " + shlex.join(argv).replace(str(ctx.out) + "/", ""))
            results.append(run_cli(argv))
            for name, caption in cmd.figures:
                if not (ctx.out / name).is_file():
                    raise GenlabError(f"'genlab {shlex.join(argv)}' did not write {name}")
                figures.append((name, caption))
        return StepOutput(figures=figures, numbers=numbers(results),
                          command="\n$ ".join(lines), summary=summary)

    return run


def _takes_device(argv: list[str]) -> bool:
    """True when the command accepts --device and the line does not set it already."""
    if "--device" in argv:
        return False
    from genlab.cli.main import build_parser

    parser = build_parser()
    try:
        group = parser._subparsers._group_actions[0].choices[argv[0]]  # type: ignore[union-attr]
        cmd = group._subparsers._group_actions[0].choices[argv[1]]  # type: ignore[union-attr]
    except (KeyError, IndexError, AttributeError):
        return False
    return "--device" in cmd._option_string_actions
