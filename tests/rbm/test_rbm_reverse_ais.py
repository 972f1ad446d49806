"""Reverse AIS: an upper estimate of log Z beside forward AIS's lower one, both checked
against enumeration on small RBMs."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from rbm_helpers import all_states, random_params

from genlab.cli.main import main
from genlab.errors import GenlabError
from genlab.rbm import BernoulliRBM, GaussianBernoulliRBM, load_rbm
from genlab.rbm.energy import RBMParams, free_energy, hidden_log_marginal, sample_visible
from genlab.rbm.partition import (
    AISResult,
    ais_log_partition,
    exact_log_partition,
    reverse_ais_log_partition,
)
from genlab.rbm.tasks import run_eval, run_train

# (n_v, n_h, weight scale, Gaussian visible units): scales from nearly independent units to
# strongly coupled ones where Gibbs chains of 200 sweeps still mix
MODELS = [(10, 8, 0.5, False), (12, 6, 1.0, False), (8, 10, 2.0, False),
          (10, 8, 0.3, True), (8, 6, 0.7, True)]


def exact_visible_samples(p: RBMParams, n: int, gen: torch.Generator) -> torch.Tensor:
    """``n`` exact draws of ``v ~ p(v)`` ``(n, n_v)``: by enumerating ``v`` (Bernoulli) or by
    ``h ~ p(h)`` over every ``h`` followed by ``v ~ p(v | h)`` (Gaussian)."""
    if p.gaussian:
        H = all_states(p.n_hidden).to(p.weights.dtype)
        idx = torch.multinomial(torch.softmax(hidden_log_marginal(p, H), 0), n,
                                replacement=True, generator=gen)
        return sample_visible(p, H[idx], gen)
    V = all_states(p.n_visible).to(p.weights.dtype)
    idx = torch.multinomial(torch.softmax(-free_energy(p, V), 0), n, replacement=True,
                            generator=gen)
    return V[idx]


def grouped_log_z(res: AISResult, groups: int) -> torch.Tensor:
    """The log Z estimates ``(groups,)`` of ``groups`` independent estimators of
    ``M = n_runs / groups`` runs each, read off one batched run's log-weights."""
    lw = res.log_weights.reshape(groups, -1)
    log_mean = torch.logsumexp(lw, 1) - math.log(lw.shape[1])
    sign = -1.0 if res.direction == "reverse" else 1.0
    return res.log_z_base + sign * log_mean


@pytest.mark.parametrize("layer", ["visible", "hidden"])
@pytest.mark.parametrize("n_v,n_h,scale,gaussian", MODELS)
def test_forward_below_and_reverse_above_exact_within_their_errors(n_v, n_h, scale, gaussian,
                                                                    layer):
    """One estimate each, reverse runs from Gibbs chains (200 sweeps): forward AIS is at most
    4 of its standard errors above log Z, reverse at most 4 of its own below."""
    p = random_params(n_v, n_h, seed=n_v + n_h, scale=scale, gaussian=gaussian)
    exact = exact_log_partition(p)
    gen = torch.Generator().manual_seed(1)
    fwd = ais_log_partition(p, None, n_runs=200, n_betas=500, generator=gen, layer=layer)
    rev = reverse_ais_log_partition(p, None, n_runs=200, n_betas=500, generator=gen,
                                    layer=layer, burn_in=200)
    assert (fwd.direction, rev.direction, rev.layer, rev.burn_in) == (
        "forward", "reverse", layer, 200)
    assert fwd.log_z <= exact + 4 * fwd.std_err
    assert rev.log_z >= exact - 4 * rev.std_err
    assert rev.log_z_low <= rev.log_z <= rev.log_z_high
    # the estimates are those of the delta method: the same relative error both ways
    assert rev.log_z_high - rev.log_z == pytest.approx(-math.log(1 - 3 * rev.std_err))


@pytest.mark.parametrize("start", ["exact", "gibbs"])
@pytest.mark.parametrize("layer", ["visible", "hidden"])
@pytest.mark.parametrize("gaussian", [False, True])
def test_the_bounds_hold_on_average(gaussian, layer, start):
    """What the bounds mean: E[log Z_fwd] <= log Z <= E[log Z_rev]. With 10 betas the
    Jensen gaps are large; 1000 independent estimators of 2 runs each put the forward mean
    more than 3 standard errors of the mean below the exact value and the reverse mean as
    far above, whether the reverse runs start from exact samples or from Gibbs chains."""
    p = random_params(10, 8, seed=2, scale=0.7 if gaussian else 1.0, gaussian=gaussian)
    exact = exact_log_partition(p)
    gen = torch.Generator().manual_seed(5)
    groups, m = 1000, 2
    fwd = grouped_log_z(ais_log_partition(p, None, groups * m, 10, gen, layer), groups)
    init = exact_visible_samples(p, groups * m, gen) if start == "exact" else None
    rev = grouped_log_z(reverse_ais_log_partition(
        p, None, groups * m, 10, gen, layer, burn_in=0 if start == "exact" else 200,
        start=init), groups)
    sem_f, sem_r = float(fwd.std()) / groups ** 0.5, float(rev.std()) / groups ** 0.5
    assert float(fwd.mean()) < exact - 3 * sem_f
    assert float(rev.mean()) > exact + 3 * sem_r


@pytest.mark.parametrize("layer", ["visible", "hidden"])
@pytest.mark.parametrize("gaussian", [False, True])
def test_both_converge_to_exact_as_betas_grow(gaussian, layer):
    """The sandwich closes: over 500 estimators of 2 runs each, the gap between the reverse
    and the forward means shrinks at least twofold per tenfold more betas (it goes as
    1 / K), to under 0.1 nats at 1000 betas, and at every K the forward mean stays below
    log Z and the reverse mean above it, within 4 standard errors of the mean."""
    p = random_params(10, 8, seed=3, scale=0.7 if gaussian else 1.0, gaussian=gaussian)
    exact = exact_log_partition(p)
    gen = torch.Generator().manual_seed(7)
    groups, m = 500, 2
    gaps = []
    for n_betas in (10, 100, 1000):
        fwd = grouped_log_z(ais_log_partition(p, None, groups * m, n_betas, gen, layer), groups)
        rev = grouped_log_z(reverse_ais_log_partition(
            p, None, groups * m, n_betas, gen, layer, burn_in=200), groups)
        assert float(fwd.mean()) < exact + 4 * float(fwd.std()) / groups ** 0.5
        assert float(rev.mean()) > exact - 4 * float(rev.std()) / groups ** 0.5
        gaps.append(float(rev.mean() - fwd.mean()))
    g10, g100, g1000 = gaps
    assert g100 < g10 / 2 and g1000 < g100 / 2 and g1000 < 0.1


def test_reverse_refuses_bad_settings():
    p = random_params(6, 4, seed=0)
    with pytest.raises(GenlabError, match="2 runs"):
        reverse_ais_log_partition(p, n_runs=1, n_betas=10)
    with pytest.raises(GenlabError, match="burn_in"):
        reverse_ais_log_partition(p, n_runs=4, n_betas=10, burn_in=-1)
    with pytest.raises(GenlabError, match="shape"):
        reverse_ais_log_partition(p, n_runs=4, n_betas=10, start=torch.zeros(3, 6))


@pytest.fixture(scope="module")
def small_rbm():
    """A 10-hidden-unit RBM trained briefly on 12 binary features of a few prototypes."""
    torch.set_num_threads(1)
    rng = np.random.RandomState(0)
    protos = rng.rand(4, 12) < 0.5
    X = (protos[rng.randint(4, size=400)] ^ (rng.rand(400, 12) < 0.1)).astype(np.float32)
    return BernoulliRBM(10, learning_rate=0.05, batch_size=20, n_iter=10, random_state=0,
                        device="cpu").fit(X), X


@pytest.mark.parametrize("layer", ["visible", "hidden"])
def test_estimator_log_likelihood_bounds_sandwich_the_exact_value(small_rbm, layer):
    rbm, X = small_rbm
    exact = rbm.log_likelihood(X, log_z=rbm.exact_log_partition())
    b = rbm.log_likelihood_bounds(X, n_runs=100, n_betas=300, seed=0, layer=layer,
                                  burn_in=100)
    assert b.forward.layer == b.reverse.layer == layer and b.reverse.burn_in == 100
    assert b.upper == rbm.log_likelihood(X, log_z=b.forward.log_z)
    assert b.lower == rbm.log_likelihood(X, log_z=b.reverse.log_z)
    again = rbm.ais_log_partition(100, 300, seed=0, layer=layer)
    assert b.forward.log_z == again.log_z
    assert torch.equal(b.forward.log_weights, again.log_weights)
    assert (b.lower_std_err, b.upper_std_err) == (b.reverse.std_err, b.forward.std_err)
    assert b.lower - 4 * b.lower_std_err <= exact <= b.upper + 4 * b.upper_std_err
    assert b.lower <= b.upper + 4 * math.hypot(b.lower_std_err, b.upper_std_err)


def test_estimator_reverse_is_seeded_and_checked(small_rbm):
    rbm, _ = small_rbm
    a = rbm.reverse_ais_log_partition(20, 50, seed=3, burn_in=10)
    assert a.log_z == rbm.reverse_ais_log_partition(20, 50, seed=3, burn_in=10).log_z
    assert a.direction == "reverse" and a.n_runs == 20 and a.n_betas == 50
    with pytest.raises(GenlabError, match="burn_in"):
        rbm.reverse_ais_log_partition(20, 50, burn_in=-2)
    with pytest.raises(GenlabError, match="n_runs"):
        rbm.reverse_ais_log_partition(1, 50)


def test_gaussian_estimator_reverse_above_exact():
    rng = np.random.RandomState(0)
    X = (rng.randn(300, 6) @ rng.randn(6, 6) * 0.5).astype(np.float32)
    rbm = GaussianBernoulliRBM(8, learning_rate=0.01, n_iter=10, random_state=0,
                               device="cpu").fit(X)
    exact = rbm.exact_log_partition()
    rev = rbm.reverse_ais_log_partition(n_runs=100, n_betas=500, seed=1, burn_in=100)
    assert rev.log_z >= exact - 4 * rev.std_err
    assert abs(rev.log_z - exact) <= 0.5


@pytest.fixture(scope="module")
def saved_rbm(tmp_path_factory):
    """An 8-hidden-unit RBM trained on 300 binarised digits and saved."""
    torch.set_num_threads(1)
    path = tmp_path_factory.mktemp("rais") / "small"
    run_train("digits", path, hidden=8, epochs=2, limit=300, device="cpu")
    return path


def _eval_json(capsys, *args: object) -> dict:
    code = main(["rbm", "eval", *map(str, args), "--json", "--device", "cpu", "--threads", "1"])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


def test_eval_reports_the_sandwich(capsys, saved_rbm):
    """``genlab rbm eval --json`` carries both estimates with their errors; the lower is
    below the upper, and the exact log-likelihood lies between them, within 4 standard
    errors."""
    r = _eval_json(capsys, saved_rbm, "digits", "--ais-runs", "50", "--ais-betas", "500",
                   "--reverse-burn-in", "200")
    for key in ("log_z", "log_z_std_err", "log_likelihood", "reverse_log_z",
                "reverse_log_z_std_err", "reverse_log_z_low", "reverse_log_z_high",
                "reverse_log_likelihood", "reverse_seconds", "exact_log_likelihood"):
        assert isinstance(r[key], float), key
    assert r["reverse_burn_in"] == 200
    lower, se_lower = r["reverse_log_likelihood"], r["reverse_log_z_std_err"]
    upper, se_upper = r["log_likelihood"], r["log_z_std_err"]
    assert lower <= upper + 4 * math.hypot(se_lower, se_upper)
    assert lower - 4 * se_lower <= r["exact_log_likelihood"] <= upper + 4 * se_upper
    assert lower - r["exact_log_likelihood"] == pytest.approx(
        r["exact_log_z"] - r["reverse_log_z"], abs=1e-6)
    report = run_eval(saved_rbm, "digits", ais_runs=50, ais_betas=500, reverse_burn_in=200,
                      device="cpu")
    assert report.reverse_log_likelihood == lower and report.reverse_log_z == r["reverse_log_z"]
    model = load_rbm(saved_rbm, device="cpu")
    rev = model.reverse_ais_log_partition(50, 500, seed=0, burn_in=200)
    assert r["reverse_log_z"] == rev.log_z


def test_eval_without_reverse_keeps_the_forward_report(capsys, saved_rbm):
    args = (saved_rbm, "digits", "--ais-runs", "10", "--ais-betas", "100")
    both = _eval_json(capsys, *args, "--reverse-burn-in", "5")
    forward = _eval_json(capsys, *args, "--no-reverse-ais")
    assert not any(k.startswith("reverse_") for k in forward)
    assert {k: v for k, v in both.items()
            if not k.startswith("reverse_") and "seconds" not in k} == {
        k: v for k, v in forward.items() if "seconds" not in k}
    assert main(["rbm", "eval", str(saved_rbm), "digits", "--ais-runs", "10", "--ais-betas",
                 "100", "--reverse-burn-in", "5", "--device", "cpu"]) == 0
    text = capsys.readouterr().out
    assert "reverse AIS" in text and "between" in text
    assert main(["rbm", "eval", str(saved_rbm), "digits", "--reverse-burn-in", "-1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("genlab: error: ")


def test_eval_adds_raise_when_asked(capsys, saved_rbm):
    args = (saved_rbm, "digits", "--ais-runs", "10", "--ais-betas", "100", "--limit", "20",
            "--no-reverse-ais")
    assert not any(k.startswith("raise_") for k in _eval_json(capsys, *args))
    r = _eval_json(capsys, *args, "--raise-runs", "8", "--raise-betas", "200")
    assert (r["raise_runs"], r["raise_betas"]) == (8, 200) and r["raise_std_err"] > 0
    # the annealing model of 200 betas is close to this small RBM
    assert abs(r["raise_log_likelihood"] - r["exact_log_likelihood"]) <= (
        4 * r["raise_std_err"] + 0.1)
    report = run_eval(saved_rbm, "digits", ais_runs=10, ais_betas=100, limit=20,
                      reverse_ais=False, raise_runs=8, raise_betas=200, device="cpu")
    assert report.raise_log_likelihood == r["raise_log_likelihood"]
    assert main(["rbm", "eval", str(saved_rbm), "digits", "--raise-runs", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--raise-runs" in err[0]
