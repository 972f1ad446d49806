"""All three disentanglement scores of a dSprites representation in one call."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch

from genlab.data.dsprites import FACTOR_NAMES, FACTOR_SIZES
from genlab.errors import GenlabError
from genlab.metrics.betavae_score import betavae_score
from genlab.metrics.factorvae_score import factorvae_score
from genlab.metrics.ground_truth import dsprites_code_function
from genlab.metrics.mig import mig_score

METRICS = ("mig", "factorvae", "betavae")


@dataclass
class SampleSizes:
    """Sample sizes of the three metrics; the defaults are the papers' (Locatello et al.)."""

    batch_size: int = 64          # L: pairs per BetaVAE vote, codes per FactorVAE vote
    betavae_train: int = 10_000   # BetaVAE score training votes
    betavae_eval: int = 5_000     # BetaVAE score evaluation votes
    factorvae_train: int = 10_000  # FactorVAE score training votes
    factorvae_eval: int = 5_000   # FactorVAE score evaluation votes
    n_variance: int = 10_000      # codes for FactorVAE's per-dimension scales
    mig_samples: int = 10_000     # codes for the MIG

    def scaled(self, fraction: float) -> SampleSizes:
        """Every count (not the batch size) times ``fraction``, at least 2 each."""
        if not 0 < fraction <= 1:
            raise GenlabError(f"the sample fraction must be in (0, 1], got {fraction}")
        d = {k: v if k == "batch_size" else max(2, round(v * fraction))
             for k, v in asdict(self).items()}
        return SampleSizes(**d)


def evaluate_dsprites(encode: Callable[[torch.Tensor], torch.Tensor],
                      device: torch.device | str = "cpu", seed: int = 0,
                      sizes: SampleSizes | None = None,
                      metrics: tuple[str, ...] = METRICS) -> dict[str, object]:
    """BetaVAE score, FactorVAE score and MIG of ``encode`` (``(n, 4096)`` images ->
    ``(n, d)`` codes) on dSprites; returns a JSON-ready dict (score and details per
    metric, the sample sizes, seconds taken)."""
    sizes = sizes or SampleSizes()
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise GenlabError(f"unknown metric {unknown[0]!r}; choose from {', '.join(METRICS)}")
    code_fn = dsprites_code_function(encode, device)
    out: dict[str, object] = {"factors": list(FACTOR_NAMES), "seed": seed,
                              "sample_sizes": asdict(sizes)}
    for name in metrics:
        t0 = time.perf_counter()
        if name == "mig":
            res: object = mig_score(code_fn, FACTOR_SIZES, seed, n_samples=sizes.mig_samples)
        elif name == "factorvae":
            res = factorvae_score(code_fn, FACTOR_SIZES, seed, n_train=sizes.factorvae_train,
                                  n_eval=sizes.factorvae_eval, batch_size=sizes.batch_size,
                                  n_variance=sizes.n_variance)
        else:
            res = betavae_score(code_fn, FACTOR_SIZES, seed, n_train=sizes.betavae_train,
                                n_eval=sizes.betavae_eval, batch_size=sizes.batch_size)
        out[name] = {**asdict(res), "seconds": time.perf_counter() - t0}  # type: ignore
    return out
