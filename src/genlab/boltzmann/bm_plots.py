"""Figures for Boltzmann machines: training curves and energy traces."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from genlab.plots import plot_curves


def plot_training_curve(history: list[dict], path: str | os.PathLike[str]) -> Path:
    """The exact log-likelihood per epoch when known, else the correlation gap."""
    rows = [h for h in history if "log_likelihood" in h]
    if rows:
        return plot_curves({"exact log-likelihood": [h["log_likelihood"] for h in rows]}, path,
                           "epoch", "mean log P(v)", "Boltzmann machine training",
                           x=[h["epoch"] for h in rows])
    rows = [h for h in history if h["epoch"] > 0]
    return plot_curves({"max |<xx>_data - <xx>_model|": [h["corr_gap"] for h in rows]}, path,
                       "epoch", "correlation gap", "Boltzmann machine training",
                       x=[h["epoch"] for h in rows])


def plot_energy_traces(trace: torch.Tensor, path: str | os.PathLike[str],
                       max_chains: int = 8) -> Path:
    """``E(x)`` after each sweep for the first ``max_chains`` chains of a (sweeps, chains)
    trace."""
    curves = {f"chain {c}": trace[:, c].tolist() for c in range(min(max_chains,
                                                                     trace.shape[1]))}
    return plot_curves(curves, path, "sweep", "energy E(x)", "Gibbs energy traces")


def plot_bound_vs_beta(betas: list[float], bounds: list[float], exact: list[float],
                       path: str | os.PathLike[str]) -> Path:
    """The mean-field bound ``-F`` beside exact ``log Z`` as functions of beta."""
    return plot_curves({"exact log Z": exact, "mean-field bound -F": bounds}, path,
                       "inverse temperature beta", "log Z",
                       "log Z >= -F (the gap is KL(Q||P))", x=betas)
