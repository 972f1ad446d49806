"""Make the figures of docs/boltzmann.md:  PYTHONPATH=src python docs/figures/boltzmann_figures.py
"""

from pathlib import Path

import torch

from genlab.boltzmann.bm_plots import plot_bound_vs_beta, plot_energy_traces
from genlab.boltzmann.exact import exact_moments
from genlab.boltzmann.gibbs import sample
from genlab.boltzmann.meanfield import mean_field

here = Path(__file__).parent
torch.set_num_threads(1)
g = torch.Generator().manual_seed(0)
n = 16
w = torch.randn(n, n, generator=g, dtype=torch.float64) / n ** 0.5
w = torch.triu(w, 1)
w = w + w.T
b = 0.3 * torch.randn(n, generator=g, dtype=torch.float64)

betas = [0.1 * k for k in range(0, 31)]
bounds = [mean_field(w, b, beta).log_z_bound for beta in betas]
exact = [exact_moments(w, b, beta).log_z for beta in betas]
plot_bound_vs_beta(betas, bounds, exact, here / "boltzmann_meanfield.png")

run = sample(w, b, 1.5, n_chains=4, n_samples=300, burn_in=0, generator=g)
plot_energy_traces(run.energy_trace, here / "boltzmann_energy_traces.png")
