"""Every file format genlab reads, valid and corrupted: a valid result or GenlabError.

For each format a valid file is generated, then (most of the time) damaged: cut at any
byte, a byte flipped (often in the header), replaced by random bytes, emptied, extended,
or given a header that declares a huge size. The loader must return a result that is
valid by the format's own rules (right shapes, finite values) or raise GenlabError with
a one-line message; any other exception fails the test.
"""

from __future__ import annotations

import gzip
import io
import struct
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genlab.data import load_dataset, read_idx, write_idx
from genlab.data.npfiles import read_npy, read_npz
from genlab.errors import GenlabError
from genlab.hopfield.patterns import load_patterns
from genlab.tsp import read_tour, read_tsplib
from genlab.tsp.instances import load_instance

FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

MUTATIONS = ("none", "truncate", "flip", "flip_header", "random", "empty", "append")


def mutate(data: st.DataObject, raw: bytes, header: int = 64) -> bytes:
    """``raw`` damaged in one of the :data:`MUTATIONS` ways (or left alone)."""
    kind = data.draw(st.sampled_from(MUTATIONS), label="mutation")
    if kind == "none":
        return raw
    if kind == "truncate":
        return raw[:data.draw(st.integers(0, max(len(raw) - 1, 0)), label="cut")]
    if kind in ("flip", "flip_header") and raw:
        end = min(len(raw), header) if kind == "flip_header" else len(raw)
        i = data.draw(st.integers(0, end - 1), label="at")
        return raw[:i] + bytes([raw[i] ^ data.draw(st.integers(1, 255), label="xor")]) + \
            raw[i + 1:]
    if kind == "random":
        return data.draw(st.binary(max_size=300), label="random")
    if kind == "append":
        return raw + data.draw(st.binary(min_size=1, max_size=32), label="tail")
    return b""


def outcome(load: Callable[[], object], check: Callable[[object], None]) -> None:
    """Run ``load``: a GenlabError with a one-line message, or a result ``check`` accepts."""
    try:
        result = load()
    except GenlabError as exc:
        msg = str(exc)
        assert msg and "\n" not in msg and "allow_pickle" not in msg, msg
        return
    check(result)


def in_tmp(files: dict[str, bytes], body: Callable[[Path], None]) -> None:
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        for name, content in files.items():
            (folder / name).write_bytes(content)
        body(folder)


def check_images(d: object) -> None:
    n, h, w = d.images.shape
    assert n >= 1 and h >= 1 and w >= 1 and d.images.dtype == torch.float32
    assert bool(torch.isfinite(d.images).all())
    assert float(d.images.min()) >= 0.0 and float(d.images.max()) <= 1.0
    if d.labels is not None:
        assert d.labels.shape == (n,) and int(d.labels.min()) >= 0


def check_spins(allowed: set[float]) -> Callable[[object], None]:
    def check(result: object) -> None:
        pats, shape = result
        assert pats.ndim == 2 and pats.shape[0] >= 1 and pats.shape[1] >= 1
        assert set(pats.unique().tolist()) <= allowed
        if shape is not None:
            assert shape[0] * shape[1] == pats.shape[1]
    return check


def check_instance(inst: object) -> None:
    d = inst.dist
    assert d.ndim == 2 and d.shape[0] == d.shape[1] >= 3
    assert np.isfinite(d).all() and (d >= 0).all() and np.allclose(d, d.T)
    assert (np.diag(d) == 0).all()


NUMERIC = st.sampled_from([np.uint8, np.int16, np.int32, np.float32, np.float64, np.bool_])


@st.composite
def arrays(draw, min_ndim: int = 1) -> np.ndarray:
    """Small numeric arrays; floats may hold NaN or infinities, any dimension may be 0."""
    dtype = draw(NUMERIC)
    shape = tuple(draw(st.lists(st.integers(0, 6), min_size=min_ndim, max_size=3)))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    kind = draw(st.sampled_from(["bits", "spins", "pixels", "any"]))
    values = {"bits": rng.integers(0, 2, shape), "spins": rng.choice([-1, 0, 1], shape),
              "pixels": rng.integers(0, 256, shape), "any": rng.normal(0, 100, shape)}[kind]
    arr = values.astype(dtype)
    if arr.dtype.kind == "f" and arr.size and draw(st.booleans()):
        arr.flat[draw(st.integers(0, arr.size - 1))] = draw(st.sampled_from([np.nan, np.inf]))
    return arr


def npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def huge_npy(arr: np.ndarray) -> bytes:
    """A .npy whose header declares 2**40 rows of ``arr``'s shape, followed by ``arr``."""
    buf = io.BytesIO()
    header = {"descr": np.lib.format.dtype_to_descr(arr.dtype), "fortran_order": False,
              "shape": (2**40, *arr.shape[1:])}
    np.lib.format.write_array_header_1_0(buf, header)
    return buf.getvalue() + arr.tobytes()


@FUZZ
@given(arr=arrays(), data=st.data())
def test_npy(arr, data):
    raw = huge_npy(arr) if data.draw(st.booleans(), label="huge") and arr.ndim else npy_bytes(arr)
    raw = mutate(data, raw, header=128)

    def check_array(a):
        assert a.dtype.kind in "biuf" and a.dtype.isnative
        if raw == npy_bytes(arr):
            assert a.shape == arr.shape and np.array_equal(a, arr, equal_nan=True)

    def body(folder: Path) -> None:
        path = folder / "a.npy"
        outcome(lambda: read_npy(path), check_array)
        outcome(lambda: load_dataset(str(path), split="all"), check_images)
        outcome(lambda: load_patterns(path), check_spins({-1.0, 1.0}))
        outcome(lambda: load_patterns(path, "cues", allow_zero=True),
                check_spins({-1.0, 0.0, 1.0}))
        outcome(lambda: load_instance(path), check_instance)
    in_tmp({"a.npy": raw}, body)


@FUZZ
@given(x=arrays(min_ndim=2), with_y=st.booleans(),
       compressed=st.booleans(), data=st.data())
def test_npz(x, with_y, compressed, data):
    buf = io.BytesIO()
    arrays_ = {"x": x}
    if with_y and x.ndim:
        arrays_["y"] = np.arange(len(x)) % 3
    (np.savez_compressed if compressed else np.savez)(buf, **arrays_)
    raw = mutate(data, buf.getvalue())

    def body(folder: Path) -> None:
        path = folder / "d.npz"
        outcome(lambda: read_npz(path), lambda r: all(a.dtype.kind in "biuf"
                                                      for a in r.values()))
        outcome(lambda: load_dataset(str(path), split="all"), check_images)
        outcome(lambda: load_dataset(str(path), split="test", limit=2), check_images)
        outcome(lambda: load_patterns(path), check_spins({-1.0, 1.0}))
    in_tmp({"d.npz": raw}, body)


IDX_DTYPES = st.sampled_from([np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])


@FUZZ
@given(shape=st.lists(st.integers(0, 5), min_size=3, max_size=3), dtype=IDX_DTYPES,
       gz=st.booleans(), huge=st.booleans(), inner=st.booleans(), data=st.data())
def test_idx(shape, dtype, gz, huge, inner, data):
    rng = np.random.default_rng(len(shape))
    arr = (rng.random(shape) * 255).astype(dtype)
    buf = io.BytesIO()
    write_idx_bytes(buf, arr)
    plain = buf.getvalue()
    if huge:  # declare far more rows than the file holds
        plain = plain[:4] + struct.pack(">I", 2**32 - 1) + plain[8:]
    if inner:  # damage the data itself, then (maybe) compress it intact
        plain = mutate(data, plain, header=16)
    raw = gzip.compress(plain, mtime=0) if gz else plain
    if not inner:
        raw = mutate(data, raw, header=16)
    labels = write_idx_bytes(io.BytesIO(), np.arange(shape[0], dtype=np.uint8) % 10)
    intact = raw == (gzip.compress(plain, mtime=0) if gz else plain) and not huge

    def check_array(a):
        assert a.dtype.isnative
        if intact and plain == buf.getvalue():
            assert np.array_equal(a, arr)

    def body(folder: Path) -> None:
        path = folder / "d-images-idx3-ubyte"
        outcome(lambda: read_idx(path), check_array)
        outcome(lambda: read_idx(path, start=1, limit=2), lambda a: a.shape[0] <= 2)
        outcome(lambda: load_dataset(str(path), split="train", limit=3), check_images)
        outcome(lambda: load_dataset(str(path), split="test"), check_images)
    in_tmp({"d-images-idx3-ubyte": raw, "d-labels-idx1-ubyte": labels}, body)


def write_idx_bytes(buf: io.BytesIO, arr: np.ndarray) -> bytes:
    """IDX bytes of ``arr`` (through :func:`write_idx`, so the layout is the reader's)."""
    with tempfile.TemporaryDirectory() as d:
        path = write_idx(Path(d) / "a.idx", arr)
        raw = Path(path).read_bytes()
    buf.write(raw)
    return raw


@st.composite
def png_bytes(draw, size: tuple[int, int]) -> bytes:
    from PIL import Image

    mode = draw(st.sampled_from(["L", "RGB", "RGBA", "LA", "I;16", "P", "1"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    w, h = size
    if mode == "I;16":
        img = Image.fromarray(rng.integers(0, 65536, (h, w)).astype(np.uint16))
    else:
        img = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).convert(mode)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


@FUZZ
@given(w=st.integers(1, 6), h=st.integers(1, 6), count=st.integers(1, 3),
       odd_size=st.booleans(), data=st.data())
def test_png_folder(w, h, count, odd_size, data):
    files = {f"{k}.png": data.draw(png_bytes((w, h)), label="png") for k in range(count)}
    if odd_size:
        files["z.png"] = data.draw(png_bytes((w + 1, h)), label="odd")
    victim = data.draw(st.sampled_from(sorted(files)), label="victim")
    files[victim] = mutate(data, files[victim], header=40)

    def body(folder: Path) -> None:
        outcome(lambda: load_dataset(str(folder), split="all"), check_images)
        outcome(lambda: load_dataset(str(folder), split="train", limit=1), check_images)
    in_tmp(files, body)


COORDS = st.floats(-1e6, 1e6, allow_nan=False) | st.sampled_from([1e300, -1e300, 0.5])


@st.composite
def tsp_text(draw) -> str:
    n = draw(st.integers(1, 7))
    kind = draw(st.sampled_from(["EUC_2D", "CEIL_2D", "ATT", "GEO", "MAN_3D", "EXPLICIT"]))
    dim = draw(st.sampled_from([str(n), str(n), str(n + 1), "0", "-2", "99999999999"]))
    lines = ["NAME: fuzz", "TYPE: TSP", f"DIMENSION: {dim}", f"EDGE_WEIGHT_TYPE: {kind}"]
    if draw(st.booleans()):
        lines.append(f"DIMENSION: {draw(st.sampled_from([dim, str(n + 2)]))}")
    if kind == "EXPLICIT":
        fmt = draw(st.sampled_from(["FULL_MATRIX", "UPPER_ROW", "LOWER_DIAG_ROW"]))
        rng = np.random.default_rng(n)
        m = rng.integers(0, 100, (n, n))
        m = m + m.T
        np.fill_diagonal(m, 0)
        vals = {"FULL_MATRIX": m.ravel(), "UPPER_ROW": m[np.triu_indices(n, 1)],
                "LOWER_DIAG_ROW": m[np.tril_indices(n)]}[fmt]
        lines += [f"EDGE_WEIGHT_FORMAT: {fmt}", "EDGE_WEIGHT_SECTION",
                  " ".join(str(int(v)) for v in vals)]
    else:
        k = 3 if kind.endswith("3D") else 2
        lines.append("NODE_COORD_SECTION")
        for i in range(n):
            xs = [draw(COORDS) for _ in range(k)]
            lines.append(f"{i + 1} " + " ".join(repr(x) for x in xs))
        if draw(st.booleans()):
            lines[-1] = lines[-1] + " nan"
    lines.append("EOF")
    return "\n".join(lines) + "\n"


@FUZZ
@given(text=tsp_text(), data=st.data())
def test_tsplib(text, data):
    raw = mutate(data, text.encode(), header=80)

    def body(folder: Path) -> None:
        outcome(lambda: read_tsplib(folder / "f.tsp", find_optimum=False), check_instance)
        outcome(lambda: load_instance(folder / "f.tsp"), check_instance)
    in_tmp({"f.tsp": raw}, body)


@FUZZ
@given(n=st.integers(1, 9), seed=st.integers(0, 100), data=st.data())
def test_tour(n, seed, data):
    tour = np.random.default_rng(seed).permutation(n) + 1
    text = f"NAME: t\nTYPE: TOUR\nDIMENSION: {n}\nTOUR_SECTION\n" + \
        "\n".join(map(str, tour)) + "\n-1\nEOF\n"
    raw = mutate(data, text.encode(), header=40)

    def check(t):
        assert np.array_equal(np.sort(t), np.arange(len(t))) and len(t) >= 1

    def check_n(t):
        check(t)
        assert len(t) == n

    def body(folder: Path) -> None:
        outcome(lambda: read_tour(folder / "t.tour"), check)
        outcome(lambda: read_tour(folder / "t.tour", n), check_n)
    in_tmp({"t.tour": raw}, body)


@FUZZ
@given(p=st.integers(1, 3), h=st.integers(1, 4), w=st.integers(1, 4), seed=st.integers(0, 99),
       data=st.data())
def test_glyph_pattern_files(p, h, w, seed, data):
    rng = np.random.default_rng(seed)
    glyphs = "\n\n".join("\n".join("".join(rng.choice(list("#.10"), w)) for _ in range(h))
                         for _ in range(p))
    raw = mutate(data, glyphs.encode(), header=20)

    def check(result):
        check_spins({-1.0, 1.0})(result)
        if raw == glyphs.encode():
            assert result[0].shape == (p, h * w) and result[1] == (h, w)

    def body(folder: Path) -> None:
        outcome(lambda: load_patterns(folder / "g.txt"), check)
        outcome(lambda: load_patterns(folder / "g.txt", "cues", allow_zero=True), check)
    in_tmp({"g.txt": raw}, body)


@pytest.mark.parametrize("name", ["a.npy", "d.npz", "d-images-idx3-ubyte", "f.tsp", "g.txt"])
def test_empty_files(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"")
    loaders = [lambda: load_dataset(str(path), split="all"), lambda: load_patterns(path),
               lambda: load_instance(path), lambda: read_tour(path)]
    for load in loaders:
        with pytest.raises(GenlabError):
            load()
