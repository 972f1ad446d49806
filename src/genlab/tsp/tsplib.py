"""TSPLIB95 instances and tours: reading ``.tsp`` / ``.opt.tour`` files with TSPLIB's rounding.

The distance functions follow Reinelt, *TSPLIB95* (1995), section 2, exactly, with
``nint(x) = int(x + 0.5)``:

* ``EUC_2D`` / ``EUC_3D``: ``d_ij = nint(sqrt(sum_k (x_ik - x_jk)^2))``
* ``CEIL_2D``: ``d_ij = ceil(sqrt(dx^2 + dy^2))``
* ``MAN_2D`` / ``MAN_3D``: ``nint(sum_k |x_ik - x_jk|)``; ``MAX_2D`` / ``MAX_3D``:
  ``max_k nint(|x_ik - x_jk|)``
* ``ATT`` (pseudo-Euclidean): ``r = sqrt((dx^2 + dy^2) / 10)``, ``t = nint(r)``,
  ``d_ij = t + 1 if t < r else t``
* ``GEO``: coordinates are ``DDD.MM`` (degrees.minutes); ``deg = int(x)`` (truncation, as
  in TSPLIB's reference code), ``rad = pi (deg + 5 (x - deg) / 3) / 180`` with
  ``pi = 3.141592``; ``q1 = cos(lon_i - lon_j)``, ``q2 = cos(lat_i - lat_j)``,
  ``q3 = cos(lat_i + lat_j)``, ``d_ij = int(6378.388 acos((1+q1) q2 - (1-q1) q3) / 2) + 1)``
* ``EXPLICIT`` with ``EDGE_WEIGHT_FORMAT`` ``FULL_MATRIX``, ``UPPER_ROW``, ``LOWER_ROW``,
  ``UPPER_DIAG_ROW``, ``LOWER_DIAG_ROW`` and their ``*_COL`` twins.

Every error names the file and the line number.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from genlab.data.safeio import check_memory
from genlab.errors import GenlabError

COORD_TYPES = ("EUC_2D", "EUC_3D", "CEIL_2D", "MAN_2D", "MAN_3D", "MAX_2D", "MAX_3D", "ATT",
               "GEO")
EDGE_WEIGHT_TYPES = (*COORD_TYPES, "EXPLICIT")
# A *_COL format lists the same numbers in the same order as the mirrored *_ROW format.
EDGE_WEIGHT_FORMATS = {
    "FULL_MATRIX": "FULL_MATRIX", "UPPER_ROW": "UPPER_ROW", "LOWER_ROW": "LOWER_ROW",
    "UPPER_DIAG_ROW": "UPPER_DIAG_ROW", "LOWER_DIAG_ROW": "LOWER_DIAG_ROW",
    "UPPER_COL": "LOWER_ROW", "LOWER_COL": "UPPER_ROW", "UPPER_DIAG_COL": "LOWER_DIAG_ROW",
    "LOWER_DIAG_COL": "UPPER_DIAG_ROW",
}
_SECTIONS = ("NODE_COORD_SECTION", "EDGE_WEIGHT_SECTION", "DISPLAY_DATA_SECTION",
             "TOUR_SECTION", "FIXED_EDGES_SECTION", "DEMAND_SECTION", "DEPOT_SECTION")


@dataclass
class Instance:
    """A symmetric TSP instance.

    ``dist`` is the ``(n, n)`` float64 matrix of ``d_XY`` (zero diagonal, symmetric), already
    rounded by the instance's own rule; ``coords`` is ``(n, 2)`` positions for drawing and for
    the elastic net (node or display coordinates; ``None`` when the file has neither).
    ``optimum`` is the proven optimal tour length when known.
    """

    name: str
    dist: np.ndarray
    coords: np.ndarray | None = None
    edge_weight_type: str = "EXPLICIT"
    comment: str = ""
    optimum: float | None = None
    optimum_source: str | None = None
    opt_tour: np.ndarray | None = None
    meta: dict[str, str] = field(default_factory=dict)

    @property
    def n(self) -> int:
        """The number of cities."""
        return int(self.dist.shape[0])


# The longest tour allowed, n * max d: the solvers add, scale and compare tour lengths, which
# must stay well inside float64 (about 1.8e308).
MAX_TOUR_LENGTH = 1e300


def check_distance_range(dist: np.ndarray) -> str | None:
    """What is wrong when a tour of ``dist`` (n, n) could be longer than
    :data:`MAX_TOUR_LENGTH` (None when every tour's length is a safe finite number)."""
    longest = float(np.max(dist)) * dist.shape[0] if dist.size else 0.0
    if longest <= MAX_TOUR_LENGTH:
        return None
    return (f"the distances are too large (up to {float(np.max(dist)):.3g}): a tour of "
            f"{dist.shape[0]} cities could be longer than {MAX_TOUR_LENGTH:g}; rescale them")


def tour_length(dist: np.ndarray, tour: np.ndarray | list[int]) -> float:
    """Length of the closed tour ``L = sum_a d(t_a, t_{a+1 mod n})`` under ``dist`` (n, n)."""
    t = np.asarray(tour, dtype=np.int64)
    return float(dist[t, np.roll(t, -1)].sum())


def is_permutation(tour: np.ndarray | list[int], n: int) -> bool:
    """True when ``tour`` visits each of the ``n`` cities exactly once."""
    t = np.asarray(tour)
    return t.shape == (n,) and bool(np.array_equal(np.sort(t), np.arange(n)))


def _nint(x: np.ndarray) -> np.ndarray:
    return np.floor(x + 0.5)


def distance_matrix(coords: np.ndarray, edge_weight_type: str) -> np.ndarray:
    """The ``(n, n)`` TSPLIB distance matrix of ``coords`` (n, 2 or 3) under a coordinate type."""
    x = np.asarray(coords, dtype=np.float64)
    diff = x[:, None, :] - x[None, :, :]  # (n, n, dim)
    kind = edge_weight_type
    if kind in ("EUC_2D", "EUC_3D"):
        d = _nint(np.sqrt((diff ** 2).sum(-1)))
    elif kind == "CEIL_2D":
        d = np.ceil(np.sqrt((diff ** 2).sum(-1)))
    elif kind in ("MAN_2D", "MAN_3D"):
        d = _nint(np.abs(diff).sum(-1))
    elif kind in ("MAX_2D", "MAX_3D"):
        d = _nint(np.abs(diff)).max(-1)
    elif kind == "ATT":
        r = np.sqrt((diff ** 2).sum(-1) / 10.0)
        t = _nint(r)
        d = np.where(t < r, t + 1.0, t)
    elif kind == "GEO":
        pi = 3.141592
        deg = np.trunc(x)
        rad = pi * (deg + 5.0 * (x - deg) / 3.0) / 180.0
        lat, lon = rad[:, 0], rad[:, 1]
        q1 = np.cos(lon[:, None] - lon[None, :])
        q2 = np.cos(lat[:, None] - lat[None, :])
        q3 = np.cos(lat[:, None] + lat[None, :])
        arg = np.clip(0.5 * ((1.0 + q1) * q2 - (1.0 - q1) * q3), -1.0, 1.0)
        d = np.trunc(6378.388 * np.arccos(arg) + 1.0)
    else:
        raise GenlabError(f"unknown EDGE_WEIGHT_TYPE {kind!r}; supported: "
                          + ", ".join(EDGE_WEIGHT_TYPES))
    np.fill_diagonal(d, 0.0)
    return d


def explicit_matrix(values: np.ndarray, n: int, fmt: str) -> np.ndarray:
    """Build the symmetric ``(n, n)`` matrix from an EDGE_WEIGHT_SECTION in format ``fmt``."""
    fmt = EDGE_WEIGHT_FORMATS[fmt]
    d = np.zeros((n, n))
    if fmt == "FULL_MATRIX":
        d[:] = values.reshape(n, n)
        return d
    if fmt in ("UPPER_ROW", "UPPER_DIAG_ROW"):
        rows, cols = np.triu_indices(n, 0 if "DIAG" in fmt else 1)
    else:
        rows, cols = np.tril_indices(n, 0 if "DIAG" in fmt else -1)
    d[rows, cols] = values
    d[cols, rows] = values
    return d


def expected_weight_count(n: int, fmt: str) -> int:
    """How many numbers an EDGE_WEIGHT_SECTION of ``n`` cities in format ``fmt`` holds."""
    fmt = EDGE_WEIGHT_FORMATS[fmt]
    if fmt == "FULL_MATRIX":
        return n * n
    return n * (n + 1) // 2 if "DIAG" in fmt else n * (n - 1) // 2


UTF8_BOM = "\xef\xbb\xbf"   # the byte-order mark some editors write, read as latin-1


class _Reader:
    """Line-numbered tokens of a TSPLIB file, for error messages that point at the line."""

    def __init__(self, path: Path):
        self.path = path
        try:
            text = path.read_text(encoding="latin-1")
        except OSError as exc:
            raise GenlabError(f"cannot read TSPLIB file {path}: {exc.strerror or exc}") from None
        self.lines = text.removeprefix(UTF8_BOM).splitlines()
        self.pos = 0

    def fail(self, lineno: int, message: str) -> GenlabError:
        return GenlabError(f"{self.path}:{lineno}: {message}")

    def numbers(self, count: int, what: str, integer: bool = False) -> tuple[np.ndarray, int]:
        """Read ``count`` numbers that may wrap over lines; returns them and the last line."""
        out: list[float] = []
        start = self.pos + 1
        while len(out) < count:
            if self.pos >= len(self.lines):
                raise self.fail(len(self.lines), f"{what}: expected {count} numbers, the file "
                                f"ended after {len(out)} (section began on line {start - 1})")
            line = self.lines[self.pos].strip()
            self.pos += 1
            if not line:
                continue
            for tok in line.split():
                try:
                    value = int(tok) if integer else float(tok)
                except ValueError:
                    if len(out) < count and (tok.upper() == "EOF" or tok.rstrip(":").upper()
                                             in _SECTIONS or ":" in tok):
                        raise self.fail(self.pos, f"{what}: expected {count} numbers, found only "
                                        f"{len(out)} before {tok!r}") from None
                    raise self.fail(self.pos, f"{what}: {tok!r} is not a number") from None
                if not math.isfinite(value):
                    raise self.fail(self.pos, f"{what}: {tok!r} is not a finite number")
                out.append(value)
            if len(out) > count:
                raise self.fail(self.pos, f"{what}: expected {count} numbers, this line takes "
                                f"the count to {len(out)}")
        return np.asarray(out, dtype=np.float64), self.pos


_HEADER = re.compile(r"^\s*([A-Za-z_]+)\s*:\s*(.*?)\s*$")


def _parse(path: Path) -> tuple[dict[str, str], dict[str, tuple[np.ndarray, int]], _Reader]:
    """Split a TSPLIB file into its specification part and its data sections."""
    rd = _Reader(path)
    spec: dict[str, str] = {}
    spec_line: dict[str, int] = {}
    sections: dict[str, tuple[np.ndarray, int]] = {}

    def dimension() -> int:
        if "DIMENSION" not in spec:
            raise rd.fail(rd.pos, "a data section comes before DIMENSION; put 'DIMENSION: n' in "
                          "the header")
        return int(spec["DIMENSION"])

    while rd.pos < len(rd.lines):
        raw = rd.lines[rd.pos]
        lineno = rd.pos + 1
        line = raw.strip()
        rd.pos += 1
        if not line:
            continue
        key = line.rstrip(":").strip().upper()
        if key == "EOF":
            break
        if key in _SECTIONS:
            n = dimension()
            if key == "NODE_COORD_SECTION" or key == "DISPLAY_DATA_SECTION":
                dim = 3 if spec.get("NODE_COORD_TYPE", "").upper() == "THREED_COORDS" or \
                    spec.get("EDGE_WEIGHT_TYPE", "").upper().endswith("_3D") else 2
                if key == "DISPLAY_DATA_SECTION":
                    dim = 2
                vals, _ = rd.numbers(n * (dim + 1), key)
                table = vals.reshape(n, dim + 1)
                ids = table[:, 0]
                if not np.array_equal(np.sort(ids), np.arange(1, n + 1)):
                    raise rd.fail(lineno, f"{key}: node numbers must be 1..{n}, each once")
                coords = np.empty((n, dim))
                coords[ids.astype(np.int64) - 1] = table[:, 1:]
                sections[key] = (coords, lineno)
            elif key == "EDGE_WEIGHT_SECTION":
                fmt = spec.get("EDGE_WEIGHT_FORMAT", "").upper()
                if fmt not in EDGE_WEIGHT_FORMATS:
                    raise rd.fail(lineno, f"EDGE_WEIGHT_FORMAT {fmt or '(missing)'!r} is not "
                                  "supported; use one of " + ", ".join(EDGE_WEIGHT_FORMATS))
                vals, _ = rd.numbers(expected_weight_count(n, fmt), key)
                sections[key] = (vals, lineno)
            elif key == "TOUR_SECTION":
                vals, _ = rd.numbers(n, key, integer=True)
                end, _ = rd.numbers(1, key + " terminator", integer=True)
                if end[0] != -1:
                    raise rd.fail(rd.pos, f"TOUR_SECTION: expected -1 after {n} cities, found "
                                  f"{int(end[0])}")
                sections[key] = (vals, lineno)
            else:  # sections that do not change the distances: skip to their -1
                while rd.pos < len(rd.lines) and rd.lines[rd.pos].strip() != "-1":
                    rd.pos += 1
                rd.pos += 1
            continue
        m = _HEADER.match(raw)
        if not m:
            raise rd.fail(lineno, f"expected 'KEYWORD : value' or a section name, found "
                          f"{line[:40]!r}")
        k, v = m.group(1).upper(), m.group(2)
        if k == "COMMENT" and k in spec:  # comments may run over several lines
            spec[k] = f"{spec[k]} {v}"
            continue
        if k in spec and spec[k].strip().upper() != v.strip().upper():
            raise rd.fail(lineno, f"{k} is given twice, as {spec[k]!r} on line "
                          f"{spec_line[k]} and as {v!r}; keep one")
        spec[k] = v
        spec_line[k] = lineno
        if k == "DIMENSION":
            try:
                if int(v) < 1:
                    raise ValueError
            except ValueError:
                raise rd.fail(lineno, f"DIMENSION must be a positive integer, got {v!r}") from None
    rd.spec_line = spec_line  # type: ignore[attr-defined]
    return spec, sections, rd


def read_tsplib(path: str | os.PathLike[str], find_optimum: bool = True) -> Instance:
    """Read a TSPLIB ``.tsp`` file (TYPE TSP) into an :class:`Instance`.

    When ``find_optimum``, the optimum is looked up beside the file: ``NAME.opt.tour``
    (its length under this instance's distances) or a ``NAME value`` line of ``OPTIMA.txt``.
    """
    path = Path(path)
    spec, sections, rd = _parse(path)
    lines = rd.spec_line  # type: ignore[attr-defined]
    typ = spec.get("TYPE", "TSP").split()[0].upper() if spec.get("TYPE") else "TSP"
    if typ != "TSP":
        raise rd.fail(lines.get("TYPE", 1), f"TYPE {spec.get('TYPE')!r} is not supported; "
                      "only symmetric TSP instances (TYPE: TSP) are")
    if "DIMENSION" not in spec:
        raise rd.fail(1, "no DIMENSION in the header")
    n = int(spec["DIMENSION"])
    if n < 3:
        raise rd.fail(lines["DIMENSION"], f"DIMENSION is {n}; a TSP instance needs at least 3 "
                      "cities")
    ewt = spec.get("EDGE_WEIGHT_TYPE", "").upper()
    if ewt not in EDGE_WEIGHT_TYPES:
        raise rd.fail(lines.get("EDGE_WEIGHT_TYPE", 1),
                      f"EDGE_WEIGHT_TYPE {ewt or '(missing)'!r} is not supported; use one of "
                      + ", ".join(EDGE_WEIGHT_TYPES))
    # the distance matrix and, for coordinates, the (n, n, 3) differences behind it
    check_memory(n * n * 8 * 5, f"{path}: the {n} x {n} distance matrix of DIMENSION {n}")
    coords = None
    if ewt == "EXPLICIT":
        if "EDGE_WEIGHT_SECTION" not in sections:
            raise rd.fail(len(rd.lines), "EDGE_WEIGHT_TYPE is EXPLICIT but there is no "
                          "EDGE_WEIGHT_SECTION")
        vals, line = sections["EDGE_WEIGHT_SECTION"]
        dist = explicit_matrix(vals, n, spec["EDGE_WEIGHT_FORMAT"].upper())
        if not np.allclose(dist, dist.T):
            raise rd.fail(line, "EDGE_WEIGHT_SECTION: the matrix is not symmetric; only "
                          "symmetric TSP is supported")
        if "DISPLAY_DATA_SECTION" in sections:
            coords = sections["DISPLAY_DATA_SECTION"][0]
    else:
        if "NODE_COORD_SECTION" not in sections:
            raise rd.fail(len(rd.lines), f"EDGE_WEIGHT_TYPE {ewt} needs a NODE_COORD_SECTION")
        node = sections["NODE_COORD_SECTION"][0]
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is checked below
            dist = distance_matrix(node, ewt)
        coords = node[:, :2]
        if ewt == "GEO":  # (latitude, longitude) -> draw as (x=longitude, y=latitude)
            coords = node[:, ::-1].copy()
    if not np.isfinite(dist).all():
        raise rd.fail(sections.get("NODE_COORD_SECTION", sections.get(
            "EDGE_WEIGHT_SECTION", (None, 1)))[1], "the coordinates are so large that the "
            "distances overflow; rescale them")
    if np.any(dist < 0):
        raise rd.fail(sections.get("EDGE_WEIGHT_SECTION", (None, 1))[1],
                      "negative distances are not allowed")
    problem = check_distance_range(dist)
    if problem:
        raise rd.fail(sections.get("EDGE_WEIGHT_SECTION", sections.get(
            "NODE_COORD_SECTION", (None, 1)))[1], problem)
    np.fill_diagonal(dist, 0.0)
    name = spec.get("NAME", path.stem).strip()
    if name.endswith(".tsp"):
        name = name[:-4]
    inst = Instance(name=name, dist=dist, coords=coords, edge_weight_type=ewt,
                    comment=spec.get("COMMENT", ""), meta=spec)
    if find_optimum:
        attach_optimum(inst, path)
    return inst


def read_tour(path: str | os.PathLike[str], n: int | None = None) -> np.ndarray:
    """Read a TSPLIB ``.tour`` / ``.opt.tour`` file; returns the 0-based city order (n,)."""
    path = Path(path)
    spec, sections, rd = _parse(path)
    if "TOUR_SECTION" not in sections:
        raise rd.fail(len(rd.lines), "no TOUR_SECTION in the tour file")
    vals, line = sections["TOUR_SECTION"]
    tour = vals.astype(np.int64) - 1
    m = len(tour)
    if n is not None and m != n:
        raise rd.fail(line, f"the tour has {m} cities but the instance has {n}")
    if not is_permutation(tour, m):
        raise rd.fail(line, f"TOUR_SECTION is not a permutation of 1..{m}")
    return tour


def read_optima(path: str | os.PathLike[str]) -> dict[str, float]:
    """Read an ``OPTIMA.txt`` file: lines ``NAME LENGTH`` (``#`` starts a comment)."""
    out: dict[str, float] = {}
    path = Path(path)
    try:
        text = path.read_text(encoding="latin-1")
    except OSError as exc:
        raise GenlabError(f"cannot read {path}: {exc.strerror or exc}") from None
    for k, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        try:
            out[parts[0]] = float(parts[1])
            if not math.isfinite(out[parts[0]]) or out[parts[0]] < 0:
                raise ValueError
        except (IndexError, ValueError):
            raise GenlabError(f"{path}:{k}: expected 'NAME LENGTH' with a length >= 0, found "
                              f"{line!r}") from None
    return out


def attach_optimum(inst: Instance, path: Path) -> None:
    """Set ``inst.optimum`` from ``NAME.opt.tour`` or ``OPTIMA.txt`` beside ``path``."""
    stem = path.name[:-4] if path.name.endswith(".tsp") else path.stem
    tour_file = path.with_name(stem + ".opt.tour")
    if tour_file.is_file():
        inst.opt_tour = read_tour(tour_file, inst.n)
        inst.optimum = tour_length(inst.dist, inst.opt_tour)
        inst.optimum_source = str(tour_file)
    optima = path.with_name("OPTIMA.txt")
    if optima.is_file():
        table = read_optima(optima)
        for key in (stem, inst.name):
            if key in table:
                if inst.optimum is not None and inst.optimum != table[key]:
                    raise GenlabError(f"{tour_file} has length {inst.optimum:g} but {optima} "
                                      f"says the optimum of {key} is {table[key]:g}")
                if inst.optimum is None:
                    inst.optimum = table[key]
                    inst.optimum_source = str(optima)
                break
