"""The model registry: one ``genlab.load`` for every kind, the family loaders as thin
entries over it, ``NAME.json`` read once, and no model package imported until needed."""

import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

import genlab
import genlab.io
from genlab import registry
from genlab.boltzmann.boltzmann import BoltzmannMachine
from genlab.errors import GenlabError
from genlab.hopfield import HopfieldNetwork
from genlab.hopfield.letters import letters
from genlab.hopfield.modern import ModernHopfield
from genlab.hopfield.network import load_hopfield
from genlab.io import save_model
from genlab.latent import VAE, VAEConfig, load_latent_model
from genlab.rbm import BernoulliRBM, GaussianBernoulliRBM
from genlab.rbm.base import load_rbm
from genlab.train import seeded_init


@pytest.fixture
def saved(tmp_path):
    """One saved model of each family: ``{name: (path, class, family loader)}``."""
    pats = letters("GRTV")
    HopfieldNetwork().fit(pats).save(tmp_path / "hop")
    ModernHopfield(beta=2.0).fit(pats).save(tmp_path / "modern")
    w = torch.randn(5, 5, generator=torch.Generator().manual_seed(0))
    w = (w + w.T) / 2
    w.fill_diagonal_(0)
    BoltzmannMachine(w, torch.zeros(5), 3, torch.ones(5, 5) - torch.eye(5)).save(tmp_path / "bm")
    x = (np.random.default_rng(0).random((40, 16)) > 0.5).astype(np.float32)
    BernoulliRBM(n_components=8, n_iter=1, random_state=0).fit(x).save(tmp_path / "rbm")
    GaussianBernoulliRBM(n_components=4, n_iter=1, random_state=0).fit(x).save(tmp_path / "grbm")
    with seeded_init(0):
        VAE(VAEConfig(image_shape=(4, 4), hidden=(8,), latent=2)).save(tmp_path / "vae")
    return {
        "hopfield": (tmp_path / "hop", HopfieldNetwork, load_hopfield),
        "modern": (tmp_path / "modern", ModernHopfield, load_hopfield),
        "bm": (tmp_path / "bm", BoltzmannMachine, BoltzmannMachine.load),
        "rbm": (tmp_path / "rbm", BernoulliRBM, load_rbm),
        "grbm": (tmp_path / "grbm", GaussianBernoulliRBM, load_rbm),
        "vae": (tmp_path / "vae", VAE, lambda p: load_latent_model(p)[0]),
    }


def test_genlab_load_rebuilds_every_family(saved):
    for path, cls, load in saved.values():
        model = genlab.load(path)
        assert type(model) is cls
        assert type(load(path)) is cls


def test_every_registered_builder_resolves():
    for kind in registry.kinds():
        entry = registry._KINDS[kind]
        module, _, attr = entry.builder.partition(":")
        fn = __import__(module, fromlist=["_"])
        for part in attr.split("."):
            fn = getattr(fn, part)
        assert callable(fn), kind
    assert {"hopfield", "boltzmann-machine", "rbm.BernoulliRBM", "rbm.GaussianBernoulliRBM",
            "autoencoder", "vae", "betavae", "categorical_vae"} <= set(registry.kinds())


def test_each_loader_reads_name_json_once(saved, monkeypatch):
    reads: list[Path] = []
    read_json = genlab.io.read_json

    def counting(path, *args, **kwargs):
        reads.append(path)
        return read_json(path, *args, **kwargs)

    monkeypatch.setattr(genlab.io, "read_json", counting)
    for name, (path, _, load) in saved.items():
        for loader in (load, genlab.load):
            reads.clear()
            loader(path)
            assert len(reads) == 1, f"{name}: NAME.json read {len(reads)} times"


@pytest.mark.parametrize("name, loader, match", [
    ("rbm", load_hopfield, "'rbm.BernoulliRBM' model, not a Hopfield network"),
    ("hopfield", load_rbm, "'hopfield' model, not an RBM; give a model saved by 'genlab rbm"),
    ("vae", BoltzmannMachine.load, "'vae' model, not a 'boltzmann-machine' model"),
    ("bm", lambda p: load_latent_model(p), "not an autoencoder or VAE"),
])
def test_a_family_loader_refuses_another_family(saved, name, loader, match):
    with pytest.raises(GenlabError, match=match):
        loader(saved[name][0])


def test_a_kind_no_one_registered_is_refused(tmp_path):
    save_model(tmp_path / "toy", {"w": torch.ones(2)}, "toy", {})
    with pytest.raises(GenlabError, match="'toy' model, which genlab cannot load .*known kinds: "
                                          ".*hopfield"):
        genlab.load(tmp_path / "toy")
    with pytest.raises(GenlabError, match="not a 'vae' model"):
        registry.load(tmp_path / "toy", kind="vae")


def test_a_package_registers_a_kind_of_its_own(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "_KINDS", dict(registry._KINDS))
    module = types.ModuleType("genlab_extra_models")
    module.build = lambda saved, device: ("built", saved.config["n"], saved.tensors()["w"].sum())
    monkeypatch.setitem(sys.modules, "genlab_extra_models", module)
    registry.register("toy", "latent", "genlab_extra_models:build")
    save_model(tmp_path / "toy", {"w": torch.ones(3)}, "toy", {"n": 7})
    assert genlab.load(tmp_path / "toy") == ("built", 7, torch.tensor(3.0))
    with pytest.raises(ValueError, match="unknown model family"):
        registry.register("toy", "spaceship", "genlab_extra_models:build")
    with pytest.raises(ValueError, match="module:attribute"):
        registry.register("toy", "latent", "genlab_extra_models.build")


def test_the_registry_imports_no_model_package():
    code = ("import sys, genlab, genlab.registry\n"
            "models = ('hopfield', 'tsp', 'energy', 'boltzmann', 'rbm', 'latent', 'metrics')\n"
            "print(sorted(m for m in sys.modules if m.split('.')[:2][-1] in models "
            "and m.startswith('genlab.')))\n")
    src = Path(genlab.__file__).parents[1]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"})
    assert out.stdout.strip() == "[]"
