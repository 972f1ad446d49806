"""Helpers shared by the file readers: memory limits, bounded reads, one-line messages.

Every reader checks the size a file declares before it allocates anything, so a corrupt
or hostile header is refused with a message instead of exhausting the machine's memory.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import numpy as np

from genlab.errors import GenlabError
from genlab.memory import check_allocation

CHUNK = 1 << 24  # bytes per read: bounded, so a short stream is noticed early


def check_memory(nbytes: int, what: str, hint: str = "") -> None:
    """Refuse to allocate ``nbytes`` for ``what`` when that is more than the machine has
    available (``genlab.memory.check_allocation``); ``hint`` (e.g. "read fewer rows with
    --limit") is appended to the message."""
    check_allocation(nbytes, what, "cpu", hint or None)


def file_head(path: Path, what: str, n: int = 8) -> bytes:
    """The first ``n`` bytes of ``path`` (fewer for a shorter file, none for an empty one:
    the caller says what that means); GenlabError naming ``what`` when the file is missing
    or cannot be read."""
    if not path.is_file():
        raise GenlabError(f"{what} file {path} not found")
    try:
        with open(path, "rb") as fh:
            return fh.read(n)
    except OSError as exc:
        raise GenlabError(f"cannot read {what} file {path}: {exc.strerror or exc}") from None


def read_exactly(fh: BinaryIO, nbytes: int) -> tuple[np.ndarray, int]:
    """Read up to ``nbytes`` from ``fh`` into a new uint8 array, chunk by chunk.

    Returns the buffer and how many bytes were read (fewer than ``nbytes`` when the stream
    ended). The buffer grows (doubling) with the data actually read, so a header that
    promises far more than a stream holds costs only what the stream held.
    """
    cap = min(nbytes, 4 * CHUNK)
    buf = np.empty(cap, dtype=np.uint8)
    got = 0
    while got < nbytes:
        if got == cap:
            cap = min(nbytes, 2 * cap)
            buf.resize(cap, refcheck=False)  # realloc: grows in place where it can
        with memoryview(buf) as view, view[got:min(cap, got + CHUNK)] as part:
            n = fh.readinto(part)  # type: ignore[attr-defined]
        if not n:
            break
        got += n
    return buf, got


def skip_bytes(fh: BinaryIO, nbytes: int) -> int:
    """Read and discard ``nbytes`` from a stream that cannot seek; returns how many were read."""
    done = 0
    while done < nbytes:
        chunk = fh.read(min(CHUNK, nbytes - done))
        if not chunk:
            break
        done += len(chunk)
    return done


def to_native(arr: np.ndarray) -> np.ndarray:
    """``arr`` in native byte order, swapped in place (no second copy of a large array)."""
    if not arr.dtype.isnative:
        arr = arr.byteswap(inplace=True).view(arr.dtype.newbyteorder("="))
    return arr


def one_line(exc: BaseException) -> str:
    """An exception as ``Type: message`` on one line (for wrapping library errors)."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
