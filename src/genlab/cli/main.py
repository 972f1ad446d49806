"""``genlab``: the entry point. Each command group lives in its own module in this package
and exposes ``register(subparsers)``."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys
from collections.abc import Iterator, Sequence

from genlab import __version__
from genlab.cli.common import (
    HELP_FORMATTER,
    ArgumentParser,
    check_outputs_apart,
    discard_stdout,
)
from genlab.errors import GenlabError

# Command groups, in the order ``genlab --help`` lists them: module genlab.cli.<name>.
GROUPS = (
    "data",
    "hopfield",
    "tsp",
    "bm",
    "rbm",
    "ae",
    "vae",
    "disentangle",
    "gumbel",
    "tour",
    "models",
)

EXAMPLES = """\
examples:
  genlab data list
  genlab data show mnist5k --out grid.png
  genlab <group> --help            # the commands of a group
  genlab <group> <command> --help  # options and examples of one command
"""


def build_parser() -> ArgumentParser:
    """The full ``genlab`` argument parser with every command group registered."""
    parser = ArgumentParser(
        prog="genlab",
        description="genlab: Hopfield networks, Boltzmann machines, autoencoders, VAEs, "
                    "beta-VAEs and Gumbel-softmax models.",
        epilog=EXAMPLES, formatter_class=HELP_FORMATTER)
    parser.add_argument("--version", action="version", version=f"genlab {__version__}")
    sub = parser.add_subparsers(dest="group", metavar="GROUP", parser_class=ArgumentParser)
    sub.required = True
    for name in GROUPS:
        importlib.import_module(f"genlab.cli.{name}").register(sub)
    return parser


def _close_distributed(wait: bool) -> None:
    """End a ``torchrun`` command's process group (see :func:`genlab.train.close_distributed`);
    a command that never imported torch.distributed has none."""
    if "torch.distributed" in sys.modules:
        from genlab.train import close_distributed
        close_distributed(wait)


@contextlib.contextmanager
def process_settings(args: argparse.Namespace) -> Iterator[None]:
    """The process-wide settings a command runs under; the one place genlab sets them.

    * ``--threads N`` (every command that has the flag): torch's intra-op CPU threads, for
      the command; the previous count is put back after it, so a program that calls
      :func:`main` keeps its own.
    * glibc's allocator keeps freed blocks for reuse (:func:`genlab.device.keep_freed_memory`,
      once per process; it cannot be undone): a training step frees and allocates the same
      activations each time, and fresh pages cost more than the step's arithmetic on a CPU.
    """
    import torch

    from genlab.device import keep_freed_memory

    keep_freed_memory()
    threads = getattr(args, "threads", None)
    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        if threads:
            torch.set_num_threads(previous)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``genlab``; returns the exit status (0 ok, 2 user error, 130 interrupted).

    Only here is anything of the process changed, and only as :func:`process_settings`
    says."""
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if getattr(args, "command_parser", None) is not None:
            check_outputs_apart(args.command_parser, args)
        with process_settings(args):
            status = args.func(args)
        _close_distributed(wait=True)
        return int(status or 0)
    except GenlabError as exc:
        message = " ".join(str(exc).split())
        print(f"genlab: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("genlab: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader left (``genlab ... | head``): nothing more to say
        discard_stdout()
        return 0
    finally:
        _close_distributed(wait=False)


if __name__ == "__main__":
    sys.exit(main())
