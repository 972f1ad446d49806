"""A griffe extension of the genlab site: Sphinx roles in docstrings become links.

Docstrings name other objects as ``:func:`fit```, ``:class:`~genlab.results.Result```,
``:mod:`genlab.registry``` or ``:func:`~.diagnostics.pair_correlations``` (relative to the
module's package). On the site each becomes the object's name in code, linked to its
reference entry when there is one (an optional cross-reference: a name with no entry stays
plain code, and the build does not fail on it). ``~`` shows the last part of the path only.
The docstrings themselves are not changed.
"""

from __future__ import annotations

import re
from html import escape

import griffe

ROLE = re.compile(
    r":(?:py:)?(?:func|class|mod|meth|data|attr|exc|obj|const):`(~?)([.\w]+)(?:\(\))?`")


def _identifier(target: str, obj: griffe.Object) -> str:
    """The full dotted path `target` names from the docstring of `obj`."""
    module = obj if isinstance(obj, griffe.Module) else obj.module
    if target.startswith("genlab"):
        return target
    if target.startswith("."):  # relative to the module's package
        package = module.path if module.is_package else module.path.rpartition(".")[0]
        dots = len(target) - len(target.lstrip("."))
        for _ in range(dots - 1):
            package = package.rpartition(".")[0]
        return f"{package}.{target.lstrip('.')}"
    first = target.split(".")[0]
    owner = obj if isinstance(obj, griffe.Class) else obj.parent
    while owner is not None:  # the closest enclosing scope that defines the name
        if first in owner.members:
            return f"{owner.path}.{target}"
        owner = owner.parent
    return target


def _link(match: re.Match, obj: griffe.Object) -> str:
    tilde, target = match.group(1), match.group(2)
    identifier = _identifier(target, obj)
    title = target.rsplit(".", 1)[-1] if tilde else target.lstrip(".")
    return (f'<autoref identifier="{escape(identifier)}" optional>'
            f"<code>{escape(title)}</code></autoref>")


class RstRoles(griffe.Extension):
    """Replaces Sphinx roles in the docstrings of every loaded object by optional links."""

    def on_object(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None and ":" in obj.docstring.value:
            obj.docstring.value = ROLE.sub(lambda m: _link(m, obj), obj.docstring.value)
