"""Typed results of the library's tasks.

Every task a command runs (train a model, evaluate it, draw its figures) is a library function
returning a dataclass derived from ``Result``. Python code reads its typed fields; the
CLI prints ``Result.to_dict`` (with ``--json``, one strict JSON object), and the tour reads
the same fields the CLI prints, so the three never disagree.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from genlab.io import to_jsonable


@dataclasses.dataclass
class Result:
    """Base of the dataclasses the library's tasks return."""

    def to_dict(self) -> dict[str, Any]:
        """The result as strict JSON values (tensors and arrays as lists, paths as strings,
        non-finite floats as None); subclasses override it to choose the keys shown."""
        return to_jsonable(dataclasses.asdict(self))
