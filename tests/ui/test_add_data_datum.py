"""Issue 16 in the window: the import dialog preselects the datum a table names; what the reader said is shown.

Driven like a user: 添加数据… (the action), the file chosen in the file dialog, the import dialog answered by
clicking its OK button. The published WGS84/GCJ-02 pair is the oracle for where the plant lands.
"""
import sys
from pathlib import Path

import pytest
from PyQt5.QtCore import Qt, QTimer
from PyQt5.QtWidgets import QApplication, QDialogButtonBox
from pyproj import Geod

from riskmap.ui import add_data

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "untrusted"))
from corpus_cases import (AGENCY_MERGES, AGENCY_ROWS, SHANGHAI_GCJ02, SHANGHAI_WGS84, write_csv,  # noqa: E402
                          write_xlsx)

pytestmark = pytest.mark.gui


def answer_import_dialog(qtbot, seen: dict):
    """When the import dialog opens: note what it preselected and what it says, then click OK."""
    def answer():
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, add_data.ImportOptionsDialog):
            QTimer.singleShot(20, answer)
            return
        seen["offset"] = dialog.offset_combo.currentData()
        seen["text"] = " ".join(label.text() for label in dialog.findChildren(add_data.QLabel))
        ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.Ok)
        qtbot.mouseClick(ok, Qt.LeftButton)

    QTimer.singleShot(20, answer)


def add_through_the_menu(window, qtbot, monkeypatch, path):
    monkeypatch.setattr(add_data, "choose_files", lambda *a, **k: [str(path)])
    seen = {}
    answer_import_dialog(qtbot, seen)
    before = len(window.project.layers)
    window.actions["add_data"].trigger()
    qtbot.waitUntil(lambda: len(window.project.layers) == before + 1, timeout=10000)
    return window.project.layers[-1], seen


def test_a_table_headed_gcj02_is_preselected_and_lands_on_its_wgs84_truth(
        window, qtbot, monkeypatch, tmp_path, errors):
    lon, lat = SHANGHAI_GCJ02
    path = write_csv(tmp_path / "高德拾取.csv", [["企业名称", "经度(GCJ-02)", "纬度(GCJ-02)"], ["甲化工", repr(lon), repr(lat)]])
    layer, seen = add_through_the_menu(window, qtbot, monkeypatch, path)
    assert seen["offset"] == "gcj02" and "已预选" in seen["text"] and "“经度(GCJ-02)”" in seen["text"]
    point = layer.gdf.geometry.iloc[0]
    assert Geod(ellps="WGS84").inv(point.x, point.y, *SHANGHAI_WGS84)[2] < 1.0
    assert errors == []


def test_a_plain_table_starts_on_standard_coordinates_and_the_status_bar_says_which_header_row(
        window, qtbot, monkeypatch, tmp_path, errors):
    path = write_xlsx(tmp_path / "名单.xlsx", AGENCY_ROWS, AGENCY_MERGES)
    layer, seen = add_through_the_menu(window, qtbot, monkeypatch, path)
    assert seen["offset"] == "wgs84" and "已预选" not in seen["text"] and "GCJ-02" in seen["text"]
    assert list(layer.gdf["企业名称"]) == ["明港化工有限公司", "浉河化肥厂", "罗山县天然气储配站"]
    assert layer.gdf.geometry.iloc[0].x == pytest.approx(114.0712)  # standard: not shifted
    message = window.statusBar().currentMessage()
    assert "已添加 1 个图层" in message and "表头取自第4–5行" in message and "第9行“合计”" in message
    assert "--datum" not in message  # the user answered the question: no hint
    assert errors == []


def test_a_table_of_known_plants_off_by_the_gcj02_shift_is_preselected(window, qtbot, monkeypatch, tmp_path, errors):
    """The project's 企业 layer holds the plants; the table has them at GCJ-02 positions (the forward
    transform of the layer's points), with no word on the datum."""
    from riskmap import crs

    plants = window.project.layers["企业"].gdf
    lon, lat = crs.wgs84_to_gcj02(plants.geometry.x.to_numpy(), plants.geometry.y.to_numpy())
    rows = [["企业名称", "经度", "纬度"]] + [[n, repr(float(x)), repr(float(y))] for n, x, y in zip(plants["name"], lon, lat)]
    layer, seen = add_through_the_menu(window, qtbot, monkeypatch, write_csv(tmp_path / "名单.csv", rows))
    assert seen["offset"] == "gcj02" and "“企业”" in seen["text"] and "3 个要素" in seen["text"]
    geod = Geod(ellps="WGS84")
    for got, want in zip(layer.gdf.geometry, plants.geometry):
        assert geod.inv(got.x, got.y, want.x, want.y)[2] < 1.0
    assert errors == []


def test_the_same_plants_at_their_true_places_are_not_taken_for_gcj02(window, qtbot, monkeypatch, tmp_path, errors):
    plants = window.project.layers["企业"].gdf
    rows = [["企业名称", "经度", "纬度"]] + [[n, repr(p.x), repr(p.y)] for n, p in zip(plants["name"], plants.geometry)]
    layer, seen = add_through_the_menu(window, qtbot, monkeypatch, write_csv(tmp_path / "名单.csv", rows))
    assert seen["offset"] == "wgs84" and "已预选" not in seen["text"]
    assert errors == []
