"""Regenerate the figures the documentation shows, into docs/figures/.

    PYTHONPATH=src python docs/figures/make_figures.py          # the quick ones (a minute or two)
    PYTHONPATH=src python docs/figures/make_figures.py --list   # every figure, page and cost
    PYTHONPATH=src python docs/figures/make_figures.py --all    # also those that train models
    PYTHONPATH=src python docs/figures/make_figures.py --only tsp_ulysses16_elastic.png --dry-run

Each figure is made the way its page says: by the ``genlab`` command, a benchmark script
or a few library calls. Without ``--all`` the figures that need a trained model print the
commands that make them and are skipped. Trained runs go to ``--runs`` (a scratch folder).
``benchmarks/bench_betavae.py`` draws its seed-0 traversals into docs/figures whatever
``--out`` says.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def boltzmann_figures(fig: Path) -> None:
    """docs/boltzmann.md: the mean-field bound against the exact log Z of a 16-unit machine
    over beta, and the energy traces of four Gibbs chains at beta = 1.5."""
    import torch

    from genlab.boltzmann.bm_plots import plot_bound_vs_beta, plot_energy_traces
    from genlab.boltzmann.exact import exact_moments
    from genlab.boltzmann.gibbs import sample
    from genlab.boltzmann.meanfield import mean_field

    g = torch.Generator().manual_seed(0)
    n = 16
    w = torch.randn(n, n, generator=g, dtype=torch.float64) / n ** 0.5
    w = torch.triu(w, 1)
    w = w + w.T
    b = 0.3 * torch.randn(n, generator=g, dtype=torch.float64)
    betas = [0.1 * k for k in range(0, 31)]
    bounds = [mean_field(w, b, beta).log_z_bound for beta in betas]
    exact = [exact_moments(w, b, beta).log_z for beta in betas]
    plot_bound_vs_beta(betas, bounds, exact, fig / "boltzmann_meanfield.png")
    run = sample(w, b, 1.5, n_chains=4, n_samples=300, burn_in=0, generator=g)
    plot_energy_traces(run.energy_trace, fig / "boltzmann_energy_traces.png")


@dataclass(frozen=True)
class Figure:
    """Files made together, the page that shows them, and how: each step is a command
    (argv with ``{fig}`` for docs/figures, ``{runs}`` for the scratch folder; a first word
    ``genlab`` runs the CLI, a first word ending in ``.py`` a script of the repository),
    ``("copy", SRC, DST)``, or a Python function of the figures folder."""

    files: tuple[str, ...]
    page: str
    cost: str               # "quick" or how long it takes on a 2-core CPU
    steps: tuple = ()


def bench_betavae(model: str, seed: int, tag: str, *extra: str) -> tuple[str, ...]:
    """The 4-epoch, Adam 1e-4 run of ``benchmarks/bench_betavae.py`` for one model and seed
    (seed 0 also draws its traversal into docs/figures as betavae_traverse_{model}{tag})."""
    options = {"beta1": ["--betas", "1"], "beta4": ["--betas", "4"], "beta8": ["--betas", "8"],
               "capacity25_gamma100": ["--betas", "1", "--capacity", "25", "--gamma", "100"],
               "capacity25_gamma100_ramp19200": ["--betas", "1", "--capacity", "25",
                                                 "--capacity-steps", "19200", "--gamma", "100"]}
    return ("benchmarks/bench_betavae.py", "--steps", "38400", "--batch-size", "64", "--lr",
            "0.0001", *options[model], "--seeds", str(seed), "--init-bias", "--votes", "1000",
            "--tag", tag, "--threads", "1", "--runs", "{runs}/betavae",
            "--out", f"{{runs}}/betavae_{model}{tag}.json", *extra)


def traversal(model: str, seed: int) -> Figure:
    """A beta-VAE traversal of docs/betavae-study.md: 4 epochs at Adam 1e-4."""
    name = f"betavae_traverse_{model}_4ep_lr1e-4_seed{seed}.png"
    steps: tuple = (bench_betavae(model, seed, f"_4ep_lr1e-4_seed{seed}"),)
    if seed:  # the bench draws seed 0 only; the others from their checkpoints
        run = f"{model}_seed{seed}"
        steps += (("benchmarks/betavae_axes.py", f"{{runs}}/betavae/{run}", "--traverse",
                   "{runs}/traverse_"),
                  ("copy", f"{{runs}}/traverse_{run}.png", f"{{fig}}/{name}"))
    return Figure((name,), "docs/betavae-study.md", "1-2 hours", steps)


FIGURES = (
    Figure(("boltzmann_meanfield.png", "boltzmann_energy_traces.png"), "docs/boltzmann.md",
           "quick", (boltzmann_figures,)),
    Figure(("hopfield_recall.png", "hopfield_overload.png"), "docs/hopfield.md", "quick",
           (("genlab", "hopfield", "demo", "--out", "{fig}", "--seed", "0"),)),
    Figure(("gumbel_temperatures.png",), "docs/gumbel.md", "quick",
           (("genlab", "gumbel", "plot", "--out", "{fig}/gumbel_temperatures.png"),)),
    Figure(("tsp_random10_hopfield_tank.png",), "docs/tsp.md", "quick",
           (("genlab", "tsp", "solve", "random:10", "--method", "hopfield-tank", "--restarts",
             "20", "--seed", "1", "--plot", "{fig}/tsp_random10_hopfield_tank.png"),)),
    Figure(("tsp_ulysses16_elastic.png",), "docs/tsp.md", "quick",
           (("genlab", "tsp", "solve", "ulysses16", "--method", "elastic-net", "--restarts", "4",
             "--plot", "{fig}/tsp_ulysses16_elastic.png"),)),
    Figure(("hopfield_capacity.png",), "docs/hopfield.md", "a few minutes",
           (("genlab", "hopfield", "capacity", "--n", "400", "--rule", "all", "--trials", "2",
             "--out", "{fig}/hopfield_capacity.png", "--seed", "0"),)),
    Figure(("tour.png",), "README.md", "a few minutes",
           (("genlab", "tour", "--quick", "--out", "{runs}/tour", "--screenshot",
             "{fig}/tour.png"),)),
    Figure(("vae-manifold.png", "vae-codes.png", "vae-recon-2d.png"), "docs/vae.md",
           "about 10 minutes",
           (("genlab", "vae", "train", "mnist5k", "--latent", "2", "--hidden", "256", "--epochs",
             "15", "--out", "{runs}/vae2d", "--overwrite"),
            ("genlab", "vae", "manifold", "{runs}/vae2d", "--out", "{fig}/vae-manifold.png",
             "--codes", "{fig}/vae-codes.png"),
            ("genlab", "vae", "reconstruct", "{runs}/vae2d", "--out", "{fig}/vae-recon-2d.png"))),
    Figure(("rbm-filters.png", "rbm-samples.png"), "docs/rbm.md", "about 5 minutes",
           (("genlab", "rbm", "train", "mnist5k", "--hidden", "500", "--method", "pcd", "--k", "5",
             "--epochs", "30", "--lr", "0.05", "--momentum", "0.5", "--schedule", "linear",
             "--batch-size", "20", "--out", "{runs}/rbm500", "--overwrite"),
            ("genlab", "rbm", "filters", "{runs}/rbm500", "--n", "100", "--out",
             "{fig}/rbm-filters.png"),
            ("genlab", "rbm", "sample", "{runs}/rbm500", "--n", "64", "--steps", "10000", "--out",
             "{fig}/rbm-samples.png"))),
    Figure(("gumbel_vae_samples_mnist5k.png", "gumbel_vae_training.png"), "docs/gumbel.md",
           "about 1 hour (three 75-epoch trainings)",
           tuple(("benchmarks/bench_gumbel.py", "--datasets", "mnist5k", "--epochs", "75",
                  "--estimators", e, *(() if e == "gumbel" else ("--no-sampler",)),
                  "--figures", "{fig}", "--out", f"{{runs}}/g75_{e}.json")
                 for e in ("gumbel", "straight-through", "reinforce"))
           + (("benchmarks/bench_gumbel.py", "--merge", "{runs}/g75_gumbel.json",
               "{runs}/g75_straight-through.json", "{runs}/g75_reinforce.json",
               "--figures", "{fig}", "--out", "{runs}/gumbel.json"),)),
    Figure(("betavae_pretrained_capacity.png", "betavae_pretrained_beta1.png"),
           "docs/betavae.md", "quick",
           tuple(("genlab", "vae", "traverse", f"pretrained:{model}", "--steps", "8",
                  "--seed", "0", "--device", "cpu", "--out", f"{{fig}}/{name}")
                 for model, name in (("betavae-dsprites-capacity",
                                      "betavae_pretrained_capacity.png"),
                                     ("vae-dsprites-beta1", "betavae_pretrained_beta1.png")))),
    traversal("beta4", 2),
    traversal("beta1", 2),
    traversal("beta1", 4),
    traversal("beta8", 0),
    traversal("capacity25_gamma100", 0),
    traversal("capacity25_gamma100_ramp19200", 0),
    traversal("capacity25_gamma100_ramp19200", 4),
    Figure(("betavae_traverse_capacity25_gamma100_ramp19200_fp32_4ep_lr1e-4.png",),
           "docs/betavae-study.md", "2-3 hours (float32)",
           (bench_betavae("capacity25_gamma100_ramp19200", 0, "_fp32_4ep_lr1e-4", "--no-amp"),)),
)


def argv(step: tuple, fig: Path, runs: Path) -> list[str]:
    """The command line of one step, placeholders filled in."""
    words = [w.format(fig=fig, runs=runs) for w in step]
    if words[0] == "genlab":
        return [sys.executable, "-m", "genlab", *words[1:]]
    return [sys.executable, str(ROOT / words[0]), *words[1:]]


def describe(step, fig: Path, runs: Path) -> str:
    """The step as a line to paste into a shell (from the repository root, PYTHONPATH=src)."""
    if callable(step):
        return f"python docs/figures/{Path(__file__).name}  # {step.__name__}"
    words = [w.format(fig=fig, runs=runs) for w in step]
    if words[0] == "copy":
        return shlex.join(["cp", *words[1:]])
    return shlex.join(words if words[0] == "genlab" else ["python", *words])


def rooted(path: Path) -> Path:
    """``path`` relative to the repository root where it lies inside it (the commands run
    there), else absolute."""
    path = path.resolve()
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def make(figure: Figure, fig: Path, runs: Path) -> None:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])))
    for step in figure.steps:
        print("  " + describe(step, fig, runs), flush=True)
        if callable(step):
            step(ROOT / fig)
        elif step[0] == "copy":
            shutil.copyfile(ROOT / step[1].format(fig=fig, runs=runs),
                            ROOT / step[2].format(fig=fig, runs=runs))
        else:
            subprocess.run(argv(step, fig, runs), check=True, cwd=ROOT, env=env)


def main(args: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--all", action="store_true",
                    help="also make the figures that train models (minutes to hours each)")
    ap.add_argument("--only", nargs="+", metavar="FILE", default=None,
                    help="only the figures that make these files (implies --all for them)")
    ap.add_argument("--list", action="store_true", help="list the figures and exit")
    ap.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    ap.add_argument("--out", type=Path, default=HERE, help="figures folder (docs/figures)")
    ap.add_argument("--runs", type=Path, default=ROOT / "runs" / "figures",
                    help="scratch folder for the trained runs")
    opts = ap.parse_args(args)
    fig, runs = (rooted(p) for p in (opts.out, opts.runs))
    chosen = [f for f in FIGURES if opts.only is None or set(f.files) & set(opts.only)]
    if opts.only is not None and not chosen:
        ap.error(f"no figure makes {', '.join(opts.only)}; --list names them")
    if opts.list:
        for f in chosen:
            print(f"{', '.join(f.files)}  [{f.page}; {f.cost}]")
        return
    (ROOT / fig).mkdir(parents=True, exist_ok=True)
    (ROOT / runs).mkdir(parents=True, exist_ok=True)
    for f in chosen:
        run = not opts.dry_run and (f.cost == "quick" or opts.all or opts.only is not None)
        print(f"{', '.join(f.files)} ({f.cost}){'' if run else ': skipped; made by'}", flush=True)
        if run:
            make(f, fig, runs)
        else:
            for step in f.steps:
                print("  " + describe(step, fig, runs))


if __name__ == "__main__":
    main()
