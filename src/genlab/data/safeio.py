"""Helpers shared by the file readers: memory limits, bounded reads, one-line messages.

Every reader checks the size a file declares before it allocates anything, so a corrupt
or hostile header is refused with a message instead of exhausting the machine's memory.
"""

from __future__ import annotations

import os
from typing import BinaryIO

import numpy as np

from genlab.errors import GenlabError

CHUNK = 1 << 24  # bytes per read: bounded, so a short stream is noticed early


def physical_memory() -> int | None:
    """The machine's total memory in bytes, or None where the system does not say."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, OSError, ValueError):
        return None


def human_bytes(n: int) -> str:
    """``n`` bytes as a short human-readable size (``1.5 GB``)."""
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if size < 1000 or unit == "PB":
            return f"{int(size)} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} bytes"  # pragma: no cover


def check_memory(nbytes: int, what: str, hint: str = "") -> None:
    """Refuse to allocate ``nbytes`` for ``what`` when that is more than the machine's memory.

    ``hint`` (e.g. "read fewer rows with --limit") is appended to the message.
    """
    total = physical_memory()
    if total is not None and nbytes > total:
        raise GenlabError(f"{what} needs {human_bytes(nbytes)}, more than this machine's "
                          f"{human_bytes(total)} of memory" + (f"; {hint}" if hint else ""))


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
