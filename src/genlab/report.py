"""A self-contained HTML report: one section per step, figures inlined, no network needed.

Each section shows the lecture's equation, the command line that reproduces the step,
its figures (embedded as data URIs, and also written as PNG files beside the page) and
its numbers in a table. Failed steps are shown with their error.
"""

from __future__ import annotations

import base64
import html
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genlab import __version__
from genlab.io import atomic_write_bytes

WIDE = "wide"  # the third element of a figure that spans its section's width


@dataclass
class Section:
    """One step of a report."""

    key: str
    title: str
    equation: str = ""
    summary: str = ""
    command: str = ""
    # (PNG path, caption) or (PNG path, caption, WIDE): a wide figure spans the whole row
    figures: list[tuple[str, ...]] = field(default_factory=list)
    numbers: dict[str, Any] = field(default_factory=dict)
    status: str = "ok"  # ok | failed | skipped
    error: str = ""
    seconds: float = 0.0


CSS = """
:root { --fg:#1d2430; --muted:#5b6575; --bg:#fbfbfd; --card:#fff; --line:#e3e6ec;
        --ok:#1f7a3d; --bad:#b3261e; --accent:#2f5fb3; }
* { box-sizing: border-box; }
body { margin:0; font:16px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;
       color:var(--fg); background:var(--bg); }
header { padding:2rem 1rem 1rem; max-width:1100px; margin:auto; }
header h1 { margin:0 0 .3rem; font-size:1.9rem; }
header p { margin:.2rem 0; color:var(--muted); }
nav { max-width:1100px; margin:auto; padding:0 1rem; display:flex; flex-wrap:wrap; gap:.4rem; }
nav a { text-decoration:none; color:var(--accent); border:1px solid var(--line);
        border-radius:999px; padding:.15rem .7rem; font-size:.9rem; background:var(--card); }
nav a.failed { color:var(--bad); border-color:var(--bad); }
main { max-width:1100px; margin:auto; padding:1rem; }
section { background:var(--card); border:1px solid var(--line); border-radius:12px;
          padding:1.2rem 1.4rem; margin:1.2rem 0; }
section h2 { margin:0 0 .4rem; font-size:1.35rem; }
.status { font-size:.8rem; padding:.1rem .5rem; border-radius:6px; margin-left:.5rem;
          vertical-align:middle; color:#fff; background:var(--ok); }
.status.failed { background:var(--bad); } .status.skipped { background:var(--muted); }
.eq { font-family: "STIX Two Math","Cambria Math",Georgia,serif; font-size:1.05rem;
      background:#f4f6fa; border-left:3px solid var(--accent); padding:.5rem .8rem;
      overflow-x:auto; white-space:pre-wrap; }
pre.cmd { background:#1d2430; color:#e8ecf3; padding:.6rem .8rem; border-radius:8px;
          overflow-x:auto; font-size:.85rem; }
.figs { display:grid; grid-template-columns:repeat(auto-fit,minmax(280px,1fr)); gap:1rem; }
figure { margin:0; } figure.wide { grid-column:1 / -1; }
figure img { width:100%; height:auto; border:1px solid var(--line);
         border-radius:6px; background:#fff; }
figcaption { font-size:.85rem; color:var(--muted); }
table { border-collapse:collapse; margin-top:.8rem; font-size:.9rem; }
td, th { border-bottom:1px solid var(--line); padding:.25rem .8rem .25rem 0; text-align:left;
         vertical-align:top; }
td.num { font-variant-numeric: tabular-nums; }
.error { color:var(--bad); white-space:pre-wrap; font-family:monospace; }
footer { max-width:1100px; margin:auto; padding:1rem; color:var(--muted); font-size:.85rem; }
"""


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        if len(value) > 8:
            return f"[{', '.join(_fmt(v) for v in value[:8])}, … ({len(value)} values)]"
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items())
    return str(value)


def _img(path: Path, root: Path) -> str:
    data = path.read_bytes()
    return "data:image/png;base64," + base64.b64encode(data).decode()


def render_html(title: str, intro: str, sections: list[Section], root: Path,
                footer: str = "") -> str:
    """The report page; figure paths are relative to ``root`` and inlined."""
    esc = html.escape
    nav = "".join(f'<a href="#{esc(s.key)}" class="{esc(s.status)}">{esc(s.title)}</a>'
                  for s in sections)
    body = []
    for s in sections:
        parts = [f'<section id="{esc(s.key)}"><h2>{esc(s.title)}'
                 f'<span class="status {esc(s.status)}">{esc(s.status)}'
                 f'{f" · {s.seconds:.1f} s" if s.seconds else ""}</span></h2>']
        if s.summary:
            parts.append(f"<p>{esc(s.summary)}</p>")
        if s.equation:
            parts.append(f'<div class="eq">{esc(s.equation)}</div>')
        if s.command:
            parts.append(f'<pre class="cmd">$ {esc(s.command)}</pre>')
        if s.error:
            parts.append(f'<p class="error">{esc(s.error)}</p>')
        if s.figures:
            figs = []
            for path, caption, *style in s.figures:
                p = root / path
                wide = ' class="wide"' if WIDE in style else ""
                if p.is_file():
                    figs.append(f'<figure{wide}><img src="{_img(p, root)}" alt="{esc(caption)}" '
                                f'data-file="{esc(path)}"><figcaption>{esc(caption)} '
                                f'(<a href="{esc(path)}">{esc(path)}</a>)</figcaption></figure>')
            parts.append('<div class="figs">' + "".join(figs) + "</div>")
        if s.numbers:
            rows = "".join(f'<tr><th>{esc(str(k))}</th><td class="num">{esc(_fmt(v))}</td></tr>'
                           for k, v in s.numbers.items())
            parts.append(f"<table>{rows}</table>")
        parts.append("</section>")
        body.append("".join(parts))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title><style>{CSS}</style></head>
<body><header><h1>{esc(title)}</h1><p>{esc(intro)}</p></header>
<nav>{nav}</nav><main>{"".join(body)}</main>
<footer>genlab {esc(__version__)}. {esc(footer)}</footer></body></html>
"""


def write_report(out: Path, title: str, intro: str, sections: list[Section],
                 results: dict[str, Any], footer: str = "") -> Path:
    """Write ``index.html`` and ``results.json`` into ``out`` atomically; returns the page."""
    from genlab.io import to_jsonable

    page = out / "index.html"
    atomic_write_bytes(out / "results.json",
                       (json.dumps(to_jsonable(results), indent=2, allow_nan=False) + "\n")
                       .encode())
    atomic_write_bytes(page, render_html(title, intro, sections, out, footer).encode())
    return page
