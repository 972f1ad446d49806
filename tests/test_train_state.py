"""The training package keeps its state to itself: fit and seeded_init leave the process's
threads and global generators as they were, and the loop's state is one object, the
checkpoint's payload."""

import json
import random

import numpy as np
import pytest
import torch

from genlab.data import ImageDataset, load_dataset
from genlab.errors import GenlabError
from genlab.latent import VAE, VAEConfig
from genlab.train import (
    CHECKPOINT_NAME,
    LoopState,
    TrainConfig,
    fit,
    load_checkpoint,
    make_optimizer,
    mix_seed,
    seeded_init,
)


def build_vae() -> VAE:
    return VAE(VAEConfig(image_shape=(8, 8), hidden=(16,), latent=3))


@pytest.fixture(scope="module")
def digits() -> ImageDataset:
    return load_dataset("digits", binarize="bernoulli", limit=200)


def global_state() -> tuple:
    """Torch's threads and the global generators of torch, numpy and Python."""
    np_state = np.random.get_state()  # noqa: NPY002  (the legacy global generator is watched)
    return (torch.get_num_threads(), torch.get_rng_state(), np_state[1].copy(), np_state[2],
            random.getstate())


def assert_same_state(a: tuple, b: tuple) -> None:
    assert a[0] == b[0]
    assert torch.equal(a[1], b[1])
    assert np.array_equal(a[2], b[2]) and a[3] == b[3]
    assert a[4] == b[4]


def test_fit_leaves_the_threads_and_global_generators_alone(digits, tmp_path):
    torch.manual_seed(11)
    before = global_state()
    with seeded_init(0):
        model = build_vae()
    fit(model, digits, TrainConfig(epochs=2, batch_size=64, patience=1, checkpoint_every=2),
        val=digits, run=tmp_path / "run", quiet=True)
    assert_same_state(before, global_state())


def test_seeded_init_fixes_the_weights_and_restores_the_global_generator():
    """The weights depend on the seed alone, not on the global generator, and are those
    of torch's initialisers under seed mix(seed, -3); the caller's stream goes on as if
    the block had never run."""
    torch.manual_seed(5)
    before = global_state()
    with seeded_init(3):
        a = build_vae()
    assert_same_state(before, global_state())
    torch.manual_seed(6)
    with seeded_init(3):
        b = build_vae()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(mix_seed(3, -3))
        c = build_vae()
    with seeded_init(4):
        d = build_vae()
    pairs = list(zip(a.parameters(), b.parameters(), c.parameters(), d.parameters(),
                     strict=True))
    assert all(torch.equal(p, q) and torch.equal(p, r) for p, q, r, _ in pairs)
    assert not all(torch.equal(p, s) for p, _, _, s in pairs)


def test_the_loop_state_is_the_checkpoint_payload(digits, tmp_path):
    """What a checkpoint holds beside the weights and the optimiser is one LoopState: its
    counters as the JSON ``loop``, its best weights as the ``best.*`` tensors."""
    with seeded_init(0):
        model = build_vae()
    cfg = TrainConfig(epochs=3, batch_size=64, patience=2, checkpoint_every=0)
    result = fit(model, digits, TrainConfig(**{**vars(cfg), "max_steps": 6}), val=digits,
                 run=tmp_path, quiet=True)
    with seeded_init(1):
        fresh = build_vae()
    state = load_checkpoint(tmp_path, fresh, make_optimizer(fresh, cfg), torch.device("cpu"),
                            cfg)
    assert isinstance(state, LoopState)
    assert (state.step, state.epoch, state.epoch_step) == (6, 1, 2) == (result.steps, 1, 2)
    assert state.val_loss == result.val_loss and state.best_val == result.best_val
    assert state.best is not None and state.best.keys() == fresh.state_dict().keys()
    saved = json.loads((tmp_path / f"{CHECKPOINT_NAME}.json").read_text())["meta"]["loop"]
    assert saved == state.counters() and "best" not in saved
    # with patience, the trained model ends holding the best weights
    assert all(torch.equal(state.best[k], v) for k, v in model.state_dict().items())
    with pytest.raises(GenlabError, match=r"unknown fields \['best'\]"):
        LoopState.from_counters({**saved, "best": {}}, "loop state")
