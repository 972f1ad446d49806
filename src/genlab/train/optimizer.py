"""The optimiser of ``genlab.train.fit`` (Adam, AdamW with weight decay) and its state
as checkpoint tensors and JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from genlab.errors import GenlabError
from genlab.train.config import TrainConfig


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """Adam, or AdamW with ``config.weight_decay``; the fused kernel where torch has one.

    The fused update does the same arithmetic as the default multi-tensor one in a single
    pass over each parameter; on a CPU it takes about an eighth of the time (the default
    Adam step was a quarter of a VAE training step), so it is used for floating-point
    parameters on CPU and CUDA, and the default everywhere else.
    """
    params = list(model.parameters())
    fused = bool(params) and all(p.device.type in ("cpu", "cuda") and p.is_floating_point()
                                 for p in params)
    fused_or_default = True if fused else None   # None: torch's own choice
    if config.weight_decay:
        return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay,
                                 fused=fused_or_default)
    return torch.optim.Adam(params, lr=config.lr, fused=fused_or_default)


def optimizer_tensors(opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """The optimiser's state as checkpoint tensors ``optim.PARAM.KEY`` (the moments) and
    JSON (the parameter groups and the non-tensor state)."""
    sd = opt.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, state in sd["state"].items():
        for key, value in state.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim.{pid}.{key}"] = value
            else:
                scalars.setdefault(str(pid), {})[key] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def load_optimizer(opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor],
                   meta: dict[str, Any]) -> None:
    """Restore what ``optimizer_tensors`` saved; ValueError (or another error of the
    data) when it is not the state of this optimiser."""
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith("optim."):
            _, pid, key = name.split(".", 2)
            state.setdefault(int(pid), {})[key] = value
    for pid, values in meta["scalars"].items():
        state.setdefault(int(pid), {}).update(values)
    # Everything but the learning rate (set before every step) is fixed by the settings
    # the resume check compared, so saved groups that differ from fresh ones are damaged.
    fresh = json.loads(json.dumps(opt.state_dict()["param_groups"]))
    if len(meta["param_groups"]) != len(fresh) or any(
            {k: v for k, v in g.items() if k != "lr"} != {k: v for k, v in f.items() if k != "lr"}
            for g, f in zip(meta["param_groups"], fresh, strict=True)):
        raise ValueError("the parameter groups are not those of this optimiser")
    opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    # The moments come back row-major; a fused step pairs a weight with its moments by
    # storage order, so a channels-last weight would be updated with another's moments.
    for group in opt.param_groups:
        for p in group["params"]:
            moments = opt.state.get(p, {})
            for key, value in moments.items():
                if (isinstance(value, torch.Tensor) and value.shape == p.shape
                        and value.stride() != p.stride()):
                    moments[key] = torch.empty_like(p, dtype=value.dtype).copy_(value)


def check_optimizer(run: Path, opt: torch.optim.Optimizer) -> None:
    """Every loaded moment has its parameter's shape and a finite step count."""
    for group in opt.param_groups:
        for p in group["params"]:
            for key, value in opt.state.get(p, {}).items():
                if isinstance(value, torch.Tensor) and key != "step" and value.shape != p.shape:
                    raise GenlabError(f"checkpoint in {run}: optimiser state {key} has shape "
                                      f"{tuple(value.shape)} for a parameter of shape "
                                      f"{tuple(p.shape)}; the file is damaged")
