"""The Qt-free hazard register: commands with undo, persistence in a project, exports, progress."""
import datetime as dt

import geopandas as gpd
import numpy as np
import openpyxl
import pytest
import shapely

from riskmap import crs as crs_policy
from riskmap.analysis import register as reg
from riskmap.analysis.roads import detect_road_hazards
from riskmap.errors import ParameterError, ProjectError
from riskmap.project import Project

METRIC = 4547
X0, Y0 = 500000.0, 3560000.0


def road_metric():
    return shapely.LineString([(X0, Y0), (X0 + 2000, Y0), (X0 + 2000, Y0 + 1000)])


def to_map(x, y):
    lon, lat = crs_policy.transform_xy([x], [y], METRIC, 4490)
    return float(lon[0]), float(lat[0])


def manual(start, end, **fields):
    fields.setdefault("road", "X035鸡公山路")
    fields.setdefault("kind", "near_water")
    return reg.segment_on_road(road_metric(), METRIC, to_map(X0 + start, Y0 + 7), to_map(X0 + end, Y0 - 4), **fields)


def test_segment_on_road_snaps_both_clicks():
    seg = manual(1300, 300, severity="重大风险", county="浉河区")
    assert seg.start_m == pytest.approx(300, abs=0.01) and seg.end_m == pytest.approx(1300, abs=0.01)
    assert seg.km_label == "K0+300–K1+300"
    metric = crs_policy.transform_geometries(np.array([seg.geometry]), 4490, METRIC)[0]
    assert metric.length == pytest.approx(1000, abs=0.05)
    with pytest.raises(ParameterError, match="同一位置"):
        manual(500, 500.3)


def test_create_edit_undo_redo():
    r = reg.HazardRegister()
    events = []
    r.events.changed.connect(lambda **kw: events.append(kw["what"]))
    seg = manual(100, 400)
    create = reg.CreateSegments(r, [seg])
    create.do()
    assert r.ids() == [seg.id]
    edit = reg.EditSegment(r, seg.id, status="filed", deadline="2026-06-30", note="加装护栏", severity="重大风险")
    edit.do()
    s = r.get(seg.id)
    assert (s.status, s.deadline, s.note, s.severity) == ("filed", "2026-06-30", "加装护栏", "重大风险")
    edit.undo()
    assert (s.status, s.deadline, s.note, s.severity) == ("identified", None, "", "较大风险")
    edit.do()
    assert s.status == "filed"
    create.undo()
    assert len(r) == 0
    create.do()
    assert r.get(seg.id).status == "filed"
    assert events == ["segments"] * 6


@pytest.mark.parametrize("changes, match", [({"status": "done"}, "status 的值“done”无效"), ({"kind": "pothole"}, "kind 的值"),
                                            ({"deadline": "next spring"}, "整改期限“next spring”不是日期"), ({"start_m": 3}, "不能修改 start_m")])
def test_edit_rejects_bad_values(changes, match):
    r = reg.HazardRegister([manual(100, 400)])
    with pytest.raises(ParameterError, match=match):
        reg.EditSegment(r, r.ids()[0], **changes)


def test_split_and_merge_round_trip():
    r = reg.HazardRegister([manual(0, 1000, note="临河")])
    sid = r.ids()[0]
    split = reg.SplitSegment(r, sid, 400)
    split.do()
    first, second = r
    assert (first.id, first.start_m, first.end_m) == (sid, 0, 400)
    assert (second.start_m, second.end_m, second.note) == (400, 1000, "临河")
    lengths = crs_policy.transform_geometries(np.array([first.geometry, second.geometry]), 4490, METRIC)
    np.testing.assert_allclose(shapely.length(lengths), [400, 600], atol=0.05)
    reg.EditSegment(r, second.id, severity="重大风险", status="rectifying").do()
    merge = reg.MergeSegments(r, first.id, second.id)
    merge.do()
    (merged,) = r
    assert (merged.start_m, merged.end_m, merged.severity, merged.status) == (0, 1000, "重大风险", "identified")
    assert merged.geometry.geom_type == "LineString"
    merge.undo()
    assert [s.km_label for s in r] == ["K0+000–K0+400", "K0+400–K1+000"]
    split_again = reg.HazardRegister([manual(0, 1000)])
    cmd = reg.SplitSegment(split_again, split_again.ids()[0], 400)
    cmd.do()
    cmd.undo()
    (whole,) = split_again
    assert (whole.start_m, whole.end_m) == (0, 1000)
    with pytest.raises(ParameterError, match="不在路段"):
        reg.SplitSegment(split_again, whole.id, 1000)


def test_merge_refuses_gaps_other_kinds_other_roads():
    r = reg.HazardRegister([manual(0, 300), manual(500, 800), manual(300, 400, kind="near_cliff"),
                            manual(800, 900, road="G312")])
    a, b, c, d = r.ids()
    with pytest.raises(ParameterError, match="不相接"):
        reg.MergeSegments(r, a, b)
    with pytest.raises(ParameterError, match="同一类型"):
        reg.MergeSegments(r, a, c)
    with pytest.raises(ParameterError, match="同一道路"):
        reg.MergeSegments(r, b, d)


def test_delete_restores_order_on_undo():
    r = reg.HazardRegister([manual(0, 100), manual(200, 300), manual(400, 500)])
    ids = r.ids()
    cmd = reg.DeleteSegments(r, [ids[2], ids[0]])
    cmd.do()
    assert r.ids() == [ids[1]]
    cmd.undo()
    assert r.ids() == ids


@pytest.fixture
def candidates():
    coords = [(X0, Y0), (X0 + 150, Y0)]
    a = np.radians(np.linspace(0, 90, 30))
    coords += list(zip(X0 + 150 + 30 * np.sin(a), Y0 + 30 * (1 - np.cos(a))))
    coords += [(X0 + 180, Y0 + 200)]
    roads = gpd.GeoDataFrame({"name": ["Y108天台寨路"], "code": ["Y108"], "speed_kmh": [40]},
                             geometry=[shapely.LineString(coords)], crs=METRIC)
    water = gpd.GeoDataFrame({"name": ["南湾水库"]}, geometry=[shapely.box(X0, Y0 - 200, X0 + 140, Y0 - 20)],
                             crs=METRIC)
    segs, _ = detect_road_hazards(roads, water=water,
                                  params=__import__("riskmap.analysis.roads", fromlist=["x"]).RoadHazardParams(
                                      water_min_length_m=50))
    assert sorted(segs.kind) == ["near_water", "sharp_bend"]
    return reg.segments_from_candidates(segs)


def test_review_candidates_accept_and_reject(candidates):
    r = reg.HazardRegister()
    reg.SetCandidates(r, candidates).do()
    bend = next(c for c in candidates if c.kind == "sharp_bend")
    water = next(c for c in candidates if c.kind == "near_water")
    assert bend.source == "auto" and bend.attrs["radius_m"] == pytest.approx(30, rel=0.1)
    assert bend.road == "Y108天台寨路" and bend.road_code == "Y108" and "极限最小半径" in bend.note
    accept = reg.AcceptCandidates(r, [bend.id])
    accept.do()
    reject = reg.RejectCandidates(r, [water.id])
    reject.do()
    assert r.ids() == [bend.id] and not r.candidates
    reject.undo()
    accept.undo()
    assert not r.ids() and list(r.candidates) == [c.id for c in candidates]
    with pytest.raises(ParameterError):
        reg.AcceptCandidates(r, ["nope"])


def test_project_round_trip(tmp_path, candidates):
    project = Project()
    r = reg.HazardRegister().bind(project)
    seg = manual(100, 900, county="浉河区", deadline=dt.date(2026, 3, 31))
    reg.CreateSegments(r, [seg]).do()
    reg.SetCandidates(r, candidates).do()
    reg.EditSegment(r, seg.id, status="rectifying", attrs={"radius_m": 28.5}).do()
    assert project.modified
    path = project.save(tmp_path / "register.rmp")
    loaded = reg.HazardRegister.from_project(Project.load(path))
    back = loaded.get(seg.id)
    assert (back.status, back.deadline, back.county, back.km_label) == ("rectifying", "2026-03-31", "浉河区",
                                                                         "K0+100–K0+900")
    assert back.attrs == {"radius_m": 28.5}
    assert back.geometry.equals_exact(seg.geometry, 1e-7)
    assert list(loaded.candidates) == [c.id for c in candidates]
    assert len(reg.HazardRegister.from_project(Project())) == 0


def test_damaged_register_is_a_project_error():
    with pytest.raises(ProjectError):
        reg.HazardRegister.from_dict({"format": "something else"})
    with pytest.raises(ProjectError, match="更新版本"):
        reg.HazardRegister.from_dict({"format": "riskmap-road-register", "version": 99})


def test_progress_summary_per_county():
    today = dt.date(2025, 6, 1)
    r = reg.HazardRegister([
        manual(0, 100, county="浉河区", kind="sharp_bend", status="closed"),
        manual(100, 200, county="浉河区", kind="sharp_bend", deadline="2025-01-01"),
        manual(200, 300, county="浉河区", kind="black_spot", status="rectifying", deadline="2026-01-01"),
        manual(300, 400, county="新县", kind="near_cliff", status="closed", deadline="2024-01-01"),
        manual(400, 500, kind="near_water"),
    ])
    summary = r.progress_summary(today).set_index("county")
    assert summary.loc["浉河区", "sharp_bend"] == 2 and summary.loc["浉河区", "black_spot"] == 1
    assert summary.loc["浉河区", "total"] == 3 and summary.loc["浉河区", "closed"] == 1
    assert summary.loc["浉河区", "closed_pct"] == pytest.approx(33.3)
    assert summary.loc["浉河区", "overdue"] == 1  # closed segments are never overdue
    assert summary.loc["新县", "closed_pct"] == 100.0 and summary.loc["新县", "overdue"] == 0
    assert summary.loc["未分县", "near_water"] == 1
    assert summary.loc["合计", "total"] == 5 and summary.loc["合计", "closed"] == 2
    assert list(reg.HazardRegister().progress_summary().columns)[:2] == ["county", "sharp_bend"]


def test_exports(tmp_path, candidates):
    r = reg.HazardRegister([manual(0, 300, county="浉河区", note="<b>护栏</b>")], candidates)
    from riskmap.exports.report import write_register_excel, write_register_gpkg

    gpkg = write_register_gpkg(r, tmp_path / "register.gpkg")
    back = gpd.read_file(gpkg, layer="hazard_register")
    assert back.crs.to_epsg() == 4490 and back.km_label.tolist() == ["K0+000–K0+300"]
    assert len(gpd.read_file(gpkg, layer="hazard_candidates")) == len(candidates)
    xlsx = write_register_excel(r, tmp_path / "register.xlsx")
    wb = openpyxl.load_workbook(xlsx)
    assert [s.title for s in wb.worksheets if s.sheet_state == "visible"] == ["隐患路段登记", "县区进度", "变更记录",
                                                                                "来源说明"]
    header = [c.value for c in wb["隐患路段登记"][1]]
    assert {"道路名称", "隐患类型", "桩号范围", "状态", "整改期限"} <= set(header)
    row = [c.value for c in wb["隐患路段登记"][2]]
    assert "临水" in row and "排查" in row and "<b>护栏</b>" in row
    assert [c.value for c in wb["县区进度"][1]][:3] == ["县区", "急弯", "陡坡"]


def test_stationing_is_kept_through_edits_and_a_saved_project(tmp_path):
    """A road starting at K812+300 with a 长链 K813+000=K812+950 (at measured 700 m)."""
    project = Project()
    r = reg.HazardRegister().bind(project)
    seg = manual(300, 1300, stationing="K812+300；K813+000=K812+950")
    assert seg.km_label == "K812+600–K813+550"
    reg.CreateSegments(r, [seg]).do()
    split = reg.SplitSegment(r, seg.id, 800)
    split.do()
    assert [s.km_label for s in r] == ["K812+600–K813+050", "K813+050–K813+550"]
    assert "K813+050" in split.text
    split.undo()
    path = project.save(tmp_path / "stations.rmp")
    back = reg.HazardRegister.from_project(Project.load(path)).get(seg.id)
    assert back.stationing == "K812+300；K813+000=K812+950" and back.km_label == "K812+600–K813+550"
    gdf = reg.HazardRegister([back]).to_gdf()
    assert (gdf.km_start.iloc[0], gdf.km_end.iloc[0]) == ("K812+600", "K813+550")


def test_candidates_carry_the_road_stationing():
    roads = gpd.GeoDataFrame({"name": ["G312"], "start_km": ["K812+300"], "breaks": ["K813+000=K813+100"]},
                             geometry=[shapely.LineString([(X0, Y0), (X0 + 5000, Y0)])], crs=METRIC)
    acc = gpd.GeoDataFrame({"date": ["2025-01-01"] * 3, "deaths": [0, 1, 0], "injuries": [1, 0, 2]},
                           geometry=[shapely.Point(X0 + c, Y0) for c in (2000, 2100, 2200)], crs=METRIC)
    segs, _ = detect_road_hazards(roads, accidents=acc, kinds=["black_spot"])
    (cand,) = reg.segments_from_candidates(segs)
    assert cand.km_label == "K814+350–K814+650" == segs.km_label.iloc[0]  # 1950 + 812300 + 100 (短链)


def test_older_severity_codes_are_read_as_risk_levels():
    seg = manual(0, 300)
    d = seg.to_dict()
    for old, level in (("low", "一般风险"), ("medium", "较大风险"), ("high", "重大风险")):
        d["severity"] = old
        assert reg.Segment.from_dict(d).severity == level
    with pytest.raises(ParameterError):
        reg.EditSegment(reg.HazardRegister([seg]), seg.id, severity="较大事故")
