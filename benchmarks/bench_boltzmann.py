"""Single-site Gibbs updates per second: genlab against a plain NumPy sampler and the
matrix-multiply floor, for many chains of a fully connected Boltzmann machine.

    PYTHONPATH=src python benchmarks/bench_boltzmann.py [--chains 1000] [--units 784]
        [--repeats 5] [--threads 1]

* ``numpy``: a straightforward float32 implementation, one unit at a time, vectorised over
  the chains: ``a = X @ W[:, i] + b_i; X[:, i] = where(u < 1/(1+exp(-2 beta a)), 1, -1)``.
* ``genlab``: :func:`genlab.boltzmann.gibbs.gibbs_sweep`, exact sequential semantics, fields of
  a block of units by one matrix product and the within-block correction in a compiled loop
  (``native``) or in torch operations (``torch``, the fallback, timed for one sweep only).
* ``floor``: one ``(chains, n) @ (n, n)`` float32 product, ``2 chains n^2`` flops, the same
  arithmetic as a sweep's fields; no sampler that computes fields exactly can beat it.

Timings are best-of-``repeats`` wall-clock seconds per sweep on a shared machine (other
jobs run beside it), so they are noisy; every method runs in the same process and run.
Writes ``benchmarks/results/boltzmann.json`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chains", type=int, default=1000)
    parser.add_argument("--units", type=int, default=784)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--blocks", default="32,64,128")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" /
                                              "boltzmann.json"))
    args = parser.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)  # before numpy/torch load their BLAS

    import numpy as np
    import torch

    from genlab.boltzmann.gibbs import gibbs_sweep, random_spins
    from genlab.boltzmann.gibbs_native import native_kernel
    from genlab.device import cpu_name

    torch.set_num_threads(args.threads)
    c, n, beta = args.chains, args.units, 1.0
    gen = torch.Generator().manual_seed(0)
    w = torch.randn(n, n, generator=gen) / n ** 0.5
    w = torch.triu(w, 1)
    w = (w + w.T).contiguous()
    b = 0.1 * torch.randn(n, generator=gen)
    x = random_spins(c, n, gen)

    def best(fn, repeats: int) -> float:
        fn()  # warm-up (and compile the kernel once)
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times)

    rng = np.random.default_rng(0)
    wn, bn = w.numpy().copy(), b.numpy().copy()
    xn = x.numpy().copy()

    def numpy_sweep() -> None:
        u = rng.random((c, n), dtype=np.float32)
        for i in range(n):
            a = xn @ wn[:, i] + bn[i]
            xn[:, i] = np.where(u[:, i] < 1.0 / (1.0 + np.exp(-2.0 * beta * a)), 1.0, -1.0)

    xf = torch.randn(c, n)
    rows = []
    t_floor = best(lambda: xf @ w, args.repeats)
    rows.append({"method": "floor: one (chains, n) @ (n, n) product", "seconds": t_floor})
    t_np = best(numpy_sweep, args.repeats)
    rows.append({"method": "numpy float32, one unit at a time", "seconds": t_np})
    has_native = native_kernel(torch.float32, torch.device("cpu")) is not None
    for k in [int(s) for s in args.blocks.split(",")]:
        if has_native:
            t = best(lambda k=k: gibbs_sweep(x, w, b, beta, gen, "fixed", k, "native"),
                     args.repeats)
            rows.append({"method": f"genlab native, block {k}, fixed order", "seconds": t,
                         "block": k})
    if has_native:
        t = best(lambda: gibbs_sweep(x, w, b, beta, gen, "random", 64, "native"), args.repeats)
        rows.append({"method": "genlab native, block 64, random order", "seconds": t,
                     "block": 64})
    t = best(lambda: gibbs_sweep(x, w, b, beta, gen, "fixed", 64, "torch"), 1)
    rows.append({"method": "genlab torch fallback, block 64 (no compiler)", "seconds": t,
                 "block": 64})
    for r in rows:
        r["updates_per_second"] = c * n / r["seconds"]
        r["vs_numpy"] = t_np / r["seconds"]
        r["vs_floor"] = r["seconds"] / t_floor
    result = {"chains": c, "units": n, "beta": beta, "threads": args.threads,
              "repeats": args.repeats, "machine": cpu_name(),
              "cpu_count": os.cpu_count(), "torch": torch.__version__, "numpy": np.__version__,
              "python": sys.version.split()[0], "rows": rows,
              "command": "PYTHONPATH=src python benchmarks/bench_boltzmann.py "
                         + " ".join(sys.argv[1:])}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"{c} chains x {n} units, float32, {args.threads} thread(s), best of "
          f"{args.repeats}\n")
    print("| method | ms / sweep | updates / s | speed-up vs NumPy | x floor |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['method']} | {1e3 * r['seconds']:.1f} | {r['updates_per_second']:.3g} | "
              f"{r['vs_numpy']:.2f} | {r['vs_floor']:.2f} |")


if __name__ == "__main__":
    main()
