"""Compiled inner loop of the asynchronous Hopfield sweep on the CPU (optional).

Within a block of ``k`` units (numbered in update order) each unit is set by the activity
rule and its change is added to the activities of the block's later units; in Python the
per-unit overhead dominates, so the loop is compiled from the C source below by
:class:`genlab.native.NativeLibrary` (built once, cached and checked; see
:mod:`genlab.native`). When it is not available :func:`hopfield_kernel` returns None and
:mod:`genlab.hopfield.dynamics` runs the same arithmetic with torch operations.
"""

from __future__ import annotations

import ctypes

import torch

from genlab.native import NativeLibrary

C_SOURCE = r"""
#include <stdint.h>
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

LIBRARY = NativeLibrary("hopfield_block", C_SOURCE, {
    name: ([ctypes.c_void_p] * 5 + [ctypes.c_int64] * 5, None)
    for name in ("hopfield_block_f32", "hopfield_block_f64")
})


def hopfield_kernel(dtype: torch.dtype, device: torch.device) -> ctypes._CFuncPtr | None:
    """The compiled asynchronous Hopfield block kernel for ``dtype`` on ``device``, or None
    to use torch."""
    return LIBRARY.kernel("hopfield_block", dtype, device)


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
