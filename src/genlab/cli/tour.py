"""``genlab tour``: run every model on built-in data and write a report page."""

from __future__ import annotations

import argparse
from pathlib import Path

from genlab.cli.common import (
    add_threads,
    device_name,
    emit,
    output_dir,
    output_file,
    seed_int,
)
from genlab.device import resolve_device
from genlab.errors import GenlabError

INTRO = ("Every model of the lecture, run end to end on built-in data: Hopfield networks, "
         "the travelling salesman, Boltzmann machines, RBMs, autoencoders, VAEs, beta-VAEs "
         "and Gumbel-softmax models. Each section gives the equation, the command that "
         "reproduces it, its figures and its numbers.")


def cmd_tour(args: argparse.Namespace) -> int:
    from genlab.tour.runner import TourContext, check_report_folder, run_tour
    from genlab.tour.steps import select_steps

    steps = select_steps(args.only)
    out = Path(args.out)
    check_report_folder(out)
    if args.screenshot:  # before the tour, not after minutes of work
        from genlab.tour.browser import require_chromium

        require_chromium()
    ctx = TourContext(out=out, quick=args.quick, device=resolve_device(args.device),
                      seed=args.seed)
    result = run_tour(steps, ctx, "genlab tour" + (" (quick)" if args.quick else ""), INTRO)
    shot = None
    if args.screenshot:
        from genlab.tour.browser import check_report

        check = check_report(result.page, screenshot=Path(args.screenshot))
        shot = str(check.screenshot) if check.screenshot else None
    emit(args, {"out": str(out), "page": str(result.page), "results": str(out / "results.json"),
                "screenshot": shot, "quick": args.quick, "seconds": result.seconds,
                "steps": {s.key: s.status for s in result.sections}, "failed": result.failed},
         lambda r: f"wrote {r['page']} ({len(r['steps'])} steps in {r['seconds']:.0f} s"
                   + (f"; FAILED: {', '.join(r['failed'])}" if r["failed"] else "") + ")")
    return 1 if result.failed else 0


def step_names(text: str) -> str:
    """argparse type: comma-separated names of tour steps (checked against the steps)."""
    from genlab.tour.steps import select_steps

    try:
        select_steps(text)
    except GenlabError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def register(subparsers: argparse._SubParsersAction) -> None:
    from genlab.cli.common import HELP_FORMATTER

    examples = ("genlab tour --out genlab-report\n"
                "genlab tour --quick --out /tmp/report --json\n"
                "genlab tour --only hopfield,tsp --out report\n"
                "genlab tour --device cuda --out report\n"
                "genlab tour --quick --out /tmp/report --screenshot docs/figures/tour.png")
    p = subparsers.add_parser(
        "tour", help="run every model end to end and write a report page",
        description="Run the lecture's models end to end on built-in data and write "
                    "DIR/index.html (self-contained), DIR/results.json and a PNG per figure. "
                    "Exit status 1 when a step fails (the other steps still run).",
        epilog="examples:\n" + "\n".join("  " + e for e in examples.splitlines()),
        formatter_class=HELP_FORMATTER)
    p.add_argument("--out", type=output_dir, default="genlab-report",
                   help="report folder")
    p.add_argument("--quick", action="store_true", help="small settings: about two minutes")
    p.add_argument("--only", type=step_names, default=None,
                   help="comma-separated steps to run: hopfield, capacity, tsp, boltzmann, rbm, "
                        "autoencoder, vae, betavae, gumbel")
    p.add_argument("--screenshot", type=output_file, default=None, metavar="PNG",
                   help="also render the page in headless Chromium and save a screenshot")
    add_threads(p, "")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--seed", type=seed_int, default=0, help="random seed")
    p.add_argument("--device", type=device_name, default="auto", help="auto | cpu | cuda[:N]")
    p.set_defaults(func=cmd_tour)
