"""Reading and writing IDX files (the MNIST / Fashion-MNIST format), plain or gzipped.

An IDX file is a 4-byte magic number ``00 00 TT D`` (TT the element type, D the number
of dimensions), then D big-endian uint32 sizes, then the elements in big-endian C
order. ``read_idx_header`` reads and checks the header alone; ``read_idx``
then reads the data, all of it or only some rows of the first dimension.

The declared size is checked against the file before anything is allocated: a plain
file must be exactly as long as its header says; a gzipped one cannot hold more than
deflate's maximum ratio allows, and is decompressed as a stream, only as far as the rows
asked for (so a small ``limit`` reads little of a huge file). A header that declares more
data than the machine's memory is refused with the size it declares.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genlab.data.safeio import check_memory, read_exactly, skip_bytes, to_native
from genlab.errors import GenlabError
from genlab.memory import format_bytes

# IDX type code -> big-endian numpy dtype
IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dt.newbyteorder("=").kind + str(dt.itemsize): code for code, dt in IDX_TYPES.items()}
MAX_ELEMENTS = 2**34  # refuse headers that promise absurd sizes before reading anything
GZIP_MAGIC = b"\x1f\x8b"
# deflate emits at most 258 bytes per 2-bit code, so no gzip stream expands more than 1032x
MAX_GZIP_RATIO = 1032
_GZIP_ERRORS = (OSError, EOFError, zlib.error, gzip.BadGzipFile)


@dataclass(frozen=True)
class IdxHeader:
    """What an IDX header declares: ``dims``, the element ``dtype`` (big-endian), where
    the data starts (``offset``, in the decompressed stream) and whether it is gzipped."""

    path: Path
    dims: tuple[int, ...]
    dtype: np.dtype
    gzipped: bool

    @property
    def offset(self) -> int:
        """Bytes before the data: the magic number and the dimension sizes."""
        return 4 + 4 * len(self.dims)

    @property
    def count(self) -> int:
        """How many elements the header declares."""
        return math.prod(self.dims)

    @property
    def row_bytes(self) -> int:
        """Bytes of one entry along the first dimension."""
        return math.prod(self.dims[1:]) * self.dtype.itemsize


def is_idx_magic(head: bytes) -> bool:
    """True when ``head`` (at least 4 bytes) starts like an IDX file: ``00 00 TT D``."""
    return len(head) >= 4 and head[0] == 0 and head[1] == 0 and head[2] in IDX_TYPES \
        and head[3] > 0


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == GZIP_MAGIC


def _open(path: Path, gzipped: bool) -> io.BufferedIOBase:
    return gzip.open(path, "rb") if gzipped else open(path, "rb")  # type: ignore[return-value]


def _truncated(path: Path, what: str, need: int, found: int, gzipped: bool) -> GenlabError:
    data = "its decompressed data" if gzipped else "the file"
    return GenlabError(f"IDX file {path} is truncated: {what} needs {need} bytes but {data} "
                       f"ends after {max(found, 0)}")


def _short_body(head: IdxHeader, found: int, rows: str) -> GenlabError:
    data = "its decompressed data" if head.gzipped else "the file"
    return GenlabError(f"IDX file {head.path} is truncated: its header declares shape "
                       f"{head.dims} ({head.count * head.dtype.itemsize} bytes of data) but "
                       f"{data} ends after {max(found, 0)} bytes{rows}")


def _read_part(fh: io.BufferedIOBase, n: int, path: Path, what: str, gzipped: bool) -> bytes:
    data = fh.read(n)
    if len(data) != n:
        raise _truncated(path, what, n, len(data), gzipped)
    return data


def read_idx_header(path: str | os.PathLike[str]) -> IdxHeader:
    """Read and check the header of an IDX file (plain or gzipped) without reading its data.

    Raises ``GenlabError`` for a missing file, a bad magic number, an unknown type
    code, zero dimensions, an absurd element count, or a declared size the file cannot
    hold (a plain file must match it exactly).
    """
    path = Path(path)
    if not path.is_file():
        raise GenlabError(f"IDX file {path} not found")
    try:
        gzipped = _is_gzip(path)
        with _open(path, gzipped) as fh:
            magic = _read_part(fh, 4, path, "the magic number", gzipped)
            if magic[0] != 0 or magic[1] != 0:
                raise GenlabError(f"{path} is not an IDX file (magic number "
                                  f"{magic.hex()} should start with 0000)")
            code, ndim = magic[2], magic[3]
            if code not in IDX_TYPES:
                raise GenlabError(f"{path} has unknown IDX type code 0x{code:02x}; expected "
                                  "one of 08, 09, 0b, 0c, 0d, 0e")
            if ndim == 0:
                raise GenlabError(f"{path} declares 0 dimensions; an IDX file needs at least 1")
            dims = tuple(int(d) for d in np.frombuffer(
                _read_part(fh, 4 * ndim, path, "the dimension sizes", gzipped), dtype=">u4"))
    except GenlabError:
        raise
    except _GZIP_ERRORS as exc:
        raise GenlabError(f"cannot read IDX file {path}: {exc}") from None
    head = IdxHeader(path, dims, IDX_TYPES[code], gzipped)
    if math.prod(d for d in dims if d) > MAX_ELEMENTS:  # absurd, even beside a zero
        raise GenlabError(f"{path} declares shape {dims}, more elements than any real IDX "
                          "file; the header is corrupt")
    need = head.count * head.dtype.itemsize
    size = path.stat().st_size
    if not gzipped:
        if size < head.offset + need:
            raise _short_body(head, size - head.offset, "")
        if size > head.offset + need:
            raise GenlabError(f"{path} has {size - head.offset - need} bytes after the "
                              f"{head.count} elements its header declares (shape {dims}); "
                              "the file is corrupt")
    elif head.offset + need > MAX_GZIP_RATIO * size:
        raise GenlabError(f"gzipped IDX file {path} declares shape {dims} "
                          f"({format_bytes(need)} of data), more than a gzip file of "
                          f"{format_bytes(size)} can hold; it is truncated or its header is "
                          "corrupt")
    return head


def read_idx(path: str | os.PathLike[str], start: int = 0, limit: int | None = None
             ) -> np.ndarray:
    """Read an IDX file (plain or gzipped) into a native-endian numpy array.

    Only rows ``start`` to ``start + limit`` of the first dimension are read (all of them
    by default); a gzipped file is decompressed only that far, so its checksum and any
    trailing bytes are checked only when the whole file is read.

    Raises ``GenlabError`` for everything ``read_idx_header`` refuses, a data
    size beyond the machine's memory, a truncated body, trailing bytes or a corrupt gzip
    stream.
    """
    head = read_idx_header(path)
    path, dims, dtype = head.path, head.dims, head.dtype
    if start < 0 or (limit is not None and limit < 0):
        raise GenlabError(f"rows to read must be non-negative, got start={start} limit={limit}")
    stop = dims[0] if limit is None else min(dims[0], start + limit)
    start = min(start, stop)
    whole = start == 0 and stop == dims[0]
    need = (stop - start) * head.row_bytes
    check_memory(need, f"IDX file {path} (shape {dims}, "
                 f"{'all' if whole else stop - start} rows of {dtype.newbyteorder('=')})",
                 "read fewer rows (--limit)")
    rows = "" if whole else f" (reading rows {start} to {stop - 1})"
    try:
        with _open(path, head.gzipped) as fh:
            skip = head.offset + start * head.row_bytes
            if head.gzipped:
                skipped = skip_bytes(fh, skip)
                if skipped < skip:
                    raise _short_body(head, skipped - head.offset, rows)
            else:
                fh.seek(skip)
            buf, got = read_exactly(fh, need)
            if got != need:
                raise _short_body(head, skip + got - head.offset, rows)
            if whole and head.gzipped and fh.read(1):  # reading to the end checks the CRC
                raise GenlabError(f"{path} has bytes after the {head.count} elements its "
                                  f"header declares (shape {dims}); the file is corrupt")
    except GenlabError:
        raise
    except EOFError as exc:  # a gzip stream that stops before its end marker
        raise GenlabError(f"gzipped IDX file {path} is truncated ({exc})") from None
    except _GZIP_ERRORS as exc:
        raise GenlabError(f"cannot read IDX file {path}: {exc}") from None
    arr = buf.view(dtype) if need else np.empty(0, dtype=dtype)
    return to_native(arr.reshape((stop - start, *dims[1:])))


def write_idx(path: str | os.PathLike[str], array: np.ndarray, compress: bool | None = None
              ) -> Path:
    """Write ``array`` as an IDX file; gzipped when ``compress`` (default: name ends .gz)."""
    path = Path(path)
    arr = np.asarray(array)
    key = arr.dtype.kind + str(arr.dtype.itemsize)
    if key not in _CODES:
        raise GenlabError(f"IDX cannot store dtype {arr.dtype}; use uint8, int8, int16, "
                          "int32, float32 or float64")
    if arr.ndim == 0 or arr.ndim > 255:
        raise GenlabError(f"IDX needs 1 to 255 dimensions, got {arr.ndim}")
    code = _CODES[key]
    header = bytes([0, 0, code, arr.ndim]) + np.asarray(arr.shape, dtype=">u4").tobytes()
    data = header + np.ascontiguousarray(arr, dtype=IDX_TYPES[code]).tobytes()
    if compress is None:
        compress = path.suffix == ".gz"
    if compress:
        data = gzip.compress(data, mtime=0)
    from genlab.io import atomic_write_bytes

    return atomic_write_bytes(path, data)
