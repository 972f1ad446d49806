"""A tour's gap to the optimum against a hand computation, and where the optimum comes from."""

import numpy as np
import pytest

from genlab.tsp import brute_force, gap_to_optimum, known_optimum, random_euclidean
from genlab.tsp.tsplib import Instance


def test_gap_matches_a_hand_computation():
    # a 4-city square of side 1: the optimal tour goes round it (length 4); the crossed tour
    # 0-2-1-3 uses both diagonals and two sides, 2 + 2 sqrt 2
    d = np.array([[0, 1, 2**0.5, 1], [1, 0, 1, 2**0.5], [2**0.5, 1, 0, 1], [1, 2**0.5, 1, 0]])
    crossed = d[0, 2] + d[2, 1] + d[1, 3] + d[3, 0]
    assert gap_to_optimum(crossed, 4.0) == pytest.approx((2 + 2 * 2**0.5) / 4 - 1)
    assert gap_to_optimum(crossed, 4.0) == pytest.approx(0.2071067811865476, abs=1e-15)
    assert gap_to_optimum(3323, 3323) == 0.0
    assert gap_to_optimum(3655.3, 3323) == pytest.approx(0.1, abs=1e-12)  # 10 % longer


def test_gap_of_many_restarts_is_elementwise():
    lengths = np.array([100.0, 110.0, 125.0])
    gaps = gap_to_optimum(lengths, 100.0)
    assert isinstance(gaps, np.ndarray) and gaps.dtype == np.float64
    np.testing.assert_allclose(gaps, [0.0, 0.1, 0.25], atol=1e-15)
    assert isinstance(gap_to_optimum(110, 100.0), float)


@pytest.mark.parametrize("optimum", [None, 0.0, -1.0])
def test_no_gap_without_a_positive_optimum(optimum):
    assert gap_to_optimum(12.0, optimum) is None
    assert gap_to_optimum(np.array([1.0, 2.0]), optimum) is None


def test_known_optimum_from_the_file_else_held_karp_else_none():
    stated = Instance("s", random_euclidean(5, 0).dist, optimum=7.0, optimum_source="s.opt.tour")
    assert known_optimum(stated) == (7.0, "s.opt.tour")
    small = random_euclidean(8, 1)
    length, source = known_optimum(small)
    assert source == "held-karp" and length == pytest.approx(brute_force(small.dist).length)
    assert known_optimum(random_euclidean(16, 0)) == (None, None)
