"""Compiled inner loop for exact sequential Gibbs sweeps of the Boltzmann machine on the
CPU (optional).

A blocked sweep computes the fields of a block of ``k`` units for every chain with one
matrix product, then visits the block's units one at a time, adding
``(x_i^new - x_i^old) w_ij`` to the fields of the block's later units ``j`` whenever unit
``i`` flips. That correction is a short loop per unit and chain; in Python its per-unit
overhead dominates, so it is compiled from the C source below by
:class:`genlab.native.NativeLibrary` (built once, cached and checked; see
:mod:`genlab.native`). When it is not available :func:`native_kernel` returns None and
:mod:`genlab.boltzmann.gibbs` runs the same arithmetic with torch operations.
"""

from __future__ import annotations

import ctypes

import torch

from genlab.native import NativeLibrary

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
"""

_I64 = ctypes.c_int64
LIBRARY = NativeLibrary("gibbs_block", C_SOURCE, {
    name: ([ctypes.c_void_p] * 4 + [_I64] * 4 + [real, _I64, _I64], None)
    for name, real in (("gibbs_block_f32", ctypes.c_float), ("gibbs_block_f64", ctypes.c_double))
})


def native_kernel(dtype: torch.dtype, device: torch.device) -> ctypes._CFuncPtr | None:
    """The compiled Gibbs block kernel for ``dtype`` on ``device``, or None to use torch."""
    return LIBRARY.kernel("gibbs_block", dtype, device)


def run_block(kernel: ctypes._CFuncPtr, x: torch.Tensor, a: torch.Tensor,
              logit_u: torch.Tensor, weights: torch.Tensor, start: int,
              two_beta: float) -> None:
    """Apply ``kernel`` to block ``[start, start + a.shape[1])`` (all tensors contiguous)."""
    chains, k = a.shape
    kernel(x.data_ptr(), a.data_ptr(), logit_u.data_ptr(), weights.data_ptr(), chains,
           weights.shape[0], start, k, two_beta, x.stride(0), logit_u.stride(0))
