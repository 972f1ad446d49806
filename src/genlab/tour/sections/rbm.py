"""The tour's RBM step."""

from __future__ import annotations

from typing import Any

from genlab.tour.cli_steps import Command, cli_step
from genlab.tour.runner import Step, TourContext
from genlab.tour.sections.common import _q


def _rbm(ctx: TourContext) -> list[Command]:
    hidden, epochs = _q(ctx, 64, 200), _q(ctx, 3, 15)
    return [Command(["rbm", "train", "mnist5k", "--hidden", hidden, "--method", "pcd",
                     "--epochs", epochs, "--momentum", "0.5", "--schedule", "linear",
                     "--out", "{out}/runs/rbm", "--overwrite", "--seed", str(ctx.seed)]),
            Command(["rbm", "filters", "{out}/runs/rbm", "--n", "64", "--out",
                     "{out}/rbm_filters.png"], [("rbm_filters.png", "learned filters W_j")]),
            Command(["rbm", "sample", "{out}/runs/rbm", "--n", "36", "--steps",
                     _q(ctx, 200, 1000), "--out", "{out}/rbm_samples.png", "--seed",
                     str(ctx.seed)], [("rbm_samples.png", "samples after block Gibbs sweeps")]),
            Command(["rbm", "eval", "{out}/runs/rbm", "mnist5k", "--split", "test",
                     "--limit", _q(ctx, 300, 1000), "--ais-runs", _q(ctx, 16, 100),
                     "--ais-betas", _q(ctx, 1000, 10000), "--seed", str(ctx.seed)])]


def _rbm_numbers(results: list[dict]) -> dict[str, Any]:
    tr, ev = results[0], results[3]
    return {"hidden units": tr["n_hidden"], "epochs": tr["epochs"],
            "training seconds": tr["seconds"], "AIS log Z": ev["log_z"],
            "AIS standard error": ev["log_z_std_err"],
            "test log-likelihood (nats/image)": ev["log_likelihood"],
            "test images": ev["n_examples"]}


STEP = Step("rbm", "Restricted Boltzmann machine on MNIST-5k",
            "E(v, h) = -b'v - c'h - v'Wh;   dW ~ <v h'>_data - <v h'>_model (PCD);   "
            "log Z by annealed importance sampling",
            cli_step(_rbm, _rbm_numbers,
                     "Persistent contrastive divergence on 4,000 real MNIST digits; test "
                     "log-likelihood from AIS."))
