"""Where a training step of K stacked beta-VAEs spends its time, on any device.

Runs ``genlab.train.fit`` itself on dSprites (so its per-step work, the rendering of the
batch and the checks between steps are all counted) for a few warm-up steps, then for
``--steps`` more under ``torch.profiler``, and prints:

* milliseconds per step and images per second (all K models together);
* the operators that take the most device time (CUDA) or CPU time;
* on CUDA, how many times a step waits for the device (synchronising calls and copies to
  the host): each wait leaves the GPU idle while Python prepares the next launches.

    PYTHONPATH=src python benchmarks/profile_betavae_step.py --device cuda --models 8
"""

from __future__ import annotations

import argparse
import time

import torch
from torch.profiler import ProfilerActivity, profile

from genlab.data.dsprites import DSpritesData, split_indices
from genlab.device import resolve_device
from genlab.latent.betavae import BetaVAEConfig, build_betavae
from genlab.latent.stacked import StackedBetaVAE
from genlab.train import TrainConfig, fit

WAITS = ("cudaStreamSynchronize", "cudaDeviceSynchronize", "cudaMemcpyAsync",
         "cudaEventSynchronize")


def main() -> None:
    from genlab.device import keep_freed_memory

    keep_freed_memory()  # as the genlab command line does for its process: timings match it
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--models", type=int, default=8, help="K, models in the stack")
    ap.add_argument("--batch-size", type=int, default=64, help="images per model per step")
    ap.add_argument("--steps", type=int, default=50, help="profiled steps")
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--rows", type=int, default=15, help="operators listed")
    ap.add_argument("--cudnn-benchmark", action="store_true",
                    help="let cuDNN time its algorithms for these shapes first")
    args = ap.parse_args()
    torch.backends.cudnn.benchmark = args.cudnn_benchmark
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    models = [build_betavae(BetaVAEConfig(beta=4.0), seed) for seed in range(args.models)]
    stack = StackedBetaVAE(models)
    data = DSpritesData(split_indices("train"))
    cfg = TrainConfig(epochs=1, batch_size=args.batch_size * args.models, lr=1e-4,
                      max_steps=args.warmup, checkpoint_every=0, amp=True, log_every=10_000)
    fit(stack, data, cfg, device=device, quiet=True)  # warm-up: kernels chosen, memory held
    cuda = device.type == "cuda"
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    cfg.max_steps = args.warmup + args.steps
    if cuda:
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    with profile(activities=activities) as prof:
        # a fresh fit call continues nothing (no run folder): it trains steps 0..N again
        fit(stack, data, cfg, device=device, quiet=True)
        if cuda:
            torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    steps = cfg.max_steps
    print(f"{device} ({torch.cuda.get_device_name(device) if cuda else 'CPU'}), "
          f"{args.models} models x {args.batch_size}"
          + (" (cuDNN benchmark)" if args.cudnn_benchmark else "")
          + f": {seconds / steps * 1e3:.2f} ms per step, "
          f"{steps * args.batch_size * args.models / seconds:.0f} images/s (under the "
          "profiler, which adds some CPU time)")
    events = prof.key_averages()
    if cuda:
        print(events.table(sort_by="self_cuda_time_total", row_limit=args.rows))
        waits = {e.key: e.count for e in events if e.key in WAITS}
        print("host waits per step:", {k: round(v / steps, 1) for k, v in waits.items()})
    print(events.table(sort_by="self_cpu_time_total", row_limit=args.rows))


if __name__ == "__main__":
    main()
