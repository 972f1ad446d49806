"""Helpers shared by the Boltzmann machine tests: random small machines, one CPU thread.

Test modules import ``one_thread`` by name (pytest collects fixtures from module globals)
and call ``random_machine`` directly.
"""

import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    # The test machine's cores are shared; one thread keeps timings stable.
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def random_machine(n: int, seed: int, scale: float = 1.0, bias_scale: float = 0.3,
                   dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric W (zero diagonal), w_ij ~ N(0, scale^2 / n), and b_i ~ N(0, bias_scale^2)."""
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(n, n, generator=g, dtype=dtype) * scale / n ** 0.5
    w = torch.triu(w, 1)
    w = w + w.T
    b = torch.randn(n, generator=g, dtype=dtype) * bias_scale
    return w, b

