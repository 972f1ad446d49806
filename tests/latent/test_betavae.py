"""beta-VAE: the literature's architecture, the two objectives, traversals, save/load."""

import math

import pytest
import torch

from genlab.data.dsprites import DSpritesData
from genlab.errors import GenlabError
from genlab.latent import load_latent_model
from genlab.latent.betavae import BetaVAE, BetaVAEConfig, kl_per_latent, kl_split
from genlab.latent.traverse import latent_traversal, plot_traversal, traversal_figure
from genlab.latent.vae import DiagonalGaussian
from genlab.train import TrainConfig, fit


@pytest.fixture(scope="module")
def batch() -> torch.Tensor:
    return DSpritesData().draw(index=torch.arange(0, 737280, 737280 // 6))  # (6, 4096)


def conv_params(c_in: int, c_out: int, k: int = 4) -> int:
    return c_in * c_out * k * k + c_out


def test_architecture_is_the_literatures():
    # Locatello et al. 2019 table 1: conv 32, 32, 64, 64 (4x4 stride 2), FC 256, FC 2L;
    # decoder FC 256, FC 4x4x64, deconv 64, 32, 32, 1 (4x4 stride 2); L = 10.
    enc = conv_params(1, 32) + conv_params(32, 32) + conv_params(32, 64) + conv_params(64, 64) \
        + (1024 * 256 + 256) + (256 * 20 + 20)
    dec = (10 * 256 + 256) + (256 * 1024 + 1024) + conv_params(64, 64) + conv_params(64, 32) \
        + conv_params(32, 32) + conv_params(32, 1)
    model = BetaVAE(BetaVAEConfig())
    assert sum(p.numel() for p in model.encoder.parameters()) == enc
    assert sum(p.numel() for p in model.decoder.parameters()) == dec
    z = torch.randn(3, 10)
    assert model.decode(z).shape == (3, 4096) and model.decode(z[None]).shape == (1, 3, 4096)


def test_channels_last_is_only_a_layout(batch):
    """The networks run their activations channels-last (see feature_maps); that
    changes the memory order, not the numbers: the same convolutions on row-major
    input agree to float32 rounding."""
    torch.manual_seed(0)
    model = BetaVAE(BetaVAEConfig())
    with torch.no_grad():
        h = model.encoder.conv(batch.reshape(-1, 1, 64, 64))            # row-major input
        out = model.encoder.head(h.reshape(len(batch), -1))
        assert torch.allclose(model.encoder(batch), out, atol=1e-5)
        z = torch.randn(4, 10)
        start = model.decoder.head(z).reshape(4, 64, 4, 4)
        assert torch.allclose(model.decode(z), model.decoder.deconv(start).reshape(4, -1),
                              atol=1e-5)


def test_code_stays_float32_under_bfloat16_autocast(batch):
    """Under --amp the networks compute in bfloat16 (8 bits of mantissa), but q(z|x), the
    sample z and the KL are float32: a KL rounded to bfloat16 would be off by ~0.4%."""
    model = BetaVAE(BetaVAEConfig())
    with torch.autocast("cpu", dtype=torch.bfloat16):
        q = model.posterior(batch)
        t = model.elbo_terms(batch, torch.Generator().manual_seed(0))
    assert q.mu.dtype == q.logvar.dtype == torch.float32
    assert t.kl.dtype == t.log_px_z.dtype == torch.float32


def test_beta_objective_is_recon_plus_beta_kl(batch):
    torch.manual_seed(0)
    for beta in (1.0, 4.0):
        model = BetaVAE(BetaVAEConfig(beta=beta))
        out = model.loss(batch, torch.Generator().manual_seed(3))
        t = model.elbo_terms(batch, torch.Generator().manual_seed(3))  # same noise
        expected = -(t.log_px_z.mean() - beta * t.kl.mean())
        assert out.loss.item() == pytest.approx(expected.item(), rel=1e-6)
        assert out.metrics["elbo"].item() == pytest.approx(t.elbo.mean().item(), rel=1e-6)
        if beta == 1.0:  # the plain VAE: the loss is the negative ELBO
            assert out.loss.item() == pytest.approx(-t.elbo.mean().item(), rel=1e-6)


def test_capacity_objective_and_schedule(batch):
    torch.manual_seed(0)
    model = BetaVAE(BetaVAEConfig(capacity_max=20.0, capacity_steps=100, gamma=50.0))
    for step, c in ((0, 0.0), (50, 10.0), (100, 20.0), (400, 20.0)):
        model.set_progress(step, 1000)
        assert model.capacity() == pytest.approx(c)
        out = model.loss(batch, torch.Generator().manual_seed(1))
        t = model.elbo_terms(batch, torch.Generator().manual_seed(1))
        expected = -t.log_px_z.mean() + 50.0 * (t.kl.mean() - c).abs()
        assert out.loss.item() == pytest.approx(expected.item(), rel=1e-6)
        assert out.metrics["capacity"] == pytest.approx(c)


def test_kl_per_latent_sums_to_the_closed_form_kl(batch):
    torch.manual_seed(0)
    model = BetaVAE(BetaVAEConfig()).eval()
    per = kl_per_latent(model, batch, batch_size=5)
    total = model.posterior(batch).kl_to_prior().mean()
    assert per.shape == (10,) and (per >= 0).all()
    assert per.sum().item() == pytest.approx(total.item(), rel=1e-5)


class GaussianChannel(BetaVAE):
    """q(z|x) = N(a x_{:L}, s^2): a linear Gaussian channel with known information."""

    def __init__(self, a: float, s: float) -> None:
        super().__init__(BetaVAEConfig(latent=2, image_shape=(16, 16)))
        self.a, self.s = a, s

    def check_input(self, x):
        return x

    def posterior(self, x):
        mu = self.a * x[:, :2]
        return DiagonalGaussian(mu, torch.full_like(mu, 2 * math.log(self.s)))


def test_kl_split_is_the_gaussian_channel_information_and_the_aggregate_kl():
    # x ~ N(0, 1): I(x; z_j) = 1/2 log(1 + a^2/s^2) exactly, and q(z_j) = N(0, a^2 + s^2),
    # so the mismatch is KL(N(0, v) || N(0, 1)) = 1/2 (v - 1 - log v), v = a^2 + s^2.
    a, s, n = 1.5, 0.3, 200_000
    x = torch.randn(n, 256, generator=torch.Generator().manual_seed(0))
    split = kl_split(GaussianChannel(a, s), x, batch_size=50_000)
    v = a * a + s * s
    # the sample variance of mu is off by a relative sd of sqrt(2/n) = 0.32%: at 5 sd that
    # moves the information by 5 sqrt(2/n) a^2 / (2v) and the mismatch by 5 sqrt(2/n) (v-1) / (2v)
    tol = 5 * math.sqrt(2 / n)
    assert split.information.tolist() == pytest.approx(
        [0.5 * math.log1p(a * a / (s * s))] * 2, abs=tol * a * a / (2 * v))
    assert split.mismatch.tolist() == pytest.approx(
        [0.5 * (v - 1 - math.log(v))] * 2, abs=tol * (v - 1) / (2 * v) + 1e-6)


def test_kl_split_adds_up_to_the_kl_and_finds_image_free_kl(batch):
    torch.manual_seed(0)
    model = BetaVAE(BetaVAEConfig()).eval()
    split = kl_split(model, batch, batch_size=4)
    assert (split.information >= 0).all()
    torch.testing.assert_close(split.information + split.mismatch,
                               kl_per_latent(model, batch), rtol=1e-5, atol=1e-7)
    # a posterior that ignores the image: every mean is 0.7, every sigma 0.5
    with torch.no_grad():
        for p in model.encoder.parameters():
            p.zero_()
        model.encoder.head[-1].bias.copy_(torch.cat([torch.full((10,), 0.7),
                                                     torch.full((10,), 2 * math.log(0.5))]))
    split = kl_split(model, batch)
    assert split.information.abs().max().item() < 1e-10
    want = 0.5 * (0.7 ** 2 + 0.25 - 1.0 - 2 * math.log(0.5))
    torch.testing.assert_close(split.mismatch, torch.full((10,), want))


def test_traversal_sweeps_one_latent_per_row(batch, tmp_path):
    torch.manual_seed(0)
    model = BetaVAE(BetaVAEConfig(latent=3)).eval()
    kl = torch.tensor([0.1, 3.0, 1.0])
    trav = latent_traversal(model, batch[2], kl, -3.0, 3.0, steps=3)
    assert trav.order == [1, 2, 0] and trav.images.shape == (3, 3, 64, 64)
    mu = model.encode(batch[2:3])[0]
    with torch.no_grad():
        for r, j in enumerate(trav.order):
            for t, v in enumerate(trav.values):
                z = mu.clone()
                z[j] = v
                ref = model.decode_mean(z[None])[0].reshape(64, 64)
                torch.testing.assert_close(trav.images[r, t], ref)
    assert plot_traversal(trav, tmp_path / "t.png").stat().st_size > 0
    with pytest.raises(GenlabError):
        latent_traversal(model, batch[2], kl[:2])


def test_traversal_figure_sorts_by_the_kl_of_all_images(batch, tmp_path):
    torch.manual_seed(0)
    model = BetaVAE(BetaVAEConfig(latent=4)).eval()
    trav = traversal_figure(model, batch, tmp_path / "f.png", index=3, steps=4)
    kl = kl_per_latent(model, batch)
    assert trav.kl == pytest.approx(kl.tolist())
    assert trav.order == torch.argsort(kl, descending=True).tolist()
    ref = latent_traversal(model, batch[3], kl, steps=4)
    torch.testing.assert_close(trav.images, ref.images)
    assert (tmp_path / "f.png").stat().st_size > 0
    given = traversal_figure(model, batch, tmp_path / "k.png", index=3, steps=4,
                             kl=torch.tensor([0.0, 2.0, 1.0, 3.0]))
    assert given.order == [3, 1, 2, 0]
    with pytest.raises(GenlabError, match="seed image 6"):
        traversal_figure(model, batch, tmp_path / "g.png", index=6)


def test_save_load_round_trip(batch, tmp_path):
    torch.manual_seed(0)
    model = BetaVAE(BetaVAEConfig(beta=2.5, latent=6)).eval()
    model.save(tmp_path / "model", {"note": 1})
    back, meta = load_latent_model(tmp_path / "model")
    assert isinstance(back, BetaVAE) and back.config.beta == 2.5 and meta == {"note": 1}
    torch.testing.assert_close(back.encode(batch), model.encode(batch))


def test_trains_on_rendered_dsprites_through_fit():
    torch.manual_seed(0)
    model = BetaVAE(BetaVAEConfig(capacity_max=5.0, capacity_steps=2, latent=2))
    res = fit(model, DSpritesData(torch.arange(12)), TrainConfig(epochs=1, batch_size=4,
              log_every=1, checkpoint_every=0), device="cpu", quiet=True)
    assert res.steps == 3
    caps = [h["capacity"] for h in res.history if "capacity" in h]
    assert caps == [0.0, 2.5, 5.0]


def test_fit_renders_dsprites_on_its_own_device(monkeypatch):
    # fit draws every batch from data.on_device(device), a copy: the caller's data keeps
    # its device, and on a GPU the images are rendered there, not on the CPU
    data, drawn = DSpritesData(torch.arange(8)), []
    draw = DSpritesData.draw
    monkeypatch.setattr(DSpritesData, "draw",
                        lambda self, *a, **k: drawn.append(self) or draw(self, *a, **k))
    fit(BetaVAE(BetaVAEConfig(latent=2)), data, TrainConfig(epochs=1, batch_size=4,
        checkpoint_every=0), device="cpu", quiet=True)
    assert drawn and all(d is not data and d.device == torch.device("cpu") for d in drawn)
    assert data.on_device("cpu").draw(index=torch.arange(8)).equal(data.draw(index=torch.arange(8)))


def test_bad_configs_are_user_errors():
    with pytest.raises(GenlabError, match="divisible by 16"):
        BetaVAE(BetaVAEConfig(image_shape=(28, 28)))
    with pytest.raises(GenlabError, match="beta"):
        BetaVAE(BetaVAEConfig(beta=-1.0))
    with pytest.raises(GenlabError, match="expected images"):
        BetaVAE(BetaVAEConfig()).loss(torch.zeros(2, 100), torch.Generator())


def test_output_bias_starts_at_the_mean_intensity(batch):
    model = BetaVAE(BetaVAEConfig(latent=2))
    model.init_output_bias(batch)
    p = batch.mean().item()
    assert model.decoder.deconv[-1].bias.item() == pytest.approx(
        torch.logit(torch.tensor(p)).item(), rel=1e-5)
