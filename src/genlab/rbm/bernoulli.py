"""``BernoulliRBM``: scikit-learn's estimator of the same name, in torch, with CD-k/PCD-k,
momentum, weight decay, a learning-rate schedule, CUDA, and the true log-likelihood."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from genlab.rbm.base import BaseRBM
from genlab.rbm.energy import free_energy


class BernoulliRBM(BaseRBM):
    r"""Restricted Boltzmann machine with binary visible and hidden units.

    $E(v, h) = -b^\top v - c^\top h - h^\top W v$ with $W$ = `components_` `(n_components,
    n_features)`, $b$ = `intercept_visible_`, $c$ = `intercept_hidden_`;
    $P(h_j = 1 \mid v) = \sigma(c_j + W_j v)$ and $P(v_i = 1 \mid h) = \sigma(b_i + (W^\top h)_i)$.
    A drop-in replacement for ``sklearn.neural_network.BernoulliRBM`` (same constructor
    parameters, attributes and methods; the defaults give scikit-learn's PCD-1, except
    that mini-batches are reshuffled every epoch unless ``shuffle=False``).

    Parameters:
        n_components: number of hidden units.
        learning_rate: step size $\epsilon$ of the gradient ascent.
        batch_size: examples per mini-batch (also the number of persistent chains).
        n_iter: epochs over the training data in :meth:`fit`.
        verbose: log the pseudo-likelihood after each epoch (to stderr).
        random_state: int, ``numpy.random.RandomState`` or None (seeds every draw).
        method: ``"pcd"`` (persistent chains, Tieleman 2008), ``"cd"`` (chains restarted
            at the data, Hinton 2002) or ``"pt"`` (persistent parallel tempering,
            Desjardins et al. 2010; see `genlab.rbm.tempering`).
        k: Gibbs sweeps per update (CD-k / PCD-k; for ``"pt"``, at every temperature
            before the swaps).
        momentum: $\alpha$ in $u \leftarrow \alpha u + \epsilon \nabla$; 0 for plain SGD.
        weight_decay: L2 penalty $\lambda$ on $W$ (gradient $-\lambda W$).
        learning_rate_schedule: ``"constant"`` or ``"linear"`` (decays to 0 over ``n_iter``).
        shuffle: reshuffle the training rows every epoch.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``; the work runs in float32 there.
        pt_chains: for ``"pt"``: the number of inverse temperatures $\beta$ per persistent
            chain, spaced linearly from 0 to 1 (at least 2).
        centered: train the centred RBM (Montavon and Mueller 2012; Melchior, Fischer and
            Wiskott 2016): the gradient of the energy written with offsets,
            $-(v - \mu)^\top W^\top (h - \lambda) - \dots$, with $\mu$ and $\lambda$
            following the data's visible means and hidden activations. The fitted
            attributes stay the plain $(W, b, c)$ of the same distribution (see
            `genlab.rbm.sampling`). Bernoulli visible units only.
        centering_rate: the sliding factor $\nu$ of the offsets' moving averages.

    Attributes:
        components_: ndarray ``(n_components, n_features)``, float32.
        intercept_hidden_: ndarray ``(n_components,)``.
        intercept_visible_: ndarray ``(n_features,)``.
        h_samples_: ndarray ``(batch_size, n_components)``, the persistent chains' hidden state
            (for ``"pt"``, of the $\beta = 1$ replicas).
        n_features_in_: number of features seen in ``fit``.

    Example:
        >>> from genlab.rbm import BernoulliRBM
        >>> X = np.array([[0, 0, 0], [0, 1, 1], [1, 0, 1], [1, 1, 1]])
        >>> rbm = BernoulliRBM(n_components=2, random_state=0).fit(X)
        >>> rbm.transform(X).shape
        (4, 2)
    """

    def __init__(self, n_components: int = 256, *, learning_rate: float = 0.1,
                 batch_size: int = 10, n_iter: int = 10, verbose: int = 0,
                 random_state: Any = None, method: str = "pcd", k: int = 1,
                 momentum: float = 0.0, weight_decay: float = 0.0,
                 learning_rate_schedule: str = "constant", shuffle: bool = True,
                 device: str = "auto", pt_chains: int = 10, centered: bool = False,
                 centering_rate: float = 0.01) -> None:
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

    def score_samples(self, X: Any) -> np.ndarray:
        r"""The pseudo-likelihood of ``X``, as scikit-learn computes it (NOT the likelihood).

        Kept for compatibility: one randomly chosen unit ``i`` of each row is flipped
        ($\tilde v$), and the score is $n_\text{features} \log \sigma(F(\tilde v) - F(v))$, a
        noisy proxy for $\log p(v)$. The flipped units come from ``random_state`` exactly as
        in scikit-learn, so the two agree for the same weights. Use
        :meth:`log_likelihood` for the true average $\log p(v)$.

        Args:
            X: ndarray of shape ``(n_samples, n_features)``, binary values.

        Returns:
            ndarray of shape ``(n_samples,)``.
        """
        check_is_fitted(self)
        v = self._check(X, reset=False)
        rng = check_random_state(self.random_state)
        ind = (np.arange(v.shape[0]), rng.randint(0, v.shape[1], v.shape[0]))
        v_ = v.copy()
        v_[ind] = 1 - v_[ind]
        dt = self._infer_dtype(v)
        with torch.no_grad():
            p = self._params(dt)
            diff = free_energy(p, self._tensor(v_, dt)) - free_energy(p, self._tensor(v, dt))
            # log sigmoid(x) = -softplus(-x)
            return (-v.shape[1] * torch.nn.functional.softplus(-diff)).cpu().numpy()

    def __sklearn_tags__(self):  # noqa: ANN204 (sklearn's Tags type)
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
