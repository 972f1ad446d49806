"""The one exception type for user errors.

Anything the user can fix (a missing file, a bad shape, a bad value, an unknown data
set, a corrupt checkpoint) is raised as ``GenlabError`` with a message that says
what is wrong and how to fix it. The CLI prints it as one line,
``genlab: error: <message>``, and exits with status 2.
"""


class GenlabError(Exception):
    """A user error: reported by the CLI as one line on stderr, exit status 2."""


def check(condition: bool, message: str) -> None:
    """Raise ``GenlabError`` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise GenlabError(message)
