"""Loaders: documented shapes, dtypes, ranges, counts, splits and binarisation laws."""

import math

import numpy as np
import pytest
import torch

from genlab.data import fashion_mnist_dir, list_datasets, load_dataset, write_idx
from genlab.errors import GenlabError

needs_fashion = pytest.mark.skipif(fashion_mnist_dir() is None,
                                   reason="Fashion-MNIST not installed")


@pytest.mark.parametrize("split,count", [("train", 1497), ("test", 300), ("all", 1797)])
def test_digits(split, count):
    d = load_dataset("digits", split=split)
    assert len(d) == count and d.image_shape == (8, 8) and d.dim == 64
    assert d.images.dtype == torch.float32 and d.labels.dtype == torch.int64
    assert float(d.images.min()) == 0.0 and float(d.images.max()) == 1.0
    assert set(d.labels.tolist()) == set(range(10))


def test_mnist5k_split_is_fixed_stratified_and_disjoint():
    tr, te = load_dataset("mnist5k", "train"), load_dataset("mnist5k", "test")
    assert (len(tr), len(te)) == (4000, 1000)
    assert tr.image_shape == (28, 28)
    assert torch.bincount(tr.labels).tolist() == [400] * 10
    assert torch.bincount(te.labels).tolist() == [100] * 10
    # the split is shuffled: the first 100 training images are not one class
    assert len(set(tr.labels[:100].tolist())) == 10
    # disjoint: no test image equals a training image row-for-row at the same hash
    h_tr = {hash(x.numpy().tobytes()) for x in tr.images}
    assert sum(hash(x.numpy().tobytes()) in h_tr for x in te.images) <= 5  # MNIST has few dups
    again = load_dataset("mnist5k", "train", limit=10)
    assert torch.equal(again.images, tr.images[:10])
    assert 0.0 <= float(tr.images.min()) and float(tr.images.max()) <= 1.0


@needs_fashion
def test_fashion_mnist_counts():
    te = load_dataset("fashion-mnist", "test")
    assert len(te) == 10000 and te.image_shape == (28, 28)
    assert torch.bincount(te.labels).tolist() == [1000] * 10
    tr = load_dataset("fashion-mnist", "train", limit=123)
    assert len(tr) == 123


def test_fashion_mnist_missing_gives_install_hint(tmp_path, monkeypatch):
    import genlab.data.datasets as ds

    monkeypatch.setattr(ds, "FASHION_SYSTEM_DIR", tmp_path / "nowhere")
    monkeypatch.delenv("GENLAB_DATA", raising=False)
    with pytest.raises(GenlabError, match="apt-get install dataset-fashion-mnist"):
        load_dataset("fashion-mnist")
    row = next(r for r in list_datasets() if r["name"] == "fashion-mnist")
    assert row["available"] is False and "apt-get" in row["how_to_install"]


def test_fashion_mnist_from_data_dir(tmp_path, monkeypatch):
    import genlab.data.datasets as ds

    monkeypatch.setattr(ds, "FASHION_SYSTEM_DIR", tmp_path / "nowhere")
    rng = np.random.default_rng(0)
    folder = tmp_path / "fashion-mnist"
    for part, n in (("train", 12), ("t10k", 6)):
        write_idx(folder / f"{part}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28),
                                                                         dtype=np.uint8))
        write_idx(folder / f"{part}-labels-idx1-ubyte.gz", rng.integers(0, 10, n, dtype=np.uint8))
    monkeypatch.setenv("GENLAB_DATA", str(tmp_path))
    assert len(load_dataset("fashion-mnist", "all")) == 18
    monkeypatch.delenv("GENLAB_DATA")
    assert len(load_dataset("fashion-mnist", "test", data_dir=folder)) == 6


def test_threshold_is_deterministic_and_exact():
    d = load_dataset("digits", limit=50, binarize="threshold")
    a, b = d.draw(torch.Generator().manual_seed(1)), d.draw(torch.Generator().manual_seed(2))
    assert torch.equal(a, b)
    assert torch.equal(a, (d.images.reshape(50, -1) > 0.5).float())


def test_bernoulli_has_the_right_mean_and_is_redrawn():
    d = load_dataset("digits", limit=200, binarize="bernoulli")
    gen = torch.Generator().manual_seed(0)
    draws = torch.stack([d.draw(gen) for _ in range(400)])  # (400, 200, 64)
    assert set(draws.unique().tolist()) <= {0.0, 1.0}
    assert not torch.equal(draws[0], draws[1])
    p = d.images.reshape(200, -1).double()
    mean = draws.double().mean(0)
    # per-pixel mean of R=400 Bernoulli(p) draws has sd sqrt(p(1-p)/R); with 12,800
    # pixels a 5-sigma band fails by chance with probability < 1e-2 overall
    sd = torch.sqrt(p * (1 - p) / 400)
    assert bool(((mean - p).abs() <= 5 * sd + 1e-12).all())
    # pooled mean: sd of the grand mean is sqrt(sum p(1-p))/(R*n)
    pooled_sd = math.sqrt(float((p * (1 - p)).sum()) / 400) / p.numel()
    assert abs(float(mean.mean() - p.mean())) < 5 * pooled_sd


def test_spins_map_binary_to_plus_minus_one():
    d = load_dataset("digits", limit=20, binarize="threshold", spins=True)
    x = d.x
    assert set(x.unique().tolist()) == {-1.0, 1.0}
    assert torch.equal((x + 1) / 2, d.with_options(spins=False).x)


def test_batches_cover_the_epoch_once():
    d = load_dataset("digits", limit=103)
    seen = []
    for x, y in d.batches(10, torch.Generator().manual_seed(0)):
        assert x.shape[1] == 64 and len(x) == len(y) <= 10
        seen += y.tolist()
    assert len(seen) == 103
    assert sorted(seen) == sorted(d.labels.tolist())


def test_user_npz_flat_and_uint8(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (12, 16), dtype=np.uint8)
    y = np.arange(12)
    np.savez(tmp_path / "d.npz", x=x, y=y)
    d = load_dataset(str(tmp_path / "d.npz"), split="all")
    assert d.image_shape == (4, 4) and len(d) == 12
    np.testing.assert_allclose(d.images.reshape(12, 16).numpy(), x / 255.0, rtol=1e-6)
    assert len(load_dataset(str(tmp_path / "d.npz"), split="train")) == 10
    assert load_dataset(str(tmp_path / "d.npz"), split="test").labels.tolist() == [10, 11]


def test_user_idx_pair_found_beside(tmp_path):
    rng = np.random.default_rng(0)
    write_idx(tmp_path / "my-images-idx3-ubyte", rng.integers(0, 256, (7, 5, 6), dtype=np.uint8))
    write_idx(tmp_path / "my-labels-idx1-ubyte", np.arange(7, dtype=np.uint8))
    d = load_dataset(str(tmp_path / "my-images-idx3-ubyte"), split="all")
    assert d.image_shape == (5, 6) and d.labels.tolist() == list(range(7))
    pair = f"{tmp_path / 'my-images-idx3-ubyte'},{tmp_path / 'my-labels-idx1-ubyte'}"
    assert len(load_dataset(pair, split="all")) == 7


def test_user_png_folder(tmp_path):
    import matplotlib.image as mpimg

    for k in range(3):
        img = np.full((6, 5), k / 2.0)
        mpimg.imsave(tmp_path / f"{k}.png", img, cmap="gray", vmin=0, vmax=1)
    d = load_dataset(str(tmp_path), split="all")
    assert len(d) == 3 and d.image_shape == (6, 5) and d.labels is None
    means = d.images.mean(dim=(1, 2)).tolist()
    assert means == pytest.approx([0.0, 0.5, 1.0], abs=0.01)


@pytest.mark.parametrize("make,fragment", [
    (lambda p: np.savez(p, z=np.zeros(3)), "named 'x'"),
    (lambda p: np.savez(p, x=np.full((2, 4), np.nan)), "NaN"),
    (lambda p: np.savez(p, x=-np.ones((2, 4))), "negative"),
    (lambda p: np.savez(p, x=np.full((2, 4), 300.0)), "up to 300"),
    (lambda p: np.savez(p, x=np.zeros((2, 2, 2, 2))), "shape"),
    (lambda p: np.savez(p, x=np.zeros((3, 4)), y=np.zeros(2, dtype=int)), "3 integers"),
    (lambda p: p.write_bytes(b"garbage"), "not a valid .npz"),
])
def test_bad_npz(tmp_path, make, fragment):
    path = tmp_path / "bad.npz"
    make(path)
    with pytest.raises(GenlabError, match=fragment):
        load_dataset(str(path), split="all")


def test_bad_names_and_options(tmp_path):
    with pytest.raises(GenlabError, match="unknown data set"):
        load_dataset("mnist")
    with pytest.raises(GenlabError, match="not found"):
        load_dataset(str(tmp_path / "x.npz"))
    with pytest.raises(GenlabError, match="split"):
        load_dataset("digits", split="val")
    with pytest.raises(GenlabError, match="binarize"):
        load_dataset("digits", binarize="otsu")
    with pytest.raises(GenlabError, match="limit"):
        load_dataset("digits", limit=0)
    (tmp_path / "empty").mkdir()
    with pytest.raises(GenlabError, match="no .png"):
        load_dataset(str(tmp_path / "empty"))


def _save_obj(p):
    np.save(p, np.array([1, "a"], dtype=object), allow_pickle=True)


@pytest.mark.parametrize("name,make,fragment", [
    ("e.npy", lambda p: p.write_bytes(b""), "is empty"),
    ("s.npy", lambda p: np.save(p, np.array([["a", "b"]])), "only arrays of numbers"),
    ("o.npy", _save_obj, "Python objects"),
    ("r.npy", lambda p: p.write_bytes(np.random.default_rng(0).bytes(100)),
     "not a valid .npy file"),
    ("z.npy", lambda p: np.save(p, np.zeros((0, 4, 4))), "holds no images"),
    ("n.npy", lambda p: np.save(p, np.full((3, 2, 2), np.inf)), "NaN or infinite"),
    ("s.npz", lambda p: np.savez(p, x=np.array([["a"]])), "only arrays of numbers"),
    ("z.npz", lambda p: np.savez(p, x=np.zeros((0, 9))), "holds no images"),
    ("w.npz", lambda p: np.savez(p, x=np.zeros((10, 0))), "0 pixels"),
    ("w3.npz", lambda p: np.savez(p, x=np.zeros((10, 0, 28))), "0x28 pixels"),
    ("neg.npz", lambda p: np.savez(p, x=np.zeros((3, 4)), y=-np.ones(3, dtype=int)),
     "non-negative"),
    ("t.txt", lambda p: p.write_text("hello"), "not in a format genlab reads as images"),
    ("t.gz", lambda p: p.write_bytes(__import__("gzip").compress(b"hello")),
     "not in a format genlab reads"),
    ("single.png", lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n"), "single PNG"),
])
def test_degenerate_user_files(tmp_path, name, make, fragment):
    path = tmp_path / name
    make(path)
    with pytest.raises(GenlabError, match=fragment) as info:
        load_dataset(str(path), split="all")
    assert "allow_pickle" not in str(info.value) and "\n" not in str(info.value)


def test_unrecognised_file_lists_the_accepted_formats(tmp_path):
    (tmp_path / "notes.txt").write_text("some text")
    with pytest.raises(GenlabError) as info:
        load_dataset(str(tmp_path / "notes.txt"))
    msg = str(info.value)
    assert "not in a format genlab reads" in msg
    for fmt in (".npz", ".npy", "IDX", "PNG"):
        assert fmt in msg
    assert "magic number" not in msg  # not described as a damaged IDX file


def test_truncated_npz(tmp_path):
    path = tmp_path / "t.npz"
    np.savez(path, x=np.random.default_rng(0).random((20, 5, 5)))
    raw = path.read_bytes()
    for cut in (len(raw) // 3, len(raw) // 2, len(raw) - 10):
        path.write_bytes(raw[:cut])
        with pytest.raises(GenlabError, match="t.npz"):
            load_dataset(str(path), split="all")


def test_npy_images(tmp_path):
    x = np.random.default_rng(0).integers(0, 256, (12, 3, 4), dtype=np.uint8)
    np.save(tmp_path / "x.npy", x)
    d = load_dataset(str(tmp_path / "x.npy"), split="test")
    assert d.image_shape == (3, 4) and d.labels is None
    np.testing.assert_allclose(d.images.numpy(), x[10:] / 255.0, rtol=1e-6)


def test_idx_float_nan_is_refused(tmp_path):
    x = np.zeros((4, 2, 2), np.float32)
    x[2, 1, 1] = np.nan
    write_idx(tmp_path / "f-images-idx3-ubyte", x)
    with pytest.raises(GenlabError, match="NaN"):
        load_dataset(str(tmp_path / "f-images-idx3-ubyte"), split="all")


def test_idx_split_and_limit_read_the_same_rows_as_a_full_read(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.integers(2, 256, (30, 4, 5), dtype=np.uint8)
    y = rng.integers(0, 10, 30).astype(np.uint8)
    for suffix in ("", ".gz"):
        write_idx(tmp_path / f"d-images-idx3-ubyte{suffix}", x)
        write_idx(tmp_path / f"d-labels-idx1-ubyte{suffix}", y)
        spec = str(tmp_path / f"d-images-idx3-ubyte{suffix}")
        full = load_dataset(spec, split="test")
        part = load_dataset(spec, split="test", limit=3)
        assert len(full) == 5 and torch.equal(part.images, full.images[:3])
        assert part.labels.tolist() == y[25:28].tolist()
        assert torch.equal(load_dataset(spec, split="train", limit=2).images,
                           torch.from_numpy(x[:2] / np.float32(255.0)))


def test_png_folder_refuses_other_images_named_png(tmp_path):
    from PIL import Image

    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "a.png")
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "b.png", format="JPEG")
    with pytest.raises(GenlabError, match="JPEG image, not a PNG"):
        load_dataset(str(tmp_path), split="all")
    (tmp_path / "b.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    with pytest.raises(GenlabError, match="b.png is not a readable PNG"):
        load_dataset(str(tmp_path), split="all")


def _fake_fashion(folder):
    rng = np.random.default_rng(0)
    for part, n in (("train", 12), ("t10k", 6)):
        write_idx(folder / f"{part}-images-idx3-ubyte.gz",
                  rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(folder / f"{part}-labels-idx1-ubyte.gz", rng.integers(0, 10, n, dtype=np.uint8))


def test_named_data_folder_never_falls_back_to_the_system_copy(tmp_path, monkeypatch):
    import genlab.data.datasets as ds

    system = tmp_path / "system"
    _fake_fashion(system)
    monkeypatch.setattr(ds, "FASHION_SYSTEM_DIR", system)
    monkeypatch.delenv("GENLAB_DATA", raising=False)
    assert len(load_dataset("fashion-mnist", "test")) == 6  # the system copy, nothing named
    with pytest.raises(GenlabError, match="--data-dir .*nowhere is not a folder"):
        load_dataset("fashion-mnist", data_dir=tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(GenlabError, match="not found in .*empty"):
        load_dataset("fashion-mnist", data_dir=tmp_path / "empty")
    monkeypatch.setenv("GENLAB_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(GenlabError, match="GENLAB_DATA=.*nowhere is not a folder"):
        load_dataset("fashion-mnist")
    with pytest.raises(GenlabError, match="GENLAB_DATA"):
        list_datasets()
    assert len(load_dataset("fashion-mnist", "test", data_dir=system)) == 6
