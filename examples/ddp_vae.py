"""The VAE of vae.py trained data-parallel: two processes on the CPU, one model.

Launch it with torchrun (the PyTorch launcher), which starts the processes and tells each
its rank and the world size through the environment:

    torchrun --nproc-per-node 2 examples/ddp_vae.py --out examples-out

genlab's training loop sees WORLD_SIZE > 1 and sets up torch.distributed itself (gloo on
CPUs, NCCL on GPUs). Every global batch of B images is cut into W contiguous shards of
B / W, rank r computes the gradient of its shard's mean loss -ELBO, and
DistributedDataParallel averages the W gradients, which with equal shards is

    (1/W) sum_r grad (1/(B/W)) sum_{x in shard r} -ELBO(x)  =  grad (1/B) sum_{x in batch} -ELBO(x),

the gradient of the whole batch: two processes train the model one process would, each
doing half the work. Rank 0 writes the checkpoints and the model; only rank 0 prints.
(Run without torchrun, the same script trains in one process.)

writes ddp_vae_samples.png and the run in runs/ddp_vae.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from genlab.latent import train_vae, vae_preset
from genlab.latent.tasks import evaluate_vae, sample_vae
from genlab.train import close_distributed, dist_info


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("examples-out"),
                        help="folder for the figures (default: examples-out)")
    parser.add_argument("--small", action="store_true",
                        help="a few seconds' version (also GENLAB_EXAMPLES_SMALL=1)")
    args = parser.parse_args()
    args.small = args.small or os.environ.get("GENLAB_EXAMPLES_SMALL") == "1"
    args.out.mkdir(parents=True, exist_ok=True)
    return args


def main() -> None:
    args = parse_args()
    small = args.small
    run = args.out / "runs" / "ddp_vae"

    # every process builds the same model from the same seed and reads the same data; the
    # loop gives each its shard of every batch of 128
    preset = vae_preset("mnist5k", latent=16, epochs=1 if small else 20, batch_size=128,
                        limit=512 if small else None, seed=0)
    trained = train_vae(preset, out=run, overwrite=True, device="cpu")

    info = dist_info()            # (rank, world_size, active) of this process
    if info.rank == 0:
        print(f"{info.world_size} process(es), {128 // info.world_size} images each per step: "
              f"{trained.steps} steps in {trained.seconds:.1f} s, training loss (-ELBO) "
              f"{trained.train_loss[0]:.1f} -> {trained.train_loss[-1]:.1f} nats")
        # the saved model is an ordinary one: evaluate and draw it in this process alone
        report = evaluate_vae(run, iw=50 if small else 500, n=100 if small else 1000, seed=0)
        print(f"test ELBO = {report.elbo:.2f} +- {report.elbo_se:.2f};  L_{report.k} = "
              f"{-report.nll_iw:.2f} +- {report.nll_iw_se:.2f} nats per image")
        sample_vae(run, args.out / "ddp_vae_samples.png", n=64, seed=0)
        print(f"figures in {args.out}/")
    # wait for every rank, then shut the process group down in order
    close_distributed()


if __name__ == "__main__":
    main()
