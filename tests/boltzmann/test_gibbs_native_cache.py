"""The compiled-kernel cache (:mod:`genlab.native`), through the Gibbs kernel's library:
damaged, stray or stale files are rebuilt, never loaded; a good cache is reused; a folder
other users may write is not used."""

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

import genlab.boltzmann.gibbs_native as gn
import genlab.native as native

COMPILER = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
pytestmark = pytest.mark.skipif(COMPILER is None, reason="no C compiler")

# Same exported names as the real kernels, other behaviour: the float64 kernel writes 42.
IMPOSTOR_SOURCE = r"""
void gibbs_block_f32(void) {}
void gibbs_block_f64(double *x) { x[0] = 42; }
"""


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A fresh cache folder in ``tmp_path`` for a fresh load (undone afterwards)."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("GENLAB_CACHE", str(folder))
    monkeypatch.delenv("GENLAB_NO_COMPILE", raising=False)
    gn.LIBRARY.load.cache_clear()
    yield folder
    gn.LIBRARY.load.cache_clear()


@pytest.fixture
def compiles(monkeypatch):
    """A list that grows by one for every compilation a load starts."""
    calls, real = [], native._compile

    def counting(compiler, folder, name, source):
        calls.append(compiler)
        return real(compiler, folder, name, source)

    monkeypatch.setattr(native, "_compile", counting)
    return calls


def load():
    gn.LIBRARY.load.cache_clear()
    return gn.LIBRARY.load()


def paths(folder: Path) -> tuple[Path, Path]:
    lib, manifest = gn.LIBRARY.paths(folder)
    assert lib == folder / f"gibbs_block_{gn.LIBRARY.cache_key()[:16]}.so"
    return lib, manifest


def kernel_results(dll) -> tuple[torch.Tensor, ...]:
    """Run both kernels of ``dll`` (float32, float64) on fixed inputs (one block each)."""
    g = torch.Generator().manual_seed(3)
    n, chains, k = 20, 70, 12
    w = torch.randn(n, n, generator=g, dtype=torch.float64)
    w = torch.triu(w, 1) + torch.triu(w, 1).T
    x = torch.where(torch.rand(chains, n, generator=g) < 0.5, 1.0, -1.0).double()
    a = torch.randn(chains, k, generator=g, dtype=torch.float64)
    logit_u = torch.randn(chains, n, generator=g, dtype=torch.float64)
    gn.run_block(dll.gibbs_block_f64, x, a, logit_u, w, 4, 1.3)
    xf = torch.where(torch.rand(chains, n, generator=g) < 0.5, 1.0, -1.0)
    af = torch.randn(chains, k, generator=g)
    lf = torch.randn(chains, n, generator=g)
    gn.run_block(dll.gibbs_block_f32, xf, af, lf, w.float(), 3, 0.7)
    return x, a, xf, af


def assert_sound(folder: Path) -> None:
    """The library on disk is the one its manifest describes, for this source."""
    lib, manifest = paths(folder)
    record = json.loads(manifest.read_text())
    assert record["key"] == gn.LIBRARY.cache_key()
    assert record["sha256"] == hashlib.sha256(lib.read_bytes()).hexdigest()


def test_fresh_build_is_private_and_has_a_manifest(cache, compiles):
    dll = load()
    assert dll is not None and len(compiles) == 1
    assert_sound(cache)
    lib, manifest = paths(cache)
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    assert stat.S_IMODE(lib.stat().st_mode) == stat.S_IMODE(manifest.stat().st_mode) == 0o600
    assert sorted(p.name for p in cache.iterdir()) == sorted([lib.name, manifest.name])


def test_good_cache_is_reused_without_compiling(cache, compiles):
    fresh = kernel_results(load())
    lib, manifest = paths(cache)
    before = [(p.stat().st_ino, p.stat().st_mtime_ns) for p in (lib, manifest)]
    again = kernel_results(load())
    assert len(compiles) == 1
    assert [(p.stat().st_ino, p.stat().st_mtime_ns) for p in (lib, manifest)] == before
    for u, v in zip(fresh, again, strict=True):
        assert torch.equal(u, v)


def impostor(folder: Path) -> bytes:
    src, out = folder.parent / "impostor.c", folder.parent / "impostor.so"
    src.write_text(IMPOSTOR_SOURCE)
    subprocess.run([COMPILER, *native.CFLAGS, "-o", str(out), str(src)], check=True)
    return out.read_bytes()


def damage(kind: str, folder: Path) -> None:
    lib, manifest = paths(folder)
    data = lib.read_bytes()
    if kind == "truncated library":
        lib.write_bytes(data[: len(data) // 2])
    elif kind == "garbage library":
        lib.write_bytes(os.urandom(len(data)))
    elif kind == "other library":
        lib.write_bytes(impostor(folder))
    elif kind == "missing library":
        lib.unlink()
    elif kind == "missing manifest":
        manifest.unlink()
    elif kind == "corrupt manifest":
        manifest.write_bytes(manifest.read_bytes()[:20])
    elif kind == "manifest of another source":
        record = json.loads(manifest.read_text())
        record["key"] = hashlib.sha256(b"another source").hexdigest()
        manifest.write_text(json.dumps(record))
    elif kind == "library writable by others":
        lib.chmod(0o666)
    elif kind == "library is a link":
        (folder / "elsewhere.so").write_bytes(data)
        lib.unlink()
        lib.symlink_to(folder / "elsewhere.so")
    else:
        raise AssertionError(kind)


KINDS = ["truncated library", "garbage library", "other library", "missing library",
         "missing manifest", "corrupt manifest", "manifest of another source",
         "library writable by others", "library is a link"]


@pytest.mark.parametrize("kind", KINDS)
def test_damaged_cache_is_rebuilt_and_gives_the_fresh_results(cache, compiles, kind):
    fresh = kernel_results(load())
    damage(kind, cache)
    dll = load()
    assert dll is not None and len(compiles) == 2
    assert_sound(cache)
    lib, _ = paths(cache)
    assert not lib.is_symlink() and stat.S_IMODE(lib.stat().st_mode) == 0o600
    for u, v in zip(fresh, kernel_results(dll), strict=True):
        assert torch.equal(u, v)  # the impostor would have written 42


def test_library_changed_after_the_check_is_not_what_runs(cache, compiles, monkeypatch):
    """The bytes hashed are the bytes loaded: replacing the file between the check and the
    load (here: inside the load) does not change the kernel."""
    fresh = kernel_results(load())
    lib, _ = paths(cache)
    other = impostor(cache)
    real = native._dlopen

    def swap_then_open(data, folder):
        lib.write_bytes(other)
        return real(data, folder)

    monkeypatch.setattr(native, "_dlopen", swap_then_open)
    dll = load()
    assert len(compiles) == 1
    for u, v in zip(fresh, kernel_results(dll), strict=True):
        assert torch.equal(u, v)


def test_truncated_library_in_a_new_process_does_not_crash_it(cache):
    # Loaded as it is, a truncated library ends the process with SIGBUS and no message.
    load()
    lib, _ = paths(cache)
    lib.write_bytes(lib.read_bytes()[:4096])
    script = textwrap.dedent("""
        from genlab.boltzmann.gibbs_native import LIBRARY
        dll = LIBRARY.load()
        assert dll is not None
        print(dll.gibbs_block_f64 is not None)
    """)
    env = {**os.environ, "GENLAB_CACHE": str(cache)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=120)
    assert (done.returncode, done.stdout.strip()) == (0, "True"), done.stderr
    assert_sound(cache)


def test_without_memory_files_a_private_copy_is_loaded_and_removed(cache, monkeypatch):
    fresh = kernel_results(load())
    monkeypatch.delattr(os, "memfd_create")
    dll = load()
    assert dll is not None and str(cache) in dll._name
    assert not any(p.name.startswith(".") for p in cache.iterdir())
    for u, v in zip(fresh, kernel_results(dll), strict=True):
        assert torch.equal(u, v)


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o757])
def test_folder_writable_by_others_is_not_used(cache, compiles, capsys, mode):
    cache.mkdir()
    cache.chmod(mode)
    assert load() is None and gn.native_kernel(torch.float64, torch.device("cpu")) is None
    assert gn.LIBRARY.load() is None  # cached: warned once
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("genlab: warning: ")
    assert "chmod go-w" in err[0] and str(cache) in err[0]
    assert compiles == [] and list(cache.iterdir()) == []


def test_sticky_shared_folder_is_used(cache, compiles):
    cache.mkdir()
    cache.chmod(0o1777)  # like /tmp: others may add files but not replace this user's
    assert load() is not None and len(compiles) == 1
    assert_sound(cache)


def test_folder_of_another_user_is_not_used(cache, compiles, capsys, monkeypatch):
    cache.mkdir(mode=0o700)
    uid = os.geteuid()
    monkeypatch.setattr(os, "geteuid", lambda: uid + 1)
    assert load() is None and compiles == []
    assert "belongs to another user" in capsys.readouterr().err


def test_no_compiler_or_failed_compile_falls_back_quietly(cache, capsys, monkeypatch):
    monkeypatch.delenv("CC", raising=False)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert load() is None
    monkeypatch.setenv("CC", shutil_false())
    assert load() is None
    assert capsys.readouterr().err == ""
    assert not any(p.name.endswith(".so") for p in cache.iterdir())


def shutil_false() -> str:
    """A "compiler" that always fails."""
    for candidate in ("/bin/false", "/usr/bin/false"):
        if Path(candidate).exists():
            return candidate
    pytest.skip("no false(1)")
