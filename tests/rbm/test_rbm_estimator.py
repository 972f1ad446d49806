"""The estimators: scikit-learn's API checks, agreement with scikit-learn's BernoulliRBM
for the same weights, the learning rule against the exact gradient, and save/load."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from rbm_helpers import all_states, exact_gradient, random_params
from sklearn.neighbors import NearestCentroid
from sklearn.neural_network import BernoulliRBM as SkBernoulliRBM
from sklearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from genlab.data import load_dataset
from genlab.errors import GenlabError
from genlab.rbm import BernoulliRBM, GaussianBernoulliRBM, load_rbm
from genlab.rbm.energy import RBMParams, free_energy, hidden_log_marginal
from genlab.rbm.partition import exact_log_partition
from genlab.rbm.sampling import Optimiser, cd_update

# scikit-learn expects the same two failures of its own BernoulliRBM: score_samples flips
# a random unit of each row, so it is not invariant to row order or subsets.
SCORE_IS_RANDOM = {
    "check_methods_subset_invariance": "score_samples flips a random unit per row",
    "check_methods_sample_order_invariance": "score_samples flips a random unit per row",
}


def _expected_failures(est):
    return SCORE_IS_RANDOM if isinstance(est, BernoulliRBM) else {}


@parametrize_with_checks([BernoulliRBM(n_iter=5, batch_size=10, device="cpu"),
                          GaussianBernoulliRBM(n_iter=5, batch_size=10, device="cpu")],
                         expected_failed_checks=_expected_failures)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", "train", binarize="threshold").x.numpy()


def _copy_weights(ours: BernoulliRBM, theirs: SkBernoulliRBM) -> None:
    theirs.components_ = ours.components_.astype(np.float64)
    theirs.intercept_hidden_ = ours.intercept_hidden_.astype(np.float64)
    theirs.intercept_visible_ = ours.intercept_visible_.astype(np.float64)
    theirs.n_features_in_ = ours.n_features_in_


def test_same_parameters_and_attributes_as_sklearn(digits):
    sk_params = set(SkBernoulliRBM().get_params())
    assert sk_params <= set(BernoulliRBM().get_params())
    ours = BernoulliRBM(12, n_iter=2, random_state=0, device="cpu").fit(digits)
    theirs = SkBernoulliRBM(12, n_iter=2, random_state=0).fit(digits)
    for name in ("components_", "intercept_hidden_", "intercept_visible_", "h_samples_"):
        assert getattr(ours, name).shape == getattr(theirs, name).shape
    assert list(ours.get_feature_names_out()) == [f"bernoullirbm{i}" for i in range(12)]


def test_transform_and_score_samples_equal_sklearn_for_the_same_weights(digits):
    ours = BernoulliRBM(10, n_iter=3, random_state=3, device="cpu").fit(digits)
    theirs = SkBernoulliRBM(10, random_state=3)
    _copy_weights(ours, theirs)
    X = digits[:50].astype(np.float64)
    np.testing.assert_allclose(ours.transform(X), theirs.transform(X), rtol=1e-12)
    np.testing.assert_allclose(ours.score_samples(X), theirs.score_samples(X), rtol=1e-9)
    np.testing.assert_allclose(ours.free_energy(X), theirs._free_energy(X), rtol=1e-12)


def test_pipeline_with_a_classifier(digits):
    y = load_dataset("digits", "train").labels.numpy()
    pipe = Pipeline([("rbm", BernoulliRBM(64, learning_rate=0.05, n_iter=10, random_state=0,
                                          device="cpu")),
                     ("clf", NearestCentroid())]).fit(digits, y)
    assert pipe.score(digits, y) > 0.6  # chance is 0.1


def test_pcd_update_is_the_likelihood_gradient_with_exact_chains():
    """With persistent chains drawn exactly from the model (h ~ p(h) by enumeration), one
    PCD-1 step moves the parameters by lr times an unbiased estimate of the exact gradient.
    Tolerance: 5 Monte Carlo standard errors, each term of the negative phase being an
    average of M bounded draws (|h_j v_i| <= 1, so SE <= 0.5 / sqrt(M))."""
    p = random_params(5, 4, seed=21, scale=0.5)
    X = (torch.rand(40, 5, generator=torch.Generator().manual_seed(0)) < 0.4).double()
    grad = exact_gradient(p, X)
    M = 200000
    log_ph = hidden_log_marginal(p, all_states(4))
    gen = torch.Generator().manual_seed(1)
    chain = all_states(4)[torch.multinomial(torch.softmax(log_ph, 0), M, replacement=True,
                                            generator=gen)]
    q = RBMParams(*(t.clone() for t in p[:3]))
    cd_update(q, None, X, chain, 1, Optimiser(1.0), gen)
    tol = 5 * 0.5 / math.sqrt(M)
    for name in ("weights", "visible_bias", "hidden_bias"):
        step = getattr(q, name) - getattr(p, name)
        assert (step - getattr(grad, name)).abs().max() < tol, name


def test_momentum_and_weight_decay_follow_their_formula():
    """u <- alpha u + lr (g - lambda W); W <- W + u, checked against the plain step."""
    p = random_params(5, 3, seed=2, scale=0.3)
    X = (torch.rand(8, 5, generator=torch.Generator().manual_seed(0)) < 0.5).double()
    chain = torch.ones(6, 3, dtype=torch.float64)
    plain = RBMParams(*(t.clone() for t in p[:3]))
    cd_update(plain, None, X, chain, 1, Optimiser(1.0), torch.Generator().manual_seed(4))
    g_w = plain.weights - p.weights
    q = RBMParams(*(t.clone() for t in p[:3]))
    u = RBMParams(*(torch.full_like(t, 0.1) for t in p[:3]))
    cd_update(q, u, X, chain, 1, Optimiser(0.5, momentum=0.9, weight_decay=0.01),
              torch.Generator().manual_seed(4))
    expect = p.weights + 0.9 * 0.1 + 0.5 * (g_w - 0.01 * p.weights)
    torch.testing.assert_close(q.weights, expect)
    # weight decay without momentum: W <- W + lr (g - lambda W)
    r = RBMParams(*(t.clone() for t in p[:3]))
    cd_update(r, None, X, chain, 1, Optimiser(0.5, weight_decay=0.01),
              torch.Generator().manual_seed(4))
    torch.testing.assert_close(r.weights, p.weights + 0.5 * (g_w - 0.01 * p.weights))


@pytest.mark.parametrize("method,k", [("pcd", 1), ("cd", 1), ("cd", 3), ("pcd", 5)])
def test_training_raises_the_exact_likelihood(digits, method, k):
    rbm = BernoulliRBM(12, learning_rate=0.05, batch_size=20, n_iter=1, random_state=0,
                       method=method, k=k, device="cpu")
    rbm.fit(digits)
    before = rbm.log_likelihood(digits, log_z=rbm.exact_log_partition())
    rbm.set_params(n_iter=8, momentum=0.5, learning_rate_schedule="linear").fit(digits)
    after = rbm.log_likelihood(digits, log_z=rbm.exact_log_partition())
    assert after > before + 1.0


def test_gibbs_chains_reach_the_exact_distribution():
    """Long Gibbs chains from sample(): the frequency of every one of the 16 visible
    states must lie within 5 binomial standard errors sqrt(p (1 - p) / N) of exact p(v)."""
    p = random_params(4, 3, seed=8, scale=1.0, dtype=torch.float32)
    rbm = BernoulliRBM(3, random_state=0, device="cpu")
    rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_ = (
        t.numpy() for t in p[:3])
    rbm.n_features_in_, rbm.h_samples_ = 4, np.zeros((10, 3), np.float32)
    N = 40000
    gen = torch.Generator().manual_seed(0)
    # sample() returns E[v | h]; draw the binary v from it
    v = torch.bernoulli(torch.tensor(rbm.sample(N, n_steps=30)), generator=gen)
    codes = (v * torch.tensor([8, 4, 2, 1])).sum(1).long()
    freq = torch.bincount(codes, minlength=16).double() / N
    states = all_states(4)
    logp = -free_energy(RBMParams(*(t.double() for t in p[:3])), states)
    exact = torch.exp(logp - exact_log_partition(p))
    se = torch.sqrt(exact * (1 - exact) / N)
    assert ((freq - exact).abs() < 5 * se + 1e-12).all()


def test_save_and_load_round_trip(tmp_path, digits):
    rbm = BernoulliRBM(8, n_iter=2, random_state=0, device="cpu").fit(digits)
    rbm.save(tmp_path / "m", meta={"data": "digits"})
    back = load_rbm(tmp_path / "m", device="cpu")
    assert isinstance(back, BernoulliRBM) and back.get_params() == rbm.get_params()
    np.testing.assert_array_equal(back.components_, rbm.components_)
    np.testing.assert_array_equal(back.transform(digits[:5]), rbm.transform(digits[:5]))
    assert back.meta_["data"] == "digits"
    g = GaussianBernoulliRBM(4, n_iter=1, random_state=0, device="cpu").fit(digits)
    g.save(tmp_path / "g")
    assert np.array_equal(load_rbm(tmp_path / "g").log_variance_, g.log_variance_)


def test_load_errors(tmp_path):
    with pytest.raises(GenlabError, match="not found"):
        load_rbm(tmp_path / "missing")
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "bad.safetensors").write_bytes(b"xx")
    with pytest.raises(GenlabError):
        load_rbm(tmp_path / "bad")


def test_partial_fit_matches_its_definition(digits):
    """partial_fit starts from the current weights: repeated passes keep learning."""
    rbm = BernoulliRBM(12, learning_rate=0.05, batch_size=20, random_state=0, device="cpu")
    rbm.partial_fit(digits[:20])
    before = rbm.log_likelihood(digits, log_z=rbm.exact_log_partition())
    for _ in range(5):
        rbm.partial_fit(digits)
    assert rbm.components_.shape == (12, 64)
    assert rbm.log_likelihood(digits, log_z=rbm.exact_log_partition()) > before


def test_fit_is_reproducible_and_divergence_is_a_user_error(digits):
    a = BernoulliRBM(8, n_iter=2, random_state=5, device="cpu").fit(digits)
    b = BernoulliRBM(8, n_iter=2, random_state=5, device="cpu").fit(digits)
    np.testing.assert_array_equal(a.components_, b.components_)
    X = np.random.RandomState(0).randn(50, 4) * 1e30
    with pytest.raises(GenlabError, match="learning_rate"):
        BernoulliRBM(4, learning_rate=1e6, n_iter=3, random_state=0, device="cpu").fit(X)
