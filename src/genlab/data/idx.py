"""Reading and writing IDX files (the MNIST / Fashion-MNIST format), plain or gzipped.

An IDX file is a 4-byte magic number ``00 00 TT D`` (TT the element type, D the number
of dimensions), then D big-endian uint32 sizes, then the elements in big-endian C
order. :func:`read_idx` checks every part and refuses truncated files, files with
trailing bytes and headers that promise more data than the file holds.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import zlib
from pathlib import Path

import numpy as np

from genlab.errors import GenlabError

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


def _open(path: Path) -> io.BufferedIOBase:
    with open(path, "rb") as fh:
        head = fh.read(2)
    if head == b"\x1f\x8b":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def _read_exact(fh: io.BufferedIOBase, n: int, path: Path, what: str) -> bytes:
    chunks = []
    remaining = n
    while remaining > 0:
        chunk = fh.read(min(remaining, 1 << 24))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    data = b"".join(chunks)
    if len(data) != n:
        raise GenlabError(f"IDX file {path} is truncated: {what} needs {n} bytes, "
                          f"found {len(data)}")
    return data


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (plain or gzipped) into a native-endian numpy array.

    Raises :class:`GenlabError` for a missing file, a bad magic number, an unknown type
    code, zero dimensions, a truncated body, trailing bytes or a corrupt gzip stream.
    """
    path = Path(path)
    if not path.is_file():
        raise GenlabError(f"IDX file {path} not found")
    try:
        with _open(path) as fh:
            magic = _read_exact(fh, 4, path, "the magic number")
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
                _read_exact(fh, 4 * ndim, path, "the dimension sizes"), dtype=">u4"))
            dtype = IDX_TYPES[code]
            count = math.prod(dims)
            if count > MAX_ELEMENTS:
                raise GenlabError(f"{path} declares {count} elements, more than any real "
                                  "IDX file; the header is corrupt")
            body = _read_exact(fh, count * dtype.itemsize, path, f"shape {dims}")
            if fh.read(1):
                raise GenlabError(f"{path} has bytes after the {count} elements its header "
                                  f"declares (shape {dims}); the file is corrupt")
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise GenlabError(f"cannot read IDX file {path}: {exc}") from None
    return np.frombuffer(body, dtype=dtype).reshape(dims).astype(dtype.newbyteorder("="))


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
