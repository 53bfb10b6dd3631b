"""HTML meeting-map export: parse the written page (no browser needed)."""
import base64
import io
import re
from html.parser import HTMLParser

import numpy as np
import pytest
import shapely

from riskmap.errors import CancelledError, EmptyLayerError, ParameterError
from riskmap.exports import assets
from riskmap.exports.html import (decode_coordinates, encode_geometries, export_html, png_bytes, read_page_data)

from html_fixtures import XSS_NAME, make_small_project

REMOTE = re.compile(r"^\s*(https?:)?//", re.I)
URL_ATTRS = {"src", "href", "srcset", "poster", "data", "action", "background", "xlink:href"}


class PageParser(HTMLParser):
    """Collects elements, URL attributes, style/script texts and the text of chosen elements."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = []
        self.url_attrs = []
        self.styles = []
        self.scripts = []
        self._in = None
        self.by_id = {}
        self._stack = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        for key, value in attrs.items():
            if key in URL_ATTRS and value is not None:
                self.url_attrs.append((tag, key, value))
            if key == "style" and value:
                self.styles.append(value)
        if tag in ("style", "script"):
            self._in = tag
            if tag == "script" and attrs.get("src"):
                self.scripts.append(("src", attrs["src"]))
        if attrs.get("id"):
            self._stack.append([attrs["id"], tag, 0])
            self.by_id[attrs["id"]] = ""
        elif self._stack and tag == self._stack[-1][1]:
            self._stack[-1][2] += 1

    def handle_endtag(self, tag):
        self._in = None
        if self._stack and tag == self._stack[-1][1]:
            if self._stack[-1][2] == 0:
                self._stack.pop()
            else:
                self._stack[-1][2] -= 1

    def handle_data(self, data):
        if self._in == "style":
            self.styles.append(data)
        elif self._in == "script":
            self.scripts.append(("inline", data))
        for entry in self._stack:
            self.by_id[entry[0]] += data


@pytest.fixture
def exported(small_project, tmp_path):
    out = export_html(small_project, tmp_path / "map.html")
    text = out.read_text(encoding="utf-8")
    parser = PageParser()
    parser.feed(text)
    return small_project, text, parser


def test_offline_page_references_no_remote_resource(exported):
    _project, text, parser = exported
    assert [u for u in parser.url_attrs if REMOTE.match(u[2])] == []
    assert not any(kind == "src" for kind, _ in parser.scripts), "every script must be inline"
    assert not any(tag == "link" for tag, _ in parser.tags), "no <link> stylesheets"
    css = "\n".join(parser.styles)
    assert not re.search(r"url\(\s*['\"]?\s*(https?:)?//", css, re.I)
    assert not re.search(r"@import", css, re.I)
    # relative references would break as well: every CSS url() must be a data: URI
    for ref in re.findall(r"url\(\s*['\"]?([^'\")]*)", css):
        assert ref.startswith(("data:", "#")) or ref == "", ref
    assert "Leaflet 1.9.3" in text  # inlined from the installed package


def test_each_visible_layer_present_with_its_feature_count(exported):
    project, _text, _parser = exported
    data = read_page_data(_text)
    visible = [layer for layer in project.layers if layer.visible]
    assert [spec["name"] for spec in data["layers"]] == [layer.name for layer in visible]
    assert "隐藏图层" not in _text
    for spec, layer in zip(data["layers"], visible):
        if spec["type"] == "vector":
            assert spec["count"] == len(layer.gdf)
            assert spec["geom"]["n"] == len(layer.gdf)
            assert all(len(col) == len(layer.gdf) if isinstance(col, list) else len(col["i"]) == len(layer.gdf)
                       for col in spec["cols"])
        else:
            assert spec["png"].startswith("data:image/png;base64,")
    points = next(s for s in data["layers"] if s["name"] == "企业")
    assert len(decode_coordinates(points["geom"])) == 40
    assert {s["group"] for s in data["layers"]} == {"base", "hazards", "analysis"}


def test_legend_for_every_layer_with_categories_and_classes(exported):
    project, text, parser = exported
    legend = parser.by_id["riskmap-legend"]
    sections = [attrs["data-layer"] for tag, attrs in parser.tags if attrs.get("class", "").startswith("rm-leg")
                and "data-layer" in attrs]
    assert sorted(sections) == sorted(layer.id for layer in project.layers if layer.visible)
    for label in ("危险化学品", "非煤矿山", "国道", "省道", "县区边界", "人口密集区", "人口密度"):
        assert label in legend
    graduated = project.layers["人口密集区"].style
    assert len(graduated.colors) == 3
    for label, _colour in graduated.legend():
        assert label in legend


def test_attribute_values_are_escaped(exported):
    _project, text, parser = exported
    assert XSS_NAME not in text
    assert not any(tag == "img" for tag, _ in parser.tags)
    assert not any(k.startswith("on") for _t, attrs in parser.tags for k in attrs)
    data = read_page_data(text)
    ent = next(s for s in data["layers"] if s["name"] == "企业")
    names = ent["cols"][ent["fields"].index("name")]
    assert names[0] == "&lt;img src=x onerror=alert(1)&gt;"


def test_hostile_layer_name_and_title_cannot_break_out(tmp_path):
    project = make_small_project(tmp_path, with_raster=False)
    project.layers["道路"].name = "</script><script>alert(2)</script>"
    project.approval_number = "<b>x</b>"
    out = export_html(project, tmp_path / "m.html", title="<script>alert(3)</script>", embed_font=False)
    text = out.read_text(encoding="utf-8")
    parser = PageParser()
    parser.feed(text)
    assert not any(body.strip().startswith("alert(") for _kind, body in parser.scripts)
    assert "<script>alert" not in text
    # shown as text: the parser decodes the entities back to the original characters
    assert parser.by_id["riskmap-title"] == "<script>alert(3)</script>"
    assert "<b>x</b>" in parser.by_id["riskmap-footer"]
    data = read_page_data(text)
    assert any(s["name"] == "&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;" for s in data["layers"])


def test_chinese_aliases_labels_and_value_labels(exported):
    _project, text, _parser = exported
    data = read_page_data(text)
    ent = next(s for s in data["layers"] if s["name"] == "企业")
    assert ent["aliases"][ent["fields"].index("name")] == "企业名称"
    industry = ent["cols"][ent["fields"].index("industry")]
    values = industry["k"] if isinstance(industry, dict) else industry
    assert set(values) <= {"危险化学品", "非煤矿山", "烟花爆竹", "冶金", "工贸"}
    safe = ent["cols"][ent["fields"].index("safe_dist")]
    safe = [safe["k"][i] for i in safe["i"]] if isinstance(safe, dict) else safe
    assert safe[0] == "" and safe[1] == "500 m"  # the unit of the alias 安全防护距离(m) after the value
    assert ent["aliases"][ent["fields"].index("safe_dist")] == "安全防护距离"
    counties = next(s for s in data["layers"] if s["name"] == "县区边界")
    assert [lab[2] for lab in counties["labels"]] == ["浉河区", "平桥区"]
    assert ent["cluster"] is False and next(s for s in data["layers"] if s["name"] == "交通事故点")["heat"] is True


def test_footer_has_sources_date_crs_and_approval_number(exported):
    _project, _text, parser = exported
    footer = parser.by_id["riskmap-footer"]
    for needle in ("单元测试数据", "EPSG:4490", "豫S(2024)001号", "审图号", "制图日期"):
        assert needle in footer
    assert re.search(r"\d{4}-\d{2}-\d{2}", footer)
    assert parser.by_id["riskmap-title"] == "测试地图"


def test_empty_approval_number_leaves_a_slot(tmp_path):
    project = make_small_project(tmp_path, with_raster=False)
    project.approval_number = ""
    text = export_html(project, tmp_path / "m.html", embed_font=False).read_text(encoding="utf-8")
    assert "审图号" in text and "待填写" in text


@pytest.mark.parametrize("kind,geoms", [
    ("polygon", [shapely.Polygon([(0, 0), (1, 0), (1, 1), (0, 1)], [[(0.2, 0.2), (0.4, 0.2), (0.4, 0.4)]]),
                 shapely.MultiPolygon([shapely.box(2, 2, 3, 3), shapely.box(4, 4, 5, 5)]), None,
                 shapely.Polygon()]),
    ("line", [shapely.LineString([(0, 0), (1, 1), (2, 0)]),
              shapely.MultiLineString([[(0, 0), (1, 0)], [(2, 2), (3, 3), (4, 4)]]), shapely.LineString()]),
    ("point", [shapely.Point(114.123456, 32.654321), shapely.MultiPoint([(1, 1), (2, 2)])]),
])
def test_geometry_encoding_round_trip(kind, geoms):
    arr = np.array(geoms, dtype=object)
    decimals = 6
    enc = encode_geometries(arr, kind, decimals)
    assert enc["n"] == len(geoms)
    xy = decode_coordinates(enc)
    expected = []
    for g in geoms:
        if g is None or g.is_empty:
            continue
        for part in shapely.get_parts(g):
            if kind == "polygon":
                for ring in shapely.get_rings(part):
                    expected.extend(list(ring.coords)[:-1])
            else:
                expected.extend(list(part.coords))
    np.testing.assert_allclose(xy, np.array(expected), atol=10 ** -decimals)
    if kind == "polygon":
        assert enc["pf"] == [1, 2, 0, 0] and enc["rp"] == [2, 1, 1] and enc["vr"] == [4, 3, 4, 4]
    elif kind == "line":
        assert enc["lf"] == [1, 2, 0] and enc["vl"] == [3, 2, 3]
    else:
        assert enc["pf"] == [1, 2]


def test_coordinates_are_zigzag_varints_in_base64():
    """Coordinate integers are written as zigzag LEB128 varints, base64: checked against bytes made by hand."""
    import base64

    from riskmap.exports.html import read_varints_b64, varints_b64

    # zigzag: 0→0, -1→1, 1→2, 63→126, -65→129, 300→600; 129 = 0x81 0x01, 600 = 0xD8 0x04
    assert base64.b64decode(varints_b64(np.array([0, -1, 1, 63, -65, 300]))) == bytes(
        [0x00, 0x01, 0x02, 0x7E, 0x81, 0x01, 0xD8, 0x04])
    values = np.array([114_070_000, 32_120_000, -3, 250, -2**40, 2**62, 0])
    np.testing.assert_array_equal(read_varints_b64(varints_b64(values)), values)
    assert read_varints_b64("").size == 0


def test_lines_are_simplified_in_metres_and_rounded(tmp_path):
    import geopandas as gpd

    from riskmap.project import Project

    x = np.linspace(114.0, 114.5, 5001)
    wiggly = shapely.LineString(np.column_stack([x, 32.0 + 1e-6 * np.sin(x * 5000)]))  # ±0.1 m noise
    project = Project()
    project.add_vector(gpd.GeoDataFrame({"name": ["r"]}, geometry=[wiggly], crs=4490), "线")
    data = read_page_data(export_html(project, tmp_path / "l.html", embed_font=False).read_text("utf-8"))
    spec = data["layers"][0]
    assert spec["geom"]["d"] == 5
    assert spec["simplifyM"] >= 1.0
    assert len(decode_coordinates(spec["geom"])) < 50  # 5001 vertices of noise collapse to a few
    xy = decode_coordinates(spec["geom"])
    assert np.abs(xy[:, 1] - 32.0).max() < 2e-5


def test_png_encoder_palette_and_rgba():
    pil = pytest.importorskip("PIL.Image")
    small = np.zeros((5, 7, 4), np.uint8)
    small[..., 0] = 200
    small[2:, :, 3] = 255
    rich = np.random.default_rng(0).integers(0, 255, (9, 11, 4), dtype=np.uint8)
    ramp = np.arange(600, dtype=np.uint32)
    rows_same = np.broadcast_to(np.stack([ramp % 256, ramp // 3 % 256, ramp // 7 % 256, np.full(600, 255)], -1)
                                .astype(np.uint8)[None], (20, 600, 4))  # the "Up" filter wins
    cols_same = np.ascontiguousarray(rows_same.transpose(1, 0, 2))  # the "Sub" filter wins
    for arr in (small, rich, rows_same, cols_same):
        img = pil.open(io.BytesIO(png_bytes(arr))).convert("RGBA")
        np.testing.assert_array_equal(np.asarray(img), arr)


def test_basemaps_and_amap_offset(tmp_path, monkeypatch):
    project = make_small_project(tmp_path, with_raster=False)
    osm = export_html(project, tmp_path / "osm.html", basemap="osm", embed_font=False).read_text("utf-8")
    assert "tile.openstreetmap.org" in osm
    monkeypatch.delenv("RISKMAP_TIANDITU_TOKEN", raising=False)
    with pytest.raises(ParameterError, match="token"):
        export_html(project, tmp_path / "t.html", basemap="tianditu")
    tdt = export_html(project, tmp_path / "t.html", basemap="tianditu", tianditu_token="abc<>",
                      embed_font=False).read_text("utf-8")
    assert "tianditu.gov.cn" in tdt and "tk=abc%3C%3E" in tdt
    none = read_page_data(export_html(project, tmp_path / "n.html", embed_font=False).read_text("utf-8"))
    amap_page = export_html(project, tmp_path / "a.html", basemap="amap", embed_font=False)
    amap = read_page_data(amap_page.read_text("utf-8"))
    a = decode_coordinates(next(s for s in amap["layers"] if s["name"] == "企业")["geom"])
    n = decode_coordinates(next(s for s in none["layers"] if s["name"] == "企业")["geom"])
    assert a.shape == n.shape
    shift = a - n  # GCJ-02 is ~600 m off around Xinyang, east and south-ish, and varies only slowly
    assert np.all((shift[:, 0] > 0.004) & (shift[:, 0] < 0.008)) and np.all(np.abs(shift[:, 1]) < 0.004)
    assert np.hypot(*shift.mean(axis=0)) > 0.004
    with pytest.raises(ParameterError):
        export_html(project, tmp_path / "x.html", basemap="google")


# Published WGS84 -> GCJ-02 control pairs (lon, lat, gcj_lon, gcj_lat), the literals of tests/test_crs.py
# (GCJ02_CONTROL): independent of riskmap.crs, so a wrong offset in the export or in riskmap.crs fails here.
GCJ02_CONTROL = [
    # googollee/eviltransform, python/test.py TESTS (Shanghai, Shenzhen, Beijing)
    (121.5272106, 31.1774276, 121.531541859215, 31.17530398364597),
    (113.912316, 22.543847, 113.9171764808363, 22.540796131694766),
    (116.377817, 39.911954, 116.38404722455657, 39.91334545536069),
    # wandergis/coordtransform, test/app.js: wgs84togcj02(116.404, 39.915)
    (116.404, 39.915, 116.41024449916938, 39.91640428150164),
]


def test_amap_export_puts_points_at_published_gcj02_positions(tmp_path):
    import geopandas as gpd

    from riskmap.project import Project

    control = np.array(GCJ02_CONTROL)
    project = Project()
    project.add_vector(gpd.GeoDataFrame({"name": [f"控制点{i}" for i in range(len(control))]},
                                        geometry=shapely.points(control[:, :2]), crs=4326), "控制点")
    none = read_page_data(export_html(project, tmp_path / "n.html", embed_font=False).read_text("utf-8"))
    amap = read_page_data(export_html(project, tmp_path / "a.html", basemap="amap",
                                      embed_font=False).read_text("utf-8"))
    np.testing.assert_allclose(decode_coordinates(none["layers"][0]["geom"]), control[:, :2], atol=1e-6)
    # points are written to 6 decimals (±5e-7°); 2e-6° (about 0.2 m) leaves room for that and nothing more
    np.testing.assert_allclose(decode_coordinates(amap["layers"][0]["geom"]), control[:, 2:], atol=2e-6, rtol=0)


def test_no_visible_layer_is_an_error(tmp_path):
    project = make_small_project(tmp_path, with_raster=False)
    for layer in project.layers:
        layer.visible = False
    with pytest.raises(EmptyLayerError):
        export_html(project, tmp_path / "e.html")
    assert not (tmp_path / "e.html").exists()


def test_progress_is_reported_and_cancel_leaves_no_file(small_project, tmp_path):
    seen = []
    export_html(small_project, tmp_path / "p.html", progress=lambda f, m: seen.append(f), embed_font=False)
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)

    def cancel(fraction, message):
        if fraction > 0.3:
            raise CancelledError("cancelled")

    with pytest.raises(CancelledError):
        export_html(small_project, tmp_path / "c.html", progress=cancel)
    assert not (tmp_path / "c.html").exists()


def test_dense_point_layers_are_clustered(tmp_path):
    project = make_small_project(tmp_path, n_points=400, with_raster=False)
    text = export_html(project, tmp_path / "c.html", embed_font=False).read_text("utf-8")
    ent = next(s for s in read_page_data(text)["layers"] if s["name"] == "企业")
    assert ent["cluster"] is True
    assert "L.MarkerClusterGroup" in text  # the plugin is inlined only when needed


def test_embedded_font_covers_the_chinese_text(exported):
    from fontTools.ttLib import TTFont

    _project, text, _parser = exported
    m = re.search(r"url\(data:font/woff;base64,([A-Za-z0-9+/=]+)\)", text)
    assert m, "the CJK font subset is embedded"
    font = TTFont(io.BytesIO(base64.b64decode(m.group(1))))
    cmap = font.getBestCmap()
    for ch in "测试地图企业县区边界危险化学品审图号图例浉":
        assert ord(ch) in cmap, ch
    assert len(cmap) < 1500  # a subset, not the 65k-glyph font


def test_assets_come_from_the_installed_package():
    table = assets.asset_table()
    assert any(key.endswith("leaflet.js") for key in table)
    css, js = assets.bundle("leaflet", "measure")
    assert "control.measure" in "".join(js) and ".leaflet-container" in "".join(css)
    with pytest.raises(KeyError):
        assets.bundle("no-such-bundle")


def test_projected_map_crs_and_empty_layer(tmp_path):
    import geopandas as gpd

    from riskmap.project import Project

    project = Project(map_crs="EPSG:4547")
    pts = gpd.GeoDataFrame({"name": ["甲", "乙"]}, geometry=shapely.points([114.0, 114.1], [32.0, 32.1]), crs=4490)
    project.add_vector(pts.to_crs(4547), "点")
    project.add_vector(pts.iloc[:0], "空图层", group="analysis")
    project.set_extent(project.layers["点"].extent())
    text = export_html(project, tmp_path / "p.html", embed_font=False).read_text("utf-8")
    data = read_page_data(text)
    np.testing.assert_allclose(decode_coordinates(data["layers"][0]["geom"]), [[114.0, 32.0], [114.1, 32.1]], atol=1e-6)
    # the empty layer is not listed at all (layer control, legend); its encoding would still be valid
    assert [spec["name"] for spec in data["layers"]] == ["点"] and "空图层" not in text
    assert decode_coordinates(encode_geometries(np.array([], dtype=object), "point", 6)).shape == (0, 2)
    (s, w), (n, e) = data["bounds"]
    assert s == pytest.approx(32.0, abs=1e-4) and e == pytest.approx(114.1, abs=1e-4)


def test_unwritable_target_is_a_one_line_error(tmp_path):
    from riskmap.errors import DataFormatError

    project = make_small_project(tmp_path, with_raster=False)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DataFormatError, match="无法写入网页地图"):
        export_html(project, blocker / "sub" / "m.html", embed_font=False)
