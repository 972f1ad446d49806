"""Saving and loading models: safetensors weights plus a JSON config, written atomically.

A model called ``NAME`` is two files, ``NAME.safetensors`` (tensors only, never
pickled) and ``NAME.json`` (its class, configuration and metadata). Every write goes
to a temporary file in the same folder and is renamed into place, so an interrupted
save never leaves a half-written file where a good one was.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from genlab import __version__
from genlab.errors import GenlabError

FORMAT = "genlab-model/1"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temp file, fsync, rename)."""
    path = Path(path)
    if path.parent != Path("") and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _json_default(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.tolist()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def to_jsonable(obj: Any) -> Any:
    """Turn numpy/torch scalars and arrays, paths and non-finite floats into JSON values.

    Non-finite floats become ``None`` so the output is strict JSON.
    """
    text = json.dumps(obj, default=_json_default)
    value = json.loads(text)

    def clean(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, list):
            return [clean(x) for x in v]
        return v

    return clean(value)


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as indented strict JSON to ``path`` atomically."""
    text = json.dumps(to_jsonable(obj), indent=2, allow_nan=False) + "\n"
    return atomic_write_bytes(path, text.encode())


def model_paths(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """``(NAME.safetensors, NAME.json)`` for ``NAME``, ``NAME.safetensors`` or ``NAME.json``."""
    p = Path(path)
    if p.suffix in (".safetensors", ".json"):
        p = p.with_suffix("")
    return p.with_name(p.name + ".safetensors"), p.with_name(p.name + ".json")


def has_model(path: str | os.PathLike[str]) -> bool:
    """Whether both files of the model ``NAME`` (see :func:`model_paths`) exist."""
    return all(p.is_file() for p in model_paths(path))


def save_model(path: str | os.PathLike[str], tensors: dict[str, torch.Tensor], kind: str,
               config: dict[str, Any], meta: dict[str, Any] | None = None) -> Path:
    """Save ``tensors`` and a JSON config as ``NAME.safetensors`` + ``NAME.json``.

    ``kind`` names the model class (checked on load); ``config`` is what rebuilds it;
    ``meta`` holds anything else (training history, data set, seed). The weights file
    is written before the JSON, so a JSON present always describes complete weights.
    Returns the path of the weights file.
    """
    wpath, jpath = model_paths(path)
    flat = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    atomic_write_bytes(wpath, save(flat))
    atomic_write_json(jpath, {"format": FORMAT, "kind": kind, "genlab_version": __version__,
                              "config": config, "meta": meta or {}})
    return wpath


def load_model(path: str | os.PathLike[str], kind: str | None = None,
               device: torch.device | str = "cpu"
               ) -> tuple[dict[str, torch.Tensor], dict[str, Any], dict[str, Any]]:
    """Load ``(tensors, config, meta)`` saved by :func:`save_model`; never unpickles.

    Raises :class:`GenlabError` when a file is missing, unreadable, corrupt, or holds a
    model of another ``kind``.
    """
    wpath, jpath = model_paths(path)
    for p in (wpath, jpath):
        if not p.is_file():
            raise GenlabError(f"model file {p} not found; give the path used with --out "
                              "when the model was saved")
    try:
        header = json.loads(jpath.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GenlabError(f"{jpath} is not a readable genlab model config ({exc})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise GenlabError(f"{jpath} is not a genlab model config (no format {FORMAT!r})")
    if kind is not None and header.get("kind") != kind:
        raise GenlabError(f"{jpath} holds a {header.get('kind')!r} model, not a {kind!r} model")
    try:
        tensors = load_file(str(wpath), device=str(device))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise GenlabError(f"{wpath} is not a readable safetensors file ({msg})") from None
    return tensors, dict(header.get("config", {})), dict(header.get("meta", {}))
