"""Refuse sizes that cannot fit in memory before anything is allocated.

A size the user sets (chains, samples, restarts, hidden units, a grid, ...) decides how
much memory a command needs. Asked for far too much, torch fails deep inside with a
``DefaultCPUAllocator`` traceback, or the machine starts swapping. Commands instead
estimate their dominant allocation up front and call ``check_allocation``, which
raises a one-line ``GenlabError`` naming the size, the estimate and the
memory the machine has:

    --chains 10000000 with 784 units needs about 31.4 GB; this machine has 21.9 GB
    available; use fewer chains

Estimates are deliberately rough (within a small factor of the truth): they exist to catch
sizes that are off by orders of magnitude, not to pack memory tightly.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable
from typing import Any

import torch

from genlab.errors import GenlabError


def _meminfo_available(path: str = "/proc/meminfo") -> int | None:
    """``MemAvailable`` from ``/proc/meminfo`` in bytes (None where it cannot be read)."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    parts = line.split()
                    scale = 1024 if len(parts) > 2 and parts[2].lower() == "kb" else 1
                    return int(parts[1]) * scale
    except (OSError, ValueError, IndexError):
        pass
    return None


def _sysconf_available() -> int | None:
    """Free physical pages times the page size (less than MemAvailable: the page cache
    is not counted), else the total physical memory; None where neither is known."""
    for pages in ("SC_AVPHYS_PAGES", "SC_PHYS_PAGES"):
        try:
            count, size = os.sysconf(pages), os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            continue
        if count > 0 and size > 0:
            return count * size
    return None


def available_memory(device: torch.device | str = "cpu") -> int | None:
    """Bytes that can be allocated now on ``device``; None when unknown (no check then).

    CPU: ``MemAvailable`` of ``/proc/meminfo`` (free memory plus the caches the kernel can
    drop), else ``os.sysconf``'s free pages. CUDA: the free memory that
    ``torch.cuda.mem_get_info`` reports plus what torch's caching allocator holds unused
    (it is reused before anything new is asked of the driver).
    """
    device = torch.device(device)
    if device.type == "cuda":
        try:
            free, _ = torch.cuda.mem_get_info(device)
            idle = torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)
        except (RuntimeError, AssertionError, ValueError):
            return None
        return int(free) + max(0, int(idle))
    if device.type != "cpu":
        return None
    found = _meminfo_available()
    return found if found is not None else _sysconf_available()


def format_bytes(nbytes: float) -> str:
    """``nbytes`` in decimal units with three significant digits: ``31.4 GB``, ``512 kB``."""
    value = float(nbytes)
    if value >= 999.5e18:  # beyond exabytes a power of ten reads better
        return f"{value:.2g} bytes"
    for unit in ("bytes", "kB", "MB", "GB", "TB", "PB", "EB"):
        if value < 999.5 or unit == "EB":
            break
        value /= 1000.0
    if unit == "bytes":
        return f"{int(value)} bytes"
    return f"{value:.3g} {unit}"


def dtype_size(dtype: torch.dtype) -> int:
    """Bytes per element of ``dtype`` (``torch.bool`` and ``torch.int8``: 1)."""
    return dtype.itemsize


def tensor_bytes(shape: Iterable[int], dtype: torch.dtype = torch.float32) -> int:
    """Bytes of a tensor of ``shape`` and ``dtype`` (exact, whatever the sizes: Python
    integers do not overflow)."""
    return math.prod(int(s) for s in shape) * dtype_size(dtype)


def check_allocation(nbytes: float, what: str, device: torch.device | str = "cpu",
                     hint: str | None = None) -> None:
    """Raise ``GenlabError`` when about ``nbytes`` will not fit in ``device``'s memory.

    ``what`` names the sizes that need it, as the subject of "needs": ``"--chains 10000000
    with 784 units"``, or for library callers ``"sampling 10000000 chains of 784 units"``;
    ``hint`` says what to change
    (``"use fewer chains"``). The message is one line: the estimate and the machine's
    available memory, in human units. Nothing happens when the available memory is
    unknown (an unknown device, no ``/proc``).
    """
    limit = available_memory(device)
    if limit is None or nbytes <= limit:
        return
    where = "this GPU has" if torch.device(device).type == "cuda" else "this machine has"
    message = (f"{what} needs about {format_bytes(nbytes)}; {where} "
               f"{format_bytes(limit)} available")
    raise GenlabError(message + (f"; {hint}" if hint else ""))


def parameter_bytes(build: Callable[[], torch.nn.Module]) -> int:
    """Bytes of the parameters of the module ``build()`` returns, found without allocating
    them: ``build`` runs with the meta device as the default (shapes only, no storage)."""
    with torch.device("meta"):
        module = build()
    return sum(p.numel() * p.element_size() for p in module.parameters())


def forward_bytes(module: torch.nn.Module, run: Callable[[torch.nn.Module], Any]) -> int | None:
    """Bytes of every tensor the submodules of ``module`` return during ``run(copy)``,
    where ``copy`` is ``module`` moved to the meta device (nothing is computed or
    allocated): an upper bound of the activations one call keeps. ``run`` gets the copy
    and must build its inputs on ``torch.device("meta")``. None when the model cannot run
    on the meta device."""
    copy = _meta_copy(module)
    total = 0

    def count(_mod: torch.nn.Module, _inp: Any, out: Any) -> None:
        nonlocal total
        if isinstance(out, torch.Tensor):
            total += out.numel() * out.element_size()

    hooks = [m.register_forward_hook(count) for m in copy.modules()]
    try:
        with torch.no_grad():
            run(copy)
    except (RuntimeError, NotImplementedError, TypeError, ValueError):
        return None
    finally:
        for h in hooks:
            h.remove()
    return total


def _meta_copy(module: torch.nn.Module) -> torch.nn.Module:
    """``module`` with every parameter and buffer on the meta device (the original is left
    as it is; no storage is copied)."""
    import copy

    memo = {id(t): t.detach().to("meta") for t in (*module.parameters(), *module.buffers())}
    return copy.deepcopy(module, memo).to("meta")
