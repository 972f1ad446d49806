"""The tour's RBM step."""

from __future__ import annotations

import shlex

from genlab.rbm.tasks import run_eval, run_filters, run_sample, run_train
from genlab.tour.runner import Step, StepOutput, TourContext

MODEL = "runs/rbm"  # in the report folder
FIGURES = [("rbm_filters.png", "learned filters W_j"),
           ("rbm_samples.png", "samples after block Gibbs sweeps")]


def _line(*argv: object) -> str:
    return "genlab " + shlex.join(str(a) for a in argv)


def _rbm(ctx: TourContext) -> StepOutput:
    q = ctx.quick
    hidden, epochs, steps = (64, 3, 200) if q else (200, 15, 1000)
    limit, runs, betas = (300, 16, 1000) if q else (1000, 100, 10000)
    device, seed, model = ctx.device.type, ctx.seed, ctx.file(MODEL)
    (filters, _), (samples, _) = FIGURES
    # a few epochs at a larger learning rate than the command's default, which takes 120
    tr = run_train("mnist5k", model, hidden=hidden, method="pcd", epochs=epochs, lr=0.02,
                   momentum=0.5, schedule="linear", overwrite=True, seed=seed, device=device)
    run_filters(model, ctx.file(filters), n=64)
    run_sample(model, ctx.file(samples), n=36, steps=steps, seed=seed, device=device)
    ev = run_eval(model, "mnist5k", split="test", limit=limit, ais_runs=runs, ais_betas=betas,
                  seed=seed, device=device)
    command = "\n$ ".join([
        _line("rbm", "train", "mnist5k", "--hidden", hidden, "--method", "pcd", "--epochs",
              epochs, "--lr", 0.02, "--momentum", "0.5", "--schedule", "linear", "--out", MODEL,
              "--overwrite", "--seed", seed, "--device", device),
        _line("rbm", "filters", MODEL, "--n", 64, "--out", filters),
        _line("rbm", "sample", MODEL, "--n", 36, "--steps", steps, "--out", samples, "--seed",
              seed, "--device", device),
        _line("rbm", "eval", MODEL, "mnist5k", "--split", "test", "--limit", limit,
              "--ais-runs", runs, "--ais-betas", betas, "--seed", seed, "--device", device)])
    numbers = {"hidden units": tr.n_hidden, "epochs": tr.epochs, "training seconds": tr.seconds,
               "AIS log Z": ev.log_z, "AIS standard error": ev.log_z_std_err,
               "test log-likelihood (nats/image)": ev.log_likelihood,
               "test images": ev.n_examples}
    return StepOutput(figures=list(FIGURES), numbers=numbers, command=command,
                      summary="Persistent contrastive divergence on 4,000 real MNIST digits; "
                              "test log-likelihood from AIS.")


STEP = Step("rbm", "Restricted Boltzmann machine on MNIST-5k",
            "E(v, h) = -b'v - c'h - v'Wh;   dW ~ <v h'>_data - <v h'>_model (PCD);   "
            "log Z by annealed importance sampling",
            _rbm)
