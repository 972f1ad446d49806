"""Checking a report in headless Chromium: every image loads, nothing logs an error."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from genlab.errors import GenlabError

CHECK_SCRIPT = """
<script>
window.__errors = [];
window.addEventListener('error', e => window.__errors.push(String(e.message || e.type)), true);
window.addEventListener('load', () => {
  const imgs = Array.from(document.images);
  const broken = imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.alt);
  const pre = document.createElement('pre');
  pre.id = 'genlab-check';
  pre.textContent = JSON.stringify({images: imgs.length, broken: broken,
                                    errors: window.__errors});
  document.body.appendChild(pre);
});
</script>
"""


@dataclass
class BrowserCheck:
    """What headless Chromium saw: image count, broken images, errors, screenshot path."""

    images: int
    broken: list[str]
    errors: list[str]
    console_errors: list[str]
    screenshot: Path | None


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome binary, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def require_chromium() -> str:
    """The Chromium/Chrome binary (see :func:`find_chromium`); :class:`GenlabError` when
    there is none."""
    binary = find_chromium()
    if binary is None:
        raise GenlabError("--screenshot needs Chromium or Chrome, and none was found; install "
                          "it (e.g. 'apt-get install chromium') or drop --screenshot")
    return binary


def _run(binary: str, args: list[str], timeout: float) -> subprocess.CompletedProcess:
    profile = tempfile.mkdtemp(prefix="genlab-chromium-")
    try:
        return subprocess.run(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-extensions", f"--user-data-dir={profile}", "--enable-logging=stderr",
             "--v=0", *args], capture_output=True, text=True, timeout=timeout)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


_CONSOLE = re.compile(r"CONSOLE\(\d+\)\]?.*|Uncaught .*|Failed to load resource.*")


def check_report(page: Path, screenshot: Path | None = None, width: int = 1280,
                 height: int = 2400, timeout: float = 120.0) -> BrowserCheck:
    """Open ``page`` in headless Chromium; report broken images and errors; screenshot it."""
    binary = require_chromium()
    page = page.resolve()
    probe = page.with_name(".genlab-check.html")
    text = page.read_text()
    probe.write_text(text.replace("</head>", CHECK_SCRIPT + "</head>", 1))
    try:
        res = _run(binary, ["--virtual-time-budget=10000", "--dump-dom", probe.as_uri()],
                   timeout)
    finally:
        probe.unlink(missing_ok=True)
    match = re.search(r'<pre id="genlab-check">(.*?)</pre>', res.stdout, re.S)
    if not match:
        raise GenlabError(f"Chromium did not render {page} (exit {res.returncode})")
    found = json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    console = [m.group(0) for m in _CONSOLE.finditer(res.stderr)]
    shot = None
    if screenshot is not None:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        _run(binary, [f"--window-size={width},{height}", "--hide-scrollbars",
                      f"--screenshot={screenshot.resolve()}", page.as_uri()], timeout)
        shot = screenshot if screenshot.is_file() else None
    return BrowserCheck(found["images"], found["broken"], found["errors"], console, shot)
