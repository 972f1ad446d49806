"""The tour's VAE step."""

from __future__ import annotations

from typing import Any

from genlab.tour.cli_steps import Command, cli_step
from genlab.tour.runner import Step, TourContext
from genlab.tour.sections.common import _q


def _vae(ctx: TourContext) -> list[Command]:
    s = str(ctx.seed)
    return [Command(["vae", "train", "mnist5k", "--latent", "2", "--epochs", _q(ctx, 3, 30),
                     "--out", "{out}/runs/vae2", "--overwrite", "--seed", s]),
            Command(["vae", "reconstruct", "{out}/runs/vae2", "--n", "16", "--out",
                     "{out}/vae_reconstructions.png", "--seed", s],
                    [("vae_reconstructions.png", "test images and their VAE reconstructions "
                      "(blurry, as the lecture warns)")]),
            Command(["vae", "sample", "{out}/runs/vae2", "--n", "64", "--out",
                     "{out}/vae_samples.png", "--seed", s],
                    [("vae_samples.png", "samples: z ~ N(0, I), x ~ p(x|z) shown as its mean")]),
            Command(["vae", "manifold", "{out}/runs/vae2", "--grid", "15", "--out",
                     "{out}/vae_manifold.png", "--codes", "{out}/vae_codes.png", "--seed", s],
                    [("vae_manifold.png", "the decoded 2-D latent grid"),
                     ("vae_codes.png", "posterior means of test images, coloured by digit")]),
            Command(["vae", "eval", "{out}/runs/vae2", "--iw", _q(ctx, 50, 1000), "--n",
                     _q(ctx, 200, 1000), "--seed", s])]


def _vae_numbers(results: list[dict]) -> dict[str, Any]:
    tr, ev = results[0], results[-1]
    return {"latent dimension": 2, "epochs": tr["epochs"], "training seconds": tr["seconds"],
            "test ELBO (nats/image)": ev["elbo"],
            f"test -log p(x), IWAE K={ev['k']} (nats/image)": ev["nll_iw"],
            "test images": ev["n"]}


STEP = Step("vae", "Variational autoencoder",
            "ELBO = E_q(z|x)[log p(x|z)] - KL(q(z|x) || p(z)),   z = mu + sigma * eps,   "
            "eps ~ N(0, I)",
            cli_step(_vae, _vae_numbers,
                     "A VAE with a 2-D latent on MNIST-5k: reconstructions, samples, the decoded "
                     "manifold and the codes of test digits; test ELBO and the importance-"
                     "weighted log-likelihood."))
