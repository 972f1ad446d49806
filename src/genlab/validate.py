"""Checks on what a model file says, made before anything is built from it.

``genlab.io.load_model`` checks the files themselves (one save, strict JSON, finite
tensors of known dtypes); every model's loader then checks its settings and tensors here:

* ``config_from_dict`` rebuilds a settings dataclass from JSON, checking each value
  against the field's type (an ``int`` is an integer, not ``"16"``, ``true`` or ``1.5``; a
  ``float`` is finite; a ``tuple[int, ...]`` a list of integers; ``X | None`` may be null),
  then runs the dataclass's own ``validate()``;
* ``setting`` does the same for one value of a plain dictionary, with bounds;
* ``expected_state`` builds a network on PyTorch's ``meta`` device (shapes without
  memory), and ``check_tensors`` compares a file's tensors with it, so a config that
  names a huge network beside small weights is refused before anything is allocated.
"""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any

import torch
from torch import nn

from genlab.errors import GenlabError

INT64_MAX = 2**63 - 1
_MISSING = object()


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_value(value: Any, hint: Any, what: str) -> Any:
    """``value`` as an instance of the type ``hint`` (``int``, ``float``, ``bool``, ``str``,
    ``tuple[T, ...]``, ``tuple[T, T]``, ``list[T]``, ``X | None``); GenlabError otherwise.
    Lists become tuples where the hint is a tuple."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        errors = []
        for option in options:
            try:
                return check_value(value, option, what)
            except GenlabError as exc:
                errors.append(exc)
        raise errors[0]
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise GenlabError(f"{what} must be a list, not {_describe(value)}")
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            if len(value) != len(args):
                raise GenlabError(f"{what} must have {len(args)} values, not {len(value)}")
            items = [check_value(v, a, f"{what}[{i}]")
                     for i, (v, a) in enumerate(zip(value, args, strict=True))]
        else:
            item = args[0] if args else Any
            items = [check_value(v, item, f"{what}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if hint is Any:
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise GenlabError(f"{what} must be true or false, not {_describe(value)}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int) or abs(value) > INT64_MAX:
            raise GenlabError(f"{what} must be an integer, not {_describe(value)}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value):
            raise GenlabError(f"{what} must be a finite number, not {_describe(value)}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise GenlabError(f"{what} must be a string, not {_describe(value)}")
        return value
    raise TypeError(f"no check for the type {hint!r}")


def config_from_dict(config_class: type, values: Mapping[str, Any], where: str = "model config"
                     ) -> Any:
    """Rebuild the dataclass ``config_class`` from JSON ``values`` (fields left out take
    their defaults), checking every value's type, then its ``validate()`` if it has one."""
    if not isinstance(values, Mapping):
        raise GenlabError(f"{where} must be a JSON object")
    hints = typing.get_type_hints(config_class)
    names = {f.name for f in fields(config_class)}
    unknown = set(values) - names
    if unknown:
        raise GenlabError(f"{where} has unknown fields {sorted(unknown)}; was it saved by a "
                          "newer genlab?")
    checked = {k: check_value(v, hints[k], f"{where}: {k}") for k, v in values.items()}
    config = config_class(**checked)
    if callable(getattr(config, "validate", None)):
        try:
            config.validate()
        except GenlabError as exc:
            raise GenlabError(f"{where}: {exc}") from None
    return config


def setting(values: Mapping[str, Any], name: str, hint: Any, where: str,
            default: Any = _MISSING, low: float | None = None, high: float | None = None,
            choices: tuple[Any, ...] | None = None, low_open: bool = False) -> Any:
    """``values[name]`` checked against ``hint``, ``low <= v <= high`` (``low < v`` with
    ``low_open``; for a list, every item) and ``choices``; ``default`` where it is absent
    (else an error)."""
    if name not in values:
        if default is _MISSING:
            raise GenlabError(f"{where} lacks the setting {name!r}; the file is damaged, save "
                              "the model again")
        return default
    value = check_value(values[name], hint, f"{where}: {name}")
    if value is None:
        return value
    if choices is not None and value not in choices:
        raise GenlabError(f"{where}: {name} must be one of {', '.join(map(str, choices))}, "
                          f"not {_describe(value)}")
    for v in value if isinstance(value, (tuple, list)) else [value]:  # bounds on each number
        if low is not None and (v <= low if low_open else v < low):
            raise GenlabError(f"{where}: {name} must be {'>' if low_open else '>='} {low:g}, "
                              f"not {_describe(value)}")
        if high is not None and v > high:
            raise GenlabError(f"{where}: {name} must be <= {high:g}, not {_describe(value)}")
    return value


def expected_state(build: Callable[[], nn.Module], where: str) -> dict[str, torch.Tensor]:
    """The state dict (``meta`` tensors: shapes and dtypes, no memory) of the module that
    ``build()`` makes; GenlabError when the settings cannot build one."""
    try:
        with torch.device("meta"):
            return build().state_dict()
    except GenlabError:
        raise
    except (RuntimeError, ValueError, OverflowError, TypeError, ZeroDivisionError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise GenlabError(f"{where}: the settings do not describe a network ({msg})") from None


def check_tensors(tensors: Mapping[str, torch.Tensor], expected: Mapping[str, torch.Tensor],
                  where: str) -> None:
    """The file's ``tensors`` must be exactly ``expected``'s names, shapes and kinds of dtype
    (floating point where a float is expected)."""
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    if missing or extra:
        parts = ([f"lacks {', '.join(missing[:5])}"] if missing else []) + \
                ([f"has unexpected {', '.join(extra[:5])}"] if extra else [])
        raise GenlabError(f"{where}: the weights do not match the config ({'; '.join(parts)})")
    for name, want in expected.items():
        got = tensors[name]
        if tuple(got.shape) != tuple(want.shape):
            raise GenlabError(f"{where}: tensor {name!r} has shape {tuple(got.shape)} but the "
                              f"config implies {tuple(want.shape)}")
        if want.is_floating_point() != got.is_floating_point():
            raise GenlabError(f"{where}: tensor {name!r} has dtype {got.dtype}, expected "
                              f"{want.dtype}")


def check_spins(t: torch.Tensor, what: str) -> None:
    """Every value of ``t`` is -1 or +1."""
    if not bool(((t == 1) | (t == -1)).all()):
        raise GenlabError(f"{what} must hold only -1 and +1")
