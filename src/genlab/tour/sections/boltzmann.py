"""The tour's Boltzmann machine step: a random 12-unit machine, through the tasks of
:mod:`genlab.boltzmann.tasks` (the same calls ``genlab bm ...`` makes)."""

from __future__ import annotations

import torch

from genlab.tour.runner import Step, StepOutput, TourContext

N_UNITS = 12
TRAIN_ROWS = 2000


def _machine(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``w_ij ~ N(0, 1/n)`` (symmetric, zero diagonal) and ``b_i ~ N(0, 0.3^2)``, float64."""
    g = torch.Generator().manual_seed(seed)
    n = N_UNITS
    w = torch.randn(n, n, generator=g, dtype=torch.float64) / n ** 0.5
    w = torch.triu(w, 1)
    return w + w.T, 0.3 * torch.randn(n, generator=g, dtype=torch.float64)


def _boltzmann(ctx: TourContext) -> StepOutput:
    from genlab.boltzmann.bm_plots import plot_bound_vs_beta
    from genlab.boltzmann.learning import BMTrainConfig
    from genlab.boltzmann.tasks import (
        exact_report,
        mean_field_report,
        sample_report,
        save_npy,
        train_machine,
    )
    from genlab.plots import plot_curves

    w, b = _machine(ctx.seed)
    save_npy(ctx.file("bm_W.npy"), w.numpy())  # the machine, for the commands below
    save_npy(ctx.file("bm_b.npy"), b.numpy())
    samples = 500 if ctx.quick else 4000
    exact = exact_report(w, b, 1.0)
    gibbs = sample_report(w, b, 1.0, chains=16, samples=samples, burn_in=100, seed=ctx.seed)
    plot_curves({"exact <x_i>": exact.mean.tolist(), "Gibbs <x_i>": gibbs.mean.tolist()},
                ctx.file("bm_marginals.png"), xlabel="unit i", ylabel="<x_i>",
                title="Gibbs sampling against exact enumeration (12 units, beta = 1)")
    betas = [0.1 * k for k in range(0, 31)]
    sweep = [mean_field_report(w, b, beta) for beta in betas]
    plot_bound_vs_beta(betas, [r.log_z_bound for r in sweep], [r.log_z for r in sweep],
                       ctx.file("bm_meanfield.png"))
    rows = gibbs.draws.reshape(-1, N_UNITS)[:TRAIN_ROWS]               # (2000, 12) int8
    save_npy(ctx.file("bm_rows.npy"), rows.cpu().numpy())
    cfg = BMTrainConfig(method="pcd", epochs=8 if ctx.quick else 30, n_chains=500,
                        batch_size=500, lr=0.05)
    fit = train_machine(rows, cfg, seed=ctx.seed, plot=ctx.file("bm_learning.png"))
    ll = [h["log_likelihood"] for h in fit.history if "log_likelihood" in h]
    machine = "--weights bm_W.npy --bias bm_b.npy"
    return StepOutput(
        figures=[("bm_marginals.png", "means <x_i> from Gibbs chains and from summing over all "
                  "2^12 states"),
                 ("bm_meanfield.png", "the mean-field bound on log Z against exact log Z over "
                  "inverse temperature beta"),
                 ("bm_learning.png", "learning from 2,000 of those samples by PCD: the exact "
                  "log-likelihood per epoch")],
        numbers={"units": N_UNITS, "exact log Z (beta=1)": exact.log_z,
                 "Gibbs samples": samples * gibbs.chains,
                 "max |Gibbs mean - exact mean|": float((gibbs.mean - exact.mean).abs().max()),
                 "mean-field bound (beta=1)": mean_field_report(w, b, 1.0).log_z_bound,
                 "bound never above log Z": all(r.log_z_bound <= r.log_z + 1e-9 for r in sweep),
                 "PCD epochs": cfg.epochs, "log-likelihood before learning": ll[0],
                 "log-likelihood after learning": ll[-1]},
        command="\n".join([
            f"genlab bm exact {machine} --beta 1",
            f"genlab bm sample {machine} --beta 1 --chains 16 --samples {samples} "
            f"--burn-in 100 --seed {ctx.seed}",
            f"genlab bm meanfield {machine} --beta 1",
            f"genlab bm train bm_rows.npy --method pcd --epochs {cfg.epochs} --chains 500 "
            f"--batch-size 500 --lr 0.05 --seed {ctx.seed} --plot bm_learning.png "
            f"--out bm_pcd"]),
        summary="A random 12-unit machine: Gibbs sampling with P(x_i=+1) = 1/(1+exp(-2 a_i)) "
                "checked against exact enumeration, and the variational free energy as a "
                "bound on log Z.")


STEP = Step("boltzmann", "Boltzmann machine",
            "P(x | beta, W) = exp(-beta E(x; W)) / Z,   P(x_i = +1) = 1 / (1 + exp(-2 a_i)),   "
            "log Z >= -beta F_MF(m)",
            _boltzmann)
