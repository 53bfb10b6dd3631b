"""The panels' ResultTable on the shared numpy table model: header clicks sort (stable, empty last),
rows map back to the data, colours and the QTableWidget-style filling the panels use."""
import numpy as np
import pytest
from PyQt5.QtCore import QPoint, Qt

from riskmap.ui.panels.common import Column, ResultTable, set_row

pytestmark = pytest.mark.gui


@pytest.fixture
def table(qtbot):
    t = ResultTable(["名称", "人数", "等级"])
    qtbot.addWidget(t)
    t.resize(500, 300)
    t.show()
    qtbot.waitExposed(t)
    return t


def click_header(qtbot, table, col):
    header = table.horizontalHeader()
    qtbot.mouseClick(header.viewport(), Qt.LeftButton,
                     pos=QPoint(header.sectionViewportPosition(col) + header.sectionSize(col) // 2,
                                header.height() // 2))


def texts(table, col):
    return [table.item(r, col).text() for r in range(table.rowCount())]


def test_header_clicks_sort_stably_with_empty_values_last(qtbot, table):
    names = ["甲", "乙", "丙", "丁", "戊"]
    people = np.array([300.0, np.nan, 20.0, 300.0, 5.0])
    table.set_columns([names, Column(people, fmt=lambda v: "" if v != v else f"{v:,.0f}"), ["一", "二", "三", "四", "五"]])
    assert texts(table, 0) == names  # the order given until a header is clicked
    click_header(qtbot, table, 1)
    assert texts(table, 0) == ["戊", "丙", "甲", "丁", "乙"]  # 5, 20, 300, 300 (甲 before 丁 as given), empty
    click_header(qtbot, table, 1)
    assert texts(table, 0) == ["甲", "丁", "丙", "戊", "乙"]  # descending, ties still as given, empty last
    assert [table.source_row(r) for r in range(5)] == [0, 3, 2, 4, 1]


def test_sort_keys_and_colours(qtbot, table):
    table.set_columns([["a", "b", "c"], Column(["十", "二", "一百"], key=[10, 2, 100]),
                       Column(["x", "y", "z"], background=["#ff0000", None, "#00ff00"])])
    click_header(qtbot, table, 1)
    assert texts(table, 1) == ["二", "十", "一百"]  # by the key, not the text
    model = table.model()
    assert model.index(0, 2).data(Qt.BackgroundRole) is None  # "b" has no colour
    assert model.index(1, 2).data(Qt.BackgroundRole).color().name() == "#ff0000"  # "a", sorted to row 1


def test_selection_maps_to_source_rows_and_follows_a_sort(qtbot, table):
    table.set_columns([["c", "a", "b"], [3, 1, 2], ["", "", ""]])
    table.select_source_rows([0])
    assert table.selected_source_rows() == [0]
    click_header(qtbot, table, 1)  # c moves to the last row
    assert table.selected_source_rows() == [0]
    assert [i.row() for i in table.selectionModel().selectedRows()] == [2]


def test_filled_row_by_row_like_a_table_widget(qtbot, table):
    """Panels written for QTableWidget fill small tables with setRowCount + set_row and read item().text()."""
    clicked = []
    table.cellClicked.connect(lambda r, c: clicked.append((r, c)))
    table.setRowCount(2)
    set_row(table, 0, ["一号库", 12, "III"], "#d7191c")
    set_row(table, 1, ["二号库", None, "I"])
    assert table.rowCount() == 2 and texts(table, 0) == ["一号库", "二号库"] and texts(table, 1) == ["12", ""]
    assert table.model().index(0, 1).data(Qt.BackgroundRole).color().name() == "#d7191c"
    rect = table.visualRect(table.model().index(1, 2))
    qtbot.mouseClick(table.viewport(), Qt.LeftButton, pos=rect.center())
    assert clicked == [(1, 2)]
    assert table.item(5, 0) is None


def test_numbers_written_as_text_sort_as_numbers(qtbot, table):
    table.setRowCount(4)
    for i, (name, people) in enumerate([("甲", "1,250"), ("乙", "9"), ("丙", ""), ("丁", "3.2e+03")]):
        set_row(table, i, [name, people, ""])
    click_header(qtbot, table, 1)
    assert texts(table, 0) == ["乙", "甲", "丁", "丙"]  # 9 < 1,250 < 3,200, the empty one last
    click_header(qtbot, table, 0)
    assert texts(table, 0) == sorted(["甲", "乙", "丙", "丁"])  # names stay text


def test_columns_are_sized_from_their_text(qtbot, table):
    long_name = "信阳市某某危险化学品储存有限责任公司"
    table.set_columns([["短", long_name], ["1", "2"], ["", ""]])
    header = table.horizontalHeader()
    assert header.sectionSize(0) >= table.fontMetrics().horizontalAdvance(long_name)
    assert header.sectionSize(1) < header.sectionSize(0)
