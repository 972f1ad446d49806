"""Every tensor path of genlab on an accelerator, checked against the same work on the CPU.

Run on a GPU machine with::

    GENLAB_TEST_DEVICE=cuda python -m pytest tests/test_device.py

``GENLAB_TEST_DEVICE`` names the torch device under test (``cuda``, ``cuda:1``, ``cpu``);
without it the file runs on CUDA when a GPU is present and is skipped otherwise, so CI on
CPU-only machines skips it. ``GENLAB_TEST_DEVICE=cpu`` runs it against the CPU itself,
which is how the file is kept working where no GPU exists.

What is compared, and how:

* Deterministic arithmetic is compared with the CPU result of the same inputs (the same
  weights moved with ``copy.deepcopy(model).to(DEVICE)``, the same patterns and cues).
  Sums of small integers (Hebbian couplings, ±1 states, energies, binary images times
  integer weights) are exact in floating point whatever the summation order, so those are
  asserted equal bit for bit; float32 and float64 results whose reductions run in another
  order on the device get the tolerance derived where they are compared.
* Random draws on the device come from a generator on the device, and CUDA's streams
  differ from the CPU's for the same seed, so samples are never compared element-wise:
  Gibbs chains, Gumbel-max draws and AIS weights are checked against exact answers with
  tolerances of a few standard errors, and training runs are checked to be finite and to
  write checkpoints that load on the CPU.
* The CLI groups that take ``--device`` each run one small command with ``--device
  DEVICE --json``.
"""

import copy
import json
import math
import os
from dataclasses import asdict, replace

import numpy as np
import pytest
import torch
from scipy import stats

from genlab.boltzmann.boltzmann import BoltzmannMachine
from genlab.boltzmann.diagnostics import pair_products, summarize
from genlab.boltzmann.exact import (
    exact_clamped_moments,
    exact_log_likelihood,
    exact_moments,
    state_index,
    state_log_probs,
)
from genlab.boltzmann.gibbs import sample
from genlab.boltzmann.learning import BMTrainConfig, fit_boltzmann
from genlab.boltzmann.meanfield import mean_field
from genlab.cli.main import main
from genlab.data import dsprites as ds
from genlab.data import load_dataset
from genlab.device import make_generator, native_bf16
from genlab.hopfield import HopfieldNetwork, ModernHopfield, load_hopfield
from genlab.hopfield.capacity import capacity_curve
from genlab.hopfield.letters import DEMO_LETTERS, OVERLOAD_LETTERS, flip_cues, half_cues, letters
from genlab.latent import (
    VAE,
    AEConfig,
    Autoencoder,
    BetaVAE,
    BetaVAEConfig,
    CategoricalVAE,
    CategoricalVAEConfig,
    VAEConfig,
    load_latent_model,
)
from genlab.latent.betavae import kl_per_latent
from genlab.latent.evaluate import evaluate_likelihood
from genlab.latent.gumbel import gumbel_max, gumbel_softmax, standard_gumbel
from genlab.latent.stacked import StackedBetaVAE
from genlab.latent.traverse import latent_traversal, traversal_figure
from genlab.latent.vae import bernoulli_log_prob
from genlab.metrics.dsprites_eval import SampleSizes, evaluate_dsprites
from genlab.metrics.ground_truth import codes_of, dsprites_code_function, sample_factors
from genlab.metrics.mig import discretize
from genlab.rbm import BernoulliRBM, GaussianBernoulliRBM, RBMParams, load_rbm
from genlab.rbm.energy import free_energy
from genlab.rbm.partition import ais_log_partition, exact_log_partition
from genlab.train import TrainConfig, fit, has_checkpoint, load_checkpoint_weights, seeded_init
from genlab.tsp import random_euclidean, solve, solve_hopfield_tank
from genlab.tsp.hopfield_tank import HopfieldTankConfig, ht_energy, ht_field

DEVICE = os.environ.get("GENLAB_TEST_DEVICE") or ("cuda" if torch.cuda.is_available() else None)
pytestmark = pytest.mark.skipif(DEVICE is None, reason="no accelerator: set GENLAB_TEST_DEVICE "
                                "(cuda, or cpu to run these checks on the CPU)")


@pytest.fixture(autouse=True)
def _ieee_float32_one_cpu_thread():
    """IEEE float32 products on the device, and one CPU thread for the references.

    CUDA convolutions use TF32 by default (a 10-bit mantissa: 1e-3 relative error per
    product), which would swamp the float32 comparisons below; the tests compare float32
    arithmetic, so TF32 is switched off for them. One CPU thread keeps the small CPU
    references fast on a shared machine and bit-reproducible.
    """
    cudnn, matmul = torch.backends.cudnn, torch.backends.cuda.matmul
    saved = (cudnn.conv.fp32_precision, cudnn.rnn.fp32_precision, matmul.fp32_precision,
             torch.get_num_threads())
    cudnn.conv.fp32_precision = cudnn.rnn.fp32_precision = matmul.fp32_precision = "ieee"
    torch.set_num_threads(1)
    yield
    (cudnn.conv.fp32_precision, cudnn.rnn.fp32_precision, matmul.fp32_precision,
     threads) = saved
    torch.set_num_threads(threads)


def on_device(t: torch.Tensor) -> bool:
    return t.device.type == torch.device(DEVICE).type


def assert_equal(dev: torch.Tensor, ref: torch.Tensor) -> None:
    """Bit-for-bit equality of a device result with its CPU reference (dtype, shape and
    values; NaN equals NaN, as in an unset REINFORCE baseline)."""
    torch.testing.assert_close(dev.detach().cpu(), ref.detach().cpu(), rtol=0, atol=0,
                               equal_nan=True)


def assert_close_f32(dev: torch.Tensor, ref: torch.Tensor) -> None:
    """A float32 network output on the device against the CPU's.

    Each output sums K products; another summation order changes it by about sqrt(K) u
    (random-walk rounding, u = 2^-24 = 6e-8) relative to the magnitude of the summed
    terms, at most K u. With K <= 4096 inputs per output and about ten layers in a row,
    the typical error is ~ 10 * 64 * 6e-8 = 4e-5 of the output scale; 1e-4 of the scale
    (and of the value) covers it. The scale is the largest |value|: outputs near 0 come
    from cancelling terms of that size, so their error is absolute, not relative.
    """
    ref = ref.detach().cpu()
    scale = float(ref.abs().max()) or 1.0
    torch.testing.assert_close(dev.detach().cpu(), ref, rtol=1e-4, atol=1e-4 * scale)


# ----- data: dSprites ------------------------------------------------------------------------

def render_mismatch_bound(n_pixels: int) -> int:
    """The most pixels a device may render differently from the CPU among ``n_pixels``.

    :func:`genlab.data.dsprites.render` does the same float32 operations everywhere; only
    ``cos`` and ``sin`` of the orientation may differ, by a few ulps (CUDA's sinf/cosf are
    within 2 ulps, the CPU's vectorised ones within 1). A pixel then flips only when its
    inside-test value lies within ~3 ulps (~4e-7) of the boundary value 1. About 80 of an
    image's 4096 pixels border the sprite, and the test value changes by ~0.1 from one
    pixel to the next across the boundary, so the flip probability is ~ 80/4096 * 4e-7 /
    0.1 = 8e-8 per pixel (scaling cos and sin by 1 +- 4 ulps on the CPU flipped no pixel
    of 33 million). At 1e-5 of the pixels the bound is over 100 times the expected count,
    a Poisson tail far below 1e-9.
    """
    return max(1, n_pixels // 100_000)


def test_dsprites_index_maps_on_device_are_exact():
    idx = torch.randint(ds.N_IMAGES, (4096,), generator=torch.Generator().manual_seed(0))
    f_cpu = ds.index_to_factors(idx)
    f_dev = ds.index_to_factors(idx.to(DEVICE))
    assert on_device(f_dev)
    assert_equal(f_dev, f_cpu)  # integer arithmetic
    assert_equal(ds.factors_to_index(f_dev), idx)
    assert_equal(ds.factor_values(f_dev), ds.factor_values(f_cpu))  # a float64 table lookup
    # factors drawn on the CPU (the generator stays there) and delivered on the device
    drawn = ds.sample_factors(64, torch.Generator().manual_seed(1), device=DEVICE)
    assert on_device(drawn)
    assert_equal(drawn, ds.sample_factors(64, torch.Generator().manual_seed(1)))


def test_dsprites_render_and_images_on_device_match_the_cpu():
    f = ds.sample_factors(256, torch.Generator().manual_seed(2))
    f[:32, 2] = 0  # orientation 0 (cos = 1, sin = 0 exactly) and 39 (2 pi) too
    f[32:64, 2] = 39
    ref = ds.render(f)
    out = ds.render(f, device=DEVICE)
    assert on_device(out) and out.shape == ref.shape and out.dtype == torch.float32
    assert int((out.cpu() != ref).sum()) <= render_mismatch_bound(ref.numel())
    # factors already on the device render there; images() is render() of the factors
    assert_equal(ds.render(f.to(DEVICE)), out)
    idx = ds.factors_to_index(f)
    assert_equal(ds.images(idx.to(DEVICE)), out)
    assert_equal(ds.images(idx, device=DEVICE), out)


def test_dsprites_data_renders_its_batches_on_the_training_device():
    # fit trains from data.on_device(device): the batches are made there, equal to the
    # CPU's up to the bound above, and the CPU copy of the data is left as it was
    rows = ds.split_indices("train")[:300]
    data = ds.DSpritesData(rows)
    index = torch.arange(0, 300, 3)
    x = data.draw(torch.Generator(), index)
    assert x.shape == (100, 4096) and x.device.type == "cpu"
    dev = data.on_device(DEVICE).draw(torch.Generator(), index)
    assert on_device(dev) and data.device.type == "cpu"
    assert int((dev.cpu() != x).sum()) <= render_mismatch_bound(x.numel())



def test_image_dataset_binarises_on_the_device_of_its_images():
    # Bernoulli binarisation draws with a generator on the images' device: .x is the same
    # {0, 1} matrix on every access, and its mean is within 5 binomial standard errors
    # (sd <= 0.5 / sqrt(n) for n independent pixels) of the intensities' mean
    data = load_dataset("digits", "train", binarize="bernoulli", limit=50)
    moved = data.on_device(DEVICE)
    x = moved.x
    assert on_device(x) and x.equal(moved.x) and bool(((x == 0) | (x == 1)).all())
    gap = float(x.double().mean() - data.images.double().mean())
    assert abs(gap) <= 5 * 0.5 / math.sqrt(x.numel())

# ----- Hopfield networks ----------------------------------------------------------------------

def assert_recall_equal(dev, ref) -> None:
    """Every field of two recall results (Recall or ModernRecall) equal bit for bit."""
    for name, value in asdict(ref).items():
        assert on_device(getattr(dev, name)), name
        assert_equal(getattr(dev, name), value)


def letter_cues() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The demo's cues: 3 flipped pixels per letter, then the letters' bottom halves unknown
    (0); and the known-unit mask (25,)."""
    pats = letters(DEMO_LETTERS)  # (4, 25) ±1
    flipped = flip_cues(pats, 3, torch.Generator().manual_seed(0))
    halves, known = half_cues(pats)
    return pats, torch.cat([flipped, halves]), known


@pytest.mark.parametrize("mode", ["async", "sync"])
def test_hopfield_hebbian_weights_and_letter_recall_equal_the_cpu(mode):
    # Hebbian couplings X^T X - P I are integers, and every activity and energy is a sum
    # of integers (times eta = 1/N at the end), so the device must agree bit for bit; the
    # asynchronous unit order comes from the same CPU generator on both.
    pats, cues, known = letter_cues()
    ref_net = HopfieldNetwork().fit(pats)
    net = HopfieldNetwork(device=DEVICE).fit(pats)
    assert on_device(net.coupling_)
    assert_equal(net.coupling_, ref_net.coupling_)
    assert_equal(net.weights, ref_net.weights)
    for kwargs in ({}, {"clamp": known}, {"record": "updates"}):
        ref = ref_net.recall(cues, mode=mode, generator=torch.Generator().manual_seed(1),
                             **kwargs)
        out = net.recall(cues, mode=mode, generator=torch.Generator().manual_seed(1), **kwargs)
        assert_recall_equal(out, ref)
    # the four letters come back exactly from 3 flipped pixels (the demo's claim)
    assert out.nearest[:4].tolist() == [0, 1, 2, 3] and bool((out.overlap[:4] == 1).all())
    # the overloaded memory of 12 letters (no pattern factorisation: 4 P >= N)
    big = letters(OVERLOAD_LETTERS)
    over = HopfieldNetwork(device=DEVICE).fit(big)
    ref = HopfieldNetwork().fit(big).recall(big, mode=mode,
                                            generator=torch.Generator().manual_seed(2))
    assert_recall_equal(over.recall(big, mode=mode, generator=torch.Generator().manual_seed(2)),
                        ref)
    assert_equal(over.stable(big), HopfieldNetwork().fit(big).stable(big))


def test_hopfield_inputs_already_on_the_device():
    # Patterns and cues that live on the device (the network's own patterns_, cues made
    # from them) must be accepted as they are: capacity_curve recalls net.patterns_, and
    # flip_cues returns cues on the patterns' device.
    pats, cues, _ = letter_cues()
    net = HopfieldNetwork(device=DEVICE).fit(pats.to(DEVICE))
    ref_net = HopfieldNetwork().fit(pats)
    assert_equal(net.coupling_, ref_net.coupling_)
    assert_recall_equal(net.recall(net.patterns_, generator=torch.Generator().manual_seed(3)),
                        ref_net.recall(pats, generator=torch.Generator().manual_seed(3)))
    dev_cues = flip_cues(net.patterns_, 3, torch.Generator().manual_seed(0))
    assert on_device(dev_cues)
    assert_recall_equal(net.recall(dev_cues, generator=torch.Generator().manual_seed(1)),
                        ref_net.recall(cues[:4], generator=torch.Generator().manual_seed(1)))
    # the capacity measurement: same CPU generator, integer arithmetic, the same numbers
    kwargs = {"n": 40, "rule": "hebbian", "alphas": [0.05, 0.1, 0.2], "trials": 2}
    ref = capacity_curve(**kwargs, generator=torch.Generator().manual_seed(0))
    res = capacity_curve(**kwargs, generator=torch.Generator().manual_seed(0), device=DEVICE)
    assert asdict(res) == asdict(ref)


def test_hopfield_storkey_and_pseudoinverse_weights_match_the_cpu():
    # float64 products of 16 patterns over 64 units in another order: relative error
    # ~ sqrt(64) * 1.1e-16 per product, 1e-12 of the weights' scale is far above it (the
    # pseudo-inverse's SVD is backward stable: error ~ cond(X) * 1e-16, cond(X) < 10 here)
    g = torch.Generator().manual_seed(4)
    pats = torch.randint(0, 2, (16, 64), generator=g).double() * 2 - 1
    for rule in ("storkey", "pseudoinverse"):
        ref = HopfieldNetwork(rule=rule, dtype="float64").fit(pats).weights
        w = HopfieldNetwork(rule=rule, dtype="float64", device=DEVICE).fit(pats).weights
        assert on_device(w)
        torch.testing.assert_close(w.cpu(), ref, rtol=0, atol=1e-12 * float(ref.abs().max()))


def test_modern_hopfield_recall_and_reload_on_device(tmp_path):
    # softmax(beta X^T xi) X in float32: the products are 25-term sums, within ~25 u of
    # the CPU's; exp amplifies by beta |X^T xi| <= 8 * 25, so the states agree within
    # 200 * 25 * 6e-8 = 3e-4 at worst. The sign of every unit (the recalled letter) is the
    # same wherever |state| exceeds that, which the check requires first.
    pats, cues, _ = letter_cues()
    ref_net = ModernHopfield(beta=8.0).fit(pats)
    net = ModernHopfield(beta=8.0, device=DEVICE).fit(pats)
    ref = ref_net.recall(cues)
    out = net.recall(cues.to(DEVICE))
    assert on_device(out.states)
    torch.testing.assert_close(out.states.cpu(), ref.states, rtol=0, atol=3e-4)
    assert bool((ref.states.abs() > 3e-4).all())
    assert_equal(out.nearest, ref.nearest)
    assert_equal(out.overlap, ref.overlap)
    net.save(tmp_path / "modern")
    back = load_hopfield(tmp_path / "modern", device=DEVICE)
    assert isinstance(back, ModernHopfield) and on_device(back.patterns_)
    assert_equal(back.patterns_, ref_net.patterns_)


# ----- Boltzmann machines -------------------------------------------------------------------

def random_machine(n: int, seed: int, scale: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric W (zero diagonal), w_ij ~ N(0, scale^2 / n), and b_i ~ N(0, 0.3^2), float64."""
    g = torch.Generator().manual_seed(seed)
    w = torch.triu(torch.randn(n, n, generator=g, dtype=torch.float64) * scale / n ** 0.5, 1)
    return w + w.T, torch.randn(n, generator=g, dtype=torch.float64) * 0.3


def assert_close_f64(dev: torch.Tensor | float, ref: torch.Tensor | float) -> None:
    """float64 sums over at most 2^12 states in another order: relative error at most
    4096 * 1.1e-16 = 5e-13; 1e-10 leaves a wide margin and still catches any real bug."""
    dev = dev.cpu() if isinstance(dev, torch.Tensor) else torch.tensor(dev, dtype=torch.float64)
    ref = ref.cpu() if isinstance(ref, torch.Tensor) else torch.tensor(ref, dtype=torch.float64)
    torch.testing.assert_close(dev, ref, rtol=1e-10, atol=1e-12)


def test_bm_exact_enumeration_on_device_equals_the_cpu():
    w, b = random_machine(12, seed=1)
    wd, bd = w.to(DEVICE), b.to(DEVICE)
    for beta in (0.5, 2.0):
        ref, out = exact_moments(w, b, beta), exact_moments(wd, bd, beta)
        assert on_device(out.mean) and on_device(out.corr)
        assert_close_f64(out.log_z, ref.log_z)
        assert_close_f64(out.mean, ref.mean)
        assert_close_f64(out.corr, ref.corr)
    assert_close_f64(state_log_probs(wd, bd), state_log_probs(w, b))
    # 9 visible + 3 hidden units: the likelihood of data and the clamped (data) moments
    data = torch.where(torch.rand(40, 9, generator=torch.Generator().manual_seed(2)) < 0.5,
                       -1.0, 1.0)
    assert_close_f64(exact_log_likelihood(wd, bd, data, 9), exact_log_likelihood(w, b, data, 9))
    ref, out = exact_clamped_moments(w, b, data, 9), exact_clamped_moments(wd, bd, data, 9)
    assert_close_f64(out.log_z, ref.log_z)
    assert_close_f64(out.mean, ref.mean)
    assert_close_f64(out.corr, ref.corr)
    x = data[:, :9].repeat(1, 2)[:, :12]
    machine = BoltzmannMachine(w, b, 9, torch.ones(12, 12) - torch.eye(12))
    assert_close_f64(machine.to(DEVICE).energy(x.double().to(DEVICE)), machine.energy(x.double()))
    # weak couplings (spectral radius ~ 2 * 0.3 < 1): the mean-field map is a contraction,
    # so every restart, whatever its random start, reaches the same fixed point to 1e-10
    # and the bound -F (stationary there) agrees to far better than 1e-8
    w, b = random_machine(10, seed=3, scale=0.3)
    ref, out = mean_field(w, b), mean_field(w.to(DEVICE), b.to(DEVICE))
    assert out.converged and abs(out.log_z_bound - ref.log_z_bound) < 1e-8


@pytest.mark.parametrize("order", ["fixed", "random"])
def test_bm_gibbs_on_device_matches_the_exact_moments(order):
    # As tests/boltzmann/test_bm_gibbs.py on the CPU: every sampled mean and pair correlation
    # within 5 MCSE of its exact value. 8 means + 28 correlations: a wrong failure needs a
    # 5-sigma deviation, probability < 36 * 5.7e-7 = 2e-5 if the MCSE is honest.
    n, beta = 8, 1.0
    w, b = random_machine(n, seed=10, scale=0.7)
    run = sample(w, b, beta, n_chains=32, n_samples=1000, burn_in=200,
                 generator=make_generator(10, DEVICE), order=order, device=DEVICE,
                 dtype=torch.float64)
    assert on_device(run.samples) and run.samples.shape == (1000, 32, n)
    ex = exact_moments(w, b, beta)
    s = summarize(run.samples)
    assert float(((s.mean.cpu() - ex.mean).abs() / s.mcse.cpu()).max()) < 5
    prods, (i, j) = pair_products(run.samples)
    sc = summarize(prods)
    assert float(((sc.mean.cpu() - ex.corr[i.cpu(), j.cpu()]).abs() / sc.mcse.cpu()).max()) < 5
    assert float(s.rhat.max()) < 1.05 and float(sc.rhat.max()) < 1.05
    # the energy trace is the energy of the final state
    last = run.state.cpu()
    e = -0.5 * ((last @ w) * last).sum(-1) - last @ b
    torch.testing.assert_close(run.energy_trace[-1].cpu(), e, rtol=1e-10, atol=1e-10)


def test_bm_gibbs_state_frequencies_on_device_chi_square():
    # 20,000 independent chains after 100 sweeps: independent draws of the 2^5 states. A
    # Pearson chi-square against the exact probabilities (states expected fewer than 5
    # times pooled) fails wrongly with probability 1e-4.
    n, chains, beta = 5, 20000, 1.0
    w, b = random_machine(n, seed=3)
    run = sample(w, b, beta, n_chains=chains, n_samples=1, burn_in=99,
                 generator=make_generator(1, DEVICE), device=DEVICE)
    counts = torch.bincount(state_index(run.samples[0]), minlength=1 << n).cpu().double()
    expected = chains * torch.exp(state_log_probs(w, b, beta))
    rare = expected < 5
    counts = torch.cat([counts[~rare], counts[rare].sum()[None]])
    expected = torch.cat([expected[~rare], expected[rare].sum()[None]])
    assert stats.chisquare(counts.numpy(), expected.numpy()).pvalue > 1e-4


def test_bm_learning_on_device_saves_a_machine_the_cpu_loads(tmp_path):
    rows = torch.where(torch.rand(200, 5, generator=torch.Generator().manual_seed(1)) < 0.3,
                       -1.0, 1.0)
    cfg = BMTrainConfig(n_hidden=1, epochs=3, batch_size=50, n_chains=50)
    res = fit_boltzmann(rows, cfg, make_generator(0, DEVICE), DEVICE)
    assert on_device(res.model.weights) and res.updates == 12
    lls = [h["log_likelihood"] for h in res.history]
    assert len(lls) == 4 and all(math.isfinite(v) for v in lls)
    # the log-likelihood it reports is the exact one of the machine it returns
    assert_close_f64(exact_log_likelihood(res.model.weights.cpu(), res.model.bias.cpu(), rows, 5),
                     lls[-1])
    res.model.save(tmp_path / "bm")
    back = BoltzmannMachine.load(tmp_path / "bm", device="cpu")
    assert back.weights.device.type == "cpu"
    assert_equal(back.weights, res.model.weights)


# ----- RBMs ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def digits_binary() -> np.ndarray:
    """300 binarised 8x8 digits, ``(300, 64)`` float64 of {0, 1}."""
    return load_dataset("digits", "train", binarize="threshold", limit=300).x.double().numpy()


def random_rbm(n_v: int, n_h: int, seed: int, gaussian: bool = False,
               dtype: torch.dtype = torch.float64) -> RBMParams:
    g = torch.Generator().manual_seed(seed)

    def r(*shape: int) -> torch.Tensor:
        return 0.7 * torch.randn(*shape, generator=g, dtype=dtype)

    log_var = 0.5 * torch.randn(n_v, generator=g, dtype=dtype) if gaussian else None
    return RBMParams(r(n_h, n_v), r(n_v), r(n_h), log_var)


def rbm_to(p: RBMParams, device: str) -> RBMParams:
    return RBMParams(*(None if t is None else t.to(device) for t in p))


def test_bernoulli_rbm_fits_digits_on_device(digits_binary, tmp_path):
    X = digits_binary
    rbm = BernoulliRBM(8, learning_rate=0.05, batch_size=20, n_iter=3, random_state=0,
                       momentum=0.5, device=DEVICE).fit(X)
    assert np.isfinite(rbm.components_).all() and np.isfinite(rbm.h_samples_).all()
    h = rbm.transform(X)
    assert h.shape == (300, 8) and ((h >= 0) & (h <= 1)).all()
    v = rbm.gibbs(X[:10])
    assert set(np.unique(v)) <= {0.0, 1.0}
    samples = rbm.sample(4, n_steps=5)
    assert samples.shape == (4, 64) and np.isfinite(samples).all()
    # the same fitted parameters evaluated on the CPU: float64 inference on both sides,
    # sums of 64 terms (transform, free energy) and of 2^8 states (log Z) in another
    # order, relative error below 1e-13; 1e-10 is asserted
    cpu = copy.deepcopy(rbm).set_params(device="cpu")
    np.testing.assert_allclose(h, cpu.transform(X), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(rbm.free_energy(X), cpu.free_energy(X), rtol=1e-10)
    log_z = rbm.exact_log_partition()
    assert log_z == pytest.approx(cpu.exact_log_partition(), rel=1e-10)
    ll = rbm.log_likelihood(X, log_z=log_z)
    assert 64 * math.log(0.5) < ll < 0
    # AIS on the device (a statistical estimate): within 5 of its standard errors of the
    # exact log Z, plus the delta-method's bias E[log w] - log E[w] ~ -var(w)/(2 M mean^2),
    # which is below 0.5 std_err^2
    ais = rbm.ais_log_partition(n_runs=100, n_betas=500, seed=0)
    assert abs(ais.log_z - log_z) <= 5 * ais.std_err + 0.5 * ais.std_err ** 2 + 1e-9
    rbm.save(tmp_path / "rbm")
    back = load_rbm(tmp_path / "rbm", device="cpu")
    np.testing.assert_array_equal(back.components_, rbm.components_)
    assert back.exact_log_partition() == pytest.approx(log_z, rel=1e-10)


def test_gaussian_rbm_fits_on_device():
    rng = np.random.RandomState(0)
    X = (rng.randn(200, 6) @ rng.randn(6, 6) * 0.5).astype(np.float32)
    rbm = GaussianBernoulliRBM(4, learning_rate=0.01, n_iter=3, random_state=0,
                               device=DEVICE).fit(X)
    assert np.isfinite(rbm.components_).all() and np.isfinite(rbm.log_variance_).all()
    cpu = copy.deepcopy(rbm).set_params(device="cpu")
    assert rbm.exact_log_partition() == pytest.approx(cpu.exact_log_partition(), rel=1e-10)
    # float32 inference (float32 input): 6-term sums, 1e-5 of the values is ~100 u
    np.testing.assert_allclose(rbm.free_energy(X), cpu.free_energy(X), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("gaussian", [False, True])
def test_rbm_partition_function_and_free_energy_on_device_equal_the_cpu(gaussian):
    for n_v, n_h in ((6, 4), (4, 7)):  # enumerates h, then (Bernoulli) v
        p = random_rbm(n_v, n_h, seed=n_v, gaussian=gaussian)
        pd = rbm_to(p, DEVICE)
        assert_close_f64(exact_log_partition(pd), exact_log_partition(p))
        v = torch.rand(50, n_v, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
        v = v if gaussian else (v < 0.5).double()
        out = free_energy(pd, v.to(DEVICE))
        assert on_device(out)
        assert_close_f64(out, free_energy(p, v))


@pytest.mark.parametrize("layer", ["visible", "hidden"])
def test_rbm_ais_weights_on_device_are_unbiased_for_z(layer):
    # As tests/rbm/test_rbm_partition.py on the CPU: E[w] = Z_B / Z_A for any schedule, so
    # with 5 betas the sample mean of w Z_A / Z_B lies within 5 standard errors of 1
    # (a wrong failure: probability 6e-7 under the normal approximation).
    p = rbm_to(random_rbm(6, 4, seed=11, dtype=torch.float32), DEVICE)
    exact = exact_log_partition(p)
    n = p.n_visible if layer == "visible" else p.n_hidden
    base = torch.linspace(-1.0, 1.0, n, device=DEVICE)
    res = ais_log_partition(p, base, n_runs=20000, n_betas=5,
                            generator=make_generator(3, DEVICE), layer=layer)
    w = torch.exp(res.log_weights + res.log_z_base - exact)
    se = float(w.std() / math.sqrt(len(w)))
    assert abs(float(w.mean()) - 1.0) < 5 * se


# ----- autoencoders and VAEs ------------------------------------------------------------------

def build(kind: str) -> torch.nn.Module:
    """A small model of ``kind``, initialised from a fixed seed on the CPU."""
    with seeded_init(0):
        if kind == "autoencoder":
            return Autoencoder(AEConfig(image_shape=(8, 8), hidden=(16,), latent=3))
        if kind == "vae":
            return VAE(VAEConfig(image_shape=(8, 8), hidden=(16,), latent=3))
        if kind == "vae-conv-gaussian":
            return VAE(VAEConfig(image_shape=(8, 8), arch="conv", channels=(4, 8), hidden=(16,),
                                 latent=3, likelihood="gaussian"))
        if kind == "betavae":
            return BetaVAE(BetaVAEConfig(latent=4, hidden=32))
        if kind == "categorical":
            return CategoricalVAE(CategoricalVAEConfig(image_shape=(8, 8), hidden=(16,),
                                                       n_latent=3, n_categories=4))
    raise AssertionError(kind)


KINDS = ["autoencoder", "vae", "vae-conv-gaussian", "betavae", "categorical"]


@pytest.fixture(scope="module")
def digits_images() -> torch.Tensor:
    """64 digits as ``(64, 64)`` float32 intensities in [0, 1] (8x8 images, flattened)."""
    return load_dataset("digits", limit=64).draw()


def images_for(kind: str, digits_images: torch.Tensor) -> torch.Tensor:
    if kind == "betavae":
        return ds.images(torch.as_tensor(ds.split_indices("train")[:32])).reshape(32, -1)
    return (digits_images[:32] > 0.5).float()


def fixed_codes(model: torch.nn.Module, n: int) -> torch.Tensor:
    """Codes to decode: Gaussian draws, or one-hot codes for the categorical VAE."""
    g = torch.Generator().manual_seed(5)
    if isinstance(model, CategoricalVAE):
        c = model.config
        index = torch.randint(c.n_categories, (n, c.n_latent), generator=g)
        return torch.nn.functional.one_hot(index, c.n_categories).float().flatten(-2)
    return torch.randn(n, model.latent_dim, generator=g)


@pytest.mark.parametrize("kind", KINDS)
def test_latent_model_deterministic_parts_on_device_match_the_cpu(kind, digits_images):
    ref = build(kind).eval()
    model = copy.deepcopy(ref).to(DEVICE)
    x = images_for(kind, digits_images)
    xd = x.to(DEVICE)
    z = fixed_codes(ref, len(x))
    zd = z.to(DEVICE)
    with torch.no_grad():
        code = model.encode(xd)
        assert on_device(code)
        assert_close_f32(code, ref.encode(x))
        assert_close_f32(model.decode_mean(zd), ref.decode_mean(z))
        assert_close_f32(model.reconstruct(xd), ref.reconstruct(x))
        if kind == "autoencoder":  # deterministic: no code noise, no corruption
            gen = make_generator(0, DEVICE)
            assert_close_f32(model.loss(xd, gen).loss, ref.loss(x, torch.Generator()).loss)
            return
        q, q_ref = model.posterior(xd), ref.posterior(x)
        assert_close_f32(q.kl_to_prior(), q_ref.kl_to_prior())  # the KL term of the ELBO
        assert_close_f32(q.log_prob(zd[None]), q_ref.log_prob(z[None]))
        assert_close_f32(model.decoder_log_prob(xd, zd[None]), ref.decoder_log_prob(x, z[None]))
        assert_close_f32(model.prior_log_prob(zd[None]), ref.prior_log_prob(z[None]))
        if kind == "betavae":
            assert_close_f32(kl_per_latent(model, xd), kl_per_latent(ref, x))
        # the stochastic loss on the device: finite, with the device's own generator
        model.train()
        if kind == "categorical":
            for estimator in ("gumbel", "straight-through", "reinforce"):
                model.config.estimator = estimator
                assert torch.isfinite(model.loss(xd, make_generator(1, DEVICE)).loss)
        else:
            assert torch.isfinite(model.loss(xd, make_generator(1, DEVICE)).loss)


def training_data(kind: str):
    if kind == "betavae":
        return ds.DSpritesData(ds.split_indices("train")[:64])
    return load_dataset("digits", binarize="bernoulli", limit=64)


@pytest.mark.parametrize("kind", KINDS)
def test_training_on_device_writes_checkpoints_the_cpu_loads(kind, tmp_path):
    # 64 images in batches of 16: 4 steps an epoch; stop after 3 (a checkpoint at each)
    data = training_data(kind)
    amp = native_bf16(DEVICE)
    cfg = TrainConfig(epochs=1, batch_size=16, lr=1e-3, max_steps=3, checkpoint_every=1,
                      log_every=1, amp=amp)
    model = copy.deepcopy(build(kind)).to(DEVICE)
    res = fit(model, data, cfg, run=tmp_path, device=DEVICE, quiet=True)
    assert res.steps == 3 and res.bfloat16 == amp
    losses = [h["loss"] for h in res.history if h["split"] == "train"]
    assert len(losses) == 3 and all(math.isfinite(v) for v in losses)
    assert has_checkpoint(tmp_path)
    # the checkpoint is device-portable: its weights load into a CPU model bit for bit
    cpu = load_checkpoint_weights(tmp_path, build(kind), device="cpu")
    for name, value in model.state_dict().items():
        assert_equal(value, cpu.state_dict()[name])
    # ... and the run resumes on the CPU (weights, optimiser state, loop state)
    resumed = fit(cpu, data, replace(cfg, max_steps=4, amp=False), run=tmp_path, resume=True,
                  device="cpu", quiet=True)
    assert resumed.resumed_from == 3 and resumed.steps == 4
    assert all(math.isfinite(v) for v in resumed.train_loss)
    # the saved model loads on the CPU and on the device
    model.save(tmp_path / "model")
    back, _ = load_latent_model(tmp_path / "model", device="cpu")
    for name, value in model.state_dict().items():
        assert_equal(value, back.state_dict()[name])
    again, _ = load_latent_model(tmp_path / "model", device=DEVICE)
    assert on_device(next(again.parameters()))


def test_stacked_betavaes_on_device_match_the_cpu_and_train(tmp_path):
    """Three beta-VAEs stacked (grouped convolutions, batched products) on the device: the
    loss and every gradient as on the CPU for the same noise (drawn on the CPU and moved,
    so both see the same eps), then a few bfloat16 training steps under fit whose models
    unstack on the device and score there."""
    cfgs = (BetaVAEConfig(beta=1.0), BetaVAEConfig(beta=4.0),
            BetaVAEConfig(capacity_max=25.0, capacity_steps=10, gamma=100.0))
    models = []
    for seed, cfg in enumerate(cfgs):
        with seeded_init(seed):
            models.append(BetaVAE(cfg))
    ref = StackedBetaVAE(models)
    stack = copy.deepcopy(ref).to(DEVICE)
    x = ds.DSpritesData().draw(index=torch.arange(0, 737_280, 737_280 // 12)[:12])
    eps = torch.randn((3, 4, 10), generator=torch.Generator().manual_seed(0))

    def loss_with(model, xs, e):  # the stack's loss with a given eps, every model at beta 4
        mu, logvar = model.posterior_moments(model.split_batch(xs))
        z = mu + torch.exp(0.5 * logvar) * e
        recon = -bernoulli_log_prob(model.split_batch(xs), model.decoder(z)).mean(1)
        kl = (0.5 * (mu ** 2 + logvar.exp() - 1.0 - logvar).sum(-1)).mean(1)
        return recon + 4.0 * kl

    for model, xs, e in ((ref, x, eps), (stack, x.to(DEVICE), eps.to(DEVICE))):
        model.zero_grad()
        loss_with(model, xs, e).sum().backward()
    assert_close_f32(loss_with(stack, x.to(DEVICE), eps.to(DEVICE)).detach(),
                     loss_with(ref, x, eps).detach())
    for (name, p), q in zip(stack.named_parameters(), ref.parameters(), strict=True):
        assert on_device(p.grad), name
        assert_close_f32(p.grad, q.grad)
    data = ds.DSpritesData(ds.split_indices("train")[:96])
    amp = native_bf16(DEVICE)
    res = fit(stack, data, TrainConfig(epochs=1, batch_size=24, lr=1e-3, max_steps=3,
                                       log_every=1, amp=amp, max_seconds=600),
              run=tmp_path, device=DEVICE, quiet=True)
    assert res.steps == 3 and res.bfloat16 == amp
    assert all(math.isfinite(h["loss"]) for h in res.history if h["split"] == "train")
    for model in stack.unstack():
        assert on_device(next(model.parameters()))
        assert torch.isfinite(model.encode(x.to(DEVICE))).all()


def test_vae_likelihood_on_device_agrees_with_the_cpu(digits_images):
    # Two Monte Carlo estimates on the same 64 images: their difference has standard
    # deviation sqrt(2 var_MC / n), below sqrt(se_1^2 + se_2^2), whose squares also hold
    # the variance across images; 5 of those fails wrongly with probability < 6e-7.
    ref = build("vae").eval()
    model = copy.deepcopy(ref).to(DEVICE)
    x = (digits_images > 0.5).float()
    a = evaluate_likelihood(ref, x, 20, torch.Generator().manual_seed(0))
    b = evaluate_likelihood(model, x.to(DEVICE), 20, make_generator(0, DEVICE))
    assert math.isfinite(b.elbo) and math.isfinite(b.nll_iw) and b.n == 64
    assert abs(a.elbo - b.elbo) < 5 * math.hypot(a.elbo_se, b.elbo_se)
    assert abs(a.nll_iw - b.nll_iw) < 5 * math.hypot(a.nll_iw_se, b.nll_iw_se)


# ----- disentanglement metrics and traversals --------------------------------------------------

SIZES = SampleSizes(batch_size=8, betavae_train=40, betavae_eval=20, factorvae_train=40,
                    factorvae_eval=20, n_variance=100, mig_samples=300)


def scores(result: dict) -> dict:
    """An evaluate_dsprites result without its timings."""
    return {k: {kk: vv for kk, vv in v.items() if kk != "seconds"} if isinstance(v, dict) else v
            for k, v in result.items()}


def test_dsprites_scores_of_an_exact_code_on_device_equal_the_cpu():
    # An integer read-out of the binary images, z = x W / 256 with w in {-3..3}: every code
    # is a sum of at most 4096 small integers, exact in float32 in any order, times a power
    # of two (exact too; it keeps the codes of order 1 for the logistic classifier), so the
    # device must give the codes, hence the scores, bit for bit. The reference encodes the
    # same (device-rendered) images on the CPU; rendering is checked on its own above.
    w = torch.randint(-3, 4, (4096, 5), generator=torch.Generator().manual_seed(0)).float()
    wd = w.to(DEVICE)

    def encode(x: torch.Tensor) -> torch.Tensor:
        assert on_device(x)
        return (x @ wd) * 2.0 ** -8

    out = evaluate_dsprites(encode, DEVICE, seed=1, sizes=SIZES).to_dict()
    ref = evaluate_dsprites(lambda x: (x.cpu() @ w) * 2.0 ** -8, DEVICE, seed=1,
                            sizes=SIZES).to_dict()
    assert scores(out) == scores(ref)


def mig_flip_bound(n: int, n_flips: int, entropy: list[float]) -> float:
    """How far ``n_flips`` codes moved to a neighbouring bin can move the MIG of ``n`` codes.

    A moved code changes two counts of the code's histogram and two of its joint histogram
    with each factor by one; each count change moves a plug-in entropy by at most
    (log n + 1) / n, so each I(z_j; v_k) moves by at most 4 (log n + 1) / n, each factor's
    gap by as much, and the MIG (mean of gap / H_k) by at most that over min H_k.
    """
    return n_flips * 4 * (math.log(n) + 1) / n / min(entropy)


def test_dsprites_scores_of_a_betavae_on_device_match_the_cpu():
    # The beta-VAE's codes on the device differ from the CPU's by float32 rounding
    # (assert_close_f32). The scores are made of discrete decisions, which change only
    # where a code lies within that rounding of a decision boundary:
    # * MIG: the bin of each of the 300 x 4 code values. The flips are counted directly
    #   (same factors, same bins) and bound the change of the MIG (mig_flip_bound).
    # * FactorVAE / BetaVAE: the argmin dimension, resp. the logistic classifier's class,
    #   of each vote. A relative code change of 1e-5 flips a vote only when two variances
    #   or two class scores are that close: probability ~1e-5 per vote, ~1e-3 for the
    #   classifier's class (lbfgs stops at its 1e-4 tolerance, so the refitted weights may
    #   move by that much). A flipped training vote changes FactorVAE's majority classifier
    #   only at a tie in its vote counts. With 20 evaluation votes the expected number of
    #   changed votes is ~0.02, so one changed vote, 1/20 of the score, bounds the change
    #   except with probability ~2e-4 (Poisson: P(N >= 2) ~ 0.02^2 / 2).
    # The codes are scaled by 100 so that FactorVAE's fixed collapse threshold (sd 0.05)
    # leaves the untrained model's small code variations active; the relative rounding,
    # and so every argument above, is unchanged.
    ref = build("betavae").eval()
    model = copy.deepcopy(ref).to(DEVICE)

    def encode(x: torch.Tensor) -> torch.Tensor:
        assert on_device(x)
        return 100 * model.encode(x)

    def encode_ref(x: torch.Tensor) -> torch.Tensor:
        return 100 * ref.encode(x.cpu())

    out = evaluate_dsprites(encode, DEVICE, seed=2, sizes=SIZES).to_dict()
    res = evaluate_dsprites(encode_ref, DEVICE, seed=2, sizes=SIZES).to_dict()
    factors = sample_factors(SIZES.mig_samples, ds.FACTOR_SIZES, torch.Generator().manual_seed(2))
    z = codes_of(dsprites_code_function(encode, DEVICE), factors)
    z_ref = codes_of(dsprites_code_function(encode_ref, DEVICE), factors)
    assert_close_f32(z, z_ref)
    flips = int((discretize(z.numpy(), 20) != discretize(z_ref.numpy(), 20)).sum())
    bound = mig_flip_bound(SIZES.mig_samples, flips, res["mig"]["entropy"])
    assert abs(out["mig"]["score"] - res["mig"]["score"]) <= bound + 1e-12
    for name, n_eval in (("factorvae", SIZES.factorvae_eval), ("betavae", SIZES.betavae_eval)):
        assert abs(out[name]["score"] - res[name]["score"]) <= 1 / n_eval + 1e-12, name
    assert out["factorvae"]["active_dims"]  # the scaled codes are not all collapsed


def test_latent_traversal_on_device(tmp_path):
    ref = build("betavae").eval()
    model = copy.deepcopy(ref).to(DEVICE)
    x = ds.images(torch.as_tensor(ds.split_indices("test")[:16])).reshape(16, -1)
    kl = kl_per_latent(ref, x)
    assert_close_f32(kl_per_latent(model, x.to(DEVICE)), kl)
    out = latent_traversal(model, x[0].to(DEVICE), kl, steps=5)
    trav = latent_traversal(ref, x[0], kl, steps=5)
    assert out.order == trav.order and out.values == trav.values
    assert out.images.shape == (4, 5, 64, 64) and out.images.device.type == "cpu"
    assert_close_f32(out.images, trav.images)
    fig = traversal_figure(model, x.to(DEVICE), tmp_path / "traverse.png", steps=3)
    assert fig.images.shape == (4, 3, 64, 64)
    assert (tmp_path / "traverse.png").read_bytes()[:4] == b"\x89PNG"


# ----- Gumbel-max and Gumbel-softmax ----------------------------------------------------------

def binomial_band(p: torch.Tensor, n: int) -> torch.Tensor:
    """5 standard errors sqrt(p (1 - p) / n) of a frequency: with K categories a wrong
    failure has probability below K * 5.7e-7."""
    return 5 * torch.sqrt(p * (1 - p) / n) + 1e-12


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.bfloat16])
def test_gumbel_max_frequencies_on_device_match_softmax(dtype):
    n = 200_000
    logits = torch.tensor([2.0, -1.0, 0.5, -math.inf, 0.0], dtype=dtype)
    probs = torch.softmax(logits.double(), 0)
    z = gumbel_max(logits.to(DEVICE).expand(n, -1), make_generator(0, DEVICE))
    assert on_device(z) and z.dtype == torch.int64
    freq = torch.bincount(z.cpu(), minlength=5).double() / n
    assert freq[3] == 0  # impossible category
    assert bool(((freq - probs).abs() <= binomial_band(probs, n)).all())


def test_gumbel_softmax_on_device():
    n, tau = 100_000, 0.5
    logits = torch.tensor([1.0, 2.0, 0.0, -0.5], device=DEVICE)
    probs = torch.softmax(logits.double().cpu(), 0)
    y = gumbel_softmax(logits.expand(n, -1), tau, generator=make_generator(1, DEVICE))
    assert on_device(y) and bool(torch.isfinite(y).all())
    # every sample on the simplex: float32 sums of 4 terms, within 4 u of 1
    assert float((y.sum(-1) - 1).abs().max()) < 1e-6
    # its argmax has the categorical law, and is the Gumbel-max draw of the same noise
    freq = torch.bincount(y.argmax(-1).cpu(), minlength=4).double() / n
    assert bool(((freq - probs).abs() <= binomial_band(probs, n)).all())
    # in float64 (where rounding cannot tie two categories: that needs a gap below 1e-16)
    # the argmax is exactly the Gumbel-max draw made from the same noise
    lg = logits.double().expand(n, -1)
    y64 = gumbel_softmax(lg, tau, generator=make_generator(4, DEVICE))
    assert_equal(y64.argmax(-1), gumbel_max(lg, make_generator(4, DEVICE)))
    hard = gumbel_softmax(logits.expand(1000, -1), tau, hard=True,
                          generator=make_generator(2, DEVICE))
    assert bool(((hard == 0) | (hard == 1)).all()) and bool((hard.sum(-1) == 1).all())
    # standard Gumbel noise: mean gamma_E, sd pi / sqrt(6); 5 standard errors of the mean
    g = standard_gumbel((n,), make_generator(3, DEVICE), DEVICE, torch.float64)
    assert on_device(g) and bool(torch.isfinite(g).all())
    assert abs(float(g.mean()) - 0.5772156649015329) < 5 * math.pi / math.sqrt(6 * n)


# ----- TSP on the Hopfield-Tank network -------------------------------------------------------

def test_hopfield_tank_field_and_energy_on_device_equal_the_cpu():
    # float64 sums of at most 8 * 8 terms of size ~1e3: relative error ~1e-14
    cfg = HopfieldTankConfig()
    d = torch.as_tensor(random_euclidean(8, 0).dist)
    V = torch.rand((3, 8, 8), dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    dd, Vd = d.to(DEVICE), V.to(DEVICE)
    torch.testing.assert_close(ht_field(Vd, dd, cfg).cpu(), ht_field(V, d, cfg), rtol=1e-12,
                               atol=1e-9)
    torch.testing.assert_close(ht_energy(Vd, None, dd, cfg).cpu(), ht_energy(V, None, d, cfg),
                               rtol=1e-12, atol=1e-9)


def test_tsp_solvers_on_device_give_valid_tours():
    inst = random_euclidean(8, 3)
    res = solve_hopfield_tank(inst.dist, restarts=8, seed=0, device=DEVICE,
                              config=HopfieldTankConfig(max_steps=1500, record_every=5))
    assert sorted(res.tour.tolist()) == list(range(8))  # each city once
    assert res.valid.shape == (8,) and np.isfinite(res.lengths).all()
    assert res.length == pytest.approx(float(np.min(res.lengths[res.valid]))
                                       if res.valid.any() else float(np.min(res.lengths)))
    # the Lyapunov energy never increases (float64 rounding of ~1e4-sized sums aside)
    e = res.energy
    assert np.all(np.diff(e) <= 1e-9 * np.abs(e[:-1]).max()) and e[-1] < e[0]
    for method in ("mean-field", "elastic-net"):
        out = solve(inst, method, restarts=2, seed=0, device=DEVICE)
        assert sorted(out.tour.tolist()) == list(range(8)), method


# ----- the command line ------------------------------------------------------------------------

def run_json(capsys, *args) -> dict:
    """Run ``genlab ARGS --device DEVICE --json`` in-process: exit 0, one JSON object."""
    code = main([*(str(a) for a in args), "--device", DEVICE, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, out
    obj = json.loads(lines[0])
    assert isinstance(obj, dict)
    return obj


def test_cli_hopfield(capsys, tmp_path):
    # (``hopfield demo`` runs in test_cli_tour.) Every rule, modern included, recalling the
    # patterns the networks hold on the device; --out "" skips the figure
    obj = run_json(capsys, "hopfield", "capacity", "--n", 24, "--rule", "all", "--alphas",
                   "0.05,0.1", "--out", "")
    assert set(obj["rules"]) == {"hebbian", "storkey", "pseudoinverse", "modern"}
    assert obj["figure"] is None
    np.save(tmp_path / "p.npy", letters(DEMO_LETTERS).numpy())
    np.save(tmp_path / "c.npy", letter_cues()[1].numpy())
    run_json(capsys, "hopfield", "store", tmp_path / "p.npy", "--rule", "modern", "--out",
             tmp_path / "net")
    obj = run_json(capsys, "hopfield", "recall", tmp_path / "net", tmp_path / "c.npy")
    assert [r["nearest"] for r in obj["results"][:4]] == [0, 1, 2, 3]


def test_cli_tsp(capsys):
    obj = run_json(capsys, "tsp", "solve", "random:8", "--method", "hopfield-tank",
                   "--restarts", 2)
    assert sorted(obj["tour"]) == list(range(8))


def test_cli_bm(capsys, tmp_path):
    w, b = random_machine(6, seed=0)
    np.save(tmp_path / "W.npy", w.numpy())
    np.save(tmp_path / "b.npy", b.numpy())
    obj = run_json(capsys, "bm", "sample", "--weights", tmp_path / "W.npy", "--bias",
                   tmp_path / "b.npy", "--chains", 4, "--samples", 20, "--burn-in", 5,
                   "--correlations")
    assert len(obj["mean"]) == 6 and len(obj["correlations"]) == 6
    rows = np.where(np.random.default_rng(1).random((100, 5)) < 0.3, -1, 1).astype(np.int8)
    np.save(tmp_path / "rows.npy", rows)
    obj = run_json(capsys, "bm", "train", tmp_path / "rows.npy", "--hidden", 1, "--epochs", 2,
                   "--batch-size", 50, "--out", tmp_path / "m")
    assert obj["updates"] == 4 and math.isfinite(obj["log_likelihood"])
    obj = run_json(capsys, "bm", "encoder", "--seeds", 1, "--epochs", 20)
    assert obj["seeds"] == 1


def test_cli_rbm(capsys, tmp_path):
    small = ["--hidden", 4, "--epochs", 1, "--limit", 100, "--threads", 1]
    obj = run_json(capsys, "rbm", "train", "digits", *small, "--out", tmp_path / "m")
    assert math.isfinite(obj["train_log_likelihood"])
    obj = run_json(capsys, "rbm", "eval", tmp_path / "m", "digits", "--limit", 50,
                   "--ais-runs", 10, "--ais-betas", 50, "--threads", 1)
    assert math.isfinite(obj["log_likelihood"]) and math.isfinite(obj["exact_log_likelihood"])
    obj = run_json(capsys, "rbm", "sample", tmp_path / "m", "--n", 4, "--steps", 5, "--out",
                   tmp_path / "s.png", "--threads", 1)
    assert obj["n"] == 4


def test_cli_ae(capsys, tmp_path):
    obj = run_json(capsys, "ae", "train", "digits", "--epochs", 1, "--limit", 64, "--hidden", 8,
                   "--latent", 2, "--corrupt", "mask:0.3", "--out", tmp_path / "ae")
    assert obj["steps"] == 1 and math.isfinite(obj["test_mse"])
    obj = run_json(capsys, "ae", "eval", tmp_path / "ae", "--n", 32)
    assert math.isfinite(obj["denoise_mse"])


def test_cli_vae(capsys, tmp_path):
    obj = run_json(capsys, "vae", "train", "digits", "--epochs", 1, "--limit", 64, "--hidden",
                   8, "--latent", 2, "--out", tmp_path / "vae")
    assert obj["steps"] == 1 and all(math.isfinite(v) for v in obj["train_loss"])
    obj = run_json(capsys, "vae", "eval", tmp_path / "vae", "--iw", 4, "--n", 16)
    assert math.isfinite(obj["nll_iw"])
    run_json(capsys, "vae", "sample", tmp_path / "vae", "--n", 4, "--out", tmp_path / "s.png")
    run_json(capsys, "vae", "manifold", tmp_path / "vae", "--grid", 3, "--out",
             tmp_path / "m.png", "--codes", tmp_path / "c.png", "--n", 16)
    obj = run_json(capsys, "vae", "train", "digits", "--latent-type", "categorical",
                   "--categories", "2x3", "--epochs", 1, "--limit", 64, "--hidden", 8,
                   "--out", tmp_path / "cat")
    assert obj["kind"] == "categorical_vae"


def test_cli_disentangle(capsys, tmp_path):
    run = tmp_path / "beta"
    obj = run_json(capsys, "disentangle", "train", "--steps", 1, "--batch-size", 4, "--limit",
                   16, "--latent", 2, "--checkpoint-every", 0, "--out", run)
    assert obj["steps"] == 1 and obj["bfloat16"] is native_bf16(DEVICE)
    obj = run_json(capsys, "disentangle", "eval", run, "--metrics", "mig", "--fraction", 0.001)
    assert 0.0 <= obj["mig"]["score"] <= 1.0
    obj = run_json(capsys, "disentangle", "axes", run, "--n", 20, "--min-sd", 0)
    assert obj["n_samples"] == 20
    obj = run_json(capsys, "vae", "traverse", run, "--steps", 3, "--n-kl", 8, "--out",
                   tmp_path / "t.png")
    assert sorted(obj["order"]) == [0, 1]


def test_cli_gumbel(capsys):
    n = 20_000
    obj = run_json(capsys, "gumbel", "sample", "--logits", "1,2,-inf,0", "--n", n)
    freq, probs = torch.tensor(obj["argmax_frequencies"]), torch.tensor(obj["probs"])
    assert bool(((freq - probs).abs() <= binomial_band(probs.double(), n)).all())


def test_cli_tour(capsys, tmp_path):
    obj = run_json(capsys, "tour", "--quick", "--only", "hopfield", "--out", tmp_path / "r")
    assert obj["steps"] == {"hopfield": "ok"} and not obj["failed"]
