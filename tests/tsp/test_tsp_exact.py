"""Held-Karp against enumeration of every tour, and the classical baselines."""

import itertools

import numpy as np
import pytest

from genlab.errors import GenlabError
from genlab.tsp import brute_force, held_karp, random_euclidean, tour_length, two_opt
from genlab.tsp.polish import nearest_neighbour


@pytest.mark.parametrize("n", [3, 4, 5, 6, 7, 8, 9])
def test_held_karp_equals_brute_force(n):
    for seed in range(3 if n < 9 else 1):  # 8! tours take a few seconds in Python
        d = random_euclidean(n, seed).dist
        hk, bf = held_karp(d), brute_force(d)
        assert np.isclose(hk.length, bf.length)
        assert sorted(hk.tour) == list(range(n))
        assert np.isclose(tour_length(d, hk.tour), hk.length)


def test_held_karp_on_integer_non_metric_matrix():
    rng = np.random.default_rng(0)
    a = rng.integers(1, 50, (8, 8)).astype(float)
    d = np.triu(a, 1) + np.triu(a, 1).T
    assert held_karp(d).length == brute_force(d).length


def test_held_karp_limit():
    with pytest.raises(GenlabError, match="n <= 15"):
        held_karp(random_euclidean(16).dist)


def test_two_opt_reaches_a_local_optimum():
    d = random_euclidean(25, 4).dist
    t = two_opt(d, nearest_neighbour(d, 0))
    assert sorted(t) == list(range(25))
    base = tour_length(d, t)
    for i, j in itertools.combinations(range(25), 2):  # no reversal shortens it
        s = t.copy()
        s[i:j + 1] = s[i:j + 1][::-1]
        assert tour_length(d, s) >= base - 1e-9
