r"""Several beta-VAEs trained in lockstep as one module: a seed sweep in one process.

``StackedBetaVAE`` holds K beta-VAEs (``genlab.latent.betavae``) with the same networks
but their own weights, objectives ($\beta$, or the capacity form's $C_{\max}$, schedule and
$\gamma$)
and Adam states. Each layer of the K models becomes one layer over a leading model axis:

* the convolutions and transposed convolutions become one *grouped* convolution with K
  groups, the activations laid out ``(b, K C, h, w)`` with model k's channels in block k;
* the fully connected layers become one batched matrix product over ``(K, b, features)``.

Model $k$ sees rows $k, k + K, k + 2K, \dots$ of every batch of $B = K b$ images, draws
its own noise $\epsilon_k$ and is trained on its own objective; the loss is the sum of the
K per-model losses (each a batch mean), so that each model's gradient is the one it would
get alone, and Adam, which acts element by element, updates each as it would alone. The
sum is what ``genlab.train.fit`` minimises, so the K models share one training loop
(checkpoints, resume, bfloat16 autocast, ``torchrun``) and the same step count and
wall clock, which makes their budgets equal by construction. The point is speed on a GPU,
where one model's batch of 64 leaves the device mostly idle and K models cost little more
than one. On a CPU it is not faster: a stack trained 10-20% fewer images per second than
one process per model and core on the same cores (docs/betavae-study.md).

Interleaving the rows rather than cutting the batch into K blocks keeps the split right
under data parallelism: each process's contiguous shard of the batch holds rows of every
model in the same pattern, as long as its share is a multiple of K.

    models = [build_betavae(BetaVAEConfig(beta=b), seed) for b, seed in ((1, 0), (4, 0))]
    stack = StackedBetaVAE(models)
    fit(stack, DSpritesData(split_indices("train")), TrainConfig(batch_size=64 * 2))
    trained = stack.unstack()          # two BetaVAE with the trained weights

``train_betavae_seeds`` does all of that for a seed sweep, saving each model in a
folder of its own; ``genlab disentangle train --seeds`` and ``benchmarks/bench_betavae.py
--stack`` call it.

What a stack guarantees, and what it does not: model k starts from the weights
``build_betavae`` gives its seed, and is trained on its own
rows of each batch as it would be alone on those rows (tests/latent/test_stacked.py).
The batches and the noise are the stack's, drawn under ``TrainConfig.seed``: a stack of
one model trains as the single model does (up to the float32 rounding of the grouped
products), but in a stack of K > 1 the model of seed S sees other images than a run of
seed S alone, so the two end apart, as two runs with different data orders do.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from genlab.data import ImageDataset
from genlab.errors import GenlabError
from genlab.io import model_files
from genlab.latent.betavae import BetaVAE, BetaVAEConfig, build_betavae
from genlab.latent.networks import feature_maps
from genlab.latent.runs import MODEL_NAME, run_outputs, train_run
from genlab.latent.vae import bernoulli_log_prob
from genlab.train import FitResult, LossOutput, TrainConfig, fit


@dataclass
class StackedBetaVAEConfig:
    """The settings of each of the K stacked models (same networks, own objectives), and
    the seed each model's weights were initialised with where the caller names them: part
    of the settings a checkpoint records, so that a resume cannot label one model's
    weights with another seed."""

    models: tuple[BetaVAEConfig, ...]
    seeds: tuple[int, ...] | None = None


class StackedConv(nn.Module):
    """K ``Conv2d`` (or ``ConvTranspose2d``) layers of one shape as one grouped
    convolution: ``(b, K C_in, h, w) -> (b, K C_out, h', w')``, model k in channel block k.

    ``weight`` is ``(K, *layer.weight.shape)`` and ``bias`` ``(K, C_out)``, so that
    ``weight[k]`` is layer k's own weight."""

    def __init__(self, layers: Sequence[nn.Conv2d | nn.ConvTranspose2d]) -> None:
        super().__init__()
        first = layers[0]
        plain = (first.groups == 1 and first.dilation == (1, 1) and first.bias is not None
                 and first.padding_mode == "zeros"
                 and getattr(first, "output_padding", (0, 0)) == (0, 0))
        if not plain:
            raise GenlabError("only plain convolutions (one group, no dilation or output "
                              "padding, with a bias) can be stacked")
        self.transposed = isinstance(first, nn.ConvTranspose2d)
        self.stride, self.padding = first.stride, first.padding
        self.weight = nn.Parameter(torch.stack([m.weight.detach() for m in layers]))
        self.bias = nn.Parameter(torch.stack([m.bias.detach() for m in layers]))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        k = self.weight.shape[0]
        # conv2d's weight (K C_out, C_in, kh, kw) and conv_transpose2d's (K C_in, C_out,
        # kh, kw) are both the per-model weights stacked along the first axis
        w, b = self.weight.flatten(0, 1), self.bias.flatten()
        if self.transposed:
            return F.conv_transpose2d(h, w, b, self.stride, self.padding, groups=k)
        return F.conv2d(h, w, b, self.stride, self.padding, groups=k)


class StackedLinear(nn.Module):
    r"""K ``Linear`` layers of one shape as one batched product:
    ``(K, b, in) -> (K, b, out)``, $y_k = x_k W_k^\top + b_k$."""

    def __init__(self, layers: Sequence[nn.Linear]) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.stack([m.weight.detach() for m in layers]))
        self.bias = nn.Parameter(torch.stack([m.bias.detach() for m in layers]))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.bias[:, None, :], h, self.weight.transpose(1, 2))


def stack_sequential(layers: Sequence[nn.Sequential]) -> nn.Sequential:
    """K ``Sequential`` blocks of the same layers as one, layer by layer (the indices, and
    so the parameter names, stay those of one block)."""
    out: list[nn.Module] = []
    for parts in zip(*layers, strict=True):
        first = parts[0]
        if isinstance(first, nn.Conv2d | nn.ConvTranspose2d):
            out.append(StackedConv(parts))
        elif isinstance(first, nn.Linear):
            out.append(StackedLinear(parts))
        elif not any(True for _ in first.parameters()):
            out.append(first)  # an activation: the same for every model
        else:
            raise GenlabError(f"cannot stack a {type(first).__name__} layer")
    return nn.Sequential(*out)


class _StackedEncoder(nn.Module):
    """K ``Conv64Encoder``: ``(b, K, h, w) -> (K, b, 2L)``."""

    def __init__(self, encoders: Sequence[nn.Module]) -> None:
        super().__init__()
        self.conv = stack_sequential([e.conv for e in encoders])
        self.head = stack_sequential([e.head for e in encoders])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, k = x.shape[:2]
        h = self.conv(feature_maps(x.reshape(b, -1), tuple(x.shape[1:])))  # (b, K 64, ., .)
        return self.head(h.reshape(b, k, -1).transpose(0, 1))


class _StackedDecoder(nn.Module):
    """K ``Conv64Decoder``: ``(K, b, L) -> (K, b, D)`` logits."""

    def __init__(self, decoders: Sequence[nn.Module]) -> None:
        super().__init__()
        self.start = decoders[0].start  # (64, h/16, w/16) per model
        self.head = stack_sequential([d.head for d in decoders])
        self.deconv = stack_sequential([d.deconv for d in decoders])

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        k, b = z.shape[:2]
        c, h, w = self.start
        maps = feature_maps(self.head(z).transpose(0, 1).reshape(b, -1), (k * c, h, w))
        return self.deconv(maps).reshape(b, k, -1).transpose(0, 1)  # (K, b, D)


class StackedBetaVAE(nn.Module):
    """K beta-VAEs of one architecture trained together (see the module docs).

    Args:
        models: the K ``BetaVAE`` to start from (their
            weights are copied; build each under its own seed for independent starts).
        seeds: the K seeds the models were built under, if any (recorded in ``config``).
    """

    def __init__(self, models: Sequence[BetaVAE], seeds: Sequence[int] | None = None) -> None:
        super().__init__()
        if not models:
            raise GenlabError("a stack needs at least one beta-VAE")
        if seeds is not None and len(seeds) != len(models):
            raise GenlabError(f"a stack of {len(models)} beta-VAEs needs {len(models)} seeds, "
                              f"got {len(seeds)}")
        if any(not isinstance(m, BetaVAE) for m in models):
            raise GenlabError("only BetaVAE models can be stacked")
        arch = {(tuple(m.config.image_shape), m.config.latent, m.config.hidden)
                for m in models}
        if len(arch) > 1:
            raise GenlabError("stacked beta-VAEs need the same image shape, latent size "
                              f"and width; got {sorted(arch)}")
        self.config = StackedBetaVAEConfig(tuple(m.config for m in models),
                                           None if seeds is None else tuple(seeds))
        self.encoder = _StackedEncoder([m.encoder for m in models])
        self.decoder = _StackedDecoder([m.decoder for m in models])
        self.image_shape = tuple(models[0].config.image_shape)
        self._step = 0
        # each model's objective as (K,) tensors on the stack's device (not in the state
        # dict): beta_k and gamma_k with 0 for the unused one, C_max,k and its steps
        cfgs = self.config.models
        for name, values in (
                ("beta", [0.0 if c.capacity_max > 0 else c.beta for c in cfgs]),
                ("gamma", [c.gamma if c.capacity_max > 0 else 0.0 for c in cfgs]),
                ("capacity_max", [c.capacity_max for c in cfgs]),
                ("capacity_steps", [float(c.capacity_steps) for c in cfgs])):
            self.register_buffer(f"_{name}", torch.tensor(values), persistent=False)

    @property
    def n_models(self) -> int:
        """K, the number of stacked models."""
        return len(self.config.models)

    uses_run_length = False  # its schedules count steps, not a fraction of the run

    def set_progress(self, step: int, total_steps: int) -> None:
        """Called by ``genlab.train.fit`` before each step (drives each $C_k$)."""
        self._step = step

    def objective_weights(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        r"""$(\beta_k, \gamma_k, C_k)$, each ``(K,)``: model $k$'s loss is
        $-\mathrm{recon} + \beta_k \mathrm{KL}$ when its $C_{\max}$ is 0, else
        $-\mathrm{recon} + \gamma_k |\mathrm{KL} - C_k|$ with
        $C_k = C_{\max,k} \min(1, \mathrm{step} / \mathrm{capacity\_steps}_k)$; unused entries
        are 0."""
        progress = (self._step / self._capacity_steps).clamp(max=1.0)
        return self._beta, self._gamma, self._capacity_max * progress

    def split_batch(self, x: torch.Tensor) -> torch.Tensor:
        r"""``(K b, D)`` images -> ``(K, b, D)``: model $k$ gets rows $k, k + K, \dots$"""
        k, d = self.n_models, self.image_shape[0] * self.image_shape[1]
        x = x.reshape(x.shape[0], -1)
        if x.shape[1] != d or x.shape[0] % k:
            raise GenlabError(f"a stack of {k} beta-VAEs needs batches of a multiple of {k} "
                              f"images of {d} pixels, got {tuple(x.shape)}")
        return x.reshape(-1, k, d).transpose(0, 1)

    def posterior_moments(self, xs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        r"""$(\mu, \log \sigma^2)$, each ``(K, b, L)`` in float32, of images ``(K, b, D)``."""
        k, b = xs.shape[:2]
        maps = xs.transpose(0, 1).reshape(b, k, *self.image_shape)
        mu, logvar = self.encoder(maps).float().chunk(2, dim=-1)
        return mu, logvar.clamp(-30.0, 20.0)

    def loss(self, x: torch.Tensor, generator: torch.Generator) -> LossOutput:
        r"""The sum over $k$ of model $k$'s beta-VAE (or capacity) loss on its rows, each a
        batch mean with one reparameterised $z = \mu + \sigma \odot \epsilon$ per image."""
        xs = self.split_batch(x)                                      # (K, b, D)
        mu, logvar = self.posterior_moments(xs)                       # (K, b, L)
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        z = mu + torch.exp(0.5 * logvar) * eps
        recon = -bernoulli_log_prob(xs, self.decoder(z)).mean(1)      # (K,)
        kl = (0.5 * (mu ** 2 + logvar.exp() - 1.0 - logvar).sum(-1)).mean(1)
        beta, gamma, cap = self.objective_weights()
        per_model = recon + beta * kl + gamma * (kl - cap).abs()
        metrics: dict[str, float | torch.Tensor] = {}
        for k in range(self.n_models):
            metrics[f"recon_{k}"] = recon[k].detach()
            metrics[f"kl_{k}"] = kl[k].detach()
        return LossOutput(per_model.sum(), metrics)

    @torch.no_grad()
    def init_output_bias(self, mean_image: torch.Tensor) -> None:
        r"""``BetaVAE.init_output_bias`` for every model: last bias
        $= \mathrm{logit}(\bar x)$."""
        m = mean_image.float().mean().clamp(1e-3, 1 - 1e-3)
        self.decoder.deconv[-1].bias.fill_(float(torch.logit(m)))

    def unstack(self) -> list[BetaVAE]:
        """The K models as separate ``BetaVAE`` (copies of the current weights, on the
        stack's device, in eval mode)."""
        state = self.state_dict()
        device = self.encoder.head[0].weight.device
        out = []
        for k, cfg in enumerate(self.config.models):
            model = BetaVAE(cfg).to(device)
            model.load_state_dict({name: t[k].clone() for name, t in state.items()})
            model._step = self._step
            out.append(model.eval())
        return out


# ----- training one model per seed ------------------------------------------------------------

@dataclass
class BetaVAESeeds:
    """What ``train_betavae_seeds`` returns."""

    models: list[BetaVAE]        # the trained models, one per seed, in eval mode
    seeds: list[int]             # the seed each model was built under
    stacked: bool                # trained as one StackedBetaVAE (else one model alone)
    fit: FitResult               # the one training run's result (steps, losses, history)
    seconds: float               # wall time of the training call, saving included
    folders: list[Path] = field(default_factory=list)  # where each model was saved, if any


def _per_seed_configs(config: BetaVAEConfig | Sequence[BetaVAEConfig],
                      seeds: Sequence[int]) -> list[BetaVAEConfig]:
    """``config`` for every seed, or the one config given per seed."""
    if isinstance(config, BetaVAEConfig):
        return [config] * len(seeds)
    configs = list(config)
    if len(configs) != len(seeds):
        raise GenlabError(f"{len(seeds)} seeds need {len(seeds)} beta-VAE configs, "
                          f"got {len(configs)}")
    return configs


def _stack_saver(model: StackedBetaVAE, seeds: list[int], names: list[str]):
    """``save(RUN, meta)`` for ``genlab.latent.runs.train_run``: each model of the
    stack as ``RUN/{name}/model``, its meta naming its seed and the stack's size."""

    def save(run: Path, meta: dict[str, Any]) -> None:
        for name, seed, one in zip(names, seeds, model.unstack(), strict=True):
            one.save(run / name / MODEL_NAME, {**meta, "seed": seed, "stacked": len(seeds)})

    return save


def train_betavae_seeds(config: BetaVAEConfig | Sequence[BetaVAEConfig], data: ImageDataset,
                        seeds: Sequence[int], train_config: TrainConfig,
                        out: str | os.PathLike[str] | None = None, *,
                        stack: bool | None = None, names: Sequence[str] | None = None,
                        init_bias: bool = True, resume: bool = False, overwrite: bool = False,
                        device: torch.device | str = "cpu",
                        extra_meta: dict[str, Any] | None = None) -> BetaVAESeeds:
    r"""Train one beta-VAE per seed in ``seeds``, all at once as one ``StackedBetaVAE``.

    Model $k$ is ``build_betavae(config_k, seeds[k])`` (``config`` is one
    ``BetaVAEConfig`` for all, or one per seed), with its decoder's output bias at
    $\mathrm{logit}(\bar x)$ (the mean pixel) of the first 2,000 images of ``data`` when
    ``init_bias``. The stack trains through ``genlab.train.fit`` with ``train_config``,
    whose ``batch_size`` is the stack's: $K$ times each model's batch (model $k$ gets rows
    $k, k + K, \dots$); its ``seed`` fixes the batches and the noise of every model.

    ``stack=False`` trains a single seed's model alone (what ``stack=None`` does for one
    seed); ``stack=True`` stacks even one. With ``out``, the run goes to that folder through
    ``genlab.latent.runs.train_run`` (checkpoints, ``resume``, ``overwrite``), the
    model alone saved as ``OUT/model``, the models of a stack as ``OUT/{name}/model``,
    ``names`` defaulting to ``seed{S}``.
    """
    seeds = [int(s) for s in seeds]
    configs = _per_seed_configs(config, seeds)
    stack = len(seeds) > 1 if stack is None else stack
    if not seeds or (not stack and len(seeds) > 1):
        raise GenlabError(f"train_betavae_seeds needs one seed, or a stack of several; got "
                          f"{len(seeds)} seeds with stack={stack}")
    names = [f"seed{s}" for s in seeds] if names is None else list(names)
    if len(set(names)) < len(names) or len(names) != len(seeds):
        raise GenlabError(f"each model of the stack needs a folder name of its own, got {names}")
    if train_config.batch_size % len(seeds):
        raise GenlabError(f"a stack of {len(seeds)} beta-VAEs trains on batches of a multiple "
                          f"of {len(seeds)} images, got {train_config.batch_size}")
    built = [build_betavae(c, s) for c, s in zip(configs, seeds, strict=True)]
    model: BetaVAE | StackedBetaVAE = StackedBetaVAE(built, seeds) if stack else built[0]
    if init_bias:  # a resumed run's checkpoint then replaces it
        model.init_output_bias(data.draw(index=torch.arange(min(len(data), 2000))))
    model.to(device)
    t0 = time.perf_counter()
    if out is None:
        result = fit(model, data, train_config, device=device)
        folders: list[Path] = []
    else:
        out = Path(out)
        folders = [out / n for n in names] if stack else [out]
        outputs = tuple(dict.fromkeys([*run_outputs(out), *(
            f for folder in folders for f in model_files(folder / MODEL_NAME))]))
        result = train_run(model, data, train_config, out, resume=resume, overwrite=overwrite,
                           device=device, extra_meta=extra_meta, outputs=outputs,
                           save=_stack_saver(model, seeds, names) if stack else None)
    seconds = time.perf_counter() - t0
    trained = model.unstack() if stack else [model.eval()]
    return BetaVAESeeds(trained, seeds, stack, result, seconds, folders)
