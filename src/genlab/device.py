"""The torch device from ``--device auto|cpu|cuda``, and the CPU float mode for training."""

import ctypes
import ctypes.util
import functools
import platform
from collections.abc import Iterator
from contextlib import contextmanager

import torch

from genlab.errors import GenlabError

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """Return the torch device for ``name``.

    ``auto`` picks CUDA when it is available and the CPU otherwise; ``cuda`` (or
    ``cuda:N``) is an error when no GPU is present.
    """
    if isinstance(name, torch.device):
        return name
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise GenlabError(f"--device {name} asked for, but no CUDA GPU is available; "
                              "use --device cpu or auto")
        return torch.device(name)
    raise GenlabError(f"unknown device {name!r}; choose one of auto, cpu, cuda")


def native_bf16(device: torch.device | str) -> bool:
    """Whether ``device`` computes bfloat16 products natively (so ``--amp`` pays off).

    CUDA: ``torch.cuda.is_bf16_supported()``. CPU: the x86 AVX512-BF16 or AMX-BF16
    instructions (read from ``/proc/cpuinfo``); elsewhere bfloat16 would be emulated,
    slower than float32, so it counts as not native.
    """
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device.type != "cpu":
        return False
    return _cpu_has_bf16()


@functools.cache
def _cpu_has_bf16() -> bool:
    return bool(set(_cpuinfo("flags").split()) & {"avx512_bf16", "amx_bf16"})


def _cpuinfo(field: str) -> str:
    """The first ``field`` of ``/proc/cpuinfo`` ("" where there is none)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.split(":", 1)[0].strip() == field:
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def cpu_name() -> str:
    """The CPU's model name, for benchmark records (``platform.processor()`` is often
    empty on Linux): ``/proc/cpuinfo``'s model name, else the platform's processor or
    machine string."""
    return _cpuinfo("model name") or platform.processor() or platform.machine()


# glibc mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3


@functools.cache
def keep_freed_memory(mmap_threshold: int = 64 << 20, trim_threshold: int = 512 << 20,
                      top_pad: int = 64 << 20) -> bool:
    """Let glibc's allocator reuse freed blocks instead of mapping fresh pages each step.

    A training step allocates and frees the same few-megabyte activations every time. By
    default glibc serves blocks above a threshold with ``mmap`` and returns them on free,
    so every step faults in new zeroed pages; raising the ``mmap`` and trim thresholds
    keeps them on the heap. Measured on a 2-core VM: the 64x64 beta-VAE step went from
    115 to 78 ms in float32. Returns whether the settings took (False off glibc).

    It changes the allocator of the whole process, so no library function calls it: the
    ``genlab`` command does, once per process (``genlab.cli.main.process_settings``),
    and a program that trains on the CPU may call it itself.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return all(mallopt(k, v) == 1 for k, v in ((_M_MMAP_THRESHOLD, mmap_threshold),
                                                (_M_TRIM_THRESHOLD, trim_threshold),
                                                (_M_TOP_PAD, top_pad)))


def make_generator(seed: int | None, device: torch.device | str = "cpu") -> torch.Generator:
    """A ``torch.Generator`` on ``device`` seeded with ``seed`` (random seed when None)."""
    gen = torch.Generator(device=device)
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(int(seed))
    return gen


def _flushing_denormals() -> bool:
    """Whether this thread already flushes subnormal floats to zero."""
    return float(torch.tensor([1e-39], dtype=torch.float32) * 1.0) == 0.0


@contextmanager
def denormals_flushed() -> Iterator[None]:
    r"""Inside the block, CPU arithmetic flushes subnormal floats
    ($|x| < 1.2 \times 10^{-38}$ in float32) to zero; the previous mode is restored after.

    Training steps make subnormals: the velocity of a weight whose gradient is exactly zero
    (a pixel that is never on) halves at every step under momentum 0.5, and saturated
    sigmoids give probabilities of 1e-40. x86 CPUs compute with subnormals many times more
    slowly (measured: a PCD epoch 25-35% slower); as gradient terms they are worth nothing.
    """
    already = _flushing_denormals()
    supported = torch.set_flush_denormal(True)
    try:
        yield
    finally:
        if supported and not already:
            torch.set_flush_denormal(False)
