"""The exported meeting map in headless Chromium with networking disabled.

Skipped only where Chromium is not installed (``.ci/run`` installs Debian's ``chromium``).
The page writes what it built into ``#riskmap-status`` and every script or resource error
into ``#riskmap-errors``; opened with ``#rm-selftest`` it also counts the painted pixels of
each layer's canvas. A probe script appended to a copy of the page opens the popup and
tooltip of a feature named like an XSS attack and measures a triangle with leaflet-measure.
"""
import html as htmllib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from riskmap.errors import DataFormatError
from riskmap.exports.html import export_html, read_page_data

from html_fixtures import XSS_NAME, make_small_project

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
pytestmark = [pytest.mark.chromium, pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")]
SCREENSHOT = Path("/tmp/html_export.png")

NO_NETWORK = ["--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>"]


def chromium(url: str, workdir: Path, *extra: str, budget_ms: int = 10000) -> subprocess.CompletedProcess:
    """Run headless Chromium once on ``url`` with a fresh profile and no network."""
    profile = workdir / f"profile-{len(list(workdir.glob('profile-*')))}"
    args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-default-apps",
            "--disable-extensions", "--mute-audio", f"--user-data-dir={profile}", *NO_NETWORK,
            "--enable-logging=stderr", "--v=0", f"--virtual-time-budget={budget_ms}", "--window-size=1400,900",
            "--hide-scrollbars", *extra, url]
    return subprocess.run(args, capture_output=True, text=True, timeout=180)


def console_problems(stderr: str) -> list[str]:
    """Console errors and failed loads that Chromium logged for the page."""
    lines = [line for line in stderr.splitlines() if "CONSOLE" in line or "net::ERR" in line]
    return [line for line in lines if re.search(r"error|uncaught|failed|net::ERR", line, re.I)]


def status_of(dom: str) -> dict:
    m = re.search(r'<div id="riskmap-status"([^>]*)>', dom)
    assert m, "the page wrote no status element"
    attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', m.group(1)))
    return {k: htmllib.unescape(v) for k, v in attrs.items()}


def errors_of(dom: str) -> str:
    m = re.search(r'<pre id="riskmap-errors"[^>]*>(.*?)</pre>', dom, re.S)
    return htmllib.unescape(m.group(1)).strip() if m else "<no error element>"


def _project(tmp_path):
    """The styled sample project when the sample data are built, else a small in-code project."""
    try:
        from riskmap.exports.sample_project import build_sample_project

        project = build_sample_project()
    except DataFormatError:
        return make_small_project(tmp_path, n_points=400)
    ent = project.layers["企业"]
    gdf = ent.gdf.copy()
    gdf.loc[0, "name"] = XSS_NAME
    ent.set_data(gdf)
    return project


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("chromium")
    project = _project(tmp)
    out = export_html(project, tmp / "map.html")
    return project, out, tmp


def test_map_renders_every_layer_offline_without_errors(page):
    project, out, tmp = page
    run = chromium(out.as_uri() + "#rm-selftest", tmp, "--dump-dom")
    assert run.returncode == 0, run.stderr[-2000:]
    dom = run.stdout
    status = status_of(dom)
    assert status.get("data-ready") == "1", "the page did not finish building"
    assert errors_of(dom) == ""
    assert console_problems(run.stderr) == []
    layers = json.loads(status["data-layers"])
    data = read_page_data(out.read_text(encoding="utf-8"))
    assert len(layers) == len(data["layers"]) == len(project.layers.visible())
    for spec in data["layers"]:
        got = layers[spec["id"]]
        assert got["onMap"], spec["name"]
        if spec["type"] == "vector":
            assert got["built"] == sum(1 for n in _parts_per_feature(spec) if n), spec["name"]
            drawn = got["painted"] + (got.get("clusters", 0) if spec["cluster"] else 0)
            assert drawn > 0, f"nothing drawn for {spec['name']}"
    n_vector = sum(1 for s in data["layers"] if s["type"] == "vector" and not s["cluster"])
    assert int(status["data-canvases"]) >= n_vector
    labelled = [s for s in data["layers"] if s.get("labels")]
    assert int(status["data-labels"]) == sum(len(s["labels"]) for s in labelled) > 0
    assert int(status["data-images"]) == sum(1 for s in data["layers"] if s["type"] == "raster")
    if any(s["cluster"] for s in data["layers"] if s["type"] == "vector"):
        assert int(status["data-clusters"]) > 0
    # the rendered DOM, too, loads nothing from the network
    markup = re.sub(r"<(script|style)\b[^>]*>.*?</\1>", "", dom, flags=re.S | re.I)
    assert not re.search(r'(src|href)="(https?:)?//', markup)
    # the legend and the layer control are on the map, with Chinese names
    assert 'class="leaflet-control-layers' in dom and "rm-legend" in dom and "危险源" in dom


def _parts_per_feature(spec):
    g = spec["geom"]
    if spec["kind"] == "point":
        return g.get("pf") or [1] * g["n"]
    return g["lf"] if spec["kind"] == "line" else g["pf"]


PROBE = """
<script>
(function () {
  var alerts = 0;
  window.alert = function () { alerts++; };
  function run() {
    var out = {}, rm = window.riskmap;
    try {
      var ent = null;
      for (var id in rm.layers) { if (rm.layers.hasOwnProperty(id) && id === "%(ENT)s") { ent = id; } }
      out.popupOpened = rm.openPopup(ent, 0);
      var pop = document.querySelector(".leaflet-popup-content");
      out.popupText = pop ? pop.textContent : null;
      out.popupImages = pop ? pop.querySelectorAll("img").length : -1;
      rm.map.closePopup();
      out.tooltipShown = rm.showTooltip(ent, 0);
      var tip = document.querySelector(".rm-tooltip");
      out.tooltipText = tip ? tip.textContent : null;
      out.tooltipImages = tip ? tip.querySelectorAll("img").length : -1;
      // measure a right triangle near Xinyang at street zoom
      var m = rm.map, c = rm.measure;
      m.setView([32.1, 114.05], 16, { animate: false });
      var pts = %(PTS)s, rect = m.getContainer().getBoundingClientRect();
      c._startMeasure();
      pts.forEach(function (p) {
        var pt = m.latLngToContainerPoint(p);
        c._handleMeasureClick({ originalEvent: { clientX: rect.left + pt.x, clientY: rect.top + pt.y } });
      });
      c._handleMeasureDoubleClick();
      var res = document.querySelector(".leaflet-measure-resultpopup");
      out.measureText = res ? res.textContent : null;
    } catch (e) { out.exception = String(e); }
    setTimeout(function () {
      out.alerts = alerts;
      document.getElementById("riskmap-status").setAttribute("data-probe", JSON.stringify(out));
    }, 500);
  }
  setTimeout(run, 800);
})();
</script>
</body>"""


def test_escaped_names_show_as_text_and_measurement_is_in_metres(page):
    from pyproj import Geod

    project, out, tmp = page
    ent = next(layer for layer in project.layers if layer.name == "企业")
    pts = [[32.1, 114.05], [32.1, 114.052], [32.1018, 114.052]]
    text = out.read_text(encoding="utf-8")
    probe = tmp / "probe.html"
    head, sep, _tail = text.rpartition("</body>")
    probe.write_text(head + PROBE % {"ENT": ent.id, "PTS": json.dumps(pts)} + "\n</html>\n", encoding="utf-8")
    run = chromium(probe.as_uri(), tmp, "--dump-dom")
    status = status_of(run.stdout)
    assert "data-probe" in status, run.stderr[-2000:]
    result = json.loads(status["data-probe"])
    assert "exception" not in result, result
    assert result["popupOpened"] and XSS_NAME in result["popupText"] and result["popupImages"] == 0
    assert result["tooltipShown"] and result["tooltipText"] == XSS_NAME and result["tooltipImages"] == 0
    assert result["alerts"] == 0
    assert errors_of(run.stdout) == ""
    # leaflet-measure reports square metres and metres (Chinese locale); compare with the geodesic truth
    measured = result["measureText"]
    assert "平方米" in measured and "公顷" in measured
    area = float(re.search(r"([\d,.]+)\s*平方米", measured).group(1).replace(",", ""))
    perimeter = float(re.search(r"([\d,.]+)\s*米 \(", measured.split("平方米", 1)[1]).group(1).replace(",", ""))
    lats, lons = np.array(pts)[:, 0], np.array(pts)[:, 1]
    true_area, true_perimeter = Geod(ellps="WGS84").polygon_area_perimeter(lons, lats)
    assert area == pytest.approx(abs(true_area), rel=0.03)
    assert perimeter == pytest.approx(true_perimeter, rel=0.03)


def test_screenshot_shows_a_drawn_map(page):
    _project, out, tmp = page
    shot = tmp / "shot.png"
    run = chromium(out.as_uri(), tmp, f"--screenshot={shot}")
    assert shot.exists(), run.stderr[-2000:]
    shutil.copyfile(shot, SCREENSHOT)  # for a person to look at
    from PIL import Image

    img = np.asarray(Image.open(shot).convert("RGB"), dtype=float)
    assert img.shape[:2] == (900, 1400)
    assert img.std() > 20  # not a blank page
    assert len(np.unique(img.reshape(-1, 3)[::7], axis=0)) > 50  # many colours: layers, legend, labels


CANVAS_PROBE = """
<script>
(function () {
  function clickAt(paneName, latlng) {  // a click on one layer's canvas at a map position, as the mouse gives it
    var m = window.riskmap.map, pt = m.latLngToContainerPoint(latlng), rect = m.getContainer().getBoundingClientRect();
    var cv = m.getPane(paneName).getElementsByTagName("canvas")[0], opened = null;
    var grab = function (e) { opened = e.popup.getElement(); };
    m.on("popupopen", grab);
    ["mousedown", "mouseup", "click"].forEach(function (type) {
      cv.dispatchEvent(new MouseEvent(type, { bubbles: true, cancelable: true, clientX: rect.left + pt.x,
        clientY: rect.top + pt.y, button: 0 }));
    });
    m.off("popupopen", grab);
    var out = { text: opened ? opened.textContent : null, images: opened ? opened.querySelectorAll("img").length : -1 };
    m.closePopup();
    return out;
  }
  function run() {
    var out = {}, rm = window.riskmap, m = rm.map;
    try {
      var count = 0;
      m.eachLayer(function () { count++; });
      out.leafletLayers = count;
      out.popupOpened = rm.openPopup("%(ENT)s", 0);
      var pop = document.querySelector(".leaflet-popup-content");
      out.popupText = pop ? pop.textContent : null;
      m.closePopup();
      out.tooltipShown = rm.showTooltip("%(ENT)s", 0);
      var tip = document.querySelector(".rm-tooltip");
      out.tooltipText = tip ? tip.textContent : null;
      m.setView(%(ENT_AT)s, 17, { animate: false });
      out.pointClick = clickAt("%(ENT_PANE)s", %(ENT_AT)s);
      m.setView(%(ZONE_AT)s, 13, { animate: false });
      out.zoneClick = clickAt("%(ZONE_PANE)s", %(ZONE_AT)s);
      out.missClick = clickAt("%(ZONE_PANE)s", [%(ZONE_AT)s[0] + 0.05, %(ZONE_AT)s[1]]);
    } catch (e) { out.exception = String(e) + " " + e.stack; }
    document.getElementById("riskmap-status").setAttribute("data-probe", JSON.stringify(out));
  }
  setTimeout(run, 800);
})();
</script>
</body>"""


def test_big_layers_draw_as_one_canvas_layer_and_clicks_find_their_feature(tmp_path):
    """12,000 plants (above the clustering limit) are one Leaflet layer; a click on a plant or a zone opens
    its popup, the XSS-named plant's popup and tooltip are text, every layer paints pixels."""
    from riskmap.exports.html import CLUSTER_MAX_FEATURES

    n = CLUSTER_MAX_FEATURES + 2_000
    project = make_small_project(tmp_path, n_points=n, with_raster=False)
    out = export_html(project, tmp_path / "big.html", embed_font=False)
    data = read_page_data(out.read_text(encoding="utf-8"))
    ent = next(s for s in data["layers"] if s["name"] == "企业")
    zones = next(s for s in data["layers"] if s["name"] == "人口密集区")
    assert ent["cluster"] is False and ent["count"] == n
    run = chromium(out.as_uri() + "#rm-selftest", tmp_path, "--dump-dom")
    status = status_of(run.stdout)
    assert status.get("data-ready") == "1" and errors_of(run.stdout) == ""
    layers = json.loads(status["data-layers"])
    for spec in data["layers"]:
        assert layers[spec["id"]]["built"] == sum(1 for k in _parts_per_feature(spec) if k), spec["name"]
        assert layers[spec["id"]]["painted"] > 0, f"nothing drawn for {spec['name']}"

    plant = project.layers["企业"].gdf.geometry.iloc[0]
    zone = project.layers["人口密集区"].gdf.geometry.iloc[1].centroid
    text = out.read_text(encoding="utf-8")
    head, _sep, _tail = text.rpartition("</body>")
    probe = tmp_path / "probe.html"
    probe.write_text(head + CANVAS_PROBE % {
        "ENT": ent["id"], "ENT_PANE": f"rm-layer-{ent['index']}", "ENT_AT": json.dumps([plant.y, plant.x]),
        "ZONE_PANE": f"rm-layer-{zones['index']}", "ZONE_AT": json.dumps([zone.y, zone.x])} + "\n</html>\n",
        encoding="utf-8")
    run = chromium(probe.as_uri(), tmp_path, "--dump-dom")
    result = json.loads(status_of(run.stdout)["data-probe"])
    assert "exception" not in result, result["exception"]
    assert result["leafletLayers"] < 60  # one per layer (plus labels and controls), not one per feature
    assert result["popupOpened"] and XSS_NAME in result["popupText"]
    assert result["tooltipShown"] and result["tooltipText"] == XSS_NAME
    assert XSS_NAME in result["pointClick"]["text"] and result["pointClick"]["images"] == 0
    assert "区B" in result["zoneClick"]["text"] and "1500" in result["zoneClick"]["text"]
    assert result["missClick"]["text"] is None
    assert errors_of(run.stdout) == ""
