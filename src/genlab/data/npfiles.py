"""Reading NumPy ``.npy`` and ``.npz`` files that may be empty, truncated or not NumPy at all.

``read_npy`` and ``read_npz`` accept only numeric arrays (bool, integers, floats).
Each array's header is read and checked first: the dtype must be numeric (never Python
objects, so nothing is unpickled), the shape non-negative, and the data the header
declares must be exactly what the file holds and fit in the machine's memory. Anything
else is a ``GenlabError`` that says what is wrong with the file.
"""

from __future__ import annotations

import math
import os
import tokenize
import zipfile
from pathlib import Path
from typing import BinaryIO

import numpy as np

from genlab.data.safeio import check_memory, file_head, one_line, read_exactly, to_native
from genlab.errors import GenlabError

NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # a zip with members, an empty zip
NUMERIC_KINDS = "biuf"
# what numpy's header parser raises for a damaged header
_HEADER_ERRORS = (ValueError, EOFError, OSError, SyntaxError, TypeError, OverflowError,
                  UnicodeDecodeError, RecursionError, MemoryError, tokenize.TokenError)
MAX_ELEMENTS = 2**40  # beyond any real array: refused before numpy is asked to shape it


def _kind_problem(dtype: np.dtype) -> str | None:
    if dtype.hasobject:
        return "holds Python objects (dtype object); genlab reads only arrays of numbers"
    if dtype.fields is not None or dtype.kind not in NUMERIC_KINDS:
        return f"holds {dtype} values; genlab reads only arrays of numbers (bool, int, float)"
    return None


def _read_header(fh: BinaryIO) -> tuple[tuple[int, ...], bool, np.dtype]:
    """Shape, Fortran order and dtype from a ``.npy`` header (the magic already checked)."""
    version = np.lib.format.read_magic(fh)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
    elif version in ((2, 0), (3, 0)):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
    else:
        raise ValueError(f"unknown format version {version}")
    shape = tuple(shape)
    if any(not isinstance(d, int) or d < 0 for d in shape):
        raise ValueError(f"bad shape {shape}")
    if math.prod(d for d in shape if d) > MAX_ELEMENTS:  # absurd even beside a 0
        raise ValueError(f"absurd shape {shape}")
    return shape, bool(fortran), np.dtype(dtype)


def _read_array(fh: BinaryIO, data_bytes: int, where: str) -> np.ndarray:
    """One array from a ``.npy`` stream at its start, ``data_bytes`` the bytes after the header.

    ``where`` names the file (or archive member) in messages.
    """
    if fh.read(len(NPY_MAGIC)) != NPY_MAGIC:
        raise GenlabError(f"{where} is not a valid .npy file (it does not start with the "
                          "NumPy magic bytes \\x93NUMPY)")
    fh.seek(0)
    try:
        shape, fortran, dtype = _read_header(fh)
    except _HEADER_ERRORS as exc:
        raise GenlabError(f"{where} is not a valid .npy file: its header is damaged "
                          f"({one_line(exc)})") from None
    problem = _kind_problem(dtype)
    if problem:
        raise GenlabError(f"{where} {problem}")
    count = math.prod(shape)
    need = count * dtype.itemsize
    have = data_bytes - fh.tell()
    if have < need:
        raise GenlabError(f"{where} is truncated: its header declares shape {shape} of "
                          f"{dtype} ({need} bytes of data) but the file holds {max(have, 0)}")
    if have > need:
        raise GenlabError(f"{where} has {have - need} bytes after the {shape} {dtype} array "
                          "its header declares; the file is corrupt (save one array per .npy)")
    check_memory(need, f"{where} (shape {shape}, {dtype})")
    buf, got = read_exactly(fh, need)
    if got != need:
        raise GenlabError(f"{where} is truncated: {need} bytes of data declared, {got} read")
    arr = buf.view(dtype) if need else np.empty(0, dtype=dtype)
    arr = arr.reshape(shape, order="F" if fortran else "C")
    return to_native(arr)


def _start(path: Path, what: str) -> bytes:
    head = file_head(path, what)
    if not head:
        raise GenlabError(f"{path} is empty (0 bytes); expected a NumPy file")
    return head


def read_npy(path: str | os.PathLike[str], what: str = "array") -> np.ndarray:
    """Read one numeric array from a ``.npy`` file, native byte order.

    Raises ``GenlabError`` for a missing or empty file, a file that is not ``.npy``
    (its first bytes are not NumPy's magic), a damaged header, non-numeric data (strings,
    Python objects, records), a truncated body, trailing bytes, or a size beyond memory.
    """
    path = Path(path)
    _start(path, what)
    try:
        with open(path, "rb") as fh:
            return _read_array(fh, path.stat().st_size, str(path))
    except OSError as exc:
        raise GenlabError(f"cannot read {path}: {exc.strerror or exc}") from None


def read_npz(path: str | os.PathLike[str], names: tuple[str, ...] | None = None,
             what: str = "arrays") -> dict[str, np.ndarray]:
    """Read numeric arrays from a ``.npz`` archive, by name (without ``.npy``), in file order.

    With ``names`` only those members are read (missing ones are simply absent from the
    result); otherwise every array. Members that are not ``.npy`` files are ignored.
    Each member is checked as ``read_npy`` checks a file, and a damaged archive
    (truncated, not a zip, bad checksum) is a ``GenlabError``.
    """
    path = Path(path)
    head = _start(path, what)
    if not head.startswith(ZIP_MAGICS):
        raise GenlabError(f"{path} is not a valid .npz file (it is not a zip archive; "
                          "write one with numpy.savez)")
    out: dict[str, np.ndarray] = {}
    try:
        with zipfile.ZipFile(path) as zf:
            members = [i for i in zf.infolist() if i.filename.endswith(".npy")]
            for info in members:
                name = info.filename[:-4]
                if names is not None and name not in names:
                    continue
                where = f"{path} (array {name!r})"
                with zf.open(info) as fh:
                    # the zip's declared size bounds what the member can decompress to
                    out[name] = _read_array(fh, info.file_size, where)  # type: ignore[arg-type]
    except GenlabError:
        raise
    # zipfile and its decompressors raise many types for a damaged archive (BadZipFile,
    # zlib.error, EOFError, NotImplementedError, RuntimeError for encryption, ...)
    except Exception as exc:  # noqa: BLE001
        raise GenlabError(f"{path} is not a readable .npz file: the archive is damaged or "
                          f"truncated ({one_line(exc)})") from None
    return out
