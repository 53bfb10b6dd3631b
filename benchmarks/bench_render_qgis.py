"""Benchmark: riskmap's canvas against QGIS's parallel map renderer, same data, same views.

Data: the styled Xinyang sample (two rasters: hillshaded DEM and population; eight vector layers)
plus the synthetic 1.1 M-vertex extra of :mod:`benchmarks.bench_render` (100,000 points and
20,000 lines × 50 vertices), 1600×1000 pixels, EPSG:4490.

Views: the full extent, views of 1/2 and of 1/10 of its width at five places (the centre and
four points halfway to the corners), each rendered 3 times with every image cache dropped.

- **riskmap**: a :class:`~riskmap.ui.canvas.MapCanvas` in this process; render time = from the
  start of the render cycle to the ``rendered`` signal (what the window shows). Its per-zoom
  simplification cache is kept (it is part of the design); the first view of each zoom level
  therefore pays the simplification and is included in the medians.
- **QGIS**: ``QgsMapRendererParallelJob`` in a child process of the system Python
  (``apt-get install qgis python3-qgis``), layers loaded from the same files (the synthetic layers
  written to a GeoPackage), DEM drawn with QGIS's hillshade renderer, population with its default
  single-band renderer, antialiasing on, no labels, no render cache; time = ``start()`` to
  ``waitForFinished()``.

Both run on the same machine in the same benchmark run, alternating tool per round.

Run: ``python -m benchmarks.bench_render_qgis`` (``--quick``: one round). Writes the section
"render-qgis" of docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from benchmarks.bench_render import HEIGHT, WIDTH, synthetic_layers  # noqa: E402

SYSTEM_PYTHON = "/usr/bin/python3"

# A QGIS child: reads a JSON job on stdin, prints one JSON list of seconds per view.
_QGIS_CHILD = r"""
import json, os, sys, time, faulthandler
faulthandler.enable()
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from qgis.core import (QgsApplication, QgsCoordinateReferenceSystem, QgsHillshadeRenderer, QgsMapRendererParallelJob,
                       QgsMapSettings, QgsRasterLayer, QgsRectangle, QgsVectorLayer)
from qgis.PyQt.QtCore import QSize
job = json.load(sys.stdin)
QgsApplication.setPrefixPath("/usr", True)
app = QgsApplication([], True)
app.initQgis()
layers = []
for spec in job["layers"]:  # bottom first
    if spec["kind"] == "raster":
        lyr = QgsRasterLayer(spec["path"], spec["name"])
        if spec.get("hillshade"):
            lyr.setRenderer(QgsHillshadeRenderer(lyr.dataProvider(), 1, 315.0, 45.0))
    else:
        lyr = QgsVectorLayer(spec["path"], spec["name"], "ogr")
    if not lyr.isValid():
        raise SystemExit(f"QGIS could not open {spec['path']}")
    layers.append(lyr)
settings = QgsMapSettings()
settings.setLayers(list(reversed(layers)))  # QGIS: top first
settings.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:4490"))
settings.setOutputSize(QSize(job["width"], job["height"]))
settings.setFlag(QgsMapSettings.Antialiasing, True)
out = []
for rnd in range(job["rounds"]):
    row = []
    for bbox in job["views"]:
        settings.setExtent(QgsRectangle(*bbox))
        t0 = time.perf_counter()
        r = QgsMapRendererParallelJob(settings)
        r.start()
        r.waitForFinished()
        row.append(time.perf_counter() - t0)
        if rnd == 0 and bbox is job["views"][-5] and job.get("png"):
            r.renderedImage().save(job["png"])
    out.append(row)
print(json.dumps(out), flush=True)
os._exit(0)  # QGIS 3.22 can crash in its teardown; the numbers are out
"""


def views(full) -> list[tuple]:
    """The full extent, then five views of 1/2 and five of 1/10 of its width (same aspect)."""
    x0, y0, x1, y1 = full
    cx, cy, w, h = (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0
    places = [(cx, cy), (cx - w / 4, cy - h / 4), (cx + w / 4, cy - h / 4), (cx - w / 4, cy + h / 4),
              (cx + w / 4, cy + h / 4)]
    out = [tuple(full)]
    for frac in (0.5, 0.1):
        out += [(px - w * frac / 2, py - h * frac / 2, px + w * frac / 2, py + h * frac / 2) for px, py in places]
    return out


def view_names() -> list[str]:
    return ["full"] + ["1/2"] * 5 + ["1/10"] * 5


def qgis_available() -> bool:
    if not Path(SYSTEM_PYTHON).exists():
        return False
    run = subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True, timeout=120)
    return run.returncode == 0


def run_qgis(layer_specs, view_list, rounds: int, png=None) -> list[list[float]]:
    job = {"layers": layer_specs, "views": view_list, "rounds": rounds, "width": WIDTH, "height": HEIGHT,
           "png": str(png) if png else None}
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    run = subprocess.run([SYSTEM_PYTHON, "-c", _QGIS_CHILD], input=json.dumps(job), capture_output=True, text=True,
                         env=env, timeout=1800)
    if run.returncode != 0:
        raise RuntimeError(f"QGIS child failed: {run.stderr.strip()[-2000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one round")
    parser.add_argument("--no-report", action="store_true", help="do not write docs/benchmarks.md")
    parser.add_argument("--png-dir", help="save both tools' images of the first 1/10 view and the full view here")
    args = parser.parse_args(argv)
    rounds = 1 if args.quick else 3
    if not qgis_available():
        print("QGIS (python3-qgis) is not installed: apt-get install qgis python3-qgis", file=sys.stderr)
        return 2
    load_start = os.getloadavg()[0]

    from PyQt5.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0]])  # noqa: F841 - keeps Qt alive
    from riskmap.app import sample_project
    from riskmap.layers import VectorLayer
    from riskmap.ui.canvas import MapCanvas
    from riskmap.ui.fonts import register_cjk_font

    register_cjk_font()
    project = sample_project()
    points, lines = synthetic_layers()
    tmp = Path(tempfile.mkdtemp(prefix="riskmap-bench-qgis-"))
    try:
        points.to_file(tmp / "synthetic.gpkg", layer="points", driver="GPKG")
        lines.to_file(tmp / "synthetic.gpkg", layer="lines", driver="GPKG")
        project.layers.append(VectorLayer(points, name="合成点"))
        project.layers.append(VectorLayer(lines, name="合成线"))
        specs = []
        for layer in project.layers:
            if layer.name == "合成点":
                specs.append({"kind": "vector", "name": "points", "path": f"{tmp / 'synthetic.gpkg'}|layername=points"})
            elif layer.name == "合成线":
                specs.append({"kind": "vector", "name": "lines", "path": f"{tmp / 'synthetic.gpkg'}|layername=lines"})
            else:
                path = str(layer.source)
                if layer.kind == "raster":  # QGIS writes .aux.xml statistics beside a raster: keep data/ clean
                    copy = tmp / Path(path).name
                    shutil.copyfile(path, copy)
                    path = str(copy)
                specs.append({"kind": layer.kind, "name": layer.name, "path": path,
                              "hillshade": layer.kind == "raster" and "dem" in Path(path).name})
        canvas = MapCanvas(project)
        canvas.resize(WIDTH, HEIGHT)
        canvas.show()
        canvas.zoom_full()
        if not canvas.wait_until_rendered(120000):
            raise RuntimeError("the canvas did not finish rendering")
        view_list = views(canvas.extent())
        names = view_names()
        tables = {}
        rasters = [layer for layer in project.layers if layer.kind == "raster"]
        for case, with_rasters in (("all layers", True), ("vector layers only", False)):
            for layer in rasters:
                layer.visible = with_rasters
            case_specs = [s for s in specs if with_rasters or s["kind"] != "raster"]
            ours_rounds, qgis_rounds = [], []
            for rnd in range(rounds):
                row = []
                for bbox in view_list:
                    canvas.clear_cache()
                    canvas.set_extent(bbox)
                    if not canvas.wait_until_rendered(120000):
                        raise RuntimeError("the canvas did not finish rendering")
                    row.append(canvas.last_render_seconds)
                ours_rounds.append(row)
                if rnd == 0 and args.png_dir:
                    canvas.set_extent(view_list[-5])
                    canvas.wait_until_rendered(120000)
                    canvas.grab().save(str(Path(args.png_dir) / f"riskmap-{with_rasters:d}.png"))
                png = Path(args.png_dir) / f"qgis-{with_rasters:d}.png" if (rnd == 0 and args.png_dir) else None
                qgis_rounds += run_qgis(case_specs, view_list, 1, png=png)
                print(f"{case}, round {rnd + 1}: riskmap {[round(t * 1000) for t in row]} ms")
                print(f"{case}, round {rnd + 1}: QGIS    {[round(t * 1000) for t in qgis_rounds[-1]]} ms")
            table = []
            for kind in ("full", "1/2", "1/10"):
                cols = [i for i, n in enumerate(names) if n == kind]
                ours = [r[i] for r in ours_rounds for i in cols]
                theirs = [r[i] for r in qgis_rounds for i in cols]
                table.append((kind, statistics.median(ours), max(ours), statistics.median(theirs), max(theirs),
                              len(ours)))
                print(f"{case}, {kind:>5}: riskmap median {table[-1][1] * 1000:.0f} ms (max {table[-1][2] * 1000:.0f}), "
                      f"QGIS median {table[-1][3] * 1000:.0f} ms (max {table[-1][4] * 1000:.0f}), n={len(ours)}")
            tables[case] = table
        load_end = os.getloadavg()[0]
        if not args.no_report:
            from benchmarks._report import write_section

            write_section("render-qgis", report(tables, rounds, load_start, load_end))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def qgis_version() -> str:
    run = subprocess.run([SYSTEM_PYTHON, "-c", "from qgis.core import Qgis; print(Qgis.version())"],
                         capture_output=True, text=True, timeout=120)
    return run.stdout.strip() or "?"


def report(tables, rounds: int, load_start: float, load_end: float) -> str:
    lines = [
        "## Map rendering against QGIS (`python -m benchmarks.bench_render_qgis`)",
        "",
        f"Styled Xinyang sample (hillshaded DEM and population rasters, 8 vector layers) plus 100,000 points and "
        f"20,000 lines × 50 vertices (1.1 M vertices), {WIDTH}×{HEIGHT} pixels, EPSG:4490. Views: the full extent, "
        f"five views of 1/2 and five of 1/10 of its width (centre and halfway to each corner), {rounds} rounds, image "
        f"caches dropped before every view, tools alternating per round. riskmap: canvas render cycle to its "
        f"`rendered` signal (per-zoom simplification cache kept; a zoom level's first view pays it). QGIS "
        f"{qgis_version()}: `QgsMapRendererParallelJob` start to finish in a child process, same files, hillshade "
        f"renderer for the DEM, antialiasing on, no labels (riskmap draws its labels), no render cache. Shared 2-core "
        f"machine, 1-minute load average {load_start:.1f} at the start and {load_end:.1f} at the end.",
    ]
    for case, table in tables.items():
        lines += ["", f"**{case}**", "", "| view | riskmap median (max) | QGIS median (max) | riskmap / QGIS | views |",
                  "|---|---:|---:|---:|---:|"]
        for kind, om, ox, qm, qx, n in table:
            label = {"full": "full extent", "1/2": "1/2 of the full width", "1/10": "1/10 of the full width"}[kind]
            lines.append(f"| {label} | {om * 1000:.0f} ms ({ox * 1000:.0f}) | {qm * 1000:.0f} ms "
                         f"({qx * 1000:.0f}) | {om / qm:.2f} | {n} |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
