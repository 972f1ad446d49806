"""The tour's Gumbel-softmax step."""

from __future__ import annotations

from typing import Any

from genlab.tour.cli_steps import Command, cli_step
from genlab.tour.runner import Step, TourContext
from genlab.tour.sections.common import _q


def _gumbel(ctx: TourContext) -> list[Command]:
    s = str(ctx.seed)
    return [Command(["gumbel", "plot", "--n-mc", _q(ctx, 20000, 100000), "--out",
                     "{out}/gumbel_temperatures.png", "--seed", s],
                    [("gumbel_temperatures.png", "Gumbel-softmax at several temperatures: "
                      "expectation and one sample per tau")]),
            Command(["vae", "train", "mnist5k", "--latent-type", "categorical", "--categories",
                     "20x10", "--binarize", "threshold", "--epochs", _q(ctx, 2, 30),
                     "--anneal-rate", "3e-4", "--out", "{out}/runs/catvae", "--overwrite",
                     "--seed", s]),
            Command(["vae", "sample", "{out}/runs/catvae", "--n", "64", "--out",
                     "{out}/gumbel_vae_samples.png", "--seed", s],
                    [("gumbel_vae_samples.png", "categorical VAE samples: 20 one-hot codes of "
                      "10 classes drawn from the uniform prior")]),
            Command(["vae", "eval", "{out}/runs/catvae", "--iw", _q(ctx, 20, 200), "--n",
                     _q(ctx, 200, 1000), "--seed", s])]


def _gumbel_numbers(results: list[dict]) -> dict[str, Any]:
    tr, ev = results[1], results[3]
    return {"latents": "20 x 10 categorical", "epochs": tr["epochs"],
            "test ELBO (nats/image)": ev["elbo"],
            f"test -log p(x), IWAE K={ev['k']} (nats/image)": ev["nll_iw"]}


STEP = Step("gumbel", "Gumbel-softmax and the categorical VAE",
            "z = argmax_k (log pi_k + g_k),   y_k = exp((log pi_k + g_k)/tau) / "
            "sum_j exp((log pi_j + g_j)/tau),   g = -log(-log u)",
            cli_step(_gumbel, _gumbel_numbers,
                     "Relaxed one-hot samples across temperatures, and a VAE with 20 categorical "
                     "latents of 10 classes trained through the Gumbel-softmax."))
