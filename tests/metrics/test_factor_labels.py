"""Naming latents by the factor they inform most: the MIG's normalised mutual information,
the chance level of an independent latent, and the rows of a traversal."""

import math

import numpy as np
import pytest
import torch

from genlab.data.dsprites import FACTOR_NAMES, FACTOR_SIZES
from genlab.errors import GenlabError
from genlab.latent.tasks import DSPRITES_ROW_FACTORS
from genlab.latent.traverse import factor_row_order
from genlab.metrics.mig import (
    factor_mutual_info,
    independence_threshold,
    latent_factor_labels,
    mig_score,
)

N_DEFAULT = 10_000  # the MIG's default sample size
X, SCALE = FACTOR_NAMES.index("pos_x"), FACTOR_NAMES.index("scale")


def known_code(seed: int = 1):
    """z0 = the x index, z1 = noise independent of every factor, z2 = the scale index."""
    gen = torch.Generator().manual_seed(seed)

    def code_fn(f: torch.Tensor) -> torch.Tensor:
        noise = torch.randn(len(f), generator=gen, dtype=torch.float64)
        return torch.stack([f[:, X].double(), noise, f[:, SCALE].double()], 1)

    return code_fn


def binned_entropy(size: int, n_bins: int) -> float:
    """H of ``size`` equally likely values 0..size-1 cut into ``n_bins`` equal-width bins
    over [0, size - 1] (the right edge in the last bin), in nats."""
    edges = np.linspace(0, size - 1, n_bins + 1)
    counts = np.bincount(np.clip(np.digitize(np.arange(size), edges[:-1]) - 1, 0, n_bins - 1))
    p = counts[counts > 0] / size
    return float(-(p * np.log(p)).sum())


def test_a_known_code_is_named_x_scale_nothing():
    info = factor_mutual_info(known_code(), FACTOR_SIZES, seed=0)
    names = ["x" if n == "pos_x" else "y" if n == "pos_y" else n for n in FACTOR_NAMES]
    labels = latent_factor_labels(info.normalized, names, info.threshold)
    assert [lab.factor for lab in labels] == ["x", None, "scale"]
    assert [lab.latent for lab in labels] == [0, 1, 2]
    norm = np.array(info.normalized)
    # z2 is the scale index: 6 values in 20 bins, one bin each, so I = H exactly
    assert labels[2].mi == pytest.approx(1.0, abs=1e-12) and norm[2, SCALE] == labels[2].mi
    # z0 is the x index: 32 values in 20 bins keep H(bin(x)) of H(x) = log 32; the plug-in
    # ratio's standard error on 10,000 draws is about 0.001, the tolerance ten of them
    assert labels[0].mi == pytest.approx(binned_entropy(32, 20) / math.log(32), abs=0.01)
    assert labels[1].mi < info.threshold
    # rows: x, scale, then the latent that informs nothing
    order = factor_row_order([lab.factor for lab in labels], [lab.mi for lab in labels],
                             [0.1, 5.0, 0.2], DSPRITES_ROW_FACTORS)
    assert order == [0, 2, 1]


def test_independent_latents_stay_below_the_threshold_at_the_default_size():
    """Eight latents independent of every factor, on the MIG's 10,000 samples and 20 bins:
    each one's largest normalised MI is below the threshold, and the mean for orientation
    (40 values) is the chi-square bias (B - 1)(K - 1) / (2 N H) the threshold starts from."""
    gen = torch.Generator().manual_seed(7)
    info = factor_mutual_info(lambda f: torch.rand(len(f), 8, generator=gen,
                                                   dtype=torch.float64),
                              FACTOR_SIZES, seed=3)
    norm = np.array(info.normalized)  # (8, 5)
    assert info.threshold == pytest.approx(independence_threshold(N_DEFAULT, 20, FACTOR_SIZES,
                                                                  info.entropy))
    assert info.threshold == pytest.approx(0.0121, abs=1e-4)
    assert norm.max() < info.threshold
    labels = latent_factor_labels(norm, FACTOR_NAMES, info.threshold)
    assert all(lab.factor is None for lab in labels)
    k = FACTOR_NAMES.index("orientation")
    bias = 19 * 39 / (2 * N_DEFAULT * info.entropy[k])
    sd = math.sqrt(2 * 19 * 39) / (2 * N_DEFAULT * info.entropy[k])  # one latent's null sd
    assert norm[:, k].mean() == pytest.approx(bias, abs=4 * sd / math.sqrt(8))


def test_threshold_is_the_chi_square_tail():
    # tau = max_k (nu + 4 sqrt(2 nu)) / (2 N log K_k), nu = (B - 1)(K_k - 1)
    nu = 19 * 39
    assert independence_threshold(1000, 20, (3, 40)) == pytest.approx(
        (nu + 4 * math.sqrt(2 * nu)) / (2 * 1000 * math.log(40)))
    assert independence_threshold(1000, 20, (1, 3), entropy=(0.0, math.log(3))) == \
        pytest.approx((38 + 4 * math.sqrt(76)) / (2000 * math.log(3)))
    with pytest.raises(GenlabError):
        independence_threshold(1, 20, (3,))


def test_the_mi_matrix_is_the_migs():
    code = known_code(seed=2)
    mig = mig_score(code, FACTOR_SIZES, seed=4, n_samples=500)
    info = factor_mutual_info(known_code(seed=2), FACTOR_SIZES, seed=4, n_samples=500)
    assert info.mutual_info == mig.mutual_info and info.entropy == mig.entropy
    np.testing.assert_allclose(np.array(info.normalized),
                               np.array(mig.mutual_info) / np.array(mig.entropy))


def test_labels_and_row_order_on_a_given_matrix():
    norm = [[0.1, 0.5], [0.02, 0.01], [0.3, 0.2], [0.0, 0.6]]
    labels = latent_factor_labels(norm, ["a", "b"], threshold=0.05)
    assert [(lab.factor, lab.mi) for lab in labels] == [("b", 0.5), (None, 0.02), ("a", 0.3),
                                                        ("b", 0.6)]
    # factor order b, a; within b the larger MI first; the unnamed latents by KL
    assert factor_row_order([lab.factor for lab in labels], [lab.mi for lab in labels],
                            [1.0, 2.0, 3.0, 4.0], ["b", "a"]) == [3, 0, 2, 1]
    assert factor_row_order([None, None, "a"], [0, 0, 1], [1.0, 3.0, 0.0],
                            ["a"]) == [2, 1, 0]
    with pytest.raises(GenlabError, match="one column per factor"):
        latent_factor_labels(norm, ["a"], 0.05)
    with pytest.raises(GenlabError, match="not one of"):
        factor_row_order(["c"], [1.0], [1.0], ["a"])


def test_absurd_sample_counts_are_refused_before_drawing():
    from genlab.errors import GenlabError
    from genlab.metrics.mig import factor_mutual_info, mig_score

    identity = lambda f: f.double()  # noqa: E731
    for score in (mig_score, factor_mutual_info):
        with pytest.raises(GenlabError, match="factor samples needs about"):
            score(identity, (3, 6, 40, 32, 32), n_samples=10**14)
