"""Model files: safetensors + JSON, atomic, never unpickled, clear errors."""

import json
import os

import pytest
import torch

from genlab.errors import GenlabError
from genlab.io import (
    atomic_write_bytes,
    has_model,
    load_model,
    model_paths,
    open_model,
    save_model,
    to_jsonable,
    weights_digest,
)


def test_round_trip(tmp_path):
    t = {"w": torch.randn(3, 4), "b": torch.arange(5)}
    save_model(tmp_path / "m", t, "toy", {"n": 3}, {"loss": [1.0, 0.5]})
    w, cfg, meta = load_model(tmp_path / "m.safetensors", kind="toy")
    assert torch.equal(w["w"], t["w"]) and torch.equal(w["b"], t["b"])
    assert cfg == {"n": 3} and meta == {"loss": [1.0, 0.5]}
    assert model_paths(tmp_path / "m.json") == model_paths(tmp_path / "m")


def test_open_model_reads_the_config_now_and_the_weights_when_asked(tmp_path):
    save_model(tmp_path / "m", {"w": torch.ones(2)}, "toy", {"n": 3}, {"seed": 1})
    saved = open_model(tmp_path / "m", kind="toy")
    assert (saved.kind, saved.config, saved.meta) == ("toy", {"n": 3}, {"seed": 1})
    assert saved.where == str(tmp_path / "m.json")
    model_paths(tmp_path / "m")[0].write_bytes(b"changed")   # read only by tensors()
    with pytest.raises(GenlabError, match="come from different saves"):
        saved.tensors()
    with pytest.raises(GenlabError, match="not a 'rbm' model"):
        open_model(tmp_path / "m", kind="rbm")


def test_has_model_needs_both_files(tmp_path):
    assert not has_model(tmp_path / "m")
    save_model(tmp_path / "m", {"w": torch.zeros(2)}, "toy", {})
    assert has_model(tmp_path / "m") and has_model(tmp_path / "m.json")
    model_paths(tmp_path / "m")[0].unlink()             # weights gone: not a model
    assert not has_model(tmp_path / "m")


def test_atomic_write_leaves_old_file_when_interrupted(tmp_path, monkeypatch):
    path = tmp_path / "f.bin"
    atomic_write_bytes(path, b"old")

    def boom(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]  # no temp file left


def test_wrong_kind_missing_and_corrupt(tmp_path):
    save_model(tmp_path / "m", {"w": torch.zeros(2)}, "toy", {})
    with pytest.raises(GenlabError, match="not a 'rbm' model"):
        load_model(tmp_path / "m", kind="rbm")
    with pytest.raises(GenlabError, match="not found"):
        load_model(tmp_path / "other")
    (tmp_path / "m.safetensors").write_bytes(b"\x00" * 20)   # not the weights the JSON names
    with pytest.raises(GenlabError, match="come from different saves"):
        load_model(tmp_path / "m")
    header = json.loads((tmp_path / "m.json").read_text())
    header["weights_sha256"] = weights_digest(b"\x00" * 20)    # named, but not safetensors
    (tmp_path / "m.json").write_text(json.dumps(header))
    with pytest.raises(GenlabError, match="not a readable safetensors"):
        load_model(tmp_path / "m")
    (tmp_path / "m.json").write_text("{not json")
    with pytest.raises(GenlabError, match="not a readable genlab model config"):
        load_model(tmp_path / "m")
    (tmp_path / "m.json").write_text(json.dumps({"kind": "toy"}))
    with pytest.raises(GenlabError, match="format"):
        load_model(tmp_path / "m")


def test_to_jsonable_is_strict_json():
    out = to_jsonable({"a": torch.tensor(1.5), "b": float("nan"), "c": torch.ones(2)})
    assert out == {"a": 1.5, "b": None, "c": [1.0, 1.0]}
    json.dumps(out, allow_nan=False)
