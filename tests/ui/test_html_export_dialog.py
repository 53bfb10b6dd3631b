"""File → 导出网页地图: the dialog (title, base map, layers, 审图号, 包含个人信息), clicked through with pytest-qt."""
import geopandas as gpd
import pytest
from PyQt5.QtCore import QPoint, Qt, QTimer
from PyQt5.QtWidgets import QApplication, QDialogButtonBox
from shapely.geometry import Point

from riskmap.exports.html import read_page_data


@pytest.fixture
def personal_window(window):
    """The test window's project plus a plant layer with a contact person and a phone, and an empty layer."""
    plants = gpd.GeoDataFrame({"name": ["淮滨化工厂"], "联系人": ["王五"], "联系电话": ["13912345678"]},
                              geometry=[Point(114.05, 32.1)], crs=4490)
    window.project.add_vector(plants, "带联系人的企业", group="hazards")
    window.project.add_vector(gpd.GeoDataFrame({"name": []}, geometry=[], crs=4490), "空图层", group="analysis")
    return window


def _click_item_checkbox(qtbot, widget, text):
    item = widget.findItems(text, Qt.MatchExactly)[0]
    rect = widget.visualItemRect(item)
    before = item.checkState()
    # the check box sits at the left of the row
    qtbot.mouseClick(widget.viewport(), Qt.LeftButton, pos=QPoint(rect.left() + 10, rect.center().y()))
    assert item.checkState() != before, f"the click did not toggle {text}"


def _wait_done(qtbot, task):
    """Wait for the task's ``done`` signal (delivered through the event loop, so not missed before this)."""
    if task.is_running:
        with qtbot.waitSignal(task.done, timeout=60000):
            pass


def _export_through_dialog(window, qtbot, drive):
    """Open the dialog from the menu action, let ``drive(dialog)`` click through it, return the task."""
    seen = {}

    def on_shown():  # an exception in a Qt callback would abort the process: keep it for the test
        dialog = QApplication.activeModalWidget()
        seen["dialog"] = dialog
        try:
            drive(dialog)
        except BaseException as exc:  # noqa: BLE001 - re-raised below, in the test
            seen["error"] = exc
            qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.Cancel), Qt.LeftButton)
            return
        qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.Ok), Qt.LeftButton)

    QTimer.singleShot(0, on_shown)
    task = window.export_html()
    if "error" in seen:
        raise seen["error"]
    return task, seen["dialog"]


def test_dialog_exports_the_chosen_layers_title_approval_and_remembers(personal_window, qtbot, tmp_path, errors):
    window = personal_window
    out = tmp_path / "meeting.html"

    def drive(dialog):
        from riskmap.ui.html_export_dialog import HtmlExportDialog

        assert isinstance(dialog, HtmlExportDialog)
        names = [dialog.layer_list.item(i).text() for i in range(dialog.layer_list.count())]
        assert "空图层" not in names and "带联系人的企业" in names and "县区边界" in names
        from riskmap.exports.html import BASEMAPS

        keys = [dialog.basemap_combo.itemData(i) for i in range(dialog.basemap_combo.count())]
        assert keys == ["window", *BASEMAPS]  # the window's base map (default), then every provider
        assert dialog.basemap_combo.currentData() == "window"
        assert dialog.options()["basemap"] == "none"  # the test window shows no base map
        dialog.path_edit.clear()
        qtbot.keyClicks(dialog.path_edit, str(out))
        # Chinese text cannot be typed through QTest's key events: set it, type the ASCII part
        dialog.title_edit.setText("防汛会商")
        qtbot.keyClicks(dialog.title_edit, "<map>")
        dialog.approval_edit.setText("豫S(2025)")
        qtbot.keyClicks(dialog.approval_edit, "<7>")
        _click_item_checkbox(qtbot, dialog.layer_list, "县区边界")  # leave the counties out
        assert not dialog.personal_check.isChecked()

    task, dialog = _export_through_dialog(window, qtbot, drive)
    assert task is not None
    _wait_done(qtbot, task)
    assert task.state == "finished", task.error
    text = out.read_text(encoding="utf-8")
    data = read_page_data(text)
    names = [spec["name"] for spec in data["layers"]]
    assert "县区边界" not in names and "空图层" not in names and "带联系人的企业" in names
    assert "防汛会商&lt;map&gt;" in text and "豫S(2025)&lt;7&gt;" in text and "<7>" not in text
    assert "13912345678" not in text and "王五" not in text
    assert window.project.approval_number == "豫S(2025)<7>"
    assert errors == []

    # the next time the dialog comes back with these choices; tick 包含个人信息 now
    out2 = tmp_path / "meeting2.html"

    def drive_again(dialog):
        item = dialog.layer_list.findItems("县区边界", Qt.MatchExactly)[0]
        assert item.checkState() == Qt.Unchecked  # remembered
        assert dialog.approval_edit.text() == "豫S(2025)<7>"
        dialog.path_edit.setText(str(out2))
        qtbot.mouseClick(dialog.personal_check, Qt.LeftButton)
        assert dialog.personal_check.isChecked()

    task, _dialog = _export_through_dialog(window, qtbot, drive_again)
    _wait_done(qtbot, task)
    assert task.state == "finished", task.error
    spec = next(s for s in read_page_data(out2.read_text(encoding="utf-8"))["layers"] if s["name"] == "带联系人的企业")
    assert {"联系人", "联系电话"} <= set(spec["fields"])
    assert window.settings.value("html/include_personal") == "true"


def test_cancel_exports_nothing(personal_window, qtbot, tmp_path):
    window = personal_window

    def cancel():
        dialog = QApplication.activeModalWidget()
        dialog.path_edit.setText(str(tmp_path / "x.html"))
        qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.Cancel), Qt.LeftButton)

    QTimer.singleShot(0, cancel)
    assert window.export_html() is None
    assert not (tmp_path / "x.html").exists()
