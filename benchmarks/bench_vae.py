"""VAEs on dynamically binarised Fashion-MNIST: genlab against PyTorch's example VAE.

The reference is the model and loss of ``pytorch/examples`` ``vae/main.py`` (784-400-20 MLP,
ReLU, Bernoulli decoder, summed BCE + closed-form KL, Adam 1e-3, batch 128), run in the
peers' environment (``benchmarks/peers.sh``) in a subprocess, with each batch binarised
afresh (``torch.bernoulli``). Its trained weights are loaded into genlab's VAE of the same
shape so that every model is scored by the same code on the same test images: the test
ELBO and the IWAE estimate of -log p(x) with K samples.

Also reported: seconds per epoch (best epoch and mean), and the fraction of this
machine's single-precision matrix-multiply throughput the MLP training step reaches
(6 B n_in n_out FLOPs per linear layer per step: forward 2, backward 4).

    python benchmarks/bench_vae.py --epochs 10 --k 1000 --n-test 1000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from genlab.data import fashion_mnist_dir, load_dataset  # noqa: E402
from genlab.io import atomic_write_json  # noqa: E402
from genlab.latent import VAE, VAEConfig  # noqa: E402
from genlab.latent.evaluate import evaluate_likelihood  # noqa: E402
from genlab.train import TrainConfig, fit, seeded_init  # noqa: E402

PEER = textwrap.dedent('''
    # pytorch/examples vae/main.py: model and loss as published; data from the IDX files.
    import gzip, json, sys, time
    import numpy as np, torch
    from torch import nn
    from torch.nn import functional as F
    from safetensors.torch import save_file

    folder, epochs, threads, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    with gzip.open(folder + "/train-images-idx3-ubyte.gz") as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784) / 255.0
    data = torch.utils.data.TensorDataset(torch.tensor(x, dtype=torch.float32))
    loader = torch.utils.data.DataLoader(data, batch_size=128, shuffle=True)

    class VAE(nn.Module):
        def __init__(self):
            super(VAE, self).__init__()
            self.fc1 = nn.Linear(784, 400)
            self.fc21 = nn.Linear(400, 20)
            self.fc22 = nn.Linear(400, 20)
            self.fc3 = nn.Linear(20, 400)
            self.fc4 = nn.Linear(400, 784)

        def encode(self, x):
            h1 = F.relu(self.fc1(x))
            return self.fc21(h1), self.fc22(h1)

        def reparameterize(self, mu, logvar):
            std = torch.exp(0.5*logvar)
            eps = torch.randn_like(std)
            return mu + eps*std

        def decode(self, z):
            h3 = F.relu(self.fc3(z))
            return torch.sigmoid(self.fc4(h3))

        def forward(self, x):
            mu, logvar = self.encode(x.view(-1, 784))
            z = self.reparameterize(mu, logvar)
            return self.decode(z), mu, logvar

    def loss_function(recon_x, x, mu, logvar):
        BCE = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction='sum')
        # see Appendix B from VAE paper: Kingma and Welling. ICLR, 2014
        KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        return BCE + KLD

    model = VAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    times, losses = [], []
    for epoch in range(epochs):
        model.train()
        t0, total = time.perf_counter(), 0.0
        for (data,) in loader:
            data = torch.bernoulli(data)           # dynamic binarisation
            optimizer.zero_grad()
            recon_batch, mu, logvar = model(data)
            loss = loss_function(recon_batch, data, mu, logvar)
            loss.backward()
            total += loss.item()
            optimizer.step()
        times.append(time.perf_counter() - t0)
        losses.append(total / len(loader.dataset))
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, out)
    print(json.dumps({"epoch_seconds": times, "train_loss": losses}))
''')


REFERENCE = "PyTorch example VAE 784-400-20 (reference)"


def peer_python() -> str:
    out = subprocess.run([str(HERE / "peers.sh")], check=True, capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1]


def run_reference(epochs: int, threads: int) -> tuple[VAE, dict]:
    """Train PyTorch's example VAE in the peers' env; return it as a genlab VAE + timings."""
    from safetensors.torch import load_file

    with tempfile.TemporaryDirectory() as tmp:
        script, weights = Path(tmp) / "peer_vae.py", Path(tmp) / "w.safetensors"
        script.write_text(PEER)
        res = subprocess.run([peer_python(), str(script), str(fashion_mnist_dir()), str(epochs),
                              str(threads), str(weights)], check=True, capture_output=True,
                             text=True)
        info = json.loads(res.stdout.strip().splitlines()[-1])
        w = load_file(str(weights))
    model = VAE(VAEConfig(hidden=(400,), latent=20))
    with torch.no_grad():  # the same function: encoder [fc1, relu, fc21|fc22], decoder
        model.encoder[0].weight.copy_(w["fc1.weight"])
        model.encoder[0].bias.copy_(w["fc1.bias"])
        model.encoder[2].weight.copy_(torch.cat([w["fc21.weight"], w["fc22.weight"]]))
        model.encoder[2].bias.copy_(torch.cat([w["fc21.bias"], w["fc22.bias"]]))
        model.decoder[0].weight.copy_(w["fc3.weight"])
        model.decoder[0].bias.copy_(w["fc3.bias"])
        model.decoder[2].weight.copy_(w["fc4.weight"])
        model.decoder[2].bias.copy_(w["fc4.bias"])
    return model, info


# genlab's configurations: (name, model config, train config overrides, init output bias)
GENLAB = {
    "genlab 784-400-20 (reference's architecture and settings)":
        (dict(hidden=(400,), latent=20), dict(lr=1e-3), False),
    "genlab default (`vae train fashion-mnist`)": None,   # filled from vae_preset()
    "genlab 784-400-32 ELU, lr 2e-3 cosine, output-bias init":
        (dict(hidden=(400,), latent=32, activation="elu"), dict(lr=2e-3, schedule="cosine"),
         True),
    "genlab 784-512-256-32 ELU, KL warm-up 30%, lr 2e-3 cosine (the shared default)":
        (dict(hidden=(512, 256), latent=32, activation="elu", kl_warmup=0.3),
         dict(lr=2e-3, schedule="cosine"), True),
    "genlab conv (32-64 channels, 256 hidden, 32 latents)":
        (dict(arch="conv", hidden=(256,), latent=32, activation="elu"),
         dict(lr=1e-3, schedule="cosine"), True),
}


def default_setting() -> tuple[dict, dict, bool]:
    from genlab.latent import vae_preset

    preset = vae_preset("fashion-mnist")
    m, t = preset.model_config, preset.train_config
    model = dict(arch=m.arch, hidden=m.hidden, latent=m.latent, activation=m.activation,
                 kl_warmup=m.kl_warmup, iw_train=m.iw_train, channels=m.channels)
    return model, dict(lr=t.lr, schedule=t.schedule, amp=t.amp), True


def matmul_gflops(threads: int) -> float:
    """Best-of-5 single-precision GFLOP/s of a 1024^3 matrix product on this machine."""
    torch.set_num_threads(threads)
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    best = float("inf")
    for _ in range(6):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * 1024 ** 3 / best / 1e9


def mlp_step_flops(model: VAE, batch: int) -> float:
    lin = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    return sum(6.0 * batch * m.in_features * m.out_features for m in lin)


def main() -> None:
    from genlab.device import keep_freed_memory

    keep_freed_memory()  # as the genlab command line does for its process: timings match it
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--k", type=int, default=1000, help="IWAE samples")
    ap.add_argument("--n-test", type=int, default=1000, help="test images scored")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--skip", default="", help="comma-separated name fragments to skip")
    ap.add_argument("--conv-steps", type=int, default=None,
                    help="train the conv model for only this many steps (time per epoch is "
                         "then extrapolated and its NLL is that of the short run)")
    ap.add_argument("--out", default="vae.json", help="file name in benchmarks/results/")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    peak = matmul_gflops(args.threads)
    train = load_dataset("fashion-mnist", binarize="bernoulli")
    test = load_dataset("fashion-mnist", split="test", binarize="bernoulli",
                        limit=args.n_test).draw(torch.Generator().manual_seed(0))
    rows = []
    per_image: dict[str, torch.Tensor] = {}

    def score(name: str, model: VAE, epoch_seconds: list[float], steps: int, note: str = ""
              ) -> None:
        t = time.perf_counter()
        r = evaluate_likelihood(model, test, args.k, torch.Generator().manual_seed(1),
                                show_progress=False)
        per_epoch = min(epoch_seconds) if epoch_seconds else float("nan")
        per_image[name] = r.nll_iw_per_image
        steps_per_epoch = -(-len(train) // 128)
        row = {"name": name, "epochs": len(epoch_seconds), "steps": steps,
               "best_epoch_s": per_epoch,
               "mean_epoch_s": sum(epoch_seconds) / max(1, len(epoch_seconds)),
               "train_s": sum(epoch_seconds), "elbo": r.elbo, "nll_iw": r.nll_iw,
               "nll_iw_se": r.nll_iw_se, "k": r.k, "n": r.n, "eval_s": time.perf_counter() - t,
               "parameters": sum(p.numel() for p in model.parameters()), "note": note}
        if name != REFERENCE and REFERENCE in per_image:
            # paired over the same test images: much more precise than either row's SE
            gain = per_image[REFERENCE] - r.nll_iw_per_image
            row["nll_gain_vs_reference"] = float(gain.mean())
            row["nll_gain_se"] = float(gain.std() / len(gain) ** 0.5)
            row["time_ratio_vs_reference"] = sum(epoch_seconds) / rows[0]["train_s"]
        if model.config.arch == "mlp":
            row["matmul_fraction"] = mlp_step_flops(model, 128) * steps_per_epoch / per_epoch \
                / (peak * 1e9)
        rows.append(row)
        print(json.dumps(row), flush=True)

    skip = [s for s in args.skip.split(",") if s]
    if "reference" not in skip and "reference)" not in skip:
        model, info = run_reference(args.epochs, args.threads)
        score(REFERENCE, model, info["epoch_seconds"],
              args.epochs * -(-len(train) // 128))
    for name, setting in GENLAB.items():
        if any(s in name for s in skip):
            continue
        mcfg, tcfg, init = setting if setting is not None else default_setting()
        with seeded_init(1):
            model = VAE(VAEConfig(**mcfg))
        if init:
            model.init_output_bias(train.images.mean(0))
        conv = mcfg.get("arch") == "conv"
        max_steps = args.conv_steps if conv else None
        r = fit(model, train, TrainConfig(epochs=args.epochs, batch_size=128, seed=1,
                                          max_steps=max_steps, **tcfg), quiet=True)
        secs = r.epoch_seconds
        note = ""
        if max_steps is not None and not secs:
            secs = [r.seconds * (-(-len(train) // 128)) / r.steps]
            note = f"only {r.steps} steps trained; time per epoch extrapolated"
        score(name, model, secs, r.steps, note)
    result = {"machine": "see RESULTS.md", "threads": args.threads, "matmul_gflops": peak,
              "epochs": args.epochs, "k": args.k, "n_test": args.n_test, "rows": rows,
              "command": "python " + " ".join(sys.argv)}
    (HERE / "results").mkdir(exist_ok=True)
    atomic_write_json(HERE / "results" / args.out, result)
    print(f"\n| model | epochs | s/epoch (best) | train s | time / reference | test ELBO "
          f"| NLL (IWAE K={args.k}) | gain over reference (paired) | matmul use |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        mm = f"{100 * r['matmul_fraction']:.0f}%" if "matmul_fraction" in r else "-"
        gain = (f"{r['nll_gain_vs_reference']:.2f} ± {r['nll_gain_se']:.2f}"
                if "nll_gain_vs_reference" in r else "-")
        ratio = f"{r['time_ratio_vs_reference']:.2f}" if "time_ratio_vs_reference" in r else "-"
        print(f"| {r['name']} | {r['epochs']} | {r['best_epoch_s']:.1f} | {r['train_s']:.0f} | "
              f"{ratio} | {r['elbo']:.2f} | {r['nll_iw']:.2f} ± {r['nll_iw_se']:.2f} | {gain} "
              f"| {mm} |")


if __name__ == "__main__":
    main()
