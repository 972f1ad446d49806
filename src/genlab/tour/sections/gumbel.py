"""The tour's Gumbel-softmax step."""

from __future__ import annotations

from genlab.latent import train_vae
from genlab.latent.gumbel_tasks import temperature_figure
from genlab.latent.presets import categorical_vae_preset
from genlab.latent.tasks import evaluate_vae, sample_vae
from genlab.tour.runner import Step, StepOutput, TourContext
from genlab.tour.sections.common import _q, command_text


def _gumbel(ctx: TourContext) -> StepOutput:
    s, device = ctx.seed, ctx.device
    dev = ["--device", device.type]
    n_mc, epochs = int(_q(ctx, 20000, 100000)), int(_q(ctx, 2, 30))
    iw, n = int(_q(ctx, 20, 200)), int(_q(ctx, 200, 1000))
    temperature_figure(ctx.file("gumbel_temperatures.png"), n_mc=n_mc, seed=s)
    run = ctx.out / "runs" / "catvae"
    preset = categorical_vae_preset("mnist5k", categories=(20, 10), anneal_rate=3e-4,
                                    binarize="threshold", epochs=epochs, seed=s)
    trained = train_vae(preset, run, overwrite=True, device=device, latent_type="categorical")
    sample_vae(run, ctx.file("gumbel_vae_samples.png"), n=64, seed=s, device=device)
    ev = evaluate_vae(run, iw=iw, n=n, seed=s, device=device)
    figures = [("gumbel_temperatures.png", "Gumbel-softmax at several temperatures: "
                "expectation and one sample per tau"),
               ("gumbel_vae_samples.png", "categorical VAE samples: 20 one-hot codes of "
                "10 classes drawn from the uniform prior")]
    numbers = {"latents": "20 x 10 categorical", "epochs": trained.epochs,
               "test ELBO (nats/image)": ev.elbo,
               f"test -log p(x), IWAE K={ev.k} (nats/image)": ev.nll_iw}
    command = command_text(
        ["gumbel", "plot", "--n-mc", n_mc, "--out", "gumbel_temperatures.png", "--seed", s],
        ["vae", "train", "mnist5k", "--latent-type", "categorical", "--categories", "20x10",
         "--binarize", "threshold", "--epochs", epochs, "--anneal-rate", "3e-4", "--out",
         "runs/catvae", "--overwrite", "--seed", s, *dev],
        ["vae", "sample", "runs/catvae", "--n", 64, "--out", "gumbel_vae_samples.png",
         "--seed", s, *dev],
        ["vae", "eval", "runs/catvae", "--iw", iw, "--n", n, "--seed", s, *dev])
    return StepOutput(figures, numbers, command,
                      "Relaxed one-hot samples across temperatures, and a VAE with 20 "
                      "categorical latents of 10 classes trained through the Gumbel-softmax.")


STEP = Step("gumbel", "Gumbel-softmax and the categorical VAE",
            "z = argmax_k (log pi_k + g_k),   y_k = exp((log pi_k + g_k)/tau) / "
            "sum_j exp((log pi_j + g_j)/tau),   g = -log(-log u)", _gumbel)
