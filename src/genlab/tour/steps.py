"""The steps of ``genlab tour``: the lecture's models in order, each small enough for two
CPU cores. ``quick`` shrinks every step so the whole tour runs in about two minutes."""

from __future__ import annotations

from typing import Any

import torch

from genlab.tour.cli_steps import Command, cli_step
from genlab.tour.runner import Step, StepOutput, TourContext


def _q(ctx: TourContext, quick: Any, full: Any) -> str:
    return str(quick if ctx.quick else full)


# ----- 1. Hopfield associative memory ---------------------------------------------------------

def _hopfield_memory(ctx: TourContext) -> list[Command]:
    return [Command(["hopfield", "demo", "--out", "{out}/hopfield", "--seed", str(ctx.seed)],
                    [("hopfield/hopfield_recall.png",
                      "four 5x5 letters stored; corrupted cues recalled unit by unit"),
                     ("hopfield/hopfield_overload.png",
                      "twelve letters in 25 units: the memory fails")])]


def _hopfield_memory_numbers(results: list[dict]) -> dict[str, Any]:
    r = results[0]
    over = r["overload"]
    return {"letters stored": r["letters"], "cues": r["cues"], "cues recalled": r["recalled"],
            "overloaded memory": over["letters"],
            "stable letters when overloaded": f"{sum(over['stable'])} of {len(over['stable'])}"}


# ----- 2. Hopfield capacity -------------------------------------------------------------------

def _hopfield_capacity(ctx: TourContext) -> list[Command]:
    return [Command(["hopfield", "capacity", "--n", _q(ctx, 100, 400), "--rule", "all",
                     "--trials", _q(ctx, 1, 2), "--out", "{out}/hopfield_capacity.png",
                     "--seed", str(ctx.seed)],
                    [("hopfield_capacity.png", "final overlap with the stored pattern against "
                      "the load alpha = P/N for each learning rule, with the 0.138 line")])]


def _hopfield_capacity_numbers(results: list[dict]) -> dict[str, Any]:
    r = results[0]
    out: dict[str, Any] = {"units N": r["n"], "theory critical load": r["theory_critical_load"]}
    for rule, v in r["rules"].items():
        alphas, rec = v["alphas"], v["recalled"]
        ok = [a for a, f in zip(alphas, rec, strict=False) if f >= 0.5]
        out[f"{rule}: largest load with half the patterns recalled"] = max(ok) if ok else 0.0
    return out


# ----- 3. TSP ---------------------------------------------------------------------------------

def _tsp(ctx: TourContext) -> list[Command]:
    inst = "ulysses16"
    return [Command(["tsp", "solve", inst, "--method", "mean-field", "--restarts",
                     _q(ctx, 4, 16), "--plot", "{out}/tsp_meanfield.png", "--seed", str(ctx.seed)],
                    [("tsp_meanfield.png", f"{inst}: the mean-field (softassign) network's tour "
                      "and its energy over the annealing")]),
            Command(["tsp", "solve", "random:10", "--method", "hopfield-tank", "--restarts",
                     _q(ctx, 20, 100), "--plot", "{out}/tsp_hopfield_tank.png",
                     "--seed", str(ctx.seed)],
                    [("tsp_hopfield_tank.png", "10 random cities on the Hopfield-Tank network")])]


def _tsp_numbers(results: list[dict]) -> dict[str, Any]:
    mf, ht = results
    return {"instance": mf["instance"], "cities": mf["n"], "mean-field tour length": mf["length"],
            "optimum": mf["optimum"], "mean-field gap to optimum": mf["gap"],
            "Hopfield-Tank (10 cities) gap": ht.get("gap"),
            "Hopfield-Tank restarts valid without repair": ht["valid_fraction"]}


# ----- 4. Boltzmann machine (Python API: a random 12-unit machine) ---------------------------

def _boltzmann(ctx: TourContext) -> StepOutput:
    from genlab.energy.bm_plots import plot_bound_vs_beta
    from genlab.energy.exact import exact_moments
    from genlab.energy.gibbs import sample
    from genlab.energy.meanfield import mean_field
    from genlab.plots import plot_curves

    g = torch.Generator().manual_seed(ctx.seed)
    n = 12
    w = torch.randn(n, n, generator=g, dtype=torch.float64) / n ** 0.5
    w = torch.triu(w, 1)
    w = w + w.T
    b = 0.3 * torch.randn(n, generator=g, dtype=torch.float64)
    beta = 1.0
    exact = exact_moments(w, b, beta)
    run = sample(w, b, beta, n_chains=16, n_samples=500 if ctx.quick else 4000, burn_in=100,
                 generator=g)
    x = run.samples.reshape(-1, n).double()
    gibbs_mean = x.mean(0)
    err = (gibbs_mean - exact.mean).abs()
    plot_curves({"exact <x_i>": exact.mean.tolist(), "Gibbs <x_i>": gibbs_mean.tolist()},
                ctx.file("bm_marginals.png"), xlabel="unit i", ylabel="<x_i>",
                title="Gibbs sampling against exact enumeration (12 units, beta = 1)")
    betas = [0.1 * k for k in range(0, 31)]
    bounds = [mean_field(w, b, bb).log_z_bound for bb in betas]
    exacts = [exact_moments(w, b, bb).log_z for bb in betas]
    plot_bound_vs_beta(betas, bounds, exacts, ctx.file("bm_meanfield.png"))
    learned = _bm_learning(ctx, run.samples.reshape(-1, n)[:2000].double(), g)
    return StepOutput(
        figures=[("bm_marginals.png", "means <x_i> from Gibbs chains and from summing over all "
                  "2^12 states"),
                 ("bm_meanfield.png", "the mean-field bound on log Z against exact log Z over "
                  "inverse temperature beta"),
                 ("bm_learning.png", "learning from 2,000 of those samples by PCD: the exact "
                  "log-likelihood per epoch")],
        numbers={"units": n, "exact log Z (beta=1)": float(exact.log_z),
                 "Gibbs samples": int(x.shape[0]),
                 "max |Gibbs mean - exact mean|": float(err.max()),
                 "mean-field bound (beta=1)": float(mean_field(w, b, beta).log_z_bound),
                 "bound never above log Z": all(bd <= ex + 1e-9
                                                for bd, ex in zip(bounds, exacts, strict=True)),
                 **learned},
        command=f"genlab tour --only boltzmann --seed {ctx.seed}",
        summary="A random 12-unit machine: Gibbs sampling with P(x_i=+1) = 1/(1+exp(-2 a_i)) "
                "checked against exact enumeration, and the variational free energy as a "
                "bound on log Z.")


def _bm_learning(ctx: TourContext, data: torch.Tensor, g: torch.Generator) -> dict[str, Any]:
    """Fit a fresh machine to ``data`` by PCD; plot the exact log-likelihood per epoch."""
    from genlab.energy.bm_plots import plot_training_curve
    from genlab.energy.learning import BMTrainConfig, fit_boltzmann

    cfg = BMTrainConfig(method="pcd", epochs=8 if ctx.quick else 30, n_chains=500,
                        batch_size=500, lr=0.05)
    fit = fit_boltzmann(data.float(), cfg, g, show_progress=False)
    plot_training_curve(fit.history, ctx.file("bm_learning.png"))
    ll = [h["log_likelihood"] for h in fit.history if "log_likelihood" in h]
    return {"PCD epochs": cfg.epochs, "log-likelihood before learning": ll[0],
            "log-likelihood after learning": ll[-1]}


# ----- 5. RBM ---------------------------------------------------------------------------------

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


# ----- 6. Autoencoders ------------------------------------------------------------------------

def _autoencoder(ctx: TourContext) -> StepOutput:
    latent = 16
    run = cli_step(
        lambda c: [
            Command(["ae", "train", "mnist5k", "--latent", str(latent), "--corrupt", "mask:0.3",
                     "--epochs", _q(c, 2, 15), "--out", "{out}/runs/dae", "--overwrite",
                     "--seed", str(c.seed)]),
            Command(["ae", "reconstruct", "{out}/runs/dae", "--n", "16", "--out",
                     "{out}/ae_denoise.png", "--seed", str(c.seed)],
                    [("ae_denoise.png", "masked input (30% of pixels dropped), reconstruction "
                      "g(f(x~)), clean image")])],
        lambda r: {"latent dimension": latent, "epochs": r[0]["epochs"],
                   "||g(f(x~)) - x||^2 per test image (x~ masked)": r[0]["test_mse"],
                   "cross-entropy per test image (x~ masked)": r[0]["test_bce"]})
    out = run(ctx)
    err = _pca_figure(latent, ctx.file("ae_pca.png"))
    out.figures.append(("ae_pca.png", f"the same test images reconstructed by PCA with {latent} "
                        "components (from clean inputs)"))
    out.numbers[f"PCA, {latent} components, on clean x: squared error per test image"] = err
    out.summary = ("A denoising autoencoder: corrupt x into x~ with C(x~|x) (mask 30% of the "
                   "pixels), train g(f(x~)) to give the clean x; beside it, PCA with as many "
                   "components as the code has dimensions.")
    return out


def _pca_figure(k: int, path: Any) -> float:
    """PCA with ``k`` components on mnist5k: the first 16 test images and their
    reconstructions drawn to ``path``; returns the mean squared error per test image."""
    import numpy as np
    from sklearn.decomposition import PCA

    from genlab.data import load_dataset
    from genlab.latent.plots import plot_reconstructions

    tr, te = load_dataset("mnist5k", "train"), load_dataset("mnist5k", "test")
    pca = PCA(n_components=k, random_state=0).fit(tr.x.numpy())
    xt = te.x.numpy()
    rec = np.clip(pca.inverse_transform(pca.transform(xt)), 0.0, 1.0)
    plot_reconstructions(torch.from_numpy(xt[:16]), torch.from_numpy(rec[:16]), te.image_shape,
                         path, title=f"PCA, {k} components")
    return float(((rec - xt) ** 2).sum(axis=1).mean())


# ----- 7. VAE ---------------------------------------------------------------------------------

def _vae(ctx: TourContext) -> list[Command]:
    s = str(ctx.seed)
    return [Command(["vae", "train", "mnist5k", "--latent", "2", "--epochs", _q(ctx, 3, 30),
                     "--out", "{out}/runs/vae2", "--overwrite", "--seed", s]),
            Command(["vae", "reconstruct", "{out}/runs/vae2", "--n", "16", "--out",
                     "{out}/vae_reconstructions.png", "--seed", s],
                    [("vae_reconstructions.png", "test images and their VAE reconstructions "
                      "(blurry, as the lecture warns)")]),
            Command(["vae", "sample", "{out}/runs/vae2", "--n", "64", "--out",
                     "{out}/vae_samples.png", "--seed", s],
                    [("vae_samples.png", "samples: z ~ N(0, I), x ~ p(x|z) shown as its mean")]),
            Command(["vae", "manifold", "{out}/runs/vae2", "--grid", "15", "--out",
                     "{out}/vae_manifold.png", "--codes", "{out}/vae_codes.png", "--seed", s],
                    [("vae_manifold.png", "the decoded 2-D latent grid"),
                     ("vae_codes.png", "posterior means of test images, coloured by digit")]),
            Command(["vae", "eval", "{out}/runs/vae2", "--iw", _q(ctx, 50, 1000), "--n",
                     _q(ctx, 200, 1000), "--seed", s])]


def _vae_numbers(results: list[dict]) -> dict[str, Any]:
    tr, ev = results[0], results[-1]
    return {"latent dimension": 2, "epochs": tr["epochs"], "training seconds": tr["seconds"],
            "test ELBO (nats/image)": ev["elbo"],
            f"test -log p(x), IWAE K={ev['k']} (nats/image)": ev["nll_iw"],
            "test images": ev["n"]}


# ----- 8. beta-VAE ----------------------------------------------------------------------------

def _betavae(ctx: TourContext) -> list[Command]:
    s = str(ctx.seed)
    cmds = []
    for beta in (1, 4):
        cmds += [Command(["disentangle", "train", "--beta", str(beta), "--steps",
                          _q(ctx, 40, 600), "--batch-size", "32", "--limit",
                          _q(ctx, 4096, 16384), "--out", f"{{out}}/runs/beta{beta}", "--overwrite",
                          "--seed", s]),
                 Command(["vae", "traverse", f"{{out}}/runs/beta{beta}", "--steps", "8",
                          "--out", f"{{out}}/betavae_traverse_beta{beta}.png", "--seed", s],
                         [(f"betavae_traverse_beta{beta}.png",
                           f"beta = {beta}: each latent from -3 to +3, sorted by KL")]),
                 Command(["disentangle", "eval", f"{{out}}/runs/beta{beta}", "--metrics", "mig",
                          "--fraction", _q(ctx, 0.02, 0.1), "--seed", s])]
    return cmds


def _betavae_numbers(results: list[dict]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for beta, ev in ((1, results[2]), (4, results[5])):
        metrics = ev.get("metrics", ev)
        mig = metrics.get("mig")
        out[f"MIG, beta = {beta}"] = mig.get("score") if isinstance(mig, dict) else mig
    out["training steps each"] = results[0].get("steps")
    return out


# ----- 9. Gumbel-softmax ----------------------------------------------------------------------

def _gumbel(ctx: TourContext) -> list[Command]:
    s = str(ctx.seed)
    return [Command(["gumbel", "plot", "--n-mc", _q(ctx, 20000, 100000), "--out",
                     "{out}/gumbel_temperatures.png", "--seed", s],
                    [("gumbel_temperatures.png", "Gumbel-softmax at several temperatures: "
                      "expectation and one sample per tau")]),
            Command(["vae", "train", "mnist5k", "--latent-type", "categorical", "--categories",
                     "20x10", "--binarize", "threshold", "--epochs", _q(ctx, 2, 30),
                     "--anneal-rate", "3e-4", "--out", "{out}/runs/catvae", "--overwrite",
                     "--seed", s]),
            Command(["vae", "sample", "{out}/runs/catvae", "--n", "64", "--out",
                     "{out}/gumbel_vae_samples.png", "--seed", s],
                    [("gumbel_vae_samples.png", "categorical VAE samples: 20 one-hot codes of "
                      "10 classes drawn from the uniform prior")]),
            Command(["vae", "eval", "{out}/runs/catvae", "--iw", _q(ctx, 20, 200), "--n",
                     _q(ctx, 200, 1000), "--seed", s])]


def _gumbel_numbers(results: list[dict]) -> dict[str, Any]:
    tr, ev = results[1], results[3]
    return {"latents": "20 x 10 categorical", "epochs": tr["epochs"],
            "test ELBO (nats/image)": ev["elbo"],
            f"test -log p(x), IWAE K={ev['k']} (nats/image)": ev["nll_iw"]}


STEPS: list[Step] = [
    Step("hopfield", "Hopfield associative memory",
         "x_i = sign(sum_j w_ij x_j),   w_ij = eta sum_n x_i^(n) x_j^(n),   w_ii = 0,   "
         "E(x) = -1/2 sum_ij w_ij x_i x_j",
         cli_step(_hopfield_memory, _hopfield_memory_numbers,
                  "A 25-unit network stores four 5x5 letters by Hebb's rule and cleans "
                  "corrupted cues one unit at a time; twelve letters overload it.")),
    Step("capacity", "Hopfield capacity",
         "alpha = P / N;   Hebbian recall breaks down near alpha_c = 0.138",
         cli_step(_hopfield_capacity, _hopfield_capacity_numbers,
                  "How many random patterns each learning rule, and the modern softmax "
                  "network, stores before recall fails.")),
    Step("tsp", "Travelling salesman on a Hopfield network",
         "E = A/2 sum_x sum_i!=j V_xi V_xj + B/2 sum_i sum_x!=y V_xi V_yi "
         "+ C/2 (sum V - n)^2 + D/2 sum_xy d_xy sum_i V_xi (V_y,i+1 + V_y,i-1)",
         cli_step(_tsp, _tsp_numbers,
                  "One neuron per city x position: strong inhibition within rows and "
                  "columns, distance-weighted inhibition between neighbouring positions.")),
    Step("boltzmann", "Boltzmann machine",
         "P(x | beta, W) = exp(-beta E(x; W)) / Z,   P(x_i = +1) = 1 / (1 + exp(-2 a_i)),   "
         "log Z >= -beta F_MF(m)",
         _boltzmann),
    Step("rbm", "Restricted Boltzmann machine on MNIST-5k",
         "E(v, h) = -b'v - c'h - v'Wh;   dW ~ <v h'>_data - <v h'>_model (PCD);   "
         "log Z by annealed importance sampling",
         cli_step(_rbm, _rbm_numbers,
                  "Persistent contrastive divergence on 4,000 real MNIST digits; test "
                  "log-likelihood from AIS.")),
    Step("autoencoder", "Autoencoders: dimension reduction and denoising",
         "minimise ||g(f(x~)) - x||^2,   x~ ~ C(x~ | x)", _autoencoder),
    Step("vae", "Variational autoencoder",
         "ELBO = E_q(z|x)[log p(x|z)] - KL(q(z|x) || p(z)),   z = mu + sigma * eps,   "
         "eps ~ N(0, I)",
         cli_step(_vae, _vae_numbers,
                  "A VAE with a 2-D latent on MNIST-5k: reconstructions, samples, the decoded "
                  "manifold and the codes of test digits; test ELBO and the importance-"
                  "weighted log-likelihood.")),
    Step("betavae", "beta-VAE on dSprites",
         "E_q[log p(x|z)] - beta KL(q(z|x) || p(z))",
         cli_step(_betavae, _betavae_numbers,
                  "The same convolutional VAE trained with beta = 1 and beta = 4 on "
                  "procedurally generated dSprites; latent traversals and the mutual "
                  "information gap. (A short CPU budget: disentanglement needs far more "
                  "training; see benchmarks/RESULTS.md.)")),
    Step("gumbel", "Gumbel-softmax and the categorical VAE",
         "z = argmax_k (log pi_k + g_k),   y_k = exp((log pi_k + g_k)/tau) / "
         "sum_j exp((log pi_j + g_j)/tau),   g = -log(-log u)",
         cli_step(_gumbel, _gumbel_numbers,
                  "Relaxed one-hot samples across temperatures, and a VAE with 20 categorical "
                  "latents of 10 classes trained through the Gumbel-softmax.")),
]

STEP_KEYS = [s.key for s in STEPS]
