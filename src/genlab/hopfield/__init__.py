"""Hopfield networks: binary (Hebbian, Storkey, pseudo-inverse) and modern (softmax)."""

from genlab.hopfield.dynamics import Dynamics, energy, run_dynamics
from genlab.hopfield.learning import RULES, hebbian, learn, pseudoinverse, storkey
from genlab.hopfield.modern import ModernHopfield, ModernRecall
from genlab.hopfield.network import HopfieldConfig, HopfieldNetwork, Recall, load_hopfield
from genlab.hopfield.patterns import as_spins, format_glyphs, load_patterns, parse_glyphs

__all__ = [
    "RULES", "Dynamics", "HopfieldConfig", "HopfieldNetwork", "ModernHopfield", "ModernRecall",
    "Recall", "as_spins", "energy", "format_glyphs", "hebbian", "learn", "load_hopfield",
    "load_patterns", "parse_glyphs", "pseudoinverse", "run_dynamics", "storkey",
]
