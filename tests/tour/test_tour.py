"""``genlab tour --quick`` end to end, then the page checked in headless Chromium."""

import json
import os
from pathlib import Path

import pytest

from genlab.tour.browser import check_report, find_chromium
from genlab.tour.steps import STEP_KEYS


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    from genlab.cli.main import main

    out = tmp_path_factory.mktemp("tour") / "report"
    code = main(["tour", "--quick", "--out", str(out), "--device", "cpu", "--json"])
    return code, out


def test_quick_tour_runs_every_step(report):
    code, out = report
    results = json.loads((out / "results.json").read_text())
    failed = {k: v["error"] for k, v in results["steps"].items() if v["status"] != "ok"}
    assert not failed
    assert code == 0
    assert list(results["steps"]) == STEP_KEYS
    for key, step in results["steps"].items():
        assert step["figures"], key
        for fig in step["figures"]:
            assert (out / fig).read_bytes()[:4] == b"\x89PNG", fig
        assert step["numbers"], key
        assert step["command"].startswith("genlab"), key


def test_quick_tour_numbers_are_sane(report):
    _, out = report
    steps = json.loads((out / "results.json").read_text())["steps"]
    assert steps["hopfield"]["numbers"]["cues recalled"] == steps["hopfield"]["numbers"]["cues"]
    assert steps["boltzmann"]["numbers"]["bound never above log Z"] is True
    vae = steps["vae"]["numbers"]
    nll = next(v for k, v in vae.items() if k.startswith("test -log p(x)"))
    # the IWAE bound is at least as tight as the ELBO: -log p(x) estimate <= -ELBO
    assert nll <= -vae["test ELBO (nats/image)"] + 1.0


@pytest.mark.skipif(find_chromium() is None, reason="Chromium not installed")
def test_page_renders_in_headless_chromium(report):
    _, out = report
    shot_dir = Path(os.environ.get("GENLAB_SCREENSHOT_DIR", out))
    check = check_report(out / "index.html", screenshot=shot_dir / "tour-screenshot.png")
    assert check.images >= len(STEP_KEYS)
    assert check.broken == []
    assert check.errors == []
    assert check.console_errors == []
    assert check.screenshot is not None and check.screenshot.stat().st_size > 10_000


def test_only_and_bad_step(tmp_path):
    from genlab.cli.main import main

    assert main(["tour", "--only", "nope", "--out", str(tmp_path / "r")]) == 2
    (tmp_path / "file").write_text("")
    assert main(["tour", "--only", "boltzmann", "--out", str(tmp_path / "file")]) == 2
    assert main(["tour", "--only", "boltzmann", "--out", str(tmp_path / "r"), "--json"]) == 0
    results = json.loads((tmp_path / "r" / "results.json").read_text())
    assert list(results["steps"]) == ["boltzmann"]


def test_failing_step_is_reported_and_others_run(tmp_path, monkeypatch):
    from genlab.tour import runner
    from genlab.tour.runner import Step, StepOutput, TourContext

    def boom(ctx):
        raise RuntimeError("broken on purpose")

    steps = [Step("bad", "Bad", "", boom), Step("good", "Good", "", lambda c: StepOutput())]
    import torch

    res = runner.run_tour(steps, TourContext(tmp_path, True, torch.device("cpu"), 0), "t", "")
    assert res.failed == ["bad"]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["steps"]["good"]["status"] == "ok"
    assert "broken on purpose" in results["steps"]["bad"]["error"]
    assert "broken on purpose" in (tmp_path / "index.html").read_text()


def test_a_tour_runs_again_into_its_own_report(tmp_path, capsys):
    """The second tour into one folder replaces its runs (they are the tour's own), where
    a training command alone would refuse to mix a new run with an old one."""
    from genlab.cli.main import main

    for _ in range(2):
        code = main(["tour", "--quick", "--only", "rbm,betavae,gumbel", "--out", str(tmp_path),
                     "--device", "cpu", "--json"])
        steps = json.loads((tmp_path / "results.json").read_text())["steps"]
        assert code == 0, {k: v.get("error") for k, v in steps.items()}
        assert list(steps) == ["rbm", "betavae", "gumbel"]


def test_a_tour_never_writes_into_a_folder_of_other_files(tmp_path, capsys):
    """The tour replaces what has its report's names, so a folder it did not write is
    refused before any step runs, and nothing there is touched."""
    from genlab.cli.main import main

    (tmp_path / "index.html").write_text("mine")
    code = main(["tour", "--quick", "--only", "gumbel", "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "holds files a tour did not write (index.html)" in err[0]
    assert (tmp_path / "index.html").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.html"]
