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
