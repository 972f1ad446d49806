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
from typing import NamedTuple

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


def mutual_info_matrix(codes: np.ndarray, factors: np.ndarray, n_bins: int = 20
                       ) -> tuple[np.ndarray, np.ndarray]:
    r"""Plug-in $I(z_j; v_k)$ ``(d, K)`` of codes ``(n, d)`` binned into ``n_bins``
    equal-width bins and int factors ``(n, K)``, and the factors' entropies $H(v_k)$
    ``(K,)``, all in nats: the matrix behind the MIG."""
    binned = discretize(codes, n_bins)
    mi = np.array([[discrete_mutual_info(binned[:, j], factors[:, k])
                    for k in range(factors.shape[1])]
                   for j in range(codes.shape[1])])  # (d, K)
    entropy = np.array([discrete_mutual_info(factors[:, k], factors[:, k])
                        for k in range(factors.shape[1])])
    return mi.reshape(codes.shape[1], factors.shape[1]), entropy


def normalized_mutual_info(mi: np.ndarray, entropy: np.ndarray) -> np.ndarray:
    r"""$I(z_j; v_k) / H(v_k)$ ``(d, K)``, the fraction of factor $k$'s entropy that latent
    $j$ holds (the MIG's normalisation); 0 for a factor constant in the sample."""
    mi, entropy = np.asarray(mi, dtype=np.float64), np.asarray(entropy, dtype=np.float64)
    return np.where(entropy > 0, mi / np.where(entropy > 0, entropy, 1.0), 0.0)


def independence_threshold(n_samples: int, n_bins: int, factor_sizes: Sequence[int],
                           entropy: Sequence[float] | None = None, n_sd: float = 4.0) -> float:
    r"""The largest normalised MI a latent independent of every factor shows, by chance,
    with ``n_samples`` codes binned into ``n_bins``: below it a latent informs no factor.

    For a code independent of factor $k$ the plug-in estimate is biased upwards; with
    $N$ samples, $B$ bins and $K_k$ factor values, $2N\hat I$ follows a $\chi^2$
    distribution with $\nu_k = (B - 1)(K_k - 1)$ degrees of freedom (the G-test; Miller's
    bias $\nu_k / 2N$ nats), so

    $$
    \tau = \max_k \frac{\nu_k + c\,\sqrt{2 \nu_k}}{2 N H_k}
    $$

    is the bias plus $c$ (``n_sd``, default 4) null standard deviations, normalised by
    $H_k$ (``entropy``; default $\log K_k$, uniform factors). $B$ counts every bin, so
    a code that leaves bins empty sits further below $\tau$. dSprites with the MIG's
    10,000 samples and 20 bins: $\tau = 0.0121$ (set by orientation, $K = 40$), against an
    expected $0.0100$ for an independent latent.

    Args:
        n_samples: codes $N$.
        n_bins: bins $B$ per code dimension.
        factor_sizes: values $K_k$ of each factor.
        entropy: $H_k$ in nats, ``(K,)`` (default $\log K_k$).
        n_sd: null standard deviations above the bias.

    Returns:
        $\tau$ on the scale of $I / H$ (above 1 for samples too small to name any latent).
    """
    sizes = check_sizes(factor_sizes)
    check_count("n_samples", n_samples, 2)
    check_count("n_bins", n_bins, 2)
    h = np.log(sizes) if entropy is None else np.asarray(entropy, dtype=np.float64)
    dof = (n_bins - 1) * (np.asarray(sizes, dtype=np.float64) - 1)
    tau = np.where(h > 0, (dof + n_sd * np.sqrt(2 * dof)) / (2 * n_samples
                                                              * np.where(h > 0, h, 1.0)), 0.0)
    return float(tau.max())


@dataclass(frozen=True)
class FactorMutualInfo:
    """Result of ``factor_mutual_info``.

    Attributes:
        mutual_info: ``(d, K)`` plug-in $I(z_j; v_k)$ in nats.
        entropy: ``(K,)`` plug-in $H(v_k)$ in nats.
        normalized: ``(d, K)`` $I(z_j; v_k) / H(v_k)$.
        threshold: ``independence_threshold`` for these sample sizes.
        n_samples: codes used.
        n_bins: equal-width bins per code dimension.
    """

    mutual_info: list[list[float]]
    entropy: list[float]
    normalized: list[list[float]]
    threshold: float
    n_samples: int
    n_bins: int


def _sampled_mutual_info(code_fn: CodeFunction, factor_sizes: Sequence[int], seed: int,
                         n_samples: int, n_bins: int, min_dims: int = 1
                         ) -> tuple[list[int], np.ndarray, np.ndarray]:
    """The draw both the MIG and its MI matrix rest on: ``n_samples`` uniform factors under
    ``seed``, their codes (at least ``min_dims`` dimensions) binned into ``n_bins``; returns
    the checked sizes, $I(z_j; v_k)$ ``(d, K)`` and $H(v_k)$ ``(K,)`` in nats."""
    sizes = check_sizes(factor_sizes)
    check_count("n_samples", n_samples, 2)
    check_count("n_bins", n_bins, 2)
    gen = torch.Generator().manual_seed(int(seed))
    factors = sample_factors(n_samples, sizes, gen)
    codes = codes_of(code_fn, factors).numpy()
    if codes.shape[1] < min_dims:
        raise GenlabError(f"MIG needs codes of at least {min_dims} dimensions, "
                          f"got {codes.shape[1]}")
    mi, entropy = mutual_info_matrix(codes, factors.numpy(), n_bins)
    return sizes, mi, entropy


def factor_mutual_info(code_fn: CodeFunction, factor_sizes: Sequence[int], seed: int = 0,
                       n_samples: int = 10_000, n_bins: int = 20) -> FactorMutualInfo:
    r"""The MIG's mutual-information matrix of a code function: ``n_samples`` uniform
    factors drawn under ``seed`` (the same draw as ``mig_score`` with that seed), their
    codes binned into ``n_bins``, $I(z_j; v_k)$, $H(v_k)$, $I/H$ and the
    ``independence_threshold`` of that normalised matrix."""
    sizes, mi, entropy = _sampled_mutual_info(code_fn, factor_sizes, seed, n_samples, n_bins)
    return FactorMutualInfo(mutual_info=mi.tolist(), entropy=entropy.tolist(),
                            normalized=normalized_mutual_info(mi, entropy).tolist(),
                            threshold=independence_threshold(n_samples, n_bins, sizes, entropy),
                            n_samples=n_samples, n_bins=n_bins)


class LatentFactor(NamedTuple):
    r"""One latent's label from ``latent_factor_labels``.

    Attributes:
        latent: the latent index $j$.
        factor: the factor it informs most, or None when it informs none.
        mi: its largest normalised MI, $\max_k I(z_j; v_k) / H(v_k)$.
    """

    latent: int
    factor: str | None
    mi: float


def latent_factor_labels(normalized: np.ndarray | Sequence[Sequence[float]],
                         factor_names: Sequence[str], threshold: float) -> list[LatentFactor]:
    r"""Name each latent by the factor it informs most: $k^*_j = \arg\max_k I_{jk} / H_k$
    on the normalised matrix ``normalized`` ``(d, K)`` (``factor_mutual_info``), or
    None when $\max_k I_{jk} / H_k$ is below ``threshold`` (``independence_threshold``:
    no more than an independent latent shows by chance). Returns one label per latent, in
    latent order."""
    norm = np.asarray(normalized, dtype=np.float64)
    if norm.ndim != 2 or norm.shape[1] != len(factor_names):
        raise GenlabError(f"the normalised MI matrix must have one column per factor "
                          f"({len(factor_names)}), got shape {norm.shape}")
    best = norm.argmax(1) if norm.shape[1] else np.zeros(len(norm), dtype=np.int64)
    labels = []
    for j, k in enumerate(best):
        value = float(norm[j, k]) if norm.shape[1] else 0.0
        labels.append(LatentFactor(j, factor_names[k] if value >= threshold else None, value))
    return labels


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
    _, mi, entropy = _sampled_mutual_info(code_fn, factor_sizes, seed, n_samples, n_bins,
                                          min_dims=2)
    top = np.sort(mi, axis=0)[::-1]  # (d, K) descending per factor
    # a factor constant in the sample has H = 0 and no gap to speak of
    gap = np.where(entropy > 0, (top[0] - top[1]) / np.where(entropy > 0, entropy, 1.0), 0.0)
    return MIGScore(score=float(gap.mean()), per_factor=gap.tolist(), mutual_info=mi.tolist(),
                    entropy=entropy.tolist(), n_samples=n_samples, n_bins=n_bins)
