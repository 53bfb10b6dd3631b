"""Linear referencing: km-post labels, resampling, substrings, snapping."""
import numpy as np
import pytest
import shapely

from riskmap.analysis import linear
from riskmap.errors import ParameterError


@pytest.mark.parametrize("m, label", [(0, "K0+000"), (12300.4, "K12+300"), (999.6, "K1+000"), (1005, "K1+005"),
                                      (123456, "K123+456")])
def test_km_post(m, label):
    assert linear.km_post(m) == label


def test_km_range_and_parse_round_trip():
    assert linear.km_range(12300, 12420) == "K12+300–K12+420"
    assert linear.parse_km_post("K12+300") == 12300.0
    assert linear.parse_km_post("k3+050.5") == 3050.5
    assert linear.parse_km_post("250") == 250.0
    with pytest.raises(ParameterError):
        linear.parse_km_post("twelve")


def test_km_post_of_nan_is_empty():
    assert linear.km_post(float("nan")) == ""


def test_resample_keeps_ends_and_spacing():
    lines = np.array([shapely.LineString([(0, 0), (100, 0), (100, 53)]), shapely.LineString([(0, 10), (7, 10)])])
    r = linear.resample(lines, 5.0)
    first = r.xy[r.starts[:-1]]
    last = r.xy[r.starts[1:] - 1]
    np.testing.assert_allclose(first, [[0, 0], [0, 10]])
    np.testing.assert_allclose(last, [[100, 53], [7, 10]])
    # part 0: 153 m in 31 equal steps of 4.935 m; the corner point lies on the line
    assert r.starts[1] - r.starts[0] == 32
    np.testing.assert_allclose(r.spacing[0], 153 / 31)
    d = np.hypot(*np.diff(r.xy[:32], axis=0).T)
    assert d.max() <= 5.0 + 1e-9
    assert np.all(shapely.dwithin(shapely.points(r.xy[:32]), lines[0], 1e-9))
    np.testing.assert_allclose(r.local[r.starts[1] - 1], 153.0)


def test_resample_rejects_bad_spacing():
    with pytest.raises(ParameterError):
        linear.resample([shapely.LineString([(0, 0), (1, 0)])], 0)


def test_line_parts_offsets_follow_part_order():
    multi = shapely.MultiLineString([[(0, 0), (10, 0)], [(50, 0), (80, 0)]])
    single = shapely.LineString([(0, 5), (5, 5)])
    parts, owner, offset = linear.line_parts(np.array([multi, single]))
    assert list(owner) == [0, 0, 1]
    np.testing.assert_allclose(offset, [0, 10, 0])
    # GEOS agrees: a point on the second part is at 10 + 15 = 25 m
    assert shapely.line_locate_point(multi, shapely.Point(65, 1)) == pytest.approx(25.0)


def test_line_parts_merges_touching_pieces():
    multi = shapely.MultiLineString([[(0, 0), (10, 0)], [(10, 0), (10, 10)]])
    parts, owner, offset = linear.line_parts(np.array([multi]))
    assert len(parts) == 1 and parts[0].length == pytest.approx(20)


def test_substring_single_and_multi():
    line = shapely.LineString([(0, 0), (100, 0), (100, 100)])
    sub = linear.substring(line, 50, 150)
    assert sub.length == pytest.approx(100)
    assert list(sub.coords) == [(50, 0), (100, 0), (100, 50)]
    assert linear.substring(line, 150, 50).equals(sub)
    assert linear.substring(line, -10, 1e9).length == pytest.approx(200)
    multi = shapely.MultiLineString([[(0, 0), (10, 0)], [(50, 0), (80, 0)]])
    piece = linear.substring(multi, 5, 20)
    assert piece.geom_type == "MultiLineString" and piece.length == pytest.approx(15)
    assert linear.substring(multi, 12, 20).length == pytest.approx(8)


def test_snap_points_within_tolerance_only():
    lines = np.array([shapely.LineString([(0, 0), (1000, 0)]), shapely.LineString([(0, 500), (1000, 500)])])
    pts = shapely.points([(100, 20), (300, 480), (600, 250)])
    snap = linear.snap_points(pts, lines, tolerance=50)
    assert list(snap.line) == [0, 1, -1]
    np.testing.assert_allclose(snap.chainage[:2], [100, 300])
    np.testing.assert_allclose(snap.distance[:2], [20, 20])
    assert np.isnan(snap.chainage[2]) and snap.point[2] is None
    assert list(snap.found) == [True, True, False]


def test_runs_with_breaks():
    mask = np.array([1, 1, 0, 1, 1, 1, 0, 1], bool)
    brk = np.zeros(8, bool)
    brk[4] = True
    a, b = linear.runs(mask, brk)
    assert list(a) == [0, 3, 4, 7] and list(b) == [1, 3, 5, 7]
    a, b = linear.group_runs(np.array([1, 1, 1, -1, -1, 1, 1, 1]), np.ones(8, bool))
    assert list(a) == [0, 3, 5] and list(b) == [2, 4, 7]


@pytest.mark.parametrize("text", ["K812+300", "k812+300", "K812 + 300", " k812+300.0 ", "Ｋ812＋300", "812300"])
def test_parse_km_post_variants(text):
    assert linear.parse_km_post(text) == 812300.0


def test_stationing_start_and_a_long_chain():
    # start K812+300; 断链 K815+200=K815+150 (长链 50 m): the break lies at measured 2900 m
    s = linear.Stationing.parse("K812+300", "K815+200=K815+150")
    assert s.break_chainages.tolist() == [2900.0]
    assert s.labels([0, 1000, 2899, 2900, 3000]).tolist() == ["K812+300", "K813+300", "K815+199", "K815+150",
                                                             "K815+250"]
    assert s.range_label(2800, 3100) == "K815+100–K815+350"
    # the stations K815+150…K815+200 occur twice: measure() gives the first
    assert s.measure(815150) == 2850.0 and s.measure(815300) == 3050.0
    assert s.describe() == "起点K812+300；断链K815+200=K815+150（长链50 m）"
    assert linear.Stationing.from_text(s.to_text()) == s


def test_stationing_short_chain_and_several_breaks():
    # 短链 K1+000=K1+100 at 1000 m, then 长链 K2+500=K2+480 at measured 2400 m
    s = linear.Stationing.parse(None, "K1+000=K1+100; K2+500=K2+480")
    assert s.break_chainages.tolist() == [1000.0, 2400.0]
    assert s.labels([999, 1000, 2399, 2400, 3000]).tolist() == ["K0+999", "K1+100", "K2+499", "K2+480", "K3+080"]
    assert s.measure(1100) == 1000.0 and s.measure(2490) == 2390.0
    with pytest.raises(ParameterError):
        s.measure(1050)  # a station the 短链 skips
    assert s.describe().endswith("断链K2+500=K2+480（长链20 m）")


def test_stationing_plain_and_bad_input():
    assert linear.Stationing.parse("", None).is_plain and linear.Stationing.from_text("").labels([12300]).tolist() \
        == ["K12+300"]
    with pytest.raises(ParameterError):
        linear.Stationing.parse("K1+000", "K1+500")  # no "="
    with pytest.raises(ParameterError):
        linear.Stationing.parse("K5+000", "K4+000=K4+100")  # before the start
