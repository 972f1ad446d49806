r"""Corruption processes $C(\tilde x|x)$ of the denoising autoencoder (Vincent et al. 2008).

Given on the command line as ``KIND:LEVEL``:

* ``gauss:s``: additive Gaussian noise, $\tilde x = x + s\,\epsilon$,
  $\epsilon \sim \mathcal{N}(0, I)$;
* ``mask:p``: masking noise, each pixel is set to 0 with probability $p$;
* ``saltpepper:p``: each pixel, with probability $p$, is replaced by 0 or 1 (equally
  likely).

Every corruption draws from an explicit generator; ``x`` is ``(B, D)`` in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from genlab.errors import GenlabError

CORRUPTIONS = ("gauss", "mask", "saltpepper")


@dataclass(frozen=True)
class Corruption:
    """A corruption process: ``kind`` in ``CORRUPTIONS``, ``level`` its parameter."""

    kind: str
    level: float

    def __post_init__(self) -> None:
        if self.kind not in CORRUPTIONS:
            raise GenlabError(f"unknown corruption {self.kind!r}; choose one of "
                              f"{', '.join(CORRUPTIONS)} (e.g. --corrupt mask:0.3)")
        if not (self.level >= 0) or (self.kind != "gauss" and self.level > 1):
            raise GenlabError(f"corruption level {self.level} is out of range: gauss takes a "
                              "standard deviation >= 0, mask and saltpepper a probability in "
                              "[0, 1]")

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        r"""A draw $\tilde x \sim C(\tilde x|x)$, same shape as ``x``."""
        if self.kind == "gauss":
            return x + self.level * torch.randn(x.shape, generator=generator, device=x.device,
                                                dtype=x.dtype)
        u = torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        if self.kind == "mask":
            return torch.where(u < self.level, torch.zeros_like(x), x)
        # salt and pepper: u < p/2 -> 0, p/2 <= u < p -> 1
        out = torch.where(u < self.level / 2, torch.zeros_like(x), x)
        return torch.where((u >= self.level / 2) & (u < self.level), torch.ones_like(x), out)

    def __str__(self) -> str:
        return f"{self.kind}:{self.level:g}"


def parse_corruption(spec: str | None) -> Corruption | None:
    """``'mask:0.3'`` -> ``Corruption('mask', 0.3)``; empty or None -> None."""
    if not spec:
        return None
    kind, sep, level = spec.partition(":")
    try:
        value = float(level)
    except ValueError:
        raise GenlabError(f"corruption {spec!r} must look like KIND:LEVEL, e.g. gauss:0.3, "
                          "mask:0.3 or saltpepper:0.1") from None
    if not sep:
        raise GenlabError(f"corruption {spec!r} must look like KIND:LEVEL, e.g. mask:0.3")
    return Corruption(kind.strip().lower(), value)
