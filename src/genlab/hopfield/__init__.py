"""Hopfield networks: binary (Hebbian, Storkey, pseudo-inverse) and modern (softmax)."""

from genlab.hopfield.dynamics import Dynamics, run_dynamics
from genlab.hopfield.learning import RULES, hebbian, learn, pseudoinverse, storkey
from genlab.hopfield.modern import ModernHopfield
from genlab.hopfield.network import HopfieldConfig, HopfieldNetwork, load_hopfield
from genlab.hopfield.patterns import as_spins, format_glyphs, load_patterns, parse_glyphs
from genlab.hopfield.recall import Recall

__all__ = [
    "RULES", "Dynamics", "HopfieldConfig", "HopfieldNetwork", "ModernHopfield", "Recall",
    "as_spins", "format_glyphs", "hebbian", "learn", "load_hopfield",
    "load_patterns", "parse_glyphs", "pseudoinverse", "run_dynamics", "storkey",
]
