"""``genlab tsp solve|exact|info`` through the CLI, including every bad input."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from genlab.cli.main import main
from genlab.tsp import gap_to_optimum, run_exact, run_info, run_solve

TSPLIB = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "tsplib"


@pytest.fixture(autouse=True)
def _restore_threads():
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


def run(capsys, *args):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def run_json(capsys, *args) -> dict:
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, out
    return json.loads(lines[0])


def user_error(capsys, *args) -> str:
    code, out, err = run(capsys, *args)
    assert code == 2, (code, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("genlab: error: "), err
    assert "Traceback" not in err
    return lines[0]


def test_solve_json_fields_and_plot(capsys, tmp_path):
    png, res_file = tmp_path / "t.png", tmp_path / "r.json"
    obj = run_json(capsys, "tsp", "solve", "burma14", "--restarts", "4", "--device", "cpu",
                   "--polish", "2opt", "--plot", png, "--out", res_file)
    for key in ("n", "method", "tour", "length", "valid", "valid_fraction", "optimum", "gap",
                "seconds"):
        assert key in obj
    assert obj["n"] == 14 and obj["method"] == "mean-field" and obj["optimum"] == 3323
    assert sorted(obj["tour"]) == list(range(14))
    assert np.isclose(obj["gap"], obj["length"] / 3323 - 1) and obj["length"] >= 3323
    assert obj["polish"]["length"] <= obj["length"] and obj["polish"]["length"] >= 3323
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads(res_file.read_text())["length"] == obj["length"]


def _untimed(obj: dict) -> dict:
    """``obj`` without its wall-clock times (the one thing two runs may differ in)."""
    obj = {k: v for k, v in obj.items() if k != "seconds"}
    if "polish" in obj:
        obj["polish"] = {k: v for k, v in obj["polish"].items() if k != "seconds"}
    return obj


def test_tasks_return_what_the_commands_print(capsys, tmp_path):
    args = ["random:9", "--method", "hopfield-tank", "--restarts", "3", "--seed", "4",
            "--device", "cpu", "--polish", "2opt"]
    obj = run_json(capsys, "tsp", "solve", *args)
    report = run_solve("random:9", "hopfield-tank", restarts=3, seed=4, device="cpu",
                       polish="2opt")
    assert _untimed(report.to_dict()) == _untimed(obj)
    assert report.gap == obj["gap"] == gap_to_optimum(report.length, report.optimum)
    assert report.polish is not None and report.polish.length == obj["polish"]["length"]
    assert _untimed(run_exact("burma14").to_dict()) == _untimed(
        run_json(capsys, "tsp", "exact", "burma14"))
    assert run_info("gr17").to_dict() == run_json(capsys, "tsp", "info", "gr17")


def test_solve_leaves_the_thread_count_alone(capsys):
    """No command changes torch's thread count behind the user's back: only the entry point
    applies a --threads the user gave."""
    torch.set_num_threads(2)  # restored by _restore_threads
    run_json(capsys, "tsp", "solve", "random:6", "--restarts", "2", "--device", "cpu")
    assert torch.get_num_threads() == 2


def test_solve_mean_field_from_20_cities_runs_the_serial_network(capsys):
    obj = run_json(capsys, "tsp", "solve", "random:24", "--restarts", "2", "--device", "cpu",
                   "--seed", "3")
    assert obj["method"] == "mean-field" and obj["update"] == "serial" and obj["n"] == 24
    assert sorted(obj["tour"]) == list(range(24))
    assert obj["length"] <= obj["restart_lengths"]["max"]
    assert 0.0 <= obj["valid_fraction"] <= 1.0 and obj["energy_end"] < obj["energy_start"]
    small = run_json(capsys, "tsp", "solve", "burma14", "--restarts", "2", "--device", "cpu")
    assert small["update"] == "sinkhorn"


@pytest.mark.parametrize("method", ["hopfield-tank", "elastic-net"])
def test_solve_other_methods_on_random_instances(capsys, method):
    obj = run_json(capsys, "tsp", "solve", "random:7", "--method", method, "--restarts", "3",
                   "--seed", "2", "--device", "cpu")
    assert obj["method"] == method and sorted(obj["tour"]) == list(range(7))
    assert obj["optimum_source"] == "held-karp" and obj["gap"] >= -1e-12
    assert 0.0 <= obj["valid_fraction"] <= 1.0


def test_solve_text_and_npy(capsys, tmp_path):
    rng = np.random.default_rng(0)
    a = rng.integers(1, 20, (6, 6)).astype(float)
    np.save(tmp_path / "d.npy", np.triu(a, 1) + np.triu(a, 1).T)
    code, out, _ = run(capsys, "tsp", "solve", tmp_path / "d.npy", "--restarts", "2",
                       "--device", "cpu")
    assert code == 0 and "length" in out and "tour:" in out


def test_exact_and_info(capsys):
    obj = run_json(capsys, "tsp", "exact", "burma14")
    assert obj["length"] == 3323 and obj["nearest_neighbour"] >= 3323
    obj = run_json(capsys, "tsp", "info", "gr17")
    assert obj["optimum"] == 2085 and obj["edge_weight_type"] == "EXPLICIT"


def test_tsplib_file_with_optimum(capsys):
    path = TSPLIB / "ulysses22.tsp"
    if not path.is_file():
        pytest.skip(f"TSPLIB instances not found in {TSPLIB}")
    obj = run_json(capsys, "tsp", "solve", path, "--method", "elastic-net", "--restarts", "2",
                   "--device", "cpu")
    assert obj["optimum"] == 7013 and obj["optimum_source"].endswith("ulysses22.opt.tour")
    assert obj["gap"] >= 0


def test_bad_inputs(capsys, tmp_path):
    bad = tmp_path / "bad.tsp"
    bad.write_text("NAME: bad\nTYPE: TSP\nDIMENSION: 3\nEDGE_WEIGHT_TYPE: EUC_2D\n"
                   "NODE_COORD_SECTION\n1 0 0\n2 1 oops\n3 2 2\nEOF\n")
    assert "bad.tsp:7:" in user_error(capsys, "tsp", "solve", bad)
    user_error(capsys, "tsp", "solve", tmp_path / "missing.tsp")
    user_error(capsys, "tsp", "solve", "burma14", "--method", "simulated-annealing")
    user_error(capsys, "tsp", "solve", "burma14", "--restarts", "0")
    user_error(capsys, "tsp", "solve", "random:x")
    user_error(capsys, "tsp", "solve", "random:2")
    np.save(tmp_path / "r.npy", np.ones((3, 4)))
    user_error(capsys, "tsp", "solve", tmp_path / "r.npy")
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    user_error(capsys, "tsp", "solve", tmp_path / "junk.npy")
    user_error(capsys, "tsp", "exact", "random:16")
    user_error(capsys, "tsp", "solve", "burma14", "--polish", "3opt")
    if not torch.cuda.is_available():
        user_error(capsys, "tsp", "solve", "burma14", "--device", "cuda")


def test_degenerate_instances(user_error, tmp_path):
    """Through the shared ``user_error`` fixture (the parameter shadows the helper above)."""
    one = tmp_path / "one.tsp"
    one.write_text("NAME: one\nTYPE: TSP\nDIMENSION: 1\nEDGE_WEIGHT_TYPE: EUC_2D\n"
                   "NODE_COORD_SECTION\n1 0 0\nEOF\n")
    assert "at least 3 cities" in user_error("tsp", "info", one)
    twice = tmp_path / "twice.tsp"
    twice.write_text("NAME: t\nTYPE: TSP\nDIMENSION: 3\nDIMENSION: 4\nEDGE_WEIGHT_TYPE: "
                     "EUC_2D\nNODE_COORD_SECTION\n1 0 0\n2 1 1\n3 2 0\n4 0 5\nEOF\n")
    assert "DIMENSION is given twice" in user_error("tsp", "solve", twice)
    (tmp_path / "e.npy").write_bytes(b"")
    assert "is empty" in user_error("tsp", "solve", tmp_path / "e.npy")
    (tmp_path / "r.npy").write_bytes(np.random.default_rng(0).bytes(80))
    msg = user_error("tsp", "info", tmp_path / "r.npy")
    assert "not a valid .npy" in msg and "pickle" not in msg
