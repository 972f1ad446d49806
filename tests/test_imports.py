"""The shape of the package: every module imports alone, imports point one way, no cycles.

* Every ``genlab`` module imports on its own, with no other genlab module loaded first
  (a hidden dependence on import order shows up here).
* Nothing outside ``genlab.cli`` imports ``genlab.cli``; only it imports ``genlab.tour``.
* The floor (files, devices, errors, progress, validation, checkpoints, memory, outputs,
  results, spins, the training loop, plots, the report, data sets, the model registry)
  imports no model package; the registry names model builders only by strings.
* No cycles among genlab's modules, counting imports inside functions too.

The import graph is read from the source (module level and function bodies alike).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "genlab"

MODEL_PACKAGES = ("genlab.hopfield", "genlab.tsp", "genlab.boltzmann",
                  "genlab.rbm", "genlab.latent", "genlab.metrics")
FLOOR = ("genlab.io", "genlab.device", "genlab.errors", "genlab.progress", "genlab.validate",
         "genlab.checkpoints", "genlab.memory", "genlab.outputs", "genlab.results",
         "genlab.spins", "genlab.native", "genlab.data", "genlab.registry", "genlab.train",
         "genlab.plots", "genlab.report")
# Entry points that run the command line when imported (``python -m genlab``).
ENTRY_POINTS = {"genlab.__main__"}


def _modules() -> dict[str, tuple[Path, bool]]:
    """Every module under src/genlab: dotted name -> (file, is a package)."""
    found = {}
    for f in sorted(PACKAGE.rglob("*.py")):
        parts = list(f.relative_to(SRC).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_pkg else parts)] = (f, is_pkg)
    return found


MODULES = _modules()


def _within(name: str, packages: tuple[str, ...] | set[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def _imported(module: str) -> set[str]:
    """The genlab modules ``module`` imports anywhere in its source (resolved to the
    deepest module that exists: ``from genlab.io import load_model`` -> ``genlab.io``)."""
    path, is_pkg = MODULES[module]
    here = module.split(".") if is_pkg else module.split(".")[:-1]

    def deepest(name: str) -> str | None:
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        return name or None

    out: set[str | None] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out |= {deepest(a.name) for a in node.names if a.name.startswith("genlab")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(here[:len(here) - node.level + 1] + ([base] if base else []))
            if base == "genlab" or base.startswith("genlab."):
                out |= {f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else deepest(base)
                        for a in node.names}
    out.discard(None)
    out.discard(module)
    return out  # type: ignore[return-value]


GRAPH = {m: _imported(m) for m in MODULES}


def test_every_module_imports_alone() -> None:
    """Import each module in turn with no genlab module loaded before it (one fresh
    interpreter for all; torch and numpy stay loaded between modules, genlab does not)."""
    names = sorted(set(MODULES) - ENTRY_POINTS)
    script = (
        "import importlib, sys, traceback\n"
        f"names = {names!r}\n"
        "failed = []\n"
        "for name in names:\n"
        "    for loaded in [m for m in sys.modules if m == 'genlab' or "
        "m.startswith('genlab.')]:\n"
        "        del sys.modules[loaded]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except BaseException:\n"
        "        failed.append(name + ': ' + traceback.format_exc().strip().splitlines()[-1])\n"
        "print('\\n'.join(failed))\n"
        "sys.exit(1 if failed else 0)\n")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"}, timeout=600)
    assert run.returncode == 0, f"modules that fail to import alone:\n{run.stdout}{run.stderr}"


def test_nothing_below_the_cli_imports_it() -> None:
    users = {m for m, deps in GRAPH.items()
             if not _within(m, ("genlab.cli",)) and any(_within(d, ("genlab.cli",))
                                                        for d in deps)}
    assert users - ENTRY_POINTS == set()


def test_only_the_cli_imports_the_tour() -> None:
    users = {m for m, deps in GRAPH.items()
             if not _within(m, ("genlab.cli", "genlab.tour"))
             and any(_within(d, ("genlab.tour",)) for d in deps)}
    assert users == set()


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _within(m, FLOOR)))
def test_the_floor_imports_no_model_package(module: str) -> None:
    above = sorted(d for d in GRAPH[module] if _within(d, MODEL_PACKAGES + ("genlab.cli",
                                                                           "genlab.tour")))
    assert above == [], f"{module} imports {above}"


def test_no_import_cycles() -> None:
    """Tarjan's strongly connected components of the import graph. An import of the root
    package ``genlab`` is left out: Python has begun importing it before any of its
    modules, so such an edge orders nothing (the root's own imports are kept)."""
    graph = {m: {d for d in deps if d != "genlab"} for m, deps in GRAPH.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = [stack.pop()]
            while component[-1] != v:
                component.append(stack.pop())
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert cycles == [], "import cycles: " + "; ".join(
        " <-> ".join(c) + " (" + ", ".join(f"{a} imports {sorted(graph[a] & set(c))}"
                                           for a in c) + ")" for c in cycles)


def test_the_import_graph_is_read() -> None:
    """The reader resolves what it should (guards the tests above against passing on an
    empty graph)."""
    assert "genlab.io" in GRAPH["genlab.registry"]
    assert "genlab.cli.main" in GRAPH["genlab.__main__"]
    assert "genlab.registry" in GRAPH["genlab.rbm.base"]
    assert len(MODULES) > 80
