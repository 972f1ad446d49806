"""Restricted Boltzmann machines: scikit-learn-compatible estimators in torch, CD-k and
PCD training, exact and AIS partition functions, and figures.

* :class:`BernoulliRBM`: binary visible and hidden units (drop-in for scikit-learn's).
* :class:`GaussianBernoulliRBM`: real-valued visible units.
* :func:`exact_log_partition`, :func:`ais_log_partition`,
  :func:`reverse_ais_log_partition`: ``log Z`` of an
  :class:`RBMParams`; :func:`raise_log_likelihood`: RAISE, the log-likelihood of test
  vectors without ``log Z``.
"""

from genlab.rbm.base import BaseRBM, load_rbm
from genlab.rbm.bernoulli import BernoulliRBM
from genlab.rbm.energy import RBMParams, free_energy
from genlab.rbm.gaussian import GaussianBernoulliRBM
from genlab.rbm.partition import (
    AISResult,
    LogLikelihoodBounds,
    ais_log_partition,
    exact_log_partition,
    reverse_ais_log_partition,
)
from genlab.rbm.raise_estimator import RAISEResult, raise_log_likelihood

__all__ = [
    "AISResult", "BaseRBM", "BernoulliRBM", "GaussianBernoulliRBM", "LogLikelihoodBounds",
    "RBMParams",
    "ais_log_partition", "exact_log_partition", "free_energy", "load_rbm",
    "RAISEResult", "raise_log_likelihood", "reverse_ais_log_partition",
]
