"""What a trained latent model reports: likelihoods, errors, samples and figures.

Each function takes a run folder (or model path) ``RUN`` written by
``genlab.latent.train_vae`` / ``train_ae``, draws its test images with ``seed``
(``fixed_draw``), writes the figures it is given paths for and returns a typed ``Result``.
``genlab vae eval|sample|reconstruct|manifold`` and ``genlab ae eval|reconstruct`` print
these results.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch

from genlab.data import FASHION_CLASSES
from genlab.device import make_generator
from genlab.errors import GenlabError
from genlab.latent.base import LatentModel, VariationalModel, load_latent_model
from genlab.latent.corruption import parse_corruption
from genlab.latent.evaluate import evaluate_likelihood, reconstruction_error
from genlab.latent.plots import plot_codes, plot_manifold, plot_reconstructions
from genlab.latent.runs import fixed_draw, run_data
from genlab.latent.training import check_decode_memory
from genlab.plots import plot_image_grid
from genlab.results import Result

Path = str | os.PathLike[str]


def _variational(model: LatentModel, what: str) -> VariationalModel:
    if not isinstance(model, VariationalModel):
        raise GenlabError(f"{what} needs a VAE, but this run holds a {model.kind!r} model")
    return model


@dataclass
class LikelihoodReport(Result):
    r"""Test ELBO and IWAE estimate of $-\log p(x)$, nats per image, with standard errors."""

    elbo: float       # mean ELBO (one sample per image)
    nll_iw: float     # mean -L_K(x), the importance-weighted estimate of -log p(x)
    k: int            # importance samples K
    n: int            # test images
    elbo_se: float    # standard error of the mean ELBO
    nll_iw_se: float  # standard error of the mean -L_K
    kind: str         # the model's kind


def evaluate_vae(run: Path, *, iw: int = 1000, n: int | None = None, seed: int = 0,
                 batch_size: int = 100, data: str | None = None, data_dir: str | None = None,
                 device: torch.device | str = "cpu") -> LikelihoodReport:
    r"""The ELBO and $\mathcal{L}_K = \log \frac{1}{K} \sum_{k=1}^{K} p(x, z_k) / q(z_k|x)$
    ($K$ = ``iw``) on the first ``n`` test images of the run's data set (or ``data``),
    binarised once with ``seed``."""
    model, meta = load_latent_model(run, device=device)
    model = _variational(model, "vae eval")
    x = fixed_draw(run_data(meta, "test", n, data, data_dir), seed, device)
    r = evaluate_likelihood(model, x, iw, make_generator(seed, device), batch_size=batch_size)
    return LikelihoodReport(r.elbo, r.nll_iw, r.k, r.n, r.elbo_se, r.nll_iw_se, model.kind)


@dataclass
class FigureReport(Result):
    """A figure of ``n`` images drawn from a model."""

    out: str      # the PNG written
    n: int        # images in it
    kind: str     # the model's kind


def sample_vae(run: Path, out: Path, *, n: int = 64, seed: int = 0,
               device: torch.device | str = "cpu") -> FigureReport:
    r"""Draw ``n`` images $x = \mathbb{E}[p(x|z)]$, $z \sim p(z)$, as a grid in ``out``."""
    model, _ = load_latent_model(run, device=device)
    model = _variational(model, "vae sample")
    check_decode_memory(model, n, f"--n {n} samples", device)
    with torch.no_grad():
        x = model.sample(n, make_generator(seed, device))
    plot_image_grid(x.cpu(), out, image_shape=model.image_shape, vmin=0, vmax=1,
                    title=f"{n} samples from p(x|z) p(z) (means)")
    return FigureReport(str(out), n, model.kind)


@dataclass
class ReconstructionReport(FigureReport):
    """Reconstructions drawn, with the mean errors on up to 2,000 test images."""

    mse: float = 0.0        # mean sum_d (x_d - x^_d)^2
    bce: float = 0.0        # mean Bernoulli cross-entropy, nats per image
    n_error: int = 0        # test images behind mse and bce


def _corruption(model: LatentModel, corrupt: str | None) -> Any:
    """``corrupt`` parsed; None: the model's own (a denoising autoencoder's); "": none."""
    return parse_corruption(corrupt if corrupt is not None
                            else getattr(model.config, "corrupt", ""))


def reconstruct_test_images(run: Path, out: Path, *, n: int = 16, seed: int = 0,
                            corrupt: str | None = None, data: str | None = None,
                            data_dir: str | None = None, device: torch.device | str = "cpu"
                            ) -> ReconstructionReport:
    """Draw ``n`` random test images above their reconstructions $g(f(x))$ in ``out``
    (with ``corrupt`` or a denoising model's own corruption, the corrupted inputs between),
    and measure the reconstruction error of clean test images."""
    model, meta = load_latent_model(run, device=device)
    corruption = _corruption(model, corrupt)
    test = run_data(meta, "test", None, data, data_dir)
    gen = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(test), generator=gen)[:n].sort().values
    x = test.draw(gen, idx).to(device)
    noisy = corruption(x, make_generator(seed, device)) if corruption is not None else None
    with torch.no_grad():
        r = model.reconstruct(noisy if noisy is not None else x)
    err = reconstruction_error(model, fixed_draw(test, seed, device)[:2000])
    plot_reconstructions(x.cpu(), r.cpu(), model.image_shape, out,
                         noisy=None if noisy is None else noisy.cpu(),
                         title=f"{model.kind}: test inputs and reconstructions")
    return ReconstructionReport(str(out), len(x), model.kind, err.mse, err.bce, err.n)


@dataclass
class ManifoldReport(Result):
    """The decoded grid over a 2-D latent space, and where the test codes were drawn."""

    out: str                 # the manifold PNG
    grid: int                # grid points per axis
    kind: str                # the model's kind
    codes: str | None = None  # the scatter of test codes (None: not drawn)
    n: int | None = None     # test images in the scatter

    def to_dict(self) -> dict[str, Any]:
        shown = super().to_dict()
        return shown if self.codes is not None else {k: shown[k] for k in ("out", "grid",
                                                                            "kind")}


def decode_manifold(run: Path, out: Path, *, grid: int = 20, span: float = 3.0,
                    codes: Path | None = None, n: int | None = None, seed: int = 0,
                    data: str | None = None, data_dir: str | None = None,
                    device: torch.device | str = "cpu") -> ManifoldReport:
    r"""Decode $\mathbb{E}[p(x|z)]$ on a ``grid`` x ``grid`` lattice of $[-s, s]^2$
    ($s$ = ``span``) into ``out`` (row 0 is the largest $z_2$, so the picture reads like the
    z-plane); with ``codes``, also scatter the posterior means of ``n`` test images,
    coloured by label."""
    model, meta = load_latent_model(run, device=device)
    model = _variational(model, "vae manifold")
    if model.latent_dim != 2:
        raise GenlabError(f"vae manifold needs a 2-D latent, this model has {model.latent_dim}; "
                          "train one with --latent 2")
    check_decode_memory(model, grid * grid, f"--grid {grid} ({grid}x{grid} images)", device)
    vals = torch.linspace(-span, span, grid)
    z = torch.stack(torch.meshgrid(vals, vals.flip(0), indexing="xy"), -1).reshape(-1, 2)
    with torch.no_grad():
        images = model.decode_mean(z.to(device)).cpu()
    plot_manifold(images, model.image_shape, grid, span, out)
    if codes is None:
        return ManifoldReport(str(out), grid, model.kind)
    test = run_data(meta, "test", n, data, data_dir)
    with torch.no_grad():
        mu = model.encode(fixed_draw(test, seed, device)).cpu()
    names = list(FASHION_CLASSES) if test.name == "fashion-mnist" else None
    plot_codes(mu, test.labels, codes, names)
    return ManifoldReport(str(out), grid, model.kind, str(codes), len(mu))



@dataclass
class AEErrorReport(Result):
    """Test reconstruction error of an autoencoder, and its denoising error."""

    mse: float                        # mean sum_d (x_d - g(f(x))_d)^2 on clean x
    bce: float                        # mean Bernoulli cross-entropy (nats) on clean x
    n: int                            # test images
    kind: str                         # the model's kind
    corrupt: str | None = None        # the corruption C(x~|x) (None: clean inputs only)
    denoise_mse: float | None = None  # mean ||g(f(x~)) - x||^2, x~ ~ C(x~|x)
    corrupted_mse: float | None = None  # mean ||x~ - x||^2: the corrupted inputs themselves
    noisy_recon_mse: float | None = None  # mean ||g(f(x~)) - x~||^2

    def to_dict(self) -> dict[str, Any]:
        shown = super().to_dict()
        return shown if self.corrupt is not None else {k: shown[k] for k in ("mse", "bce", "n",
                                                                             "kind")}


def evaluate_ae(run: Path, *, n: int | None = None, corrupt: str | None = None, seed: int = 0,
                data: str | None = None, data_dir: str | None = None,
                device: torch.device | str = "cpu") -> AEErrorReport:
    r"""Reconstruction error of the first ``n`` test images (binarised once with ``seed``);
    with a corruption (``corrupt``, else a denoising model's own; "" for none), also the
    denoising error $\|g(f(\tilde x)) - x\|^2$ against the clean $x$."""
    model, meta = load_latent_model(run, device=device)
    x = fixed_draw(run_data(meta, "test", n, data, data_dir), seed, device)
    err = reconstruction_error(model, x)
    corruption = _corruption(model, corrupt)
    if corruption is None:
        return AEErrorReport(err.mse, err.bce, err.n, model.kind)
    noisy = corruption(x, make_generator(seed, device))
    against_noisy = reconstruction_error(model, noisy)
    with torch.no_grad():
        r = model.reconstruct(noisy)
    return AEErrorReport(err.mse, err.bce, err.n, model.kind, str(corruption),
                         denoise_mse=float(((r - x) ** 2).sum(1).mean()),
                         corrupted_mse=float(((noisy - x) ** 2).sum(1).mean()),
                         noisy_recon_mse=against_noisy.mse)


@dataclass
class TraversalReport(Result):
    """A latent traversal figure and each latent's KL, split as information + mismatch."""

    out: str
    order: list[int]            # latents, largest KL first (the figure's rows)
    kl: list[float]             # KL per latent, nats, in latent order (``order`` sorts it)
    information: list[float]    # I(x; z_j) per latent, in latent order
    mismatch: list[float]       # KL(q(z_j) || p(z_j)) per latent, in latent order
    values: list[float]         # the values each latent takes across a row
    index: int                  # the test image the traversal starts from


def traverse_latents(run: Path, out: Path, *, index: int = 0, steps: int = 10,
                     span: float = 3.0, n_kl: int = 1000, seed: int = 0,
                     data: str | None = None, data_dir: str | None = None,
                     device: torch.device | str = "cpu",
                     title: str | None = None) -> TraversalReport:
    r"""Decode $z$ with one latent $z_j$ swept over ``steps`` values in $[-s, s]$
    ($s$ = ``span``) and the others at the posterior mean of test image ``index``: one row
    per latent, rows sorted by the latent's KL over the first ``n_kl`` test images (drawn
    with ``seed``),

    $$
    \mathbb{E}_x \mathrm{KL}(q(z_j|x)\,\|\,p(z_j)) = I(x; z_j) + \mathrm{KL}(q(z_j)\,\|\,p(z_j)).
    $$
    """
    from genlab.latent.betavae import kl_split
    from genlab.latent.traverse import traversal_figure

    model, meta = load_latent_model(run, device=device)
    model = _variational(model, "vae traverse")
    if steps < 2:
        raise GenlabError(f"--steps must be at least 2 for a traversal, got {steps}")
    if index >= n_kl:
        raise GenlabError(f"--index {index} must be below --n-kl {n_kl} (the seed image is "
                          "one of the test images the KL is measured on)")
    images = run_data(meta, "test", n_kl, data, data_dir)
    if index >= len(images):
        raise GenlabError(f"--index {index} is past the {len(images)} test images")
    x = fixed_draw(images, seed, device)[:n_kl]
    split = kl_split(model, x)
    title = title or f"{run}: latent traversals around test image {index} (rows sorted by KL)"
    trav = traversal_figure(model, x, out, title=title, index=index, low=-span, high=span,
                            steps=steps, kl=split.information + split.mismatch)
    return TraversalReport(out=str(out), order=list(trav.order), kl=list(trav.kl),
                           information=split.information.tolist(),
                           mismatch=split.mismatch.tolist(), values=list(trav.values),
                           index=index)
