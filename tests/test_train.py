"""The training loop: exact resume, early stopping, checkpoints, metrics, schedules, and
data parallelism (two gloo processes == one process with the combined batch)."""

import json
import math
import os
import time
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from genlab.data import ImageDataset, load_dataset
from genlab.device import keep_freed_memory, native_bf16
from genlab.errors import GenlabError
from genlab.latent import VAE, AEConfig, Autoencoder, VAEConfig
from genlab.train import (
    LossOutput,
    TrainConfig,
    epoch_order,
    fit,
    has_checkpoint,
    lr_factor,
    make_optimizer,
    seeded_init,
)

torch.set_num_threads(1)


def small_vae() -> VAE:
    with seeded_init(0):
        return VAE(VAEConfig(image_shape=(8, 8), hidden=(16,), latent=3))


@pytest.fixture(scope="module")
def digits() -> ImageDataset:
    return load_dataset("digits", binarize="bernoulli", limit=300)


def max_diff(a: nn.Module, b: nn.Module) -> float:
    return max(float((p - q).detach().abs().max()) for p, q in zip(a.parameters(), b.parameters(),
                                                          strict=True))


@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_fused_optimizer_does_the_default_adam_arithmetic(weight_decay):
    """make_optimizer uses torch's fused Adam(W) on CPU; its steps follow the textbook
    update as the default implementation does, to float32 rounding."""
    torch.manual_seed(0)
    grads = [torch.randn(16, 64) for _ in range(20)]   # for the first layer's weight
    fused, plain = small_vae(), small_vae()
    cfg = TrainConfig(lr=1e-2, weight_decay=weight_decay)
    opt_f = make_optimizer(fused, cfg)
    assert all(g["fused"] for g in opt_f.param_groups)
    opt_p = (torch.optim.AdamW(plain.parameters(), lr=1e-2, weight_decay=weight_decay,
                               foreach=False) if weight_decay else
             torch.optim.Adam(plain.parameters(), lr=1e-2, foreach=False))
    for grad in grads:
        for model, opt in ((fused, opt_f), (plain, opt_p)):
            next(model.parameters()).grad = grad.clone()   # the others have none: skipped
            opt.step()
    # after 20 steps of lr 1e-2 the first layer moved by about 0.2; rounding stays ~1e-6
    moved = max(float((p - q).detach().abs().max()) for p, q in
                zip(fused.parameters(), small_vae().parameters(), strict=True))
    assert moved > 0.05
    assert max_diff(fused, plain) < 1e-5


def test_amp_runs_bfloat16_only_where_it_is_native(digits):
    """amp=True autocasts to bfloat16 on a CPU with native bfloat16 products and changes
    nothing on one without. Either way both runs take the same Adam steps up to rounding:
    each step moves a parameter by at most about lr, so two runs of S steps differ by at
    most 2 S lr."""
    cfg = dict(epochs=1, batch_size=50, seed=0, lr=1e-3)
    runs = []
    for amp in (False, True):
        model = small_vae()
        result = fit(model, digits, TrainConfig(amp=amp, **cfg), quiet=True)
        assert result.bfloat16 is (amp and native_bf16("cpu"))
        runs.append(model)
    d = max_diff(*runs)
    if native_bf16("cpu"):
        assert 0 < d < 2 * result.steps * cfg["lr"]
    else:
        assert d == 0
    assert not native_bf16("meta")


def test_allocator_keeps_freed_memory_on_glibc():
    """The genlab command raises glibc's mmap and trim thresholds (mallopt) so that each
    training step reuses the last step's freed activations instead of faulting in fresh
    pages; off glibc the call reports that it did nothing."""
    import platform
    assert keep_freed_memory() is (platform.libc_ver()[0] == "glibc")


def test_resume_gives_the_same_parameters(digits, tmp_path):
    cfg = dict(epochs=3, batch_size=64, checkpoint_every=3, schedule="cosine", warmup_steps=2)
    full = small_vae()
    fit(full, digits, TrainConfig(**cfg), val=digits, run=tmp_path / "a", quiet=True)
    # interrupted mid-epoch at step 7 (epoch 2, step 2 of 5), then resumed in a new model
    part = small_vae()
    r = fit(part, digits, TrainConfig(**cfg, max_steps=7), run=tmp_path / "b", quiet=True,
            val=digits)
    assert r.steps == 7 and has_checkpoint(tmp_path / "b")
    resumed = small_vae()
    r2 = fit(resumed, digits, TrainConfig(**cfg), val=digits, run=tmp_path / "b",
             resume=True, quiet=True)
    assert r2.resumed_from == 7 and r2.steps == 15
    assert max_diff(full, resumed) == 0.0
    # the metrics file holds each step once, as in the uninterrupted run
    steps = [json.loads(x)["step"] for x in (tmp_path / "b/metrics.jsonl").read_text().splitlines()]
    ref = [json.loads(x)["step"] for x in (tmp_path / "a/metrics.jsonl").read_text().splitlines()]
    assert steps == ref


def test_resume_of_a_channels_last_model_gives_the_same_parameters(digits, tmp_path):
    """A model whose conv weights are channels-last (``model.to(memory_format=...)``, a
    common speed-up) resumes exactly too. The checkpoint stores Adam's moments row-major;
    loaded as they are beside channels-last weights, the fused Adam step would pair the
    elements of the two by storage order and update the wrong weights."""
    def conv_vae() -> VAE:
        with seeded_init(0):
            model = VAE(VAEConfig(image_shape=(8, 8), arch="conv", channels=(4, 4),
                                  hidden=(16,), latent=2))
        return model.to(memory_format=torch.channels_last)

    cfg = dict(epochs=1, batch_size=64, checkpoint_every=0)
    full = conv_vae()
    fit(full, digits, TrainConfig(**cfg, max_steps=4), quiet=True)
    part = conv_vae()
    fit(part, digits, TrainConfig(**cfg, max_steps=2), run=tmp_path, quiet=True)
    resumed = conv_vae()
    w = resumed.encoder.conv[2].weight  # (4, 4, 3, 3): channels-last differs from row-major
    assert w.is_contiguous(memory_format=torch.channels_last) and not w.is_contiguous()
    fit(resumed, digits, TrainConfig(**cfg, max_steps=4), run=tmp_path, resume=True,
        quiet=True)
    assert max_diff(full, resumed) == 0.0


def test_resume_refuses_a_model_with_other_settings(digits, tmp_path):
    cfg = TrainConfig(epochs=2, batch_size=64, checkpoint_every=3, max_steps=3)
    fit(small_vae(), digits, cfg, run=tmp_path, quiet=True)
    # the same networks with another objective would continue silently without the check
    with seeded_init(0):
        other = VAE(VAEConfig(image_shape=(8, 8), hidden=(16,), latent=3, kl_warmup=0.5))
    before = {k: v.clone() for k, v in other.state_dict().items()}
    with pytest.raises(GenlabError, match=r"kl_warmup 0\.0 there, 0\.5 here") as err:
        fit(other, digits, TrainConfig(epochs=2, batch_size=64), run=tmp_path, resume=True,
            quiet=True)
    assert "\n" not in str(err.value)
    assert all(torch.equal(before[k], v) for k, v in other.state_dict().items())
    r = fit(small_vae(), digits, TrainConfig(epochs=2, batch_size=64), run=tmp_path,
            resume=True, quiet=True)
    assert r.resumed_from == 3


def test_same_seed_same_run_other_seed_differs(digits):
    a, b, c = small_vae(), small_vae(), small_vae()
    for m, seed in ((a, 1), (b, 1), (c, 2)):
        fit(m, digits, TrainConfig(epochs=1, batch_size=50, seed=seed), quiet=True)
    assert max_diff(a, b) == 0.0 and max_diff(a, c) > 0


def test_epoch_order_is_a_permutation_and_changes_per_epoch():
    o0, o1 = epoch_order(100, 0, 0), epoch_order(100, 0, 1)
    assert sorted(o0.tolist()) == list(range(100)) and not torch.equal(o0, o1)


def test_lr_schedule():
    cfg = TrainConfig(lr=1.0, schedule="cosine", warmup_steps=10, lr_min=0.1)
    assert lr_factor(0, 110, cfg) == pytest.approx(0.1)
    assert lr_factor(9, 110, cfg) == pytest.approx(1.0)
    assert lr_factor(60, 110, cfg) == pytest.approx(0.1 + 0.9 * 0.5)   # half way: cos = 0
    assert lr_factor(110, 110, cfg) == pytest.approx(0.1)


class Shift(nn.Module):
    """loss = (w - mean(x))^2: trained on data of mean 0, validated on data of mean 1."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.tensor(1.0))

    def loss(self, x: torch.Tensor, generator: torch.Generator) -> LossOutput:
        return LossOutput((self.w - x.mean()) ** 2, {})


def test_early_stopping_restores_the_best_weights():
    train = ImageDataset("zeros", torch.zeros(64, 1, 1), None, "test")
    val = ImageDataset("ones", torch.ones(8, 1, 1), None, "test")
    model = Shift()
    seen = []
    r = fit(model, train, TrainConfig(epochs=50, batch_size=64, lr=0.05, patience=3),
            val=val, quiet=True, on_epoch=lambda e, s: seen.append(model.w.item()))
    # the val loss (w - 1)^2 grows every epoch as w moves to 0: best after epoch 1
    assert r.stopped_early and r.epochs == 4
    assert r.val_loss == sorted(r.val_loss)
    assert model.w.item() == pytest.approx(seen[0])


def test_bad_inputs(digits):
    with pytest.raises(GenlabError, match="no loss"):
        fit(nn.Linear(2, 2), digits, TrainConfig(), quiet=True)
    with pytest.raises(GenlabError, match="learning rate"):
        fit(small_vae(), digits, TrainConfig(lr=-1.0), quiet=True)
    with pytest.raises(GenlabError, match="loss became"):
        fit(small_vae(), digits, TrainConfig(lr=1e30, epochs=2), quiet=True)


# ----- data parallel ---------------------------------------------------------------------

def deterministic_ae() -> Autoencoder:
    with seeded_init(0):
        return Autoencoder(AEConfig(image_shape=(8, 8), hidden=(32,), latent=4))


def synthetic() -> ImageDataset:
    g = torch.Generator().manual_seed(0)
    return ImageDataset("synthetic", torch.rand(256, 8, 8, generator=g), None, "test")


def _ddp_worker(rank: int, world: int, store: str, out: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world)
    try:
        data = synthetic()
        model = deterministic_ae()
        fit(model, data, TrainConfig(epochs=2, batch_size=64, lr=1e-2), quiet=True)
        if rank == 0:
            torch.save(model.state_dict(), out)
    finally:
        dist.destroy_process_group()
    # Skip the interpreter's teardown: gloo's threads can still abort it ("terminate called
    # without an active exception", SIGABRT) after the work is done and the weights saved.
    # An exception above still reaches mp.spawn, which reports it.
    os._exit(0)


def _ddp_time_limit_worker(rank: int, world: int, store: str, out: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world)
    try:
        if rank == 1:  # this rank's clock runs out at once; rank 0's never does
            import genlab.train as train
            clock = iter(range(0, 10**9, 10**6))
            train.time = type("FastClock", (), {"perf_counter": staticmethod(
                lambda: float(next(clock)))})
        result = fit(deterministic_ae(), synthetic(),
                     TrainConfig(epochs=2, batch_size=64, lr=1e-2, max_seconds=3600.0),
                     quiet=True)
        Path(f"{out}.{rank}").write_text(str(result.steps))
    finally:
        dist.destroy_process_group()
    os._exit(0)


def test_a_time_limit_stops_every_process_at_the_same_step(tmp_path):
    """One rank's time is up before the first step, the other's never is: both stop at
    the same step (a rank stopping alone would leave the other waiting for its gradient
    forever); the join timeout turns such a hang into a failure."""
    out = tmp_path / "steps"
    ctx = mp.spawn(_ddp_time_limit_worker, args=(2, str(tmp_path / "store"), str(out)),
                   nprocs=2, join=False)
    deadline = time.monotonic() + 120
    while not ctx.join(timeout=1):
        if time.monotonic() > deadline:
            for proc in ctx.processes:
                proc.kill()
            pytest.fail("the two processes did not finish: a rank went on alone")
    steps = [int(Path(f"{out}.{rank}").read_text()) for rank in (0, 1)]
    assert steps[0] == steps[1] < 8  # 2 epochs of 4 steps would be 8


def test_two_processes_equal_one_with_the_combined_batch(tmp_path):
    out = tmp_path / "ddp.pt"
    mp.spawn(_ddp_worker, args=(2, str(tmp_path / "store"), str(out)), nprocs=2, join=True)
    ddp = deterministic_ae()
    ddp.load_state_dict(torch.load(out))
    single = deterministic_ae()
    fit(single, synthetic(),
        TrainConfig(epochs=2, batch_size=64, lr=1e-2), quiet=True)
    # each rank averages its 32 rows and DDP averages the two gradients: the gradient of
    # the mean over 64 rows, up to float32 summation order (8 Adam steps, rel. 1e-4)
    assert max_diff(ddp, single) < 1e-4 * max(1.0, max(float(p.detach().abs().max())
                                                       for p in single.parameters()))
    assert math.isfinite(max_diff(ddp, single))
