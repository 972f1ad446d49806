"""The one training loop for every neural model in genlab.

A model trains here when it is an ``nn.Module`` with a method

    model.loss(x, generator) -> LossOutput(loss, metrics)

where ``x`` is a ``(B, D)`` mini-batch on the model's device, ``generator`` is the
``torch.Generator`` (on that device) to draw every random number of the step from
(reparameterisation noise, corruption, Gumbel noise), ``loss`` is the scalar to
minimise (a mean over the batch, so that data-parallel gradient averaging equals the
gradient of the combined batch) and ``metrics`` maps names to floats or 0-d tensors to
log. A model may also define ``set_progress(step, total_steps)`` (called before every
step, e.g. for KL warm-up or capacity schedules), and then ``uses_run_length``: whether
what it does depends on ``total_steps`` (assumed when it is not said), which decides
whether a resumed run may be given more epochs.

What ``fit`` guarantees:

* **Seeded and resumable.** The order of epoch ``e`` is ``randperm`` under seed
  ``mix(seed, e, -1)`` and the random numbers of step ``s`` of that epoch come from a fresh
  generator seeded ``mix(seed, e, s)``; so the run is a pure function of the seed, and
  resuming at ``(e, s)`` from a checkpoint (weights, optimiser state, scheduler step,
  early-stopping state) continues exactly as if it had never stopped.
* **Checkpoints** ``RUN/checkpoint.safetensors`` + ``.json`` every ``checkpoint_every``
  steps and at the end of each epoch, written atomically by ``genlab.io.save_model``.
* **Metrics** as JSON lines in ``RUN/metrics.jsonl`` (one object per logged step and
  per validation), optionally TensorBoard.
* **Early stopping** on the validation loss (mean of ``loss`` over the validation set,
  fixed noise), keeping the best weights.
* **Devices and precision**: any torch device; ``amp`` uses bfloat16 autocast where the
  device computes bfloat16 natively (CUDA; CPUs with AVX512-BF16 or AMX) and is ignored
  elsewhere (``genlab.device.native_bf16``).
  The optimiser is Adam (AdamW with weight decay), in torch's fused form on CPU and CUDA
  (``make_optimizer``).
* **Data parallel** (``torch.distributed``, launched by ``torchrun``; gloo on CPU, nccl on
  CUDA): each global batch of ``batch_size`` rows is split into ``world_size``
  contiguous shards, gradients are averaged by ``DistributedDataParallel``; with equal
  shards this is the gradient of the combined batch. Rank 0 logs and checkpoints.
* **No process-wide state**: the thread count, the allocator and the global random
  generators are left as they were.

The package, by concern:

| module | holds |
| --- | --- |
| ``protocol`` | ``LossOutput``, ``Trainable``, ``Batches`` |
| ``config`` | ``TrainConfig``, ``RESUMABLE_SETTINGS``, the learning-rate schedule |
| ``seeding`` | ``mix_seed``, ``seeded_init``, the step and epoch generators |
| ``state`` | ``LoopState``: where a run is, and the checkpoint's payload |
| ``optimizer`` | ``make_optimizer`` and its state in a checkpoint |
| ``checkpoint`` | save, load and check ``RUN/checkpoint``; ``prepare_run`` |
| ``distributed`` | ``dist_info``, DDP set-up, the ranks' agreements |
| ``metrics`` | ``RUN/metrics.jsonl``: ``read_metrics`` |
| ``loop`` | ``fit``, ``evaluate_loss``, ``FitResult`` |
"""

# the clock of a time budget (max_seconds): the loop reads it through this package
import time as time

from genlab.train.checkpoint import (
    CHECKPOINT_KIND,
    CHECKPOINT_NAME,
    has_checkpoint,
    load_checkpoint,
    load_checkpoint_weights,
    prepare_run,
    save_checkpoint,
)
from genlab.train.config import (
    RESUMABLE_SETTINGS,
    TrainConfig,
    epochs_for_steps,
    lr_factor,
    steps_per_epoch,
)
from genlab.train.distributed import (
    DistInfo,
    close_distributed,
    dist_info,
    init_distributed_from_env,
)
from genlab.train.loop import FitResult, evaluate_loss, fit
from genlab.train.metrics import METRICS_NAME, read_metrics
from genlab.train.optimizer import make_optimizer
from genlab.train.protocol import Batches, LossOutput, Trainable
from genlab.train.seeding import epoch_order, mix_seed, seeded_init, step_generator
from genlab.train.state import LoopState

__all__ = [
    "CHECKPOINT_KIND", "CHECKPOINT_NAME", "METRICS_NAME", "RESUMABLE_SETTINGS",
    "Batches", "DistInfo", "FitResult", "LoopState", "LossOutput", "TrainConfig", "Trainable",
    "close_distributed", "dist_info", "epoch_order", "epochs_for_steps", "evaluate_loss",
    "fit", "has_checkpoint", "init_distributed_from_env", "load_checkpoint",
    "load_checkpoint_weights", "lr_factor", "make_optimizer", "mix_seed", "prepare_run",
    "read_metrics", "save_checkpoint", "seeded_init", "step_generator", "steps_per_epoch",
]
