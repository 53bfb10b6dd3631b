"""Every analysis run from its panel on the sample, the way a user does it (click Run, click 导出报告…):
the report has Chinese headers and the one provenance sheet with input hashes; the road register export
keeps the detection's provenance; result layers keep their provenance through save → reopen, into the
HTML footer and onto the print; a what-if edit re-renders only the layers it changed."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest
from PyQt5.QtCore import QSettings, Qt
from PyQt5.QtWidgets import QPushButton
from report_checks import check_report, sha256_of

from riskmap.analysis.registry import ANALYSES
from riskmap.layers import RasterLayer

pytestmark = pytest.mark.gui

PANELS = {"relocation": ("riskmap.ui.panels.relocation", "RelocationPanel"),
          "roads": ("riskmap.ui.panels.roads", "RoadHazardPanel"),
          "pipelines": ("riskmap.ui.panels.pipelines", "PipelinesPanel"),
          "tailings": ("riskmap.ui.panels.tailings", "TailingsPanel"),
          "threat": ("riskmap.ui.panels.threat", "ThreatPanel")}


@pytest.fixture
def window(qtbot, tmp_path, cjk_font):
    from riskmap.exports.sample_project import build_sample_project
    from riskmap.ui.main_window import MainWindow

    project = build_sample_project()
    for layer in project.layers:
        if isinstance(layer, RasterLayer):
            layer.visible = False  # inputs only: keeps raster rendering out of these tests
    win = MainWindow(project, settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat), restore=False)
    win._force_close = True
    qtbot.addWidget(win)
    win.resize(900, 600)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.cancel_tasks()
    qtbot.waitUntil(lambda: not win._active_tasks(), timeout=30000)
    win.canvas.wait_until_rendered(10000)


def run_panel(qtbot, window, name):
    panel = window.show_panel(*PANELS[name])
    assert panel is not None and not panel.report_button.isEnabled()  # nothing to report before a run
    qtbot.mouseClick(panel.run_button, Qt.LeftButton)
    with qtbot.waitSignal(panel.task.done, timeout=120000):
        pass
    assert panel.analysis_result is not None, name
    assert panel.report_button.isEnabled()
    return panel


def chosen_inputs(panel) -> dict:
    """{role: file} of the layers the panel's combos chose (the sample files)."""
    out = {}
    for role, combo in panel.combos.items():
        layer = combo.layer()
        if layer is not None:
            out[role] = Path(layer.path if isinstance(layer, RasterLayer) else layer.source)
    return out


def click_export(qtbot, window, button, path, monkeypatch):
    asked = []
    monkeypatch.setattr(window.host, "ask_save_path", lambda *a: asked.append(a) or str(path))
    qtbot.mouseClick(button, Qt.LeftButton)
    assert asked, "the button asks where to save"
    assert path.exists()
    return path


@pytest.mark.parametrize("name", sorted(PANELS))
def test_every_panel_exports_its_report(name, qtbot, window, tmp_path, monkeypatch):
    panel = run_panel(qtbot, window, name)
    xlsx = click_export(qtbot, window, panel.report_button, tmp_path / f"{name}.xlsx", monkeypatch)
    inputs = chosen_inputs(panel)
    assert inputs, name
    check_report(xlsx, ANALYSES[name], inputs)


def test_road_register_export_keeps_the_detection_provenance(qtbot, window, tmp_path, monkeypatch):
    panel = run_panel(qtbot, window, "roads")
    panel.accept_all_shown()
    assert len(panel.register) > 0
    roads_file = Path(panel.roads_combo.layer().source)
    button = next(b for b in panel.findChildren(QPushButton) if b.text() == "导出Excel…")
    xlsx = click_export(qtbot, window, button, tmp_path / "登记.xlsx", monkeypatch)
    wb = openpyxl.load_workbook(xlsx)
    assert [s.title for s in wb.worksheets if s.sheet_state == "visible"] == ["隐患路段登记", "县区进度", "变更记录", "来源说明"]
    assert {"道路名称", "隐患类型", "状态"} <= {c.value for c in wb["隐患路段登记"][1]}
    rows = [[c.value for c in r] for r in wb["来源说明"].iter_rows()]
    assert rows[0] == ["类别", "项目", "内容", "单位", "依据"]
    assert ["输入", "roads sha256", sha256_of(roads_file), None, None] in rows
    assert any(r[0] == "参数" and "(water_distance_m)" in r[1] for r in rows)
    # the detection provenance is kept with the register in the project, and undone with the candidates
    undo = window.undo_stack
    while undo.canUndo():
        undo.undo()
    assert panel.register.detection is None


def test_provenance_survives_save_and_reopen_and_reaches_html_and_print(qtbot, window, tmp_path):
    from riskmap.exports.html import export_html
    from riskmap.project import Project
    from riskmap.ui.printing import print_map

    panel = run_panel(qtbot, window, "tailings")
    record = panel.analysis_result.provenance
    tailings_file = Path(panel.tailings_combo.layer().source)
    digest = sha256_of(tailings_file)
    assert record["inputs"]["tailings"]["sha256"] == digest
    path = window.project.save(tmp_path / "带来源.rmp")
    reopened = Project.load(path)
    layer = next(lyr for lyr in reopened.layers if lyr.name == "尾矿库等别与头顶库")
    assert layer.provenance["analysis"] == "tailings"
    assert layer.provenance["inputs"]["tailings"]["sha256"] == digest
    assert layer.provenance["parameters"]["half_width_m"]["value"] == record["parameters"]["half_width_m"]["value"]
    plain = next(lyr for lyr in reopened.layers if lyr.name == "企业")
    assert plain.provenance is None  # data layers have none

    page = export_html(reopened, tmp_path / "会议.html", embed_font=False).read_text(encoding="utf-8")
    footer = page[page.index('id="riskmap-footer"'):]
    footer = footer[:footer.index("</div></div>") if "</div></div>" in footer else None]
    assert "结果来源" in footer and "尾矿库等别与头顶库" in footer and digest[:8] in footer
    assert "tailings.shp" in footer

    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext (poppler-utils) is needed to read the print; scripts/setup.sh installs it")
    pdf = print_map(reopened, tmp_path / "打印.pdf", dpi=100).path
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert digest[:8] in text and "tailings.shp" in text


def test_a_what_if_edit_renders_only_the_changed_layers(qtbot, window):
    panel = run_panel(qtbot, window, "relocation")
    canvas = window.canvas
    assert canvas.wait_until_rendered(60000)
    jobs = []
    submit = canvas._submit

    def counting(slot, key, snaps, *args, **kwargs):
        jobs.append(slot)
        return submit(slot, key, snaps, *args, **kwargs)

    canvas._submit = counting
    try:
        row = 0
        old = float(panel.result.plants["safe_dist"].iat[row])
        assert panel.change_distance(row, old + 500.0)
        with qtbot.waitSignal(canvas.rendered, timeout=60000):
            pass
    finally:
        canvas._submit = submit
    layer_jobs = {slot[1] for slot in jobs if slot[0] == "layer"}
    assert layer_jobs == {panel.plants_layer.id, panel.zones_layer.id}, jobs
    assert len([s for s in jobs if s[0] == "layer"]) == 2
    n_layers = len([lyr for lyr in window.project.layers if lyr.visible])
    assert n_layers > 5  # the sample has many layers that were not re-rendered
    # the report after the edit says it holds a what-if edit
    result = panel.current_result()
    assert result.provenance.get("what_if") and any("假设分析" in n for n in result.provenance["notes"])


def test_relocation_command_and_panel_give_the_same_list(qtbot, window, tmp_path):
    """The window and `riskmap relocation` run the same declared analysis: same verdicts, order and reasons."""
    import geopandas as gpd

    from riskmap.cli import main

    panel = run_panel(qtbot, window, "relocation")
    out = tmp_path / "cli.gpkg"
    assert main(["relocation", "--sample", "--out", str(out)]) == 0
    cli = gpd.read_file(out, layer="plants").set_index("id").sort_index()
    gui = panel.result.plants.set_index("id").sort_index()
    assert list(cli.index) == list(gui.index)
    for col in ("verdict", "reasons", "hazard_grade", "relocate", "review"):
        assert list(cli[col]) == list(gui[col]), col
    assert list(cli["priority"].fillna(0).astype(int)) == list(gui["priority"].fillna(0).astype(int))
    assert gui["reasons"].str.contains("外部安全防护距离").sum() > 0
