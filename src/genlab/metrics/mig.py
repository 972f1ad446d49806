r"""The Mutual Information Gap (Chen et al. 2018, "Isolating sources of disentanglement in
VAEs", NeurIPS; eq. 6), in the discretised form of Locatello et al. 2019
(disentanglement_lib) on which the published dSprites ranges are measured.

On ``n_samples`` codes of uniform factors, each code dimension $z_j$ is cut into
``n_bins`` equal-width bins over its observed range; with plug-in (empirical) estimates
in nats, $I_{jk} = I(z_j; v_k)$ and $H_k = H(v_k)$,

$$
\mathrm{MIG} = \frac{1}{K} \sum_{k=1}^{K} \frac{I_{j^{(1)}k} - I_{j^{(2)}k}}{H_k}
$$

where $j^{(1)}$, $j^{(2)}$ are the dimensions with the largest and second-largest mutual
information with factor $k$. A code that holds each factor in one dimension and
nothing else scores $H(\mathrm{bin}(v_k)) / H(v_k)$ per factor (1 when the bins separate
every value); codes independent of the factors score about 0.

Sample size of the papers (default): 10,000 codes, 20 bins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from genlab.errors import GenlabError
from genlab.metrics.ground_truth import (
    CodeFunction,
    check_count,
    check_sizes,
    codes_of,
    sample_factors,
)


@dataclass(frozen=True)
class MIGScore:
    """Result of ``mig_score``.

    Attributes:
        score: the MIG, in [0, 1].
        per_factor: ``(K,)`` normalised gap of each factor.
        mutual_info: ``(d, K)`` plug-in $I(z_j; v_k)$ in nats.
        entropy: ``(K,)`` plug-in $H(v_k)$ in nats.
        n_samples: codes used.
        n_bins: equal-width bins per code dimension.
    """

    score: float
    per_factor: list[float]
    mutual_info: list[list[float]]
    entropy: list[float]
    n_samples: int
    n_bins: int


def discretize(codes: np.ndarray, n_bins: int) -> np.ndarray:
    """Bin each column of ``codes`` ``(n, d)`` into ``n_bins`` equal-width bins over its
    range; returns ``(n, d)`` int bin indices in ``[0, n_bins)``."""
    out = np.zeros(codes.shape, dtype=np.int64)
    for j in range(codes.shape[1]):
        edges = np.histogram(codes[:, j], bins=n_bins)[1]
        out[:, j] = np.digitize(codes[:, j], edges[:-1]) - 1
    return out


def discrete_mutual_info(a: np.ndarray, b: np.ndarray) -> float:
    r"""Plug-in $I(a; b) = \sum_{a,b} p(a,b) \log \frac{p(a,b)}{p(a)\,p(b)}$ in nats of two
    int arrays."""
    _, ia = np.unique(a, return_inverse=True)
    _, ib = np.unique(b, return_inverse=True)
    joint = np.zeros((ia.max() + 1, ib.max() + 1))
    np.add.at(joint, (ia, ib), 1.0)
    joint /= len(a)
    pa, pb = joint.sum(1, keepdims=True), joint.sum(0, keepdims=True)
    nz = joint > 0
    return float((joint[nz] * np.log(joint[nz] / (pa @ pb)[nz])).sum())


def mig_score(code_fn: CodeFunction, factor_sizes: Sequence[int], seed: int = 0,
              n_samples: int = 10_000, n_bins: int = 20) -> MIGScore:
    r"""The Mutual Information Gap of a code function (maths in the module docstring).

    Args:
        code_fn: ``(n, K)`` factor indices -> ``(n, d)`` codes, $d \ge 2$.
        factor_sizes: the number of values of each of the ``K`` factors.
        seed: seeds the factor sampling.
        n_samples: codes used.
        n_bins: equal-width bins per code dimension.

    Returns:
        The score with each factor's normalised gap, the mutual informations and
        entropies, and the sample sizes.
    """
    sizes = check_sizes(factor_sizes)
    check_count("n_samples", n_samples, 2)
    check_count("n_bins", n_bins, 2)
    gen = torch.Generator().manual_seed(int(seed))
    factors = sample_factors(n_samples, sizes, gen)
    codes = codes_of(code_fn, factors).numpy()
    if codes.shape[1] < 2:
        raise GenlabError(f"MIG needs codes of at least 2 dimensions, got {codes.shape[1]}")
    binned = discretize(codes, n_bins)
    v = factors.numpy()
    mi = np.array([[discrete_mutual_info(binned[:, j], v[:, k]) for k in range(len(sizes))]
                   for j in range(codes.shape[1])])  # (d, K)
    entropy = np.array([discrete_mutual_info(v[:, k], v[:, k]) for k in range(len(sizes))])
    top = np.sort(mi, axis=0)[::-1]  # (d, K) descending per factor
    # a factor constant in the sample has H = 0 and no gap to speak of
    gap = np.where(entropy > 0, (top[0] - top[1]) / np.where(entropy > 0, entropy, 1.0), 0.0)
    return MIGScore(score=float(gap.mean()), per_factor=gap.tolist(), mutual_info=mi.tolist(),
                    entropy=entropy.tolist(), n_samples=n_samples, n_bins=n_bins)
