"""Compiled inner loops, built from C source at run time and cached (optional).

Some exact sequential sweeps (a Gibbs sweep of the Boltzmann machine, the asynchronous
Hopfield sweep) visit one unit at a time; in Python the per-unit overhead dominates, so
each model keeps a short C source beside it and a ``NativeLibrary`` compiles it with
the system C compiler (``cc``, or ``$CC``), once, into a cache folder (``$GENLAB_CACHE`` or
``~/.cache/genlab``), and loads it once per process.

The dependency is optional: when no compiler is found, compilation fails, or
``GENLAB_NO_COMPILE=1`` is set, ``NativeLibrary.load`` returns None and the model runs
the same arithmetic with torch operations (likewise for tensors off the CPU).

What is loaded is checked, once per process:

- The cache folder must belong to the current user and not be writable by group or
  others (unless sticky, as ``/tmp``); it is created with mode 0700. Otherwise another
  user could put code in every recall and sweep, so the folder is not used: one warning
  line goes to stderr and the torch path runs.
- Beside ``<name>_<key>.so`` lies ``<name>_<key>.json``, a manifest with the cache key
  (sha256 of the C source, the flags and the machine) and the sha256 of the library's
  bytes. Both are written to fresh temporary files in the folder and renamed into place,
  so no reader sees half a file.
- Before loading, the library's bytes are read (from a private regular file of this user,
  not a link) and hashed. A missing, unreadable or foreign file, a manifest for another
  source, or a digest that differs (a truncated file, other bytes) means a rebuild.
- The bytes loaded are exactly the ones hashed or just compiled: they are copied into an
  anonymous memory file (Linux) or, failing that, a private 0600 file, and that copy is
  loaded, so a change to the cache after the check cannot reach the process.

The digest detects damage and stale or stray files; it cannot stop someone who may
write the folder as this user (they could rewrite the manifest too), which is why the
folder's permissions are checked.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import os
import platform
import shutil
import stat
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

import torch

from genlab.progress import log

CFLAGS = ("-O3", "-shared", "-fPIC", "-std=c99")
# Handles of loaded kernels' memory files: kept open so that a later load in this process
# never reuses the number, and with it the path, of one that glibc already holds open.
_OPEN_FDS: list[int] = []


class _Refused(Exception):
    """The cache folder can be written by another user; its files are not loaded."""


def cache_dir() -> Path:
    """Where compiled kernels are kept: ``$GENLAB_CACHE`` or ``~/.cache/genlab``."""
    return Path(os.environ.get("GENLAB_CACHE") or Path.home() / ".cache" / "genlab")


def _trusted_folder(folder: Path) -> Path:
    """``folder``, created private (0700) when missing; ``_Refused`` when it is owned
    by another user, or writable by group or others without the sticky bit."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        folder.mkdir(mode=0o700)
    except FileExistsError:
        pass
    st = folder.stat()
    if not stat.S_ISDIR(st.st_mode):
        raise OSError(f"{folder} is not a folder")
    uid = os.geteuid() if hasattr(os, "geteuid") else None
    if uid is not None and st.st_uid != uid:
        raise _Refused(f"the kernel cache {folder} belongs to another user; set GENLAB_CACHE "
                       "to a folder of your own")
    if st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX:
        raise _Refused(f"the kernel cache {folder} is writable by other users; run "
                       f"'chmod go-w {folder}' or set GENLAB_CACHE to a private folder")
    return folder


def _read_own(path: Path) -> bytes:
    """The bytes of the regular file ``path``, refusing (OSError) a link, a file of another
    user, or one that group or others may write: such a file may have been planted in a
    sticky shared folder, and is rebuilt rather than read."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        uid = os.geteuid() if hasattr(os, "geteuid") else st.st_uid
        if not stat.S_ISREG(st.st_mode) or st.st_uid != uid or st.st_mode & 0o022:
            raise OSError(f"{path} is not a private regular file")
        return f.read()


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a fresh private file beside ``path``, flush it to disk, and rename
    it over ``path``: a reader sees the old file or the whole new one, never a part."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _cached(lib: Path, manifest: Path, key: str) -> bytes | None:
    """The bytes of ``lib`` when its manifest was written for ``key`` and records their
    sha256; None when either file is missing, unreadable, foreign, or does not match."""
    try:
        record = json.loads(_read_own(manifest))
        data = _read_own(lib)
    except (OSError, ValueError):
        return None
    if (not isinstance(record, dict) or record.get("key") != key
            or record.get("sha256") != hashlib.sha256(data).hexdigest()):
        return None
    return data


def _compile(compiler: str, folder: Path, name: str, source: str) -> bytes:
    """Compile the C ``source`` in a private temporary folder inside ``folder``."""
    with tempfile.TemporaryDirectory(dir=folder, prefix=".build-") as tmp:
        src, out = Path(tmp) / f"{name}.c", Path(tmp) / f"{name}.so"
        src.write_text(source)
        subprocess.run([compiler, *CFLAGS, "-o", str(out), str(src)], check=True,
                       capture_output=True, timeout=120)
        return out.read_bytes()


def _build(compiler: str, lib: Path, manifest: Path, key: str, name: str,
           source: str) -> bytes:
    """Compile, then put the library and its manifest in place (each renamed atomically;
    a reader between the two renames sees a mismatch and builds again)."""
    data = _compile(compiler, lib.parent, name, source)
    _write_atomic(lib, data)
    record = {"key": key, "library": lib.name, "sha256": hashlib.sha256(data).hexdigest()}
    _write_atomic(manifest, (json.dumps(record, indent=1) + "\n").encode())
    return data


def _dlopen(data: bytes, folder: Path) -> ctypes.CDLL:
    """Load the library whose bytes are ``data`` (already verified), from a copy that no
    one else can change: an anonymous memory file on Linux, else a private (0600) file in
    ``folder``, removed once loaded."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("genlab_kernel", getattr(os, "MFD_CLOEXEC", 0))
        try:
            with open(fd, "wb", closefd=False) as f:
                f.write(data)
            dll = ctypes.CDLL(f"/proc/self/fd/{fd}")
        except OSError:
            os.close(fd)  # e.g. no /proc: load from a private file instead
        else:
            _OPEN_FDS.append(fd)
            return dll
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".load-", suffix=".so")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return ctypes.CDLL(tmp)
    finally:
        os.unlink(tmp)



class NativeLibrary:
    """A C ``source`` compiled into ``<name>_<key>.so`` in the cache, checked and loaded once
    per process (as the module docstring says).

    ``signatures`` maps each exported function to its ``(argtypes, restype)``. Functions come
    in a float32 and a float64 version, ``{base}_f32`` and ``{base}_f64``; ``kernel``
    picks the one for a dtype.
    """

    def __init__(self, name: str, source: str,
                 signatures: dict[str, tuple[list, object]]) -> None:
        self.name = name
        self.source = source
        self.signatures = signatures
        # the verified library, or None for torch; load.cache_clear() forgets it
        self.load = lru_cache(maxsize=1)(self._load)

    def cache_key(self) -> str:
        """sha256 of what determines the library: the C source, the flags and the machine."""
        text = self.source + " ".join(CFLAGS) + platform.machine()
        return hashlib.sha256(text.encode()).hexdigest()

    def paths(self, folder: Path) -> tuple[Path, Path]:
        """The library ``<name>_<key>.so`` in ``folder`` and its manifest ``.json``."""
        lib = folder / f"{self.name}_{self.cache_key()[:16]}.so"
        return lib, lib.with_suffix(".json")

    def _load(self) -> ctypes.CDLL | None:
        if os.environ.get("GENLAB_NO_COMPILE", "") not in ("", "0"):
            return None
        compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
        if compiler is None:
            return None
        key = self.cache_key()
        try:
            folder = _trusted_folder(cache_dir())
            lib, manifest = self.paths(folder)
            data = _cached(lib, manifest, key)
            if data is None:
                data = _build(compiler, lib, manifest, key, self.name, self.source)
            dll = _dlopen(data, folder)
        except _Refused as e:
            log(f"genlab: warning: {e}; using the slower torch sweeps")
            return None
        except (OSError, subprocess.SubprocessError):
            return None
        for fname, (argtypes, restype) in self.signatures.items():
            fn = getattr(dll, fname)
            fn.argtypes, fn.restype = argtypes, restype
        return dll

    def kernel(self, base: str, dtype: torch.dtype, device: torch.device
               ) -> ctypes._CFuncPtr | None:
        """The compiled ``{base}_f32`` or ``{base}_f64`` for ``dtype`` on ``device``, or None
        (not the CPU, another dtype, or no library) to use torch."""
        if device.type != "cpu" or dtype not in (torch.float32, torch.float64):
            return None
        dll = self.load()
        if dll is None:
            return None
        return getattr(dll, f"{base}_f32" if dtype == torch.float32 else f"{base}_f64")
