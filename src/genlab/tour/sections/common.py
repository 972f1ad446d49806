"""Helpers shared by the tour's sections."""

from __future__ import annotations

from typing import Any

from genlab.tour.runner import TourContext


def _q(ctx: TourContext, quick: Any, full: Any) -> str:
    """``quick`` in a quick tour, else ``full``, as a command-line argument."""
    return str(quick if ctx.quick else full)
