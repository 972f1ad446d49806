"""Conventions shared by every ``genlab`` command.

* ``--json`` prints one JSON object with the results on stdout; logs go to stderr.
* ``--seed`` makes a run reproducible; ``--device auto|cpu|cuda``.
* A user error raises :class:`~genlab.errors.GenlabError`; ``main`` prints it as one
  line ``genlab: error: ...`` and exits 2.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import re
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from genlab.errors import GenlabError
from genlab.io import model_paths, to_jsonable
from genlab.outputs import check_output_dir, check_output_file, check_output_model
from genlab.results import Result

# Seeds are 0 .. 2**63 - 1: what torch.manual_seed and numpy's generators all accept.
MAX_SEED = 2**63 - 1


# What argparse must read as a value, not as an option, after a flag: a number that starts
# with a minus sign, also in a comma-separated list or with an exponent (``--logits
# -inf,0``, ``--lr -1e-3``), so that the value's own check says what is wrong with it.
# argparse's default knows only ``-3`` and ``-0.5``. No genlab option starts ``-<digit>``,
# ``-.``, ``-inf`` or ``-nan``.
NEGATIVE_VALUE = re.compile(r"^-(\d|\.\d|inf|nan)", re.IGNORECASE)


class ArgumentParser(argparse.ArgumentParser):
    """An argparse parser whose usage errors are one-line :class:`GenlabError` s, that
    reads a value starting with a minus sign and a number as a value (see
    :data:`NEGATIVE_VALUE`), and that takes options only by their full names (an
    abbreviation such as ``--hid`` would silently mean whichever option it begins)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = NEGATIVE_VALUE

    def error(self, message: str) -> None:  # type: ignore[override]
        raise GenlabError(f"{self.prog}: {message} (see {self.prog} --help)")


def shown_default(action: argparse.Action) -> bool:
    """Whether ``--help`` shows ``action``'s default: an option (or optional positional)
    whose default is a value (not None, False, an empty list or SUPPRESS)."""
    default = action.default
    if action.help == argparse.SUPPRESS or default is argparse.SUPPRESS or default is None \
            or default is False or (isinstance(default, list | tuple) and not default):
        return False
    if isinstance(action, argparse._HelpAction | argparse._VersionAction):
        return False
    return bool(action.option_strings) or action.nargs in (argparse.OPTIONAL,
                                                          argparse.ZERO_OR_MORE)


def default_text(default: Any, sep: str = ",") -> str:
    """A default as the user would type it: floats short (``0.0005``, ``3``), a list as
    its values joined by ``sep`` (a comma for the comma-separated option types; a space
    for ``nargs`` options)."""
    if isinstance(default, list | tuple):
        return sep.join(default_text(v) for v in default)
    if isinstance(default, float):
        return f"{default:g}"
    return str(default)


def _shown_text(action: argparse.Action) -> str:
    return default_text(action.default, " " if action.nargs in ("+", "*") else ",")


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Every parser's help formatter: descriptions and examples kept as written, and each
    option's default taken from the parser itself, ``(default: X)``, so that help and
    behaviour cannot disagree (see :func:`shown_default`). Help texts therefore state no
    default by hand."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if shown_default(action) and "%(default)" not in text:
            text += " (default: %(default)s)"
        return text

    def _format_action(self, action: argparse.Action) -> str:
        if action.help is None and shown_default(action):   # an option with no help text
            action = copy.copy(action)
            action.help = ""
            action.help = self._get_help_string(action).lstrip()
        return super()._format_action(action)

    def _expand_help(self, action: argparse.Action) -> str:
        if isinstance(action.default, list | tuple | float):
            action = copy.copy(action)
            action.default = _shown_text(action)
        return super()._expand_help(action)


HELP_FORMATTER = HelpFormatter


def add_group(subparsers: argparse._SubParsersAction, name: str, help: str,
              description: str | None = None) -> argparse._SubParsersAction:
    """Add a command group ``genlab NAME`` and return its sub-command registry."""
    parser = subparsers.add_parser(name, help=help, description=description or help,
                                   formatter_class=HELP_FORMATTER)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    sub.required = True
    return sub


def add_command(sub: argparse._SubParsersAction, name: str, func: Callable[[argparse.Namespace],
                Any], help: str, examples: str = "", description: str | None = None,
                seed: bool = True, device: bool = True, json_flag: bool = True
                ) -> argparse.ArgumentParser:
    """Add ``genlab GROUP NAME`` running ``func(args)``, with the common options.

    ``examples`` (one command per line) is shown at the end of ``--help``.
    """
    epilog = "examples:\n" + "\n".join("  " + line for line in examples.strip().splitlines()) \
        if examples.strip() else None
    parser = sub.add_parser(name, help=help, description=description or help, epilog=epilog,
                            formatter_class=HELP_FORMATTER)
    if json_flag:
        parser.add_argument("--json", action="store_true",
                            help="print one JSON object with the results on stdout")
    if seed:
        parser.add_argument("--seed", type=seed_int, default=0,
                            help=f"random seed in 0..{MAX_SEED}; the same seed gives the same run")
    if device:
        parser.add_argument("--device", type=device_name, default="auto",
                            help="auto | cpu | cuda[:N] (auto picks CUDA when present)")
    # the command's own parser, so that main can tell its inputs from its outputs
    parser.set_defaults(func=func, command_parser=parser)
    return parser


def emit(args: argparse.Namespace, result: dict[str, Any] | Result,
         text: str | Callable[[dict[str, Any]], str] | None = None) -> None:
    """Print a command's result (a dict or a library :class:`~genlab.results.Result`): one
    JSON object with ``--json``, else readable text."""
    if isinstance(result, Result):
        result = result.to_dict()
    if getattr(args, "json", False):
        shown = json.dumps(to_jsonable(result), allow_nan=False)
    else:
        if callable(text):
            text = text(result)
        shown = text if text is not None else format_result(result)
    try:
        print(shown)
        sys.stdout.flush()
    except BrokenPipeError:
        raise  # the reader left (``| head``); main exits quietly
    except OSError as exc:  # a full disk or a closed stdout: the result is lost
        discard_stdout()
        raise GenlabError(f"cannot write the result to standard output "
                          f"({exc.strerror or exc}); the output was lost") from None


def discard_stdout() -> None:
    """Point standard output at the null device, so that Python's last flush at exit
    does not fail again on a closed pipe or a full disk (and print a traceback)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return  # not a real file (captured output): nothing is flushed at exit
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def format_result(result: dict[str, Any], indent: int = 0) -> str:
    """A plain ``key: value`` rendering of a result dictionary."""
    lines = []
    pad = " " * indent
    for key, value in result.items():
        if isinstance(value, dict):
            lines.append(f"{pad}{key}:")
            lines.append(format_result(value, indent + 2))
        elif isinstance(value, float):
            shown = f"{value:.6g}" if math.isfinite(value) else str(value)
            lines.append(f"{pad}{key}: {shown}")
        elif isinstance(value, list) and len(value) > 12:
            lines.append(f"{pad}{key}: [{len(value)} values]")
        else:
            lines.append(f"{pad}{key}: {value}")
    return "\n".join(lines)


# ----- argument types that fail with clear messages ---------------------------------------

def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


# More threads than this many per CPU only slow torch down; far more (100000) exhausts the
# process's memory maps and crashes it, so a --threads beyond it is refused.
THREADS_PER_CPU = 4


def thread_count(text: str) -> int:
    """argparse type: a number of CPU threads, 1 .. ``THREADS_PER_CPU`` x the CPUs."""
    value = positive_int(text)
    cpus = os.cpu_count() or 1
    if value > THREADS_PER_CPU * cpus:
        raise argparse.ArgumentTypeError(f"{value} threads is more than {THREADS_PER_CPU} per "
                                         f"CPU of this machine ({cpus} CPUs); give at most "
                                         f"{THREADS_PER_CPU * cpus}")
    return value


def add_threads(parser: argparse.ArgumentParser, why: str = "1 is fastest for small models "
                "on a busy machine") -> None:
    """``--threads N`` (dest ``threads``): torch's intra-op CPU threads while the command runs;
    ``genlab.cli.main.process_settings`` applies it and restores the previous count after."""
    parser.add_argument("--threads", dest="threads", type=thread_count, default=None,
                        help="CPU threads for torch (if not given: torch's choice)"
                             + (f"; {why}" if why else ""))


def nonneg_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {value}")
    return value


def finite_float(text: str) -> float:
    """argparse type: a finite float."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def nonneg_float(text: str) -> float:
    """argparse type: a finite float >= 0."""
    value = finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite float > 0."""
    value = finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def probability(text: str) -> float:
    """argparse type: a float in [0, 1]."""
    value = finite_float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a probability in [0, 1], got {text!r}")
    return value


def existing_file(text: str) -> Path:
    """argparse type: a path to an existing file."""
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"file {text!r} not found")
    return path


def add_checkpointed_output(parser: argparse.ArgumentParser, name: str = "NAME") -> None:
    """Add ``--out NAME`` (the model a training saves, with its checkpoint
    ``NAME.checkpoint.*`` while it trains), ``--resume`` and ``--overwrite``."""
    parser.add_argument("--out", type=output_model, required=True, metavar=name,
                        help=f"model name: writes {name}.safetensors + {name}.json (and, while "
                             f"it trains, the checkpoint {name}.checkpoint.*)")
    parser.add_argument("--resume", action="store_true",
                        help=f"continue the unfinished run in {name}.checkpoint.* exactly "
                             "where it stopped (same data and options)")
    parser.add_argument("--overwrite", action="store_true",
                        help=f"replace the model (or unfinished run) already saved as {name}")


def add_data_options(parser: argparse.ArgumentParser, default: str = "mnist5k",
                     binarize: str = "none", positional: bool = False) -> None:
    """Add the options every data loader honours (see :func:`genlab.data.load_dataset`).

    The data set is ``--data NAME`` (default ``default``), or a positional ``NAME`` when
    ``positional``; either way it lands in ``args.data``.
    """
    what = ("data set name or path: digits, mnist5k, fashion-mnist, a .npz, a .npy, an IDX "
            "images file (or IMAGES,LABELS), or a folder of PNGs")
    if positional:
        parser.add_argument("data", metavar="NAME", type=data_source, help=what)
        # without this, argparse reads ``--data X`` as an abbreviation of --data-dir
        parser.add_argument("--data", dest="data_flag", type=_data_is_positional,
                            default=None, help=argparse.SUPPRESS)
    else:
        parser.add_argument("--data", default=default, type=data_source,
                            help=what)
    parser.add_argument("--split", default="train", choices=("train", "test", "all"),
                        help="which part of the data set")
    parser.add_argument("--binarize", default=binarize,
                        choices=("none", "threshold", "bernoulli"),
                        help="none, threshold at 0.5, or bernoulli resampling each epoch")
    parser.add_argument("--limit", type=positive_int, default=None,
                        help="use at most this many examples")
    parser.add_argument("--data-dir", type=existing_dir, default=None,
                        help="folder holding data files (if not given: $GENLAB_DATA, else the "
                             "system copy); a folder named here must exist and hold them")


def _data_is_positional(text: str) -> str:
    """argparse type of ``--data`` where the data set is the positional NAME: refused."""
    raise argparse.ArgumentTypeError(f"this command takes the data set as its first argument, "
                                     f"not as --data: write {text!r} before the options")


def seed_int(text: str) -> int:
    """argparse type: a random seed, an integer in 0 .. 2**63 - 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer seed, got {text!r}") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"a seed must be in 0..{MAX_SEED} (2**63 - 1), "
                                         f"got {text}")
    return value


def _path_type(check: Callable[[str, str], Path], text: str) -> str:
    try:
        check(text, "")
    except GenlabError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def output_file(text: str) -> str:
    """argparse type: a file genlab will write (see :func:`genlab.outputs.check_output_file`);
    checked when the command line is read, so a mistake stops the command before its work."""
    return _path_type(check_output_file, text)


def output_dir(text: str) -> str:
    """argparse type: a folder genlab will write into (see
    :func:`genlab.outputs.check_output_dir`)."""
    return _path_type(check_output_dir, text)


def output_model(text: str) -> str:
    """argparse type: a model ``NAME`` genlab will save as ``NAME.safetensors`` +
    ``NAME.json`` (see :func:`genlab.outputs.check_output_model`)."""
    return _path_type(check_output_model, text)


def input_name(text: str) -> str:
    """argparse type: a non-empty name or path of something to read (a model, a run)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a name or path, got an empty string")
    return text


def device_name(text: str) -> str:
    """argparse type: ``auto``, ``cpu``, ``cuda`` or ``cuda:N`` (whether a GPU is there is
    checked when the command starts, by :func:`genlab.device.resolve_device`)."""
    if text in ("auto", "cpu", "cuda") or re.fullmatch(r"cuda:\d+", text):
        return text
    raise argparse.ArgumentTypeError(f"unknown device {text!r}; choose auto, cpu, cuda or "
                                     "cuda:N")


def existing_dir(text: str) -> str:
    """argparse type: a path to an existing folder."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a folder, got an empty string")
    if not Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"folder {text!r} not found")
    return text


def data_source(text: str) -> str:
    """argparse type: a data set name or a path the command reads (a file, ``IMAGES,LABELS``,
    a folder); marks the argument as an input for :func:`check_outputs_apart`."""
    return text


def _file_identity(path: Path) -> tuple[int, int] | None:
    """``(device, inode)`` of the regular file at ``path`` (after symbolic links), or None."""
    try:
        st = path.stat()
    except (OSError, ValueError):
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISREG(st.st_mode) else None


def _argument_name(action: argparse.Action) -> str:
    return action.option_strings[-1] if action.option_strings else \
        str(action.metavar or action.dest.upper())


def _read_paths(action: argparse.Action, text: str) -> list[Path]:
    """The files an input argument may read: a model name's two files, each part of
    ``IMAGES,LABELS``, the path itself."""
    paths = [Path(text)]
    if action.type is input_name:
        try:
            paths += list(model_paths(text))
        except GenlabError:
            pass
    elif action.type is data_source and "," in text:
        paths += [Path(part) for part in text.split(",") if part]
    return paths


def check_outputs_apart(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse a command line whose outputs would overwrite its own inputs, or each other.

    Inputs are the arguments of type :func:`existing_file`, :func:`input_name` and
    :func:`data_source` (with the files they read, e.g. a model name's ``.safetensors``
    and ``.json``, or an image in a folder of PNGs); outputs those of type
    :func:`output_file` and :func:`output_model` (a model's two files). An output that is
    an existing input file (the same file, through links too) would destroy what the
    command reads; two outputs naming one file would leave only the last.
    """
    inputs: list[tuple[str, str, tuple[int, int], Path]] = []
    outputs: list[tuple[str, str, Path]] = []
    for action in parser._actions:
        value = getattr(args, action.dest, None)
        if not isinstance(value, (str, os.PathLike)):
            continue
        text, name = os.fspath(value), _argument_name(action)
        if action.type in (existing_file, input_name, data_source):
            for path in _read_paths(action, text):
                ident = _file_identity(path)
                if ident is not None or (action.type is data_source and path.is_dir()):
                    inputs.append((name, text, ident or (-1, -1), path))
        elif action.type is output_model:
            outputs += [(name, text, path) for path in model_paths(text)]
        elif action.type is output_file:
            outputs.append((name, text, Path(text)))
    seen: dict[str, tuple[str, str]] = {}
    for name, text, path in outputs:
        ident = _file_identity(path)
        for in_name, in_text, in_ident, in_path in inputs:
            inside = in_path.is_dir() and ident is not None and path.parent.exists() \
                and os.path.samefile(path.parent, in_path)
            if (ident is not None and ident == in_ident) or inside:
                raise GenlabError(f"{name} {text!r} would overwrite "
                                  + (f"{str(path)!r}, " if str(path) != text else "")
                                  + f"{'a file in ' if inside else ''}{in_name} {in_text!r}, "
                                  "which this command reads; give another name")
        key = os.path.normcase(os.path.realpath(path))
        if key in seen and seen[key][0] != name:
            other, other_text = seen[key]
            raise GenlabError(f"{other} {other_text!r} and {name} {text!r} both write "
                              f"{str(path)!r}; give them different names")
        seen.setdefault(key, (name, text))
