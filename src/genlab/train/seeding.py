"""Where every random number of a run comes from: seeds mixed from the run's seed and the
position in the run, each drawn through its own ``torch.Generator``.

The order of epoch ``e`` is ``randperm`` under seed ``mix(seed, e, -1)``; step ``s`` of
epoch ``e`` draws from a fresh generator seeded ``mix(seed, e, s)``; validation batch
``k`` from ``mix(seed, -2, k)``; the initial weights from ``mix(seed, -3)``. No function
here reads or changes the global generators.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


def mix_seed(*parts: int) -> int:
    """A 63-bit seed from integers (splitmix64), so nearby seeds give unrelated streams."""
    h = 0x9E3779B97F4A7C15
    for p in parts:
        h = (h ^ (int(p) & 0xFFFFFFFFFFFFFFFF)) * 0xBF58476D1CE4E5B9 & 0xFFFFFFFFFFFFFFFF
        h ^= h >> 31
        h = (h * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        h ^= h >> 29
    return h & 0x7FFFFFFFFFFFFFFF


@contextlib.contextmanager
def seeded_init(seed: int) -> Iterator[None]:
    """Build modules inside this block for a weight initialisation fixed by ``seed``.

    PyTorch's layer initialisers draw from the global CPU generator and take no generator
    of their own; inside the block that generator is seeded ``mix(seed, -3)``, and its
    state is put back when the block ends, so the caller's random stream goes on as if the
    block had never run. Only the CPU generator is used (no GPU generator is seeded or
    initialised): build the modules on the CPU, then move them.
    """
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(mix_seed(seed, -3))
        yield


def step_generator(seed: int, epoch: int, step: int, device: torch.device) -> torch.Generator:
    """The generator for step ``step`` of epoch ``epoch`` (what resume relies on)."""
    return torch.Generator(device=device).manual_seed(mix_seed(seed, epoch, step))


def epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The shuffled row order of epoch ``epoch``: ``(n,)`` int64 on the CPU."""
    return torch.randperm(n, generator=torch.Generator().manual_seed(mix_seed(seed, epoch, -1)))
