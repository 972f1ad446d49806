"""Centred RBM training (Melchior, Fischer and Wiskott 2016, Algorithm 1) against the centred
energy written out by hand and enumerated over every state."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from rbm_helpers import all_states, exact_gradient, random_params

from genlab.errors import GenlabError
from genlab.rbm import BernoulliRBM, GaussianBernoulliRBM, load_rbm
from genlab.rbm.energy import RBMParams, free_energy
from genlab.rbm.sampling import (
    Offsets,
    Optimiser,
    cd_update,
    centre,
    centred_gradient,
    uncentre,
    uncentred_step,
)


def centred_log_joint(c: RBMParams, mu: torch.Tensor, lam: torch.Tensor, v: torch.Tensor,
                      h: torch.Tensor) -> torch.Tensor:
    """``-E_c(v, h)`` for every pair ``(B_v, B_h)``, with E_c = -(v - mu)'b_c - (h - lam)'c_c
    - (h - lam)'W(v - mu), written out independently of the library."""
    dv, dh = v - mu, h - lam  # (B_v, n_v), (B_h, n_h)
    return (dv @ c.visible_bias)[:, None] + (dh @ c.hidden_bias)[None, :] \
        + dv @ c.weights.t() @ dh.t()


def centred_free_energy(c: RBMParams, mu: torch.Tensor, lam: torch.Tensor) -> torch.Tensor:
    """``F_c(v) = -log sum_h exp(-E_c(v, h))`` for every v ``(2^n_v,)``, by enumeration."""
    return -torch.logsumexp(centred_log_joint(c, mu, lam, all_states(c.n_visible),
                                              all_states(c.n_hidden)), dim=1)


def centred_log_likelihood(c: RBMParams, mu: torch.Tensor, lam: torch.Tensor,
                           X: torch.Tensor) -> torch.Tensor:
    """The exact mean log-likelihood of ``X`` under the centred RBM, by enumeration."""
    V, H = all_states(c.n_visible), all_states(c.n_hidden)
    log_z = torch.logsumexp(centred_log_joint(c, mu, lam, V, H).reshape(-1), 0)
    return torch.logsumexp(centred_log_joint(c, mu, lam, X, H), dim=1).mean() - log_z


def assert_same_up_to_a_constant(a: torch.Tensor, b: torch.Tensor, tol: float = 1e-10) -> None:
    d = a - b
    assert (d - d.mean()).abs().max() < tol, (d - d.mean()).abs().max()


def setup(seed: int = 3, n_v: int = 7, n_h: int = 4):
    g = torch.Generator().manual_seed(seed)
    c = random_params(n_v, n_h, seed=seed, scale=0.6)  # centred parameters
    off = Offsets(torch.rand(n_v, generator=g, dtype=torch.float64),
                  torch.rand(n_h, generator=g, dtype=torch.float64), rate=0.3)
    X = (torch.rand(30, n_v, generator=g) < 0.35).double()
    return c, off, X


def test_uncentre_is_the_same_distribution_and_centre_undoes_it():
    c, off, _ = setup()
    p = uncentre(c, off)
    assert_same_up_to_a_constant(free_energy(p, all_states(c.n_visible)),
                                 centred_free_energy(c, off.visible, off.hidden))
    back = centre(p, off)
    for a, b in zip(back[:3], c[:3], strict=True):
        torch.testing.assert_close(a, b)


def test_centred_gradient_is_the_exact_gradient_of_the_centred_energy():
    """Autograd of the enumerated centred log-likelihood in (W, b_c, c_c) equals the plain
    exact gradient transformed by centred_gradient (nabla_W - nabla_c mu' - lambda nabla_b')."""
    c, off, X = setup(seed=5)
    q = RBMParams(*(t.clone().requires_grad_(True) for t in c[:3]))
    centred_log_likelihood(q, off.visible, off.hidden, X).backward()
    expect = centred_gradient(exact_gradient(uncentre(c, off), X), off)
    for name in ("weights", "visible_bias", "hidden_bias"):
        torch.testing.assert_close(getattr(q, name).grad, getattr(expect, name))
    # the centred gradient differs from the plain one whenever the offsets are not zero
    assert (expect.weights - exact_gradient(uncentre(c, off), X).weights).abs().max() > 1e-3


@pytest.mark.parametrize("method", ["pcd", "cd", "pt"])
@pytest.mark.parametrize("momentum, decay", [(0.0, 0.0), (0.0, 0.01), (0.9, 0.01)])
def test_centred_update_follows_algorithm_1_and_keeps_the_plain_model_equal(method, momentum,
                                                                               decay):
    """One centred cd_update on the plain parameters against Algorithm 1 done by hand on the
    centred ones: slide the offsets, correct the centred biases (b_c += W' d_lambda,
    c_c += W d_mu), step along the centred gradient (with momentum and weight decay). The
    plain step from the same random draws gives the sampled gradient. Afterwards the plain
    parameters and the hand-updated centred ones have free energies equal up to a constant
    over all 2^7 visible states."""
    c, off, X = setup(seed=11)
    p = uncentre(c, off)
    lr, rate = 0.7, off.rate
    chain = None
    betas = None
    if method == "pcd":
        chain = (torch.rand(9, 4, generator=torch.Generator().manual_seed(1)) < 0.5).double()
    elif method == "pt":
        chain = torch.zeros(3, 9, 4, dtype=torch.float64)
        betas = torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64)

    plain = RBMParams(*(t.clone() for t in p[:3]))
    cd_update(plain, None, X, None if chain is None else chain.clone(), 2, Optimiser(1.0),
              torch.Generator().manual_seed(4), betas=betas)
    # the sampled plain gradient
    grad = RBMParams(*(a - b for a, b in zip(plain[:3], p[:3], strict=True)))

    g = torch.Generator().manual_seed(6)
    vel_c = RBMParams(*(0.1 * torch.randn(t.shape, generator=g, dtype=t.dtype) for t in c[:3]))
    q = RBMParams(*(t.clone() for t in p[:3]))
    moving = Offsets(off.visible.clone(), off.hidden.clone(), rate)
    u = RBMParams(*(t.clone() for t in vel_c[:3])) if momentum else None
    cd_update(q, u, X, None if chain is None else chain.clone(), 2,
              Optimiser(lr, momentum, decay), torch.Generator().manual_seed(4),
              offsets=moving, betas=betas)

    # Algorithm 1 by hand, on the centred parameters
    mu1 = (1 - rate) * off.visible + rate * X.mean(0)
    lam1 = (1 - rate) * off.hidden + rate * torch.sigmoid(X @ p.weights.t()
                                                          + p.hidden_bias).mean(0)
    torch.testing.assert_close(moving.visible, mu1)
    torch.testing.assert_close(moving.hidden, lam1)
    W = c.weights
    b_c = c.visible_bias + W.t() @ (lam1 - off.hidden)
    c_c = c.hidden_bias + W @ (mu1 - off.visible)
    new = Offsets(mu1, lam1, rate)
    gc = centred_gradient(grad, new)
    grads = (gc.weights - decay * W, gc.visible_bias, gc.hidden_bias)
    if momentum:
        steps = [momentum * v + lr * gr for v, gr in zip(vel_c[:3], grads, strict=True)]
        for got, want in zip(u[:3], steps, strict=True):
            torch.testing.assert_close(got, want)
    else:
        steps = [lr * gr for gr in grads]
    c1 = RBMParams(W + steps[0], b_c + steps[1], c_c + steps[2])

    assert_same_up_to_a_constant(free_energy(q, all_states(7)), centred_free_energy(c1, mu1,
                                                                                    lam1))
    for a, b in zip(q[:3], uncentre(c1, new)[:3], strict=True):
        torch.testing.assert_close(a, b)
    # the same step through uncentred_step
    step = uncentred_step(RBMParams(*steps), new)
    if not momentum:
        for a, b, s in zip(q[:3], p[:3], step[:3], strict=True):
            torch.testing.assert_close(a - b, s)


@pytest.fixture(scope="module")
def prototypes() -> np.ndarray:
    """600 noisy copies (10% of bits flipped) of three 10-bit prototypes."""
    rng = np.random.RandomState(0)
    protos = np.array([[1, 1, 1, 1, 0, 0, 0, 0, 1, 0],
                       [0, 0, 1, 1, 1, 1, 0, 0, 0, 1],
                       [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]], dtype=float)
    X = protos[rng.randint(0, 3, 600)]
    flip = rng.rand(*X.shape) < 0.1
    return np.where(flip, 1 - X, X)


def exact_ll(rbm: BernoulliRBM, X: np.ndarray) -> float:
    return rbm.log_likelihood(X, log_z=rbm.exact_log_partition())


def test_centred_training_raises_the_exact_likelihood(prototypes):
    """Observed: 15 epochs of centred PCD-1 on the prototypes raise the exact log-likelihood
    by more than 1 nat from the initial model (Algorithm 1's: b_c = logit(data mean)), and
    the offsets stay near the data mean (their sliding average of batch means)."""
    kw = dict(learning_rate=0.1, batch_size=20, random_state=0, device="cpu", centered=True)
    start = BernoulliRBM(6, n_iter=0, **kw).fit(prototypes)
    trained = BernoulliRBM(6, n_iter=15, **kw).fit(prototypes)
    before, after = exact_ll(start, prototypes), exact_ll(trained, prototypes)
    assert after > before + 1.0, (before, after)
    # the initial model is the base-rate model: its exact log-likelihood is closed form
    m = prototypes.mean(0)
    base_rate = float(np.sum(m * np.log(m) + (1 - m) * np.log(1 - m)))
    assert abs(before - base_rate) < 0.05
    mu, lam = trained._offsets
    assert np.abs(mu - prototypes.mean(0)).max() < 0.05
    assert lam.shape == (6,) and ((lam > 0) & (lam < 1)).all()


def test_centred_and_tempered_fit_resumes_bitwise(prototypes, tmp_path):
    """A centred PT fit stopped after 2 epochs and resumed from its checkpoint (offsets and
    ladders included) ends exactly where the uninterrupted fit ends."""
    kw = dict(n_iter=4, learning_rate=0.1, batch_size=25, random_state=3, device="cpu",
              centered=True, method="pt", pt_chains=4, momentum=0.5)
    full = BernoulliRBM(6, **kw).fit(prototypes)
    ckpt = tmp_path / "ckpt"
    part = BernoulliRBM(6, **kw).fit(prototypes, checkpoint=ckpt, max_epochs=2)
    assert not np.array_equal(part.components_, full.components_)
    resumed = BernoulliRBM(6, **kw).fit(prototypes, checkpoint=ckpt, resume=True)
    for name in ("components_", "intercept_visible_", "intercept_hidden_", "h_samples_"):
        np.testing.assert_array_equal(getattr(resumed, name), getattr(full, name))
    np.testing.assert_array_equal(resumed._offsets[1], full._offsets[1])


def test_partial_fit_carries_the_offsets(prototypes):
    rbm = BernoulliRBM(5, batch_size=20, random_state=0, device="cpu", centered=True,
                       centering_rate=0.5)
    rbm.partial_fit(prototypes[:100])
    first = rbm._offsets[1].copy()
    rbm.partial_fit(prototypes[100:200])
    assert not np.array_equal(first, rbm._offsets[1])
    assert np.isfinite(exact_ll(rbm, prototypes))


def test_saved_centred_model_is_the_plain_rbm_and_old_files_load(prototypes, tmp_path):
    rbm = BernoulliRBM(5, n_iter=2, random_state=0, device="cpu", centered=True).fit(prototypes)
    rbm.save(tmp_path / "m")
    back = load_rbm(tmp_path / "m", device="cpu")
    assert back.centered and back.centering_rate == 0.01
    np.testing.assert_array_equal(back.free_energy(prototypes), rbm.free_energy(prototypes))
    # a file written before these settings existed loads with their defaults
    meta = json.loads((tmp_path / "m.json").read_text())
    config = meta["config"]
    for key in ("centered", "centering_rate", "pt_chains"):
        config.pop(key)
    (tmp_path / "m.json").write_text(json.dumps(meta))
    old = load_rbm(tmp_path / "m", device="cpu")
    assert old.centered is False and old.pt_chains == 10 and old.method == "pcd"


def test_centring_gaussian_units_is_refused():
    X = np.random.RandomState(0).randn(40, 4)
    with pytest.raises(GenlabError, match="Bernoulli visible units only"):
        GaussianBernoulliRBM(3, n_iter=1, device="cpu", centered=True).fit(X)
