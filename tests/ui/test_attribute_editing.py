"""Attribute editing in the attribute table: edit sessions, type-checked cells, undo/redo through the
window, add/delete field, the field calculator, save → reopen, discard. Driven by clicks and keys."""
import builtins
import math

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from pyproj import Geod
from PyQt5.QtCore import QPoint, Qt
from PyQt5.QtGui import QKeySequence
from PyQt5.QtWidgets import QLineEdit, QMessageBox, QToolBar
from window_helpers import COUNTY_A, COUNTY_B, PLANT_COLOURS, PLANTS, close_to, pixel_at

from riskmap.project import Project

pytestmark = pytest.mark.gui


# -- how a user drives the dock --------------------------------------------------------------
def click(qtbot, dock, key):
    """Click the edit toolbar's button for ``key`` (开始编辑, 保存编辑, …)."""
    bar = dock.findChild(QToolBar, "edit_toolbar")
    button = bar.widgetForAction(dock.edit_actions[key])
    assert button is not None and button.isVisible()
    qtbot.mouseClick(button, Qt.LeftButton)


def cell_index(dock, feature, column):
    model = dock.model
    return model.index(model.row_of_feature(feature), model.columns.index(column))


def type_into_cell(qtbot, dock, feature, column, text):
    """Double-click the cell, replace the editor's text with ``text`` and press Enter."""
    view = dock.view
    index = cell_index(dock, feature, column)
    view.scrollTo(index)
    centre = view.visualRect(index).center()
    qtbot.mouseClick(view.viewport(), Qt.LeftButton, pos=centre)
    qtbot.mouseDClick(view.viewport(), Qt.LeftButton, pos=centre)
    qtbot.waitUntil(lambda: open_editor(view) is not None, timeout=5000)
    editor = open_editor(view)
    editor.selectAll()
    qtbot.keyClick(editor, Qt.Key_Delete)
    type_text(qtbot, editor, text)
    qtbot.keyClick(editor, Qt.Key_Return)
    qtbot.waitUntil(lambda: open_editor(view) is None, timeout=5000)


def open_editor(view):
    """The cell editor open in the view (closed editors linger until deleted, hidden)."""
    return next((e for e in view.viewport().findChildren(QLineEdit) if e.isVisible()), None)


def double_click_item(qtbot, widget, item):
    """Double-click a list item as a user does (press, release, then the double click)."""
    centre = widget.visualItemRect(item).center()
    qtbot.mouseClick(widget.viewport(), Qt.LeftButton, pos=centre)
    qtbot.mouseDClick(widget.viewport(), Qt.LeftButton, pos=centre)


def tick(qtbot, checkbox):
    qtbot.mouseClick(checkbox, Qt.LeftButton, pos=QPoint(8, checkbox.height() // 2))


def type_text(qtbot, widget, text):
    """Type ``text``: ASCII key by key, Chinese as an input method commits it (QTest has no CJK keys)."""
    from PyQt5.QtGui import QInputMethodEvent
    from PyQt5.QtWidgets import QApplication

    if text.isascii():
        qtbot.keyClicks(widget, text)
        return
    event = QInputMethodEvent()
    event.setCommitString(text)
    QApplication.sendEvent(widget, event)


def click_ok(qtbot, dialog):
    from PyQt5.QtWidgets import QDialogButtonBox

    qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.Ok), Qt.LeftButton)


@pytest.fixture
def plants(project):
    return project.layers["企业"]


@pytest.fixture
def dock(window, plants, qtbot):
    dock = window.open_attribute_table(plants)
    qtbot.waitExposed(dock)
    return dock


@pytest.fixture
def original(plants):
    return plants.gdf.copy(deep=True)


@pytest.fixture
def yes_to_questions(monkeypatch):
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda parent, title, text, *a, **k: asked.append(text)
                        or QMessageBox.Yes)
    return asked


# -- edit sessions -------------------------------------------------------------------------
def test_start_editing_then_a_typed_cell_changes_the_layer(window, project, plants, dock, qtbot):
    index = cell_index(dock, 1, "safe_dist")
    assert not dock.model.flags(index) & Qt.ItemIsEditable  # read-only until 开始编辑
    assert not dock.edit_actions["save"].isEnabled() and not dock.edit_actions["calculator"].isEnabled()
    centre = dock.view.visualRect(index).center()
    qtbot.mouseClick(dock.view.viewport(), Qt.LeftButton, pos=centre)
    qtbot.mouseDClick(dock.view.viewport(), Qt.LeftButton, pos=centre)
    assert open_editor(dock.view) is None  # not editing: a double click opens no editor

    click(qtbot, dock, "start")
    assert dock.editing and dock.edit_actions["start"].isChecked() and "编辑中" in dock.windowTitle()
    assert dock.edit_actions["save"].isEnabled() and dock.edit_actions["discard"].isEnabled()
    assert dock.model.flags(index) & Qt.ItemIsEditable

    before = plants.gdf
    seen = []
    def seen_cb(**kw):
        seen.append(kw)

    plants.events.data_changed.connect(seen_cb)
    type_into_cell(qtbot, dock, 1, "safe_dist", "650")
    assert plants.gdf["safe_dist"].iat[1] == 650.0  # the layer's GeoDataFrame changed …
    assert plants.gdf is not before and math.isnan(before["safe_dist"].iat[1])  # … as a new frame
    assert seen and seen[-1]["fields"] == ["safe_dist"]
    assert cell_index(dock, 1, "safe_dist").data() == "650"
    assert project.modified and window.undo_stack.count() == 1
    type_into_cell(qtbot, dock, 0, "name", "信阳化工股份公司")
    assert plants.gdf["name"].iat[0] == "信阳化工股份公司" and plants.gdf["name"].dtype == pd.StringDtype(na_value=np.nan)


def test_the_map_redraws_an_edited_feature(window, plants, dock, qtbot):
    """Plants are coloured by 行业类别: typing another industry recolours the plant on the canvas."""
    canvas = window.canvas
    with qtbot.waitSignal(canvas.rendered, timeout=60000):
        canvas.refresh()
    assert close_to(pixel_at(window, *PLANTS[2], image=canvas.grab().toImage()), PLANT_COLOURS["hazchem"])
    click(qtbot, dock, "start")
    with qtbot.waitSignal(canvas.rendered, timeout=60000):
        type_into_cell(qtbot, dock, 2, "industry", "fireworks")
    assert close_to(pixel_at(window, *PLANTS[2], image=canvas.grab().toImage()), PLANT_COLOURS["fireworks"])
    with qtbot.waitSignal(canvas.rendered, timeout=60000):
        window.actions["undo"].trigger()
    assert close_to(pixel_at(window, *PLANTS[2], image=canvas.grab().toImage()), PLANT_COLOURS["hazchem"])


def test_wrong_type_is_refused_with_one_message_and_the_old_value_stays(window, plants, dock, qtbot, original):
    click(qtbot, dock, "start")
    type_into_cell(qtbot, dock, 0, "safe_dist", "五百米")
    message = window.statusBar().currentMessage()
    assert message.startswith("字段“safe_dist”为小数类型，“五百米”不是数字") and "\n" not in message
    assert dock.message_label.isVisible() and dock.message_label.text() == message
    assert "Error" not in message and "Traceback" not in message
    type_into_cell(qtbot, dock, 2, "id", "3.5")
    assert "不是整数" in window.statusBar().currentMessage()
    type_into_cell(qtbot, dock, 2, "id", "99999999999999999999")
    assert "超出范围" in window.statusBar().currentMessage()
    assert_frame_equal(plants.gdf, original)  # nothing changed, dtypes neither
    assert window.undo_stack.count() == 0
    assert cell_index(dock, 0, "safe_dist").data() == "500"


def test_wrong_type_message_in_english(window, plants, dock, qtbot):
    from riskmap.i18n import set_language

    click(qtbot, dock, "start")
    set_language("en")
    type_into_cell(qtbot, dock, 0, "id", "abc")
    assert window.statusBar().currentMessage() == ("field 'id' holds integer values; 'abc' is not a whole number; "
                                                   "the old value is kept")


def test_undo_and_redo_through_the_window_restore_exact_values(window, plants, dock, qtbot, original):
    assert QKeySequence("Ctrl+Z") in window.actions["undo"].shortcuts()
    assert QKeySequence("Ctrl+Y") in window.actions["redo"].shortcuts()
    click(qtbot, dock, "start")
    type_into_cell(qtbot, dock, 1, "safe_dist", "650")  # NaN → 650
    type_into_cell(qtbot, dock, 0, "id", "")  # 1 → null: the column becomes nullable Int64
    type_into_cell(qtbot, dock, 2, "name", "")  # text → null
    assert str(plants.gdf["id"].dtype) == "Int64" and plants.gdf["id"].isna().iat[0]
    edited = plants.gdf.copy(deep=True)
    for _ in range(3):
        window.actions["undo"].trigger()
    assert_frame_equal(plants.gdf, original)  # values, NaN and int64 dtype as before
    assert plants.gdf["id"].dtype == np.int64 and math.isnan(plants.gdf["safe_dist"].iat[1])
    assert cell_index(dock, 1, "safe_dist").data() == ""
    for _ in range(3):
        window.actions["redo"].trigger()
    assert_frame_equal(plants.gdf, edited)
    assert cell_index(dock, 1, "safe_dist").data() == "650"


def test_ctrl_z_and_ctrl_y_in_the_table_undo_and_redo(window, plants, dock, qtbot, original):
    click(qtbot, dock, "start")
    type_into_cell(qtbot, dock, 1, "safe_dist", "650")
    window.activateWindow()
    dock.view.setFocus()
    qtbot.waitUntil(dock.view.hasFocus, timeout=5000)
    qtbot.keyClick(dock.view, Qt.Key_Z, Qt.ControlModifier)
    assert_frame_equal(plants.gdf, original)
    qtbot.keyClick(dock.view, Qt.Key_Y, Qt.ControlModifier)
    assert plants.gdf["safe_dist"].iat[1] == 650.0


def test_add_field_checks_the_name_and_is_undoable(window, plants, dock, qtbot, original):
    assert not dock.edit_actions["add_field"].isEnabled()
    click(qtbot, dock, "start")
    for bad, said in (("NAME", "已有字段“name”"), ("Geometry", "保留名"), ("fid", "保留名"), ("  ", "请输入字段名")):
        click(qtbot, dock, "add_field")
        dialog = dock.dialog
        qtbot.waitExposed(dialog)
        dialog.name_edit.setText("")
        type_text(qtbot, dialog.name_edit, bad)
        click_ok(qtbot, dialog)
        assert dialog.isVisible() and said in dialog.error_label.text()  # refused, the dialog stays
        dialog.reject()
    assert list(plants.fields) == list(original.columns[:-1])

    click(qtbot, dock, "add_field")
    dialog = dock.dialog
    type_text(qtbot, dialog.name_edit, "检查日期")
    dialog.kind_combo.setCurrentIndex(dialog.kind_combo.findText("日期"))
    click_ok(qtbot, dialog)
    assert "检查日期" in plants.fields and pd.api.types.is_datetime64_any_dtype(plants.gdf["检查日期"])
    assert "检查日期" in dock.model.columns
    type_into_cell(qtbot, dock, 1, "检查日期", "2024-02-30")
    assert "不是有效日期" in window.statusBar().currentMessage()
    type_into_cell(qtbot, dock, 1, "检查日期", "2024/3/15")
    assert plants.gdf["检查日期"].iat[1] == pd.Timestamp("2024-03-15")
    assert cell_index(dock, 1, "检查日期").data() == "2024-03-15"

    window.actions["undo"].trigger()
    assert pd.isna(plants.gdf["检查日期"].iat[1])
    window.actions["undo"].trigger()
    assert "检查日期" not in plants.fields and "检查日期" not in dock.model.columns
    assert_frame_equal(plants.gdf, original)
    window.actions["redo"].trigger()
    assert "检查日期" in plants.fields and plants.gdf["检查日期"].isna().all()


def test_delete_field_asks_and_undo_puts_it_back(window, plants, dock, qtbot, original, yes_to_questions):
    click(qtbot, dock, "start")
    dock.view.setCurrentIndex(cell_index(dock, 0, "industry"))  # the user is on the 行业类别 column
    click(qtbot, dock, "delete_field")
    assert dock.dialog.field == "industry"
    click_ok(qtbot, dock.dialog)
    assert yes_to_questions and "industry" in yes_to_questions[-1]
    assert "industry" not in plants.fields and "industry" not in plants.aliases
    assert "行业类别" not in [dock.model.headerData(c, Qt.Horizontal) for c in range(dock.model.columnCount())]
    window.actions["undo"].trigger()
    assert_frame_equal(plants.gdf, original)  # same place, same values
    assert plants.aliases["industry"] == "行业类别"
    assert dock.model.headerData(dock.model.columns.index("industry"), Qt.Horizontal) == "行业类别"


def test_delete_field_answer_no_keeps_it(window, plants, dock, qtbot, original, monkeypatch):
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.No)
    click(qtbot, dock, "start")
    click(qtbot, dock, "delete_field")
    click_ok(qtbot, dock.dialog)
    assert_frame_equal(plants.gdf, original)
    assert window.undo_stack.count() == 0


# -- field calculator ---------------------------------------------------------------------
def ellipsoid_quadrangle_area(lon0, lat0, lon1, lat1, a=6378137.0, f=1 / 298.257223563):
    """Area (m²) between two meridians and two parallels on the WGS84 ellipsoid (closed form).

    The area from the equator to latitude φ over 2π of longitude is
    π b² [sin φ / (1 − e² sin² φ) + ln((1 + e sin φ)/(1 − e sin φ)) / (2e)].
    """
    b = a * (1 - f)
    e = math.sqrt(f * (2 - f))

    def zone(phi):
        s = math.sin(math.radians(phi))
        return math.pi * b * b * (s / (1 - e * e * s * s) + math.log((1 + e * s) / (1 - e * s)) / (2 * e))

    return (zone(lat1) - zone(lat0)) * (lon1 - lon0) / 360.0


def test_calculator_area_into_a_new_field_matches_the_geodesic_area(window, project, qtbot):
    from shapely.geometry import box

    counties = project.layers["县区边界"]
    dock = window.open_attribute_table(counties)
    click(qtbot, dock, "start")
    click(qtbot, dock, "calculator")
    dialog = dock.dialog
    qtbot.waitExposed(dialog)
    type_text(qtbot, dialog.new_name, "面积_m2")
    double_click_item(qtbot, dialog.function_list, dialog.function_list.findItems("$area", Qt.MatchStartsWith)[0])
    assert dialog.expr_edit.text() == "$area"
    assert dialog.preview_list.count() == 2 and dialog.ok_button.isEnabled() and not dialog.error_label.text()
    click_ok(qtbot, dialog)
    got = counties.gdf["面积_m2"].to_numpy()
    geod = Geod(ellps="WGS84")
    for value, bbox in zip(got, (COUNTY_A, COUNTY_B)):
        area = abs(geod.geometry_area_perimeter(box(*bbox))[0])
        assert value == pytest.approx(area, rel=1e-3)
        assert value == pytest.approx(ellipsoid_quadrangle_area(*bbox), rel=1e-3)  # second, closed-form oracle
    assert counties.gdf["面积_m2"].dtype == np.float64
    window.actions["undo"].trigger()
    assert "面积_m2" not in counties.fields


def test_calculator_selected_features_only_and_existing_field(window, plants, dock, qtbot, original):
    click(qtbot, dock, "start")
    plants.select([2])
    click(qtbot, dock, "calculator")
    dialog = dock.dialog
    dialog.existing_radio.setChecked(True)
    dialog.existing_combo.setCurrentIndex(dialog.existing_combo.findData("safe_dist"))
    tick(qtbot, dialog.selected_only)
    assert dialog.selected_only.isChecked()
    double_click_item(qtbot, dialog.field_list, dialog.field_list.findItems("safe_dist", Qt.MatchStartsWith)[0])
    assert dialog.expr_edit.text() == '"safe_dist"'  # inserted quoted, at the cursor
    qtbot.keyClicks(dialog.expr_edit, " * 2 + $id")
    assert [dialog.preview_list.item(i).text() for i in range(dialog.preview_list.count())] == ["3：1602"]
    click_ok(qtbot, dialog)
    assert plants.gdf["safe_dist"].tolist()[::2] == [500.0, 1602.0] and math.isnan(plants.gdf["safe_dist"].iat[1])

    click(qtbot, dock, "calculator")  # a new integer field for the selection only: null elsewhere
    dialog = dock.dialog
    qtbot.keyClicks(dialog.new_name, "double_id")
    dialog.new_kind.setCurrentIndex(dialog.new_kind.findData("int"))
    tick(qtbot, dialog.selected_only)
    qtbot.keyClicks(dialog.expr_edit, "id * 2")
    click_ok(qtbot, dialog)
    assert str(plants.gdf["double_id"].dtype) == "Int64"
    assert plants.gdf["double_id"].isna().tolist() == [True, True, False] and plants.gdf["double_id"].iat[2] == 6

    click(qtbot, dock, "calculator")  # a decimal result into an integer field is refused, in the dialog
    dialog = dock.dialog
    dialog.existing_radio.setChecked(True)
    dialog.existing_combo.setCurrentIndex(dialog.existing_combo.findData("id"))
    qtbot.keyClicks(dialog.expr_edit, "id / 2")
    assert "不是整数" in dialog.error_label.text() and not dialog.ok_button.isEnabled()
    dialog.reject()


@pytest.mark.parametrize("code, said", [
    ("__import__('os').system('x')", "不认识的字符“.”"),
    ("__import__('os')", "未知函数“__import__”"),
    ('"name".upper()', "不认识的字符“.”"),
    ("lambda x: x", "不认识的字符“:”"),
    ("lambda", "没有字段“lambda”"),
    ("[c for c in name]", "不认识的字符“[”"),
    ("open('/etc/passwd')", "未知函数“open”"),
    ("name.__class__", "不认识的字符“.”"),
])
def test_calculator_refuses_python_code(window, plants, dock, qtbot, original, monkeypatch, code, said):
    def trap(*a, **k):
        raise AssertionError("eval/exec must never run")

    monkeypatch.setattr(builtins, "eval", trap)
    monkeypatch.setattr(builtins, "exec", trap)
    click(qtbot, dock, "start")
    click(qtbot, dock, "calculator")
    dialog = dock.dialog
    qtbot.keyClicks(dialog.new_name, "x")
    qtbot.keyClicks(dialog.expr_edit, code)
    assert said in dialog.error_label.text() and dialog.preview_list.count() == 0
    assert not dialog.ok_button.isEnabled()
    click_ok(qtbot, dialog)  # a disabled button: nothing happens
    qtbot.keyClick(dialog.expr_edit, Qt.Key_Return)  # nor by Enter
    assert "x" not in plants.fields and window.undo_stack.count() == 0
    assert_frame_equal(plants.gdf, original)


# -- save, reopen, discard, closing -------------------------------------------------------------
def test_saved_edits_go_into_the_project_file(window, project, plants, dock, qtbot, tmp_path):
    click(qtbot, dock, "start")
    type_into_cell(qtbot, dock, 1, "safe_dist", "650")
    type_into_cell(qtbot, dock, 0, "id", "")
    click(qtbot, dock, "calculator")
    dialog = dock.dialog
    type_text(qtbot, dialog.new_name, "名称长度")
    dialog.new_kind.setCurrentIndex(dialog.new_kind.findData("int"))
    qtbot.keyClicks(dialog.expr_edit, "length(name)")
    click_ok(qtbot, dialog)
    click(qtbot, dock, "save")
    assert not dock.editing and not dock.edit_actions["start"].isChecked() and project.modified
    assert not dock.model.flags(cell_index(dock, 0, "name")) & Qt.ItemIsEditable
    path = tmp_path / "edited.rmp"
    assert window.save_project_as(str(path))
    reopened = Project.load(path).layers["企业"].gdf
    assert reopened["safe_dist"].iat[1] == 650.0
    assert str(reopened["id"].dtype) == "Int64" and reopened["id"].isna().iat[0] and reopened["id"].iat[1] == 2
    assert reopened["名称长度"].tolist() == [8, 5, 5]


def test_discard_restores_the_original(window, project, plants, dock, qtbot, original, yes_to_questions):
    click(qtbot, dock, "start")
    type_into_cell(qtbot, dock, 1, "safe_dist", "650")
    click(qtbot, dock, "add_field")
    type_text(qtbot, dock.dialog.name_edit, "备注")
    dock.dialog.kind_combo.setCurrentIndex(dock.dialog.kind_combo.findData("str"))
    click_ok(qtbot, dock.dialog)
    type_into_cell(qtbot, dock, 2, "备注", "已整改")
    click(qtbot, dock, "delete_field")
    dock.dialog.field_combo.setCurrentIndex(dock.dialog.field_combo.findData("chemicals"))
    click_ok(qtbot, dock.dialog)
    assert "chemicals" not in plants.fields and plants.gdf["备注"].iat[2] == "已整改"
    asked = len(yes_to_questions)
    click(qtbot, dock, "discard")
    assert len(yes_to_questions) == asked  # only this session's edits: no question
    assert_frame_equal(plants.gdf, original)
    assert plants.aliases["chemicals"] == "危险化学品(t)"
    assert not dock.editing and window.undo_stack.index() == 0
    assert dock.model.columns == list(original.columns[:-1])


def test_discard_asks_when_other_changes_came_in_between(window, project, plants, dock, qtbot, original,
                                                         monkeypatch):
    from riskmap.layers import Style
    from riskmap.ui.style_dialog import SetStyleCommand

    click(qtbot, dock, "start")
    type_into_cell(qtbot, dock, 1, "safe_dist", "650")
    roads = project.layers["道路"]
    old_style = roads.style
    window.undo_stack.push(SetStyleCommand(roads, Style(color="#000000")))
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.No)
    click(qtbot, dock, "discard")
    assert dock.editing and plants.gdf["safe_dist"].iat[1] == 650.0  # No: nothing undone
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.Yes)
    click(qtbot, dock, "discard")
    assert not dock.editing and roads.style.color == old_style.color
    assert_frame_equal(plants.gdf, original)


def test_closing_the_dock_with_unsaved_edits_asks(window, plants, dock, qtbot, original, monkeypatch):
    answers = [QMessageBox.Cancel, QMessageBox.Discard]
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda p, title, text, *a, **k: asked.append(text)
                        or answers.pop(0))
    click(qtbot, dock, "start")
    type_into_cell(qtbot, dock, 1, "safe_dist", "650")
    dock.close()
    assert asked and "未保存的属性编辑" in asked[0]
    assert dock.isVisible() and dock.editing and plants.gdf["safe_dist"].iat[1] == 650.0  # cancelled
    dock.close()
    assert not dock.isVisible() and len(asked) == 2
    assert_frame_equal(plants.gdf, original)  # 放弃: back to the original


def test_closing_the_window_with_unsaved_edits_asks_first(window, plants, dock, qtbot, monkeypatch):
    titles = []

    def question(parent, title, text, *a, **k):
        titles.append(title)
        return QMessageBox.Save if title == "未保存的编辑" else QMessageBox.Cancel

    monkeypatch.setattr(QMessageBox, "question", question)
    click(qtbot, dock, "start")
    type_into_cell(qtbot, dock, 1, "safe_dist", "650")
    window._force_close = False
    window.close()
    assert titles == ["未保存的编辑", "未保存的修改"]  # the edit session, then the project
    assert window.isVisible() and not dock.editing and plants.gdf["safe_dist"].iat[1] == 650.0  # edits kept
    window._force_close = True


def test_stopping_with_the_start_button_without_edits_just_stops(window, dock, qtbot, monkeypatch):
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: pytest.fail("nothing to ask"))
    click(qtbot, dock, "start")
    click(qtbot, dock, "start")
    assert not dock.editing and "编辑中" not in dock.windowTitle()
