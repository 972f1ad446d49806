"""Helpers shared by the tour's sections."""

from __future__ import annotations

from typing import Any

from genlab.tour.runner import TourContext


def _q(ctx: TourContext, quick: Any, full: Any) -> str:
    """``quick`` in a quick tour, else ``full``, as a command-line argument."""
    return str(quick if ctx.quick else full)


def command_text(*lines: list[Any]) -> str:
    """``genlab`` command lines as the report shows them (``$``-separated), for a reader to
    paste: each ``argv`` quoted for the shell, paths relative to the report folder."""
    import shlex

    return "\n$ ".join("genlab " + shlex.join(str(a) for a in argv) for argv in lines)
