"""A denoising autoencoder on MNIST digits: half the pixels hidden, the digit restored.

An autoencoder maps x to a code h = f(x) and back to g(h). A denoising autoencoder
(Vincent et al. 2008) corrupts its input first, x~ ~ C(x~ | x), and learns to restore
the clean image:

    min  E_x E_{x~ ~ C(x~|x)} L(x, g(f(x~))),
    L(x, x^) = -sum_d [x_d log x^_d + (1 - x_d) log(1 - x^_d)]   (Bernoulli cross-entropy).

Here C is masking noise: each pixel is set to 0 with probability 0.3 ("mask:0.3").
The model is genlab's preset for `genlab ae train mnist5k --corrupt mask:0.3`.

    python examples/denoising_autoencoder.py --out examples-out

writes dae_denoising.png (test digits, their corrupted copies, the reconstructions) and
the trained run in runs/dae.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from genlab.latent import ae_preset, train_ae
from genlab.latent.tasks import evaluate_ae, reconstruct_test_images


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
    run = args.out / "runs" / "dae"

    # the preset: 784-256-32 ReLU encoder, mirrored decoder, Bernoulli cross-entropy, Adam;
    # any field can be replaced, here the corruption C(x~|x) and the length of the run
    preset = ae_preset("mnist5k", corrupt="mask:0.3", epochs=1 if args.small else 20,
                       limit=500 if args.small else None, seed=0)
    trained = train_ae(preset, out=run, overwrite=True)   # a run folder: model, metrics
    print(f"trained {trained.steps} steps ({trained.epochs} epochs) in {trained.seconds:.1f} s; "
          f"training loss per epoch {trained.train_loss[0]:.1f} -> {trained.train_loss[-1]:.1f}")
    print(f"test reconstruction error of clean digits: {trained.test_mse:.2f} (squared error) "
          f"{trained.test_bce:.1f} nats (cross-entropy) per image")

    # denoising: ||g(f(x~)) - x||^2 against the clean x, next to ||x~ - x||^2 of the input
    report = evaluate_ae(run, n=1000, seed=0)          # the model's own corruption, mask:0.3
    print(f"with {report.corrupt}: the corrupted inputs are {report.corrupted_mse:.1f} from "
          f"the clean digits; their reconstructions {report.denoise_mse:.1f} (reconstructions "
          f"of the clean inputs: {report.mse:.1f})")

    figure = reconstruct_test_images(run, args.out / "dae_denoising.png", n=16, seed=0)
    print(f"figures in {args.out}/ ({Path(figure.out).name})")


if __name__ == "__main__":
    main()
