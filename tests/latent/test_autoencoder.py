"""Autoencoders: the linear AE recovers the PCA subspace; corruption processes have the
right statistics; networks give the right shapes; save/load round trips."""

import math

import numpy as np
import pytest
import torch
from scipy.linalg import subspace_angles
from sklearn.decomposition import PCA

from genlab.data import ImageDataset
from genlab.errors import GenlabError
from genlab.latent import VAE, AEConfig, Autoencoder, VAEConfig, load_latent_model
from genlab.latent.corruption import Corruption, parse_corruption
from genlab.latent.networks import build_decoder, build_encoder
from genlab.train import TrainConfig, fit, seeded_init


def test_linear_autoencoder_recovers_the_pca_subspace():
    # 3 latent directions with variances 9, 4, 2.25 plus isotropic noise 0.09 in 20-D:
    # the minimiser of ||g(f(x)) - x||^2 over linear maps spans the top-3 principal
    # subspace of the sample (Baldi & Hornik 1989), which scikit-learn's PCA computes.
    g = torch.Generator().manual_seed(0)
    n, d, k = 2000, 20, 3
    basis = torch.linalg.qr(torch.randn(d, d, generator=g))[0][:, :k]
    x = (torch.randn(n, k, generator=g) * torch.tensor([3.0, 2.0, 1.5])) @ basis.T
    x = x + 0.3 * torch.randn(n, d, generator=g) + 0.5
    data = ImageDataset("synthetic", x.reshape(n, 4, 5), None, "test")
    with seeded_init(0):
        ae = Autoencoder(AEConfig(image_shape=(4, 5), hidden=(), latent=k,
                                  activation="linear", loss="mse"))
    fit(ae, data, TrainConfig(epochs=30, batch_size=200, lr=3e-2, schedule="cosine"),
        quiet=True)
    pca = PCA(k).fit(x.numpy())
    _, w_dec = ae.linear_weights()
    angles = np.degrees(subspace_angles(w_dec.detach().numpy(), pca.components_.T))
    # converged runs reach < 0.1 degrees; 1 degree leaves room for float32 and the seed
    assert angles.max() < 1.0
    # and its reconstruction error equals PCA's (the optimum) to 1%
    recon = ae.reconstruct(x).detach().numpy()
    pca_err = ((x.numpy() - pca.inverse_transform(pca.transform(x.numpy()))) ** 2).sum(1).mean()
    assert ((x.numpy() - recon) ** 2).sum(1).mean() == pytest.approx(pca_err, rel=0.01)


N = 200_000


@pytest.mark.parametrize("p", [0.1, 0.3])
def test_masking_and_salt_pepper_rates(p):
    gen = torch.Generator().manual_seed(0)
    x = torch.full((N,), 0.5)
    se = 5 * math.sqrt(p * (1 - p) / N)   # 5 standard errors of a binomial proportion
    m = Corruption("mask", p)(x, gen)
    assert abs(float((m == 0).float().mean()) - p) < se
    assert torch.all((m == 0) | (m == 0.5))
    s = Corruption("saltpepper", p)(x, gen)
    half_se = 5 * math.sqrt(p / 2 * (1 - p / 2) / N)
    assert abs(float((s == 0).float().mean()) - p / 2) < half_se
    assert abs(float((s == 1).float().mean()) - p / 2) < half_se


def test_gaussian_corruption_moments():
    gen = torch.Generator().manual_seed(1)
    x = torch.full((N,), 0.25)
    e = Corruption("gauss", 0.4)(x, gen) - x
    assert abs(float(e.mean())) < 5 * 0.4 / math.sqrt(N)
    # the sample variance has standard error sigma^2 sqrt(2 / N)
    assert abs(float(e.var()) - 0.16) < 5 * 0.16 * math.sqrt(2 / N)


@pytest.mark.parametrize("spec", ["foo:0.1", "mask", "mask:x", "mask:1.5", "gauss:-1"])
def test_bad_corruption_specs(spec):
    with pytest.raises(GenlabError):
        parse_corruption(spec)


@pytest.mark.parametrize("shape", [(28, 28), (8, 8), (7, 5)])
def test_network_shapes(shape):
    d = shape[0] * shape[1]
    x = torch.rand(3, d)
    for arch in ("mlp", "conv"):
        enc = build_encoder(arch, shape, (16,), 6)
        dec = build_decoder(arch, shape, (16,), 6)
        assert enc(x).shape == (3, 6)
        assert dec(torch.randn(3, 6)).shape == (3, d)


def test_denoising_and_stochastic_losses_use_the_generator():
    x = torch.rand(4, 64)
    for cfg in (AEConfig(image_shape=(8, 8), corrupt="mask:0.5"),
                AEConfig(image_shape=(8, 8), code_noise=0.5)):
        ae = Autoencoder(cfg)
        a = ae.loss(x, torch.Generator().manual_seed(0)).loss.item()
        b = ae.loss(x, torch.Generator().manual_seed(0)).loss.item()
        c = ae.loss(x, torch.Generator().manual_seed(1)).loss.item()
        assert a == b != c


@pytest.mark.parametrize("model", [
    Autoencoder(AEConfig(image_shape=(8, 8), hidden=(8,), latent=3, corrupt="gauss:0.2")),
    VAE(VAEConfig(image_shape=(8, 8), arch="conv", hidden=(8,), latent=2, channels=(4, 8))),
    VAE(VAEConfig(image_shape=(8, 8), hidden=(8,), latent=2, likelihood="gaussian")),
])
def test_save_load_round_trip(model, tmp_path):
    model.save(tmp_path / "m", {"data": {"name": "digits"}})
    loaded, meta = load_latent_model(tmp_path / "m")
    assert type(loaded) is type(model) and loaded.config == model.config
    assert meta["data"]["name"] == "digits"
    x = torch.rand(5, 64)
    torch.testing.assert_close(loaded.reconstruct(x), model.eval().reconstruct(x))


def test_load_errors(tmp_path):
    with pytest.raises(GenlabError, match="not found"):
        load_latent_model(tmp_path / "missing")
    (tmp_path / "m.json").write_text("{not json")
    (tmp_path / "m.safetensors").write_bytes(b"junk")
    with pytest.raises(GenlabError):
        load_latent_model(tmp_path / "m")
    with pytest.raises(GenlabError, match="a VAE"):
        Autoencoder(AEConfig(image_shape=(8, 8))).sample(3, torch.Generator())
    with pytest.raises(GenlabError, match="pixels"):
        Autoencoder(AEConfig(image_shape=(8, 8))).encode(torch.rand(2, 10))
