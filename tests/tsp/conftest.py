"""Shared fixtures for the TSP tests: the TSPLIB folder beside the repository, if present."""

from pathlib import Path

import pytest
import torch

TSPLIB = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "tsplib"


@pytest.fixture(autouse=True)
def _one_thread():
    # the networks are small batched tensors: one thread is fastest and deterministic
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def tsplib_dir() -> Path:
    """``../shared/data/tsplib`` relative to the repository root; skips when absent."""
    if not (TSPLIB / "OPTIMA.txt").is_file():
        pytest.skip(f"TSPLIB instances not found in {TSPLIB}")
    return TSPLIB
