r"""dSprites, generated procedurally from its definition (Matthey et al. 2017).

737,280 binary 64x64 images of one white sprite on black, one image for every
combination of five ground-truth factors (the grid of the original data set):

| factor | size | values |
| --- | --- | --- |
| shape | 3 | square, ellipse, heart |
| scale | 6 | ``linspace(0.5, 1.0, 6)`` |
| orientation | 40 | ``linspace(0, 2 pi, 40)`` (radians; 0 and 2 pi both present) |
| pos_x | 32 | ``linspace(0, 1, 32)`` (left to right) |
| pos_y | 32 | ``linspace(0, 1, 32)`` (top to bottom) |

Image $n$ has factor indices
$f = (f_{\mathrm{shape}}, f_{\mathrm{scale}}, f_{\mathrm{orient}}, f_x, f_y)$ with
$n = \sum_k f_k \prod_{l > k} \mathrm{size}_l$ (row-major, ``pos_y`` fastest), the order of
the original ``dsprites_ndarray`` file without its constant colour factor.

Rendering (genlab's own geometry; the factor grid is exact, the pixels are close to but
not bit-identical with DeepMind's file): pixel $(i, j)$ (row, column) has centre
$p = (j + \frac{1}{2}, i + \frac{1}{2})$; the sprite's centre is
$c = 14 + 36\,(\mathrm{pos}_x, \mathrm{pos}_y)$ pixels, so every sprite stays inside the
64x64 canvas; the sprite coordinates are
$(u, v) = R(-\theta)\,(p - c) / (9.6\,\mathrm{scale})$ and the pixel is on (1) when

* square: $\max(|u|, |v|) \le 1$ (side 19.2 px at scale 1),
* ellipse: $u^2 + (2v)^2 \le 1$ (axes 2:1),
* heart: $(a^2 + b^2 - 1)^3 - a^2 b^3 \le 0$ with $(a, b) = 1.15\,(u, -v) + (0, 0.1)$.

Nothing is stored: ``render`` rasterises any batch of factor indices, vectorised
over the batch and the pixels, on any device.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch

from genlab.errors import GenlabError
from genlab.io import tensor_digest

FACTOR_NAMES: tuple[str, ...] = ("shape", "scale", "orientation", "pos_x", "pos_y")
FACTOR_SIZES: tuple[int, ...] = (3, 6, 40, 32, 32)
SHAPES: tuple[str, ...] = ("square", "ellipse", "heart")
N_IMAGES = int(np.prod(FACTOR_SIZES))  # 737,280
IMAGE_SIZE = 64
N_TRAIN = N_IMAGES - N_IMAGES // 6  # 614,400 (first 5/6 of a fixed permutation)
DEFAULT_LIMIT = 16_384  # images held in memory by load_dataset('dsprites') without --limit
SPRITE_HALF = 9.6  # half side of the square at scale 1, in pixels
POS_LOW, POS_RANGE = 14.0, 36.0  # sprite centre = POS_LOW + POS_RANGE * pos, in pixels

FACTOR_VALUES: tuple[np.ndarray, ...] = (
    np.arange(3, dtype=np.float64),
    np.linspace(0.5, 1.0, 6),
    np.linspace(0.0, 2.0 * math.pi, 40),
    np.linspace(0.0, 1.0, 32),
    np.linspace(0.0, 1.0, 32),
)
# bases[k] = prod_{l>k} size_l: image index = factors @ bases
_BASES = np.concatenate([np.cumprod(FACTOR_SIZES[::-1])[::-1][1:], [1]]).astype(np.int64)


def _check_index(index: torch.Tensor) -> torch.Tensor:
    index = torch.as_tensor(index)
    if index.dtype.is_floating_point or index.dtype == torch.bool:
        raise GenlabError(f"dSprites indices must be integers, got dtype {index.dtype}")
    index = index.long().reshape(-1)
    if index.numel() and (int(index.min()) < 0 or int(index.max()) >= N_IMAGES):
        raise GenlabError(f"dSprites image indices must lie in [0, {N_IMAGES - 1}], got "
                          f"[{int(index.min())}, {int(index.max())}]")
    return index


def _check_factors(factors: torch.Tensor) -> torch.Tensor:
    factors = torch.as_tensor(factors)
    if factors.ndim != 2 or factors.shape[1] != len(FACTOR_SIZES):
        raise GenlabError(f"dSprites factors must have shape (n, 5), got {tuple(factors.shape)}")
    if factors.dtype.is_floating_point or factors.dtype == torch.bool:
        raise GenlabError(f"dSprites factor indices must be integers, got dtype {factors.dtype}")
    factors = factors.long()
    sizes = torch.tensor(FACTOR_SIZES, device=factors.device)
    if factors.numel() and (bool((factors < 0).any()) or bool((factors >= sizes).any())):
        raise GenlabError(f"dSprites factor indices out of range; factor k must lie in "
                          f"[0, size_k) with sizes {FACTOR_SIZES} ({', '.join(FACTOR_NAMES)})")
    return factors


def index_to_factors(index: torch.Tensor) -> torch.Tensor:
    """Factor indices ``(n, 5)`` (int64) of image indices ``(n,)``: mixed-radix digits."""
    index = _check_index(index)
    bases = torch.as_tensor(_BASES, device=index.device)
    sizes = torch.tensor(FACTOR_SIZES, device=index.device)
    return (index[:, None] // bases) % sizes


def factors_to_index(factors: torch.Tensor) -> torch.Tensor:
    r"""Image indices ``(n,)`` of factor indices ``(n, 5)``: $n = \sum_k f_k\,\mathrm{base}_k$
    (``factors @ bases``)."""
    factors = _check_factors(factors)
    return (factors * torch.as_tensor(_BASES, device=factors.device)).sum(1)


def factor_values(factors: torch.Tensor) -> torch.Tensor:
    """The values ``(n, 5)`` (float64) of factor indices ``(n, 5)``: shape id, scale,
    orientation in radians, x and y position in [0, 1]."""
    return _values(_check_factors(factors))


def _values(factors: torch.Tensor) -> torch.Tensor:
    cols = [torch.as_tensor(v, device=factors.device)[factors[:, k]]
            for k, v in enumerate(FACTOR_VALUES)]
    return torch.stack(cols, 1)


def sample_factors(n: int, generator: torch.Generator | None = None,
                   device: torch.device | str = "cpu") -> torch.Tensor:
    """``n`` factor index vectors ``(n, 5)`` drawn uniformly from the grid.

    They are drawn on the CPU (``generator`` is a CPU generator), so that a seed gives the
    same factors on every device, and then moved to ``device``."""
    cols = [torch.randint(s, (n,), generator=generator, device="cpu") for s in FACTOR_SIZES]
    return torch.stack(cols, 1).to(device)


def _inside_square(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return torch.maximum(u.abs(), v.abs()) <= 1.0


def _inside_ellipse(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return u * u + 4.0 * v * v <= 1.0


def _inside_heart(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    a, b = 1.15 * u, -1.15 * v + 0.1
    r = a * a + b * b - 1.0
    return r * r * r - a * a * b * b * b <= 0.0


SHAPE_TESTS = (_inside_square, _inside_ellipse, _inside_heart)


def sprite_mask(u: torch.Tensor, v: torch.Tensor, shape: torch.Tensor,
                sort_on_cpu: bool) -> torch.Tensor:
    """Which pixels ``(B, 64, 64)`` (bool) lie inside each image's sprite, from the sprite
    coordinates $u, v$ ``(B, 64, 64)`` and the shape ids ``shape`` ``(B,)``.

    With ``sort_on_cpu`` (``shape`` on the CPU) each image evaluates only its own shape's
    test, its rows found on the CPU; otherwise every image evaluates all three tests and
    keeps its own: three times the arithmetic, but nothing that waits for an accelerator
    (finding the rows there would). Both give the same pixels."""
    if not sort_on_cpu:
        kind = shape.to(u.device)[:, None, None]
        square, ellipse, heart = (test(u, v) for test in SHAPE_TESTS)
        return torch.where(kind == 0, square, torch.where(kind == 1, ellipse, heart))
    img = torch.empty_like(u, dtype=torch.bool)
    for k, inside in enumerate(SHAPE_TESTS):
        rows = torch.nonzero(shape == k).squeeze(1)
        if len(rows):
            rows = rows.to(u.device)
            img[rows] = inside(u[rows], v[rows])
    return img


def render(factors: torch.Tensor, device: torch.device | str | None = None,
           chunk: int = 2048) -> torch.Tensor:
    """Rasterise factor indices ``(n, 5)`` into binary images ``(n, 64, 64)`` (float32, {0,1}).

    Vectorised over images and pixels (``chunk`` images at a time to bound memory);
    runs on ``device`` (default: the device of ``factors``). Factors given on the CPU are
    checked there and, for a GPU, copied without waiting for it (see ``sprite_mask``).
    """
    factors = _check_factors(factors)
    device = torch.device(device) if device is not None else factors.device
    on_cpu = device.type == "cpu"
    if device.type == "cuda" and factors.device.type == "cpu":
        factors = factors.pin_memory().to(device, non_blocking=True)
    else:
        factors = factors.to(device)
    out = torch.empty(len(factors), IMAGE_SIZE, IMAGE_SIZE, device=device)
    grid = torch.arange(IMAGE_SIZE, device=device, dtype=torch.float32) + 0.5
    py, px = grid[:, None], grid[None, :]  # (64, 1) rows, (1, 64) columns
    for start in range(0, len(factors), chunk):
        part = factors[start:start + chunk]
        vals = _values(part).float()  # (B, 5)
        size = (SPRITE_HALF * vals[:, 1])[:, None, None]
        cos, sin = torch.cos(vals[:, 2])[:, None, None], torch.sin(vals[:, 2])[:, None, None]
        dx = px - (POS_LOW + POS_RANGE * vals[:, 3])[:, None, None]  # (B, 1, 64)
        dy = py - (POS_LOW + POS_RANGE * vals[:, 4])[:, None, None]  # (B, 64, 1)
        u = (cos * dx + sin * dy) / size  # (B, 64, 64): R(-theta)(p - c) / size
        v = (-sin * dx + cos * dy) / size
        out[start:start + chunk] = sprite_mask(u, v, part[:, 0], sort_on_cpu=on_cpu).float()
    return out


def images(index: torch.Tensor, device: torch.device | str | None = None) -> torch.Tensor:
    """Images ``(n, 64, 64)`` of image indices ``(n,)`` (see ``render``)."""
    index = _check_index(index)
    return render(index_to_factors(index), device=device)


def split_indices(split: str) -> np.ndarray:
    """Image indices of a split, in a fixed shuffled order (numpy ``default_rng(0)``):
    ``train`` the first 614,400 of the permutation, ``test`` the last 122,880, ``all`` it all."""
    perm = np.random.default_rng(0).permutation(N_IMAGES)
    if split == "train":
        return perm[:N_TRAIN]
    if split == "test":
        return perm[N_TRAIN:]
    if split == "all":
        return perm
    raise GenlabError(f"unknown split {split!r}; choose one of train, test, all")


def load_dsprites_arrays(split: str, limit: int | None) -> tuple[np.ndarray, np.ndarray, str]:
    """``(images (n, 64, 64) float32, shape labels (n,), source)`` for ``load_dataset``.

    Holds ``limit`` images of the split in memory (default ``DEFAULT_LIMIT``; the whole
    set would need 12 GB as float32), taken in the split's fixed shuffled order so that any
    prefix covers all factors.
    """
    rows = split_indices(split)
    n = min(len(rows), DEFAULT_LIMIT if limit is None else limit)
    idx = torch.from_numpy(rows[:n].copy())
    factors = index_to_factors(idx)
    x = render(factors).numpy()
    source = (f"generated by genlab (procedural dSprites, {n} of the {len(rows)} images of "
              f"split {split}; the full set has {N_IMAGES})")
    return x, factors[:, 0].numpy().astype(np.int64), source


class DSpritesData:
    """All of dSprites as a training set that renders each batch when it is drawn.

    It has what ``genlab.train.fit`` draws from (``len``, ``draw(generator, index)``)
    and what a run records about its data (``name``, ``binarize``, ``image_shape``), so
    a model trains on every one of the 737,280 images without holding them in memory.
    ``indices`` restricts it to a subset (e.g. ``split_indices``). Batches are
    rendered on ``device``; ``genlab.train.fit`` trains from ``on_device`` of its
    own device, so on a GPU no image is made on the CPU or copied to the device.
    """

    name = "dsprites"
    binarize = "none"
    spins = False
    labels = None
    image_shape = (IMAGE_SIZE, IMAGE_SIZE)

    def __init__(self, indices: np.ndarray | torch.Tensor | None = None,
                 device: torch.device | str = "cpu") -> None:
        self.indices = None if indices is None else _check_index(torch.as_tensor(indices))
        self.device = torch.device(device)

    def on_device(self, device: torch.device | str) -> DSpritesData:
        """The same images, rendered on ``device`` when drawn."""
        out = copy.copy(self)
        out.device = torch.device(device)
        return out

    def __len__(self) -> int:
        return N_IMAGES if self.indices is None else len(self.indices)

    def fingerprint(self) -> str:
        """A digest of which images this set holds (they are rendered, so that is all)."""
        return tensor_digest(self.indices, extra="dsprites")

    @property
    def dim(self) -> int:
        return IMAGE_SIZE * IMAGE_SIZE

    def draw(self, generator: torch.Generator | None = None,
             index: torch.Tensor | None = None) -> torch.Tensor:
        """Images ``(n, 4096)`` (flattened, {0, 1}) of rows ``index`` (default: all),
        rendered on ``device``."""
        if index is None:
            if len(self) > DEFAULT_LIMIT:
                raise GenlabError(f"drawing all {len(self)} dSprites images at once needs "
                                  f"{len(self) * 16384 / 1e9:.0f} GB; give an index")
            index = torch.arange(len(self))
        index = torch.as_tensor(index).long().cpu()
        rows = index if self.indices is None else self.indices[index]
        return images(rows, device=self.device).reshape(len(rows), -1)
