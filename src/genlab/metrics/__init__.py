"""Metrics: disentanglement scores computed against ground-truth factors of variation."""

from genlab.metrics.betavae_score import BetaVAEScore, betavae_score
from genlab.metrics.factorvae_score import FactorVAEScore, factorvae_score
from genlab.metrics.ground_truth import CodeFunction, codes_of, dsprites_code_function
from genlab.metrics.mig import MIGScore, mig_score

__all__ = [
    "BetaVAEScore", "CodeFunction", "FactorVAEScore", "MIGScore", "betavae_score",
    "codes_of", "dsprites_code_function", "factorvae_score", "mig_score",
]
