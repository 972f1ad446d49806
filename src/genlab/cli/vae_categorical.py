"""``genlab vae train --latent-type categorical``: the categorical (Gumbel-softmax) VAE.

Adds ``--categories MxK``, ``--estimator``, ``--hard``, ``--tau0``, ``--tau-min`` and
``--anneal-rate`` to ``genlab vae train``; ``vae eval``/``sample``/``reconstruct`` then
work on the saved model like on any other VAE.
"""

from __future__ import annotations

import argparse

from genlab.cli.common import nonneg_float, positive_float
from genlab.cli.vae import LatentType, preset_overrides, register_latent_type
from genlab.errors import GenlabError
from genlab.latent.base import LatentModel
from genlab.latent.categorical_vae import ESTIMATORS, parse_categories
from genlab.latent.presets import VAE_SETTINGS, categorical_vae_preset


def categories(text: str) -> tuple[int, int]:
    """argparse type: ``MxK`` such as ``20x10``."""
    try:
        return parse_categories(text)
    except GenlabError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("categorical latents (--latent-type categorical)")
    g.add_argument("--categories", type=categories, default=None, metavar="MxK",
                   help="M categorical latents with K classes each (if not given: 20x10)")
    g.add_argument("--estimator", choices=ESTIMATORS, default=None,
                   help="gradient estimator: gumbel (relaxed sample), straight-through, "
                        "reinforce (score function with a moving-average baseline); "
                        "if not given, gumbel")
    g.add_argument("--hard", action="store_true",
                   help="straight-through Gumbel-softmax (same as --estimator "
                        "straight-through)")
    # None: not given (vae train refuses these flags for other latent types)
    g.add_argument("--tau0", type=positive_float, default=None,
                   help="initial temperature (if not given: 1)")
    g.add_argument("--tau-min", type=positive_float, default=None,
                   help="temperature floor (if not given: 0.5)")
    g.add_argument("--anneal-rate", type=nonneg_float, default=None,
                   help="r in tau = max(tau_min, tau0 exp(-r step)) (if not given: 1e-4)")


def build(args: argparse.Namespace, image_shape: tuple[int, int]) -> LatentModel:
    if args.likelihood != "bernoulli":
        raise GenlabError("the categorical VAE has a Bernoulli decoder; use --binarize "
                          "bernoulli or threshold and --likelihood bernoulli")
    explicit = getattr(args, "explicit", {"kl_warmup", "iw_train"})
    if ("kl_warmup" in explicit and args.kl_warmup) or ("iw_train" in explicit
                                                        and args.iw_train != 1):
        raise GenlabError("--kl-warmup and --iw-train apply to Gaussian latents only; drop "
                          "them for --latent-type categorical")
    if "latent" in explicit:  # the code is M one-hot vectors of K classes, not L numbers
        raise GenlabError("--latent does not apply to --latent-type categorical; its code "
                          "is --categories MxK (M latents of K classes, default 20x10)")
    estimator = args.estimator or ("straight-through" if args.hard else "gumbel")
    if args.hard and estimator != "straight-through":
        raise GenlabError(f"--hard means the straight-through estimator; it contradicts "
                          f"--estimator {estimator}")
    given = [flag for flag, value in (("--tau0", args.tau0), ("--tau-min", args.tau_min),
                                      ("--anneal-rate", args.anneal_rate)) if value is not None]
    if estimator == "reinforce" and given:  # exact samples: no relaxation, no temperature
        raise GenlabError(f"{given[0]} sets the temperature of the relaxed sample, which "
                          "--estimator reinforce does not use; drop it or choose --estimator "
                          "gumbel or straight-through")
    tau0 = 1.0 if args.tau0 is None else args.tau0
    tau_min = 0.5 if args.tau_min is None else args.tau_min
    if tau0 < tau_min:  # tau = max(tau_min, tau0 exp(-r t)) would never be tau0
        raise GenlabError(f"--tau0 {tau0:g} is below the temperature floor --tau-min "
                          f"{tau_min:g}, so the temperature would stay {tau_min:g}; give a "
                          "--tau0 of at least --tau-min")
    preset = categorical_vae_preset(
        args.data, categories=args.categories or (20, 10), estimator=estimator, tau0=tau0,
        tau_min=tau_min, anneal_rate=1e-4 if args.anneal_rate is None else args.anneal_rate,
        **preset_overrides(args, VAE_SETTINGS))
    return preset.model(image_shape)


register_latent_type(LatentType(
    "categorical", "M x K one-hot latents, uniform prior, Gumbel-softmax / straight-through / "
    "REINFORCE gradients", build, add_arguments))
