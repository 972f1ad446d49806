"""The steps of ``genlab tour``: the lecture's models in order, each small enough for two
CPU cores. ``quick`` shrinks every step so the whole tour runs in about two minutes."""

from __future__ import annotations

from genlab.errors import GenlabError
from genlab.tour.runner import Step
from genlab.tour.sections import (
    autoencoder,
    betavae,
    boltzmann,
    capacity,
    gumbel,
    hopfield,
    rbm,
    tsp,
    vae,
)

STEPS: list[Step] = [
    hopfield.STEP, capacity.STEP, tsp.STEP,
    boltzmann.STEP, rbm.STEP, autoencoder.STEP, vae.STEP, betavae.STEP, gumbel.STEP]

STEP_KEYS = [s.key for s in STEPS]


def select_steps(only: str | None = None) -> list[Step]:
    """The steps named in ``only`` (comma-separated keys), in the tour's order; all of them
    when ``only`` is None. GenlabError for a name that is not a step."""
    if only is None:
        return list(STEPS)
    keys = [k.strip() for k in only.split(",") if k.strip()]
    unknown = [k for k in keys if k not in STEP_KEYS]
    if unknown or not keys:
        named = ", ".join(repr(k) for k in unknown) or "(none given)"
        raise GenlabError(f"unknown tour step(s) {named}; choose from {', '.join(STEP_KEYS)}")
    return [s for s in STEPS if s.key in keys]
