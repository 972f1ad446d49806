"""The tour's Autoencoders step."""

from __future__ import annotations

from typing import Any

import torch

from genlab.latent import ae_preset, train_ae
from genlab.latent.tasks import reconstruct_test_images
from genlab.tour.runner import Step, StepOutput, TourContext
from genlab.tour.sections.common import _q, command_text


def _autoencoder(ctx: TourContext) -> StepOutput:
    latent, s, device = 16, ctx.seed, ctx.device
    epochs = int(_q(ctx, 2, 15))
    run = ctx.out / "runs" / "dae"
    preset = ae_preset("mnist5k", latent=latent, corrupt="mask:0.3", epochs=epochs, seed=s)
    trained = train_ae(preset, run, overwrite=True, device=device)
    reconstruct_test_images(run, ctx.file("ae_denoise.png"), n=16, seed=s, device=device)
    err = _pca_figure(latent, ctx.file("ae_pca.png"))
    figures = [("ae_denoise.png", "masked input (30% of pixels dropped), reconstruction "
                "g(f(x~)), clean image"),
               ("ae_pca.png", f"the same test images reconstructed by PCA with {latent} "
                "components (from clean inputs)")]
    numbers = {"latent dimension": latent, "epochs": trained.epochs,
               "||g(f(x~)) - x||^2 per test image (x~ masked)": trained.test_mse,
               "cross-entropy per test image (x~ masked)": trained.test_bce,
               f"PCA, {latent} components, on clean x: squared error per test image": err}
    dev = ["--device", device.type]
    command = command_text(
        ["ae", "train", "mnist5k", "--latent", latent, "--corrupt", "mask:0.3", "--epochs",
         epochs, "--out", "runs/dae", "--overwrite", "--seed", s, *dev],
        ["ae", "reconstruct", "runs/dae", "--n", 16, "--out", "ae_denoise.png", "--seed", s,
         *dev])
    return StepOutput(figures, numbers, command,
                      "A denoising autoencoder: corrupt x into x~ with C(x~|x) (mask 30% of the "
                      "pixels), train g(f(x~)) to give the clean x; beside it, PCA with as many "
                      "components as the code has dimensions.")


def _pca_figure(k: int, path: Any) -> float:
    """PCA with ``k`` components on mnist5k: the first 16 test images and their
    reconstructions drawn to ``path``; returns the mean squared error per test image."""
    import numpy as np
    from sklearn.decomposition import PCA

    from genlab.data import load_dataset
    from genlab.latent.plots import plot_reconstructions

    tr, te = load_dataset("mnist5k", "train"), load_dataset("mnist5k", "test")
    pca = PCA(n_components=k, random_state=0).fit(tr.x.numpy())
    xt = te.x.numpy()
    rec = np.clip(pca.inverse_transform(pca.transform(xt)), 0.0, 1.0)
    plot_reconstructions(torch.from_numpy(xt[:16]), torch.from_numpy(rec[:16]), te.image_shape,
                         path, title=f"PCA, {k} components")
    return float(((rec - xt) ** 2).sum(axis=1).mean())


STEP = Step("autoencoder", "Autoencoders: dimension reduction and denoising",
            "minimise ||g(f(x~)) - x||^2,   x~ ~ C(x~ | x)", _autoencoder)
