"""All three disentanglement scores of a dSprites representation in one call."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from genlab.data.dsprites import FACTOR_NAMES, FACTOR_SIZES
from genlab.errors import GenlabError
from genlab.io import to_jsonable
from genlab.metrics.betavae_score import BetaVAEScore, betavae_score
from genlab.metrics.factorvae_score import FactorVAEScore, factorvae_score
from genlab.metrics.ground_truth import CodeFunction, dsprites_code_function
from genlab.metrics.mig import MIGScore, mig_score
from genlab.results import Result

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


@dataclass
class DSpritesScores(Result):
    """What ``evaluate_dsprites`` returns: each requested score with its details, the
    metrics' seed and sample sizes; a score not requested is None."""

    factors: list[str]                    # dSprites' factor names, in the scores' order
    seed: int                             # seed of every metric's factor sampling
    sample_sizes: SampleSizes
    metrics: tuple[str, ...]              # the scores computed, in the order asked
    mig: MIGScore | None = None
    factorvae: FactorVAEScore | None = None
    betavae: BetaVAEScore | None = None
    seconds: dict[str, float] = field(default_factory=dict)  # wall time of each score

    def to_dict(self) -> dict[str, Any]:
        """``factors``, ``seed``, ``sample_sizes`` and, per computed metric, its result's
        fields with its ``seconds``."""
        out: dict[str, Any] = {"factors": self.factors, "seed": self.seed,
                               "sample_sizes": asdict(self.sample_sizes)}
        for name in self.metrics:
            out[name] = {**asdict(getattr(self, name)), "seconds": self.seconds[name]}
        return to_jsonable(out)


def check_metrics(metrics: Sequence[str]) -> tuple[str, ...]:
    """``metrics`` as a tuple, refused unless each is one of ``METRICS`` (and at least
    one is named)."""
    metrics = tuple(metrics)
    unknown = [m for m in metrics if m not in METRICS] or ([] if metrics else ["(none)"])
    if unknown:
        raise GenlabError(f"unknown metric {unknown[0]!r}; choose from {', '.join(METRICS)}")
    return metrics


def _score(name: str, code_fn: CodeFunction, seed: int, sizes: SampleSizes
           ) -> MIGScore | FactorVAEScore | BetaVAEScore:
    """The metric ``name`` of ``code_fn`` on dSprites' factors with ``sizes``."""
    if name == "mig":
        return mig_score(code_fn, FACTOR_SIZES, seed, n_samples=sizes.mig_samples)
    if name == "factorvae":
        return factorvae_score(code_fn, FACTOR_SIZES, seed, n_train=sizes.factorvae_train,
                               n_eval=sizes.factorvae_eval, batch_size=sizes.batch_size,
                               n_variance=sizes.n_variance)
    return betavae_score(code_fn, FACTOR_SIZES, seed, n_train=sizes.betavae_train,
                         n_eval=sizes.betavae_eval, batch_size=sizes.batch_size)


def evaluate_dsprites(encode: Callable[[torch.Tensor], torch.Tensor],
                      device: torch.device | str = "cpu", seed: int = 0,
                      sizes: SampleSizes | None = None,
                      metrics: Sequence[str] = METRICS) -> DSpritesScores:
    """BetaVAE score, FactorVAE score and MIG (any of them, ``metrics``) of ``encode``
    (``(n, 4096)`` images -> ``(n, d)`` codes) on dSprites, each with factors sampled
    under ``seed`` and the sample sizes ``sizes`` (default: the papers')."""
    sizes = sizes or SampleSizes()
    metrics = check_metrics(metrics)
    code_fn = dsprites_code_function(encode, device)
    result = DSpritesScores(list(FACTOR_NAMES), seed, sizes, metrics)
    for name in metrics:
        t0 = time.perf_counter()
        setattr(result, name, _score(name, code_fn, seed, sizes))
        result.seconds[name] = time.perf_counter() - t0
    return result
