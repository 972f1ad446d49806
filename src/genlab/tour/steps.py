"""The steps of ``genlab tour``: the lecture's models in order, each small enough for two
CPU cores. ``quick`` shrinks every step so the whole tour runs in about two minutes."""

from __future__ import annotations

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
