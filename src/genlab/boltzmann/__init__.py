r"""The Boltzmann machine, an energy model on ±1 units: $E(x) = -\frac{1}{2} x^\top W x - b^\top x$.

Sampling (`gibbs`), learning (`learning`), exact enumeration (`exact`), the mean-field bound
(`meanfield`), chain diagnostics (`diagnostics`), the 4-2-4 encoder (`encoder`) and the tasks
behind `genlab bm` (`tasks`).
"""
