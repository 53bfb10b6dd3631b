"""Register history (变更记录): one row per change with time, user and old → new value, per kind of edit."""
import datetime as dt

import openpyxl
import pytest
import shapely

from riskmap.analysis import register as reg
from riskmap.errors import ParameterError
from riskmap.exports.report import write_register_excel
from riskmap.project import Project

from tests.analysis.test_register import METRIC, X0, Y0, candidates, manual, road_metric  # noqa: F401


@pytest.fixture(autouse=True)
def user(monkeypatch):
    monkeypatch.setenv(reg.USER_ENV, "张工")


def rows(r, **match):
    return [h for h in r.history if all(h[k] == v for k, v in match.items())]


def test_created_and_time_user():
    r = reg.HazardRegister()
    seg = manual(100, 400)
    before = dt.datetime.now().astimezone().replace(microsecond=0)
    reg.CreateSegments(r, [seg]).do()
    (h,) = r.history
    assert (h["segment"], h["action"], h["old"], h["new"], h["user"]) == (seg.id, "created", "", "K0+100–K0+400",
                                                                           "张工")
    assert dt.datetime.fromisoformat(h["time"]) >= before
    assert h["road"] == "X035鸡公山路"


@pytest.mark.parametrize("field, value, old, new", [
    ("status", "closed", "排查", "已销号"),
    ("deadline", "2026-06-30", "", "2026-06-30"),
    ("note", "加装护栏", "", "加装护栏"),
    ("severity", "重大风险", "较大风险（橙）", "重大风险（红）"),
    ("severity", "high", "较大风险（橙）", "重大风险（红）"),  # the old code is read as its level
    ("kind", "near_cliff", "临水", "临崖"),
])
def test_edit_rows_old_to_new(field, value, old, new):
    r = reg.HazardRegister([manual(100, 400)])
    sid = r.ids()[0]
    reg.EditSegment(r, sid, **{field: value}).do()
    (h,) = r.history
    assert (h["segment"], h["action"], h["old"], h["new"]) == (sid, field, old, new)


def test_one_row_per_field_changed():
    r = reg.HazardRegister([manual(100, 400)])
    reg.EditSegment(r, r.ids()[0], status="filed", deadline="2026-01-31").do()
    assert [(h["action"], h["new"]) for h in r.history] == [("status", "建档"), ("deadline", "2026-01-31")]


def test_extent_row_and_undo_row():
    r = reg.HazardRegister([manual(100, 400)])
    sid = r.ids()[0]
    cmd = reg.SetExtent(r, sid, 250, 600, road_metric(), METRIC)
    cmd.do()
    assert r.get(sid).km_label == "K0+250–K0+600"
    cmd.undo()
    assert r.get(sid).km_label == "K0+100–K0+400"
    assert [(h["action"], h["old"], h["new"]) for h in r.history] == [
        ("extent", "K0+100–K0+400", "K0+250–K0+600"), ("undo", "K0+250–K0+600", "K0+100–K0+400")]
    assert r.history[1]["text"].startswith("撤销：")


def test_split_rows_name_both_pieces():
    r = reg.HazardRegister([manual(0, 1000)])
    sid = r.ids()[0]
    reg.SplitSegment(r, sid, 400, new_id="second").do()
    assert [(h["segment"], h["action"], h["old"], h["new"]) for h in r.history] == [
        (sid, "split", "K0+000–K1+000", "K0+000–K0+400 + K0+400–K1+000"),
        ("second", "split", "K0+000–K1+000", "K0+400–K1+000")]


def test_merge_rows():
    r = reg.HazardRegister([manual(0, 300), manual(300, 700)])
    a, b = r.ids()
    reg.MergeSegments(r, a, b).do()
    assert [(h["segment"], h["action"], h["old"], h["new"]) for h in r.history] == [
        (a, "merged", "K0+000–K0+300 + K0+300–K0+700", "K0+000–K0+700"),
        (b, "merged", "K0+300–K0+700", f"并入 {a}（K0+000–K0+700）")]


def test_deleted_row_keeps_county_for_the_county_view():
    r = reg.HazardRegister([manual(0, 300, county="新县"), manual(300, 700, county="光山县")])
    a, b = r.ids()
    reg.DeleteSegments(r, [a]).do()
    (h,) = r.history
    assert (h["segment"], h["action"], h["old"], h["new"]) == (a, "deleted", "K0+000–K0+300", "")
    assert list(r.history_frame(county="新县")["segment"]) == [a]
    assert r.history_frame(county="光山县").empty
    assert list(r.history_frame(seg_id=a)["action"]) == ["deleted"]


def test_accepted_and_rejected_candidates(candidates):  # noqa: F811
    r = reg.HazardRegister()
    reg.SetCandidates(r, candidates).do()
    assert r.history == []  # a detection run is not a change of a segment
    first, second = candidates
    reg.AcceptCandidates(r, [first.id]).do()
    reg.RejectCandidates(r, [second.id]).do()
    assert [(h["segment"], h["action"], h["old"], h["new"]) for h in r.history] == [
        (first.id, "accepted", "候选", first.km_label), (second.id, "rejected", "候选", "")]


def test_undo_and_redo_append_rows():
    r = reg.HazardRegister()
    cmd = reg.CreateSegments(r, [manual(100, 400)])
    cmd.do()
    cmd.undo()
    cmd.do()
    assert [h["action"] for h in r.history] == ["created", "undo", "created"]
    assert r.history[1]["old"] == "K0+100–K0+400" and r.history[1]["new"] == ""


def test_user_override_on_the_register(monkeypatch):
    r = reg.HazardRegister([manual(100, 400)])
    r.user = "李四"
    reg.EditSegment(r, r.ids()[0], note="x").do()
    assert r.history[0]["user"] == "李四"
    monkeypatch.delenv(reg.USER_ENV)
    import getpass
    assert reg.current_user() == getpass.getuser()


def test_history_survives_save_and_reopen(tmp_path):
    project = Project()
    r = reg.HazardRegister().bind(project)
    seg = manual(100, 400)
    reg.CreateSegments(r, [seg]).do()
    reg.EditSegment(r, seg.id, status="rectifying").do()
    path = project.save(tmp_path / "h.rmp")
    back = reg.HazardRegister.from_project(Project.load(path))
    assert back.history == r.history and len(back.history) == 2


def test_extent_cannot_leave_the_road():
    r = reg.HazardRegister([manual(100, 400)])
    with pytest.raises(ParameterError, match="道路范围"):
        reg.SetExtent(r, r.ids()[0], 2500, 3100, road_metric(), METRIC)  # the road is 3000 m long
    with pytest.raises(ParameterError, match="1 米"):
        reg.SetExtent(r, r.ids()[0], 400, 400.5, road_metric(), METRIC)
    assert r.history == []


def test_extent_geometry_is_cut_from_the_road():
    from riskmap import crs as crs_policy
    import numpy as np

    r = reg.HazardRegister([manual(100, 400)])
    sid = r.ids()[0]
    reg.SetExtent(r, sid, 1500, 2500, road_metric(), METRIC).do()  # round the corner at 2000 m
    geom = crs_policy.transform_geometries(np.array([r.get(sid).geometry]), 4490, METRIC)[0]
    assert geom.length == pytest.approx(1000, abs=0.05)
    start, end = shapely.get_coordinates(geom)[[0, -1]]
    np.testing.assert_allclose(start, [X0 + 1500, Y0], atol=0.01)
    np.testing.assert_allclose(end, [X0 + 2000, Y0 + 500], atol=0.01)


def test_excel_has_the_change_sheet(tmp_path):
    r = reg.HazardRegister([manual(100, 400, county="浉河区")])
    sid = r.ids()[0]
    reg.EditSegment(r, sid, status="closed").do()
    cmd = reg.EditSegment(r, sid, note="已加装护栏")
    cmd.do()
    cmd.undo()
    path = write_register_excel(r, tmp_path / "reg.xlsx", lang="zh")
    wb = openpyxl.load_workbook(path)
    assert "变更记录" in wb.sheetnames
    ws = wb["变更记录"]
    values = list(ws.values)
    assert values[0] == ("时间", "用户", "路段编号", "县区", "道路名称", "桩号", "操作", "原值", "新值", "说明")
    assert [(v[1], v[2], v[3], v[6], v[7], v[8]) for v in values[1:]] == [
        ("张工", sid, "浉河区", "状态", "排查", "已销号"),
        ("张工", sid, "浉河区", "说明", None, "已加装护栏"),
        ("张工", sid, "浉河区", "撤销", "已加装护栏", None)]
