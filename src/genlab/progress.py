"""Progress bars that show on a terminal and stay quiet in pipes and CI."""

import os
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")


def show_progress() -> bool:
    """True when stderr is a terminal (progress bars are drawn only then)."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def progress(iterable: Iterable[T], total: int | None = None, desc: str | None = None,
             enabled: bool | None = None) -> Iterator[T]:
    """Wrap ``iterable`` in a tqdm bar on stderr when it is a terminal."""
    disable = not (show_progress() if enabled is None else enabled)
    yield from tqdm(iterable, total=total, desc=desc, disable=disable, file=sys.stderr,
                    leave=False, dynamic_ncols=True)


def log(message: str) -> None:
    """Write one log line to stderr (stdout is kept for results and --json); under
    ``torchrun`` only rank 0 (``RANK`` unset or 0) writes, so a line is not repeated per
    process. Errors are not logged through here and come from every rank."""
    if os.environ.get("RANK", "0") != "0":
        return
    print(message, file=sys.stderr, flush=True)
