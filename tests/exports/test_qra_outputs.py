"""QRA results in the outputs: map layers and their legend (riskmap.exports.qra_map), the Excel F-N chart, the HTML
meeting map (page data and headless Chromium) and ``riskmap export-html --qra``.

The run is ``riskmap qra`` on the sample's two chlorine plants (信阳市淮源氯碱化工有限公司, the acceptance's plant,
and 信阳市江淮化工有限公司 in the town core) with the sample's population and sensitive targets.
"""
import math
import unicodedata

import geopandas as gpd
import pytest
import shapely

from riskmap.cli import main
from riskmap.exports import qra_map
from riskmap.sample import sample_path

HUAIYUAN = "信阳市淮源氯碱化工有限公司"
JIANGHUAI = "信阳市江淮化工有限公司"


@pytest.fixture(scope="module")
def qra_run(tmp_path_factory):
    """``riskmap qra`` on the two chlorine plants: (GeoPackage, report, plants file)."""
    tmp = tmp_path_factory.mktemp("qra")
    plants = gpd.read_file(sample_path("enterprises"))
    plants = plants.loc[plants["name"].isin([HUAIYUAN, JIANGHUAI])]
    plants_file = tmp / "plants.gpkg"
    plants.to_file(plants_file)
    gpkg, xlsx = tmp / "qra.gpkg", tmp / "qra.xlsx"
    code = main(["qra", "--plants", str(plants_file), "--population", str(sample_path("population")),
                 "--sensitive", str(sample_path("sensitive")), "--out", str(gpkg), "--report", str(xlsx)])
    assert code == 0
    return gpkg, xlsx, plants_file


# ---------------------------------------------------------------------------
# layers and legend
# ---------------------------------------------------------------------------
def test_level_labels_by_hand():
    assert qra_map.level_text(3e-5) == "3×10⁻⁵"
    assert qra_map.level_text(1e-5) == "1×10⁻⁵"
    assert qra_map.level_text(3e-7) == "3×10⁻⁷"
    assert qra_map.level_label(1e-6) == "个人风险 1×10⁻⁶/年"
    from riskmap.i18n import set_language

    set_language("en")
    try:
        assert qra_map.level_label(1e-6) == "Individual risk 1×10⁻⁶/yr"
        assert qra_map.contour_style([3e-7]).legend() == [("Individual risk 3×10⁻⁷/yr", "#b10026")]
    finally:
        set_language("zh")


def _luminance(hex_colour):
    r, g, b = (int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_contour_style_is_graded_and_keyed_on_the_written_labels(qra_run):
    gpkg, _xlsx, _plants = qra_run
    contours, _targets, _plants_out, _record = qra_map.read_qra_result(gpkg)
    levels = (3e-5, 1e-5, 3e-6, 1e-6, 3e-7)
    style = qra_map.contour_style(levels)
    # the legend: highest level first, GB 36894 wording, one distinct colour per level, darker for higher risk
    assert [label for label, _c in style.legend()] == [
        "个人风险 3×10⁻⁵/年", "个人风险 1×10⁻⁵/年", "个人风险 3×10⁻⁶/年", "个人风险 1×10⁻⁶/年", "个人风险 3×10⁻⁷/年"]
    colours = [c for _label, c in style.legend()]
    assert len(set(colours)) == 5
    assert all(_luminance(a) < _luminance(b) for a, b in zip(colours, colours[1:]))
    # each contour written by the analysis gets its level's colour (its level_label is the category key)
    got = style.colors_for(contours["level_label"].to_numpy())
    by_level = dict(zip(sorted(levels, reverse=True), colours))
    assert len(contours) and list(got) == [by_level[float(v)] for v in contours["level"]]
    # drawn lowest level (largest polygon) first, so the higher ones lie on top
    ordered = qra_map.contours_frame(contours)
    assert list(ordered["level"]) == sorted(contours["level"])


def test_targets_are_flagged_by_criterion_and_contour():
    t = gpd.GeoDataFrame({"name": ["甲", "乙", "丙", "丁"], "ir": [5e-6, 5e-7, 1e-7, 3e-7],
                          "exceeds": [True, False, False, False]},
                         geometry=shapely.points([0, 1, 2, 3], 0), crs=4547)
    out = qra_map.targets_frame(t, (3e-5, 1e-5, 3e-6, 1e-6, 3e-7))
    assert list(out["flag"]) == ["exceeds", "inside", "outside", "inside"]  # 3e-7 reaches the 3e-7 contour
    assert list(out["contour"]) == ["个人风险 3×10⁻⁶/年", "个人风险 3×10⁻⁷/年", "", "个人风险 3×10⁻⁷/年"]
    style = qra_map.targets_style()
    assert list(style.colors_for(out["flag"])) == ["#d7191c", "#fd8d3c", "#8c8c8c", "#fd8d3c"]


def test_add_qra_layers_from_the_geopackage_zooms_to_the_focus_plant(qra_run):
    from riskmap.errors import ParameterError
    from riskmap.project import Project

    gpkg, _xlsx, _plants = qra_run
    project = Project()
    added = qra_map.add_qra_layers(project, gpkg, focus="淮源氯碱")
    assert [layer.name for layer in added] == ["个人风险等值线", "定量风险评价企业", "防护目标判定"]
    contours = added[0]
    assert contours.style.field == "level_label" and len(contours.gdf) > 0
    assert contours.provenance["analysis"] == "qra" and contours.provenance["results_sha256"]
    assert contours.aliases["level_label"] == "等值线"
    # the view: the 淮源 contours with a margin, not 江淮's (a few km away)
    mine = contours.gdf.loc[contours.gdf["plants"].str.contains(HUAIYUAN)]
    x0, y0, x1, y1 = project.extent
    mx0, my0, mx1, my1 = mine.to_crs(project.map_crs).total_bounds
    assert x0 < mx0 and y0 < my0 and x1 > mx1 and y1 > my1
    jh = contours.gdf.loc[contours.gdf["plants"].str.contains(JIANGHUAI)].to_crs(project.map_crs)
    assert not shapely.box(x0, y0, x1, y1).intersects(shapely.union_all(jh.geometry.values))
    with pytest.raises(ParameterError, match="不存在的厂"):
        qra_map.add_qra_layers(Project(), gpkg, focus="不存在的厂")


# ---------------------------------------------------------------------------
# the Excel F-N chart
# ---------------------------------------------------------------------------
def _cells(ws, ref):
    """Values of the cells a chart reference like ``'sheet'!$C$2:$C$9`` points to."""
    rng = ref.split("!")[1].replace("$", "")
    return [row[0].value for row in ws[rng]]


def test_report_has_a_log_log_fn_chart_over_the_sheet_rows(qra_run):
    from openpyxl import load_workbook
    from openpyxl.chart import ScatterChart

    gpkg, xlsx, _plants = qra_run
    wb = load_workbook(xlsx)
    ws = wb["社会风险F-N曲线"]
    assert len(ws._charts) == 1
    chart = ws._charts[0]
    assert isinstance(chart, ScatterChart)
    assert chart.x_axis.scaling.logBase == 10 and chart.y_axis.scaling.logBase == 10
    header = [c.value for c in ws[1]]
    n_col, f_col = header.index("死亡人数N(人)"), header.index("累积频率F（≥N）(/a)")
    names = [row[1] for row in ws.iter_rows(min_row=2, values_only=True)]
    scopes = [row[0] for row in ws.iter_rows(min_row=2, values_only=True)]
    series = {s.tx.v: s for s in chart.series}
    assert set(series) == {HUAIYUAN, JIANGHUAI, "不可接受线F", "可接受线F"}
    for plant in (HUAIYUAN, JIANGHUAI):
        s = series[plant]
        xs, ys = _cells(ws, s.xVal.numRef.f), _cells(ws, s.yVal.numRef.f)
        rows = [i for i, (sc, nm) in enumerate(zip(scopes, names)) if sc == "企业" and nm == plant]
        # the series covers exactly this plant's rows of the N and F columns
        assert s.xVal.numRef.f.split("!")[1] == f"${chr(65 + n_col)}${rows[0] + 2}:${chr(65 + n_col)}${rows[-1] + 2}"
        assert s.yVal.numRef.f.split("!")[1] == f"${chr(65 + f_col)}${rows[0] + 2}:${chr(65 + f_col)}${rows[-1] + 2}"
        assert len(xs) == len(ys) == len(rows) > 1
        assert all(b >= a for a, b in zip(xs, xs[1:])) and all(b <= a for a, b in zip(ys, ys[1:]))  # a CCDF
    # the criterion lines: GB 36894-2018 F·N = 1e-3 and 1e-5 (STANDARDS.md §2), from N = 1 to the axis end
    up, lo = series["不可接受线F"], series["可接受线F"]
    n_line = _cells(ws, up.xVal.numRef.f)
    assert n_line[0] == 1 and n_line[1] >= 10 ** math.ceil(math.log10(max(_cells(ws, series[JIANGHUAI].xVal.numRef.f))))
    assert _cells(ws, up.yVal.numRef.f) == pytest.approx([1e-3 / n for n in n_line], rel=1e-12)
    assert _cells(ws, lo.yVal.numRef.f) == pytest.approx([1e-5 / n for n in n_line], rel=1e-12)


def test_chart_lines_follow_the_declared_criteria(qra_run, tmp_path):
    from openpyxl import load_workbook

    _gpkg, _xlsx, plants_file = qra_run
    from riskmap.analysis.registry import QRA
    from riskmap.analysis.result import run_analysis
    from riskmap.exports.report import write_report

    params = QRA.params.build(sr_upper=2e-3, sr_lower=4e-6, radius_m=1500.0)
    result = run_analysis(QRA, {"plants": gpd.read_file(plants_file), "population": str(sample_path("population"))},
                          params)
    out = write_report(result, tmp_path / "r.xlsx", QRA, lang="en")
    wb = load_workbook(out)
    ws = wb["F-N curves"]
    chart = ws._charts[0]
    series = {s.tx.v: s for s in chart.series}
    up = series["Intolerable line F"]
    n_line = _cells(ws, up.xVal.numRef.f)
    assert _cells(ws, up.yVal.numRef.f) == pytest.approx([2e-3 / n for n in n_line], rel=1e-12)
    assert _cells(ws, series["Acceptable line F"].yVal.numRef.f) == pytest.approx([4e-6 / n for n in n_line],
                                                                                   rel=1e-12)
    assert chart.x_axis.title is not None


# ---------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------
def _qra_html(qra_run, out, focus=HUAIYUAN):
    gpkg, _xlsx, _plants = qra_run
    code = main(["export-html", "--sample", "--no-rasters", "--qra", str(gpkg), "--qra-focus", focus,
                 "--out", str(out)])
    assert code == 0
    return out


def test_html_export_carries_the_contours_targets_and_legend(qra_run, tmp_path):
    from riskmap.exports.html import read_page_data

    gpkg, _xlsx, _plants = qra_run
    out = _qra_html(qra_run, tmp_path / "qra.html")
    data = read_page_data(out.read_text(encoding="utf-8"))
    specs = {s["name"]: s for s in data["layers"]}
    contours = gpd.read_file(gpkg, layer="contours")
    c = specs["个人风险等值线"]
    assert c["kind"] == "polygon" and c["count"] == len(contours) > 0 and c["group"] == "analysis"
    legend = [label for label, _colour in c["legend"]]
    assert legend[0] == "个人风险 3×10⁻⁵/年" and legend[-1] == "个人风险 3×10⁻⁷/年"
    # the 淮源 contours are among the features (read from the attribute columns where the page keeps them so)
    if "cols" in c and "fields" in c:
        plants_col = c["cols"][c["fields"].index("plants")]
        values = plants_col if isinstance(plants_col, list) else [plants_col["k"][i] for i in plants_col["i"]]
        assert sum(HUAIYUAN in v for v in values) == int(contours["plants"].str.contains(HUAIYUAN).sum()) >= 1
    t = specs["防护目标判定"]
    targets = gpd.read_file(gpkg, layer="targets")
    assert t["count"] == len(targets) and {label for label, _c in t["legend"]} >= {"超过个人风险基准",
                                                                                  "位于个人风险等值线内"}
    # the page opens on the 淮源 contours
    mine = contours.loc[contours["plants"].str.contains(HUAIYUAN)].to_crs(4326)
    (s, w), (n, e) = data["bounds"]
    cx, cy = mine.union_all().centroid.coords[0]
    assert w < cx < e and s < cy < n and (e - w) < 0.05
    assert "结果来源" in out.read_text(encoding="utf-8") and "定量风险评价" in out.read_text(encoding="utf-8")


def test_export_html_refuses_a_non_qra_geopackage(tmp_path, capsys):
    other = tmp_path / "roads.gpkg"
    gpd.GeoDataFrame({"name": ["甲"]}, geometry=[shapely.Point(114, 32)], crs=4490).to_file(other, layer="roads")
    code = main(["export-html", "--sample", "--no-rasters", "--qra", str(other), "--out", str(tmp_path / "x.html")])
    err = capsys.readouterr().err
    assert code == 2 and "contours" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_qra_focus_needs_qra(tmp_path, capsys):
    code = main(["export-html", "--sample", "--no-rasters", "--qra-focus", "淮源", "--out", str(tmp_path / "x.html")])
    err = capsys.readouterr().err
    assert code == 2 and "--qra-focus 须与 --qra" in err and "Traceback" not in err


@pytest.mark.chromium
def test_html_contours_are_painted_in_chromium(qra_run, tmp_path):
    import json

    from test_html_chromium import CHROMIUM, chromium, console_problems, errors_of, status_of

    if CHROMIUM is None:
        pytest.skip("Chromium is not installed")
    from riskmap.exports.html import read_page_data

    out = _qra_html(qra_run, tmp_path / "qra.html")
    run = chromium(out.as_uri() + "#rm-selftest", tmp_path, "--dump-dom")
    assert run.returncode == 0, run.stderr[-2000:]
    status = status_of(run.stdout)
    assert status.get("data-ready") == "1" and errors_of(run.stdout) == ""
    assert console_problems(run.stderr) == []
    layers = json.loads(status["data-layers"])
    specs = {s["name"]: s for s in read_page_data(out.read_text(encoding="utf-8"))["layers"]}
    contour = layers[specs["个人风险等值线"]["id"]]
    assert contour["onMap"] and contour["built"] == specs["个人风险等值线"]["count"] and contour["painted"] > 0
    # the legend shows the contour levels
    assert "个人风险 3×10⁻⁷/年" in unicodedata.normalize("NFC", run.stdout.replace("&nbsp;", " "))
