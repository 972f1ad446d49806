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
from genlab.metrics.dsprites_eval import SampleSizes
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


ROW_ORDERS = ("factor", "kl")
"""How ``traverse_latents`` may sort its rows: by the factor each latent informs most
(runs on dSprites) or by KL, largest first."""

DSPRITES_ROW_FACTORS = ("x", "y", "scale", "shape", "orientation")
"""dSprites' factors in the order of a traversal's rows (x, y: ``pos_x``, ``pos_y``)."""

DEFAULT_FACTOR_SAMPLES = SampleSizes.mig_samples  # the MIG's default, 10,000


def _factor_name(name: str) -> str:
    return {"pos_x": "x", "pos_y": "y"}.get(name, name)


@dataclass
class TraversalReport(Result):
    """A latent traversal figure and each latent's KL, split as information + mismatch;
    on dSprites also the factor each row's latent informs most, from the MIG's normalised
    mutual-information matrix (``genlab.metrics.mig.factor_mutual_info``)."""

    out: str
    order: list[int]            # the figure's rows: latent of each row
    kl: list[float]             # KL per latent, nats, in latent order (``order`` sorts it)
    information: list[float]    # I(x; z_j) per latent, in latent order
    mismatch: list[float]       # KL(q(z_j) || p(z_j)) per latent, in latent order
    values: list[float]         # the values each latent takes across a row
    index: int                  # the test image the traversal starts from
    row_order: str = "kl"       # "factor" or "kl": how the rows are sorted
    # dSprites only (None elsewhere, and left out of to_dict):
    factor: list[str | None] | None = None  # per row: the factor its latent informs most
    active: list[bool] | None = None        # per row: Var_x(mu_j) > ACTIVE_VARIANCE
    mi: list[float] | None = None           # per row: that latent's max_k I(z_j; v_k) / H(v_k)
    factors: list[str] | None = None        # the MI matrix's columns (x, y: pos_x, pos_y)
    mi_matrix: list[list[float]] | None = None  # (L, K) I(z_j; v_k) / H(v_k), latent order
    mi_threshold: float | None = None       # below it a latent is named by no factor
    factor_samples: int | None = None       # dSprites images behind the MI matrix

    def to_dict(self) -> dict[str, Any]:
        shown = super().to_dict()
        if self.factor is None:  # no ground-truth factors: the KL-sorted report alone
            return {k: shown[k] for k in ("out", "order", "kl", "information", "mismatch",
                                          "values", "index")}
        return shown

    def row_labels(self) -> list[str]:
        """Each row's name, e.g. ``z3: x (MI 0.71)`` or ``z7: nothing (MI 0.01)``."""
        if self.factor is None or self.mi is None:
            return [f"z{j}" for j in self.order]
        active = self.active or [True] * len(self.order)
        return [f"z{j}: {_row_name(f, m, a)}"
                for j, f, m, a in zip(self.order, self.factor, self.mi, active, strict=True)]


def _row_name(factor: str | None, mi: float, active: bool) -> str:
    """A traversal row's name: ``x (MI 0.71)``, ``nothing (MI 0.01)`` or ``inactive``."""
    return f"{factor or 'nothing'} (MI {mi:.2f})" if active else "inactive"


def traverse_latents(run: Path, out: Path, *, index: int = 0, steps: int = 10,
                     span: float = 3.0, n_kl: int = 1000, seed: int = 0,
                     data: str | None = None, data_dir: str | None = None,
                     device: torch.device | str = "cpu", title: str | None = None,
                     order: str | None = None, factor_samples: int | None = None
                     ) -> TraversalReport:
    r"""Decode $z$ with one latent $z_j$ swept over ``steps`` values in $[-s, s]$
    ($s$ = ``span``) and the others at the posterior mean of test image ``index``: one row
    per latent. Each latent's KL over the first ``n_kl`` test images (drawn with ``seed``)
    is split as

    $$
    \mathbb{E}_x \mathrm{KL}(q(z_j|x)\,\|\,p(z_j)) = I(x; z_j) + \mathrm{KL}(q(z_j)\,\|\,p(z_j)).
    $$

    On dSprites each latent is also named by the factor it informs most: on
    ``factor_samples`` (default 10,000, the MIG's) images of uniform factors drawn under
    ``seed`` (the draw of ``genlab disentangle eval --seed``), the MIG's normalised
    matrix $I(\mu_j(x); v_k) / H(v_k)$ gives $k^*_j = \arg\max_k$, or none when the
    maximum is below ``genlab.metrics.mig.independence_threshold`` (what a latent
    independent of every factor shows by chance: 0.012 at 10,000 images). An inactive
    latent, whose posterior mean hardly moves with the image
    ($\mathrm{Var}_x(\mu_j(x)) \le$ ``genlab.latent.betavae.ACTIVE_VARIANCE`` $= 0.01$, the
    "active units" criterion of Burda et al. 2016), is named by none and shown as
    ``inactive``: the MI of its binned mean can be large though the decoder ignores it.
    ``order="factor"`` (the default there) sorts the rows by factor (x, y, scale, shape,
    orientation; within a factor the largest MI first), then the latents named by none,
    largest KL first; ``order="kl"`` (the only order elsewhere) by KL, largest first.
    """
    from genlab.latent.betavae import ACTIVE_VARIANCE, kl_split
    from genlab.latent.traverse import factor_row_order, traversal_figure

    model, meta = load_latent_model(run, device=device)
    model = _variational(model, "vae traverse")
    if steps < 2:
        raise GenlabError(f"--steps must be at least 2 for a traversal, got {steps}")
    if order is not None and order not in ROW_ORDERS:
        raise GenlabError(f"unknown row order {order!r}; choose from {', '.join(ROW_ORDERS)}")
    if factor_samples is not None and factor_samples < 2:
        raise GenlabError(f"--factor-samples must be at least 2, got {factor_samples}")
    if index >= n_kl:
        raise GenlabError(f"--index {index} must be below --n-kl {n_kl} (the seed image is "
                          "one of the test images the KL is measured on)")
    images = run_data(meta, "test", n_kl, data, data_dir)
    if index >= len(images):
        raise GenlabError(f"--index {index} is past the {len(images)} test images")
    has_factors = images.name == "dsprites"
    if not has_factors and (order == "factor" or factor_samples is not None):
        raise GenlabError(f"{'--order factor' if order == 'factor' else '--factor-samples'} "
                          f"needs a model of dSprites, whose factors are known; this run's "
                          f"images are {images.name!r} (use --order kl)")
    row_order = order or ("factor" if has_factors else "kl")
    x = fixed_draw(images, seed, device)[:n_kl]
    split = kl_split(model, x)
    kl = split.information + split.mismatch
    report = TraversalReport(out=str(out), order=[], kl=kl.tolist(),
                             information=split.information.tolist(),
                             mismatch=split.mismatch.tolist(), values=[], index=index,
                             row_order=row_order)
    active = (split.mu_variance > ACTIVE_VARIANCE).tolist()
    rows = (_name_latents(model, report, factor_samples or DEFAULT_FACTOR_SAMPLES, seed,
                          device) if has_factors else None)
    if rows is not None:  # an inactive latent informs no factor through the decoder
        rows = [(f if a else None, m) for (f, m), a in zip(rows, active, strict=True)]
    if rows is not None and row_order == "factor":
        rows_order = factor_row_order([f for f, _ in rows], [m for _, m in rows], report.kl,
                                      DSPRITES_ROW_FACTORS)
    else:
        rows_order = torch.argsort(kl, descending=True).tolist()
    sorted_by = {"factor": "rows named and sorted by factor",
                 "kl": "rows sorted by KL" + (", named by factor" if has_factors else "")}
    title = title or (f"{run}: latent traversals around test image {index} "
                      f"({sorted_by[row_order]})")
    labels = None if rows is None else [_row_name(*rows[j], active[j]) for j in rows_order]
    trav = traversal_figure(model, x, out, title=title, index=index, low=-span, high=span,
                            steps=steps, kl=kl, order=rows_order, labels=labels)
    report.order, report.values = list(trav.order), list(trav.values)
    if rows is not None:
        report.factor = [rows[j][0] for j in trav.order]
        report.mi = [rows[j][1] for j in trav.order]
        report.active = [active[j] for j in trav.order]
    return report


def _name_latents(model: VariationalModel, report: TraversalReport, n_samples: int,
                  seed: int, device: torch.device | str) -> list[tuple[str | None, float]]:
    """Each latent's factor (or None) and largest normalised MI on dSprites, in latent
    order; fills the report's MI matrix, its columns, threshold and sample size."""
    from genlab.data.dsprites import FACTOR_NAMES, FACTOR_SIZES
    from genlab.metrics.ground_truth import dsprites_code_function
    from genlab.metrics.mig import factor_mutual_info, latent_factor_labels

    model.eval()
    info = factor_mutual_info(dsprites_code_function(model.encode, device), FACTOR_SIZES,
                              seed=seed, n_samples=n_samples)
    names = [_factor_name(n) for n in FACTOR_NAMES]
    labels = latent_factor_labels(info.normalized, names, info.threshold)
    report.factors, report.mi_matrix = names, info.normalized
    report.mi_threshold, report.factor_samples = info.threshold, n_samples
    return [(lab.factor, lab.mi) for lab in labels]
