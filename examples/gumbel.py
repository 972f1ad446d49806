"""Gumbel-max and Gumbel-softmax samples, and a VAE with categorical latents.

With g_k = -log(-log u_k), u_k ~ U(0, 1) independent (standard Gumbel noise), the
Gumbel-max trick draws exactly from a categorical distribution pi = softmax(logits):

    z = argmax_k (log pi_k + g_k)   ~   Categorical(pi).

Gumbel-softmax (Jang, Gu and Poole 2017; the Concrete distribution of Maddison et al.)
replaces the argmax by a softmax at temperature tau,

    y_k = exp((log pi_k + g_k) / tau) / sum_j exp((log pi_j + g_j) / tau),

a point of the simplex that is differentiable in the logits and tends to the one-hot z as
tau -> 0. Its argmax is still exactly Categorical(pi) at every tau; its mean E[y] is pi
only in the limit. A VAE with M categorical latents of K classes each trains through y
(with tau annealed), so its prior and posteriors are categorical.

    python examples/gumbel.py --out examples-out

writes gumbel_temperatures.png, categorical_vae_samples.png and the run in runs/catvae.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import torch

from genlab.latent import train_vae
from genlab.latent.gumbel import gumbel_max, gumbel_softmax
from genlab.latent.gumbel_plots import plot_temperature_sweep, temperature_sweep
from genlab.latent.presets import categorical_vae_preset
from genlab.latent.tasks import evaluate_vae, sample_vae


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
    gen = torch.Generator().manual_seed(0)

    # --- samples: n draws of a 4-class categorical -----------------------------------------
    logits = torch.tensor([2.0, 1.0, 0.0, -1.0], dtype=torch.float64)
    pi = torch.softmax(logits, 0)                                   # (4,)
    n = 10_000 if small else 100_000
    batch = logits.expand(n, -1)                                    # (n, 4)
    freq = torch.bincount(gumbel_max(batch, gen), minlength=4) / n  # exact: E[freq] = pi
    se = (pi * (1 - pi) / n).sqrt()                                 # binomial standard error
    print(f"pi = softmax(logits) = {[round(p, 4) for p in pi.tolist()]}")
    print(f"Gumbel-max, {n} draws: frequencies {[round(f, 4) for f in freq.tolist()]}, at "
          f"most {float(((freq - pi) / se).abs().max()):.1f} standard errors from pi")
    for tau in (0.1, 0.5, 1.0, 5.0):
        y = gumbel_softmax(batch, tau, generator=gen)               # (n, 4) on the simplex
        argmax = torch.bincount(y.argmax(1), minlength=4) / n
        print(f"Gumbel-softmax tau = {tau:>3}: E[y] = {[round(v, 3) for v in y.mean(0).tolist()]}"
              f" (|E[y] - pi| up to {float((y.mean(0) - pi).abs().max()):.3f}); argmax "
              f"frequencies within {float(((argmax - pi) / se).abs().max()):.1f} s.e. of pi; "
              f"mean largest entry {float(y.max(1).values.mean()):.3f}")
    sweep = temperature_sweep(logits, [0.1, 0.25, 0.5, 1.0, 2.0, 5.0],
                              n_mc=n, generator=gen)
    plot_temperature_sweep(sweep, args.out / "gumbel_temperatures.png")

    # --- a categorical VAE: M = 20 latents of K = 10 classes on MNIST digits ---------------
    # the networks and training of vae_preset("mnist5k"); tau_t = max(0.5, exp(-1e-4 t))
    run = args.out / "runs" / "catvae"
    preset = categorical_vae_preset("mnist5k", categories=(20, 10), estimator="gumbel",
                                    epochs=1 if small else 30, limit=500 if small else None,
                                    seed=0)
    trained = train_vae(preset, out=run, overwrite=True, latent_type="categorical")
    print(f"categorical VAE (20 x 10 one-hot latents): {trained.steps} steps in "
          f"{trained.seconds:.1f} s, training loss {trained.train_loss[0]:.1f} -> "
          f"{trained.train_loss[-1]:.1f} nats")
    k = 50 if small else 1000
    report = evaluate_vae(run, iw=k, n=100 if small else 1000, seed=0)
    print(f"test ELBO = {report.elbo:.2f} +- {report.elbo_se:.2f};  L_{k} = "
          f"{-report.nll_iw:.2f} +- {report.nll_iw_se:.2f} nats per image")
    sample_vae(run, args.out / "categorical_vae_samples.png", n=64, seed=0)
    print(f"figures in {args.out}/")


if __name__ == "__main__":
    main()
