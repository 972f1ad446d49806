"""What every disentanglement metric needs: factors in, codes out.

A metric sees a representation only through a *code function*: ``(n, K)`` int64
ground-truth factor indices -> ``(n, d)`` float codes (for a VAE, the posterior means
``mu(x)`` of the images ``x`` those factors render to). The metrics sample the factors
themselves, uniformly from the grid ``prod_k {0..size_k - 1}``, with a seeded
``torch.Generator``, so a score is reproducible from its seed. Testing a metric needs no
images: the identity code function (codes = factors) is the perfectly disentangled
representation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from genlab.errors import GenlabError
from genlab.memory import check_allocation

CodeFunction = Callable[[torch.Tensor], torch.Tensor]
"""``(n, K)`` int64 factor indices -> ``(n, d)`` codes."""


def check_sizes(factor_sizes: Sequence[int]) -> tuple[int, ...]:
    sizes = tuple(int(s) for s in factor_sizes)
    if not sizes or min(sizes) < 1:
        raise GenlabError(f"factor sizes must be positive integers, got {list(factor_sizes)}")
    return sizes


def check_count(name: str, value: int, minimum: int = 1) -> None:
    if int(value) < minimum:
        raise GenlabError(f"{name} must be at least {minimum}, got {value}")


def sample_factors(n: int, factor_sizes: Sequence[int], generator: torch.Generator
                   ) -> torch.Tensor:
    """``(n, K)`` int64 factor indices, each column uniform on ``{0..size_k - 1}``.

    ``GenlabError`` before drawing when ``n`` rows (each column, then the stacked matrix)
    would not fit in memory."""
    check_allocation(2 * 8 * int(n) * len(factor_sizes), f"drawing {int(n)} factor samples",
                     hint="use fewer samples")
    return torch.stack([torch.randint(s, (n,), generator=generator) for s in factor_sizes], 1)


def codes_of(code_fn: CodeFunction, factors: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
    """Codes ``(n, d)`` float64 on the CPU of factors ``(n, K)``, ``chunk`` rows at a time.

    Raises ``GenlabError`` when the code function returns a wrong shape or NaN.
    """
    parts: list[torch.Tensor] = []
    for start in range(0, len(factors), chunk):
        f = factors[start:start + chunk]
        with torch.no_grad():
            z = torch.as_tensor(code_fn(f))
        if z.ndim != 2 or z.shape[0] != len(f):
            raise GenlabError(f"the code function must map {len(f)} factor rows to codes of "
                              f"shape ({len(f)}, d), got {tuple(z.shape)}")
        if not parts:  # the chunks and their concatenation, float64
            check_allocation(2 * 8 * len(factors) * z.shape[1],
                             f"the codes of {len(factors)} samples of {z.shape[1]} dimensions",
                             hint="use fewer samples")
        parts.append(z.detach().to("cpu", torch.float64))
    codes = torch.cat(parts)
    if not torch.isfinite(codes).all():
        raise GenlabError("the representation produced NaN or infinite codes; the model is "
                          "broken (retrain it with a smaller learning rate)")
    return codes


def dsprites_code_function(encode: Callable[[torch.Tensor], torch.Tensor],
                           device: torch.device | str = "cpu") -> CodeFunction:
    """A code function for dSprites: render the factors' images, flattened to ``(n, 4096)``,
    on ``device`` and apply ``encode`` (e.g. a VAE's posterior mean ``mu(x)``)."""
    from genlab.data import dsprites

    def code_fn(factors: torch.Tensor) -> torch.Tensor:
        return encode(dsprites.render(factors, device).reshape(len(factors), -1))

    return code_fn
