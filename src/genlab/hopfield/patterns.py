"""Reading and checking ±1 patterns: arrays of {-1,+1} or {0,1}, and text glyphs.

A pattern set is a float tensor ``(P, N)`` with every entry -1 or +1. Cues may also hold
0 for an unknown unit.

Files (:func:`load_patterns`, used by ``genlab hopfield store`` and ``recall`` alike) are
read by one rule:

* an array whose values are all 0 or 1 is a binary file: ``x = 2 b - 1`` (0 -> -1),
  for patterns and cues alike;
* otherwise the values must be -1 and +1, and in a cue file also 0 for an unknown unit
  (so an unknown unit can only be written in a file that uses -1 for "off");
* anything else (2, 0.5, NaN, text, Python objects) is refused, naming the value.

A glyph file draws each pattern as rows of characters, ``#`` or ``1`` for +1 and ``.`` or
``0`` for -1, with a blank line between patterns; every glyph must have the same height
and width.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from genlab.data.npfiles import NPY_MAGIC, ZIP_MAGICS, read_npy, read_npz
from genlab.data.safeio import file_head, one_line
from genlab.errors import GenlabError

ON_CHARS = "#1"
OFF_CHARS = ".0"


def as_spins(values: torch.Tensor | np.ndarray, what: str = "patterns",
             allow_zero: bool = False, dtype: torch.dtype = torch.float32,
             device: torch.device | str | None = None) -> torch.Tensor:
    """Check that ``values`` (shape ``(P, N)`` or ``(N,)``) hold only ±1 and return a 2-D tensor.

    With ``allow_zero`` a 0 is accepted too (an unknown unit of a cue). Arrays of {0, 1}
    (no -1 present) are mapped to {-1, +1} by ``x = 2 b - 1`` unless ``allow_zero``.
    Raises :class:`GenlabError` on NaN, infinities, other values, or a wrong number of
    dimensions.
    """
    if not isinstance(values, torch.Tensor):
        values = np.asarray(values)
        if values.dtype.kind not in "biuf":
            raise GenlabError(f"{what} must be numbers, got dtype {values.dtype}")
    t = torch.as_tensor(values)
    if t.dtype == torch.bool:
        t = t.to(torch.float32)
    if not (t.is_floating_point() or t.dtype in (torch.int8, torch.int16, torch.int32,
                                                   torch.int64, torch.uint8)):
        raise GenlabError(f"{what} must be numbers, got dtype {t.dtype}")
    if t.ndim == 1:
        t = t.unsqueeze(0)
    if t.ndim != 2:
        raise GenlabError(f"{what} must be a 2-D array (count, units), got shape {tuple(t.shape)}")
    if t.shape[0] == 0 or t.shape[1] == 0:
        raise GenlabError(f"{what} is empty (shape {tuple(t.shape)}); give at least one "
                          "pattern of at least one unit")
    t = t.to(torch.float64)
    if not torch.isfinite(t).all():
        raise GenlabError(f"{what} contain NaN or infinite values; use only -1 and +1"
                          + (" (0 for unknown)" if allow_zero else ""))
    allowed = (-1.0, 0.0, 1.0) if allow_zero else (-1.0, 1.0)
    if not allow_zero and bool(((t == 0) | (t == 1)).all()):
        t = 2.0 * t - 1.0
    bad = ~torch.isin(t, torch.tensor(allowed, dtype=t.dtype, device=t.device))
    if bool(bad.any()):
        # name a value that is wrong under every reading (e.g. the 2 of [0, 1, 2], not its 0)
        odd = bad & ~torch.isin(t, torch.tensor((-1.0, 0.0, 1.0), dtype=t.dtype, device=t.device))
        v = t[odd if bool(odd.any()) else bad][0].item()
        raise GenlabError(f"{what} must hold only {', '.join(f'{a:g}' for a in allowed)}"
                          f"{' (0 for an unknown unit)' if allow_zero else ''}, or only 0 and "
                          f"1 for a binary array, found {v:g}")
    return t.to(dtype=dtype, device=device)


def parse_glyphs(text: str, source: str = "glyph text") -> tuple[torch.Tensor, tuple[int, int]]:
    """Parse glyphs (``#``/``1`` = +1, ``.``/``0`` = -1; blank line between glyphs).

    Returns ``(patterns, (height, width))`` with ``patterns`` of shape ``(P, height*width)``,
    rows flattened in reading order.
    """
    blocks: list[list[str]] = [[]]
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            if blocks[-1]:
                blocks.append([])
            continue
        bad = [c for c in line if c not in ON_CHARS + OFF_CHARS]
        if bad:
            raise GenlabError(f"{source} line {lineno}: unexpected character {bad[0]!r}; "
                              "use '#' or '1' for +1 and '.' or '0' for -1")
        blocks[-1].append(line)
    blocks = [b for b in blocks if b]
    if not blocks:
        raise GenlabError(f"{source} holds no glyphs; draw each pattern with '#' and '.', "
                          "with a blank line between patterns")
    shape = (len(blocks[0]), len(blocks[0][0]))
    for k, block in enumerate(blocks):
        widths = {len(row) for row in block}
        if len(widths) != 1:
            raise GenlabError(f"{source} glyph {k + 1} has rows of different widths "
                              f"{sorted(widths)}; every row must have the same length")
        if (len(block), len(block[0])) != shape:
            raise GenlabError(f"{source} glyph {k + 1} is {len(block)}x{len(block[0])} but "
                              f"glyph 1 is {shape[0]}x{shape[1]}; all glyphs must be the same "
                              "size")
    arr = np.array([[1.0 if c in ON_CHARS else -1.0 for row in b for c in row] for b in blocks],
                   dtype=np.float32)
    return torch.from_numpy(arr), shape


def format_glyphs(patterns: torch.Tensor, shape: tuple[int, int]) -> str:
    """The inverse of :func:`parse_glyphs`: ``#`` for +1, ``.`` otherwise."""
    lines = []
    for p in patterns.reshape(len(patterns), *shape).tolist():
        lines.extend("".join("#" if v > 0 else "." for v in row) for row in p)
        lines.append("")
    return "\n".join(lines)


def load_patterns(path: str | os.PathLike[str], what: str = "patterns",
                  allow_zero: bool = False) -> tuple[torch.Tensor, tuple[int, int] | None]:
    """Load a pattern set ``(P, N)`` from ``.npy``, ``.npz`` (first array) or a glyph text file.

    Values follow the module's file rule: an all-{0, 1} array is binary (0 -> -1) whether
    it holds patterns or cues; with ``allow_zero`` (cues) a {-1, 0, +1} array marks unknown
    units with 0. Returns ``(patterns, image_shape)``; ``image_shape`` is the glyph size,
    the trailing two dimensions of a 3-D array, or None.
    """
    p = Path(path)
    shape: tuple[int, int] | None = None
    head = file_head(p, what)
    if not head:
        raise GenlabError(f"{what} file {p} is empty; give a .npy, .npz or a text file of "
                          "'#'/'.' glyphs")
    if p.suffix in (".npy", ".npz") or head.startswith((NPY_MAGIC, *ZIP_MAGICS)):
        if p.suffix == ".npz" or head.startswith(ZIP_MAGICS):
            arrays = read_npz(p, what=what)
            if not arrays:
                raise GenlabError(f"{p} holds no arrays")
            arr = next(iter(arrays.values()))
        else:
            arr = read_npy(p, what)
        if arr.ndim == 3:
            shape = (int(arr.shape[1]), int(arr.shape[2]))
            arr = arr.reshape(arr.shape[0], shape[0] * shape[1])
        if arr.size and bool(((arr == 0) | (arr == 1)).all()):
            arr = 2.0 * arr.astype(np.float64) - 1.0  # a binary file: 0 is "off", not unknown
        return as_spins(arr, f"{what} in {p}", allow_zero=allow_zero), shape
    try:
        text = p.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise GenlabError(f"cannot read {p} as glyph text ({one_line(exc)}); give a .npy, "
                          ".npz or a text file of '#'/'.' glyphs") from None
    pats, shape = parse_glyphs(text, str(p))
    return pats, shape
