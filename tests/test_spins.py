"""The one spin-energy function against the lecture's double sum."""

import itertools

import torch

from genlab.spins import local_fields, spin_energy


def _random_machine(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(n, n, generator=g, dtype=torch.float64)
    w = torch.triu(w, 1)
    return w + w.T, torch.randn(n, generator=g, dtype=torch.float64)


def test_spin_energy_is_the_double_sum_over_pairs():
    n = 5
    w, b = _random_machine(n, 0)
    states = torch.tensor(list(itertools.product([-1.0, 1.0], repeat=n)), dtype=torch.float64)
    e = spin_energy(states, w, b)
    for x, ex in zip(states, e, strict=True):
        want = -sum(w[i, j] * x[i] * x[j] for i in range(n) for j in range(i + 1, n)) \
            - sum(b[i] * x[i] for i in range(n))
        assert torch.isclose(ex, torch.as_tensor(want, dtype=torch.float64), atol=1e-12)


def test_one_state_zero_bias_and_fields():
    w, b = _random_machine(4, 1)
    x = torch.tensor([1.0, -1.0, -1.0, 1.0], dtype=torch.float64)
    assert spin_energy(x, w).shape == (1,)
    assert torch.allclose(spin_energy(x, w, b), spin_energy(x, w) - x @ b)
    a = local_fields(x[None], w, b)[0]
    # flipping unit i changes the energy by 2 x_i a_i (W has a zero diagonal)
    for i in range(4):
        y = x.clone()
        y[i] = -y[i]
        assert torch.isclose(spin_energy(y, w, b) - spin_energy(x, w, b), 2 * x[i] * a[i])[0]
