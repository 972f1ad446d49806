"""A variational autoencoder with a 2-D latent space on MNIST digits.

An encoder q(z | x) = N(mu(x), diag sigma(x)^2) and a decoder p(x | z) (Bernoulli pixels)
are trained together on the evidence lower bound

    ELBO(x) = E_q(z|x)[log p(x | z)] - KL(q(z | x) || p(z)) <= log p(x),   p(z) = N(0, I),

with the reparameterisation z = mu + sigma * eps, eps ~ N(0, I), so the gradient flows
through the sample. On test images the ELBO is compared with the importance-weighted
bound (Burda et al. 2016), tighter as K grows,

    L_K(x) = log 1/K sum_k p(x, z_k) / q(z_k | x),   z_k ~ q(z | x),   ELBO = L_1 <= L_K.

With two latents the whole code space can be drawn: the decoder's mean image at every
point of a grid over z, and where the test digits land.

    python examples/vae.py --out examples-out

writes vae_samples.png, vae_manifold.png and vae_codes.png, and the run in runs/vae2.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from genlab.latent import train_vae, vae_preset
from genlab.latent.tasks import decode_manifold, evaluate_vae, sample_vae


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("examples-out"),
                        help="folder for the figures (default: examples-out)")
    parser.add_argument("--small", action="store_true",
                        help="a few seconds' version (also GENLAB_EXAMPLES_SMALL=1)")
    args = parser.parse_args()
    args.small = args.small or os.environ.get("GENLAB_EXAMPLES_SMALL") == "1"
    args.out.mkdir(parents=True, exist_ok=True)
    return args


def main() -> None:
    args = parse_args()
    small = args.small
    run = args.out / "runs" / "vae2"

    # genlab's preset for mnist5k (`genlab vae train mnist5k --latent 2`): an ELU MLP
    # 784-512-256-2 and its mirror, Adam with a cosine schedule, and the KL term's weight
    # rising from 0 to 1 over the first 30 % of the steps; pixels resampled from their
    # grey levels every epoch (binarize="bernoulli")
    preset = vae_preset("mnist5k", latent=2, epochs=1 if small else 30,
                        limit=500 if small else None, seed=0)
    trained = train_vae(preset, out=run, overwrite=True)
    print(f"trained {trained.parameters:,} parameters for {trained.steps} steps in "
          f"{trained.seconds:.1f} s; training loss (-ELBO, KL weight warming up) "
          f"{trained.train_loss[0]:.1f} -> {trained.train_loss[-1]:.1f} nats")

    # the two bounds on log p(x) on test digits, in nats per image, with standard errors
    k = 50 if small else 1000
    report = evaluate_vae(run, iw=k, n=100 if small else 1000, seed=0)
    print(f"test ELBO = {report.elbo:.2f} +- {report.elbo_se:.2f};  L_{k} = "
          f"{-report.nll_iw:.2f} +- {report.nll_iw_se:.2f} nats ({report.n} images): the "
          f"importance-weighted bound is {-report.nll_iw - report.elbo:.2f} nats tighter")

    sample_vae(run, args.out / "vae_samples.png", n=64, seed=0)   # x = E[p(x|z)], z ~ N(0, I)
    # the decoder over z in [-3, 3]^2, and the posterior means mu(x) of test digits by label
    decode_manifold(run, args.out / "vae_manifold.png", grid=20, span=3.0,
                    codes=args.out / "vae_codes.png", n=200 if small else 1000, seed=0)
    print(f"figures in {args.out}/")


if __name__ == "__main__":
    main()
