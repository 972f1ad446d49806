"""``genlab data``: list the data sets and look at them."""

from __future__ import annotations

import argparse

import torch

from genlab.cli.common import (
    add_command,
    add_data_options,
    add_group,
    emit,
    existing_dir,
    output_file,
    positive_int,
)
from genlab.data import FASHION_CLASSES, list_datasets, load_dataset
from genlab.errors import GenlabError
from genlab.plots import plot_image_grid


def cmd_list(args: argparse.Namespace) -> None:
    rows = list_datasets(args.data_dir)

    def text(result: dict) -> str:
        lines = [f"{'name':<15}{'size':>8}  {'shape':<7}{'train':>7}{'test':>7}  source"]
        for r in result["datasets"]:
            shape = "x".join(map(str, r["shape"]))
            src = r["source"] if r["available"] else "NOT INSTALLED: " + r["how_to_install"]
            lines.append(f"{r['name']:<15}{r['size']:>8}  {shape:<7}{r['train']:>7}"
                         f"{r['test']:>7}  {src}")
        lines.append("user files: a .npz with x (and y), a .npy of images, an IDX images file "
                     "(or IMAGES,LABELS), or a folder of PNGs")
        return "\n".join(lines)

    emit(args, {"datasets": rows}, text)


def cmd_show(args: argparse.Namespace) -> None:
    data = load_dataset(args.data, split=args.split, binarize=args.binarize, spins=False,
                        limit=args.limit, data_dir=args.data_dir)
    if args.labels and data.labels is None:
        raise GenlabError(f"--labels: {args.data} has no labels to show (a .npz gives them as "
                          "y, an IDX images file in the labels file beside it); drop --labels")
    gen = torch.Generator().manual_seed(args.seed)
    n = min(args.n, len(data))
    idx = torch.randperm(len(data), generator=gen)[:n].sort().values
    images = data.draw(gen, idx).reshape(n, *data.image_shape)
    captions = None
    if args.labels:
        names = FASHION_CLASSES if args.data == "fashion-mnist" else None
        captions = [names[int(c)] if names else str(int(c)) for c in data.labels[idx]]
    title = f"{args.data} ({args.split}, binarize={args.binarize}): {n} of {len(data)}"
    plot_image_grid(images, args.out, title=title, labels=captions, vmin=0.0, vmax=1.0)
    x = data.images
    emit(args, {"name": args.data, "out": str(args.out), "shown": n, "size": len(data),
                "split": args.split, "shape": list(data.image_shape), "source": data.source,
                "binarize": args.binarize, "min": float(x.min()), "max": float(x.max()),
                "mean": float(x.mean()),
                "classes": None if data.labels is None else int(data.labels.max()) + 1},
         lambda r: f"saved {r['shown']} of {r['size']} {r['name']} images to {r['out']}")


def register(subparsers: argparse._SubParsersAction) -> None:
    sub = add_group(subparsers, "data", "list the data sets and save grids of examples")
    p = add_command(sub, "list", cmd_list, "list built-in data sets, their sizes and sources",
                    examples="genlab data list\ngenlab data list --json", seed=False,
                    device=False)
    p.add_argument("--data-dir", type=existing_dir, default=None,
                   help="extra folder to look for data files in")
    p = add_command(sub, "show", cmd_show, "save a grid of example images as a PNG",
                    examples="genlab data show digits --out digits.png\n"
                             "genlab data show fashion-mnist --split test --binarize bernoulli "
                             "--out fm.png\n"
                             "genlab data show my_images.npz --n 16 --out mine.png",
                    device=False)
    add_data_options(p, positional=True)
    p.add_argument("--out", type=output_file, default="grid.png",
                   help="PNG file to write")
    p.add_argument("--n", type=positive_int, default=64, help="how many images")
    p.add_argument("--labels", action="store_true", help="caption each image with its label")
