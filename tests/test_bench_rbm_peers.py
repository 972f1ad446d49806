"""``benchmarks/bench_rbm_peers.py``: each peer's parameters, put in genlab's ``(W, b, c)``,
give the peer's own free energy (scikit-learn always; learnergy where it imports), and a
two-second run of every model writes a well-formed JSON."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from genlab.rbm.tasks import TRAIN_DEFAULTS

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(BENCH))  # the script imports bench_rbm beside it
    try:
        spec = importlib.util.spec_from_file_location("bench_rbm_peers",
                                                      BENCH / "bench_rbm_peers.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(BENCH))


def _vectors(n_visible: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((6, n_visible)) < 0.3).astype(np.float64)


def _genlab_free_energy(bench, params, X):
    rbm = bench.rbm_from_params(params["W"], params["c"], params["b"], X)
    return rbm.free_energy(X)


def test_sklearn_parameters_give_its_free_energy(bench):
    from sklearn.neural_network import BernoulliRBM

    X = _vectors(12)
    rbm = BernoulliRBM(7, n_iter=3, learning_rate=0.1, random_state=0).fit(X)
    # train them away from 0 so that a swapped or transposed bias would show
    rbm.intercept_visible_ = np.linspace(-1, 1, 12)
    rbm.intercept_hidden_ = np.linspace(0.5, -0.5, 7)
    ours = _genlab_free_energy(bench, bench.sklearn_params(rbm), X)
    np.testing.assert_allclose(ours, rbm._free_energy(X), rtol=1e-5, atol=1e-5)


LEARNERGY_SIDE = """
import sys
import numpy as np, torch
from learnergy.models.bernoulli import RBM
from bench_rbm_peers import learnergy_params
torch.manual_seed(0)
rbm = RBM(n_visible=12, n_hidden=7)
with torch.no_grad():
    rbm.W.normal_(0, 0.5)
    rbm.a.copy_(torch.linspace(-1, 1, 12))
    rbm.b.copy_(torch.linspace(0.5, -0.5, 7))
X = np.load(sys.argv[1])
energy = rbm.energy(torch.tensor(X, dtype=torch.float32)).detach().numpy()
np.savez(sys.argv[2], energy=energy, **learnergy_params(rbm))
"""


def _learnergy_python(bench) -> str | None:
    """The Python that imports learnergy (the peers' environment's), or None."""
    python = bench.peer_python()
    ok = subprocess.run([python, "-c", "import learnergy"], capture_output=True).returncode == 0
    return python if ok else None


def test_learnergy_parameters_give_its_free_energy(bench, tmp_path):
    python = _learnergy_python(bench)
    if python is None:
        pytest.skip("learnergy is not installed (benchmarks/peers.sh --no-deps learnergy)")
    X = _vectors(12)
    np.save(tmp_path / "x.npy", X)
    subprocess.run([python, "-c", LEARNERGY_SIDE, str(tmp_path / "x.npy"),
                    str(tmp_path / "out.npz")], check=True, env=bench.worker_env())
    with np.load(tmp_path / "out.npz") as theirs:
        params = {k: theirs[k] for k in ("W", "b", "c")}
        assert params["W"].shape == (7, 12)
        ours = _genlab_free_energy(bench, params, X)
        np.testing.assert_allclose(ours, theirs["energy"], rtol=1e-5, atol=1e-4)


def test_a_two_second_run_writes_the_json(bench, tmp_path, monkeypatch):
    out = tmp_path / "peers.json"
    argv = ["bench_rbm_peers.py", "--seconds", "2", "--ais-runs", "2", "--ais-betas", "20",
            "--out", str(out)]
    if _learnergy_python(bench) is None:
        argv += ["--skip", "learnergy"]
    monkeypatch.setattr(sys, "argv", argv)
    bench.main()
    r = json.loads(out.read_text())
    assert r["seconds"] == 2 and r["ais"]["runs"] == 2 and r["n_hidden"] == 500
    kinds = [m["kind"] for m in r["models"]]
    assert kinds[0] == "sklearn" and kinds[-3:] == ["genlab-default", "genlab", "genlab"]
    for m in r["models"]:
        assert m["epochs"] >= 1 and m["seconds"] > 0 and m["version"]
        for key in ("ll_lower", "ll_upper", "ll_lower_std_err", "ll_upper_std_err"):
            assert np.isfinite(m[key])
    assert r["models"][-3]["epochs"] == TRAIN_DEFAULTS.epochs  # the command's own default
