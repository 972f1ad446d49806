"""``genlab models``: the pretrained models shipped with genlab (use them as
``pretrained:NAME`` wherever a command takes a model)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from genlab.cli.common import add_command, add_group, emit
from genlab.pretrained import PretrainedModel, list_models
from genlab.results import Result


@dataclass
class ModelList(Result):
    """The catalogue, as ``genlab models list`` prints it."""

    models: list[PretrainedModel]

    def to_dict(self) -> dict[str, Any]:
        return {"models": [{**m.to_dict(), "use_as": f"pretrained:{m.name}"}
                           for m in self.models]}


def _scores_text(scores: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.4g}" for k, v in scores.items())


def _text(result: dict[str, Any]) -> str:
    models = result["models"]
    if not models:
        return "no pretrained models shipped"
    width = max(len(m["use_as"]) for m in models) + 2
    lines = [f"{'name':<{width}}{'size':>9}  {'kind':<22}scores"]
    for m in models:
        lines += [f"{m['use_as']:<{width}}{m['size_bytes'] / 1e6:>6.2f} MB  {m['kind']:<22}"
                  f"{_scores_text(m['scores'])}",
                  f"  {m['description']}",
                  f"  trained by: {m['command']}  ({m['train_seconds']:.0f} s, {m['date']}, "
                  f"genlab {m['genlab_version']} {m['genlab_commit'][:12]}, seed {m['seed']})",
                  f"  scored by:  {m['score_command']}"]
    return "\n".join(lines)


def cmd_list(args: argparse.Namespace) -> None:
    emit(args, ModelList(list_models()), _text)


def register(subparsers: argparse._SubParsersAction) -> None:
    sub = add_group(subparsers, "models", "the pretrained models shipped with genlab",
                    description="Pretrained models shipped with genlab as package data (never "
                    "downloaded). Give one as pretrained:NAME wherever a command takes a "
                    "model, or to genlab.load in Python.")
    add_command(sub, "list", cmd_list, "list the pretrained models: what each is, its size, "
                "its scores and the commands that reproduce them",
                examples="genlab models list\ngenlab models list --json\n"
                         "genlab rbm sample pretrained:rbm-mnist5k --out samples.png",
                seed=False, device=False)
