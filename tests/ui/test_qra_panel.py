"""The QRA panel in the real main window (offscreen): opened from the Analysis menu and run on the sample's two
chlorine plants (信阳市淮源氯碱化工有限公司, the acceptance's plant, and 信阳市江淮化工有限公司 in the town core) —
contours, QRA plants and flagged targets on the map, the tables, the F-N plot by pixels — and Cancel on the whole
sample (43 QRA plants): the task ends cancelled and nothing is added."""
import math
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from PyQt5.QtCore import QSettings, Qt

from riskmap.project import Project
from riskmap.sample import sample_path

from window_helpers import canvas_image, close_to, pixel_at

pytestmark = pytest.mark.gui

HUAIYUAN = "信阳市淮源氯碱化工有限公司"  # 液氯 40 t
JIANGHUAI = "信阳市江淮化工有限公司"  # 液氯 25 t + 液氨 30 t
PANEL_KEY = "riskmap.ui.panels.qra.QRAPanel"
GK = "EPSG:4547"


def _project(plant_names=None, extra_targets=None):
    plants = gpd.read_file(sample_path("enterprises"))
    if plant_names is not None:
        plants = plants.loc[plants["name"].isin(plant_names)].reset_index(drop=True)
    sensitive = gpd.read_file(sample_path("sensitive"))
    if extra_targets is not None:
        sensitive = gpd.GeoDataFrame(pd.concat([sensitive, extra_targets.to_crs(sensitive.crs)], ignore_index=True),
                                     crs=sensitive.crs)
    proj = Project()
    # an input only, not drawn: the pixels checked are the QRA layers' own on a white canvas
    proj.add_raster(sample_path("population"), "人口密度").visible = False
    proj.add_vector(sensitive, "敏感目标")
    proj.add_vector(plants, "危化企业")
    proj.modified = False
    return proj


def _make_window(qtbot, tmp_path, project):
    from riskmap.ui.main_window import MainWindow

    win = MainWindow(project, settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat), restore=False)
    win._force_close = True  # results make the project "modified": no save question on close
    qtbot.addWidget(win)
    win.resize(1200, 820)
    win.show()
    qtbot.waitExposed(win)
    return win


def _close(qtbot, win):
    win.cancel_tasks()
    qtbot.waitUntil(lambda: not win._active_tasks(), timeout=30000)
    win.canvas.wait_until_rendered(10000)


@pytest.fixture
def window(qtbot, tmp_path, cjk_font):
    win = _make_window(qtbot, tmp_path, _project([HUAIYUAN, JIANGHUAI]))
    yield win
    _close(qtbot, win)


def _layer(window, name):
    return next((lyr for lyr in window.project.layers if lyr.name == name), None)


def _open_panel(window):
    """The panel as a user opens it: 分析 → 定量风险评价."""
    action = next(a for a in window.analysis_menu.actions() if a.text() == "定量风险评价")
    action.trigger()
    panel = window.panels[PANEL_KEY]
    assert panel.isVisible()
    return panel


def _run(qtbot, panel, timeout=120000):
    qtbot.mouseClick(panel.run_button, Qt.LeftButton)
    task = panel.task
    assert task is not None and not panel.run_button.isEnabled()
    with qtbot.waitSignal(task.done, timeout=timeout):
        pass
    return task


def _metric(gdf):
    return gdf.to_crs(GK)


def test_panel_runs_from_the_menu_and_draws_the_contours(qtbot, window, tmp_path):
    panel = _open_panel(window)
    assert window.actions[f"panel:{PANEL_KEY}"].text() == "定量风险评价"
    assert panel.plants_combo.layer().name == "危化企业"
    assert panel.population_combo.layer().name == "人口密度" and panel.sensitive_combo.layer().name == "敏感目标"
    # the declared form parameters
    assert set(panel.form.widgets) == {"installation", "cell_m", "radius_m", "terrain", "day_fraction"}
    task = _run(qtbot, panel)
    assert task.state == "finished" and panel.result is not None and panel.run_button.isEnabled()

    contours = _layer(window, "个人风险等值线")
    assert contours is not None and contours.group == "analysis" and len(contours.gdf) > 0
    assert contours.provenance["analysis"] == "qra"
    assert contours.style.mode == "categorized" and contours.style.field == "level_label"
    assert [label for label, _c in contours.style.legend()][0] == "个人风险 3×10⁻⁵/年"
    mine = contours.gdf.loc[contours.gdf["plants"] == HUAIYUAN]
    assert len(mine) >= 1
    assert list(contours.gdf["level"]) == sorted(contours.gdf["level"])  # lowest level drawn first
    assert _layer(window, "定量风险评价企业") is not None and _layer(window, "防护目标判定") is not None

    # the view went to the results: every contour is inside it
    x0, y0, x1, y1 = window.canvas.extent()
    bx0, by0, bx1, by1 = contours.gdf.to_crs(window.project.map_crs).total_bounds
    assert x0 <= bx0 and y0 <= by0 and x1 >= bx1 and y1 >= by1
    assert min((x1 - x0) / (bx1 - bx0), (y1 - y0) / (by1 - by0)) < 1.5  # and fits them (one side is tight)

    # the tables: both plants (the worse F·N first), every target in the risk grids, the F-N points of the curve
    names = [panel.plants_table.item(i, 0).text() for i in range(panel.plants_table.rowCount())]
    assert sorted(names) == sorted([HUAIYUAN, JIANGHUAI])
    plants = panel.result.plants.set_index("name")
    assert plants.loc[names[0], "fn_max"] >= plants.loc[names[1], "fn_max"]
    assert panel.targets_table.rowCount() == len(panel.result.targets) > 0
    fn = panel.result.fn
    first = panel.fn_combo.currentData()
    assert first == names[0] and panel.fn_table.rowCount() == int(((fn["name"] == first) & (fn["N"] > 0)).sum())
    assert panel.fn_combo.count() == 4  # two plants and their two areas

    # a row click zooms to that plant's contours; then a contour's fill shows on the canvas
    row = names.index(HUAIYUAN)
    panel.plants_table.cellClicked.emit(row, 0)
    assert panel.fn_combo.currentData() == HUAIYUAN
    assert window.canvas.wait_until_rendered(30000)
    outer = mine.loc[mine["level"] == mine["level"].min()]
    outer_m = _metric(outer).geometry.iloc[0]
    higher = mine.loc[mine["level"] > mine["level"].min()]
    inner = _metric(higher).union_all() if len(higher) else None
    plant_m = _metric(plants.loc[[HUAIYUAN]].set_geometry("geometry").set_crs(panel.result.plants.crs)).geometry.iloc[0]
    # a point inside the outer contour, 45 % of the way from the plant to its edge, away from labels and symbols
    probe = None
    for az in np.radians([200, 250, 290, 160]):
        far = (plant_m.x + 5000 * math.sin(az), plant_m.y + 5000 * math.cos(az))
        edge = shapely.LineString([plant_m.coords[0], far])
        hit = edge.intersection(outer_m.boundary)
        r = min(plant_m.distance(p) for p in getattr(hit, "geoms", [hit]))
        cand = shapely.Point(plant_m.x + 0.55 * r * math.sin(az), plant_m.y + 0.55 * r * math.cos(az))
        if inner is None or not inner.buffer(20).contains(cand):
            probe = cand
            break
    lon, lat = gpd.GeoSeries([probe], crs=GK).to_crs(window.project.map_crs).iloc[0].coords[0]
    colour = contours.style.categories[outer["level_label"].iloc[0]]
    fill = contours.style.fill_opacity
    c = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
    expected = "#%02x%02x%02x" % tuple(round(fill * v + (1 - fill) * 255) for v in c)  # over the white canvas
    image = canvas_image(window)
    assert close_to(pixel_at(window, lon, lat, image), expected, tol=14), (pixel_at(window, lon, lat, image), expected)

    # the report has the F-N chart
    from openpyxl import load_workbook

    out = panel.export_report(tmp_path / "qra.xlsx")
    wb = load_workbook(out)
    assert len(wb["社会风险F-N曲线"]._charts) == 1


def _plot_image(qtbot, panel):
    plot = panel.fn_plot
    before = plot.paints
    plot.update()
    qtbot.waitUntil(lambda: plot.paints > before or plot.isVisible(), timeout=5000)
    return plot.grab().toImage()


def _rgb(image, point):
    c = image.pixelColor(int(round(point.x())), int(round(point.y())))
    return c.red(), c.green(), c.blue()


def _near(image, point, colour, radius=1, tol=50):
    """Whether a pixel within ``radius`` of ``point`` has ``colour``."""
    for dx in range(-radius, radius + 1):
        for dy in range(-radius, radius + 1):
            c = image.pixelColor(int(round(point.x())) + dx, int(round(point.y())) + dy)
            if close_to((c.red(), c.green(), c.blue()), colour, tol=tol):
                return True
    return False


def test_fn_plot_draws_the_curve_and_the_gb36894_lines(qtbot, window):
    from riskmap.ui.fn_plot import CURVE_COLOUR, LOWER_COLOUR, UPPER_COLOUR

    panel = _open_panel(window)
    _run(qtbot, panel)
    panel.fn_combo.setCurrentIndex(panel.fn_combo.findData(HUAIYUAN))
    plot = panel.fn_plot
    panel.tabs.setCurrentIndex(0)
    panel.widget().ensureWidgetVisible(plot)
    image = _plot_image(qtbot, panel)
    assert plot.name == HUAIYUAN
    rect = plot.plot_rect
    (n0, n1), (f0, f1) = plot.n_range, plot.f_range

    def px(n, f):  # the log-log mapping, written out here
        from PyQt5.QtCore import QPointF

        x = rect.left() + (math.log10(n) - math.log10(n0)) / (math.log10(n1) - math.log10(n0)) * rect.width()
        y = rect.bottom() - (math.log10(f) - math.log10(f0)) / (math.log10(f1) - math.log10(f0)) * rect.height()
        return QPointF(x, y)

    # axes from N = 1, decades covering the curve and both lines
    fn = panel.result.fn
    rows = fn.loc[(fn["name"] == HUAIYUAN) & (fn["N"] > 0)]
    n, f = rows["N"].to_numpy(), rows["F"].to_numpy()
    assert n0 == 1 and n1 >= n.max() and f1 >= max(f.max(), 1e-3) and f0 <= min(f.min(), 1e-5 / n1)
    # the GB 36894-2018 lines (STANDARDS.md §2): F·N = 1e-3 red, 1e-5 green, at N = 3 and N = 30
    for nn in (3.0, 30.0):
        assert _near(image, px(nn, 1e-3 / nn), UPPER_COLOUR), nn
        assert _near(image, px(nn, 1e-5 / nn), LOWER_COLOUR), nn
    # the curve: the middle of its widest step, F(N) = F_i on N_{i-1} < N ≤ N_i
    ln = np.log10(n)
    i = int(np.argmax(np.diff(ln))) + 1
    mid = 10 ** ((ln[i - 1] + ln[i]) / 2)
    assert _near(image, px(mid, f[i]), CURVE_COLOUR)
    # and nothing blue a decade below it
    assert not _near(image, px(mid, f[i] / 10), CURVE_COLOUR, radius=2)

    # another plant: the plot follows the choice
    panel.fn_combo.setCurrentIndex(panel.fn_combo.findData(JIANGHUAI))
    image2 = _plot_image(qtbot, panel)
    assert plot.name == JIANGHUAI and plot.n_range != (n0, n1)
    rows2 = fn.loc[(fn["name"] == JIANGHUAI) & (fn["N"] > 0)]
    n2, f2 = rows2["N"].to_numpy(), rows2["F"].to_numpy()
    j = int(np.argmax(np.diff(np.log10(n2)))) + 1
    assert _near(image2, plot.to_pixel(10 ** ((np.log10(n2[j - 1]) + np.log10(n2[j])) / 2), f2[j]), CURVE_COLOUR)


def test_fn_step_line_by_hand(qtbot):
    """F(N) = F_i for N_{i-1} < N ≤ N_i: horizontal runs, vertical drops at each N_i, a last drop to the axis."""
    from riskmap.ui.fn_plot import CURVE_COLOUR, FNPlot, step_vertices

    v = step_vertices([0.5, 2, 20, 200], [2e-4, 1e-4, 1e-5, 1e-6], 1.0, 1e-9)
    assert v.tolist() == [[1, 1e-4], [2, 1e-4], [2, 1e-5], [20, 1e-5], [20, 1e-6], [200, 1e-6], [200, 1e-9]]
    plot = FNPlot()
    qtbot.addWidget(plot)
    plot.resize(500, 400)
    plot.set_curve("甲", [2, 20, 200], [1e-4, 1e-5, 1e-6], 1e-3, 1e-5)
    image = plot.grab().toImage()
    assert plot.paints >= 1 and plot.n_range == (1.0, 1000.0)
    on_run = plot.to_pixel(math.sqrt(2 * 20), 1e-5)  # the middle of the run at F = 1e-5
    on_drop = plot.to_pixel(20, math.sqrt(1e-5 * 1e-6))  # the middle of the drop at N = 20
    diagonal = plot.to_pixel(math.sqrt(2 * 20), math.sqrt(1e-4 * 1e-5))  # where a point-to-point line would pass
    assert _near(image, on_run, CURVE_COLOUR) and _near(image, on_drop, CURVE_COLOUR)
    assert not _near(image, diagonal, CURVE_COLOUR, radius=2)


def test_fn_plot_axis_titles_follow_the_language():
    from riskmap.i18n import set_language
    from riskmap.ui.fn_plot import FNPlot

    assert FNPlot.axis_titles() == ("死亡人数 N（人）", "累积频率 F（≥N，/年）")
    set_language("en")
    try:
        assert FNPlot.axis_titles() == ("Number of deaths N", "Frequency F of N or more (/yr)")
    finally:
        set_language("zh")


def test_a_school_inside_the_chlorine_contour_is_flagged(qtbot, tmp_path, cjk_font):
    plants = gpd.read_file(sample_path("enterprises"))
    site = plants.loc[plants["name"] == HUAIYUAN].to_crs(GK).geometry.iloc[0]
    school = gpd.GeoDataFrame({"name": ["淮源厂旁小学"], "category": ["school"]},
                              geometry=[shapely.Point(site.x + 60, site.y - 40)], crs=GK)
    win = _make_window(qtbot, tmp_path, _project([HUAIYUAN], extra_targets=school))
    try:
        panel = _open_panel(win)
        combo = panel.form.widget("installation")
        combo.setCurrentIndex(combo.findData("new"))  # 新建: 高敏感 criterion 3e-7
        task = _run(qtbot, panel)
        assert task.state == "finished"
        contours = _layer(win, "个人风险等值线").gdf
        outer = contours.loc[contours["level"] == 3e-7].to_crs(GK).union_all()
        assert outer.contains(school.geometry.iloc[0])  # the oracle: inside the 3×10⁻⁷ contour, so IR ≥ 3e-7
        targets = _layer(win, "防护目标判定")
        row = targets.gdf.loc[targets.gdf["name"] == "淮源厂旁小学"].iloc[0]
        assert row["flag"] == "exceeds" and bool(row["exceeds"]) and row["criterion"] == 3e-7
        assert "新建" in row["verdict"]
        assert panel.targets_table.item(0, 0).text() == "淮源厂旁小学"
        assert "超过新建装置高敏感防护目标基准" in panel.targets_table.item(0, 1).text()
        assert panel.targets_table.item(0, 2).text() == "学校"
        # on the map: the red square of the flagged target
        panel.targets_table.cellClicked.emit(0, 0)
        assert win.canvas.wait_until_rendered(30000)
        mine = targets.gdf.loc[targets.gdf["name"] == "淮源厂旁小学"].to_crs(win.project.map_crs)
        lon, lat = mine.geometry.iloc[0].coords[0]
        assert close_to(pixel_at(win, lon, lat), "#d7191c", tol=30)
    finally:
        _close(qtbot, win)


def test_cancel_stops_the_run_and_adds_nothing(qtbot, tmp_path, cjk_font):
    win = _make_window(qtbot, tmp_path, _project())  # the whole sample: 43 QRA plants
    try:
        panel = _open_panel(win)
        names_before = [layer.name for layer in win.project.layers]
        qtbot.mouseClick(panel.run_button, Qt.LeftButton)
        task = panel.task
        qtbot.waitUntil(lambda: task.fraction > 0.1, timeout=60000)  # integrating the plants' risk
        assert win.cancel_button.isVisible()
        t0 = time.monotonic()
        with qtbot.waitSignal(task.cancelled, timeout=30000):
            qtbot.mouseClick(win.cancel_button, Qt.LeftButton)
        qtbot.waitUntil(lambda: task.state == "cancelled" and panel.run_button.isEnabled(), timeout=10000)
        stopped_after = time.monotonic() - t0
        assert task.fraction < 0.9 and stopped_after < 10.0  # it stopped mid-integration, not at the end
        assert task.result is None and panel.result is None
        assert [layer.name for layer in win.project.layers] == names_before
        assert "已取消" in win.statusBar().currentMessage()
        assert not win.cancel_button.isVisible()
    finally:
        _close(qtbot, win)


def test_window_exports_and_saved_projects_carry_the_qra_layers(qtbot, window, tmp_path):
    """The window's HTML export and a saved project (reopened, and by ``riskmap export-html --project``) keep the
    contours with their graded style, legend and provenance."""
    from riskmap.cli import main
    from riskmap.exports.html import read_page_data

    panel = _open_panel(window)
    _run(qtbot, panel)
    contours = _layer(window, "个人风险等值线")
    task = window.export_html(tmp_path / "窗口.html")
    with qtbot.waitSignal(task.done, timeout=120000):
        pass
    assert task.state == "finished"
    data = read_page_data((tmp_path / "窗口.html").read_text(encoding="utf-8"))
    spec = next(s for s in data["layers"] if s["name"] == "个人风险等值线")
    assert spec["count"] == len(contours.gdf) and spec["kind"] == "polygon"
    assert [label for label, _c in spec["legend"]] == [label for label, _c in contours.style.legend()]
    if "palette" in spec:
        assert len(set(spec["palette"])) == contours.gdf["level"].nunique()  # one colour per level drawn

    saved = window.project.save(tmp_path / "定量风险.rmp")
    reopened = Project.load(saved)
    again = next(lyr for lyr in reopened.layers if lyr.name == "个人风险等值线")
    assert again.style.to_dict() == contours.style.to_dict() and again.provenance["analysis"] == "qra"
    targets = next(lyr for lyr in reopened.layers if lyr.name == "防护目标判定")
    assert set(targets.gdf["flag"]) <= {"exceeds", "inside", "outside"} and len(targets.gdf)
    assert main(["export-html", "--project", str(saved), "--no-rasters", "--out", str(tmp_path / "项目.html")]) == 0
    data2 = read_page_data((tmp_path / "项目.html").read_text(encoding="utf-8"))
    assert any(s["name"] == "个人风险等值线" and s["count"] == len(contours.gdf) for s in data2["layers"])
