r"""What each latent follows: a linear read-out of the code from ordered factors.

The scores (MIG, FactorVAE, BetaVAE) say how disentangled a code is; this says *which*
factor each latent holds and, for the position plane, in which direction. On codes of
uniformly sampled factors, each live latent $z_j$ (code sd at least ``min_sd``) is fitted
by least squares on the standardised factors $u_k = (v_k - \bar v_k) / \mathrm{sd}(v_k)$:

$$
z_j \approx c_j + \sum_k b_{jk} u_k, \qquad
R^2_j = 1 - \frac{\mathrm{mean}\,(z_j - \hat z_j)^2}{\mathrm{Var}(z_j)}.
$$

$b_{jk}$ is the change of $z_j$ per standard deviation of factor $k$ with the others held
fixed (the factors are independent, so it is also $\mathrm{cov}(z_j, u_k)$ up to sampling
noise); $R^2_j$ is the share of the latent's variance that the factors explain linearly.
For two factors spanning a plane (dSprites' ``pos_x`` and ``pos_y``) the latent's direction
in it is $\mathrm{atan2}(b_{jy}, b_{jx})$: 0 degrees along x, ±90 along y, ±45 a diagonal.
A latent that holds one ordered factor alone has one large $b$ and $R^2$ near 1 (below 1
only by the warp of a uniform factor into the code); a latent that holds none has $R^2$
near 0, which for independent noise is $\mathrm{Beta}(p/2, (n-p-1)/2)$-distributed with
mean $p / (n - 1)$.

Only ordered factors make sense here (dSprites: scale, pos_x, pos_y); a categorical
(shape) or circular (orientation) factor has no linear read-out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from genlab.errors import GenlabError
from genlab.memory import check_allocation
from genlab.metrics.ground_truth import (
    CodeFunction,
    check_count,
    check_sizes,
    codes_of,
    sample_factors,
)


@dataclass(frozen=True)
class LatentAxis:
    r"""One live latent's read-out (see the module docstring).

    Attributes:
        latent: index $j$ of the code dimension.
        sd: standard deviation of $z_j$ over the sampled codes.
        coefficients: $b_{jk}$ per factor name, in code units per factor sd.
        r2: $R^2_j$.
        angle_deg: $\mathrm{atan2}(b_{jy}, b_{jx})$ in degrees for the plane's two factors;
            None without a plane, or when the latent has no part in it (both
            coefficients zero to rounding, where the angle would be noise).
    """

    latent: int
    sd: float
    coefficients: dict[str, float]
    r2: float
    angle_deg: float | None


@dataclass(frozen=True)
class FactorAxes:
    """Result of ``factor_axes``: the live latents' read-outs, by decreasing sd."""

    latents: list[LatentAxis]
    factors: list[str]
    n_samples: int
    min_sd: float


def describe(axis: LatentAxis) -> str:
    """One line for ``axis``: sd, each coefficient, the angle (or ``none``) and $R^2$."""
    coefs = "  ".join(f"{k} {v:+.2f}" for k, v in axis.coefficients.items())
    angle = "none" if axis.angle_deg is None else f"{axis.angle_deg:+4.0f} deg"
    return f"z{axis.latent}: sd {axis.sd:.2f}  {coefs}  angle {angle}  R^2 {axis.r2:.2f}"


def linear_axes(codes: torch.Tensor, factors: torch.Tensor, names: Sequence[str],
                plane: tuple[str, str] | None = None, min_sd: float = 0.05) -> list[LatentAxis]:
    r"""Read-outs of the codes ``(n, d)`` from factor values ``(n, p)`` named ``names``.

    ``plane`` names two of ``names`` whose direction $\mathrm{atan2}(b_2, b_1)$ is reported.
    Latents with sd below ``min_sd`` are left out. Returns them by decreasing sd.
    """
    z = torch.as_tensor(codes, dtype=torch.float64)
    f = torch.as_tensor(factors, dtype=torch.float64)
    names = list(names)
    if z.ndim != 2 or f.ndim != 2 or len(z) != len(f) or f.shape[1] != len(names):
        raise GenlabError(f"codes (n, d) and factors (n, {len(names)}) must have the same n, "
                          f"got {tuple(z.shape)} and {tuple(f.shape)}")
    if len(z) <= len(names) + 1:
        raise GenlabError(f"a linear read-out on {len(names)} factors needs more than "
                          f"{len(names) + 1} samples, got {len(z)}")
    if not (torch.isfinite(z).all() and torch.isfinite(f).all()):
        raise GenlabError("codes and factors must be finite")
    f_sd = f.std(0)
    if (f_sd == 0).any():
        constant = names[int(torch.nonzero(f_sd == 0)[0])]
        raise GenlabError(f"factor {constant!r} is constant in the sample; it has no axis")
    if plane is not None and not set(plane) <= set(names):
        raise GenlabError(f"plane {plane} must name two of the factors {names}")
    design = torch.cat([(f - f.mean(0)) / f_sd, torch.ones(len(f), 1, dtype=f.dtype)], 1)
    sd = z.std(0)
    live = [j for j in torch.argsort(sd, descending=True).tolist() if sd[j] >= min_sd]
    if not live:
        return []
    sol = torch.linalg.lstsq(design, z[:, live]).solution         # (p + 1, live)
    resid = z[:, live] - design @ sol
    r2 = 1 - (resid ** 2).mean(0) / z[:, live].var(0, unbiased=False)
    out = []
    for i, j in enumerate(live):
        coef = {k: float(sol[m, i]) for m, k in enumerate(names)}
        angle = None
        if plane is not None and math.hypot(coef[plane[0]], coef[plane[1]]) > 1e-9 * sd[j]:
            angle = math.degrees(math.atan2(coef[plane[1]], coef[plane[0]]))
        out.append(LatentAxis(j, float(sd[j]), coef, float(r2[i]), angle))
    return out


def factor_axes(code_fn: CodeFunction, factor_sizes: Sequence[int], factor_names: Sequence[str],
                ordered: Sequence[str], plane: tuple[str, str] | None = None, seed: int = 0,
                n_samples: int = 10_000, min_sd: float = 0.05) -> FactorAxes:
    """Read-outs of ``code_fn``'s latents from the ``ordered`` factors, on ``n_samples``
    codes of uniform factors drawn with ``seed`` (factor indices stand in for values,
    which on dSprites are evenly spaced in each ordered factor)."""
    sizes = check_sizes(factor_sizes)
    check_count("n_samples", n_samples, len(ordered) + 2)
    # the int64 factors and their float64 copies, and the float64 codes (up to 64 latents)
    check_allocation(n_samples * (16 * len(sizes) + 8 * 64),
                     f"{n_samples} codes of {len(sizes)} factors", "cpu", "use fewer codes")
    names = list(factor_names)
    missing = [k for k in ordered if k not in names]
    if len(names) != len(sizes) or missing:
        raise GenlabError(f"ordered factors {list(ordered)} must be among {names} "
                          f"({len(sizes)} factors)")
    gen = torch.Generator().manual_seed(seed)
    v = sample_factors(n_samples, sizes, gen)
    codes = codes_of(code_fn, v)
    cols = [names.index(k) for k in ordered]
    latents = linear_axes(codes, v[:, cols].double(), ordered, plane, min_sd)
    return FactorAxes(latents, list(ordered), n_samples, min_sd)
