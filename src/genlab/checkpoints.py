"""Checkpoints and resuming, for every training loop: what makes a run interruptible and
safe to continue.

* ``prepare_checkpoint`` checks, before a run starts, what an earlier run left under
  its names: refused unless the user resumes it or asks to overwrite it, so a new run never
  ends beside an old run's files.
* ``data_identity`` and ``refuse_other`` make a resume refuse other settings or
  other data, naming what differs.
* ``Interrupt`` turns Ctrl-C into a request that the loop honours at its next step
  boundary, after writing a checkpoint (``log_interrupted`` says so).

The checkpoints themselves are model files (``genlab.io.save_model``): saved as one
unit, so a save cut off half-way leaves the previous checkpoint to resume from.
``genlab.train.fit`` (the neural models), ``genlab.rbm.BernoulliRBM.fit`` and
``genlab.boltzmann.learning.fit_boltzmann`` use them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
from pathlib import Path
from typing import Any

import torch

from genlab.errors import GenlabError
from genlab.io import model_files, model_paths, tensor_digest
from genlab.progress import log


def data_identity(data: Any) -> dict[str, Any]:
    """What a checkpoint records of its training data, so that resume can check it trains
    on the same: the row count and, where the data has one, its ``fingerprint()`` (for a
    tensor, the digest of its dtype, shape and values)."""
    if isinstance(data, torch.Tensor):
        return {"n": len(data), "fingerprint": tensor_digest(data)}
    fingerprint = getattr(data, "fingerprint", None)
    return {"n": len(data), "fingerprint": fingerprint() if callable(fingerprint) else None}


def differences(saved: Any, now: dict[str, Any], skip: tuple[str, ...] = ()) -> str:
    """``"k A there, B here"`` for every key whose values differ (JSON-normalised)."""
    now = json.loads(json.dumps(now, default=str))
    saved = saved if isinstance(saved, dict) else {}
    return ", ".join(f"{k} {saved.get(k)!r} there, {now.get(k)!r} here"
                     for k in sorted(set(saved) | set(now))
                     if k not in skip and saved.get(k) != now.get(k))


RESUME_FIX = "resume with the same settings, or train into a new folder"


def refuse_other(where: str, what: str, saved: Any, now: dict[str, Any],
                 skip: tuple[str, ...] = (), fix: str = RESUME_FIX) -> None:
    """Raise ``GenlabError`` ``"WHERE was WHAT (k A there, B here, ...); FIX"`` when the
    settings (or data identity) ``saved`` in a checkpoint differ from ``now`` in any key but
    ``skip``: a resume must not mix two runs in one."""
    diff = differences(saved, now, skip)
    if diff:
        raise GenlabError(f"{where} was {what} ({diff}); {fix}")


def prepare_checkpoint(checkpoint: str | os.PathLike[str], resume: bool = False,
                       overwrite: bool = False, outputs: tuple[str | os.PathLike[str], ...] = (),
                       check_only: bool = False, where: str | None = None,
                       elsewhere: str = "train under another name") -> bool:
    """Check, before training, a run that checkpoints to ``checkpoint`` (a name for
    ``genlab.io.save_model``) and writes ``outputs``; returns whether to resume.

    Earlier files of either are refused unless ``resume`` (continue: the checkpoint must be
    complete) or ``overwrite`` (they are deleted first, so no new file ends beside an old
    one; not with ``check_only``, which lets a command check before it loads its data); a
    new training never silently mixes with an old run. Both at once contradict each other
    and are refused. Messages name the run as ``where`` (default: the checkpoint) and
    suggest ``elsewhere`` as the way out.
    """
    checkpoint = Path(checkpoint)
    where = where or str(checkpoint)
    if resume and overwrite:  # continue the run, or delete it: not both
        raise GenlabError(f"--resume continues the run in {where} and --overwrite replaces "
                          "it; give only one of them")
    found = model_files(checkpoint) + [Path(p) for p in outputs if Path(p).exists()]
    if not found:
        return False
    names = ", ".join(sorted({p.name for p in found}))
    if resume:
        pair = model_paths(checkpoint)
        if all(p.is_file() for p in pair):
            return True
        if any(p.exists() for p in pair):
            lacking = " and ".join(p.name for p in pair if not p.exists())
            raise GenlabError(f"{where} holds a checkpoint without its {lacking}; it cannot "
                              f"be resumed: {elsewhere}, or start again with --overwrite")
        raise GenlabError(f"{where} holds a run ({names}) but no checkpoint to resume from; "
                          f"start again with --overwrite, or {elsewhere}")
    if not overwrite:
        raise GenlabError(f"{where} already holds a training run ({names}); continue it with "
                          f"--resume, replace it with --overwrite, or {elsewhere}")
    if check_only:
        return False
    for p in found:
        if p.is_dir():
            shutil.rmtree(p)
        else:
            p.unlink()
    return False


def checkpoint_beside(name: str | os.PathLike[str]) -> Path:
    """``NAME.checkpoint``: the checkpoint (a ``genlab.io.save_model`` name) of a command
    that saves its model as ``NAME`` (given as ``NAME``, ``NAME.safetensors`` or
    ``NAME.json``)."""
    wpath = model_paths(name)[0]
    return wpath.with_name(wpath.name.removesuffix(".safetensors") + ".checkpoint")


def prepare_output(name: str | os.PathLike[str], resume: bool = False,
                   overwrite: bool = False, check_only: bool = False) -> bool:
    """``prepare_checkpoint`` for a command that saves its model as ``NAME`` and
    checkpoints beside it (``checkpoint_beside``): a model or an unfinished run already
    saved as ``NAME`` is refused unless ``resume`` or ``overwrite``; returns whether to
    resume."""
    return prepare_checkpoint(checkpoint_beside(name), resume, overwrite,
                              tuple(model_files(name)), check_only, where=str(name),
                              elsewhere="choose another --out")


def log_interrupted(position: str, checkpoint: str | os.PathLike[str] | None) -> None:
    """The line a training stopped by Ctrl-C logs: where it stopped and, when it wrote one,
    where its checkpoint is."""
    where = f"; a checkpoint is in {checkpoint}, and --resume continues from it" \
        if checkpoint is not None else ""
    log(f"interrupted at {position}{where}")


class Interrupt:
    """While active, Ctrl-C (SIGINT) only sets ``requested``; a training loop (such as
    ``fit``) stops at the next step boundary, writes a checkpoint and raises
    ``KeyboardInterrupt``. A second
    Ctrl-C interrupts at once. Only in the main thread, and only where SIGINT still has
    Python's default handler (a caller's own handler is left alone)."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def _handle(self, signum: int, frame: Any) -> None:
        self.requested = True
        signal.signal(signal.SIGINT, self._previous)

    def __enter__(self) -> Interrupt:
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
