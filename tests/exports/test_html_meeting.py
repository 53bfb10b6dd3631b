"""The curated meeting map in headless Chromium (networking off), as a meeting-goer sees it (issue 15 §4).

The sample project gets what agency data bring along: a contact person, a phone column under a pinyin
name (``lxdh``), a remark holding a landline number, a labelled plant layer and an empty result layer.
A probe script opens every feature's popup through the page's own popup function, places the labels at
several zooms and measures the legend and the layer control.
"""
import json
import re

import geopandas as gpd
import pytest

from riskmap.exports.html import export_html, read_page_data
from riskmap.exports.popups import PERSONAL_VALUE

from test_html_chromium import CHROMIUM, chromium, errors_of, status_of

pytestmark = [pytest.mark.chromium, pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")]

PHONE = re.compile(r"(?<![\d.])1[3-9]\d{9}(?!\d)|(?<![\d.])0\d{2,3}-?\d{7,8}(?!\d)")
EMPTY_NAME = "空结果图层"


def _sample_with_personal_data():
    from riskmap.exports.sample_project import build_sample_project

    project = build_sample_project()
    ent = project.layers["企业"]
    gdf = ent.gdf.copy()
    n = len(gdf)
    gdf["联系人"] = [f"张{i}" for i in range(n)]
    gdf["lxdh"] = [f"1{3 + i % 7}{i:09d}" for i in range(n)]
    gdf["备注"] = [f"值班电话0376-{6200000 + i}" if i % 5 == 0 else "厂区封闭管理" for i in range(n)]
    gdf["legal_person"] = [f"李{i}" for i in range(n)]
    ent.set_data(gdf)
    ent.style.label_field = "name"
    project.add_vector(gpd.GeoDataFrame({"name": []}, geometry=[], crs=4490), EMPTY_NAME, group="analysis")
    return project


@pytest.fixture(scope="module")
def meeting(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("meeting")
    project = _sample_with_personal_data()
    # not clustered: all 301 plant names compete for room at the first view
    out = export_html(project, tmp / "meeting.html", cluster_min=100_000)
    return project, out, tmp


PROBE = """
<script>
(function () {
  function rect(el) { var r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }
  function labelRects() {
    var spans = document.querySelectorAll("#map .rm-label span"), out = [];
    for (var q = 0; q < spans.length; q++) { out.push(rect(spans[q])); }
    return out;
  }
  function run() {
    var out = { popups: [], labels: [] }, rm = window.riskmap, m = rm.map;
    try {
      var doc = JSON.parse(document.getElementById("riskmap-data").textContent), opened = null;
      m.on("popupopen", function (e) { opened = e.popup.getElement(); });  // closed popups fade out for a while
      doc.layers.forEach(function (spec) {
        if (spec.type !== "vector") { return; }
        for (var i = 0; i < spec.count; i++) {
          opened = null;
          if (!rm.openPopup(spec.id, i)) { continue; }
          var pop = opened ? opened.querySelector(".leaflet-popup-content") : null;
          var heads = pop ? Array.prototype.map.call(pop.querySelectorAll("th"), function (th) {
            return th.textContent; }) : [];
          out.popups.push({ layer: spec.name, i: i, text: pop ? pop.textContent : null, heads: heads });
          m.closePopup();
        }
      });
      out.control = rect(document.querySelector(".leaflet-control-layers"));
      out.legend = rect(document.getElementById("riskmap-legend"));
      out.controlText = document.querySelector(".leaflet-control-layers").textContent;
      out.legendText = document.getElementById("riskmap-legend").textContent;
      out.viewport = [window.innerWidth, window.innerHeight];
      var views = [null, [32.13, 114.07, 10], [32.13, 114.07, 12], %(PLANT)s];
      views.forEach(function (v) {
        if (v) { m.setView([v[0], v[1]], v[2], { animate: false }); }
        rm.placeLabels();
        out.labels.push({ zoom: m.getZoom(), rects: labelRects(), boxes: rm.labelBoxes().length });
      });
    } catch (e) { out.exception = String(e) + " " + e.stack; }
    document.getElementById("riskmap-status").setAttribute("data-probe", JSON.stringify(out));
  }
  setTimeout(run, 1500);
})();
</script>
</body>"""


def _probe(project, out, tmp, size="1400,900"):
    ent = project.layers["企业"].gdf.geometry.iloc[0]
    text = out.read_text(encoding="utf-8")
    head, _sep, _tail = text.rpartition("</body>")
    probe = tmp / f"probe-{size.replace(',', 'x')}.html"
    probe.write_text(head + PROBE % {"PLANT": json.dumps([ent.y, ent.x, 15])} + "\n</html>\n", encoding="utf-8")
    run = chromium(probe.as_uri(), tmp, "--dump-dom", f"--window-size={size}", budget_ms=30000)
    status = status_of(run.stdout)
    assert "data-probe" in status, run.stderr[-2000:]
    assert errors_of(run.stdout) == ""
    result = json.loads(status["data-probe"])
    assert "exception" not in result, result["exception"]
    return result


@pytest.fixture(scope="module")
def probed(meeting):
    return _probe(*meeting)


def _intersect(a, b, tol=0.5):
    return a[0] < b[2] - tol and b[0] < a[2] - tol and a[1] < b[3] - tol and b[1] < a[3] - tol


def test_no_popup_shows_personal_data_or_a_raw_field_name(meeting, probed):
    project, out, _tmp = meeting
    data = read_page_data(out.read_text(encoding="utf-8"))
    expected = sum(s["count"] for s in data["layers"] if s["type"] == "vector")
    assert len(probed["popups"]) == expected > 800  # every feature's popup was opened
    raw_names = {str(c) for layer in project.layers if hasattr(layer, "gdf") for c in layer.gdf.columns
                 if str(c).isascii() and c != layer.gdf.geometry.name}
    assert {"name", "lxdh", "safe_dist", "industry", "legal_person"} <= raw_names
    for popup in probed["popups"]:
        assert popup["text"], popup
        assert not PHONE.search(popup["text"]), popup
        assert not PERSONAL_VALUE.search(popup["text"]), popup
        assert not set(popup["heads"]) & raw_names, popup
        assert "0376" not in popup["text"], popup  # the landline inside a remark is redacted
        assert "联系人" not in popup["heads"] and not re.search(r"[张李]\d+", popup["text"]), popup
    plants = [p for p in probed["popups"] if p["layer"] == "企业"]
    assert plants and all("企业名称" in p["heads"] and "行业类别" in p["heads"] for p in plants)
    assert any("值班电话＊＊＊" in p["text"] for p in plants)
    assert any("安全防护距离" in p["heads"] and re.search(r"\d m(?![a-z²³])", p["text"]) for p in plants)


def test_labels_never_overlap(probed):
    views = probed["labels"]
    assert len(views) == 4
    assert len(views[0]["rects"]) >= 10  # county names and some plants at the first view
    assert views[-1]["zoom"] >= 14
    for view in views:
        rects = view["rects"]
        assert len(rects) == view["boxes"]
        for i in range(len(rects)):
            for j in range(i + 1, len(rects)):
                assert not _intersect(rects[i], rects[j]), (view["zoom"], rects[i], rects[j])
    # far fewer labels than plants at the first view: the others would overprint
    assert len(views[0]["rects"]) < 150


@pytest.mark.parametrize("size", ["1400,900", "1024,768"])
def test_legend_and_layer_control_do_not_intersect_and_the_empty_layer_is_absent(meeting, probed, size):
    result = probed if size == "1400,900" else _probe(*meeting, size=size)
    width, height = (int(v) for v in size.split(","))
    # --dump-dom keeps room for the browser's frame: the page gets the width and somewhat less height
    assert result["viewport"][0] == width and height - 200 < result["viewport"][1] <= height
    control, legend = result["control"], result["legend"]
    assert control[2] - control[0] > 50 and legend[3] - legend[1] > 50  # both shown
    assert not _intersect(control, legend, tol=0), (control, legend)
    assert legend[3] <= result["viewport"][1] and control[1] >= 0  # both inside the window
    assert EMPTY_NAME not in result["controlText"] and EMPTY_NAME not in result["legendText"]
    assert "企业" in result["controlText"] and "企业" in result["legendText"]
