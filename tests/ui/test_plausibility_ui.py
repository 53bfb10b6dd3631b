"""Issue 18 §9 in the window: a run's implausible-value warnings show under the panel's summary."""
import geopandas as gpd
import pytest
import shapely
from PyQt5.QtCore import QSettings, Qt

from riskmap.project import Project

pytestmark = pytest.mark.gui


@pytest.fixture
def window(qtbot, tmp_path):
    from riskmap.ui.main_window import MainWindow

    proj = Project()
    ponds = gpd.GeoDataFrame({"name": ["正常库", "千米坝"], "capacity": [500.0, 50.0], "dam_height": [40.0, 1000.0],
                              "downstream_az": [90.0, 90.0]},
                             geometry=[shapely.Point(114.1, 32.1), shapely.Point(114.2, 32.1)], crs=4490)
    proj.add_vector(ponds, "尾矿库")
    win = MainWindow(proj, settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat), restore=False)
    win._force_close = True
    qtbot.addWidget(win)
    yield win
    win.cancel_tasks()
    qtbot.waitUntil(lambda: not win._active_tasks(), timeout=30000)
    win.canvas.wait_until_rendered(10000)


def _run(qtbot, panel):
    panel.result = None
    qtbot.mouseClick(panel.run_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: panel.result is not None, timeout=30000)
    qtbot.waitUntil(panel.run_button.isEnabled, timeout=5000)


def test_warnings_show_under_the_summary_and_go_when_the_data_is_fixed(qtbot, window):
    window.actions["panel:riskmap.ui.panels.tailings.TailingsPanel"].trigger()
    panel = window.panels["riskmap.ui.panels.tailings.TailingsPanel"]
    assert not panel.warnings_label.isVisibleTo(panel)
    _run(qtbot, panel)
    text = panel.warnings_label.text()
    assert panel.warnings_label.isVisibleTo(panel)
    assert text.startswith("⚠ 尾矿库图层") and "千米坝：坝高 1000 m（超过 300 m" in text and "正常库" not in text
    assert "尾矿库 2 座" in panel.summary.text()  # the run went on
    layer = next(lyr for lyr in window.project.layers if lyr.name == "尾矿库")
    fixed = layer.gdf.copy()
    fixed.loc[1, "dam_height"] = 30.0
    layer.set_data(fixed)
    _run(qtbot, panel)
    assert panel.warnings_label.text() == "" and not panel.warnings_label.isVisibleTo(panel)
