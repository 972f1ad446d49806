"""MkDocs hooks of the genlab site.

* The home page is README.md and the Results page is benchmarks/RESULTS.md, both read from
  where they live (generated pages ``index.md`` and ``results.md``), so each has one source.
* Links are written for the repository (README links ``docs/hopfield.md``, RESULTS.md links
  ``results/rbm.json``); on every page they are rewritten to where the site puts the target:
  README.md -> the home page, benchmarks/RESULTS.md -> the Results page, docs/X -> X, and any
  other file of the repository a page links to is copied into the site under ``repo/``;
  README's link to the built site (site/X.html) is the page X itself.
  A link to a directory with no page keeps its text only. A link to nothing stays as it is,
  so ``mkdocs build --strict`` fails on it.
* A reference page that documents a package (a page holding the line ``::: genlab.NAME`` for
  a package ``src/genlab/NAME/``) gets a section per module of the package after it, read
  from the source at build time, so a new module or function appears without editing the
  page: each module's docstring and the public classes and functions it defines,
  except those the package itself exports (``__all__``), which the package's section shows.
* MathJax: a copy from the installed ``django-static-mathjax`` package (MathJax 3.2.2,
  Apache-2.0) goes into the site, so its maths renders opened from disk with no network;
  without that package the pages load MathJax from a CDN.
"""

from __future__ import annotations

import ast
import importlib.util
import logging
import posixpath
import re
from pathlib import Path

from mkdocs.structure.files import File

log = logging.getLogger("mkdocs.hooks.genlab")

# site page -> the repository file it is generated from
GENERATED = {"index.md": "README.md", "results.md": "benchmarks/RESULTS.md"}
SOURCE_TO_PAGE = {source: page for page, source in GENERATED.items()}
COPIED = "repo/"  # where other linked repository files go in the site
BUILT = "site/"  # mkdocs.yml's site_dir

MATHJAX_FILE = "tex-svg-full.js"  # one self-contained file: TeX in, SVG out, no fonts to fetch
MATHJAX_SITE = "javascripts/mathjax/" + MATHJAX_FILE
MATHJAX_CDN = "https://cdn.jsdelivr.net/npm/mathjax@3.2.2/es5/" + MATHJAX_FILE

# [text](target "title") and ![alt](target); reference definitions [id]: target
INLINE_LINK = re.compile(
    r"(!?\[(?:[^\[\]]|\[[^\]]*\])*\]\()(<[^>]+>|[^)\s]+)((?:\s+\"[^\"]*\")?\))")
REFERENCE_LINK = re.compile(r"^(\s{0,3}\[[^\]]+\]:\s*)(\S+)", re.MULTILINE)
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)


def _repo(config) -> Path:
    return Path(config.config_file_path).resolve().parent


def _mathjax_dir() -> Path | None:
    spec = importlib.util.find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        es5 = Path(location) / "static" / "mathjax" / "es5"
        if (es5 / MATHJAX_FILE).is_file():
            return es5.parent
    return None


def on_config(config):
    if _mathjax_dir() is not None:
        config.extra_javascript.append(MATHJAX_SITE)
    else:
        log.info("genlab: django-static-mathjax is not installed; pages load MathJax from a CDN")
        config.extra_javascript.append(MATHJAX_CDN)
    return config


def _page_source(src_uri: str) -> str:
    """The repository path of the Markdown a site page is made from."""
    return GENERATED.get(src_uri, "docs/" + src_uri)


def _targets(text: str):
    text = FENCE.sub("", text)
    for match in INLINE_LINK.finditer(text):
        yield match.group(2).strip("<>")
    for match in REFERENCE_LINK.finditer(text):
        yield match.group(2).strip("<>")


def _is_local(target: str) -> bool:
    return not (re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target) or target.startswith(("#", "/")))


def _resolve(source: str, target: str) -> tuple[str, str]:
    """The repository path a link of `source` points at, and its '#...' part."""
    path, hash_, fragment = target.partition("#")
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(source), path))
    return joined, hash_ + fragment


def on_files(files, config):
    repo = _repo(config)
    for page, source in GENERATED.items():
        if files.get_file_from_path(page) is not None:
            files.remove(files.get_file_from_path(page))
        files.append(File.generated(config, page, abs_src_path=str(repo / source)))
    # Other repository files the pages link to (result JSON, scripts), copied under repo/.
    sources = list(GENERATED.values()) + [
        "docs/" + f.src_uri for f in files.documentation_pages() if f.src_uri not in GENERATED
    ]
    for source in sources:
        text = (repo / source).read_text(encoding="utf-8")
        for target in filter(_is_local, _targets(text)):
            path, _ = _resolve(source, target)
            if (path.startswith(("docs/", BUILT, "..")) or path in SOURCE_TO_PAGE
                    or not (repo / path).is_file()):
                continue
            if files.get_file_from_path(COPIED + path) is None:
                files.append(File.generated(config, COPIED + path, abs_src_path=str(repo / path)))
    mathjax = _mathjax_dir()
    if mathjax is not None:
        files.append(File.generated(config, MATHJAX_SITE,
                                    abs_src_path=str(mathjax / "es5" / MATHJAX_FILE)))
        files.append(File.generated(config, "javascripts/mathjax/LICENSE",
                                    abs_src_path=str(mathjax / "LICENSE")))
    return files


def _site_path(path: str, repo: Path) -> str | None:
    """Where the site puts the repository file `path`; None for a directory with no page."""
    if path in SOURCE_TO_PAGE:
        return SOURCE_TO_PAGE[path]
    if path.startswith(BUILT):  # the built site, linked from README: the page itself
        return posixpath.splitext(path[len(BUILT):])[0] + ".md"
    if path == "docs" or path.startswith("docs/"):
        inside = path[len("docs/"):] if path != "docs" else ""
        if (repo / path).is_dir():
            has_page = (repo / path / "index.md").is_file()
            return inside.rstrip("/") + "/index.md" if has_page else None
        return inside
    if (repo / path).is_file():
        return COPIED + path
    if (repo / path).is_dir():
        return None
    return path  # not in the repository: left for mkdocs to report


# a directive and the indented options block under it
PACKAGE_DIRECTIVE = re.compile(r"^::: (genlab\.[A-Za-z_]\w*)[ \t]*\n(?:[ \t]+\S.*\n?)*",
                               re.MULTILINE)


def _public_names(tree: ast.Module) -> list[str]:
    """The names a module's ``__all__`` lists, else the public classes and functions it
    defines, in source order."""
    names = []
    for node in tree.body:
        targets = []
        if isinstance(node, ast.Assign):
            targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            targets = [node.target.id]
        if "__all__" in targets and isinstance(node.value, (ast.List, ast.Tuple)):
            return [e.value for e in node.value.elts if isinstance(e, ast.Constant)]
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
    return [n for n in names if not n.startswith("_")]


def _module_sections(package: str, repo: Path) -> str:
    """Markdown with one mkdocstrings section per module of `package` (see the docstring)."""
    folder = repo / "src" / Path(*package.split("."))
    init = folder / "__init__.py"
    if not init.is_file():
        return ""
    exported = set(_public_names(ast.parse(init.read_text(encoding="utf-8"))))
    sections = ["", "## Modules", ""]
    for path in sorted(folder.glob("*.py")):
        if path.name.startswith("_"):
            continue
        names = [n for n in _public_names(ast.parse(path.read_text(encoding="utf-8")))
                 if n not in exported]
        members = "[" + ", ".join(names) + "]" if names else "false"
        sections += [f"::: {package}.{path.stem}", "    options:",
                     "      show_root_heading: true", "      show_root_full_path: true",
                     "      heading_level: 3", f"      members: {members}", ""]
    return "\n".join(sections) if len(sections) > 3 else ""


def on_page_markdown(markdown, page, config, files):
    repo = _repo(config)
    if page.file.src_uri.startswith("reference/"):
        markdown = PACKAGE_DIRECTIVE.sub(
            lambda m: m.group(0).rstrip("\n") + "\n" + _module_sections(m.group(1), repo) + "\n",
            markdown)
    source = _page_source(page.file.src_uri)
    here = posixpath.dirname(page.file.src_uri)

    def rewrite(target: str) -> str | None:
        if not _is_local(target):
            return target
        path, fragment = _resolve(source, target)
        site = _site_path(path, repo)
        if site is None:
            return None
        return posixpath.relpath(site, here or ".") + fragment

    def inline(match: re.Match) -> str:
        new = rewrite(match.group(2).strip("<>"))
        if new is None:  # keep the text, drop the link
            return match.group(1)[:-2].lstrip("!")[1:]
        return match.group(1) + new + match.group(3)

    def reference(match: re.Match) -> str:
        new = rewrite(match.group(2).strip("<>"))
        return match.group(1) + (new if new is not None else "#")

    # Leave fenced code blocks as they are.
    pieces, last = [], 0
    for fence in FENCE.finditer(markdown):
        text = markdown[last:fence.start()]
        pieces.append(REFERENCE_LINK.sub(reference, INLINE_LINK.sub(inline, text)))
        pieces.append(fence.group(0))
        last = fence.end()
    text = markdown[last:]
    pieces.append(REFERENCE_LINK.sub(reference, INLINE_LINK.sub(inline, text)))
    return "".join(pieces)
