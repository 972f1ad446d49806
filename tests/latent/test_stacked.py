"""Stacked beta-VAEs: K models in one module are the K models, step for step.

The stack computes every layer of K models as one grouped convolution or one batched
product, which adds the same products in another order. So each comparison with the
separate models allows float32 rounding: a relative error of 1e-4, far above the ~1e-6
that reordering sums of a few thousand float32 terms gives, and far below what any
wrong index (a row, channel block or weight of another model) would give, which is of
the order of the values themselves.
"""

import pytest
import torch

from genlab.data.dsprites import DSpritesData
from genlab.errors import GenlabError
from genlab.latent.betavae import BetaVAE, BetaVAEConfig
from genlab.latent.stacked import StackedBetaVAE, stack_sequential
from genlab.train import TrainConfig, fit, make_optimizer, seeded_init

RTOL = 1e-4

CONFIGS = (BetaVAEConfig(beta=1.0), BetaVAEConfig(beta=4.0),
           BetaVAEConfig(capacity_max=25.0, capacity_steps=10, gamma=100.0))


def models(configs=CONFIGS) -> list[BetaVAE]:
    out = []
    for seed, cfg in enumerate(configs):
        with seeded_init(seed):
            out.append(BetaVAE(cfg))
    return out


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.detach(), b.detach()
    return float((a - b).abs().max() / b.abs().max().clamp(min=1e-12))


def binary_batch(n: int, seed: int = 0) -> torch.Tensor:
    """Real dSprites images (the stack's rows interleave models, so any rows do)."""
    g = torch.Generator().manual_seed(seed)
    return DSpritesData().draw(index=torch.randint(0, 737_280, (n,), generator=g))


def separate_loss(model: BetaVAE, x: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """Model's own objective on its rows with the noise ``eps``, from BetaVAE's pieces."""
    q = model.posterior(x)
    z = q.mu + q.std * eps
    recon = model.decoder_log_prob(x, z[None])[0].mean()
    kl = q.kl_to_prior().mean()
    c = model.config
    penalty = c.gamma * (kl - model.capacity()).abs() if c.capacity_max > 0 else c.beta * kl
    return -recon + penalty


def test_stack_loss_and_gradients_are_each_models_own():
    sep = models()
    stack = StackedBetaVAE(sep)
    k, b = len(sep), 4
    x = binary_batch(k * b)
    for m in sep:
        m.set_progress(3, 10)
    stack.set_progress(3, 10)  # C = 7.5 nats for the capacity model
    out = stack.loss(x, torch.Generator().manual_seed(5))
    out.loss.backward()
    eps = torch.randn((k, b, 10), generator=torch.Generator().manual_seed(5))
    total = 0.0
    for i, m in enumerate(sep):
        loss = separate_loss(m, x[i::k], eps[i])       # model i owns rows i, i + k, ...
        loss.backward()
        total = total + loss
        q = m.posterior(x[i::k])
        assert rel_err(out.metrics[f"kl_{i}"], q.kl_to_prior().mean()) < RTOL
    assert rel_err(out.loss.detach(), total.detach()) < RTOL
    stacked = dict(stack.named_parameters())
    for i, m in enumerate(sep):
        for name, p in m.named_parameters():
            assert rel_err(stacked[name].grad[i], p.grad) < RTOL, name


def test_three_sgd_steps_of_the_stack_train_each_model_as_alone():
    sep = models()
    stack = StackedBetaVAE(sep)
    k, b = len(sep), 3
    opt = torch.optim.SGD(stack.parameters(), lr=1e-3)
    opts = [torch.optim.SGD(m.parameters(), lr=1e-3) for m in sep]
    for step in range(3):
        x = binary_batch(k * b, seed=step)
        stack.set_progress(step, 10)
        opt.zero_grad()
        stack.loss(x, torch.Generator().manual_seed(step)).loss.backward()
        opt.step()
        eps = torch.randn((k, b, 10), generator=torch.Generator().manual_seed(step))
        for i, (m, o) in enumerate(zip(sep, opts, strict=True)):
            m.set_progress(step, 10)
            o.zero_grad()
            separate_loss(m, x[i::k], eps[i]).backward()
            o.step()
    for trained, alone in zip(stack.unstack(), sep, strict=True):
        for (name, p), q in zip(trained.named_parameters(), alone.parameters(), strict=True):
            assert rel_err(p, q) < RTOL, name
        assert trained.config == alone.config


def test_adam_on_the_stack_is_adam_on_each_model_bit_for_bit():
    """Given the same gradients, fit's Adam (fused) updates the stacked weights exactly as
    it updates each model's own: the update is element by element, so the stacking
    cannot couple the models. (Together with the gradient test above, each model of a
    stack trains as it would alone, up to the gradients' float32 rounding, which Adam's
    normalisation can enlarge for gradient elements near zero.)"""
    sep = models()
    stack = StackedBetaVAE(sep)
    opt = make_optimizer(stack, TrainConfig(lr=1e-3))
    opts = [make_optimizer(m, TrainConfig(lr=1e-3)) for m in sep]
    g = torch.Generator().manual_seed(0)
    for _ in range(3):
        for m in sep:
            for p in m.parameters():
                p.grad = torch.randn(p.shape, generator=g) * 10.0 ** torch.randint(
                    -9, 0, p.shape, generator=g)  # gradients of every size, tiny ones too
        stacked = dict(stack.named_parameters())
        for name, p in stacked.items():
            p.grad = torch.stack([dict(m.named_parameters())[name].grad for m in sep])
        opt.step()
        for o in opts:
            o.step()
    for trained, alone in zip(stack.unstack(), sep, strict=True):
        for a, b in zip(trained.parameters(), alone.parameters(), strict=True):
            assert torch.equal(a, b)


def test_unstack_returns_the_starting_models_exactly():
    sep = models()
    for got, want in zip(StackedBetaVAE(sep).unstack(), sep, strict=True):
        assert got.config == want.config and not got.training
        for a, b in zip(got.state_dict().values(), want.state_dict().values(), strict=True):
            assert torch.equal(a, b)


def test_capacity_and_beta_weights_follow_each_models_schedule():
    stack = StackedBetaVAE(models())
    stack.set_progress(4, 100)
    beta, gamma, cap = stack.objective_weights()
    assert beta.tolist() == [1.0, 4.0, 0.0] and gamma.tolist() == [0.0, 0.0, 100.0]
    assert cap.tolist() == pytest.approx([0.0, 0.0, 25.0 * 4 / 10])
    stack.set_progress(50, 100)
    assert stack.objective_weights()[2].tolist() == pytest.approx([0.0, 0.0, 25.0])


def test_fit_trains_the_stack_and_resumes_it(tmp_path):
    """The stack trains through genlab.train.fit; stopping at step 2 and resuming gives
    the weights of the uninterrupted run (fit's guarantee, here with the stack's nested
    settings in the checkpoint)."""
    data = DSpritesData(torch.arange(0, 737_280, 7_373))  # 100 images
    cfg = TrainConfig(epochs=1, batch_size=6, lr=1e-3, seed=3, max_steps=4,
                      checkpoint_every=0)
    whole = StackedBetaVAE(models(CONFIGS[:2]))
    fit(whole, data, cfg, quiet=True)
    parts = StackedBetaVAE(models(CONFIGS[:2]))
    fit(parts, data, TrainConfig(**{**cfg.__dict__, "max_steps": 2}), run=tmp_path,
        quiet=True)
    result = fit(parts, data, cfg, run=tmp_path, resume=True, quiet=True)
    assert result.resumed_from == 2 and result.steps == 4
    for a, b in zip(whole.state_dict().values(), parts.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    other = StackedBetaVAE(models((CONFIGS[0], BetaVAEConfig(beta=8.0))))
    with pytest.raises(GenlabError, match="other settings"):
        fit(other, data, cfg, run=tmp_path, resume=True, quiet=True)


def test_a_time_limit_stops_every_model_at_the_same_step_and_resumes(tmp_path):
    data = DSpritesData(torch.arange(0, 737_280, 7_373))
    cfg = TrainConfig(epochs=1, batch_size=4, lr=1e-3, seed=1, max_steps=3,
                      checkpoint_every=0)
    stopped = StackedBetaVAE(models(CONFIGS[:2]))
    first = fit(stopped, data, TrainConfig(**{**cfg.__dict__, "max_seconds": 1e-9}),
                run=tmp_path, quiet=True)
    assert first.steps < 3  # a nanosecond is over before the first step's check
    rest = fit(stopped, data, cfg, run=tmp_path, resume=True, quiet=True)
    assert rest.steps == 3
    whole = StackedBetaVAE(models(CONFIGS[:2]))
    fit(whole, data, cfg, quiet=True)
    for a, b in zip(whole.state_dict().values(), stopped.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_bad_stacks_and_batches_are_refused():
    with pytest.raises(GenlabError, match="at least one"):
        StackedBetaVAE([])
    with pytest.raises(GenlabError, match="same image shape"):
        StackedBetaVAE([BetaVAE(BetaVAEConfig()), BetaVAE(BetaVAEConfig(latent=6))])
    stack = StackedBetaVAE(models(CONFIGS[:2]))
    with pytest.raises(GenlabError, match="multiple of 2"):
        stack.loss(binary_batch(3), torch.Generator())
    with pytest.raises(GenlabError, match="multiple of 2"):
        stack.loss(torch.zeros(4, 100), torch.Generator())
    with pytest.raises(GenlabError, match="max_seconds"):
        TrainConfig(max_seconds=0).validate()
    with pytest.raises(GenlabError, match="plain convolutions"):
        stack_sequential([torch.nn.Sequential(torch.nn.Conv2d(2, 2, 3, groups=2))] * 2)
    with pytest.raises(GenlabError, match="cannot stack"):
        stack_sequential([torch.nn.Sequential(torch.nn.BatchNorm2d(2))] * 2)


def test_every_data_parallel_shard_holds_each_models_rows_in_order():
    """Under torchrun each process takes a contiguous shard of the batch; with rows
    interleaved by model, shard r gives model k the r-th block of its rows in the whole
    batch, so averaging the processes' gradients is each model's gradient of all its rows."""
    stack = StackedBetaVAE(models())
    k, b, world = 3, 4, 2
    x = torch.arange(k * b * world, dtype=torch.float32)[:, None].expand(-1, 4096)
    whole = stack.split_batch(x)                                   # (K, world b, D)
    share = len(x) // world
    for r in range(world):
        shard = stack.split_batch(x[r * share:(r + 1) * share])    # (K, b, D)
        assert torch.equal(shard, whole[:, r * b:(r + 1) * b])
    assert whole[1, :, 0].tolist() == [1, 4, 7, 10, 13, 16, 19, 22]  # model 1: rows 1, 4, ...
