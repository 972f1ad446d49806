"""Saving and loading models: safetensors weights plus a JSON config, saved as one unit.

A model called ``NAME`` is two files, ``NAME.safetensors`` (tensors only, never
pickled) and ``NAME.json`` (its class, configuration, metadata and the SHA-256 digest of
the weights file). A save writes both to temporary files in the same folder, then renames
them into place, weights first; the digest makes the pair one unit:

* a save interrupted before its first rename leaves the previous model as it was;
* one interrupted between the two renames (or two saves to one name at once) leaves
  weights that the JSON does not describe. The save kept a hard link to the previous
  weights (``.NAME.safetensors.prev``) until it finished, so ``load_model`` finds the
  weights the JSON describes there and loads the previous model, with a warning;
* anything else that does not match (a weights file from elsewhere, bytes changed on
  disk) is refused with a ``GenlabError``, never loaded as a mixed model.

Everything read is checked before it is used (``read_header``, ``load_model``):
the JSON must be strict JSON (no NaN), its ``config`` and ``meta`` objects, the tensors
finite numbers of a known dtype. Checking each model's settings and the shapes they imply
is the job of ``genlab.validate``, which every loader calls next; which loader rebuilds
a model of a given ``kind`` is ``genlab.registry``'s business.

A model's name may be ``pretrained:NAME``, a model shipped inside the package
(``genlab.pretrained``): ``resolve_model_name`` turns it into the package path wherever a
model is read, and ``save_model`` refuses it (shipped models are read-only).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_bytes
from safetensors.torch import save

from genlab import __version__
from genlab.errors import GenlabError
from genlab.progress import log

FORMAT = "genlab-model/2"
LEGACY_FORMATS = ("genlab-model/1",)   # no digest; loaded when the weights are not newer
MAX_CONFIG_BYTES = 64 * 2**20          # a model's JSON is kilobytes; refuse anything absurd
ALLOWED_DTYPES = {torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.int8,
                  torch.uint8, torch.int16, torch.int32, torch.int64, torch.bool}
HALF_DTYPES = (torch.float16, torch.bfloat16)   # stored only; loaded as float32


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_temp(folder: Path, name: str, data: bytes) -> Path:
    """``data`` in a new, fsync'd temporary file in ``folder``; returns its path."""
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def _fsync_dir(folder: Path) -> None:
    """Make the renames in ``folder`` durable (best effort where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def make_folder(folder: str | os.PathLike[str]) -> Path:
    """Make ``folder`` and its parents where missing; a folder that cannot be made (which
    the checks of ``genlab.outputs`` cannot always foresee, e.g. under ``/proc``, where
    a superuser passes every permission check) is a ``GenlabError``."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GenlabError(f"cannot make the folder {str(folder)!r}: {exc.strerror or exc}; "
                          "give a path in a writable folder") from None
    return folder


def _folder(path: Path) -> Path:
    folder = path.parent
    if folder != Path("") and not folder.exists():
        make_folder(folder)
    return folder


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temp file, fsync, rename)."""
    path = Path(path)
    tmp = _write_temp(_folder(path), path.name, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
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


def _json_text(obj: Any) -> str:
    return json.dumps(to_jsonable(obj), indent=2, allow_nan=False) + "\n"


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as indented strict JSON to ``path`` atomically."""
    return atomic_write_bytes(path, _json_text(obj).encode())


PRETRAINED_PREFIX = "pretrained:"
# the models shipped as package data (``genlab.pretrained``, the catalogue, reads the same)
PRETRAINED_FOLDER = Path(__file__).resolve().parent / "pretrained"


def pretrained_names() -> list[str]:
    """The names of the shipped models, sorted: those with both files in the package."""
    return sorted(p.stem for p in PRETRAINED_FOLDER.glob("*.json")
                  if (PRETRAINED_FOLDER / f"{p.stem}.safetensors").is_file())


def pretrained_path(name: str) -> Path:
    """``NAME`` of the shipped model ``name`` (with or without ``pretrained:``) inside the
    installed package; ``GenlabError`` (one line, listing the available names) for a name
    genlab does not ship."""
    bare = name[len(PRETRAINED_PREFIX):] if name.startswith(PRETRAINED_PREFIX) else name
    known = pretrained_names()
    if bare not in known:
        raise GenlabError(f"no pretrained model {bare!r}; available: "
                          f"{', '.join(known) or 'none'} (see 'genlab models list')")
    return PRETRAINED_FOLDER / bare


def resolve_model_name(path: str | os.PathLike[str]) -> Path:
    """``path`` as a ``Path``, with ``pretrained:NAME`` resolved to the shipped model
    ``NAME`` inside the installed package (``pretrained_path``). The one place every
    loader resolves it: ``model_paths`` and ``open_model`` call it."""
    text = os.fspath(path)
    if text.startswith(PRETRAINED_PREFIX):
        return pretrained_path(text)
    return Path(path)


def model_paths(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """``(NAME.safetensors, NAME.json)`` for ``NAME``, ``NAME.safetensors`` or ``NAME.json``;
    ``pretrained:NAME`` names a shipped model (see ``resolve_model_name``)."""
    p = resolve_model_name(path)
    if p.name in ("", ".", ".."):   # "/", ".", "a/..": a folder, never a model's name
        raise GenlabError(f"{str(path)!r} names a folder, not a model; give NAME, the name of "
                          "NAME.safetensors + NAME.json")
    if p.suffix in (".safetensors", ".json"):
        p = p.with_suffix("")
    return p.with_name(p.name + ".safetensors"), p.with_name(p.name + ".json")


def previous_weights_path(path: str | os.PathLike[str]) -> Path:
    """``.NAME.safetensors.prev``: the weights a save replaces, kept until it finishes."""
    wpath, _ = model_paths(path)
    return wpath.with_name(f".{wpath.name}.prev")


def has_model(path: str | os.PathLike[str]) -> bool:
    """Whether both files of the model ``NAME`` (see ``model_paths``) exist."""
    return all(p.is_file() for p in model_paths(path))


def model_files(path: str | os.PathLike[str]) -> list[Path]:
    """Those of ``NAME``'s files (weights, JSON, kept previous weights) that exist."""
    return [p for p in (*model_paths(path), previous_weights_path(path)) if p.exists()]


def delete_model(path: str | os.PathLike[str]) -> None:
    """Delete the model ``NAME``'s files (``model_files``), the JSON first, so that a
    deletion cut short never leaves a pair that looks whole."""
    wpath, jpath = model_paths(path)
    for p in (jpath, wpath, previous_weights_path(path)):
        p.unlink(missing_ok=True)


def _keep_previous(wpath: Path, prev: Path) -> None:
    """Hard-link the weights about to be replaced to ``prev`` (atomically); where the file
    system has no hard links a torn save is refused instead of falling back to them."""
    if not wpath.is_file():
        return
    tmp = prev.with_name(f"{prev.name}.{os.getpid()}.tmp")
    try:
        tmp.unlink(missing_ok=True)
        os.link(wpath, tmp)
        os.replace(tmp, prev)
    except OSError:
        tmp.unlink(missing_ok=True)


def weights_digest(data: bytes) -> str:
    """SHA-256 of a weights file's bytes, as recorded in ``NAME.json``."""
    return hashlib.sha256(data).hexdigest()


def tensor_digest(*tensors: torch.Tensor | None, extra: str = "") -> str:
    """SHA-256 over ``extra`` and each tensor's dtype, shape and bytes (on the CPU): what
    two data sets share exactly when their contents are the same."""
    h = hashlib.sha256(extra.encode())
    for t in tensors:
        if t is None:
            h.update(b"none")
            continue
        t = t.detach().to("cpu").contiguous()
        h.update(f"{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.view(torch.uint8).numpy().data if t.numel() else b"")
    return h.hexdigest()


def save_model(path: str | os.PathLike[str], tensors: dict[str, torch.Tensor], kind: str,
               config: dict[str, Any], meta: dict[str, Any] | None = None) -> Path:
    """Save ``tensors`` and a JSON config as ``NAME.safetensors`` + ``NAME.json``, as one unit.

    ``kind`` names the model class (checked on load); ``config`` is what rebuilds it;
    ``meta`` holds anything else (training history, data set, seed). Both files are
    written in full before either is renamed into place, and ``NAME.json`` records the
    digest of the weights, so a save that stops part-way never leaves a mixed model: the
    loader gets the previous model or the new one (see the module docstring). Returns the
    path of the weights file. ``pretrained:NAME`` is refused: shipped models are read-only.
    """
    if os.fspath(path).startswith(PRETRAINED_PREFIX):
        raise GenlabError(f"cannot save to {os.fspath(path)!r}: pretrained models are "
                          "read-only; give another path")
    wpath, jpath = model_paths(path)
    flat = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    blob = save(flat, metadata={"format": FORMAT, "kind": kind})
    text = _json_text({"format": FORMAT, "kind": kind, "genlab_version": __version__,
                       "weights_sha256": weights_digest(blob), "config": config,
                       "meta": meta or {}})
    folder = _folder(wpath)
    prev = previous_weights_path(path)
    tmp_w = _write_temp(folder, wpath.name, blob)
    tmp_j = None
    try:
        tmp_j = _write_temp(folder, jpath.name, text.encode())
        _keep_previous(wpath, prev)
        os.replace(tmp_w, wpath)
        os.replace(tmp_j, jpath)
    finally:
        for tmp in (tmp_w, tmp_j):
            if tmp is not None:
                tmp.unlink(missing_ok=True)
    _fsync_dir(folder)
    prev.unlink(missing_ok=True)
    return wpath


# ----- loading -------------------------------------------------------------------------------

def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def read_json(path: Path, what: str, max_bytes: int = MAX_CONFIG_BYTES) -> Any:
    """Strict JSON from ``path`` (no NaN or Infinity), at most ``max_bytes``; GenlabError
    naming ``what`` otherwise."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise GenlabError(f"{path} is {size / 2**20:.0f} MiB, too large for {what}")
        return json.loads(path.read_bytes().decode(), parse_constant=_reject_constant)
    except GenlabError:
        raise
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise GenlabError(f"{path} is not {what} ({msg})") from None


def read_header(path: str | os.PathLike[str], kind: str | None = None) -> dict[str, Any]:
    """The checked contents of ``NAME.json``: ``format``, ``kind``, ``config`` and ``meta``
    (objects), ``weights_sha256`` (where the format has it); ``kind`` if given must match."""
    wpath, jpath = model_paths(path)
    for p in (wpath, jpath):
        if not p.is_file():
            if Path(path).is_dir():
                raise GenlabError(f"{path} is a folder, not a model; give the NAME of "
                                  "NAME.safetensors + NAME.json, the path used with --out "
                                  "when the model was saved")
            raise GenlabError(f"model file {p} not found; give the path used with --out "
                              "when the model was saved")
    header = read_json(jpath, "a readable genlab model config")
    if not isinstance(header, dict) or header.get("format") not in (FORMAT, *LEGACY_FORMATS):
        raise GenlabError(f"{jpath} is not a genlab model config (no format {FORMAT!r})")
    found = header.get("kind")
    if not isinstance(found, str):
        raise GenlabError(f"{jpath} does not say which kind of model it holds")
    for key in ("config", "meta"):
        value = header.setdefault(key, {})
        if not isinstance(value, dict):
            raise GenlabError(f"{jpath}: {key!r} must be a JSON object, not "
                              f"{type(value).__name__}; the file is damaged, save the model "
                              "again")
    digest = header.get("weights_sha256")
    if header["format"] == FORMAT and not (isinstance(digest, str) and len(digest) == 64):
        raise GenlabError(f"{jpath} lacks the digest of its weights; the file is damaged, save "
                          "the model again")
    if kind is not None and found != kind:
        raise GenlabError(f"{jpath} holds a {found!r} model, not a {kind!r} model")
    return header


def _weights_format(blob: bytes) -> str | None:
    """The ``format`` a genlab save wrote into the safetensors header, if any."""
    try:
        (n,) = struct.unpack("<Q", blob[:8])
        meta = json.loads(blob[8:8 + n]).get("__metadata__") or {}
        return meta.get("format") if isinstance(meta, dict) else None
    except (struct.error, ValueError, AttributeError):
        return None


def _weights_bytes(path: str | os.PathLike[str], header: dict[str, Any]) -> bytes:
    """The bytes of the weights file that ``header`` describes (see the module docstring)."""
    wpath, jpath = model_paths(path)
    try:
        blob = wpath.read_bytes()
    except OSError as exc:
        raise GenlabError(f"{wpath} cannot be read ({exc.strerror or exc})") from None
    digest = header.get("weights_sha256")
    if digest is None:   # a legacy config: safe only beside weights of its own format
        if _weights_format(blob) == FORMAT:
            raise GenlabError(f"{jpath} is older than {wpath.name} beside it (a save did not "
                              "finish); save or train the model again")
        return blob
    if weights_digest(blob) == digest:
        return blob
    prev = previous_weights_path(path)
    if prev.is_file():
        old = prev.read_bytes()
        if weights_digest(old) == digest:
            log(f"genlab: warning: the last save of {wpath.with_suffix('')} did not finish; "
                "loaded the model saved before it")
            return old
    raise GenlabError(f"{wpath.name} and {jpath.name} in {wpath.parent} come from different "
                      "saves (a save was interrupted, two saves wrote the same name, or a file "
                      "was changed); the model cannot be trusted: save or train it again")


@dataclass(frozen=True)
class SavedModel:
    """A saved model opened: ``NAME.json`` read and checked once (``read_header``),
    its weights read, checked and loaded on demand by ``tensors``.

    What ``genlab.registry`` hands to the function that rebuilds a model of ``kind``.
    """

    path: Path                 # NAME, as given
    header: dict[str, Any]     # the checked contents of NAME.json

    @property
    def kind(self) -> str:
        """The model's kind, as recorded in ``NAME.json``."""
        return self.header["kind"]

    @property
    def config(self) -> dict[str, Any]:
        """What rebuilds the model (its settings)."""
        return self.header["config"]

    @property
    def meta(self) -> dict[str, Any]:
        """Everything else saved with it (training history, data set, seed)."""
        return self.header["meta"]

    @property
    def where(self) -> str:
        """``NAME.json``'s path, for messages about the saved settings."""
        return str(model_paths(self.path)[1])

    def tensors(self, device: torch.device | str = "cpu", nan_ok: tuple[str, ...] = ()
                ) -> dict[str, torch.Tensor]:
        """The weights that ``NAME.json`` describes, checked as ``load_model`` says.

        Tensors stored in float16 or bfloat16 (a storage format, used by the shipped
        pretrained models to halve their size) are returned as float32, the dtype every
        genlab model computes in."""
        wpath = model_paths(self.path)[0]
        blob = _weights_bytes(self.path, self.header)
        try:
            tensors = load_bytes(blob)
        except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise GenlabError(f"{wpath} is not a readable safetensors file ({msg})") from None
        for name, t in tensors.items():
            if t.dtype not in ALLOWED_DTYPES:
                raise GenlabError(f"{wpath}: tensor {name!r} has dtype {t.dtype}, which no "
                                  "genlab model uses")
            if t.is_floating_point() and not bool(
                    (torch.isfinite(t) | (t.isnan() if name in nan_ok else False)).all()):
                raise GenlabError(f"{wpath}: tensor {name!r} holds NaN or infinite values; "
                                  "the model cannot be used, train it again")
        tensors = {k: v.float() if v.dtype in HALF_DTYPES else v for k, v in tensors.items()}
        if torch.device(device).type != "cpu":
            tensors = {k: v.to(device) for k, v in tensors.items()}
        return tensors


def open_model(path: str | os.PathLike[str], kind: str | None = None) -> SavedModel:
    """Open the model ``NAME`` (see ``model_paths``): its checked ``NAME.json``, the
    weights still unread; ``kind`` if given must match the file's."""
    return SavedModel(resolve_model_name(path), read_header(path, kind))


def load_model(path: str | os.PathLike[str], kind: str | None = None,
               device: torch.device | str = "cpu", nan_ok: tuple[str, ...] = ()
               ) -> tuple[dict[str, torch.Tensor], dict[str, Any], dict[str, Any]]:
    """Load ``(tensors, config, meta)`` saved by ``save_model``; never unpickles.

    Raises ``GenlabError`` when a file is missing, unreadable, corrupt, holds a model
    of another ``kind``, does not belong with the other file of the pair, or holds a
    tensor of an unknown dtype or with NaN or infinite values (NaN is allowed in the
    tensors named in ``nan_ok``, where a model uses it to mean "not set yet"). To rebuild
    the model itself, whatever its kind, use ``genlab.registry.load``.
    """
    saved = open_model(path, kind)
    return saved.tensors(device, nan_ok), saved.config, saved.meta
