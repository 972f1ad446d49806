"""genlab.outputs: destinations are refused before any work, and nothing is created."""

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genlab.errors import GenlabError
from genlab.outputs import check_output_dir, check_output_file, check_output_model

ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture
def blocker(tmp_path):
    """A regular file that paths are placed under."""
    f = tmp_path / "file"
    f.write_text("x")
    return f


def test_file_accepts_new_existing_and_nested(tmp_path):
    assert check_output_file(tmp_path / "a.png") == tmp_path / "a.png"
    (tmp_path / "old.png").write_bytes(b"")
    check_output_file(tmp_path / "old.png")
    check_output_file(tmp_path / "x" / "y" / "z.png", "--plot")
    assert not (tmp_path / "x").exists()  # parents are made by the writer, not the check


def test_file_refusals_name_the_option(tmp_path, blocker):
    cases = {
        "": "empty",
        "   ": "empty",
        str(tmp_path): "is a folder",
        str(tmp_path / "sub") + os.sep: "separator",
        str(blocker / "g.png"): "is a file, not a folder",
        str(blocker / "deeper" / "g.png"): "is a file, not a folder",
    }
    for path, words in cases.items():
        with pytest.raises(GenlabError) as exc:
            check_output_file(path, "--out")
        msg = str(exc.value)
        assert msg.startswith("cannot write --out"), msg
        assert words in msg, (path, msg)
        assert "\n" not in msg


def test_file_refuses_non_regular(tmp_path):
    if not os.path.exists("/dev/null"):
        pytest.skip("no /dev/null")
    with pytest.raises(GenlabError, match="not a regular file"):
        check_output_file("/dev/null", "--out")


def test_dir_accepts_new_and_existing(tmp_path):
    check_output_dir(tmp_path)
    check_output_dir(tmp_path / "run" / "deep", "--out")
    assert not (tmp_path / "run").exists()


def test_dir_refusals(tmp_path, blocker):
    for path, words in (("", "empty"), (str(blocker), "is a file"),
                        (str(blocker / "run"), "is a file, not a folder")):
        with pytest.raises(GenlabError, match=words):
            check_output_dir(path, "--out")


def test_model_checks_both_files(tmp_path, blocker):
    check_output_model(tmp_path / "net")
    check_output_model(tmp_path / "net.safetensors")
    (tmp_path / "net2.json").mkdir()  # the config's place is taken by a folder
    with pytest.raises(GenlabError, match="net2.json"):
        check_output_model(tmp_path / "net2", "--out")
    with pytest.raises(GenlabError, match="is a file, not a folder"):
        check_output_model(blocker / "net")
    for bad in ("", str(tmp_path) + os.sep, "."):
        with pytest.raises(GenlabError):
            check_output_model(bad, "--out")


@pytest.mark.skipif(ROOT, reason="root may write into a 0o555 folder")
def test_read_only_folder(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        for check in (check_output_file, check_output_model):
            with pytest.raises(GenlabError, match="not writable"):
                check(ro / "sub" / "x.png", "--out")
        with pytest.raises(GenlabError, match="not writable"):
            check_output_dir(ro, "--out")
    finally:
        ro.chmod(0o755)


def test_unwritable_folder_reported_as_os_access_says(tmp_path, monkeypatch):
    """The folder check follows os.access (which, unlike chmod, also holds for root)."""
    real = os.access
    denied = str(tmp_path / "locked")
    (tmp_path / "locked").mkdir()
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == denied
                        else real(p, mode))
    with pytest.raises(GenlabError, match="not writable"):
        check_output_file(tmp_path / "locked" / "new" / "x.png", "--out")
    with pytest.raises(GenlabError, match="not writable"):
        check_output_dir(tmp_path / "locked", "--out")
    check_output_file(tmp_path / "free.png")


@settings(max_examples=80, deadline=None)
@given(st.lists(st.sampled_from(["a", "b.png", "..", ".", "file", "dir", ""]), min_size=1,
                max_size=4))
def test_file_check_agrees_with_a_real_write(tmp_path_factory, parts):
    """What the check accepts can be written (after making the parents), and what it
    refuses could not be written as a file (but for '..' after a missing folder). The
    path is built as text ("" makes a doubled or trailing separator) since pathlib would
    drop a trailing "/." or "/"."""
    base = tmp_path_factory.mktemp("w")
    (base / "file").write_text("x")
    (base / "dir").mkdir()
    text = str(base) + os.sep + os.sep.join(parts)
    try:
        check_output_file(text)
        accepted = True
    except GenlabError as exc:
        accepted = False
        if "goes up" in str(exc):  # '..' after a missing folder is refused on purpose,
            assert ".." in parts     # though making the folders first would resolve it
            return
    try:
        os.makedirs(os.path.dirname(text), exist_ok=True)
        with open(text, "wb") as fh:
            fh.write(b"ok")
        written = os.path.isfile(text)
    except OSError:
        written = False
    assert accepted == written, (parts, accepted, written)
