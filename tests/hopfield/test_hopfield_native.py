"""The compiled asynchronous Hopfield block (:mod:`genlab.hopfield.native`): its own library
in the shared kernel cache, and the one-unit-at-a-time rule to the last bit."""

import hashlib
import json
import os
import shutil

import pytest
import torch

import genlab.boltzmann.gibbs_native as gibbs_native
import genlab.hopfield.native as hn

COMPILER = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
pytestmark = pytest.mark.skipif(COMPILER is None, reason="no C compiler")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A fresh cache folder for fresh loads of both libraries (undone afterwards)."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("GENLAB_CACHE", str(folder))
    monkeypatch.delenv("GENLAB_NO_COMPILE", raising=False)
    for lib in (hn.LIBRARY, gibbs_native.LIBRARY):
        lib.load.cache_clear()
    yield folder
    for lib in (hn.LIBRARY, gibbs_native.LIBRARY):
        lib.load.cache_clear()


def test_hopfield_and_gibbs_libraries_sit_side_by_side_in_one_cache(cache):
    assert hn.LIBRARY.load() is not None and gibbs_native.LIBRARY.load() is not None
    names = set()
    for library in (hn.LIBRARY, gibbs_native.LIBRARY):
        lib, manifest = library.paths(cache)
        record = json.loads(manifest.read_text())
        assert record["key"] == library.cache_key()
        assert record["sha256"] == hashlib.sha256(lib.read_bytes()).hexdigest()
        names |= {lib.name, manifest.name}
    assert {p.name for p in cache.iterdir()} == names and len(names) == 4
    assert hn.LIBRARY.cache_key() != gibbs_native.LIBRARY.cache_key()


def block_reference(x, a, w, start, clamp, drop):
    """The block loop one unit and one chain at a time, in plain Python floats."""
    for c in range(x.shape[0]):
        for i in range(a.shape[1]):
            old = float(x[c, start + i])
            held = clamp is not None and bool(clamp[c, start + i])
            new = old if held else (1.0 if float(a[c, i]) >= 0 else -1.0)
            d = new - old
            drop[c] += d * float(a[c, i])
            x[c, start + i] = new
            for j in range(i + 1, a.shape[1]):
                a[c, j] += d * float(w[i, j])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_compiled_block_equals_the_unit_by_unit_rule(cache, dtype):
    # integer activities and couplings (ties a_i = 0 included): every sum is exact, so the
    # compiled loop (70 chains: a whole 64-chain tile and a ragged one) must give the bits
    kernel = hn.hopfield_kernel(dtype, torch.device("cpu"))
    assert kernel is not None
    g = torch.Generator().manual_seed(5)
    chains, n, k, start = 70, 20, 9, 6
    w = torch.randint(-2, 3, (k, k), generator=g).to(dtype)
    w = (torch.triu(w, 1) + torch.triu(w, 1).T).contiguous()
    x = torch.where(torch.rand(chains, n, generator=g) < 0.5, 1.0, -1.0).to(dtype)
    a = torch.randint(-3, 4, (chains, k), generator=g).to(dtype)
    clamp = (torch.rand(chains, n, generator=g) < 0.2).to(torch.uint8)
    ref = [x.clone(), a.clone(), torch.zeros(chains, dtype=dtype)]
    block_reference(ref[0], ref[1], w, start, clamp, ref[2])
    drop = torch.zeros(chains, dtype=dtype)
    hn.run_hopfield_block(kernel, x, a, w, start, clamp, drop)
    assert torch.equal(x, ref[0]) and torch.equal(drop, ref[2])
