"""Encoders and decoders: MLPs and small convolutional networks on ``(B, D)`` images.

Every network takes and returns flat tensors: an encoder maps ``(B, D)`` to ``(B, out)``
and a decoder maps ``(B, L)`` to ``(B, D)`` (pre-activation outputs, e.g. Bernoulli
logits), whatever its architecture, so models never care which one they hold.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from genlab.errors import GenlabError

ARCHITECTURES = ("mlp", "conv")
ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "elu": nn.ELU, "gelu": nn.GELU,
                                           "silu": nn.SiLU, "tanh": nn.Tanh}


def activation(name: str) -> nn.Module:
    """The activation module called ``name`` (relu, elu, gelu, silu, tanh)."""
    if name not in ACTIVATIONS:
        raise GenlabError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


def mlp(sizes: tuple[int, ...] | list[int], act: str = "relu") -> nn.Sequential:
    """Linear layers ``sizes[0] -> ... -> sizes[-1]`` with ``act`` between (not after)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(activation(act))
    return nn.Sequential(*layers)


def feature_maps(x: torch.Tensor, shape: tuple[int, int, int]) -> torch.Tensor:
    """Flat rows ``(B, C*h*w)`` as maps ``(B, C, h, w)`` in channels-last order, the layout
    CUDA's bfloat16 convolutions prefer; the activations after it stay channels-last. For
    ``C = 1`` the two layouts coincide, and a convolution then follows its weight's layout
    (the beta-VAE keeps its weights channels-last; docs/betavae-study.md)."""
    return x.reshape(x.shape[0], *shape).contiguous(memory_format=torch.channels_last)


def _half(n: int) -> int:
    return math.ceil(n / 2)


class ConvEncoder(nn.Module):
    """``(B, h*w) -> (B, out)``: stride-2 3x3 convolutions (h, w halve each), then an MLP."""

    def __init__(self, image_shape: tuple[int, int], channels: tuple[int, ...],
                 hidden: tuple[int, ...], out: int, act: str = "relu") -> None:
        super().__init__()
        self.image_shape = image_shape
        layers: list[nn.Module] = []
        c_in, (h, w) = 1, image_shape
        for c in channels:
            layers += [nn.Conv2d(c_in, c, 3, stride=2, padding=1), activation(act)]
            c_in, h, w = c, _half(h), _half(w)
        self.conv = nn.Sequential(*layers)
        self.head = mlp((c_in * h * w, *hidden, out), act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv(feature_maps(x, (1, *self.image_shape)))  # (B, C, h', w')
        return self.head(h.reshape(x.shape[0], -1))


class ConvDecoder(nn.Module):
    """``(B, L) -> (B, h*w)``: an MLP to a ``(C, h', w')`` map, then stride-2 transposed
    convolutions that double h and w (cropped to the image size)."""

    def __init__(self, image_shape: tuple[int, int], channels: tuple[int, ...],
                 hidden: tuple[int, ...], latent: int, act: str = "relu") -> None:
        super().__init__()
        self.image_shape = image_shape
        h, w = image_shape
        for _ in channels:
            h, w = _half(h), _half(w)
        self.start = (channels[-1], h, w)
        self.head = nn.Sequential(mlp((latent, *hidden, channels[-1] * h * w), act),
                                  activation(act))
        layers: list[nn.Module] = []
        rev = list(reversed(channels))
        for i, c in enumerate(rev):
            c_out = rev[i + 1] if i + 1 < len(rev) else 1
            layers.append(nn.ConvTranspose2d(c, c_out, 4, stride=2, padding=1))
            if c_out != 1:
                layers.append(activation(act))
        self.deconv = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = feature_maps(self.head(z), self.start)
        out = self.deconv(h)[:, 0, : self.image_shape[0], : self.image_shape[1]]
        return out.reshape(z.shape[0], -1)


def build_encoder(arch: str, image_shape: tuple[int, int], hidden: tuple[int, ...],
                  out: int, act: str = "relu", channels: tuple[int, ...] = (32, 64)
                  ) -> nn.Module:
    """Encoder ``(B, D) -> (B, out)`` of architecture ``arch`` (mlp or conv)."""
    d = image_shape[0] * image_shape[1]
    if arch == "mlp":
        return mlp((d, *hidden, out), act)
    if arch == "conv":
        return ConvEncoder(image_shape, channels, hidden, out, act)
    raise GenlabError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)}")


def build_decoder(arch: str, image_shape: tuple[int, int], hidden: tuple[int, ...],
                  latent: int, act: str = "relu", channels: tuple[int, ...] = (32, 64)
                  ) -> nn.Module:
    """Decoder ``(B, L) -> (B, D)`` mirroring ``build_encoder`` (hidden reversed)."""
    d = image_shape[0] * image_shape[1]
    rev = tuple(reversed(hidden))
    if arch == "mlp":
        return mlp((latent, *rev, d), act)
    if arch == "conv":
        return ConvDecoder(image_shape, channels, rev, latent, act)
    raise GenlabError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)}")


def output_layer(decoder: nn.Module) -> nn.Module | None:
    """The last layer producing the ``(B, D)`` output (to initialise its bias), if linear."""
    last = list(decoder.modules())[-1]
    return last if isinstance(last, nn.Linear) else None
