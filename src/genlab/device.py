"""Choosing the torch device from ``--device auto|cpu|cuda``."""

import torch

from genlab.errors import GenlabError

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """Return the torch device for ``name``.

    ``auto`` picks CUDA when it is available and the CPU otherwise; ``cuda`` (or
    ``cuda:N``) is an error when no GPU is present.
    """
    if isinstance(name, torch.device):
        return name
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise GenlabError(f"--device {name} asked for, but no CUDA GPU is available; "
                              "use --device cpu or auto")
        return torch.device(name)
    raise GenlabError(f"unknown device {name!r}; choose one of auto, cpu, cuda")


def make_generator(seed: int | None, device: torch.device | str = "cpu") -> torch.Generator:
    """A ``torch.Generator`` on ``device`` seeded with ``seed`` (random seed when None)."""
    gen = torch.Generator(device=device)
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(int(seed))
    return gen
