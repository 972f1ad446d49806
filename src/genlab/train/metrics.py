"""The metrics of a run: JSON lines in ``RUN/metrics.jsonl`` (one object per logged step
and per epoch), optionally TensorBoard events in ``RUN/tb``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from genlab.errors import GenlabError
from genlab.io import atomic_write_bytes
from genlab.progress import log

METRICS_NAME = "metrics.jsonl"


def read_metrics(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The records of a ``metrics.jsonl``. A last line cut short (a crash while it was
    appended) is dropped with a warning; a damaged line before it is an error."""
    path = Path(path)
    try:
        lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise GenlabError(f"{path} cannot be read ({exc})") from None
    records = []
    for k, line in enumerate(lines):
        try:
            record = json.loads(line)
            if not isinstance(record, dict) or not isinstance(record.get("step", 0), int):
                raise ValueError("not a metrics record")
        except ValueError:
            if k == len(lines) - 1:
                log(f"genlab: warning: the last line of {path} was cut short (a crash while "
                    "it was written); dropped it")
                break
            raise GenlabError(f"line {k + 1} of {path} is not a metrics record; the file is "
                              "damaged: move it away to resume without it") from None
        records.append(record)
    return records


class MetricsLog:
    """The records of one call of ``genlab.train.fit``: kept in ``lines``, and
    appended to ``RUN/metrics.jsonl`` (and TensorBoard) where ``enabled`` (rank 0).

    A resumed run (``resume_step``) keeps the file's records up to the checkpoint's step
    and drops the rest, which it is about to redo."""

    def __init__(self, run: Path | None, enabled: bool, resume_step: int | None,
                 tensorboard: bool) -> None:
        self.path = run / METRICS_NAME if run is not None and enabled else None
        self.lines: list[dict[str, Any]] = []
        self.writer = None
        if self.path is not None:
            old: list[str] = []
            if resume_step is not None and self.path.is_file():
                old = [json.dumps(r) for r in read_metrics(self.path)
                       if r.get("step", 0) <= resume_step]
            atomic_write_bytes(self.path, "".join(ln + "\n" for ln in old).encode())
            if tensorboard:
                try:
                    from torch.utils.tensorboard import SummaryWriter
                except ImportError:
                    raise GenlabError("TensorBoard logging needs the tensorboard package "
                                      "(pip install tensorboard); or leave it off") from None
                self.writer = SummaryWriter(str(run / "tb"))

    def write(self, record: dict[str, Any]) -> None:
        """Keep and append one record (``step``, ``epoch``, ``split`` and values)."""
        self.lines.append(record)
        if self.path is not None:
            with open(self.path, "a") as fh:
                fh.write(json.dumps(record) + "\n")
        if self.writer is not None:
            for k, v in record.items():
                if isinstance(v, float) and k not in ("step", "epoch"):
                    self.writer.add_scalar(f"{record.get('split', 'train')}/{k}", v,
                                           record["step"])

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
