"""``genlab data``: list the data sets and look at them."""

from __future__ import annotations

import argparse

from genlab.cli.common import (
    add_command,
    add_data_options,
    add_group,
    emit,
    existing_dir,
    output_file,
    positive_int,
)
from genlab.data import list_datasets
from genlab.data.preview import preview_dataset


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
    result = preview_dataset(args.data, args.out, n=args.n, split=args.split,
                             binarize=args.binarize, limit=args.limit, labels=args.labels,
                             seed=args.seed, data_dir=args.data_dir)
    emit(args, result,
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
