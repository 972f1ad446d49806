"""IDX reader/writer: round trips, and refusal of every kind of damaged file."""

import gzip
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genlab.data.idx import IDX_TYPES, read_idx, write_idx
from genlab.errors import GenlabError

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("gz", [False, True])
def test_round_trip(tmp_path, dtype, gz):
    rng = np.random.default_rng(1)
    arr = (rng.normal(size=(5, 3, 4)) * 50).astype(dtype)
    path = tmp_path / ("a.idx.gz" if gz else "a.idx")
    write_idx(path, arr)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype)
    assert back.shape == arr.shape
    np.testing.assert_array_equal(back, arr)
    raw = path.read_bytes()
    assert (raw[:2] == b"\x1f\x8b") == gz


def test_header_layout_matches_the_format(tmp_path):
    # Hand-built file: magic 00 00 08 03, sizes 2,2,3 big-endian, then 12 bytes.
    body = bytes(range(12))
    raw = bytes([0, 0, 8, 3]) + struct.pack(">III", 2, 2, 3) + body
    (tmp_path / "h.idx").write_bytes(raw)
    arr = read_idx(tmp_path / "h.idx")
    assert arr.shape == (2, 2, 3)
    assert arr.ravel().tolist() == list(range(12))
    # and the writer produces exactly these bytes
    write_idx(tmp_path / "w.idx", arr)
    assert (tmp_path / "w.idx").read_bytes() == raw


def test_big_endian_multibyte(tmp_path):
    raw = bytes([0, 0, 0x0B, 1]) + struct.pack(">I", 2) + struct.pack(">hh", -2, 258)
    (tmp_path / "s.idx").write_bytes(raw)
    assert read_idx(tmp_path / "s.idx").tolist() == [-2, 258]


@pytest.mark.parametrize("raw,fragment", [
    (b"", "truncated"),
    (b"\x00\x00", "truncated"),
    (b"\x01\x00\x08\x01" + struct.pack(">I", 1) + b"\x00", "not an IDX"),
    (b"\x00\x00\x07\x01" + struct.pack(">I", 1) + b"\x00", "type code"),
    (b"\x00\x00\x08\x00", "0 dimensions"),
    (b"\x00\x00\x08\x02" + struct.pack(">I", 3), "truncated"),
    (b"\x00\x00\x08\x01" + struct.pack(">I", 4) + b"\x00\x01", "truncated"),
    (b"\x00\x00\x08\x01" + struct.pack(">I", 1) + b"\x00\x01", "bytes after"),
    (b"\x00\x00\x0d\x03" + struct.pack(">III", 2**31, 2**31, 2**31), "corrupt"),
])
def test_damaged_files_are_refused(tmp_path, raw, fragment):
    path = tmp_path / "bad.idx"
    path.write_bytes(raw)
    with pytest.raises(GenlabError, match=fragment):
        read_idx(path)


def test_corrupt_gzip_is_refused(tmp_path):
    good = gzip.compress(bytes([0, 0, 8, 1]) + struct.pack(">I", 3) + b"abc")
    path = tmp_path / "bad.gz"
    path.write_bytes(good[:-6])  # cut the trailer
    with pytest.raises(GenlabError):
        read_idx(path)
    path.write_bytes(good[:10] + b"\xff" * 10 + good[20:])
    with pytest.raises(GenlabError):
        read_idx(path)


def test_missing_file(tmp_path):
    with pytest.raises(GenlabError, match="not found"):
        read_idx(tmp_path / "nope.idx")


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=64), gz=st.booleans())
def test_fuzz_random_bytes_never_crash(tmp_path, data, gz):
    """Any byte string either parses to an array consistent with its header or raises
    GenlabError; nothing else escapes."""
    path = tmp_path / "fuzz.idx"
    path.write_bytes(gzip.compress(data) if gz else data)
    try:
        arr = read_idx(path)
    except GenlabError:
        return
    code, ndim = data[2], data[3]
    assert arr.ndim == ndim
    assert arr.dtype == IDX_TYPES[code].newbyteorder("=")
    assert 4 + 4 * ndim + arr.size * arr.dtype.itemsize == len(data)


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shape=st.lists(st.integers(0, 4), min_size=1, max_size=4),
       dtype=st.sampled_from(DTYPES), cut=st.integers(1, 8), extra=st.integers(1, 8))
def test_fuzz_truncated_and_oversized(tmp_path, shape, dtype, cut, extra):
    arr = np.zeros(shape, dtype=dtype)
    path = tmp_path / "f.idx"
    write_idx(path, arr)
    raw = path.read_bytes()
    path.write_bytes(raw + b"\x00" * extra)
    with pytest.raises(GenlabError, match="bytes after"):
        read_idx(path)
    path.write_bytes(raw[: max(0, len(raw) - cut)])
    with pytest.raises(GenlabError, match="truncated"):
        read_idx(path)


def _huge_gzip(path, rows=10, pad=2_200_000):
    """A gzip of ~2.6 MB whose header declares 50,000 x 200 x 200 (2 GB) but which holds
    only ``rows`` real rows and incompressible padding: small enough for deflate's ratio
    bound, far too short for its header."""
    rng = np.random.default_rng(0)
    body = rng.integers(0, 256, (rows, 200, 200), dtype=np.uint8)
    header = bytes([0, 0, 8, 3]) + struct.pack(">III", 50_000, 200, 200)
    path.write_bytes(gzip.compress(header + body.tobytes() + rng.bytes(pad), compresslevel=1))
    return body


def _peak_bytes(fn):
    import tracemalloc

    tracemalloc.start()
    try:
        result = None
        try:
            result = fn()
        except GenlabError as exc:
            result = exc
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_gzip_bomb_reads_only_the_rows_asked_for(tmp_path):
    path = tmp_path / "bomb-images-idx3-ubyte.gz"
    body = _huge_gzip(path)
    arr, peak = _peak_bytes(lambda: read_idx(path, limit=10))
    assert arr.shape == (10, 200, 200) and np.array_equal(arr, body)
    assert peak < 20e6  # the 10 rows (400 KB) and gzip's buffers, never the declared 2 GB
    assert np.array_equal(read_idx(path, start=3, limit=2), body[3:5])
    # all of it: streamed until the data ends, reported as truncated with both sizes
    exc, peak = _peak_bytes(lambda: read_idx(path))
    assert isinstance(exc, GenlabError) and peak < 100e6
    assert "truncated" in str(exc) and "(50000, 200, 200)" in str(exc)
    assert "2000000000 bytes" in str(exc) and "ends after 2600000 bytes" in str(exc)


def test_header_beyond_what_gzip_can_hold_is_refused_before_reading(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(bytes([0, 0, 8, 3]) + struct.pack(">III", 60000, 28, 28)))
    with pytest.raises(GenlabError, match="more than a gzip file of .* can hold"):
        read_idx(path, limit=1)


def test_declared_size_beyond_memory_is_refused_with_the_size(tmp_path, monkeypatch):
    import genlab.memory as memory

    path = tmp_path / "x.idx"
    write_idx(path, np.zeros((100, 50, 50), np.uint8))
    monkeypatch.setattr(memory, "available_memory", lambda device="cpu": 100_000)
    with pytest.raises(GenlabError, match=r"needs about 250 kB; this machine has "
                                          r"100 kB available.*--limit"):
        read_idx(path)
    assert read_idx(path, limit=20).shape == (20, 50, 50)  # 50 KB fits


def test_raw_file_size_must_match_before_any_row_is_read(tmp_path):
    path = tmp_path / "x.idx"
    write_idx(path, np.arange(24, dtype=np.uint8).reshape(4, 3, 2))
    raw = path.read_bytes()
    assert np.array_equal(read_idx(path, start=1, limit=2), np.arange(6, 18).reshape(2, 3, 2))
    path.write_bytes(raw[:-1])
    with pytest.raises(GenlabError, match="truncated"):
        read_idx(path, limit=1)  # the first row is there, but the file is still refused
    path.write_bytes(raw + b"\x00")
    with pytest.raises(GenlabError, match="bytes after"):
        read_idx(path, limit=1)
