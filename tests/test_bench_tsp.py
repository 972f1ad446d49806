"""``benchmarks/bench_tsp.py --seeds``: the spread over seeds per instance and method, the
best method per instance, the summary rows and the joining of runs made apart, checked on
numbers worked out by hand; and one real run of the loop on a small instance."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from genlab.tsp import load_instance

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_tsp",
                                                  ROOT / "benchmarks" / "bench_tsp.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _runs(gaps, seconds=1.0):
    return [{"seed": s + 1, "gap": g, "seconds": seconds + s} for s, g in enumerate(gaps)]


def _rows():
    return [{"instance": "a", "n": 10, "optimum": 1.0,
             "runs": {"mean-field": _runs([1.0, 3.0]), "som": _runs([2.0, 2.0])}},
            {"instance": "b", "n": 20, "optimum": 1.0,
             "runs": {"mean-field": _runs([6.0, 2.0], 5.0), "som": _runs([0.0, 1.0])}}]


def test_summary_by_hand(bench):
    rows = _rows()
    s = bench.summarise_seeds(rows)
    assert rows[0]["gap"]["mean-field"] == pytest.approx(
        {"mean": 2.0, "sd": np.sqrt(2.0), "min": 1.0, "max": 3.0})
    # a: mean field 2 +- 1.41 against SOM 2 +- 0: ties go to the first method
    assert rows[0]["best"]["method"] == "mean-field" and rows[1]["best"]["method"] == "som"
    assert s["mean-field"]["mean"] == pytest.approx(3.0)  # (2 + 4) / 2
    assert s["mean-field"]["worst_instance"] == "b" and s["mean-field"]["worst_mean"] == 4.0
    assert s["mean-field"]["largest_gap"] == 6.0
    assert (s["mean-field"]["slowest_seconds"], s["mean-field"]["slowest_instance"]) == (6.0, "b")
    assert s["som"]["mean"] == pytest.approx(1.25)
    assert s["best"]["mean"] == pytest.approx(1.25)  # (2 + 0.5) / 2
    assert s["best"]["worst_instance"] == "a" and s["best"]["largest_gap"] == 3.0
    md = bench.seeds_markdown({"tsplib": rows, "summary": s, "seeds": [1, 2],
                               "restarts_note": "2 restarts"})
    assert "| mean field | 3.00% | 2.12 | b (4.00%) | 6.00% | 6.0 s (b) |" in md
    assert "| best network per instance | 1.25% | 1.06 | a (2.00%) | 3.00% |  |" in md
    assert "| b | 20 | 4.00 ± 2.83 | 0.50 ± 0.71 | 0.50 (SOM) |" in md


def test_runs_made_apart_join_into_one_result(bench):
    rows = _rows()
    first = {"seeds": [1, 2], "command": "x", "tsplib": [
        {k: r[k] for k in ("instance", "n", "optimum")} | {"runs": {"som": r["runs"]["som"]}}
        for r in rows]}
    second = {"seeds": [1, 2], "command": "y", "tsplib": [
        {k: r[k] for k in ("instance", "n", "optimum")}
        | {"runs": {"mean-field": r["runs"]["mean-field"]}} for r in reversed(rows)]}
    joined = bench.combine([first, second])
    assert joined["methods"] == ["mean-field", "som"] and joined["command"] == ["x", "y"]
    assert [r["instance"] for r in joined["tsplib"]] == ["a", "b"]
    assert joined["summary"] == bench.summarise_seeds(_rows())


def test_one_instance_over_two_seeds(bench):
    inst = load_instance("burma14")
    row = bench.run_seeds("burma14", inst, 3323.0, [1, 2], 2, ("som",))
    runs = row["runs"]["som"]
    assert [r["seed"] for r in runs] == [1, 2] and all(r["restarts"] == 2 for r in runs)
    assert all(r["gap"] >= -1e-9 and r["polished_gap"] <= r["gap"] + 1e-9 for r in runs)
