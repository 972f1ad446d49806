"""Running the tour: each step in turn, failures isolated, a report at the end."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from genlab.errors import GenlabError
from genlab.io import make_folder
from genlab.progress import log, progress, show_progress
from genlab.report import Section, write_report


@dataclass
class TourContext:
    """What every step gets: where to write, how big to run, on which device, which seed."""

    out: Path
    quick: bool
    device: torch.device
    seed: int

    def path(self, name: str) -> str:
        """A figure file name relative to the report folder (the step writes ``out/name``)."""
        return name

    def file(self, name: str) -> Path:
        return self.out / name


@dataclass
class StepOutput:
    """What a step returns: its figures (file, caption), numbers and reproducing command."""

    # (file, caption) or (file, caption, genlab.report.WIDE) for one spanning the row
    figures: list[tuple[str, ...]] = field(default_factory=list)
    numbers: dict[str, Any] = field(default_factory=dict)
    command: str = ""
    summary: str = ""


@dataclass(frozen=True)
class Step:
    """One step of the tour. ``run`` draws its random numbers from generators it seeds
    from ``ctx.seed`` and leaves the process as it found it (torch's threads, the global
    random generators)."""

    key: str
    title: str
    equation: str
    run: Callable[[TourContext], StepOutput]


@dataclass
class TourResult:
    sections: list[Section]
    page: Path
    seconds: float

    @property
    def failed(self) -> list[str]:
        return [s.key for s in self.sections if s.status == "failed"]


REPORT_MARK = ".genlab-tour"  # written first into a report folder: a tour's own folder


def check_report_folder(out: Path) -> None:
    """A tour writes its report into ``out`` and replaces what has the same names there
    (the page, the figures, its training runs), so ``out`` must be new, empty, or a folder
    an earlier tour wrote (it holds :data:`REPORT_MARK`): a user's other files are never
    overwritten."""
    if out.exists() and not out.is_dir():
        raise GenlabError(f"--out {out} is a file; give a folder for the report")
    if not out.is_dir() or (out / REPORT_MARK).is_file():
        return
    others = sorted(p.name for p in out.iterdir())
    if others:
        shown = ", ".join(others[:4]) + (", ..." if len(others) > 4 else "")
        raise GenlabError(f"--out {out} holds files a tour did not write ({shown}); the tour "
                          "would replace those with its report's names: give a new or empty "
                          "folder")


def run_tour(steps: list[Step], ctx: TourContext, title: str, intro: str) -> TourResult:
    """Run ``steps`` in order; a failing step is recorded and the others still run.
    ``ctx.out`` must pass :func:`check_report_folder`. Each step is given ``ctx`` and
    seeds itself: nothing global is seeded between steps."""
    check_report_folder(ctx.out)
    make_folder(ctx.out)
    (ctx.out / REPORT_MARK).write_text("a report written by genlab tour\n")
    sections: list[Section] = []
    results: dict[str, Any] = {"quick": ctx.quick, "seed": ctx.seed, "device": str(ctx.device),
                               "steps": {}}
    t_all = time.perf_counter()
    for i, step in progress(list(enumerate(steps, 1)), total=len(steps), desc="tour"):
        log(f"[{i}/{len(steps)}] {step.title}")
        t0 = time.perf_counter()
        section = Section(key=step.key, title=step.title, equation=step.equation)
        try:
            out = step.run(ctx)
            section.figures, section.numbers = out.figures, out.numbers
            section.command, section.summary = out.command, out.summary
        except GenlabError as exc:
            section.status, section.error = "failed", str(exc)
        except Exception as exc:  # a broken step must not stop the tour
            section.status = "failed"
            section.error = f"{type(exc).__name__}: {exc}"
            if show_progress():
                traceback.print_exc()
        section.seconds = time.perf_counter() - t0
        if section.status == "failed":
            log(f"    failed after {section.seconds:.1f} s: {section.error}")
        else:
            log(f"    done in {section.seconds:.1f} s")
        sections.append(section)
        results["steps"][step.key] = {
            "title": step.title, "status": section.status, "seconds": section.seconds,
            "numbers": section.numbers, "figures": [f[0] for f in section.figures],
            "command": section.command, "error": section.error}
    seconds = time.perf_counter() - t_all
    results["seconds"] = seconds
    page = write_report(ctx.out, title, intro, sections, results,
                        footer=f"{len(steps)} steps in {seconds:.0f} s on {ctx.device}.")
    return TourResult(sections, page, seconds)
