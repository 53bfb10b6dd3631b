"""Attribute table: aliases as headers, sort, filter, selection synchronised with the map both ways."""
import numpy as np
import pytest
from PyQt5.QtCore import QItemSelectionModel, Qt
from window_helpers import PLANTS, close_to, count_near, pixel_at

pytestmark = pytest.mark.gui


def rendered_image(window, qtbot, action=None):
    """Run ``action`` (default: a refresh), wait for the canvas' ``rendered`` signal, grab the canvas.

    Waits on the render-finished signal, never on time, so it holds under load.
    """
    canvas = window.canvas
    with qtbot.waitSignal(canvas.rendered, timeout=60000):
        (action or canvas.refresh)()
    return canvas.grab().toImage()


@pytest.fixture
def table(window, project):
    return window.open_attribute_table(project.layers["企业"])


def headers(model):
    return [model.headerData(c, Qt.Horizontal) for c in range(model.columnCount())]


def column(model, name):
    c = model.columns.index(name)
    return [model.index(r, c).data() for r in range(model.rowCount())]


def test_headers_are_chinese_aliases(table):
    assert headers(table.model) == ["编号", "企业名称", "行业类别", "安全防护距离(m)", "危险化学品(t)"]
    assert table.model.headerData(1, Qt.Horizontal, Qt.ToolTipRole) == "name"
    assert column(table.model, "safe_dist") == ["500", "", "800"]  # NaN shows as empty


def test_sort_and_filter(table):
    model = table.model
    model.sort(model.columns.index("safe_dist"), Qt.DescendingOrder)
    assert column(model, "name") == ["明港化肥厂", "信阳化工有限公司", "平桥烟花厂"]  # NaN last
    model.sort(model.columns.index("name"), Qt.AscendingOrder)
    assert sorted(column(model, "name")) == column(model, "name")
    table.filter_edit.setText("液氨")
    assert model.rowCount() == 2 and set(column(model, "name")) == {"信阳化工有限公司", "明港化肥厂"}
    table.filter_edit.setText("FIREWORKS")  # case-insensitive
    assert column(model, "name") == ["平桥烟花厂"] and model.feature_at_row(0) == 1
    table.filter_edit.clear()
    assert model.rowCount() == 3


def test_select_in_table_highlights_on_map(window, project, table, monkeypatch, qtbot):
    plants = project.layers["企业"]
    highlights = []
    original = window.canvas.set_highlight
    monkeypatch.setattr(window.canvas, "set_highlight",
                        lambda layer, idx: (highlights.append((layer, list(idx))), original(layer, idx)))
    before = rendered_image(window, qtbot)
    assert close_to(pixel_at(window, *PLANTS[2], image=before), "#d62728")
    assert count_near(window, *PLANTS[2], "#ffff00", image=before) == 0
    row = table.model.row_of_feature(2)

    def select_row():
        table.view.selectionModel().select(table.model.index(row, 0),
                                           QItemSelectionModel.ClearAndSelect | QItemSelectionModel.Rows)

    image = rendered_image(window, qtbot, select_row)  # the selection's own render, by its signal
    assert list(plants.selection) == [2]
    assert highlights[-1] == (plants, [2])
    assert count_near(window, *PLANTS[2], "#ffff00", image=image) > 20  # drawn highlighted (yellow)
    assert count_near(window, *PLANTS[0], "#ffff00", image=image) == 0  # the others unchanged
    assert "已选 1 个" in table.count_label.text()


def test_select_on_map_selects_table_rows(window, project, table):
    plants = project.layers["企业"]
    table.model.sort(table.model.columns.index("name"), Qt.AscendingOrder)
    window.set_tool("select")
    window.tools["select"].select_at(*PLANTS[1])
    assert list(plants.selection) == [1]
    rows = [i.row() for i in table.view.selectionModel().selectedRows()]
    assert [table.model.feature_at_row(r) for r in rows] == [1]
    plants.select([0, 2])
    rows = sorted(i.row() for i in table.view.selectionModel().selectedRows())
    assert sorted(table.model.feature_at_row(r) for r in rows) == [0, 2]
    table.view.clearSelection()
    assert plants.selection.size == 0


def test_filtered_out_selection_is_kept(project, table):
    plants = project.layers["企业"]
    plants.select([0, 1])
    table.filter_edit.setText("烟花")  # only feature 1 is shown
    rows = [i.row() for i in table.view.selectionModel().selectedRows()]
    assert [table.model.feature_at_row(r) for r in rows] == [1]
    table.view.clearSelection()
    assert list(plants.selection) == [0]  # feature 0 is hidden, still selected


def test_zoom_to_selection_and_row(window, project, table):
    plants = project.layers["企业"]
    plants.select([1, 2])
    table.zoom_to_selection()
    minx, miny, maxx, maxy = window.canvas.extent()
    assert minx <= PLANTS[1][0] and maxx >= PLANTS[2][0] and miny <= PLANTS[1][1] and maxy >= PLANTS[2][1]
    assert maxy - miny < 0.4  # closer than the full view (0.6° tall)


def test_table_follows_data_changes(project, table):
    plants = project.layers["企业"]
    plants.set_data(plants.gdf.iloc[:2])
    assert table.model.rowCount() == 2
    assert np.array_equal(table.model.features_at_rows([0, 1]), [0, 1])


def test_table_closes_with_its_layer(window, project, table):
    plants = project.layers["企业"]
    project.layers.remove(plants)
    assert plants.id not in window.attribute_tables
