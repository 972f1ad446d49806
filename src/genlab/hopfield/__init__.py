"""Hopfield networks: binary (Hebbian, Storkey, pseudo-inverse) and modern (softmax)."""

from genlab.hopfield.dynamics import Dynamics, energy, run_dynamics
from genlab.hopfield.learning import RULES, hebbian, learn, pseudoinverse, storkey
from genlab.hopfield.network import HopfieldConfig, HopfieldNetwork, Recall
from genlab.hopfield.patterns import as_spins, format_glyphs, load_patterns, parse_glyphs

__all__ = [
    "RULES", "Dynamics", "HopfieldConfig", "HopfieldNetwork", "Recall", "as_spins", "energy",
    "format_glyphs", "hebbian", "learn", "load_patterns", "parse_glyphs", "pseudoinverse",
    "run_dynamics", "storkey",
]
