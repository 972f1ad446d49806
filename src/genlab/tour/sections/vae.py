"""The tour's VAE step."""

from __future__ import annotations

from genlab.latent import train_vae, vae_preset
from genlab.latent.tasks import decode_manifold, evaluate_vae, reconstruct_test_images, sample_vae
from genlab.tour.runner import Step, StepOutput, TourContext
from genlab.tour.sections.common import _q, command_text


def _vae(ctx: TourContext) -> StepOutput:
    s, device = ctx.seed, ctx.device
    dev = ["--device", device.type]
    epochs, iw, n = int(_q(ctx, 3, 30)), int(_q(ctx, 50, 1000)), int(_q(ctx, 200, 1000))
    run = ctx.out / "runs" / "vae2"
    trained = train_vae(vae_preset("mnist5k", latent=2, epochs=epochs, seed=s), run,
                        overwrite=True, device=device)
    reconstruct_test_images(run, ctx.file("vae_reconstructions.png"), n=16, seed=s,
                            device=device)
    sample_vae(run, ctx.file("vae_samples.png"), n=64, seed=s, device=device)
    decode_manifold(run, ctx.file("vae_manifold.png"), grid=15, codes=ctx.file("vae_codes.png"),
                    seed=s, device=device)
    ev = evaluate_vae(run, iw=iw, n=n, seed=s, device=device)
    figures = [("vae_reconstructions.png", "test images and their VAE reconstructions "
                "(blurry, as the lecture warns)"),
               ("vae_samples.png", "samples: z ~ N(0, I), x ~ p(x|z) shown as its mean"),
               ("vae_manifold.png", "the decoded 2-D latent grid"),
               ("vae_codes.png", "posterior means of test images, coloured by digit")]
    numbers = {"latent dimension": 2, "epochs": trained.epochs,
               "training seconds": trained.seconds, "test ELBO (nats/image)": ev.elbo,
               f"test -log p(x), IWAE K={ev.k} (nats/image)": ev.nll_iw, "test images": ev.n}
    command = command_text(
        ["vae", "train", "mnist5k", "--latent", 2, "--epochs", epochs, "--out", "runs/vae2",
         "--overwrite", "--seed", s, *dev],
        ["vae", "reconstruct", "runs/vae2", "--n", 16, "--out", "vae_reconstructions.png",
         "--seed", s, *dev],
        ["vae", "sample", "runs/vae2", "--n", 64, "--out", "vae_samples.png", "--seed", s, *dev],
        ["vae", "manifold", "runs/vae2", "--grid", 15, "--out", "vae_manifold.png", "--codes",
         "vae_codes.png", "--seed", s, *dev],
        ["vae", "eval", "runs/vae2", "--iw", iw, "--n", n, "--seed", s, *dev])
    return StepOutput(figures, numbers, command,
                      "A VAE with a 2-D latent on MNIST-5k: reconstructions, samples, the "
                      "decoded manifold and the codes of test digits; test ELBO and the "
                      "importance-weighted log-likelihood.")


STEP = Step("vae", "Variational autoencoder",
            "ELBO = E_q(z|x)[log p(x|z)] - KL(q(z|x) || p(z)),   z = mu + sigma * eps,   "
            "eps ~ N(0, I)", _vae)
