"""Letters as 5x5 glyphs (25 units) for the associative-memory demonstration, and cues.

Four letters (G, R, T, V) whose pairwise overlaps are nearly zero are stable under the
Hebbian rule with a wide margin; storing many letters overloads the 25-unit network.
"""

from __future__ import annotations

import torch

from genlab.errors import GenlabError
from genlab.hopfield.patterns import parse_glyphs

SHAPE = (5, 5)
GLYPHS = {
    "A": ".###. #...# ##### #...# #...#", "B": "####. #...# ####. #...# ####.",
    "C": ".#### #.... #.... #.... .####", "D": "####. #...# #...# #...# ####.",
    "E": "##### #.... ####. #.... #####", "F": "##### #.... ####. #.... #....",
    "G": ".#### #.... #..## #...# .###.", "H": "#...# #...# ##### #...# #...#",
    "I": ".###. ..#.. ..#.. ..#.. .###.", "J": "..### ...#. ...#. #..#. .##..",
    "K": "#..#. #.#.. ##... #.#.. #..#.", "L": "#.... #.... #.... #.... #####",
    "M": "#...# ##.## #.#.# #...# #...#", "N": "#...# ##..# #.#.# #..## #...#",
    "O": ".###. #...# #...# #...# .###.", "P": "####. #...# ####. #.... #....",
    "R": "####. #...# ####. #..#. #...#", "S": ".#### #.... .###. ....# ####.",
    "T": "##### ..#.. ..#.. ..#.. ..#..", "U": "#...# #...# #...# #...# .###.",
    "V": "#...# #...# #...# .#.#. ..#..", "W": "#...# #...# #.#.# ##.## #...#",
    "X": "#...# .#.#. ..#.. .#.#. #...#", "Y": "#...# .#.#. ..#.. ..#.. ..#..",
    "Z": "##### ...#. ..#.. .#... #####",
}
DEMO_LETTERS = "GRTV"
OVERLOAD_LETTERS = "GRTVADHJLMOX"


def letters(names: str = DEMO_LETTERS) -> torch.Tensor:
    """The 5x5 glyphs of ``names`` as ±1 patterns, shape ``(len(names), 25)``."""
    missing = [c for c in names if c not in GLYPHS]
    if missing:
        raise GenlabError(f"no glyph for letter(s) {''.join(missing)}; choose from "
                          f"{''.join(GLYPHS)}")
    text = "\n\n".join(GLYPHS[c].replace(" ", "\n") for c in names)
    return parse_glyphs(text, "letters")[0]


def flip_cues(patterns: torch.Tensor, n_flips: int, generator: torch.Generator) -> torch.Tensor:
    """Copies of ``patterns`` ``(P, N)`` with ``n_flips`` distinct random units flipped each."""
    keys = torch.rand(patterns.shape, generator=generator).to(patterns.device)
    idx = keys.argsort(1)[:, :n_flips]  # (P, n_flips)
    cues = patterns.clone()
    cues.scatter_(1, idx, -cues.gather(1, idx))
    return cues


def half_cues(patterns: torch.Tensor, shape: tuple[int, int] = SHAPE
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """Cues whose bottom rows are unknown (0); returns ``(cues, known mask (N,))``."""
    h, w = shape
    known = torch.zeros(h, w, dtype=torch.bool, device=patterns.device)
    known[: (h + 1) // 2] = True
    known = known.reshape(-1)
    return torch.where(known, patterns, torch.zeros_like(patterns)), known
