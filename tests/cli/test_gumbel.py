"""``genlab gumbel``: --json output and one-line errors (exit 2) for bad input."""

import json

import pytest

from genlab.cli.main import main


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_sample_json_frequencies_are_close_to_softmax(capsys):
    status, out, _ = run(capsys, "gumbel", "sample", "--logits", "1,2,-inf,0", "--n", "40000",
                         "--json", "--device", "cpu")
    assert status == 0
    r = json.loads(out)
    assert r["method"] == "max" and r["n"] == 40000 and len(r["samples"]) == 5
    assert r["argmax_frequencies"][2] == 0.0
    # each frequency is a binomial mean: 5 standard errors sqrt(p(1-p)/n) <= 5 * 0.0025
    for f, p in zip(r["argmax_frequencies"], r["probs"], strict=True):
        assert abs(f - p) <= 5 * (p * (1 - p) / 40000) ** 0.5 + 1e-12


@pytest.mark.parametrize("method", ["soft", "hard"])
def test_sample_relaxed_and_straight_through(capsys, tmp_path, method):
    out_file = tmp_path / "s.csv"
    status, out, _ = run(capsys, "gumbel", "sample", "--logits", "0,1", "--method", method,
                         "--tau", "0.5", "--n", "7", "--out", str(out_file), "--json")
    assert status == 0
    r = json.loads(out)
    rows = [list(map(float, line.split(","))) for line in out_file.read_text().split()]
    assert len(rows) == 7 and all(abs(sum(row) - 1) < 1e-6 for row in rows)
    if method == "hard":
        assert all(sorted(row) == [0.0, 1.0] for row in rows)
    assert r["tau"] == 0.5


def test_sample_is_reproducible(capsys):
    a = run(capsys, "gumbel", "sample", "--logits", "0,1,2", "--method", "soft", "--json")[1]
    b = run(capsys, "gumbel", "sample", "--logits", "0,1,2", "--method", "soft", "--json")[1]
    assert a == b


def test_plot_writes_png(capsys, tmp_path):
    path = tmp_path / "t.png"
    status, out, _ = run(capsys, "gumbel", "plot", "--taus", "0.1,1", "--n-mc", "1000",
                         "--out", str(path), "--json")
    assert status == 0 and path.read_bytes()[:4] == b"\x89PNG"
    r = json.loads(out)
    assert len(r["expectation"]) == 2 and abs(sum(r["sample"][0]) - 1) < 1e-9


@pytest.mark.parametrize("argv", [
    ["gumbel", "sample", "--logits", "1"],
    ["gumbel", "sample", "--logits", "a,b"],
    ["gumbel", "sample", "--logits", "1,nan"],
    ["gumbel", "sample", "--logits", "1,inf"],
    ["gumbel", "sample", "--logits", "-inf,-inf"],
    ["gumbel", "sample", "--logits", "1,2", "--tau", "0"],
    ["gumbel", "sample", "--logits", "1,2", "--tau", "-1"],
    ["gumbel", "sample", "--logits", "1,2", "--n", "0"],
    ["gumbel", "sample", "--logits", "1,2", "--method", "bogus"],
    ["gumbel", "sample", "--logits", "1,2", "--device", "tpu"],
    ["gumbel", "sample"],
    ["gumbel", "plot", "--taus", "0,1"],
    ["gumbel", "plot", "--taus", "x"],
])
def test_bad_input_is_one_line_error(capsys, argv):
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == ""
    assert err.startswith("genlab: error: ") and err.count("\n") == 1
