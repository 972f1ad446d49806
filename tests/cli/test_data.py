"""``genlab data list|show`` through the CLI, including every bad input."""

import numpy as np

from genlab.data import write_idx


def test_list_json(cli):
    res = cli("data", "list", "--json")
    assert res.code == 0
    rows = {r["name"]: r for r in res.json()["datasets"]}
    assert rows["digits"]["size"] == 1797 and rows["digits"]["shape"] == [8, 8]
    assert rows["mnist5k"]["train"] + rows["mnist5k"]["test"] == 5000
    assert rows["fashion-mnist"]["size"] == 70000


def test_list_text(cli):
    res = cli("data", "list")
    assert res.code == 0 and "mnist5k" in res.out and "digits" in res.out


def test_show_writes_png(cli, tmp_path):
    out = tmp_path / "g.png"
    res = cli("data", "show", "digits", "--n", "16", "--binarize", "threshold", "--out", out,
              "--json")
    assert res.code == 0
    obj = res.json()
    assert obj["shown"] == 16 and obj["shape"] == [8, 8] and obj["size"] == 1497
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_show_user_npz(cli, tmp_path):
    np.savez(tmp_path / "d.npz", x=np.random.default_rng(0).random((5, 3, 3)))
    res = cli("data", "show", tmp_path / "d.npz", "--split", "all", "--out", tmp_path / "d.png",
              "--json")
    assert res.code == 0 and res.json()["shown"] == 5


def test_bad_inputs(user_error, tmp_path):
    out = tmp_path / "x.png"
    assert "unknown data set" in user_error("data", "show", "mnist", "--out", out)
    assert "not found" in user_error("data", "show", tmp_path / "nope.npz", "--out", out)
    assert "--n" in user_error("data", "show", "digits", "--n", "0", "--out", out)
    assert "--n" in user_error("data", "show", "digits", "--n", "abc", "--out", out)
    assert "--binarize" in user_error("data", "show", "digits", "--binarize", "x", "--out", out)
    assert "--split" in user_error("data", "show", "digits", "--split", "val", "--out", out)
    np.savez(tmp_path / "nan.npz", x=np.full((2, 3, 3), np.nan))
    assert "NaN" in user_error("data", "show", tmp_path / "nan.npz", "--out", out)
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04junk")
    assert "npz" in user_error("data", "show", tmp_path / "bad.npz", "--out", out)
    write_idx(tmp_path / "t-images-idx3-ubyte", np.zeros((4, 2, 2), np.uint8))
    raw = (tmp_path / "t-images-idx3-ubyte").read_bytes()
    (tmp_path / "t-images-idx3-ubyte").write_bytes(raw[:-3])
    assert "truncated" in user_error("data", "show", tmp_path / "t-images-idx3-ubyte",
                                     "--out", out)
    write_idx(tmp_path / "u-images-idx3-ubyte", np.zeros((4, 2, 2), np.uint8))
    write_idx(tmp_path / "u-labels-idx1-ubyte", np.zeros(3, np.uint8))
    assert "labels" in user_error("data", "show", tmp_path / "u-images-idx3-ubyte", "--out", out)


def test_unwritable_out(user_error, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    msg = user_error("data", "show", "digits", "--n", "4", "--out", blocker / "g.png")
    assert "cannot write" in msg


def test_fashion_missing(user_error, tmp_path, monkeypatch):
    import genlab.data.datasets as ds

    monkeypatch.setattr(ds, "FASHION_SYSTEM_DIR", tmp_path / "nowhere")
    monkeypatch.delenv("GENLAB_DATA", raising=False)
    assert "apt-get install dataset-fashion-mnist" in user_error(
        "data", "show", "fashion-mnist", "--out", tmp_path / "f.png")


def test_gzip_bomb_with_limit_reads_only_those_rows(cli, user_error, tmp_path):
    import gzip
    import struct

    rng = np.random.default_rng(0)
    header = bytes([0, 0, 8, 3]) + struct.pack(">III", 50_000, 200, 200)
    body = rng.integers(0, 256, 10 * 200 * 200, dtype=np.uint8).tobytes() + rng.bytes(2_200_000)
    path = tmp_path / "big-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(header + body, compresslevel=1))
    res = cli("data", "show", path, "--limit", "10", "--n", "4", "--out", tmp_path / "g.png",
              "--json")
    assert res.code == 0 and res.json()["size"] == 10 and res.json()["shape"] == [200, 200]
    msg = user_error("data", "show", path, "--out", tmp_path / "g.png")
    assert "truncated" in msg and "(50000, 200, 200)" in msg


def test_degenerate_files(user_error, tmp_path):
    out = tmp_path / "g.png"
    (tmp_path / "e.npy").write_bytes(b"")
    assert "is empty" in user_error("data", "show", tmp_path / "e.npy", "--out", out)
    (tmp_path / "r.npy").write_bytes(np.random.default_rng(0).bytes(64))
    msg = user_error("data", "show", tmp_path / "r.npy", "--out", out)
    assert "not a valid .npy file" in msg and "pickle" not in msg
    np.savez(tmp_path / "w.npz", x=np.zeros((10, 0, 28)))
    assert "pixel" in user_error("data", "show", tmp_path / "w.npz", "--out", out)
    (tmp_path / "notes.txt").write_text("hello")
    msg = user_error("data", "show", tmp_path / "notes.txt", "--out", out)
    assert "not in a format" in msg and ".npz" in msg and "PNG" in msg


def test_data_dir_that_does_not_exist(user_error, tmp_path, monkeypatch):
    out = tmp_path / "g.png"
    monkeypatch.delenv("GENLAB_DATA", raising=False)
    # the command line refuses it when it is read (the library too: tests/data)
    assert "'--data-dir'" not in (line := user_error("data", "show", "fashion-mnist",
                                                     "--data-dir", tmp_path / "nowhere",
                                                     "--out", out))
    assert "--data-dir" in line and "nowhere' not found" in line
    assert "nowhere' not found" in user_error("data", "list", "--data-dir", tmp_path / "nowhere")
    monkeypatch.setenv("GENLAB_DATA", str(tmp_path / "nowhere"))
    assert "GENLAB_DATA" in user_error("data", "show", "fashion-mnist", "--out", out)


def test_show_prints_what_the_library_preview_returns(cli, tmp_path):
    from genlab.data.preview import preview_dataset

    out = tmp_path / "g.png"
    res = cli("data", "show", "digits", "--n", "9", "--split", "test", "--labels", "--seed",
              "3", "--out", out, "--json")
    assert res.code == 0
    assert res.json() == preview_dataset("digits", out, n=9, split="test", labels=True,
                                         seed=3).to_dict()
