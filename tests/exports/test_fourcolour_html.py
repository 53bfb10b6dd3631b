"""The four-colour map in the HTML export: the styled township layer carries through (colours, legend)."""
import geopandas as gpd
import numpy as np
import shapely

from riskmap.analysis.registry import FOURCOLOUR
from riskmap.analysis.result import run_analysis
from riskmap.exports.fourcolour_style import add_fourcolour_layers
from riskmap.exports.html import export_html, read_page_data
from riskmap.project import Project

GK = "EPSG:4547"
X0, Y0 = 500000.0, 3550000.0


def _gdf(rows, geoms):
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=GK).to_crs(4490)


def test_township_colours_and_legend_reach_the_page(tmp_path):
    towns = _gdf({"name": ["甲镇", "乙镇", "丙乡"], "county": ["一县"] * 3},
                 [shapely.box(X0 + i * 1000, Y0, X0 + (i + 1) * 1000, Y0 + 1000) for i in range(3)])
    plants = _gdf({"name": ["搬迁厂", "四级厂"], "hazard_grade": ["", "四级"], "relocate": [True, False]},
                  [shapely.Point(X0 + 500, Y0 + 500), shapely.Point(X0 + 1500, Y0 + 500)])
    result = run_analysis(FOURCOLOUR, {"areas": towns, "enterprises": plants})
    project = Project()
    added = add_fourcolour_layers(project, result.native, result.provenance)
    assert [layer.visible for layer in added] == [False, True, True]  # grid hidden, townships, points
    out = tmp_path / "four.html"
    export_html(project, out)
    data = read_page_data(out.read_text(encoding="utf-8"))
    spec = next(s for s in data["layers"] if s["name"] == "安全风险四色分布图（乡镇）")
    colours = [spec["palette"][i] for i in spec["ci"]]
    by_level = dict(zip(result.layers["township_risk"]["name"], result.layers["township_risk"]["level"]))
    assert by_level == {"甲镇": "重大风险", "乙镇": "一般风险", "丙乡": "低风险"}
    assert [c.upper() for c in colours] == ["#FF0000", "#FFFF00", "#0070C0"]
    assert [label for label, _c in spec["legend"]] == ["重大风险（红）", "较大风险（橙）", "一般风险（黄）", "低风险（蓝）"]
    assert np.isclose(spec["style"]["fillOpacity"], 0.7)
