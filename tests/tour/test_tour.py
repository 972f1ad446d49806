"""``genlab tour --quick`` end to end, then the page checked in headless Chromium."""

import dataclasses
import json
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from genlab.tour.browser import check_report, find_chromium
from genlab.tour.runner import Step, StepOutput
from genlab.tour.steps import STEP_KEYS


def process_state() -> dict[str, Any]:
    """What no step of the tour may change: torch's CPU threads, the global random
    generators of torch, numpy and Python, torch's default dtype and its float mode."""
    # the legacy global generator is what is watched here
    kind, keys, pos, has_gauss, gauss = np.random.get_state()  # noqa: NPY002
    return {"torch threads": torch.get_num_threads(),
            "torch global generator": torch.get_rng_state(),
            "numpy global generator": (kind, keys.copy(), pos, has_gauss, gauss),
            "python random": random.getstate(),
            "torch default dtype": torch.get_default_dtype(),
            "denormals flushed": float(torch.tensor([1e-39]) * 1.0) == 0.0}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor):
        return torch.equal(a, b)
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)
    if isinstance(a, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def watched(steps: list[Step], changes: dict[str, list[str]]) -> list[Step]:
    """``steps`` whose runs record in ``changes[key]`` what of :func:`process_state` they
    changed (also when they fail)."""

    def watch(step: Step) -> Step:
        def run(ctx):
            before = process_state()
            try:
                return step.run(ctx)
            finally:
                after = process_state()
                changes[step.key] = [k for k in before if not _same(before[k], after[k])]

        return dataclasses.replace(step, run=run)

    return [watch(s) for s in steps]


@pytest.fixture(scope="module")
def step_changes() -> dict[str, list[str]]:
    """For each step of the quick tour that :func:`report` ran, what it changed of the
    process (:func:`process_state`)."""
    return {}


@pytest.fixture(scope="module")
def report(tmp_path_factory, step_changes):
    """The quick tour, run once in this process by ``genlab tour``, each step watched."""
    from genlab.cli.main import main
    from genlab.tour import steps

    out = tmp_path_factory.mktemp("tour") / "report"
    threads = torch.get_num_threads()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(steps, "STEPS", watched(steps.STEPS, step_changes))
        # two threads at least, so that a step setting one thread is seen
        torch.set_num_threads(max(2, threads))
        try:
            code = main(["tour", "--quick", "--out", str(out), "--device", "cpu", "--json"])
        finally:
            torch.set_num_threads(threads)
    return code, out


def test_no_step_changes_threads_or_global_random_state(report, step_changes):
    """Every step draws from its own seeded generators and leaves the process as it found
    it: torch's threads, the global generators (torch, numpy, Python's random), the
    default dtype and the float mode are the same after each step as before it."""
    assert list(step_changes) == STEP_KEYS
    changed = {key: what for key, what in step_changes.items() if what}
    assert not changed, "steps that changed the process: " + "; ".join(
        f"{key} ({', '.join(what)})" for key, what in changed.items())


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


def test_quick_tour_shows_the_pretrained_pair(report):
    """The beta-VAE section shows the shipped pair side by side, scored again from the
    shipped weights and labelled with the commands that trained them, before its own short
    runs, which are labelled with their step count."""
    from genlab import pretrained
    from genlab.tour.sections.betavae import PAIR

    _, out = report
    step = json.loads((out / "results.json").read_text())["steps"]["betavae"]
    assert step["figures"][-2:] == ["betavae_traverse_beta1.png", "betavae_traverse_beta4.png"]
    assert any(k.startswith("MIG after ") and "steps" in k for k in step["numbers"])
    if not all(name in pretrained.names() for name, _ in PAIR):
        pytest.skip("the pretrained pair is not shipped in this checkout")
    assert step["figures"][0] == "betavae_traverse_pretrained_pair.png"
    for name, _ in PAIR:
        assert 0 <= step["numbers"][f"{name}: MIG"] <= 1
        for score in ("FactorVAE score", "BetaVAE score"):
            value, error = step["numbers"][f"{name}: {score}"].split(" ± ")
            assert 0 <= float(value) <= 1 and float(error) >= 0
        assert pretrained.get(name).command in step["command"]
        assert f"genlab vae traverse pretrained:{name}" in step["command"]


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


def test_threads_apply_to_the_command_alone(tmp_path):
    """``--threads N`` is applied by the entry point for the command it runs, and the
    caller's thread count is back when ``main`` returns."""
    from genlab.cli.main import main
    from genlab.tour import steps

    seen = []

    def count_threads(ctx):
        seen.append(torch.get_num_threads())
        return StepOutput(numbers={"threads": seen[-1]})

    threads = torch.get_num_threads()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(steps, "STEPS", [Step("threads", "Threads", "", count_threads)])
        torch.set_num_threads(2)
        try:
            assert main(["tour", "--threads", "1", "--out", str(tmp_path / "r")]) == 0
            assert seen == [1] and torch.get_num_threads() == 2
        finally:
            torch.set_num_threads(threads)
