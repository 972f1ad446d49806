"""The categorical VAE against exact answers: enumeration of every latent configuration of
a tiny model (M = 2, K = 3: 9 codes), closed-form KL, the annealing schedule, and the
unbiasedness of the REINFORCE gradient."""

import itertools
import math

import pytest
import torch
import torch.nn.functional as F

from genlab.errors import GenlabError
from genlab.latent import load_latent_model
from genlab.latent.categorical_vae import (
    CategoricalVAE,
    CategoricalVAEConfig,
    categorical_kl_uniform,
    parse_categories,
    temperature,
)
from genlab.latent.evaluate import iwae_bound

M, K = 2, 3


def tiny(estimator: str = "gumbel", seed: int = 0) -> CategoricalVAE:
    torch.manual_seed(seed)
    model = CategoricalVAE(CategoricalVAEConfig(image_shape=(3, 3), hidden=(8,), n_latent=M,
                                                n_categories=K, estimator=estimator))
    with torch.no_grad():  # larger weights than the default init: peaked, varied posteriors
        for p in model.parameters():
            p.mul_(3.0)
    return model


def batch(n: int = 4) -> torch.Tensor:
    return torch.bernoulli(torch.full((n, 9), 0.4), generator=torch.Generator().manual_seed(1))


def all_codes() -> torch.Tensor:
    """The K^M one-hot codes, ``(K^M, M*K)``."""
    rows = [F.one_hot(torch.tensor(c), K).float().flatten()
            for c in itertools.product(range(K), repeat=M)]
    return torch.stack(rows)


def exact_terms(model: CategoricalVAE, x: torch.Tensor):
    """By enumeration: log p(x), E_q[log p(x|z)], KL, ELBO (each (B,)); differentiable."""
    z = all_codes()[:, None, :].expand(K ** M, len(x), M * K)        # (9, B, M*K)
    q = model.posterior(x)
    log_q = q.log_prob(z)                                               # (9, B)
    log_px_z = model.decoder_log_prob(x, z)                             # (9, B)
    log_pz = -M * math.log(K)
    log_px = torch.logsumexp(log_px_z + log_pz, 0)
    e_log_px_z = (log_q.exp() * log_px_z).sum(0)
    kl = (log_q.exp() * (log_q - log_pz)).sum(0)
    # relative variance of the importance weight w = p(x, z) / q(z|x) under q:
    # E_q[w^2] / p(x)^2 - 1 = sum_z p(x, z)^2 / q(z|x) / p(x)^2 - 1
    rel_var = torch.exp(torch.logsumexp(2 * (log_px_z + log_pz) - log_q, 0) - 2 * log_px) - 1
    return log_px, e_log_px_z, kl, e_log_px_z - kl, rel_var


def test_kl_closed_form_matches_torch_and_enumeration():
    logits = torch.randn(5, 4, 6, generator=torch.Generator().manual_seed(0))
    ref = torch.distributions.kl_divergence(
        torch.distributions.Categorical(logits=logits),
        torch.distributions.Categorical(logits=torch.zeros(6))).sum(-1)
    torch.testing.assert_close(categorical_kl_uniform(logits), ref)
    assert categorical_kl_uniform(torch.zeros(3, 4, 6)).abs().max() < 1e-6
    model, x = tiny(), batch()
    _, _, kl_enum, _, _ = exact_terms(model, x)
    torch.testing.assert_close(model.posterior(x).kl_to_prior(), kl_enum)


def test_temperature_schedule():
    assert temperature(0, 1.0, 0.5, 1e-3) == 1.0
    assert math.isclose(temperature(100, 1.0, 0.5, 1e-3), math.exp(-0.1))
    assert temperature(10 ** 6, 1.0, 0.5, 1e-3) == 0.5
    model = tiny()
    model.set_progress(200, 1000)
    c = model.config
    assert math.isclose(model.tau, max(c.tau_min, c.tau0 * math.exp(-c.anneal_rate * 200)))


def test_elbo_and_iwae_bound_the_exact_likelihood():
    """Monte Carlo ELBO (n = 20000 draws) within 5 standard errors of the enumerated ELBO;
    ELBO <= log p(x); the IWAE estimate with K = 5000 is within 5 standard errors of
    log p(x), its standard error by the delta method sqrt(Var_q(w) / E_q[w]^2 / K) with
    the weights' relative variance computed exactly by enumeration (its bias, about half
    the variance, is far smaller)."""
    model, x = tiny(), batch()
    with torch.no_grad():
        log_px, _, _, elbo, rel_var = exact_terms(model, x)
        n = 20000
        gen = torch.Generator().manual_seed(2)
        xs = x.repeat(n, 1)
        mc = model.elbo_terms(xs, gen).elbo.reshape(n, len(x))
        se = mc.std(0) / math.sqrt(n)
        assert ((mc.mean(0) - elbo).abs() < 5 * se + 1e-6).all()
        assert (elbo <= log_px + 1e-6).all()
        assert (elbo < log_px - 0.1).all()   # a real gap for the IWAE bound to close
        iw = iwae_bound(model, x, 5000, gen)
        assert ((iw - log_px).abs() < 5 * torch.sqrt(rel_var / 5000)).all()


def test_reinforce_gradient_is_unbiased():
    """Mean of 40000 single-sample REINFORCE gradients (fixed baseline) vs the exact ELBO
    gradient by enumeration, per encoder parameter within 5 standard errors (estimated
    from 20 independent chunks of 2000 draws)."""
    model, x = tiny("reinforce"), batch(2)
    model.eval()                   # the baseline stays fixed (no EMA update)
    model.baseline.fill_(5.0)
    params = list(model.encoder.parameters())
    _, _, _, elbo, _ = exact_terms(model, x)
    exact = torch.autograd.grad(-elbo.mean(), params)
    gen = torch.Generator().manual_seed(3)
    chunks = []
    for _ in range(20):
        loss = model.loss(x.repeat(2000, 1), gen).loss
        chunks.append(torch.cat([g.flatten() for g in torch.autograd.grad(loss, params)]))
    est = torch.stack(chunks)
    mean, se = est.mean(0), est.std(0) / math.sqrt(len(chunks))
    ex = torch.cat([g.flatten() for g in exact])
    assert ((mean - ex).abs() <= 5 * se + 1e-5).all()


def test_straight_through_forward_is_the_discrete_objective():
    """With one-hot forward values, the straight-through loss equals -log p(x|z) + KL for
    the Gumbel-max sample z drawn with the same noise."""
    model, x = tiny("straight-through"), batch()
    out = model.loss(x, torch.Generator().manual_seed(4))
    q = model.posterior(x)
    z = q.rsample(1, torch.Generator().manual_seed(4))
    expected = (-model.decoder_log_prob(x, z)[0] + q.kl_to_prior()).mean()
    torch.testing.assert_close(out.loss, expected)


@pytest.mark.parametrize("estimator", ["gumbel", "straight-through", "reinforce"])
def test_every_estimator_gives_finite_gradients_and_updates_the_baseline(estimator):
    model, x = tiny(estimator), batch(16)
    out = model.loss(x, torch.Generator().manual_seed(5))
    out.loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())
    assert set(out.metrics) >= {"neg_elbo", "recon", "kl", "tau"}
    assert torch.isfinite(model.baseline) == (estimator == "reinforce")


def test_prior_samples_are_uniform_one_hot():
    model = tiny()
    z = model.prior_sample(30000, torch.Generator().manual_seed(6)).reshape(-1, M, K)
    assert (z.sum(-1) == 1).all()
    # each class frequency is a binomial mean, 5 standard errors sqrt((1/K)(1-1/K)/n)
    freq = z.mean(0)
    assert ((freq - 1 / K).abs() < 5 * math.sqrt((1 / K) * (1 - 1 / K) / 30000)).all()
    assert model.sample(5, torch.Generator().manual_seed(6)).shape == (5, 9)
    torch.testing.assert_close(model.prior_log_prob(z.reshape(1, -1, M * K)),
                               torch.full((1, 30000), -M * math.log(K)))


def test_save_and_load_round_trip(tmp_path):
    model, x = tiny("reinforce"), batch()
    model.loss(x, torch.Generator().manual_seed(7))      # sets the baseline buffer
    model.save(tmp_path / "m", {"note": "t"})
    loaded, meta = load_latent_model(tmp_path / "m")
    assert isinstance(loaded, CategoricalVAE) and meta["note"] == "t"
    assert loaded.config == model.config
    torch.testing.assert_close(loaded.baseline, model.baseline)
    torch.testing.assert_close(loaded.encode(x), model.encode(x))


@pytest.mark.parametrize("text,ok", [("20x10", (20, 10)), ("3X4", (3, 4)), ("20", None),
                                     ("0x10", None), ("5x1", None), ("axb", None)])
def test_parse_categories(text, ok):
    if ok is None:
        with pytest.raises(GenlabError):
            parse_categories(text)
    else:
        assert parse_categories(text) == ok


@pytest.mark.parametrize("change", [{"estimator": "nope"}, {"n_categories": 1},
                                    {"tau_min": 0.0}, {"anneal_rate": -1.0}])
def test_bad_config_raises(change):
    with pytest.raises(GenlabError):
        CategoricalVAE(CategoricalVAEConfig(**change))
