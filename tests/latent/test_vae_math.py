"""The VAE's mathematics against exact answers: reparameterised gradients, closed-form KL,
and the ELBO/IWAE bounds of a linear-Gaussian model whose log p(x) is known exactly."""

import math

import pytest
import torch

from genlab.latent import VAE, DiagonalGaussian, VAEConfig
from genlab.latent.evaluate import evaluate_likelihood, iwae_bound

N_MC = 200_000


def test_reparameterised_gradient_matches_closed_form():
    # f(z) = z^2 + 3z, z ~ N(mu, sigma^2): E f = mu^2 + sigma^2 + 3 mu, so
    # dE/dmu = 2 mu + 3 and dE/dlogvar = sigma^2 (sigma^2 = exp(logvar)).
    gen = torch.Generator().manual_seed(0)
    mu = torch.tensor([0.7, -1.2], requires_grad=True)
    logvar = torch.tensor([-0.5, 0.4], requires_grad=True)
    z = DiagonalGaussian(mu, logvar).rsample(N_MC, gen)           # (N, 2)
    f = z ** 2 + 3 * z
    per_sample_mu = 2 * z + 3                                     # d f / d mu, per sample
    per_sample_lv = (2 * z + 3) * (z - mu.detach()) / 2           # d f / d logvar
    f.mean(0).sum().backward()
    sigma2 = torch.exp(logvar.detach())
    exact_mu = 2 * mu.detach() + 3
    exact_lv = sigma2
    # 5 standard errors of the Monte Carlo mean of the per-sample gradients
    tol_mu = 5 * per_sample_mu.detach().std(0) / math.sqrt(N_MC)
    tol_lv = 5 * per_sample_lv.detach().std(0) / math.sqrt(N_MC)
    assert torch.all((mu.grad - exact_mu).abs() < tol_mu)
    assert torch.all((logvar.grad - exact_lv).abs() < tol_lv)


def test_closed_form_kl_matches_monte_carlo():
    gen = torch.Generator().manual_seed(1)
    mu = torch.tensor([[0.3, -1.0, 2.0], [0.0, 0.5, -0.2]])
    logvar = torch.tensor([[-1.0, 0.5, 0.0], [0.8, -2.0, 0.1]])
    q = DiagonalGaussian(mu, logvar)
    z = q.rsample(N_MC, gen)                                       # (N, 2, 3)
    log_ratio = q.log_prob(z) + 0.5 * (z ** 2 + math.log(2 * math.pi)).sum(-1)   # (N, 2)
    mc, se = log_ratio.mean(0), log_ratio.std(0) / math.sqrt(N_MC)
    assert torch.all((mc - q.kl_to_prior()).abs() < 5 * se)
    # and against torch.distributions as a second, independent implementation
    ref = torch.distributions.kl_divergence(
        torch.distributions.Normal(mu, torch.exp(0.5 * logvar)),
        torch.distributions.Normal(0.0, 1.0)).sum(-1)
    torch.testing.assert_close(q.kl_to_prior(), ref)


def linear_gaussian_vae(exact_posterior: bool, perturb: bool = False
                        ) -> tuple[VAE, torch.Tensor, torch.Tensor]:
    """A VAE with linear maps and Gaussian decoder: x = W z + b + s * eps, so
    p(x) = N(b, W W' + diag(s^2)) exactly; optionally set the encoder to the exact
    posterior N(S W' D^-1 (x - b), S), S = (I + W' D^-1 W)^-1."""
    torch.manual_seed(0)
    model = VAE(VAEConfig(image_shape=(2, 3), hidden=(), latent=2, likelihood="gaussian"))
    D, L = 6, 2
    g = torch.Generator().manual_seed(2)
    W = torch.randn(D, L, generator=g)
    b = 0.3 * torch.randn(D, generator=g)
    s = 0.5 + 0.5 * torch.rand(D, generator=g)
    dec = model.decoder[0]
    enc = model.encoder[0]
    with torch.no_grad():
        dec.weight.copy_(W)
        dec.bias.copy_(b)
        model.log_scale.copy_(s.log())
        if exact_posterior:
            Dinv = torch.diag(s ** -2)
            S = torch.linalg.inv(torch.eye(L) + W.T @ Dinv @ W)
            # the exact posterior covariance is not diagonal in general: rotate z so it is.
            evals, V = torch.linalg.eigh(S)
            W2 = W @ V                          # z' = V' z keeps p(z') = N(0, I)
            dec.weight.copy_(W2)
            S2 = torch.diag(evals)
            A = S2 @ W2.T @ Dinv                # mean map (L, D)
            enc.weight.copy_(torch.cat([A, torch.zeros(L, D)]))
            shift, inflate = (0.3, math.log(2.0)) if perturb else (0.0, 0.0)
            enc.bias.copy_(torch.cat([-A @ b + shift, evals.log() + inflate]))
            W = W2
    x = torch.randn(40, D, generator=g) @ torch.diag(s) + torch.randn(40, L, generator=g) @ W.T + b
    cov = W @ W.T + torch.diag(s ** 2)
    log_px = torch.distributions.MultivariateNormal(b, cov).log_prob(x)
    return model.eval(), x, log_px


def test_bounds_are_exact_with_the_true_posterior():
    model, x, log_px = linear_gaussian_vae(exact_posterior=True)
    # with q(z|x) = p(z|x) every importance weight p(x, z) / q(z|x) equals p(x) ...
    log_w = model.log_importance_weights(x, 5, torch.Generator().manual_seed(3))
    torch.testing.assert_close(log_w, log_px.expand(5, -1), atol=1e-4, rtol=1e-5)
    lk = iwae_bound(model, x, 7, torch.Generator().manual_seed(4))
    torch.testing.assert_close(lk, log_px, atol=1e-4, rtol=1e-5)
    # ... and the ELBO (sampled reconstruction term, closed-form KL) has mean log p(x)
    gen = torch.Generator().manual_seed(5)
    e = torch.stack([model.elbo_terms(x, gen).elbo for _ in range(400)])    # (400, 40)
    se = e.std(0) / 20.0
    assert torch.all((e.mean(0) - log_px).abs() < 5 * se + 1e-4)


def test_iwae_bound_orders_and_converges_to_log_px():
    model, x, log_px = linear_gaussian_vae(exact_posterior=True, perturb=True)
    gen = torch.Generator().manual_seed(5)
    # q is the exact posterior with the mean shifted and the variance doubled, so the
    # weights are bounded and L_1 < L_K < log p(x). Average L_1 and L_10 over 50 repeats.
    reps = 50
    l1 = torch.stack([iwae_bound(model, x, 1, gen) for _ in range(reps)])
    l10 = torch.stack([iwae_bound(model, x, 10, gen) for _ in range(reps)])
    d = l10 - l1                                   # paired differences, (reps, 40)
    assert d.mean() > 5 * d.std() / math.sqrt(d.numel())
    # chunked: a tiny max_elements forces chunks of one sample, 5000 in total
    lbig = iwae_bound(model, x, 5000, gen, max_elements=6 * 40)
    # the gap of L_K is about Var(w / p) / (2K) (Burda et al. 2016, by the delta method),
    # computed here from 5000 weights; allow 5 times it plus 5 SE of the estimate.
    w = torch.exp(model.log_importance_weights(x, 5000, gen) - log_px)     # (5000, 40)
    gap = w.var(0) / (2 * 5000)
    se = w.std(0) / math.sqrt(5000)
    assert torch.all(lbig <= log_px + 5 * se)
    assert torch.all((log_px - lbig).abs() < 5 * gap + 5 * se)
    assert (lbig - l10.mean(0)).mean() > 0


def test_trained_model_iwae_above_elbo_and_increasing():
    from genlab.data import load_dataset
    from genlab.train import TrainConfig, fit, seeded_init

    data = load_dataset("digits", binarize="bernoulli")
    with seeded_init(0):
        model = VAE(VAEConfig(image_shape=(8, 8), hidden=(64,), latent=4))
    fit(model, data, TrainConfig(epochs=5, batch_size=64, lr=3e-3), quiet=True)
    x = load_dataset("digits", split="test", binarize="bernoulli").draw(
        torch.Generator().manual_seed(0))
    gen = torch.Generator().manual_seed(1)
    # L_K increases with K: paired differences over the 300 test images, 5 SE; the
    # cheap bounds are averaged over repeats so their noise does not hide the gap
    l1 = torch.stack([iwae_bound(model, x, 1, gen) for _ in range(20)]).mean(0)    # (300,)
    l10 = torch.stack([iwae_bound(model, x, 10, gen) for _ in range(20)]).mean(0)
    l1000 = iwae_bound(model, x, 1000, gen)
    for lo, hi in ((l1, l10), (l10, l1000)):
        d = hi - lo
        assert d.mean() > 5 * d.std() / math.sqrt(len(d))
    # and the evaluation summary agrees: IWAE NLL below -ELBO, both in nats per image
    r = evaluate_likelihood(model, x, 1000, torch.Generator().manual_seed(2))
    assert r.n == 300 and r.k == 1000
    assert r.nll_iw < -r.elbo
    assert r.nll_iw == pytest.approx(-float(l1000.mean()), abs=5 * r.nll_iw_se)
