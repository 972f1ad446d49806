"""A model's two files are one unit, and nothing read from them is trusted.

* Crash consistency: a save interrupted at each of its file operations, then a load,
  gives the previous model or the new one, or a clear refusal; never a mixed model.
* Every loader checks the JSON (types, ranges, shapes implied by the config) and the
  tensors (dtype, shape, finiteness, ±1 patterns, symmetric couplings) before it
  builds anything.
* Property-based: generated corruptions of a saved model's JSON or weights load as a
  valid model or raise GenlabError, nothing else.
"""

import json
import os

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genlab.boltzmann.boltzmann import BoltzmannMachine
from genlab.errors import GenlabError
from genlab.hopfield import HopfieldNetwork
from genlab.hopfield.letters import letters
from genlab.hopfield.modern import ModernHopfield
from genlab.hopfield.network import load_hopfield
from genlab.io import (
    load_model,
    model_paths,
    previous_weights_path,
    read_header,
    save_model,
    weights_digest,
)
from genlab.latent import VAE, VAEConfig, load_latent_model
from genlab.latent.categorical_vae import CategoricalVAE, CategoricalVAEConfig
from genlab.rbm import BernoulliRBM
from genlab.rbm.base import load_rbm
from genlab.train import seeded_init


def _model(tag: float) -> tuple[dict, dict]:
    return {"w": torch.full((4, 3), tag), "b": torch.arange(3) + int(tag)}, {"tag": tag}


def _which(path) -> float | None:
    """The tag of the model ``load_model`` returns, checking weights and config agree."""
    tensors, config, _ = load_model(path, kind="toy")
    tag = config["tag"]
    assert torch.equal(tensors["w"], torch.full((4, 3), tag)), "weights of another save"
    assert torch.equal(tensors["b"], torch.arange(3) + int(tag))
    return tag


class Crash(Exception):
    """Stands for a kill at one file operation of a save."""


def _crash_at(monkeypatch, k: int) -> list[int]:
    """Make the k-th rename or link (counting from 0) of what follows raise ``Crash``."""
    calls = [0]
    real_replace, real_link = os.replace, os.link

    def counted(real):
        def op(*args, **kwargs):
            calls[0] += 1
            if calls[0] - 1 == k:
                raise Crash
            return real(*args, **kwargs)
        return op

    monkeypatch.setattr(os, "replace", counted(real_replace))
    monkeypatch.setattr(os, "link", counted(real_link))
    return calls


def test_a_save_interrupted_at_each_file_operation_loads_the_old_or_the_new_model(
        tmp_path, monkeypatch, capsys):
    outcomes = []
    for k in range(10):
        folder = tmp_path / f"k{k}"
        save_model(folder / "m", *_model(1.0)[:1], "toy", _model(1.0)[1])
        with monkeypatch.context() as m:
            calls = _crash_at(m, k)
            try:
                save_model(folder / "m", _model(2.0)[0], "toy", _model(2.0)[1])
                crashed = False
            except Crash:
                crashed = True
        outcomes.append(_which(folder / "m"))
        if not crashed:
            assert outcomes[-1] == 2.0 and not previous_weights_path(folder / "m").exists()
            break
    else:
        pytest.fail("the save never completed")
    # k = 0, 1: keeping the old weights (link, rename); 2: the weights' rename; 3: the
    # JSON's rename (the torn pair: the kept weights are loaded); 4: none, the save is done
    assert outcomes == [1.0, 1.0, 1.0, 1.0, 2.0], outcomes
    assert calls[0] == 4
    assert "did not finish; loaded the model saved before it" in capsys.readouterr().err
    # a later save over a torn pair finishes normally and removes the kept weights
    save_model(tmp_path / "k2" / "m", _model(3.0)[0], "toy", _model(3.0)[1])
    assert _which(tmp_path / "k2" / "m") == 3.0
    assert not previous_weights_path(tmp_path / "k2" / "m").exists()


def test_a_failed_temporary_write_leaves_the_old_model_and_no_stray_file(tmp_path, monkeypatch):
    save_model(tmp_path / "m", _model(1.0)[0], "toy", _model(1.0)[1])
    real = os.fsync
    calls = [0]

    def full_disk(fd):
        calls[0] += 1
        if calls[0] == 2:       # the JSON's temporary file
            raise OSError(28, "No space left on device")
        return real(fd)

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError):
        save_model(tmp_path / "m", _model(2.0)[0], "toy", _model(2.0)[1])
    monkeypatch.undo()
    assert _which(tmp_path / "m") == 1.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.safetensors"]


def test_two_saves_to_one_name_mixed_by_hand_are_refused(tmp_path):
    save_model(tmp_path / "a", _model(1.0)[0], "toy", _model(1.0)[1])
    save_model(tmp_path / "b", _model(2.0)[0], "toy", _model(2.0)[1])
    model_paths(tmp_path / "a")[0].write_bytes(model_paths(tmp_path / "b")[0].read_bytes())
    with pytest.raises(GenlabError, match="come from different saves"):
        load_model(tmp_path / "a")


def test_a_legacy_config_beside_newer_weights_is_refused(tmp_path):
    save_model(tmp_path / "m", _model(1.0)[0], "toy", _model(1.0)[1])
    jpath = model_paths(tmp_path / "m")[1]
    header = json.loads(jpath.read_text())
    header["format"] = "genlab-model/1"
    del header["weights_sha256"]
    jpath.write_text(json.dumps(header))
    with pytest.raises(GenlabError, match="older than"):
        load_model(tmp_path / "m")


@pytest.mark.parametrize("text, match", [
    ('{"format": "genlab-model/2", "kind": "toy", "config": [1, 2]}', "must be a JSON object"),
    ('{"format": "genlab-model/2", "kind": "toy", "config": "x"}', "must be a JSON object"),
    ('{"format": "genlab-model/2", "kind": "toy", "meta": 3}', "must be a JSON object"),
    ('{"format": "genlab-model/2", "kind": 7}', "which kind"),
    ('{"format": "genlab-model/2", "kind": "toy", "config": {"x": NaN}}', "not a JSON number"),
    ('{"format": "genlab-model/2", "kind": "toy", "config": {}}', "lacks the digest"),
    ('[1, 2, 3]', "not a genlab model config"),
    ('', "not a readable genlab model config"),
    ('\xff\xfe', "not a readable genlab model config"),
])
def test_a_damaged_config_is_refused_in_one_line(tmp_path, text, match):
    save_model(tmp_path / "m", _model(1.0)[0], "toy", _model(1.0)[1])
    model_paths(tmp_path / "m")[1].write_text(text, encoding="latin-1")
    with pytest.raises(GenlabError, match=match) as err:
        load_model(tmp_path / "m")
    assert "\n" not in str(err.value)


def test_tensors_must_be_finite_and_of_a_known_dtype(tmp_path):
    save_model(tmp_path / "nan", {"w": torch.tensor([1.0, float("nan")])}, "toy", {})
    with pytest.raises(GenlabError, match="'w' holds NaN"):
        load_model(tmp_path / "nan")
    assert load_model(tmp_path / "nan", nan_ok=("w",))[0]["w"].isnan().any()
    save_model(tmp_path / "inf", {"w": torch.tensor([float("inf")])}, "toy", {})
    with pytest.raises(GenlabError, match="NaN or infinite"):
        load_model(tmp_path / "inf", nan_ok=("w",))
    save_model(tmp_path / "c", {"w": torch.zeros(2, dtype=torch.complex64)}, "toy", {})
    with pytest.raises(GenlabError, match="dtype"):
        load_model(tmp_path / "c")


# ----- each model's loader ----------------------------------------------------------------

def _edit(path, config=None, tensors=None, meta=None) -> None:
    """Re-save ``path`` with some config values, tensors or meta changed: a self-consistent
    pair whose contents are wrong, so the loader's checks (not the digest) must catch it."""
    header = read_header(path)
    t, c, m = load_model(path, nan_ok=tuple(tensors or ()))
    c.update(config or {})
    t.update(tensors or {})
    m.update(meta or {})
    save_model(path, t, header["kind"], c, m)


@pytest.fixture
def saved(tmp_path):
    """One saved model of each kind: ``{name: (path, load)}``."""
    pats = letters("GRTV")
    out = {}
    HopfieldNetwork().fit(pats).save(tmp_path / "hop")
    out["hopfield"] = (tmp_path / "hop", load_hopfield)
    ModernHopfield(beta=2.0).fit(pats).save(tmp_path / "modern")
    out["modern"] = (tmp_path / "modern", load_hopfield)
    w = torch.randn(5, 5, generator=torch.Generator().manual_seed(0))
    w = (w + w.T) / 2
    w.fill_diagonal_(0)
    BoltzmannMachine(w, torch.zeros(5), 3, torch.ones(5, 5) - torch.eye(5)).save(tmp_path / "bm")
    out["bm"] = (tmp_path / "bm", BoltzmannMachine.load)
    x = (np.random.default_rng(0).random((40, 16)) > 0.5).astype(np.float32)
    BernoulliRBM(n_components=8, n_iter=1, random_state=0).fit(x).save(
        tmp_path / "rbm", {"binarize": "threshold", "image_shape": [4, 4]})
    out["rbm"] = (tmp_path / "rbm", load_rbm)
    with seeded_init(0):
        VAE(VAEConfig(image_shape=(4, 4), hidden=(8,), latent=2)).save(tmp_path / "vae")
        CategoricalVAE(CategoricalVAEConfig(image_shape=(4, 4), hidden=(8,), n_latent=2,
                                           n_categories=3)
                       ).save(tmp_path / "cat")
    out["vae"] = (tmp_path / "vae", lambda p: load_latent_model(p)[0])
    out["categorical"] = (tmp_path / "cat", lambda p: load_latent_model(p)[0])
    return out


def test_every_saved_model_loads(saved):
    for path, load in saved.values():
        assert load(path) is not None


@pytest.mark.parametrize("name, config, tensors, match", [
    ("hopfield", {"n_units": 26}, None, "says 26 units"),
    ("hopfield", {"eta": "0.1"}, None, "eta must be a finite number"),
    ("hopfield", {"eta": -1.0}, None, "eta must be > 0"),
    ("hopfield", {"rule": "magic"}, None, "rule must be one of"),
    ("hopfield", {"scale": None}, None, "scale must be a finite number"),
    ("hopfield", None, {"coupling": torch.triu(torch.ones(25, 25), 1)}, "symmetric"),
    ("hopfield", None, {"coupling": torch.ones(25, 25)}, "zero diagonal"),
    ("hopfield", None, {"patterns": torch.full((4, 25), 0.5)}, "only -1 and \\+1"),
    ("hopfield", None, {"patterns": torch.ones(4, 30)}, "do not fit"),
    ("hopfield", None, {"bias": torch.ones(3)}, "bias must be 25"),
    ("modern", {"beta": 0.0}, None, "beta must be > 0"),
    ("modern", {"beta": True}, None, "beta must be a finite number"),
    ("modern", None, {"patterns": torch.zeros(4, 25)}, "only -1 and \\+1"),
    ("modern", {"n_units": 30}, None, "do not match 30 units"),
    ("bm", {"n_visible": "3"}, None, "n_visible must be an integer"),
    ("bm", {"n_visible": 9}, None, "does not match"),
    ("bm", None, {"weights": torch.ones(5, 5)}, "symmetric|diagonal"),
    ("rbm", {"n_components": 16}, None, "n_components 16"),
    ("rbm", {"learning_rate": -1}, None, "invalid setting"),
    ("rbm", {"n_components": "8"}, None, "invalid setting"),
    ("rbm", None, {"components": torch.ones(8, 64)}, "do not fit together"),
    ("rbm", None, {"h_samples": torch.ones(3)}, "do not fit together"),
    ("vae", {"hidden": [15000, 15000]}, None, "do not match the config"),
    ("vae", {"hidden": [9]}, None, "has shape \\(8, 16\\) but the config implies \\(9, 16\\)"),
    ("vae", {"latent": "2"}, None, "latent must be an integer"),
    ("vae", {"latent": -2}, None, "latent dimension must be >= 1"),
    ("vae", {"image_shape": [4]}, None, "image_shape must have 2 values"),
    ("vae", {"kl_warmup": 7.0}, None, "kl_warmup"),
    ("vae", {"depth": 3}, None, "unknown fields"),
    ("vae", None, {"extra.weight": torch.ones(2)}, "unexpected extra.weight"),
])
def test_a_loader_refuses_what_does_not_fit(saved, name, config, tensors, match):
    path, load = saved[name]
    _edit(path, config, tensors)
    with pytest.raises(GenlabError, match=match) as err:
        load(path)
    assert "\n" not in str(err.value)


def test_nan_weights_of_a_vae_are_refused_but_an_unset_baseline_is_not(saved):
    path, load = saved["vae"]
    t, _, _ = load_model(path)
    name = next(k for k in t if k.endswith("weight"))
    _edit(path, tensors={name: torch.full_like(t[name], float("nan"))})
    with pytest.raises(GenlabError, match="NaN"):
        load(path)
    path, load = saved["categorical"]
    assert load(path).baseline.isnan()       # NaN until the first batch sets it


def test_a_huge_network_in_the_config_is_refused_before_it_is_built(saved, monkeypatch):
    path, load = saved["vae"]
    _edit(path, {"hidden": [15000, 15000]})
    built = []
    real = VAE.__init__

    def spy(self, config):
        built.append(torch.get_default_device())
        real(self, config)

    monkeypatch.setattr(VAE, "__init__", spy)
    with pytest.raises(GenlabError, match="do not match the config"):
        load(path)
    assert built and all(d.type == "meta" for d in built)   # only shapes, no memory


def test_rbm_meta_is_checked(saved):
    path, load = saved["rbm"]
    _edit(path, meta={"image_shape": "4x4"})
    with pytest.raises(GenlabError, match="image_shape must be a list"):
        load(path)


# ----- property-based: corruptions load or raise GenlabError --------------------------------


FUZZ = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def _load_or_refuse(load, path) -> None:
    try:
        load(path)
    except GenlabError as exc:
        assert "\n" not in str(exc)


@FUZZ
@given(name=st.sampled_from(["hopfield", "modern", "bm", "rbm", "vae", "categorical"]),
       data=st.data())
def test_generated_configs_load_or_raise_genlab_error(saved, json_values, name, data):
    path, load = saved[name]
    jpath = model_paths(path)[1]
    original = jpath.read_text()
    header = json.loads(original)
    section = data.draw(st.sampled_from(["config", "meta"]))
    keys = sorted(header[section]) + ["unknown"]
    key = data.draw(st.sampled_from(keys))
    header[section][key] = data.draw(json_values)
    jpath.write_text(json.dumps(header))
    try:
        _load_or_refuse(load, path)
    finally:
        jpath.write_text(original)


@FUZZ
@given(name=st.sampled_from(["hopfield", "modern", "bm", "rbm", "vae"]),
       cut=st.integers(min_value=0, max_value=2**16), flips=st.lists(
           st.tuples(st.integers(min_value=0, max_value=2**16), st.integers(1, 255)),
           max_size=4))
def test_generated_weight_files_load_or_raise_genlab_error(saved, name, cut, flips):
    path, load = saved[name]
    wpath, jpath = model_paths(path)
    original_w, original_j = wpath.read_bytes(), jpath.read_text()
    blob = bytearray(original_w[:cut % (len(original_w) + 1)])
    for pos, bits in flips:
        if blob:
            blob[pos % len(blob)] ^= bits
    header = json.loads(original_j)
    header["weights_sha256"] = weights_digest(bytes(blob))   # past the digest, to the parser
    wpath.write_bytes(bytes(blob))
    jpath.write_text(json.dumps(header))
    try:
        _load_or_refuse(load, path)
    finally:
        wpath.write_bytes(original_w)
        jpath.write_text(original_j)
