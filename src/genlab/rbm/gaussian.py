"""``GaussianBernoulliRBM``: real-valued visible units with learned or fixed variances."""

from __future__ import annotations

import math
from numbers import Real
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from genlab.rbm.base import TRAIN_DTYPE, BaseRBM
from genlab.rbm.energy import RBMParams


class GaussianBernoulliRBM(BaseRBM):
    r"""RBM with Gaussian visible units and binary hidden units (Cho, Ilin and Raiko 2011).

    $E(v, h) = \sum_i (v_i - b_i)^2 / (2 \sigma_i^2) - c^\top h - h^\top W (v / \sigma^2)$, so
    $p(v_i \mid h) = \mathcal{N}(b_i + (W^\top h)_i, \sigma_i^2)$ and
    $P(h_j = 1 \mid v) = \sigma(c_j + \sum_i W_{ji} v_i / \sigma_i^2)$. The variances are
    $\sigma_i^2 = e^{z_i}$ with $z$ = `log_variance_`, learned by the same
    contrastive rule when `learn_variance` ($\partial / \partial z_i$ of $-E$ is
    $(v_i - b_i)^2 / (2 \sigma_i^2) - v_i (W^\top h)_i / \sigma_i^2$). Standardise the data
    (zero mean, unit variance per feature) before fitting.

    Parameters are those of :class:`~genlab.rbm.BernoulliRBM` (``centered`` excepted: it
    is refused here; parallel tempering's $\beta$ starts at ``1 / pt_chains``), plus:
        sigma: the initial (or, with ``learn_variance=False``, fixed) standard deviation
            of every visible unit.
        learn_variance: learn $\log \sigma_i^2$ along with the other parameters.

    Attributes: those of :class:`~genlab.rbm.BernoulliRBM`, plus ``log_variance_``
    ``(n_features,)``.
    """

    _gaussian: ClassVar[bool] = True
    _parameter_constraints: ClassVar[dict] = {
        **BaseRBM._parameter_constraints,
        "sigma": [Interval(Real, 0, None, closed="neither")],
        "learn_variance": ["boolean"],
    }

    def __init__(self, n_components: int = 256, *, learning_rate: float = 0.01,
                 batch_size: int = 10, n_iter: int = 10, verbose: int = 0,
                 random_state: Any = None, method: str = "pcd", k: int = 1,
                 momentum: float = 0.0, weight_decay: float = 0.0,
                 learning_rate_schedule: str = "constant", shuffle: bool = True,
                 device: str = "auto", pt_chains: int = 10, centered: bool = False,
                 centering_rate: float = 0.01, sigma: float = 1.0, learn_variance: bool = True
                 ) -> None:
        self.n_components = n_components
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.verbose = verbose
        self.random_state = random_state
        self.method = method
        self.k = k
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.learning_rate_schedule = learning_rate_schedule
        self.shuffle = shuffle
        self.device = device
        self.pt_chains = pt_chains
        self.centered = centered
        self.centering_rate = centering_rate
        self.sigma = sigma
        self.learn_variance = learn_variance

    def _init_params(self, n_features: int, rng: np.random.RandomState,
                     X: np.ndarray) -> RBMParams:
        """``W ~ N(0, 0.01^2)``, ``c = 0``, ``b`` = the data mean, ``sigma_i = sigma``."""
        p = super()._init_params(n_features, rng, X)
        p.visible_bias.copy_(torch.as_tensor(X.mean(axis=0), dtype=TRAIN_DTYPE))
        return p

    def _init_log_var(self, n_features: int, X: np.ndarray) -> torch.Tensor:
        return torch.full((n_features,), 2.0 * math.log(float(self.sigma)), dtype=TRAIN_DTYPE,
                          device=self._device())

    def score_samples(self, X: Any) -> np.ndarray:
        r"""$-F(v)$ for each row: $\log p(v)$ up to the constant $\log Z$.

        A pseudo-likelihood does not exist for continuous units; this score orders
        samples as $\log p(v)$ does. Add $-\log Z$ (``exact_log_partition`` or
        ``ais_log_partition``) for $\log p(v)$ itself, or use :meth:`log_likelihood`.

        Args:
            X: ndarray of shape ``(n_samples, n_features)``.

        Returns:
            ndarray of shape ``(n_samples,)``.
        """
        check_is_fitted(self)
        return -self.free_energy(X)

    def __sklearn_tags__(self):  # noqa: ANN204 (sklearn's Tags type)
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
