"""The pages a user reads and the files behind them: every figure in docs/figures is shown
by a page (README.md, docs/*.md, benchmarks/RESULTS.md) and every figure a page shows
exists; docs/figures/make_figures.py knows how to make each of them; the results page
stays a page."""

import importlib.util
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ROOT / "docs" / "figures"
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
         ROOT / "benchmarks" / "RESULTS.md"]
REFERENCE = re.compile(r"figures/([\w.\-]+\.png)")


def referenced() -> dict[str, list[str]]:
    """Figure file name -> the pages that show it."""
    shown: dict[str, list[str]] = {}
    for page in PAGES:
        for name in REFERENCE.findall(page.read_text(encoding="utf-8")):
            shown.setdefault(name, []).append(page.name)
    return shown


def test_every_figure_is_shown_by_a_page():
    unused = sorted(p.name for p in FIGURES.glob("*.png") if p.name not in referenced())
    assert not unused, f"figures no page shows: {unused}"


def test_every_figure_a_page_shows_exists():
    missing = {name: pages for name, pages in referenced().items()
               if not (FIGURES / name).is_file()}
    assert not missing, f"figures shown but missing: {missing}"


def test_the_figure_script_makes_every_figure(monkeypatch):
    spec = importlib.util.spec_from_file_location("make_figures", FIGURES / "make_figures.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "make_figures", module)  # its dataclass looks itself up
    spec.loader.exec_module(module)
    made = [name for figure in module.FIGURES for name in figure.files]
    assert len(made) == len(set(made))
    assert set(made) == {p.name for p in FIGURES.glob("*.png")}
    for figure in module.FIGURES:
        page = (ROOT / figure.page).read_text(encoding="utf-8")
        assert all(name in page for name in figure.files), figure.page


def test_results_page_is_a_page():
    lines = (ROOT / "benchmarks" / "RESULTS.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) < 350
    # every result file it names is there (names with a capital are placeholders)
    text = "\n".join(lines)
    names = set(re.findall(r"results/([\w.\-]+\.json)", text))
    names |= set(re.findall(r"`([\w.\-]+\.json)`", text))
    for name in sorted(n for n in names if not re.search("[A-Z]", n)):
        assert (ROOT / "benchmarks" / "results" / name).is_file(), name
