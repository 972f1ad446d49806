"""Pattern and cue files: one reading of {0, 1} for store and recall, and refused values."""

import numpy as np
import pytest
import torch

from genlab.errors import GenlabError
from genlab.hopfield.patterns import as_spins, load_patterns


@pytest.mark.parametrize("suffix", [".npy", ".npz"])
def test_binary_file_reads_the_same_as_patterns_and_as_cues(tmp_path, suffix):
    bits = np.random.default_rng(0).integers(0, 2, (4, 12)).astype(np.uint8)
    path = tmp_path / f"b{suffix}"
    np.save(path, bits) if suffix == ".npy" else np.savez(path, bits)
    pats, _ = load_patterns(path)
    cues, _ = load_patterns(path, "cues", allow_zero=True)
    expected = torch.from_numpy(2.0 * bits - 1.0).float()
    assert torch.equal(pats, expected) and torch.equal(cues, expected)  # 0 -> -1 in both


def test_unknown_units_are_zeros_of_a_plus_minus_one_cue_file(tmp_path):
    cue = np.array([[1, -1, 0, 0, 1, -1]], dtype=np.int8)
    np.save(tmp_path / "c.npy", cue)
    cues, _ = load_patterns(tmp_path / "c.npy", "cues", allow_zero=True)
    assert cues.tolist() == [[1.0, -1.0, 0.0, 0.0, 1.0, -1.0]]
    with pytest.raises(GenlabError, match="found 0"):  # a pattern has no unknown units
        load_patterns(tmp_path / "c.npy")


@pytest.mark.parametrize("values, allow_zero, found", [
    ([[1, -1, 2]], False, "found 2"),
    ([[1, 0, 2]], True, "found 2"),
    ([[1, -1, 0.5]], True, "found 0.5"),
    ([[0, 1, -3]], False, "found -3"),
])
def test_values_outside_the_set_are_named(tmp_path, values, allow_zero, found):
    np.save(tmp_path / "v.npy", np.array(values, dtype=np.float32))
    with pytest.raises(GenlabError, match=found):
        load_patterns(tmp_path / "v.npy", "cues" if allow_zero else "patterns",
                      allow_zero=allow_zero)


@pytest.mark.parametrize("make, fragment", [
    (lambda p: p.write_bytes(b""), "is empty"),
    (lambda p: np.save(p, np.array([["a", "b"]])), "only arrays of numbers"),
    (lambda p: p.write_bytes(np.random.default_rng(1).bytes(50)), "not a valid .npy"),
    (lambda p: np.save(p, np.full((2, 3), np.inf)), "NaN or infinite"),
    (lambda p: np.save(p, np.zeros((3, 0))), "empty"),
])
def test_degenerate_pattern_files(tmp_path, make, fragment):
    path = tmp_path / "p.npy"
    make(path)
    with pytest.raises(GenlabError, match=fragment) as err:
        load_patterns(path)
    assert "pickle" not in str(err.value)


def test_as_spins_refuses_text_arrays():
    with pytest.raises(GenlabError, match="must be numbers"):
        as_spins(np.array([["1", "-1"]]))
