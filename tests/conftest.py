"""Fixtures shared by every test folder."""

import os
import signal

import pytest
from hypothesis import strategies as st


@pytest.fixture
def ctrl_c_at(monkeypatch):
    """``ctrl_c_at(module, name, k)``: press Ctrl-C (SIGINT to this process) during the
    ``k``-th call (1-based) of ``module.name``, which otherwise runs as it is."""

    def arm(module, name: str, k: int) -> None:
        real, calls = getattr(module, name), [0]

        def then_ctrl_c(*args, **kwargs):
            calls[0] += 1
            if calls[0] == k:
                signal.raise_signal(signal.SIGINT)
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, then_ctrl_c)

    return arm


@pytest.fixture
def kill_before_rename(monkeypatch):
    """``kill_before_rename(suffix)``: a save is killed (``KeyboardInterrupt``) when it
    renames a file ending in ``suffix`` into place, e.g. between a checkpoint's weights and
    its JSON; ``monkeypatch.undo()`` ends it."""

    def arm(suffix: str) -> None:
        real = os.replace

        def torn(src, dst):
            if str(dst).endswith(suffix):
                raise KeyboardInterrupt
            return real(src, dst)

        monkeypatch.setattr(os, "replace", torn)

    return arm


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                   max_size=4),
    max_leaves=8)


@pytest.fixture(scope="session")
def json_values():
    """A hypothesis strategy for any JSON value (huge integers, odd strings, nesting): what
    a damaged or hand-edited file may hold where genlab expects a setting."""
    return JSON_VALUES
