r"""The FactorVAE disentanglement score (Kim & Mnih 2018, "Disentangling by factorising",
ICML; section 4), as implemented by Locatello et al. 2019 (disentanglement_lib).

1. Scale: $s_j = \mathrm{std}(z_j)$ over ``n_variance`` codes of uniform factors;
   dimensions with $s_j < 0.05$ are collapsed and ignored.
2. A vote: choose factor $k$ uniformly, draw $L$ = ``batch_size`` factor vectors that
   share one random value of factor $k$ (others uniform), and take the dimension of
   least normalised variance among the active ones,
   $d^* = \arg\min_j \mathrm{Var}_l(z_j^l / s_j)$; the vote is the pair $(d^*, k)$.
3. A majority-vote classifier maps each dimension $j$ to the factor it voted for most
   on ``n_train`` votes; the score is its accuracy on ``n_eval`` fresh votes.

A disentangled code has zero variance in factor $k$'s own dimension: score 1. A code
whose argmin does not depend on $k$ scores $1/K$ in expectation (evaluation votes are
independent of the training ones).

Sample sizes of the papers (defaults): $L = 64$, 10,000 codes for the scales,
10,000 training votes (Kim & Mnih: 800 votes of $L = 100$; Locatello: these) and 5,000
evaluation votes.
"""

from __future__ import annotations

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

COLLAPSED_STD = 0.05  # dimensions with smaller spread carry nothing (Kim & Mnih)


@dataclass(frozen=True)
class FactorVAEScore:
    r"""Result of ``factorvae_score``.

    Attributes:
        score: evaluation accuracy of the majority-vote classifier, in [0, 1].
        train_accuracy: its accuracy on the training votes.
        chance: $1/K$.
        active_dims: indices of the code dimensions with $s_j \ge 0.05$.
        votes: ``(d, K)`` training vote counts (row $j$: dimension $j$, column $k$:
            factor $k$).
        n_train: training votes used.
        n_eval: evaluation votes used.
        batch_size: codes per vote ($L$).
        n_variance: codes used for the scales $s_j$.
    """

    score: float
    train_accuracy: float
    chance: float
    active_dims: list[int]
    votes: list[list[int]]
    n_train: int
    n_eval: int
    batch_size: int
    n_variance: int


def factorvae_votes(code_fn: CodeFunction, factor_sizes: Sequence[int], scale: torch.Tensor,
                    active: torch.Tensor, n_votes: int, batch_size: int,
                    generator: torch.Generator) -> np.ndarray:
    """Vote counts ``(d, K)`` from ``n_votes`` votes (see the module docstring)."""
    sizes = check_sizes(factor_sizes)
    k = torch.randint(len(sizes), (n_votes,), generator=generator)  # (P,)
    v = sample_factors(n_votes * batch_size, sizes, generator).reshape(n_votes, batch_size, -1)
    fixed = (torch.rand(n_votes, generator=generator) * torch.tensor(sizes)[k]).long()
    v[torch.arange(n_votes), :, k] = fixed[:, None]  # factor k shared within each vote
    z = codes_of(code_fn, v.reshape(n_votes * batch_size, -1)).reshape(n_votes, batch_size, -1)
    var = (z / scale).var(1, correction=1)[:, active]  # (P, active)
    d_star = active[var.argmin(1)]  # (P,)
    votes = np.zeros((len(scale), len(sizes)), dtype=np.int64)
    np.add.at(votes, (d_star.numpy(), k.numpy()), 1)
    return votes


def factorvae_score(code_fn: CodeFunction, factor_sizes: Sequence[int], seed: int = 0,
                    n_train: int = 10_000, n_eval: int = 5_000, batch_size: int = 64,
                    n_variance: int = 10_000) -> FactorVAEScore:
    """The FactorVAE score of a code function (see the module docstring for the maths).

    Args:
        code_fn: ``(n, K)`` factor indices -> ``(n, d)`` codes.
        factor_sizes: the number of values of each of the ``K`` factors.
        seed: seeds the factor sampling.
        n_train: training votes.
        n_eval: evaluation votes.
        batch_size: codes per vote ($L$, at least 2 for a variance).
        n_variance: codes for the scales $s_j$.

    Returns:
        The score with its training accuracy, chance level, active dimensions, training
        votes and sample sizes.
    """
    sizes = check_sizes(factor_sizes)
    for name, value, low in (("n_train", n_train, 1), ("n_eval", n_eval, 1),
                             ("batch_size", batch_size, 2), ("n_variance", n_variance, 2)):
        check_count(name, value, low)
    gen = torch.Generator().manual_seed(int(seed))
    z = codes_of(code_fn, sample_factors(n_variance, sizes, gen))  # (n_variance, d)
    scale = z.std(0, correction=1)  # (d,)
    active = torch.nonzero(scale >= COLLAPSED_STD).reshape(-1)
    if len(active) == 0:  # every dimension collapsed: nothing to classify with
        return FactorVAEScore(0.0, 0.0, 1.0 / len(sizes), [], [], n_train, n_eval, batch_size,
                              n_variance)
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    train = factorvae_votes(code_fn, sizes, scale, active, n_train, batch_size, gen)
    evals = factorvae_votes(code_fn, sizes, scale, active, n_eval, batch_size, gen)
    classifier = train.argmax(1)  # (d,): the factor each dimension votes for most
    rows = np.arange(len(classifier))
    return FactorVAEScore(
        score=float(evals[rows, classifier].sum() / n_eval),
        train_accuracy=float(train[rows, classifier].sum() / n_train),
        chance=1.0 / len(sizes), active_dims=active.tolist(), votes=train.tolist(),
        n_train=n_train, n_eval=n_eval, batch_size=batch_size, n_variance=n_variance)
