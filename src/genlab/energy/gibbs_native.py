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
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

import torch

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


def cache_dir() -> Path:
    """Where compiled kernels are kept: ``$GENLAB_CACHE`` or ``~/.cache/genlab``."""
    return Path(os.environ.get("GENLAB_CACHE") or Path.home() / ".cache" / "genlab")


@lru_cache(maxsize=1)
def _load() -> ctypes.CDLL | None:
    if os.environ.get("GENLAB_NO_COMPILE", "") not in ("", "0"):
        return None
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return None
    key = hashlib.sha256((C_SOURCE + " ".join(CFLAGS) + platform.machine()).encode())
    lib = cache_dir() / f"gibbs_block_{key.hexdigest()[:16]}.so"
    try:
        if not lib.is_file():
            lib.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=lib.parent) as tmp:
                src, out = Path(tmp) / "gibbs_block.c", Path(tmp) / "gibbs_block.so"
                src.write_text(C_SOURCE)
                subprocess.run([compiler, *CFLAGS, "-o", str(out), str(src)], check=True,
                               capture_output=True, timeout=120)
                os.replace(out, lib)  # atomic: concurrent builds never see half a file
        dll = ctypes.CDLL(str(lib))
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
