"""``traverse_latents`` on dSprites names each row by the factor its latent informs most and
sorts the rows by factor; elsewhere it keeps the KL order and adds nothing."""

import json

import pytest
import torch

from genlab.cli.main import main
from genlab.errors import GenlabError
from genlab.latent import train_vae, vae_preset
from genlab.latent.betavae import BetaVAE, BetaVAEConfig
from genlab.latent.tasks import traverse_latents
from genlab.latent.traverse import latent_traversal, traversal_figure
from genlab.latent.vae import DiagonalGaussian

# posterior log-variances: the noise latent z1 has the largest KL, then z2, then z0, so
# the KL order (1, 2, 0) differs from the factor order (0, 2, 1)
LOGVAR = torch.tensor([-0.5, -6.0, -3.0])


class StandIn:
    """A beta-VAE's posterior replaced by a known one: mu_0 = the sprite's column centroid
    (x), mu_1 = noise independent of every factor, mu_2 = the square root of its area
    (scale; the shapes' areas differ less than the scales')."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """The noise restarts, so two traversals see the same codes."""
        self.gen = torch.Generator().manual_seed(11)

    def posterior(self, model: BetaVAE, x: torch.Tensor) -> DiagonalGaussian:
        img = x.reshape(-1, 64, 64).float()
        area = img.sum((1, 2)).clamp(min=1.0)
        cx = (img.sum(1) * (torch.arange(64) + 0.5)).sum(1) / area
        noise = torch.randn(len(x), generator=self.gen)
        mu = torch.stack([(cx - 32.0) / 18.0, noise, (area.sqrt() - 25.0) / 10.0], 1)
        return DiagonalGaussian(mu, LOGVAR.expand(len(x), 3).clone())


@pytest.fixture
def stand_in(monkeypatch):
    s = StandIn()
    monkeypatch.setattr(BetaVAE, "posterior", lambda model, x: s.posterior(model, x))
    return s


@pytest.fixture(scope="module")
def dsprites_run(tmp_path_factory):
    """A 3-latent beta-VAE saved as a dSprites run (its weights only decode here)."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("runs") / "standin" / "model"
    BetaVAE(BetaVAEConfig(latent=3)).save(path, {"data": {
        "name": "dsprites", "binarize": "none", "data_dir": None, "image_shape": [64, 64]}})
    return path.parent


def test_rows_are_named_and_sorted_by_factor(stand_in, dsprites_run, tmp_path):
    rep = traverse_latents(dsprites_run, tmp_path / "t.png", steps=3, n_kl=50, seed=0)
    assert rep.row_order == "factor" and rep.factor_samples == 10_000
    assert rep.order == [0, 2, 1]
    assert rep.factor == ["x", "scale", None]
    assert rep.row_labels()[0].startswith("z0: x (MI ") and rep.row_labels()[2].startswith(
        "z1: nothing (MI ")
    assert rep.mi[0] > 0.5 and rep.mi[1] > 0.5 and rep.mi[2] < rep.mi_threshold
    assert rep.mi_threshold == pytest.approx(0.0121, abs=1e-4)
    assert rep.factors == ["shape", "scale", "orientation", "x", "y"]
    assert len(rep.mi_matrix) == 3 and all(len(r) == 5 for r in rep.mi_matrix)
    for row, j in enumerate(rep.order):  # the row's MI is its latent's largest
        assert rep.mi[row] == max(rep.mi_matrix[j])
    # the KL is the stand-in's own, and it would have sorted the rows 1, 2, 0
    assert torch.argsort(torch.tensor(rep.kl), descending=True).tolist() == [1, 2, 0]
    assert (tmp_path / "t.png").stat().st_size > 0
    d = rep.to_dict()
    assert d["factor"] == ["x", "scale", None] and d["mi_matrix"] == rep.mi_matrix


def test_kl_order_keeps_the_names(stand_in, dsprites_run, tmp_path):
    rep = traverse_latents(dsprites_run, tmp_path / "t.png", steps=3, n_kl=50, seed=0,
                           order="kl", factor_samples=4000)
    assert rep.order == [1, 2, 0] and rep.row_order == "kl" and rep.factor_samples == 4000
    assert rep.factor == [None, "scale", "x"]


def test_the_commands_json_is_the_tasks(stand_in, dsprites_run, tmp_path, capsys):
    png = tmp_path / "t.png"
    argv = ["vae", "traverse", str(dsprites_run), "--steps", "3", "--n-kl", "20", "--index",
            "2", "--seed", "1", "--factor-samples", "2000", "--out", str(png), "--json"]
    assert main(argv) == 0
    printed = json.loads(capsys.readouterr().out)
    stand_in.reset()
    assert printed == traverse_latents(dsprites_run, png, steps=3, n_kl=20, index=2, seed=1,
                                       factor_samples=2000).to_dict()
    assert printed["factor"][:2] == ["x", "scale"] and printed["order"][:2] == [0, 2]
    stand_in.reset()
    assert main(argv[:-1]) == 0
    text = capsys.readouterr().out
    assert "z0: x (MI " in text and "z2: scale (MI " in text


@pytest.fixture(scope="module")
def digits_vae(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "vae"
    train_vae(vae_preset("digits", latent=3, hidden=(16,), epochs=1, limit=200, seed=2), out)
    return out


def test_other_data_keep_the_kl_order_and_no_names(digits_vae, tmp_path, capsys):
    rep = traverse_latents(digits_vae, tmp_path / "t.png", steps=3, n_kl=40, seed=1)
    assert rep.row_order == "kl" and rep.factor is None and rep.mi_matrix is None
    assert rep.order == torch.argsort(torch.tensor(rep.kl), descending=True).tolist()
    assert list(rep.to_dict()) == ["out", "order", "kl", "information", "mismatch", "values",
                                   "index"]
    assert rep.to_dict() == traverse_latents(digits_vae, tmp_path / "t.png", steps=3,
                                             n_kl=40, seed=1, order="kl").to_dict()
    for kwargs in ({"order": "factor"}, {"factor_samples": 100}):
        with pytest.raises(GenlabError, match="needs a model of dSprites"):
            traverse_latents(digits_vae, tmp_path / "t.png", n_kl=40, **kwargs)
    with pytest.raises(GenlabError, match="unknown row order"):
        traverse_latents(digits_vae, tmp_path / "t.png", n_kl=40, order="mi")
    assert main(["vae", "traverse", str(digits_vae), "--order", "factor", "--n-kl", "40",
                 "--out", str(tmp_path / "u.png")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("genlab: error: --order factor needs a model of dSprites")


def test_a_given_row_order_and_labels(tmp_path):
    torch.manual_seed(0)
    model = BetaVAE(BetaVAEConfig(latent=3)).eval()
    x = torch.rand(4, 4096).round()
    kl = torch.tensor([0.1, 3.0, 1.0])
    trav = latent_traversal(model, x[1], kl, steps=3, order=[2, 0, 1])
    by_kl = latent_traversal(model, x[1], kl, steps=3)  # rows 1, 2, 0
    assert trav.order == [2, 0, 1] and by_kl.order == [1, 2, 0]
    for r, j in enumerate(trav.order):
        torch.testing.assert_close(trav.images[r], by_kl.images[by_kl.order.index(j)])
    fig = traversal_figure(model, x, tmp_path / "f.png", index=1, steps=3, kl=kl,
                           order=[2, 0, 1], labels=["x (MI 0.70)", "y (MI 0.50)", "nothing"])
    assert fig.labels == ["x (MI 0.70)", "y (MI 0.50)", "nothing"]
    assert (tmp_path / "f.png").stat().st_size > 0
    with pytest.raises(GenlabError, match="each of the 3 latents once"):
        latent_traversal(model, x[1], kl, order=[0, 0, 1])
    with pytest.raises(GenlabError, match="one label per row"):
        traversal_figure(model, x, tmp_path / "g.png", kl=kl, labels=["x"])


def test_a_latent_whose_mean_hardly_moves_is_inactive(stand_in, dsprites_run, tmp_path,
                                                      monkeypatch):
    """The binned mean of a latent that moves by a few hundredths still informs x fully
    (MI is blind to scale), but the decoder cannot read it: with Var_x(mu_j) <= 0.01 the
    row is named inactive, not x, and goes after the named rows."""
    shown = stand_in.posterior

    def still_x(model, x):
        q = shown(model, x)
        return DiagonalGaussian(q.mu * torch.tensor([0.05, 1.0, 1.0]), q.logvar)

    monkeypatch.setattr(BetaVAE, "posterior", still_x)
    rep = traverse_latents(dsprites_run, tmp_path / "t.png", steps=3, n_kl=200, seed=0,
                           factor_samples=4000)
    row = rep.order.index(0)
    assert rep.active[row] is False and rep.factor[row] is None
    assert rep.mi[row] > 0.5  # what naming by MI alone would have called x
    assert rep.row_labels()[row] == "z0: inactive"
    assert rep.factor[0] == "scale" and rep.active[0] is True
    assert rep.to_dict()["active"] == rep.active
