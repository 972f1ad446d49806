"""``genlab hopfield demo|store|recall|capacity`` through the CLI, including bad inputs."""

import json

import numpy as np
import pytest

from genlab.cli.main import main


@pytest.fixture
def run(capsys):
    def go(*args):
        code = main([str(a) for a in args])
        cap = capsys.readouterr()
        return code, cap.out, cap.err
    return go


def one_json(out: str) -> dict:
    lines = [ln for ln in out.splitlines() if ln.strip()]
    assert len(lines) == 1
    return json.loads(lines[0])


def test_demo_recalls_letters(run, tmp_path):
    code, out, _ = run("hopfield", "demo", "--out", tmp_path, "--json")
    assert code == 0
    obj = one_json(out)
    assert obj["recalled"] == obj["cues"] == 8
    assert (tmp_path / "hopfield_recall.png").stat().st_size > 0
    assert not all(obj["overload"]["stable"])  # 12 letters in 25 units: spurious states


def test_store_and_recall_round_trip(run, tmp_path):
    rng = np.random.default_rng(0)
    pats = rng.choice([-1, 1], size=(3, 64))
    np.save(tmp_path / "p.npy", pats)
    cues = pats.copy()
    cues[:, :6] *= -1
    cues[0, 10:20] = 0
    np.save(tmp_path / "c.npy", cues)
    code, out, _ = run("hopfield", "store", tmp_path / "p.npy", "--rule", "storkey", "--out",
                       tmp_path / "net", "--json")
    assert code == 0 and one_json(out)["stable_patterns"] == 3
    code, out, _ = run("hopfield", "recall", tmp_path / "net", tmp_path / "c.npy", "--out",
                       tmp_path / "s.npy", "--json")
    assert code == 0
    res = one_json(out)["results"]
    assert [r["nearest"] for r in res] == [0, 1, 2]
    assert all(r["overlap"] == 1.0 and r["converged"] for r in res)
    np.testing.assert_array_equal(np.load(tmp_path / "s.npy"), pats)
    mask = np.zeros(64, bool)
    mask[:6] = True
    np.save(tmp_path / "m.npy", mask)
    code, out, _ = run("hopfield", "recall", tmp_path / "net", tmp_path / "c.npy", "--clamp",
                       tmp_path / "m.npy", "--mode", "sync", "--json")
    assert code == 0


def test_store_glyph_text(run, tmp_path):
    (tmp_path / "g.txt").write_text("#.#\n.#.\n\n..#\n#..\n")
    code, out, _ = run("hopfield", "store", tmp_path / "g.txt", "--out", tmp_path / "n",
                       "--json")
    assert code == 0 and one_json(out)["image_shape"] == [2, 3]


def test_capacity_json(run, tmp_path):
    code, out, _ = run("hopfield", "capacity", "--n", 40, "--alphas", "0.05,0.5",
                       "--out", tmp_path / "c.png", "--json")
    assert code == 0
    rules = one_json(out)["rules"]
    assert set(rules) == {"hebbian", "storkey", "pseudoinverse", "modern"}
    assert rules["pseudoinverse"]["stable"][1] == 1.0  # projection: stable at alpha 0.5
    assert rules["modern"]["recalled"] == [1.0, 1.0]


def test_modern_store_recall(run, tmp_path):
    # 200 patterns in 40 units (load 5): only the modern network can hold them
    rng = np.random.default_rng(1)
    pats = rng.choice([-1, 1], size=(200, 40))
    np.save(tmp_path / "p.npy", pats)
    cues = pats[:10].copy()
    cues[:, :4] *= -1  # 4 flipped bits
    cues[:5, 30:] = 0  # and 10 unknown ones
    np.save(tmp_path / "c.npy", cues)
    code, out, _ = run("hopfield", "store", tmp_path / "p.npy", "--rule", "modern", "--beta",
                       2, "--out", tmp_path / "m", "--json")
    assert code == 0 and one_json(out)["stable_patterns"] == 200
    code, out, _ = run("hopfield", "recall", tmp_path / "m", tmp_path / "c.npy", "--out",
                       tmp_path / "s.npy", "--json")
    obj = one_json(out)
    assert code == 0 and obj["mode"] == "modern"
    assert [r["nearest"] for r in obj["results"]] == list(range(10))
    assert all(r["overlap"] == 1.0 and r["converged"] for r in obj["results"])
    np.testing.assert_array_equal(np.sign(np.load(tmp_path / "s.npy")), pats[:10])
    code, _, err = run("hopfield", "recall", tmp_path / "m", tmp_path / "c.npy", "--mode",
                       "sync")
    assert code == 2 and "drop --mode" in err


def test_recall_reports_two_cycles(run, tmp_path):
    # Three patterns in 8 units and a cue that synchronous updates send away and back
    # (checked by hand: sign(J c) != c and sign(J sign(J c)) == c for J = X^T X - 3 I).
    pats = np.array([[1, 1, 1, -1, -1, -1, -1, -1], [-1, 1, 1, 1, 1, 1, 1, 1],
                     [1, 1, 1, 1, -1, 1, 1, -1]])
    cue = np.array([[-1, -1, 1, -1, -1, -1, 1, 1]])
    j = pats.T @ pats - 3 * np.eye(8)
    one = np.where(j @ cue[0] >= 0, 1, -1)
    assert (one != cue[0]).any() and (np.where(j @ one >= 0, 1, -1) == cue[0]).all()
    np.save(tmp_path / "p.npy", pats)
    np.save(tmp_path / "c.npy", cue)
    run("hopfield", "store", tmp_path / "p.npy", "--out", tmp_path / "n")
    code, out, _ = run("hopfield", "recall", tmp_path / "n", tmp_path / "c.npy", "--mode", "sync",
                       "--json")
    obj = one_json(out)
    assert code == 0
    r = obj["results"][0]
    assert obj["cycles"] == 1 and r["cycle"] and not r["converged"] and r["sweeps"] == 2


BAD_GLYPHS = "#.#\n.#.\n\n##\n..\n"


@pytest.mark.parametrize("content,what", [
    (np.array([[1, -1, 2]]), "non-binary"),
    (np.array([[1.0, np.nan, -1.0]]), "NaN"),
    (np.zeros((0, 5)), "empty"),
    (np.ones((2, 2, 2, 2)), "4-D"),
])
def test_store_bad_arrays(run, tmp_path, content, what):
    np.save(tmp_path / "bad.npy", content)
    code, out, err = run("hopfield", "store", tmp_path / "bad.npy", "--out", tmp_path / "n")
    assert code == 2 and out == ""
    assert err.startswith("genlab: error:") and len(err.strip().splitlines()) == 1


def test_bad_inputs_exit_2(run, tmp_path):
    (tmp_path / "g.txt").write_text(BAD_GLYPHS)
    (tmp_path / "x.txt").write_text("#a#\n")
    np.save(tmp_path / "p.npy", np.ones((2, 9)))
    run("hopfield", "store", tmp_path / "p.npy", "--out", tmp_path / "n")
    np.save(tmp_path / "c8.npy", np.ones((2, 8)))
    np.save(tmp_path / "cnan.npy", np.full((1, 9), np.nan))
    np.save(tmp_path / "mask.npy", np.ones(4))
    cases = [
        ("store", tmp_path / "g.txt", "--out", tmp_path / "n2"),  # glyphs of different sizes
        ("store", tmp_path / "x.txt", "--out", tmp_path / "n2"),  # bad character
        ("store", tmp_path / "missing.npy", "--out", tmp_path / "n2"),
        ("store", tmp_path / "p.npy", "--rule", "oja", "--out", tmp_path / "n2"),
        ("store", tmp_path / "p.npy", "--beta", "2", "--out", tmp_path / "n2"),  # not modern
        ("store", tmp_path / "p.npy", "--rule", "modern", "--beta", "-1", "--out",
         tmp_path / "n2"),
        ("recall", tmp_path / "n", tmp_path / "c8.npy"),  # wrong size
        ("recall", tmp_path / "n", tmp_path / "cnan.npy"),
        ("recall", tmp_path / "n", tmp_path / "p.npy", "--clamp", tmp_path / "mask.npy"),
        ("recall", tmp_path / "nonet", tmp_path / "p.npy"),
        ("recall", tmp_path / "n", tmp_path / "p.npy", "--mode", "random"),
        ("capacity", "--n", "0"),
        ("capacity", "--alphas", "0.1,x"),
    ]
    for args in cases:
        code, out, err = run("hopfield", *args)
        assert code == 2, args
        assert err.startswith("genlab: error:") and len(err.strip().splitlines()) == 1, args


def test_store_and_recall_read_a_binary_file_alike(run, tmp_path):
    """A {0,1} cue file means 0 -> -1, as in the pattern file; not "0 = unknown"."""
    rng = np.random.default_rng(3)
    bits = rng.integers(0, 2, (3, 40))
    np.save(tmp_path / "p01.npy", bits)
    code, _, _ = run("hopfield", "store", tmp_path / "p01.npy", "--out", tmp_path / "net")
    assert code == 0
    cues01 = bits.copy()
    cues01[:, :8] = 1 - cues01[:, :8]  # 8 flipped bits per cue
    np.save(tmp_path / "c01.npy", cues01)
    np.save(tmp_path / "cpm.npy", 2 * cues01 - 1)
    outs = []
    for name in ("c01.npy", "cpm.npy"):
        code, out, _ = run("hopfield", "recall", tmp_path / "net", tmp_path / name, "--mode",
                           "sync", "--max-sweeps", "1", "--out", tmp_path / f"s-{name}",
                           "--json")
        assert code == 0
        outs.append((one_json(out)["results"], np.load(tmp_path / f"s-{name}")))
    assert outs[0][0] == outs[1][0]
    np.testing.assert_array_equal(outs[0][1], outs[1][1])


def test_pattern_and_cue_files_refused(cli, user_error, tmp_path):
    np.save(tmp_path / "p.npy", np.ones((2, 9)))
    assert cli("hopfield", "store", tmp_path / "p.npy", "--out", tmp_path / "n").code == 0
    (tmp_path / "e.npy").write_bytes(b"")
    assert "is empty" in user_error("hopfield", "store", tmp_path / "e.npy", "--out",
                                    tmp_path / "n2")
    np.save(tmp_path / "two.npy", np.array([[1, 0, 2, 1, 1, 1, 1, 1, 1]]))
    assert "found 2" in user_error("hopfield", "recall", tmp_path / "n", tmp_path / "two.npy")
    np.save(tmp_path / "s.npy", np.array([["1"] * 9]))
    assert "numbers" in user_error("hopfield", "recall", tmp_path / "n", tmp_path / "s.npy")
    (tmp_path / "m.npy").write_bytes(b"")
    assert "is empty" in user_error("hopfield", "recall", tmp_path / "n", tmp_path / "p.npy",
                                    "--clamp", tmp_path / "m.npy")



def test_each_command_prints_its_library_task_result(run, tmp_path):
    """``--json`` prints exactly the ``to_dict()`` of the task the command calls."""
    from genlab.hopfield.demo import run_demo
    from genlab.hopfield.tasks import recall_cues, run_capacity, store_network

    rng = np.random.default_rng(3)
    pats = rng.choice([-1, 1], size=(4, 50))
    cues = pats.copy()
    cues[:, :7] *= -1
    cues[1, 40:] = 0
    np.save(tmp_path / "p.npy", pats)
    np.save(tmp_path / "c.npy", cues)
    np.save(tmp_path / "m.npy", np.arange(50) < 4)
    d = tmp_path
    cases = [
        (["hopfield", "demo", "--out", d / "demo", "--seed", 5, "--flips", 4],
         lambda: run_demo(d / "demo2", seed=5, flips=4)),
        (["hopfield", "store", d / "p.npy", "--rule", "storkey", "--out", d / "net"],
         lambda: store_network(d / "p.npy", d / "net", rule="storkey")),
        (["hopfield", "store", d / "p.npy", "--rule", "modern", "--beta", 3, "--out", d / "m"],
         lambda: store_network(d / "p.npy", d / "m", rule="modern", beta=3.0)),
        (["hopfield", "recall", d / "net", d / "c.npy", "--out", d / "s.npy", "--seed", 2],
         lambda: recall_cues(d / "net", d / "c.npy", out=d / "s.npy", seed=2)),
        (["hopfield", "recall", d / "net", d / "c.npy", "--mode", "sync", "--clamp",
          d / "m.npy"],
         lambda: recall_cues(d / "net", d / "c.npy", mode="sync", clamp=d / "m.npy")),
        (["hopfield", "recall", d / "m", d / "c.npy", "--max-sweeps", 3],
         lambda: recall_cues(d / "m", d / "c.npy", max_sweeps=3)),
        (["hopfield", "capacity", "--n", 30, "--alphas", "0.1,0.4", "--trials", 2, "--out",
          d / "cap.png", "--seed", 1],
         lambda: run_capacity(30, alphas=[0.1, 0.4], trials=2, out=d / "cap.png", seed=1)),
    ]
    for argv, task in cases:
        code, out, err = run(*argv, "--json")
        assert code == 0, err
        printed = one_json(out)
        expected = task().to_dict()
        if argv[1] == "demo":  # the same run into another folder
            for key in ("recall_figure", "overload_figure"):
                expected[key] = expected[key].replace("demo2", "demo")
        assert printed == expected, argv
