"""Memory estimates and the one-line refusal of sizes that cannot fit."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from genlab import memory
from genlab.errors import GenlabError
from genlab.memory import (
    available_memory,
    check_allocation,
    format_bytes,
    forward_bytes,
    parameter_bytes,
    tensor_bytes,
)

GB = 10 ** 9


@pytest.fixture
def limit(monkeypatch):
    """Pretend the machine has ``limit(nbytes)`` bytes available."""
    def set_limit(nbytes: int | None) -> None:
        monkeypatch.setattr(memory, "available_memory", lambda device="cpu": nbytes)
    return set_limit


def test_available_memory_reads_meminfo(tmp_path, monkeypatch):
    info = tmp_path / "meminfo"
    info.write_text("MemTotal:       24683772 kB\nMemAvailable:   21900000 kB\n")
    assert memory._meminfo_available(str(info)) == 21900000 * 1024
    assert memory._meminfo_available(str(tmp_path / "missing")) is None


def test_available_memory_falls_back_to_sysconf(monkeypatch):
    monkeypatch.setattr(memory, "_meminfo_available", lambda path="": None)
    found = available_memory("cpu")
    assert found is None or found > 0
    assert found == memory._sysconf_available()


def test_available_memory_is_positive_here():
    assert available_memory("cpu") > 0
    assert available_memory("meta") is None


def test_refusal_is_one_line_with_estimate_limit_and_hint(limit):
    limit(int(21.9 * GB))
    with pytest.raises(GenlabError) as exc:
        check_allocation(31.4 * GB, "--chains 10000000 with 784 units", "cpu",
                         "use fewer chains")
    assert str(exc.value) == ("--chains 10000000 with 784 units needs about 31.4 GB; this "
                              "machine has 21.9 GB available; use fewer chains")


def test_sizes_that_fit_pass_and_unknown_memory_is_not_checked(limit):
    limit(GB)
    check_allocation(GB, "exactly the limit")
    limit(None)
    check_allocation(10 ** 30, "anything when the limit is unknown")


@pytest.mark.parametrize("nbytes, text", [(0, "0 bytes"), (999, "999 bytes"),
                                          (1000, "1 kB"), (31_400_000_000, "31.4 GB"),
                                          (2.5e15, "2.5 PB"), (4.8e25, "4.8e+25 bytes")])
def test_format_bytes(nbytes, text):
    assert format_bytes(nbytes) == text


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=0, max_size=4),
       st.sampled_from([torch.int8, torch.float16, torch.float32, torch.float64,
                        torch.int64, torch.complex64]))
def test_tensor_bytes_matches_torch(shape, dtype):
    assert tensor_bytes(shape, dtype) == torch.empty(shape, dtype=dtype).nbytes


def test_tensor_bytes_of_absurd_shapes_does_not_overflow():
    assert tensor_bytes((10 ** 12, 784), torch.float32) == 4 * 784 * 10 ** 12


def test_parameter_and_forward_bytes_allocate_nothing():
    def build():
        return torch.nn.Sequential(torch.nn.Linear(10 ** 6, 10 ** 6), torch.nn.ReLU())
    assert parameter_bytes(build) == 4 * (10 ** 12 + 10 ** 6)  # 4 TB, never allocated
    net = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.Linear(5, 2))
    seen = forward_bytes(net, lambda c: c(torch.zeros(7, 3, device="meta")))
    assert seen == 4 * 7 * (5 + 5 + 2 + 2)  # each layer, and the Sequential's own output
    assert next(net.parameters()).device.type == "cpu"  # the original is untouched
