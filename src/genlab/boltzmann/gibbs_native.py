"""Compiled inner loops for exact sequential sweeps on the CPU (optional): Gibbs sampling
of the Boltzmann machine and the zero-temperature asynchronous Hopfield sweep.

A blocked sweep computes the fields of a block of ``k`` units for every chain with one
matrix product, then visits the block's units one at a time, adding
``(x_i^new - x_i^old) w_ij`` to the fields of the block's later units ``j`` whenever unit
``i`` flips. That correction is a short loop per unit and chain; in Python its per-unit
overhead dominates, so it is compiled here from the C source below with the system C
compiler (``cc``), once, into a cache folder (``$GENLAB_CACHE`` or ``~/.cache/genlab``).

The dependency is optional: when no compiler is found, compilation fails, the tensors
are not on the CPU, or ``GENLAB_NO_COMPILE=1`` is set, :func:`native_kernel` returns
None and :mod:`genlab.energy.gibbs` runs the same arithmetic with torch operations;
likewise :func:`hopfield_kernel` and :mod:`genlab.hopfield.dynamics`.

What is loaded is checked, once per process:

- The cache folder must belong to the current user and not be writable by group or
  others (unless sticky, as ``/tmp``); it is created with mode 0700. Otherwise another
  user could put code in every recall and sweep, so the folder is not used: one warning
  line goes to stderr and the torch path runs.
- Beside ``gibbs_block_<key>.so`` lies ``gibbs_block_<key>.json``, a manifest with the
  cache key (sha256 of the C source, the flags and the machine) and the sha256 of the
  library's bytes. Both are written to fresh temporary files in the folder and renamed
  into place, so no reader sees half a file.
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

C_SOURCE = r"""
#include <stdint.h>
/* One block [s, s+k) of a sequential Gibbs sweep for every chain c.
   x: (chains, x_stride) spins, updated in place; a: (chains, k) fields of the block's
   units at the start of the block (contiguous, overwritten); l: (chains, l_stride)
   logit(u) of the uniforms; w: (n, n) symmetric weights, row-major.
   Unit i becomes +1 exactly when 2 beta a_i > logit(u_i), i.e. u_i < sigmoid(2 beta a_i). */
#define GIBBS_BLOCK(T, NAME)                                                        \
void NAME(T *x, T *a, const T *l, const T *w, int64_t chains, int64_t n,           \
          int64_t s, int64_t k, T two_beta, int64_t x_stride, int64_t l_stride) {   \
    for (int64_t c = 0; c < chains; ++c) {                                          \
        T *xs = x + c * x_stride + s;                                               \
        T *ac = a + c * k;                                                          \
        const T *lc = l + c * l_stride + s;                                         \
        for (int64_t i = 0; i < k; ++i) {                                           \
            T nv = (two_beta * ac[i] > lc[i]) ? (T)1 : (T)-1;                       \
            T d = nv - xs[i];                                                       \
            if (d != 0) {                                                           \
                const T *wr = w + (s + i) * n + s;                                  \
                xs[i] = nv;                                                         \
                for (int64_t j = i + 1; j < k; ++j) ac[j] += d * wr[j];             \
            }                                                                       \
        }                                                                           \
    }                                                                               \
}
GIBBS_BLOCK(float, gibbs_block_f32)
GIBBS_BLOCK(double, gibbs_block_f64)

/* One block [s, s+k) of an asynchronous Hopfield sweep (zero temperature) for chains
   [c0, c1), the units numbered in update order. x: (chains, n) states, updated in place;
   a: (chains, k) activities of the block's units at the start of the block (overwritten);
   w: (k, k) weights among the block's units; clamp: (chains, n) bytes, 1 = held, or NULL;
   drop: (chains,) energy decrease, accumulated. Unit i becomes +1 exactly when its
   activity is >= 0, and E falls by (x_new - x_old) a_i; then every later unit j of the
   block gets a_j += (x_new - x_old) w_ij. The chains are taken TILE at a time, transposed
   into (unit, chain) tiles, so that each of these steps is one loop over the tile's chains
   with no branches and no dependence between iterations (a compiler vectorises it). */
#define TILE 64
#define HOPFIELD_BLOCK(T, NAME)                                                     \
void NAME(T *x, T *a, const T *w, const uint8_t *clamp, T *drop, int64_t c0,        \
          int64_t c1, int64_t n, int64_t s, int64_t k) {                            \
    T at[k][TILE], xt[k][TILE], ht[k][TILE];                                        \
    for (int64_t t0 = c0; t0 < c1; t0 += TILE) {                                    \
        int64_t m = (c1 - t0 < TILE) ? c1 - t0 : TILE;                              \
        T fall[TILE], d[TILE];                                                      \
        for (int64_t t = 0; t < TILE; ++t) fall[t] = 0;                             \
        for (int64_t t = 0; t < m; ++t)                                             \
            for (int64_t i = 0; i < k; ++i) {                                       \
                at[i][t] = a[(t0 + t) * k + i];                                     \
                xt[i][t] = x[(t0 + t) * n + s + i];                                 \
                ht[i][t] = (clamp && clamp[(t0 + t) * n + s + i]) ? 1 : 0;          \
            }                                                                       \
        for (int64_t t = m; t < TILE; ++t)                                          \
            for (int64_t i = 0; i < k; ++i) { at[i][t] = 0; xt[i][t] = 1; ht[i][t] = 1; } \
        for (int64_t i = 0; i < k; ++i) {                                           \
            T *ai = at[i], *xi = xt[i], *hi = ht[i];                                \
            for (int64_t t = 0; t < TILE; ++t) {                                    \
                T nv = (ai[t] >= 0) ? (T)1 : (T)-1;                                 \
                nv = hi[t] * xi[t] + (1 - hi[t]) * nv;                              \
                d[t] = nv - xi[t];                                                  \
                fall[t] += d[t] * ai[t];                                            \
                xi[t] = nv;                                                         \
            }                                                                       \
            const T *wr = w + i * k;                                                \
            for (int64_t j = i + 1; j < k; ++j) {                                   \
                T wij = wr[j];                                                      \
                T *aj = at[j];                                                      \
                for (int64_t t = 0; t < TILE; ++t) aj[t] += d[t] * wij;             \
            }                                                                       \
        }                                                                           \
        for (int64_t t = 0; t < m; ++t) {                                           \
            for (int64_t i = 0; i < k; ++i) x[(t0 + t) * n + s + i] = xt[i][t];     \
            drop[t0 + t] += fall[t];                                                \
        }                                                                           \
    }                                                                               \
}
HOPFIELD_BLOCK(float, hopfield_block_f32)
HOPFIELD_BLOCK(double, hopfield_block_f64)
"""

CFLAGS = ("-O3", "-shared", "-fPIC", "-std=c99")
# Handles of loaded kernels' memory files: kept open so that a later load in this process
# never reuses the number, and with it the path, of one that glibc already holds open.
_OPEN_FDS: list[int] = []


class _Refused(Exception):
    """The cache folder can be written by another user; its files are not loaded."""


def cache_dir() -> Path:
    """Where compiled kernels are kept: ``$GENLAB_CACHE`` or ``~/.cache/genlab``."""
    return Path(os.environ.get("GENLAB_CACHE") or Path.home() / ".cache" / "genlab")


def _cache_key() -> str:
    """sha256 of what determines the library: the C source, the flags and the machine."""
    return hashlib.sha256((C_SOURCE + " ".join(CFLAGS) + platform.machine()).encode()).hexdigest()


def _trusted_folder(folder: Path) -> Path:
    """``folder``, created private (0700) when missing; :class:`_Refused` when it is owned
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


def _compile(compiler: str, folder: Path) -> bytes:
    """Compile :data:`C_SOURCE` in a private temporary folder inside ``folder``."""
    with tempfile.TemporaryDirectory(dir=folder, prefix=".build-") as tmp:
        src, out = Path(tmp) / "gibbs_block.c", Path(tmp) / "gibbs_block.so"
        src.write_text(C_SOURCE)
        subprocess.run([compiler, *CFLAGS, "-o", str(out), str(src)], check=True,
                       capture_output=True, timeout=120)
        return out.read_bytes()


def _build(compiler: str, lib: Path, manifest: Path, key: str) -> bytes:
    """Compile, then put the library and its manifest in place (each renamed atomically;
    a reader between the two renames sees a mismatch and builds again)."""
    data = _compile(compiler, lib.parent)
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


@lru_cache(maxsize=1)
def _load() -> ctypes.CDLL | None:
    """The compiled kernels (verified as the module docstring says), or None for torch."""
    if os.environ.get("GENLAB_NO_COMPILE", "") not in ("", "0"):
        return None
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return None
    key = _cache_key()
    try:
        folder = _trusted_folder(cache_dir())
        lib = folder / f"gibbs_block_{key[:16]}.so"
        manifest = lib.with_suffix(".json")
        data = _cached(lib, manifest, key)
        if data is None:
            data = _build(compiler, lib, manifest, key)
        dll = _dlopen(data, folder)
    except _Refused as e:
        log(f"genlab: warning: {e}; using the slower torch sweeps")
        return None
    except (OSError, subprocess.SubprocessError):
        return None
    i64 = ctypes.c_int64
    for name, real in (("gibbs_block_f32", ctypes.c_float), ("gibbs_block_f64", ctypes.c_double)):
        fn = getattr(dll, name)
        fn.restype = None
        fn.argtypes = [ctypes.c_void_p] * 4 + [i64] * 4 + [real, i64, i64]
    for name in ("hopfield_block_f32", "hopfield_block_f64"):
        fn = getattr(dll, name)
        fn.restype = None
        fn.argtypes = [ctypes.c_void_p] * 5 + [i64] * 5
    return dll


def _kernel(name: str, dtype: torch.dtype, device: torch.device) -> ctypes._CFuncPtr | None:
    """The compiled ``{name}_f32`` or ``{name}_f64`` for ``dtype`` on ``device``, or None."""
    if device.type != "cpu" or dtype not in (torch.float32, torch.float64):
        return None
    dll = _load()
    if dll is None:
        return None
    return getattr(dll, f"{name}_f32" if dtype == torch.float32 else f"{name}_f64")


def native_kernel(dtype: torch.dtype, device: torch.device) -> ctypes._CFuncPtr | None:
    """The compiled Gibbs block kernel for ``dtype`` on ``device``, or None to use torch."""
    return _kernel("gibbs_block", dtype, device)


def hopfield_kernel(dtype: torch.dtype, device: torch.device) -> ctypes._CFuncPtr | None:
    """The compiled asynchronous Hopfield block kernel for ``dtype`` on ``device``, or None."""
    return _kernel("hopfield_block", dtype, device)


def run_hopfield_block(kernel: ctypes._CFuncPtr, x: torch.Tensor, a: torch.Tensor,
                       w: torch.Tensor, start: int, clamp: torch.Tensor | None,
                       drop: torch.Tensor) -> None:
    """Apply ``kernel`` to block ``[start, start + k)`` for every chain (all tensors
    contiguous, on the CPU, units numbered in update order): ``x`` ``(C, N)``, ``a``
    ``(C, k)``, ``w`` ``(k, k)``, ``clamp`` ``(C, N)`` uint8 or None, ``drop`` ``(C,)``."""
    c, k = a.shape
    kernel(x.data_ptr(), a.data_ptr(), w.data_ptr(),
           None if clamp is None else clamp.data_ptr(), drop.data_ptr(), 0, c, x.shape[1],
           start, k)


def run_block(kernel: ctypes._CFuncPtr, x: torch.Tensor, a: torch.Tensor,
              logit_u: torch.Tensor, weights: torch.Tensor, start: int,
              two_beta: float) -> None:
    """Apply ``kernel`` to block ``[start, start + a.shape[1])`` (all tensors contiguous)."""
    chains, k = a.shape
    kernel(x.data_ptr(), a.data_ptr(), logit_u.data_ptr(), weights.data_ptr(), chains,
           weights.shape[0], start, k, two_beta, x.stride(0), logit_u.stride(0))
