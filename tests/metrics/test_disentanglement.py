"""BetaVAE score, FactorVAE score and MIG on codes whose answer is known.

Ground-truth codes (codes = the factors) are perfectly disentangled; random codes carry
no information; the tolerances come from the binomial / plug-in-bias arguments below.
"""

import math

import numpy as np
import pytest
import torch

from genlab.data.dsprites import FACTOR_SIZES
from genlab.errors import GenlabError
from genlab.metrics import betavae_score, factorvae_score, mig_score
from genlab.metrics.mig import discrete_mutual_info

K = len(FACTOR_SIZES)


def truth(f: torch.Tensor) -> torch.Tensor:
    return f.double()


def random_codes(d: int = 10, seed: int = 1):
    gen = torch.Generator().manual_seed(seed)
    return lambda f: torch.randn(len(f), d, generator=gen, dtype=torch.float64)


def five_sigma(p: float, n: int) -> float:
    """5 standard errors of an accuracy with success probability p on n votes."""
    return 5 * math.sqrt(p * (1 - p) / n)


def test_betavae_score_ground_truth_is_one_and_random_is_chance():
    # truth: z_diff is exactly 0 in dimension k and > 0 elsewhere (a.s. for L = 64):
    # linearly separable, so the logistic classifier is perfect.
    res = betavae_score(truth, FACTOR_SIZES, seed=0, n_train=300, n_eval=300)
    assert res.score == 1.0 and res.chance == pytest.approx(0.2)
    # random: the prediction is independent of the evaluation label, so the accuracy is
    # Binomial(300, 1/K) / 300.
    res = betavae_score(random_codes(), FACTOR_SIZES, seed=0, n_train=300, n_eval=300)
    assert abs(res.score - 1 / K) < five_sigma(1 / K, 300)


def test_factorvae_score_ground_truth_is_one_and_random_is_chance():
    res = factorvae_score(truth, FACTOR_SIZES, seed=0, n_train=500, n_eval=500,
                          n_variance=2000)
    # the fixed factor's dimension has variance exactly 0: every vote is (k, k)
    assert res.score == 1.0 and res.train_accuracy == 1.0
    assert np.array_equal(np.array(res.votes), np.diag(np.diag(np.array(res.votes))))
    res = factorvae_score(random_codes(), FACTOR_SIZES, seed=0, n_train=500, n_eval=500,
                          n_variance=2000)
    assert abs(res.score - 1 / K) < five_sigma(1 / K, 500)
    assert res.active_dims == list(range(10))


def test_factorvae_ignores_collapsed_dimensions():
    # a constant extra dimension has zero variance but must not win the argmin
    res = factorvae_score(lambda f: torch.cat([f.double(), torch.zeros(len(f), 1)], 1),
                          FACTOR_SIZES, n_train=200, n_eval=200, n_variance=1000)
    assert res.active_dims == list(range(K)) and res.score == 1.0


def expected_truth_mig(sizes, n_bins=20) -> float:
    """MIG of codes = factor indices, computed from the definition by enumeration: values
    0..n-1 equally likely, bins of width (n-1)/n_bins; per factor H(bin) / log n."""
    gaps = []
    for n in sizes:
        if n == 1:
            continue
        b = np.minimum(np.floor(np.arange(n) / (n - 1) * n_bins), n_bins - 1)
        p = np.bincount(b.astype(int)) / n
        p = p[p > 0]
        gaps.append(-(p * np.log(p)).sum() / math.log(n))
    return float(np.mean(gaps))


def test_mig_ground_truth_matches_enumeration_and_random_is_zero():
    # Plug-in MI between a code dimension and an independent factor is biased upwards by
    # about (bins - 1)(n_k - 1) / (2 N) nats (Miller-Madow): at most 19 * 39 / 20000 =
    # 0.037 nats = 0.010 of H = log 40, so the gap of each factor is within 0.02.
    res = mig_score(truth, FACTOR_SIZES, seed=0, n_samples=10_000)
    assert res.score == pytest.approx(expected_truth_mig(FACTOR_SIZES), abs=0.02)
    assert res.per_factor[0] == pytest.approx(1.0, abs=0.02)  # 3 shapes, 3 separate bins
    res = mig_score(random_codes(), FACTOR_SIZES, seed=0, n_samples=10_000)
    assert 0.0 <= res.score < 0.02


def test_mig_is_invariant_to_monotone_maps_and_punishes_redundancy():
    # equal-width bins move with an affine map, so affine codes give the identical score
    base = mig_score(truth, FACTOR_SIZES, seed=3, n_samples=3000)
    affine = mig_score(lambda f: 3.0 - 2.5 * f.double(), FACTOR_SIZES, seed=3, n_samples=3000)
    assert affine.score == pytest.approx(base.score, abs=1e-12)
    # two copies of factor 0: I_{j(1)} = I_{j(2)}, so factor 0's gap is exactly 0
    dup = mig_score(lambda f: torch.cat([f.double(), f[:, :1].double()], 1), FACTOR_SIZES,
                    seed=3, n_samples=3000)
    assert dup.per_factor[0] == pytest.approx(0.0, abs=1e-12)
    assert dup.per_factor[1:] == pytest.approx(base.per_factor[1:], abs=1e-12)


def test_discrete_mutual_info_matches_sklearn():
    from sklearn.metrics import mutual_info_score

    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 5, 400), rng.integers(0, 7, 400)
    b = np.where(rng.random(400) < 0.5, a, b)
    assert discrete_mutual_info(a, b) == pytest.approx(mutual_info_score(a, b), rel=1e-10)
    assert discrete_mutual_info(a, a) == pytest.approx(
        -sum(p * math.log(p) for p in np.bincount(a) / 400 if p > 0), rel=1e-10)


def test_scores_are_reproducible_from_the_seed():
    a = factorvae_score(random_codes(seed=2), FACTOR_SIZES, seed=7, n_train=100, n_eval=100,
                        n_variance=500)
    b = factorvae_score(random_codes(seed=2), FACTOR_SIZES, seed=7, n_train=100, n_eval=100,
                        n_variance=500)
    assert a == b


def test_bad_inputs_are_user_errors():
    with pytest.raises(GenlabError, match="shape"):
        mig_score(lambda f: torch.zeros(3, 2), FACTOR_SIZES, n_samples=10)
    with pytest.raises(GenlabError, match="NaN"):
        betavae_score(lambda f: torch.full((len(f), 2), math.nan), FACTOR_SIZES, n_train=2,
                      n_eval=2, batch_size=2)
    with pytest.raises(GenlabError, match="batch_size"):
        factorvae_score(truth, FACTOR_SIZES, batch_size=1)
    with pytest.raises(GenlabError, match="at least 2 dimensions"):
        mig_score(lambda f: f[:, :1].double(), FACTOR_SIZES, n_samples=10)
