"""The 4-2-4 encoder problem: its data, connectivity, success check and training."""

import pytest
import torch
from bm_helpers import one_thread  # noqa: F401  (an autouse fixture)

from genlab.boltzmann.boltzmann import BoltzmannMachine
from genlab.boltzmann.encoder import (
    encoder_config,
    encoder_data,
    encoder_mask,
    encoder_solved,
    train_encoder,
)


def hand_built_solution(c: float = 5.0, swap_v2: bool = False) -> BoltzmannMachine:
    """Pattern k <-> hidden code code_k (the 4 corners of {-1,1}^2): w(v_k, h_j) = c code_k[j],
    visible biases -c. Given h = code_k, unit k's field is +c and every other unit's is -c
    or -3c; given V1 = k the hidden fields are 2c code_k (the corners sum to zero)."""
    codes = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]])
    w = torch.zeros(10, 10)
    w[0:4, 8:10] = c * codes
    w[4:8, 8:10] = c * (codes[[1, 0, 2, 3]] if swap_v2 else codes)
    w = w + w.T
    b = torch.cat([-c * torch.ones(8), torch.zeros(2)])
    return BoltzmannMachine(w, b, 8, encoder_mask())


def test_data_and_mask():
    x = encoder_data()
    assert x.shape == (4, 8) and torch.equal((x == 1).sum(1), torch.full((4,), 2))
    m = encoder_mask()
    assert torch.equal(m, m.T) and float(m.diagonal().sum()) == 0
    assert float(m[:4, 4:8].sum()) == 0 and float(m[:8, 8:].sum()) == 16


def test_success_check_on_hand_built_machines():
    assert encoder_solved(hand_built_solution())
    assert not encoder_solved(hand_built_solution(swap_v2=True))
    assert not encoder_solved(BoltzmannMachine.zeros(8, 2, encoder_mask()))


def test_exact_learning_solves_a_seed():
    run = train_encoder(0, config=encoder_config(epochs=300))
    assert run.solved and run.updates <= 300


@pytest.mark.slow
def test_most_seeds_solve_with_exact_gradient():
    # not a statistical tolerance: with noisy clamping the exact-gradient learner solved
    # all 20 seeds when measured (15/20 without it; the failures are local optima where
    # two patterns share a hidden code); we require 17
    runs = [train_encoder(s, config=encoder_config(epochs=1000)) for s in range(20)]
    assert sum(r.solved for r in runs) >= 17


@pytest.mark.slow
def test_most_seeds_solve_with_pcd():
    # PCD (2,000 chains, momentum 0.5, noisy clamping) solved 19 of 20 seeds when
    # measured; we require 15
    runs = [train_encoder(s, config=encoder_config(epochs=1000, method="pcd"))
            for s in range(20)]
    assert sum(r.solved for r in runs) >= 15
