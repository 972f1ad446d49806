"""The one registry of saved models: the ``kind`` written in ``NAME.json`` -> the function
that rebuilds a model of that kind from its files.

Every loader goes through ``load`` (``genlab.load(path)`` is the same function):
``NAME.json`` is read and checked once (``genlab.io.open_model``), its ``kind`` looked
up here, and the registered builder called with the opened files
(``genlab.io.SavedModel``) and the device. The builder reads the weights, checks
every setting and shape, and returns the model.

Builders are named by ``"module:attribute"`` strings and imported only when a model of
their kind is loaded, so this module (part of the floor every package may import) imports
no model package, and a model package may import it without a cycle. A model package
adds kinds of its own with ``register`` when it is imported (``genlab.latent``'s
``register_model`` does this for every autoencoder and VAE class).
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from typing import Any

import torch

from genlab.errors import GenlabError
from genlab.io import SavedModel, open_model

FAMILIES: dict[str, tuple[str, str]] = {
    # family: (what it is, for messages; the command that saves one)
    "hopfield": ("a Hopfield network", "genlab hopfield store"),
    "boltzmann": ("a Boltzmann machine", "genlab bm train"),
    "rbm": ("an RBM", "genlab rbm train"),
    "latent": ("an autoencoder or VAE", "genlab ae train, genlab vae train or genlab "
               "disentangle train"),
}


@dataclass(frozen=True)
class ModelKind:
    """How to rebuild one kind of saved model.

    ``builder`` is ``"module:attribute"`` (the attribute may be dotted, e.g.
    ``"genlab.rbm.bernoulli:BernoulliRBM.from_saved_model"``) naming a function
    ``builder(saved: SavedModel, device) -> model`` that checks what it reads.
    """

    kind: str
    family: str
    builder: str

    def build(self, saved: SavedModel, device: torch.device | str) -> Any:
        """Import the builder and rebuild the model from ``saved`` on ``device``."""
        module, _, attr = self.builder.partition(":")
        fn: Any = importlib.import_module(module)
        for part in attr.split("."):
            fn = getattr(fn, part)
        return fn(saved, device)


_KINDS: dict[str, ModelKind] = {}


def register(kind: str, family: str, builder: str) -> ModelKind:
    """Make models saved with ``kind`` loadable by ``load`` through ``builder`` (see
    ``ModelKind``); registering a kind again replaces its entry."""
    if family not in FAMILIES:
        raise ValueError(f"unknown model family {family!r}; known: {', '.join(FAMILIES)}")
    if ":" not in builder:
        raise ValueError(f"builder {builder!r} must be 'module:attribute'")
    entry = ModelKind(kind, family, builder)
    _KINDS[kind] = entry
    return entry


for _kind, _family, _builder in (
        ("hopfield", "hopfield", "genlab.hopfield.network:from_saved_model"),
        # the one line that names the Boltzmann machine's package
        ("boltzmann-machine", "boltzmann",
         "genlab.boltzmann.boltzmann:BoltzmannMachine.from_saved_model"),
        ("rbm.BernoulliRBM", "rbm", "genlab.rbm.bernoulli:BernoulliRBM.from_saved_model"),
        ("rbm.GaussianBernoulliRBM", "rbm",
         "genlab.rbm.gaussian:GaussianBernoulliRBM.from_saved_model"),
        ("autoencoder", "latent", "genlab.latent.base:from_saved_model"),
        ("vae", "latent", "genlab.latent.base:from_saved_model"),
        ("betavae", "latent", "genlab.latent.base:from_saved_model"),
        ("categorical_vae", "latent", "genlab.latent.base:from_saved_model")):
    register(_kind, _family, _builder)


def kinds(family: str | None = None) -> list[str]:
    """The registered kinds (of ``family`` only, if given), sorted."""
    return sorted(k for k, e in _KINDS.items() if family is None or e.family == family)


def lookup(saved: SavedModel, family: str | None = None, kind: str | None = None
           ) -> ModelKind:
    """The registry's entry for the kind ``saved`` holds; GenlabError when it is unknown,
    of another ``family`` or not ``kind``."""
    found = saved.kind
    entry = _KINDS.get(found)
    if family is not None:
        what, command = FAMILIES[family]
        if entry is None or entry.family != family:
            raise GenlabError(f"{saved.where} holds a {found!r} model, not {what}; give a "
                              f"model saved by '{command}' (known kinds: "
                              f"{', '.join(kinds(family))})")
    if kind is not None and found != kind:
        raise GenlabError(f"{saved.where} holds a {found!r} model, not a {kind!r} model")
    if entry is None:
        raise GenlabError(f"{saved.where} holds a {found!r} model, which genlab cannot load "
                          f"(known kinds: {', '.join(kinds())})")
    return entry


def load_saved(saved: SavedModel, device: torch.device | str = "cpu",
               family: str | None = None, kind: str | None = None) -> Any:
    """Rebuild the model of an opened ``saved`` (see ``load``)."""
    return lookup(saved, family, kind).build(saved, device)


def load(path: str | os.PathLike[str], device: torch.device | str = "cpu",
         family: str | None = None, kind: str | None = None) -> Any:
    """Load the model saved as ``NAME`` (``NAME.safetensors`` + ``NAME.json``), whatever
    its kind: a Hopfield network, a Boltzmann machine, an RBM, an autoencoder or a VAE.

    ``family`` (``"hopfield"``, ``"boltzmann"``, ``"rbm"``, ``"latent"``) or ``kind``,
    if given, is what the file must hold. Raises ``GenlabError`` when the files are
    missing, damaged, or hold a model of an unknown or unwanted kind.
    """
    return load_saved(open_model(path), device, family, kind)
