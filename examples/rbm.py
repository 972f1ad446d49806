"""A restricted Boltzmann machine on MNIST digits, with its test log-likelihood by AIS.

Binary visible units v (the 784 pixels) and hidden units h, with

    E(v, h) = -b'v - c'h - v'W h,   P(v, h) = exp(-E(v, h)) / Z,
    P(h_j = 1 | v) = sigmoid(c_j + W_j v),   P(v_i = 1 | h) = sigmoid(b_i + (W'h)_i).

Training is persistent contrastive divergence (PCD): dW ~ <v h'>_data - <v h'>_model, the
model term from persistent Gibbs chains. genlab's BernoulliRBM has scikit-learn's API.
Summing h out gives the free energy F(v) = -b'v - sum_j log(1 + exp(c_j + W_j v)) and
log p(v) = -F(v) - log Z; Z (a sum over 2^784 states) is estimated by annealed importance
sampling (Salakhutdinov and Murray 2008), which also gives its standard error.

    python examples/rbm.py --out examples-out

writes rbm_filters.png (the rows W_j of the weights) and rbm_samples.png.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from genlab.data import load_dataset
from genlab.rbm import BernoulliRBM
from genlab.rbm.plots import plot_filters, plot_samples


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
    limit = 500 if small else None                 # None: all 4,000 training images

    # 28x28 digits thresholded at 0.5 to {0, 1}: X (4000, 784), X_test (1000, 784)
    X = load_dataset("mnist5k", "train", binarize="threshold", limit=limit).x.numpy()
    X_test = load_dataset("mnist5k", "test", binarize="threshold", limit=limit).x.numpy()

    rbm = BernoulliRBM(n_components=16 if small else 200, learning_rate=0.05, batch_size=20,
                       n_iter=1 if small else 15, method="pcd", momentum=0.5,
                       learning_rate_schedule="linear", random_state=0, device="cpu")
    rbm.fit(X)                                     # scikit-learn: fit, transform, ...
    H = rbm.transform(X_test)                      # P(h = 1 | v), (n_test, n_components)
    print(f"RBM with {rbm.n_components} hidden units, PCD for {rbm.n_iter} epoch(s) on "
          f"{len(X)} digits; mean hidden activity on the test digits {H.mean():.3f}")

    # log Z by AIS: n_runs annealing runs through n_betas intermediate distributions
    ais = rbm.ais_log_partition(n_runs=16 if small else 100, n_betas=300 if small else 10000,
                                seed=0)
    ll = rbm.log_likelihood(X_test, log_z=ais.log_z)     # mean_n -F(v_n) - log Z
    # two independent errors: AIS's on log Z and the sampling error of the mean over images
    fe_se = float(np.std(rbm.free_energy(X_test)) / np.sqrt(len(X_test)))
    se = float(np.hypot(ais.std_err, fe_se))
    print(f"AIS log Z = {ais.log_z:.2f} +- {ais.std_err:.2f}")
    print(f"test log-likelihood = {ll:.2f} +- {se:.2f} nats per image ({len(X_test)} images)")

    plot_filters(rbm.components_, args.out / "rbm_filters.png", n=64,
                 title="filters W_j of the first 64 hidden units")
    samples = rbm.sample(36, n_steps=20 if small else 1000)   # E[v | h] after Gibbs sweeps
    plot_samples(samples, args.out / "rbm_samples.png", title="samples after block Gibbs sweeps")
    print(f"figures in {args.out}/")


if __name__ == "__main__":
    main()
