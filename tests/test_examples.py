"""The scripts of examples/: each runs at its small size and writes the figures it names,
every script is run here, and they use only genlab's public API."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch.distributed as dist

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

# every script and the figures it promises (in its --out folder)
FIGURES = {
    "hopfield_memory.py": ["hopfield_recall.png", "hopfield_capacity.png"],
    "tsp.py": ["tsp_tour.png"],
    "boltzmann.py": ["bm_marginals.png", "bm_meanfield.png", "bm_learning.png"],
    "rbm.py": ["rbm_filters.png", "rbm_samples.png"],
    "denoising_autoencoder.py": ["dae_denoising.png"],
    "vae.py": ["vae_samples.png", "vae_manifold.png", "vae_codes.png"],
    "betavae_traversal.py": ["betavae_traversal.png"],
    "gumbel.py": ["gumbel_temperatures.png", "categorical_vae_samples.png"],
    "ddp_vae.py": ["ddp_vae_samples.png"],
}
# launched by torchrun with two processes
DISTRIBUTED = {"ddp_vae.py"}
GLOO = dist.is_available() and dist.is_gloo_available()


def scripts() -> list[str]:
    return sorted(p.name for p in EXAMPLES.glob("*.py"))


def run_example(name: str, out: Path, *args: str, env: dict[str, str] | None = None
                ) -> subprocess.CompletedProcess:
    launch = [sys.executable]
    if name in DISTRIBUTED:
        launch += ["-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    base = {k: v for k, v in os.environ.items() if k != "GENLAB_EXAMPLES_SMALL"}
    env = {**base, "PYTHONPATH": str(ROOT / "src"), **(env or {})}
    return subprocess.run([*launch, str(EXAMPLES / name), *args, "--out", str(out)],
                          capture_output=True, text=True, env=env, cwd=out.parent, timeout=300)


def test_every_example_is_run_here():
    assert scripts() == sorted(FIGURES), "add the new example and its figures to FIGURES"


@pytest.mark.parametrize("name", scripts())
def test_example_uses_only_the_public_api(name):
    """No import of genlab.cli (the command line sits on top of the library) and no
    private module or name (a leading underscore)."""
    tree = ast.parse((EXAMPLES / name).read_text(), name)
    imported = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported += [(a.name, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{name}: a relative import"
            imported += [(node.module, a.name) for a in node.names]
    genlab = [(m, n) for m, n in imported if m.split(".")[0] == "genlab"]
    assert genlab, f"{name} does not use genlab"
    for module, what in genlab:
        parts = module.split(".")
        assert parts[:2] != ["genlab", "cli"], f"{name} imports {module}"
        assert not any(p.startswith("_") for p in parts), f"{name} imports {module}"
        assert not what.startswith("_"), f"{name} imports {what} from {module}"


@pytest.mark.parametrize("name", scripts())
def test_example_runs_small_and_writes_its_figures(name, tmp_path):
    if name in DISTRIBUTED and not GLOO:
        pytest.skip("torch.distributed with gloo is not available")
    out = tmp_path / "out"
    done = run_example(name, out, "--small")
    assert done.returncode == 0, done.stderr[-3000:]
    for figure in FIGURES.get(name, []):
        assert (out / figure).stat().st_size > 0, f"{name} did not write {figure}"
    # every script ends by saying where its figures are: once, also under torchrun
    assert done.stdout.count(f"figures in {out}/") == 1, done.stdout


def test_the_environment_variable_makes_an_example_small(tmp_path):
    """GENLAB_EXAMPLES_SMALL=1 does what --small does (the capacity curve on 60 units)."""
    done = run_example("hopfield_memory.py", tmp_path / "out",
                       env={"GENLAB_EXAMPLES_SMALL": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert "capacity, N = 60:" in done.stdout
