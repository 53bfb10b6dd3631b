"""The register in the field, driven like a user: typed 桩号 with undo, Delete key, history view, 导出图层…."""
import numpy as np
import shapely.ops
import pytest
from PyQt5.QtCore import Qt, QTimer
from PyQt5.QtWidgets import QApplication, QFileDialog, QInputDialog, QMessageBox
from test_road_marking import GK, X0, Y0, mark, open_panel, project, to_map, window  # noqa: F401

from riskmap import crs as crs_policy
from riskmap import io

pytestmark = pytest.mark.gui


def type_in_dialog(text, seen=None):
    """Type ``text`` into the input dialog that is about to open and press OK."""
    def fill():
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, QInputDialog):
            QTimer.singleShot(20, fill)
            return
        if seen is not None:
            seen.append(dialog.textValue())
        dialog.setTextValue(text)
        dialog.accept()

    QTimer.singleShot(20, fill)


def metric_length(geom):
    return crs_policy.transform_geometries(np.array([geom], dtype=object), 4490, GK)[0].length


def test_typed_chainage_moves_the_segment_and_undoes_exactly(qtbot, window):
    panel = open_panel(window)
    mark(qtbot, window, panel, X0 + 300, X0 + 800)
    (seg,) = panel.register
    before = seg.to_dict()
    panel.select_segment(seg.id)
    seen = []
    type_in_dialog("K0+250–K0+900", seen)
    panel.edit_chainage()
    assert seen == [seg.km_label]  # the dialog starts from the current range
    moved = panel.register.get(seg.id)
    assert (moved.start_m, moved.end_m) == (250, 900)
    assert metric_length(moved.geometry) == pytest.approx(650, abs=0.05)
    assert panel.segment_table.item(0, 3).text() == "K0+250–K0+900"
    layer = next(lyr for lyr in window.project.layers if lyr.name == "隐患路段登记")
    assert layer.gdf["km_label"].tolist() == ["K0+250–K0+900"]
    assert panel.register.history[-1]["action"] == "extent"
    window.undo_stack.undo()
    assert panel.register.get(seg.id).to_dict() == before
    assert panel.segment_table.item(0, 3).text() == seg.km_label
    window.undo_stack.redo()
    assert panel.register.get(seg.id).km_label == "K0+250–K0+900"


def test_chainage_off_the_road_is_refused_in_chinese(qtbot, window, errors):
    panel = open_panel(window)
    mark(qtbot, window, panel, X0 + 300, X0 + 800)
    (seg,) = panel.register
    panel.select_segment(seg.id)
    # the road is 1500 m + a 47 m bend + 1170 m long
    assert panel.edit_chainage("K2+500–K3+000") is None
    assert errors and "超出道路范围" in errors[-1] and "不能离开所在道路" in errors[-1]
    assert panel.edit_chainage("K0+900–K0+300") is None and "终点桩号须大于起点桩号" in errors[-1]
    assert panel.register.get(seg.id).km_label == seg.km_label and window.undo_stack.count() == 1


def test_delete_key_removes_selected_rows_undoably(qtbot, window):
    panel = open_panel(window)
    for a, b in ((200, 400), (600, 800), (1000, 1200)):
        mark(qtbot, window, panel, X0 + a, X0 + b)
    ids = panel.register.ids()
    panel.tabs.setCurrentIndex(2)
    table = panel.segment_table
    table.setFocus()

    def click_row(row, modifier=Qt.NoModifier):
        rect = table.visualRect(table.model().index(row, 1))
        qtbot.mouseClick(table.viewport(), Qt.LeftButton, modifier, rect.center())

    click_row(0)
    click_row(2, Qt.ControlModifier)  # Ctrl+click: rows 1 and 3
    assert panel.selected_segments() == [ids[0], ids[2]]
    qtbot.keyClick(table, Qt.Key_Delete)
    assert panel.register.ids() == [ids[1]] and table.rowCount() == 1
    assert window.undo_stack.undoText() == "删除隐患路段 2 处"
    window.undo_stack.undo()
    assert panel.register.ids() == ids


def test_history_view_per_segment_and_county(qtbot, window, monkeypatch):
    monkeypatch.setenv("RISKMAP_USER", "王工")
    panel = open_panel(window)
    mark(qtbot, window, panel, X0 + 200, X0 + 600)
    mark(qtbot, window, panel, X0 + 800, X0 + 1200)
    first, second = panel.register.ids()
    panel.select_segment(first)
    panel.status_edit.setCurrentIndex(panel.status_edit.findData("closed"))
    panel.apply_edit()
    window.undo_stack.undo()
    dialog = panel.show_history()
    qtbot.addWidget(dialog)
    t = dialog.table
    assert t.rowCount() == 3  # newest first: 撤销, 状态, 新增 — only the first segment
    assert [t.item(r, 5).text() for r in range(3)] == ["撤销", "状态", "新增"]
    assert (t.item(1, 1).text(), t.item(1, 6).text(), t.item(1, 7).text()) == ("王工", "排查", "已销号")
    assert (t.item(0, 6).text(), t.item(0, 7).text()) == ("已销号", "排查")
    dialog.scope.setCurrentIndex(dialog.scope.findText("县区：浉河区"))
    assert t.rowCount() == 4  # both segments lie in 浉河区
    panel.select_segment(second)
    panel.delete_selected()
    assert t.rowCount() == 5 and t.item(0, 5).text() == "删除"  # the open view follows the register


def test_export_layer_from_the_layer_menu_as_gcj02_kmz(qtbot, window, tmp_path, monkeypatch):
    panel = open_panel(window)
    mark(qtbot, window, panel, X0 + 300, X0 + 800)
    layer = next(lyr for lyr in window.project.layers if lyr.name == "隐患路段登记")
    out = tmp_path / "外业核查"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(out), "KMZ（压缩 KML）(*.kmz)"))
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[2]) or QMessageBox.Yes)
    menu = window.layer_panel.context_menu_for(layer)
    action = next(a for a in menu.actions() if a.text() == "导出图层…")
    action.trigger()
    written = out.with_suffix(".kmz")
    assert written.exists() and "GCJ-02" in asked[0]
    back = io.read_vector(written)
    assert back.attrs["riskmap"]["kml_coordinates"] == "GCJ-02"
    assert back["km_label"].tolist() == layer.gdf["km_label"].tolist()
    a = crs_policy.transform_geometries(np.array([back.geometry.iloc[0]], dtype=object), 4326, GK)[0]
    b = crs_policy.transform_geometries(np.array([layer.gdf.geometry.iloc[0]], dtype=object), 4490, GK)[0]
    assert a.hausdorff_distance(b) <= 0.5
    assert "GCJ-02" in window.statusBar().currentMessage()


def test_export_layer_to_shapefile_without_asking(qtbot, window, tmp_path, monkeypatch):
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: pytest.fail("GCJ-02 is not offered for shapefiles"))
    layer = next(lyr for lyr in window.project.layers if lyr.name == "道路")
    written = window.export_layer(layer, tmp_path / "roads.shp")
    assert written.with_suffix(".cpg").exists()
    assert io.read_vector(written)["name"].tolist() == ["Y108天台寨路"]


def drag(qtbot, window, start_xy, end_xy, steps=5):
    from PyQt5.QtCore import QPoint

    canvas = window.canvas
    p0, p1 = canvas.map_to_pixel(*start_xy), canvas.map_to_pixel(*end_xy)
    a = QPoint(int(round(p0.x())), int(round(p0.y())))
    qtbot.mousePress(canvas, Qt.LeftButton, pos=a)
    for i in range(1, steps + 1):
        t = i / steps
        qtbot.mouseMove(canvas, QPoint(int(round(p0.x() + t * (p1.x() - p0.x()))),
                                       int(round(p0.y() + t * (p1.y() - p0.y())))))
    qtbot.mouseRelease(canvas, Qt.LeftButton, pos=QPoint(int(round(p1.x())), int(round(p1.y()))))


def shapely_coords(g):
    import shapely

    c = shapely.get_coordinates(g)
    return c[0], c[-1]


def test_drag_an_end_along_the_road_and_undo(qtbot, window):
    panel = open_panel(window)
    mark(qtbot, window, panel, X0 + 300, X0 + 800)
    (seg,) = panel.register
    before = seg.to_dict()
    panel.set_dragging(True)
    assert window.canvas.map_tool() is panel.end_tool and not panel.mark_button.isChecked()
    sx, sy = shapely_coords(crs_policy.transform_geometries(np.array([seg.geometry]), 4490, GK)[0])[1]
    # grab the end, drag it 250 m on and 40 m off the road: it follows the road, not the mouse
    drag(qtbot, window, to_map(sx, sy), to_map(X0 + 1050, Y0 + 40))
    moved = panel.register.get(seg.id)
    assert moved.start_m == seg.start_m  # the other end stays exactly where it was
    mpp = crs_policy.metres_per_pixel(window.canvas.extent(), window.canvas.width(), window.project.map_crs)
    assert moved.end_m == pytest.approx(1050, abs=max(3.0, 1.5 * mpp))  # the mouse lands on whole pixels
    g = crs_policy.transform_geometries(np.array([moved.geometry]), 4490, GK)[0]
    road = crs_policy.transform_geometries(np.array([window.project.layers["道路"].gdf.geometry.iloc[0]]), 4490, GK)[0]
    assert shapely.ops.substring(road, moved.start_m, moved.end_m).hausdorff_distance(g) < 0.01
    assert g.length == pytest.approx(moved.end_m - moved.start_m, abs=0.05)
    assert panel.segment_table.item(0, 3).text() == moved.km_label
    assert window.undo_stack.undoText().startswith("修改隐患路段") and panel.register.history[-1]["action"] == "extent"
    window.undo_stack.undo()
    assert panel.register.get(seg.id).to_dict() == before


def test_drag_cannot_leave_the_road_or_pass_the_other_end(qtbot, window):
    panel = open_panel(window)
    mark(qtbot, window, panel, X0 + 300, X0 + 800)
    (seg,) = panel.register
    panel.set_dragging(True)
    start = shapely_coords(crs_policy.transform_geometries(np.array([seg.geometry]), 4490, GK)[0])[0]
    drag(qtbot, window, to_map(*start), to_map(X0 - 400, Y0 - 200))  # before the road begins
    assert panel.register.get(seg.id).start_m == 0.0  # clamped at K0+000: still on the road
    drag(qtbot, window, to_map(X0, Y0), to_map(X0 + 1000, Y0))  # the start dragged past the end
    assert panel.register.get(seg.id).start_m == 0.0 and window.undo_stack.count() == 2
