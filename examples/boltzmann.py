"""A Boltzmann machine of 12 units: sampling, exact answers, a mean-field bound, learning.

Units x_i in {-1, +1}, symmetric weights w_ij (w_ii = 0) and biases b_i define

    E(x) = -1/2 sum_ij w_ij x_i x_j - sum_i b_i x_i,    P(x) = exp(-beta E(x)) / Z.

With 12 units all 2^12 = 4096 states can be summed, so every estimate below is checked
against the exact value:

* Gibbs sampling: a_i = sum_j w_ij x_j + b_i, P(x_i = +1 | rest) = 1 / (1 + exp(-2 beta a_i));
  the chain means <x_i> against the exact ones, within their Monte Carlo standard errors.
* Mean field: a factorised Q(x) = prod_i (1 + m_i x_i) / 2 with m_i = tanh(beta a_i(m))
  gives the variational free energy F, and -F <= log Z (the gap is KL(Q || P)).
* Learning: gradient ascent on the log-likelihood of samples,
  dw_ij = eta (<x_i x_j>_data - <x_i x_j>_model),  db_i = eta (<x_i>_data - <x_i>_model),
  with the model's correlations computed exactly.

    python examples/boltzmann.py --out examples-out

writes bm_marginals.png, bm_meanfield.png and bm_learning.png.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import torch

from genlab.boltzmann.bm_plots import plot_bound_vs_beta
from genlab.boltzmann.diagnostics import summarize
from genlab.boltzmann.exact import exact_log_likelihood, exact_moments
from genlab.boltzmann.gibbs import sample
from genlab.boltzmann.meanfield import mean_field
from genlab.plots import plot_curves

N_UNITS = 12


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
    gen = torch.Generator().manual_seed(0)

    # --- a random machine: w_ij ~ N(0, 1/n), symmetric with zero diagonal; b_i ~ N(0, 0.3^2)
    w = torch.randn(N_UNITS, N_UNITS, generator=gen, dtype=torch.float64) / N_UNITS ** 0.5
    w = torch.triu(w, 1)
    w = w + w.T                                                  # (12, 12)
    b = 0.3 * torch.randn(N_UNITS, generator=gen, dtype=torch.float64)

    # --- exact: sum over all 4096 states ---------------------------------------------------
    exact = exact_moments(w, b, beta=1.0)          # log Z, <x_i> (12,), <x_i x_j> (12, 12)
    print(f"exact log Z = {exact.log_z:.4f}")

    # --- Gibbs sampling: 16 independent chains, one sweep = every unit updated once --------
    n_samples = 300 if args.small else 5000
    run = sample(w, b, beta=1.0, n_chains=16, n_samples=n_samples, burn_in=100, generator=gen)
    s = summarize(run.samples)      # per unit: mean, Monte Carlo standard error, ESS, R-hat
    score = ((s.mean - exact.mean) / s.mcse).abs()         # error in standard errors
    print(f"Gibbs, {16 * n_samples} samples: max |<x_i> - exact| = "
          f"{float((s.mean - exact.mean).abs().max()):.4f}, that is at most "
          f"{float(score.max()):.1f} standard errors; largest R-hat {float(s.rhat.max()):.3f}")
    plot_curves({"exact <x_i>": exact.mean.tolist(), "Gibbs <x_i>": s.mean.tolist()},
                args.out / "bm_marginals.png", xlabel="unit i", ylabel="<x_i>",
                title="Gibbs sampling against exact enumeration (12 units, beta = 1)")

    # --- mean field: the bound -F <= log Z over the inverse temperature --------------------
    betas = [0.1 * k for k in range(31)]
    bounds = [mean_field(w, b, beta).log_z_bound for beta in betas]
    log_zs = [exact_moments(w, b, beta).log_z for beta in betas]
    gaps = [lz - f for lz, f in zip(log_zs, bounds, strict=True)]  # KL(Q || P) >= 0
    print(f"mean field at beta = 1: -F = {bounds[10]:.4f} <= log Z = {log_zs[10]:.4f} "
          f"(KL(Q || P) = {gaps[10]:.4f}); the gap over beta in [0, 3] runs from "
          f"{min(gaps):.2e} (beta = 0: Q = P exactly) to {max(gaps):.4f}")
    plot_bound_vs_beta(betas, bounds, log_zs, args.out / "bm_meanfield.png")

    # --- learning: fit a fresh machine to 4,000 of the samples -----------------------------
    data = run.samples.reshape(-1, N_UNITS)[:4000].to(torch.float64)  # (4000, 12) of ±1
    data_corr = data.T @ data / len(data)                         # <x_i x_j>_data
    data_mean = data.mean(0)                                      # <x_i>_data
    w_fit = torch.zeros_like(w)
    b_fit = torch.zeros_like(b)
    eta, steps = 0.2, 40 if args.small else 400
    curve = []
    for _ in range(steps):
        model = exact_moments(w_fit, b_fit)                       # <.>_model, exactly
        curve.append(exact_log_likelihood(w_fit, b_fit, data, log_z=model.log_z))
        w_fit += eta * (data_corr - model.corr)
        w_fit.fill_diagonal_(0.0)                                 # w_ii = 0 stays
        b_fit += eta * (data_mean - model.mean)
    truth = exact_log_likelihood(w, b, data, log_z=exact.log_z)
    print(f"learning, {steps} steps of eta = {eta}: log-likelihood per sample "
          f"{curve[0]:.4f} -> {curve[-1]:.4f} (the generating machine: {truth:.4f}); "
          f"max |w_fit - w| = {float((w_fit - w).abs().max()):.3f}")
    plot_curves({"learned machine": curve, "generating machine": [truth] * steps},
                args.out / "bm_learning.png", xlabel="gradient step",
                ylabel="mean log P(x) of the samples",
                title="dw = eta (<x x'>_data - <x x'>_model), model moments exact")
    print(f"figures in {args.out}/")


if __name__ == "__main__":
    main()
