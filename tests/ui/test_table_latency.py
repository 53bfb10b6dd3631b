"""Issue 16: the window keeps responding while a 5,000-plant relocation result opens and sorts.

The result is the real analysis of four plants (fast), tiled to 5,000 plants with their own names,
positions, numbers and zones. A QTimer heartbeat ticks every 5 ms while the result is shown in the
relocation panel (layers on the map, the plant table filled) and while a click on a table header
sorts it; the longest gap between ticks is the time the event loop was blocked. The window's
debounced autosave of the new layers (300 ms later) is left out of both measurements. The bound is a
behaviour (a user notices a freeze of 200 ms), not a benchmark: each case takes the best of three
tries so a busy machine does not fail it (``benchmarks/bench_tables.py`` times old against new).
"""
import dataclasses

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from PyQt5.QtCore import QPoint, QSettings, Qt
from rasterio.transform import from_origin

from riskmap.project import Project
from window_helpers import longest_gap

pytestmark = pytest.mark.gui

GK = "EPSG:4547"
N_PLANTS = 5_000
MAX_GAP_S = 0.200
TRIES = 3


def _lonlat(xy):
    xy = np.asarray(xy, float)
    return gpd.GeoSeries(shapely.points(xy[:, 0], xy[:, 1]), crs=GK).to_crs(4490).values


@pytest.fixture(scope="module")
def small_result(tmp_path_factory):
    """The relocation analysis of four plants (the declared runner, as the panel runs it)."""
    from riskmap.analysis.registry import ANALYSES
    from riskmap.analysis.result import run_analysis

    tmp = tmp_path_factory.mktemp("latency")
    pop = np.full((200, 200), 0.5, "float32")
    pop[80:100, 80:100] = 80.0
    path = tmp / "pop.tif"
    with rasterio.open(path, "w", driver="GTiff", height=200, width=200, count=1, dtype="float32", crs=GK,
                       transform=from_origin(490_000.0, 3_570_000.0, 100.0, 100.0), nodata=-9999) as ds:
        ds.write(pop, 1)
    plants = gpd.GeoDataFrame(
        {"name": ["城内化工", "野外气站", "学校旁化工", "冶金厂"],
         "industry": ["hazchem", "hazchem", "hazchem", "metallurgy"],
         "safe_dist": [300.0, 400.0, np.nan, 200.0],
         "chemicals": ["液氯:30;液氨:20", "天然气:60", "甲醇:100", ""],
         "county": ["浉河区", "平桥区", "平桥区", "浉河区"], "企业类型": ["生产", "储存", "生产", ""]},
        geometry=_lonlat([(499_000, 3_561_000), (505_000, 3_552_000), (492_000, 3_555_000), (499_500, 3_561_500)]),
        crs=4490)
    sens = gpd.GeoDataFrame({"name": ["第一小学"], "category": ["school"]},
                            geometry=_lonlat([(492_200, 3_555_000)]), crs=4490)
    analysis = ANALYSES["relocation"]
    result = run_analysis(analysis, {"plants": plants, "population": str(path), "sensitive": sens}, None)
    return result, plants, sens, path


def tiled_result(small, n: int, seed: int):
    """``small`` tiled to ``n`` plants: new names, positions within 20 km, exposures, ranks and zones."""
    rng = np.random.default_rng(seed)
    native = small.native
    reps = np.arange(n) % len(native.plants)
    plants = native.plants.iloc[reps].reset_index(drop=True)
    xy = np.column_stack([rng.uniform(480_000, 520_000, n), rng.uniform(3_540_000, 3_580_000, n)])
    plants = plants.set_geometry(_lonlat(xy), crs=plants.crs)
    plants["name"] = pd.array([f"信阳某某化工有限公司{i:05d}" for i in range(n)], dtype="str")
    plants["pop_exposed"] = rng.uniform(0, 50_000, n).round()
    plants["safe_dist"] = rng.choice([100.0, 200.0, 300.0, 500.0], n)
    flagged = plants["relocate"].fillna(False).astype(bool).to_numpy()
    priority = np.full(n, -1)
    priority[flagged] = rng.permutation(int(flagged.sum())) + 1
    plants["priority"] = pd.Series(priority, dtype="Int64").where(flagged)
    metric = gpd.GeoSeries(shapely.points(xy[:, 0], xy[:, 1]), crs=GK).buffer(plants["safe_dist"].to_numpy(), 16)
    zones = native.zones.iloc[reps].reset_index(drop=True)
    zones = zones.set_geometry(metric.to_crs(zones.crs).values, crs=zones.crs)
    big = dataclasses.replace(native, plants=plants, zones=zones)
    return dataclasses.replace(small, native=big, layers={**small.layers, "plants": plants, "zones": zones})


@pytest.fixture
def window(qtbot, small_result, tmp_path):
    from riskmap.ui.main_window import MainWindow

    _result, plants, sens, path = small_result
    project = Project()
    project.add_raster(path, "人口密度")
    project.add_vector(plants, "企业")
    project.add_vector(sens, "敏感目标")
    win = MainWindow(project, settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat), restore=False)
    win._force_close = True
    qtbot.addWidget(win)
    win.resize(1280, 760)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.cancel_tasks()


def settle(qtbot, window) -> None:
    """Wait until the map has drawn the result and the window's debounced journal write has run (that
    write is the project's autosave, not the table: it is measured by its own issue)."""
    qtbot.waitUntil(lambda: not window._journal_timer.isActive(), timeout=30000)
    assert window.canvas.wait_until_rendered(30000)
    qtbot.wait(50)


def header_point(header, col) -> QPoint:
    """The middle of a header section (where a user clicks to sort)."""
    return QPoint(header.sectionViewportPosition(col) + header.sectionSize(col) // 2, header.height() // 2)


def _names(panel, rows=20):
    return [panel.model.index(r, 1).data() for r in range(rows)]


def test_a_5000_plant_result_opens_and_sorts_without_freezing(qtbot, window, small_result):
    panel = window.show_panel("riskmap.ui.panels.relocation", "RelocationPanel")
    header = panel.table.horizontalHeader()
    name_col, people_col = 1, 4
    open_gaps, sort_gaps = [], []
    for attempt in range(TRIES):
        big = tiled_result(small_result[0], N_PLANTS, seed=attempt)
        gap = longest_gap(qtbot, lambda: panel.show_result(big),
                          lambda: panel.result is big.native and panel.model.rowCount() == N_PLANTS)
        open_gaps.append(gap)
        # ranked by priority: flagged plants first (1, 2, …), the unranked (empty) last
        ranks = [panel.model.index(r, 0).data() for r in (0, 1, N_PLANTS - 1)]
        assert ranks[:2] == ["1", "2"] and ranks[2] == ""

        def click_header(col=people_col):
            qtbot.mouseClick(header.viewport(), Qt.LeftButton, pos=header_point(header, col))

        expected = np.sort(big.native.plants["pop_exposed"].to_numpy())
        settle(qtbot, window)
        gap = longest_gap(qtbot, click_header, lambda: panel.model.sort_column == people_col)
        sort_gaps.append(gap)
        shown = [float(panel.model.index(r, people_col).data().replace(",", "")) for r in range(50)]
        assert shown == pytest.approx(expected[:50], abs=0.5)  # ascending by people exposed
        # then by name
        gap2 = longest_gap(qtbot, lambda: click_header(name_col), lambda: panel.model.sort_column == name_col)
        sort_gaps[-1] = max(sort_gaps[-1], gap2)
        names = sorted(big.native.plants["name"])
        assert _names(panel) == names[:20]
        if min(open_gaps) < MAX_GAP_S and min(sort_gaps) < MAX_GAP_S:
            break
    print(f"longest pauses: opening {open_gaps}, sorting {sort_gaps} (s)")
    assert min(open_gaps) < MAX_GAP_S, f"the window froze {min(open_gaps) * 1000:.0f} ms opening the table"
    assert min(sort_gaps) < MAX_GAP_S, f"the window froze {min(sort_gaps) * 1000:.0f} ms sorting the table"


def test_the_selected_plant_stays_selected_through_a_sort(qtbot, window, small_result):
    panel = window.show_panel("riskmap.ui.panels.relocation", "RelocationPanel")
    big = tiled_result(small_result[0], 500, seed=7)
    panel.show_result(big)
    view_row = 3
    rect = panel.table.visualRect(panel.model.index(view_row, 1))
    qtbot.mouseClick(panel.table.viewport(), Qt.LeftButton, pos=rect.center())
    chosen = panel.model.index(view_row, 1).data()
    assert panel.table.selected_source_rows() == [list(big.native.plants["name"]).index(chosen)]
    header = panel.table.horizontalHeader()
    qtbot.mouseClick(header.viewport(), Qt.LeftButton, pos=header_point(header, 1))
    rows = panel.table.selectionModel().selectedRows()
    assert len(rows) == 1 and rows[0].siblingAtColumn(1).data() == chosen  # the same plant, on its new row
    assert chosen in panel.details.text()


def test_columns_are_sized_from_a_sample_not_every_row(qtbot, window, small_result, monkeypatch):
    """Opening a table formats the painted cells and a sample of rows, not all 5,000 × 11."""
    from riskmap.ui.panels import relocation

    panel = window.show_panel("riskmap.ui.panels.relocation", "RelocationPanel")
    big = tiled_result(small_result[0], N_PLANTS, seed=3)
    calls = []
    original = relocation._fmt
    monkeypatch.setattr(relocation, "_fmt", lambda field, value: (calls.append(field), original(field, value))[1])
    panel.show_result(big)
    qtbot.wait(50)
    assert panel.model.rowCount() == N_PLANTS
    assert 0 < len(calls) < 11 * 600, len(calls)

