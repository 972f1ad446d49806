"""The tour's Boltzmann machine (Python API: a random 12-unit machine) step."""

from __future__ import annotations

from typing import Any

import torch

from genlab.tour.runner import Step, StepOutput, TourContext


def _boltzmann(ctx: TourContext) -> StepOutput:
    from genlab.boltzmann.bm_plots import plot_bound_vs_beta
    from genlab.boltzmann.exact import exact_moments
    from genlab.boltzmann.gibbs import sample
    from genlab.boltzmann.meanfield import mean_field
    from genlab.plots import plot_curves

    g = torch.Generator().manual_seed(ctx.seed)
    n = 12
    w = torch.randn(n, n, generator=g, dtype=torch.float64) / n ** 0.5
    w = torch.triu(w, 1)
    w = w + w.T
    b = 0.3 * torch.randn(n, generator=g, dtype=torch.float64)
    beta = 1.0
    exact = exact_moments(w, b, beta)
    run = sample(w, b, beta, n_chains=16, n_samples=500 if ctx.quick else 4000, burn_in=100,
                 generator=g)
    x = run.samples.reshape(-1, n).double()
    gibbs_mean = x.mean(0)
    err = (gibbs_mean - exact.mean).abs()
    plot_curves({"exact <x_i>": exact.mean.tolist(), "Gibbs <x_i>": gibbs_mean.tolist()},
                ctx.file("bm_marginals.png"), xlabel="unit i", ylabel="<x_i>",
                title="Gibbs sampling against exact enumeration (12 units, beta = 1)")
    betas = [0.1 * k for k in range(0, 31)]
    bounds = [mean_field(w, b, bb).log_z_bound for bb in betas]
    exacts = [exact_moments(w, b, bb).log_z for bb in betas]
    plot_bound_vs_beta(betas, bounds, exacts, ctx.file("bm_meanfield.png"))
    learned = _bm_learning(ctx, run.samples.reshape(-1, n)[:2000].double(), g)
    return StepOutput(
        figures=[("bm_marginals.png", "means <x_i> from Gibbs chains and from summing over all "
                  "2^12 states"),
                 ("bm_meanfield.png", "the mean-field bound on log Z against exact log Z over "
                  "inverse temperature beta"),
                 ("bm_learning.png", "learning from 2,000 of those samples by PCD: the exact "
                  "log-likelihood per epoch")],
        numbers={"units": n, "exact log Z (beta=1)": float(exact.log_z),
                 "Gibbs samples": int(x.shape[0]),
                 "max |Gibbs mean - exact mean|": float(err.max()),
                 "mean-field bound (beta=1)": float(mean_field(w, b, beta).log_z_bound),
                 "bound never above log Z": all(bd <= ex + 1e-9
                                                for bd, ex in zip(bounds, exacts, strict=True)),
                 **learned},
        command=f"genlab tour --only boltzmann --seed {ctx.seed}",
        summary="A random 12-unit machine: Gibbs sampling with P(x_i=+1) = 1/(1+exp(-2 a_i)) "
                "checked against exact enumeration, and the variational free energy as a "
                "bound on log Z.")


def _bm_learning(ctx: TourContext, data: torch.Tensor, g: torch.Generator) -> dict[str, Any]:
    """Fit a fresh machine to ``data`` by PCD; plot the exact log-likelihood per epoch."""
    from genlab.boltzmann.bm_plots import plot_training_curve
    from genlab.boltzmann.learning import BMTrainConfig, fit_boltzmann

    cfg = BMTrainConfig(method="pcd", epochs=8 if ctx.quick else 30, n_chains=500,
                        batch_size=500, lr=0.05)
    fit = fit_boltzmann(data.float(), cfg, g, show_progress=False)
    plot_training_curve(fit.history, ctx.file("bm_learning.png"))
    ll = [h["log_likelihood"] for h in fit.history if "log_likelihood" in h]
    return {"PCD epochs": cfg.epochs, "log-likelihood before learning": ll[0],
            "log-likelihood after learning": ll[-1]}


STEP = Step("boltzmann", "Boltzmann machine",
            "P(x | beta, W) = exp(-beta E(x; W)) / Z,   P(x_i = +1) = 1 / (1 + exp(-2 a_i)),   "
            "log Z >= -beta F_MF(m)",
            _boltzmann)
