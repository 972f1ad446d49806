"""The TSPLIB reader against the proven optima, hand-computed distances and bad files."""

import math

import numpy as np
import pytest

from genlab.errors import GenlabError
from genlab.tsp import held_karp, load_instance, read_tour, read_tsplib, tour_length, two_opt
from genlab.tsp.instances import BUILTIN_INSTANCES, from_matrix
from genlab.tsp.polish import best_nearest_neighbour
from genlab.tsp.tsplib import EDGE_WEIGHT_FORMATS, distance_matrix, read_optima


def test_opt_tours_have_the_published_optimal_length(tsplib_dir):
    # An .opt.tour measured with our distance function must give exactly TSPLIB's optimum:
    # this checks EUC_2D, ATT, GEO, FULL_MATRIX and LOWER_DIAG_ROW rounding on real data.
    optima = read_optima(tsplib_dir / "OPTIMA.txt")
    checked = set()
    for tour_file in sorted(tsplib_dir.glob("*.opt.tour")):
        name = tour_file.name[: -len(".opt.tour")]
        inst = read_tsplib(tsplib_dir / f"{name}.tsp", find_optimum=False)
        tour = read_tour(tour_file, inst.n)
        assert tour_length(inst.dist, tour) == optima[name], name
        checked.add(inst.edge_weight_type)
    assert {"EUC_2D", "ATT", "GEO", "EXPLICIT"} <= checked


def test_every_instance_reads_with_its_optimum(tsplib_dir):
    for path in sorted(tsplib_dir.glob("*.tsp")):
        inst = read_tsplib(path)
        assert inst.optimum is not None and inst.dist.shape == (inst.n, inst.n)
        assert np.array_equal(inst.dist, inst.dist.T) and np.all(np.diag(inst.dist) == 0)
        # no tour can beat a proven optimum: the 2-opt of the nearest-neighbour tour is >= it
        nn, _ = best_nearest_neighbour(inst.dist)
        assert tour_length(inst.dist, two_opt(inst.dist, nn)) >= inst.optimum


def test_burma14_geo_optimum_by_held_karp(tsplib_dir):
    inst = read_tsplib(tsplib_dir / "burma14.tsp")
    assert held_karp(inst.dist).length == inst.optimum == 3323


def test_builtin_instances_and_their_optima():
    for name in BUILTIN_INSTANCES:
        inst = load_instance(name)
        assert inst.optimum is not None
    assert held_karp(load_instance("burma14").dist).length == 3323
    # gr17 (LOWER_DIAG_ROW): 2-opt from nearest neighbour reaches the proven optimum 2085,
    # so a tour of exactly that length exists under our reading of the matrix
    g = load_instance("gr17")
    nn, _ = best_nearest_neighbour(g.dist)
    assert tour_length(g.dist, two_opt(g.dist, nn)) == g.optimum == 2085


def test_rounding_rules_by_hand():
    pts = np.array([[0.0, 0.0], [3.0, 4.4]])  # |dx, dy| = 3, 4.4: r = 5.3254...
    assert distance_matrix(pts, "EUC_2D")[0, 1] == 5  # nint
    assert distance_matrix(pts, "CEIL_2D")[0, 1] == 6
    assert distance_matrix(pts, "MAN_2D")[0, 1] == 7  # nint(7.4)
    assert distance_matrix(pts, "MAX_2D")[0, 1] == 4  # max(3, nint(4.4))
    # ATT: r = sqrt((100 + 0) / 10) = 3.162 -> t = 3 < r -> 4; r = sqrt(90/10) = 3 -> 3
    assert distance_matrix(np.array([[0.0, 0.0], [10.0, 0.0]]), "ATT")[0, 1] == 4
    assert distance_matrix(np.array([[0.0, 0.0], [9.0, 3.0]]), "ATT")[0, 1] == 3
    # GEO: 10.30 is 10 deg 30 min; one degree of latitude along a meridian is
    # 6378.388 * pi / 180 = 111.32 km, so 10.30 -> 11.00 (half a degree) is int(55.66 + 1) = 56
    geo = distance_matrix(np.array([[10.30, 20.0], [11.00, 20.0]]), "GEO")
    assert geo[0, 1] == int(6378.388 * 0.5 * 3.141592 / 180 + 1.0) == 56


def _write_explicit(path, d, fmt):
    n = len(d)
    rows = {
        "FULL_MATRIX": [[d[i, j] for j in range(n)] for i in range(n)],
        "UPPER_ROW": [[d[i, j] for j in range(i + 1, n)] for i in range(n)],
        "LOWER_ROW": [[d[i, j] for j in range(i)] for i in range(n)],
        "UPPER_DIAG_ROW": [[d[i, j] for j in range(i, n)] for i in range(n)],
        "LOWER_DIAG_ROW": [[d[i, j] for j in range(i + 1)] for i in range(n)],
        "UPPER_COL": [[d[i, j] for i in range(j)] for j in range(n)],
        "LOWER_COL": [[d[i, j] for i in range(j + 1, n)] for j in range(n)],
        "UPPER_DIAG_COL": [[d[i, j] for i in range(j + 1)] for j in range(n)],
        "LOWER_DIAG_COL": [[d[i, j] for i in range(j, n)] for j in range(n)],
    }[fmt]
    flat = [int(v) for r in rows for v in r]
    body = "\n".join(" ".join(map(str, flat[k:k + 7])) for k in range(0, len(flat), 7))
    path.write_text(f"NAME: t\nTYPE: TSP\nDIMENSION: {n}\nEDGE_WEIGHT_TYPE: EXPLICIT\n"
                    f"EDGE_WEIGHT_FORMAT: {fmt}\nEDGE_WEIGHT_SECTION\n{body}\nEOF\n")


@pytest.mark.parametrize("fmt", sorted(EDGE_WEIGHT_FORMATS))
def test_every_explicit_format_round_trips(tmp_path, fmt):
    rng = np.random.default_rng(1)
    a = rng.integers(1, 100, (6, 6))
    d = np.triu(a, 1) + np.triu(a, 1).T
    _write_explicit(tmp_path / "t.tsp", d, fmt)
    assert np.array_equal(read_tsplib(tmp_path / "t.tsp").dist, d)


HEADER = "NAME: bad\nTYPE: TSP\nDIMENSION: 3\nEDGE_WEIGHT_TYPE: EUC_2D\n"


@pytest.mark.parametrize("text, where, what", [
    (HEADER + "NODE_COORD_SECTION\n1 0 0\n2 1 x\n3 2 2\nEOF\n", ":7:", "not a number"),
    (HEADER + "NODE_COORD_SECTION\n1 0 0\n2 1 1\nEOF\n", ":8:", "expected 9 numbers"),
    (HEADER + "NODE_COORD_SECTION\n1 0 0\n2 1 1\n2 2 2\nEOF\n", ":5:", "node numbers"),
    ("NAME: bad\nTYPE: TSP\nDIMENSION: 3\nEDGE_WEIGHT_TYPE: XRAY\nNODE_COORD_SECTION\n"
     "1 0 0\n2 1 1\n3 2 2\n", ":4:", "XRAY"),
    ("NAME: bad\nTYPE: ATSP\nDIMENSION: 3\n", ":2:", "symmetric"),
    ("NAME: bad\nTYPE: TSP\nDIMENSION: three\n", ":3:", "DIMENSION"),
    ("NAME: bad\nTYPE: TSP\nEDGE_WEIGHT_TYPE: EUC_2D\nNODE_COORD_SECTION\n1 0 0\n", ":4:",
     "DIMENSION"),
    ("NAME: bad\nTYPE: TSP\nDIMENSION: 3\nEDGE_WEIGHT_TYPE: EXPLICIT\nEDGE_WEIGHT_FORMAT: "
     "DIAGONAL\nEDGE_WEIGHT_SECTION\n1 2 3\n", ":6:", "EDGE_WEIGHT_FORMAT"),
    ("NAME: bad\nTYPE: TSP\nDIMENSION: 3\nEDGE_WEIGHT_TYPE: EXPLICIT\nEDGE_WEIGHT_FORMAT: "
     "FULL_MATRIX\nEDGE_WEIGHT_SECTION\n0 1 2\n1 0 3\n5 3 0\n", ":6:", "not symmetric"),
    (HEADER + "this is not a header\n", ":5:", "KEYWORD"),
    ("NAME: one\nTYPE: TSP\nDIMENSION: 1\nEDGE_WEIGHT_TYPE: EUC_2D\nNODE_COORD_SECTION\n"
     "1 0 0\nEOF\n", ":3:", "at least 3 cities"),
    ("NAME: two\nTYPE: TSP\nDIMENSION: 2\nEDGE_WEIGHT_TYPE: EUC_2D\nNODE_COORD_SECTION\n"
     "1 0 0\n2 1 1\nEOF\n", ":3:", "at least 3 cities"),
    (HEADER + "DIMENSION: 4\nNODE_COORD_SECTION\n1 0 0\n2 1 1\n3 2 2\n4 0 5\nEOF\n",
     ":5:", "DIMENSION is given twice, as '3' on line 3 and as '4'"),
    (HEADER + "EDGE_WEIGHT_TYPE: GEO\nNODE_COORD_SECTION\n1 0 0\n2 1 1\n3 2 2\nEOF\n",
     ":5:", "EDGE_WEIGHT_TYPE is given twice"),
    (HEADER + "NODE_COORD_SECTION\n1 0 0\n2 1e300 1\n3 2 -1e300\nEOF\n", ":5:",
     "overflow"),
])
def test_malformed_files_name_the_line(tmp_path, text, where, what):
    path = tmp_path / "bad.tsp"
    path.write_text(text)
    with pytest.raises(GenlabError) as err:
        read_tsplib(path)
    msg = str(err.value)
    assert f"bad.tsp{where}" in msg and what in msg, msg


def test_repeated_keywords_that_agree_are_accepted(tmp_path):
    path = tmp_path / "ok.tsp"
    path.write_text("NAME: ok\nCOMMENT: first\nCOMMENT: second\nTYPE: TSP\nDIMENSION: 3\n"
                    "EDGE_WEIGHT_TYPE: EUC_2D\nDIMENSION : 3\nNODE_COORD_SECTION\n"
                    "1 0 0\n2 3 4\n3 0 4\nEOF\n")
    inst = read_tsplib(path)
    assert inst.n == 3 and inst.dist[0, 1] == 5 and inst.comment == "first second"


def test_bad_optima_file(tmp_path):
    path = tmp_path / "OPTIMA.txt"
    path.write_bytes(b"x nan\n")
    with pytest.raises(GenlabError, match="OPTIMA.txt:1"):
        read_optima(path)
    path.write_bytes(b"x -3\n")
    with pytest.raises(GenlabError, match="OPTIMA.txt:1"):
        read_optima(path)
    path.write_bytes(b"\xff\xfe 12\n")  # not UTF-8: read byte for byte, like .tsp files
    assert read_optima(path) == {"\xff\xfe": 12.0}


@pytest.mark.parametrize("make, fragment", [
    (lambda p: p.write_bytes(b""), "is empty"),
    (lambda p: p.write_bytes(b"\x93NUMPY garbage"), "header is damaged"),
    (lambda p: p.write_bytes(b"random bytes, not numpy"), "not a valid .npy"),
    (lambda p: np.save(p, np.array([["a", "b"], ["c", "d"]])), "only arrays of numbers"),
    (lambda p: np.save(p, np.zeros((1, 1))), "at least 3 cities"),
])
def test_bad_npy_matrices(tmp_path, make, fragment):
    path = tmp_path / "d.npy"
    make(path)
    with pytest.raises(GenlabError, match=fragment) as err:
        load_instance(path)
    assert "pickle" not in str(err.value)


def test_bad_tour_files(tmp_path):
    path = tmp_path / "x.opt.tour"
    path.write_text("NAME: x\nTYPE: TOUR\nDIMENSION: 3\nTOUR_SECTION\n1\n2\n2\n-1\nEOF\n")
    with pytest.raises(GenlabError, match="permutation"):
        read_tour(path)
    path.write_text("NAME: x\nTYPE: TOUR\nDIMENSION: 3\nTOUR_SECTION\n1\n2\n3\n4\nEOF\n")
    with pytest.raises(GenlabError, match="-1"):
        read_tour(path)


def test_matrix_and_random_instances(tmp_path):
    inst = load_instance("random:7", seed=3)
    assert inst.n == 7 and np.allclose(inst.dist, inst.dist.T)
    x = inst.coords
    assert math.isclose(inst.dist[0, 1], float(np.hypot(*(x[0] - x[1]))))
    np.save(tmp_path / "d.npy", inst.dist)
    assert np.array_equal(load_instance(tmp_path / "d.npy").dist, inst.dist)
    for bad in (np.ones((3, 4)), np.array([[0, 1, 2], [1, 0, np.nan], [2, 1, 0]]),
                np.array([[0, 1, 2], [3, 0, 1], [2, 1, 0.0]]), -np.ones((3, 3)), np.zeros((2, 2))):
        with pytest.raises(GenlabError):
            from_matrix(bad)
