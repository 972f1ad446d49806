"""``genlab gumbel``: Gumbel-max and Gumbel-softmax samples, and the temperature figure."""

from __future__ import annotations

import argparse
import math

from genlab.cli.common import (
    add_command,
    add_group,
    emit,
    nonneg_int,
    output_file,
    positive_float,
    positive_int,
)
from genlab.device import resolve_device
from genlab.errors import GenlabError
from genlab.latent.gumbel_tasks import (
    DEFAULT_LOGITS,
    DEFAULT_TAUS,
    draw_gumbel_samples,
    temperature_figure,
)


def logit_vector(text: str) -> list[float]:
    """argparse type: comma-separated logits, e.g. ``1,0.5,-inf`` (at least two)."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers such as 1,0.5,-inf, got {text!r}") from None
    if len(values) < 2:
        raise argparse.ArgumentTypeError(f"expected at least two logits, got {text!r}")
    if any(math.isnan(v) or v == math.inf for v in values):
        raise argparse.ArgumentTypeError(f"logits must be finite or -inf, got {text!r}")
    if all(v == -math.inf for v in values):
        raise argparse.ArgumentTypeError("at least one logit must be finite")
    return values


def temperature_list(text: str) -> list[float]:
    """argparse type: comma-separated temperatures > 0, e.g. ``0.1,0.5,1,10``."""
    try:
        return [positive_float(v) for v in text.split(",")]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated temperatures > 0 such as 0.1,0.5,1,10, got {text!r}"
        ) from None


def cmd_sample(args: argparse.Namespace) -> None:
    if args.method == "max" and args.tau is not None:  # Gumbel-max has no temperature
        raise GenlabError("--tau is the temperature of --method soft or hard; Gumbel-max "
                          "draws (--method max) have none: add --method soft or drop --tau")
    result = draw_gumbel_samples(args.logits, method=args.method, tau=args.tau, n=args.n,
                                 show=args.show, out=args.out or None, seed=args.seed,
                                 device=resolve_device(args.device))

    def text(r: dict) -> str:
        fmt = lambda v: "[" + ", ".join(f"{x:.4f}" for x in v) + "]"  # noqa: E731
        lines = [f"{r['n']} {r['method']} samples"
                 + (f" at tau = {r['tau']:g}" if r["tau"] is not None else ""),
                 f"softmax(logits)     {fmt(r['probs'])}",
                 f"argmax frequencies  {fmt(r['argmax_frequencies'])}",
                 f"mean sample         {fmt(r['mean'])}"]
        lines += [f"sample {i + 1:<12}{fmt(s)}" for i, s in enumerate(r["samples"])]
        return "\n".join(lines)

    emit(args, result, text)


def cmd_plot(args: argparse.Namespace) -> None:
    result = temperature_figure(args.out, logits=args.logits, taus=args.taus, n_mc=args.n_mc,
                                seed=args.seed)
    emit(args, result, lambda r: f"saved the Gumbel-softmax at tau = "
         f"{', '.join(map(str, r['taus']))} to {r['out']}")


def register(subparsers: argparse._SubParsersAction) -> None:
    sub = add_group(subparsers, "gumbel",
                    "Gumbel-max and Gumbel-softmax samples and the temperature figure")
    p = add_command(sub, "sample", cmd_sample,
                    "draw categorical (Gumbel-max), relaxed or straight-through samples",
                    examples="genlab gumbel sample --logits 1,2,0.5 --n 100000\n"
                             "genlab gumbel sample --logits 0,0,-inf --method soft --tau 0.5 "
                             "--json\n"
                             "genlab gumbel sample --logits 1,2,3 --method hard --n 10 "
                             "--out samples.csv")
    p.add_argument("--logits", type=logit_vector, required=True,
                   help="comma-separated logits (log-probabilities up to a constant; -inf = "
                        "impossible)")
    p.add_argument("--method", choices=("max", "soft", "hard"), default="max",
                   help="max: exact one-hot Gumbel-max draws; soft: Gumbel-softmax; hard: "
                        "straight-through (one-hot) Gumbel-softmax")
    p.add_argument("--tau", type=positive_float, default=None,
                   help="temperature of soft/hard samples (if not given: 1)")
    p.add_argument("--n", type=positive_int, default=10000, help="how many samples")
    p.add_argument("--show", type=nonneg_int, default=5,
                   help="how many samples to print")
    p.add_argument("--out", type=output_file, default=None,
                   help="write all samples as CSV (one per line)")
    p = add_command(sub, "plot", cmd_plot,
                    "figure: expectation and one sample of the Gumbel-softmax per temperature",
                    examples="genlab gumbel plot --out gumbel_temperatures.png\n"
                             "genlab gumbel plot --logits 0,1,2,-1 --taus 0.1,1,5 --out t.png",
                    device=False)
    p.add_argument("--logits", type=logit_vector,
                   default=list(DEFAULT_LOGITS),
                   help="comma-separated logits log(pi_k)")
    p.add_argument("--taus", type=temperature_list, default=list(DEFAULT_TAUS),
                   help="comma-separated temperatures")
    p.add_argument("--n-mc", type=positive_int, default=100_000,
                   help="samples per Monte Carlo expectation")
    p.add_argument("--out", type=output_file, default="gumbel_temperatures.png",
                   help="PNG file to write")
