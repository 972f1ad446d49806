r"""The BetaVAE disentanglement score (Higgins et al. 2017, "beta-VAE: Learning basic
visual concepts with a constrained variational framework", ICLR; section 3 and
appendix A.4), in the form used by Locatello et al. 2019 (disentanglement_lib).

One training point ("vote") is made by choosing a factor $k$ uniformly, drawing
$L$ = ``batch_size`` pairs of factor vectors $(v_1^l, v_2^l)$ that agree on factor $k$
and are otherwise independent and uniform, and averaging the absolute code differences
(a vector of length $d$)

$$
z_{\mathrm{diff}} = \frac{1}{L} \sum_{l=1}^{L} \left| z(v_1^l) - z(v_2^l) \right|
$$

labelled by $k$. A linear classifier (logistic regression) learns $z_{\mathrm{diff}} \to k$
on ``n_train`` points; the score is its accuracy on ``n_eval`` fresh points. A
disentangled code has $z_{\mathrm{diff}}$ exactly 0 in factor $k$'s own dimension:
accuracy 1. Codes that carry no factor information give chance accuracy $1/K$.

Sample sizes of the papers (defaults): $L = 64$, 10,000 training and 5,000 evaluation
points.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from genlab.metrics.ground_truth import (
    CodeFunction,
    check_count,
    check_sizes,
    codes_of,
    sample_factors,
)


@dataclass(frozen=True)
class BetaVAEScore:
    """Result of ``betavae_score``.

    Attributes:
        score: evaluation accuracy of the linear classifier, in [0, 1].
        train_accuracy: its accuracy on the training points.
        chance: $1/K$.
        n_train: training votes used.
        n_eval: evaluation votes used.
        batch_size: pairs of factor vectors per vote ($L$).
    """

    score: float
    train_accuracy: float
    chance: float
    n_train: int
    n_eval: int
    batch_size: int


def betavae_points(code_fn: CodeFunction, factor_sizes: Sequence[int], n_points: int,
                   batch_size: int, generator: torch.Generator
                   ) -> tuple[np.ndarray, np.ndarray]:
    r"""``n_points`` votes: features $z_{\mathrm{diff}}$ ``(P, d)`` and factor labels
    ``(P,)``."""
    sizes = check_sizes(factor_sizes)
    k = torch.randint(len(sizes), (n_points,), generator=generator)  # (P,)
    v1 = sample_factors(n_points * batch_size, sizes, generator)  # (P L, K)
    v2 = sample_factors(n_points * batch_size, sizes, generator)
    rows = torch.arange(n_points * batch_size)
    kk = k.repeat_interleave(batch_size)
    v2[rows, kk] = v1[rows, kk]  # each pair agrees on its point's factor k
    z1, z2 = codes_of(code_fn, v1), codes_of(code_fn, v2)  # (P L, d)
    diff = (z1 - z2).abs().reshape(n_points, batch_size, -1).mean(1)  # (P, d)
    return diff.numpy(), k.numpy()


def betavae_score(code_fn: CodeFunction, factor_sizes: Sequence[int], seed: int = 0,
                  n_train: int = 10_000, n_eval: int = 5_000, batch_size: int = 64
                  ) -> BetaVAEScore:
    """The BetaVAE score of a code function (see the module docstring for the maths).

    Args:
        code_fn: ``(n, K)`` factor indices -> ``(n, d)`` codes.
        factor_sizes: the number of values of each of the ``K`` factors.
        seed: seeds the factor sampling (and the classifier's solver).
        n_train: training votes.
        n_eval: evaluation votes.
        batch_size: pairs of factor vectors per vote ($L$).

    Returns:
        The score with its training accuracy, chance level and sample sizes.
    """
    from sklearn.linear_model import LogisticRegression

    sizes = check_sizes(factor_sizes)
    for name, value in (("n_train", n_train), ("n_eval", n_eval), ("batch_size", batch_size)):
        check_count(name, value)
    gen = torch.Generator().manual_seed(int(seed))
    x_train, y_train = betavae_points(code_fn, sizes, n_train, batch_size, gen)
    x_eval, y_eval = betavae_points(code_fn, sizes, n_eval, batch_size, gen)
    if len(np.unique(y_train)) < 2:  # one class only: the classifier is that constant
        train_acc, pred = 1.0, np.full_like(y_eval, y_train[0])
    else:
        clf = LogisticRegression(max_iter=1000, random_state=int(seed))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence warnings on pathological codes
            clf.fit(x_train, y_train)
        train_acc, pred = float(clf.score(x_train, y_train)), clf.predict(x_eval)
    return BetaVAEScore(score=float(np.mean(pred == y_eval)), train_accuracy=train_acc,
                        chance=1.0 / len(sizes), n_train=n_train, n_eval=n_eval,
                        batch_size=batch_size)
