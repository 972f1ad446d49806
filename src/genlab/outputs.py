"""Checking where genlab will write, before the work that produces the output starts.

A training run that dies at its final save (the destination is a folder, sits under a
regular file, or lies in a read-only folder) loses everything it computed. These checks
run first, so such a mistake is a one-line ``GenlabError`` instead.
They create nothing: missing parent folders are made when the output is written, and the
checks only make sure that they can be (the first existing ancestor is a writable folder).
"""

from __future__ import annotations

import os
from pathlib import Path

from genlab.errors import GenlabError
from genlab.io import PRETRAINED_PREFIX, model_paths


def _shown(path: str | os.PathLike[str]) -> str:
    return repr(os.fspath(path))


def _fail(what: str, path: str | os.PathLike[str], reason: str) -> GenlabError:
    """The error for an output ``path`` (``what`` names it, e.g. ``--out``; may be empty)."""
    named = f"{what} {_shown(path)}" if what else _shown(path)
    return GenlabError(f"cannot write {named}: {reason}")


def _check_nonempty(path: str | os.PathLike[str], what: str, kind: str) -> Path:
    text = os.fspath(path)
    if not text.strip():
        raise _fail(what, text, f"the name is empty; give a {kind} name")
    if "\0" in text:
        raise _fail(what, text, f"it contains a NUL character; give a {kind} name")
    if text.startswith(PRETRAINED_PREFIX):
        raise _fail(what, text, f"pretrained models are read-only; give another {kind} name")
    return Path(text)


def _names_folder(text: str) -> bool:
    """Whether ``text`` can only name a folder: it ends in a separator, ``.`` or ``..``
    (checked on the text: ``Path`` drops a trailing ``/.``)."""
    if text.endswith(os.sep) or (os.altsep and text.endswith(os.altsep)):
        return True
    return os.path.basename(text) in (".", "..")


def _writable_dir(folder: Path) -> bool:
    # W_OK to add entries, X_OK to reach them; os.access also reports read-only file systems
    return os.access(folder, os.W_OK | os.X_OK)


def _check_parents(path: Path, what: str) -> None:
    """The folders above ``path`` exist or can be made: the first existing one is a
    writable folder (a regular file there means ``path`` lies under a file)."""
    parent = path.parent
    while not os.path.lexists(parent) and parent != parent.parent:
        if parent.name == "..":  # the folder before it does not exist yet
            raise _fail(what, path, f"it goes up ('..') from {_shown(parent.parent)}, which "
                                    "does not exist; give a path without '..' there")
        parent = parent.parent
    if not parent.is_dir():
        raise _fail(what, path, f"{_shown(parent)} is a file, not a folder; give a path in "
                                "a folder")
    if not _writable_dir(parent):
        raise _fail(what, path, f"the folder {_shown(parent)} is not writable (permission "
                                "denied or read-only); give a path in a writable folder")


def check_output_file(path: str | os.PathLike[str], what: str = "output file") -> Path:
    """Check that genlab can write the file ``path``; return it as a ``Path``.

    Refused (as ``GenlabError`` naming ``what``, e.g. ``"--out"``): the empty
    string, a path ending in a separator, ``.`` or ``..``, an existing folder or other
    non-regular file (writing would replace it), an existing file that cannot be written,
    and a path whose first existing ancestor is a regular file or a folder that cannot be
    written.
    Missing parent folders are not created here.
    """
    p = _check_nonempty(path, what, "file")
    text = os.fspath(path)
    if p.is_dir():
        raise _fail(what, text, "it is a folder; give a file name")
    if _names_folder(text):
        raise _fail(what, text, "the name ends in a separator, '.' or '..', which name a "
                                "folder; give a file name")
    if os.path.lexists(p):
        if not p.is_file():
            raise _fail(what, text, "it exists and is not a regular file; give another name")
        if not os.access(p, os.W_OK):
            raise _fail(what, text, "it exists and is read-only; give another file name")
    _check_parents(p, what)
    return p


def check_output_dir(path: str | os.PathLike[str], what: str = "output folder") -> Path:
    """Check that genlab can make (or write into) the folder ``path``; return it.

    Refused (as ``GenlabError`` naming ``what``): the empty string, an existing
    regular file (or anything else that is not a folder), an existing folder that cannot
    be written, and a missing folder whose first existing ancestor is a regular file or
    a folder that cannot be written. Nothing is created here.
    """
    p = _check_nonempty(path, what, "folder")
    if os.path.lexists(p) and not p.is_dir():
        raise _fail(what, path, "it is a file, not a folder; give a folder name")
    if p.is_dir():
        if not _writable_dir(p):
            raise _fail(what, path, "the folder is not writable (permission denied or "
                                    "read-only); give a writable folder")
        return p
    _check_parents(p, what)
    return p


def check_output_model(path: str | os.PathLike[str], what: str = "model name") -> Path:
    """Check that the model ``NAME`` (``NAME.safetensors`` + ``NAME.json``, see
    ``genlab.io.model_paths``) can be written; return ``NAME`` as a ``Path``."""
    p = _check_nonempty(path, what, "model")
    text = os.fspath(path)
    if _names_folder(text):
        raise _fail(what, text, f"it names a folder; give a model name such as "
                                f"{os.path.join(text, 'model')!r}")
    for file in model_paths(p):
        check_output_file(file, what)
    return p
