"""Benchmark: opening and sorting the relocation panel's plant table, before and after issue 16.

*old* is the table as it was up to commit 5feab30: a ``QAbstractTableModel`` reading the pandas frame
cell by cell (``frame[field].iat[row]``) behind a ``QSortFilterProxyModel`` (sort role ``UserRole``)
with ``ResizeToContents`` columns. *new* is :class:`riskmap.ui.panels.relocation.PlantsModel` in a
:class:`riskmap.ui.panels.common.ResultTable`: whole numpy columns, one stable sort per header click,
columns sized from a sample of 200 rows. Both show the same synthetic plants (the 11 columns of the
panel) in a 1000 × 600 view on the offscreen platform.

*open* = set the rows, sort by priority (as the panel does) and process events until the view is
painted; *sort* = sort by the people-exposed column, then by name, each painted. Every time is a
median of ``--repeat`` runs; the old table is timed once, and only up to ``--old-max-rows`` rows (it
takes about 10 ms per row to open: 100,000 rows would take a quarter of an hour).

Run: ``python -m benchmarks.bench_tables`` (writes the "tables" section of docs/benchmarks.md).
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import time

import numpy as np
import pandas as pd

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def synthetic_plants(n: int, seed: int = 5) -> pd.DataFrame:
    """``n`` plants with the columns the panel's table shows, typed as the relocation analysis writes them."""
    rng = np.random.default_rng(seed)
    relocate = rng.random(n) < 0.3
    priority = np.zeros(n, np.int64)
    priority[relocate] = rng.permutation(int(relocate.sum())) + 1
    counties = ["浉河区", "平桥区", "罗山县", "光山县", "新县", "商城县", "固始县", "潢川县", "淮滨县", "息县"]
    return pd.DataFrame({
        "priority": pd.Series(priority, dtype="Int64").where(relocate),
        "name": pd.array([f"信阳某某化工有限公司{i:06d}" for i in range(n)], dtype="str"),
        "county": pd.array(rng.choice(counties, n), dtype="str"),
        "safe_dist": rng.choice([100.0, 200.0, 300.0, 500.0, 1000.0], n),
        "pop_exposed": rng.uniform(0, 50_000, n).round(),
        "sensitive_n": rng.integers(0, 6, n),
        "dense_km2": rng.uniform(0, 3, n).round(3),
        "hazard_grade": pd.array(rng.choice(["一级", "二级", "三级", "四级", "不构成"], n), dtype="str"),
        "relocate": relocate,
        "verdict": pd.array(np.where(relocate, "建议搬迁", "暂不搬迁"), dtype="str"),
        "reasons": pd.array(rng.choice(["防护区内有学校 1 所；与人口密集区重叠 0.35 km²",
                                        "外部安全防护距离内常住人口 12,300 人（超过 10,000 人）", ""], n), dtype="str"),
    })


def old_table(parent):
    """The pre-issue-16 plant table: cell-by-cell pandas model, sort proxy, ResizeToContents (5feab30)."""
    from PyQt5.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt
    from PyQt5.QtWidgets import QAbstractItemView, QHeaderView, QTableView

    from riskmap.ui.panels.relocation import TABLE_FIELDS, _fmt, column_header

    class OldPlantsModel(QAbstractTableModel):
        def __init__(self, parent=None):
            super().__init__(parent)
            self.frame = None

        def set_frame(self, frame):
            self.beginResetModel()
            self.frame = frame
            self.endResetModel()

        def rowCount(self, parent=QModelIndex()):  # noqa: N802
            return 0 if parent.isValid() or self.frame is None else len(self.frame)

        def columnCount(self, parent=QModelIndex()):  # noqa: N802
            return 0 if parent.isValid() else len(TABLE_FIELDS)

        def headerData(self, section, orientation, role=Qt.DisplayRole):  # noqa: N802
            if role == Qt.DisplayRole and orientation == Qt.Horizontal:
                return column_header(TABLE_FIELDS[section])
            return None

        def data(self, index, role=Qt.DisplayRole):
            if not index.isValid() or self.frame is None:
                return None
            field = TABLE_FIELDS[index.column()]
            value = self.frame[field].iat[index.row()]
            if role in (Qt.DisplayRole, Qt.ToolTipRole):
                return _fmt(field, value)
            if role == Qt.UserRole:
                if field == "priority":
                    return float(value) if not pd.isna(value) else 1e12
                if isinstance(value, (bool, np.bool_)):
                    return int(value)
                if isinstance(value, (int, float, np.integer, np.floating)):
                    return float(value)
                return str(value)
            return None

    model = OldPlantsModel(parent)
    proxy = QSortFilterProxyModel(parent)
    proxy.setSourceModel(model)
    proxy.setSortRole(Qt.UserRole)
    view = QTableView(parent)
    view.setModel(proxy)
    view.setSortingEnabled(True)
    view.setSelectionBehavior(QAbstractItemView.SelectRows)
    view.verticalHeader().setVisible(False)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
    view.horizontalHeader().setStretchLastSection(True)
    return view, model.set_frame


def new_table(parent):
    """The table of this version: PlantsModel in a ResultTable."""
    from PyQt5.QtWidgets import QWidget

    from riskmap.ui.panels.common import ResultTable
    from riskmap.ui.panels.relocation import PlantsModel

    panel = QWidget(parent)  # what PlantsModel needs of its panel here: a parent
    model = PlantsModel(panel)
    view = ResultTable(model.headers, parent, model=model)

    def fill(frame):
        model.set_frame(frame)
        view.size_columns()

    return view, fill


def _painted(app, view) -> None:
    for _ in range(3):
        app.processEvents()
    view.viewport().repaint()
    app.processEvents()


def time_table(make, frame, repeat: int) -> dict:
    """Median seconds to open the table on ``frame`` and to sort it twice by a header, each painted."""
    from PyQt5.QtCore import Qt
    from PyQt5.QtWidgets import QApplication, QVBoxLayout, QWidget

    app = QApplication.instance() or QApplication([])
    opens, sorts = [], []
    for _ in range(repeat):
        window = QWidget()
        window.resize(1000, 600)
        layout = QVBoxLayout(window)
        view, fill = make(window)
        layout.addWidget(view)
        window.show()
        _painted(app, view)
        t0 = time.perf_counter()
        fill(frame)
        view.sortByColumn(0, Qt.AscendingOrder)
        _painted(app, view)
        opens.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        view.sortByColumn(4, Qt.AscendingOrder)
        _painted(app, view)
        view.sortByColumn(1, Qt.DescendingOrder)
        _painted(app, view)
        sorts.append((time.perf_counter() - t0) / 2)
        assert view.model().index(0, 1).data() == frame["name"].max()
        window.close()
        window.deleteLater()
        app.processEvents()
    return {"open_s": statistics.median(opens), "sort_s": statistics.median(sorts)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[5_000, 100_000])
    parser.add_argument("--old-max-rows", type=int, default=5_000,
                        help="the old table is timed (once) only up to this many rows")
    parser.add_argument("--no-report", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)

    from riskmap.i18n import set_language

    set_language("zh")
    rows = []
    for n in args.sizes:
        frame = synthetic_plants(n)
        old = time_table(old_table, frame, 1) if n <= args.old_max_rows else None
        new = time_table(new_table, frame, args.repeat)
        rows.append({"rows": n, "old": old, "new": new})
        print(rows[-1])

    def ratio(a, b):
        return f"{a / b:,.0f}×" if b > 0 and math.isfinite(a / b) else "–"

    lines = [
        "## tables — the relocation panel's plant table, before and after issue 16",
        "",
        "Synthetic plants with the panel's 11 columns in a 1000 × 600 view (offscreen). *old* = pandas read cell "
        "by cell behind a `QSortFilterProxyModel` with `ResizeToContents` columns (up to 5feab30); *new* = the "
        "shared numpy table model (`riskmap/ui/table_model.py`) in a `ResultTable`: one stable sort per header "
        "click, columns sized from 200 sampled rows, only painted cells formatted. *open* = rows set, sorted by "
        "priority and painted; *sort* = one header click (people exposed, then name), painted. During *open* and "
        "*sort* the window does not respond to the user; `tests/ui/test_table_latency.py` holds the 5,000-row "
        f"case under 200 ms of event-loop latency. *new*: medians of {args.repeat} runs; *old*: one run, and none "
        f"above {args.old_max_rows:,} rows (about 10 ms per row to open).",
        "",
        "| rows | old open (s) | new open (s) | faster | old sort (s) | new sort (s) | faster |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        o, w = r["old"], r["new"]
        if o is None:
            lines.append(f"| {r['rows']:,} | not run | {w['open_s']:.3f} | – | not run | {w['sort_s']:.3f} | – |")
            continue
        lines.append(f"| {r['rows']:,} | {o['open_s']:.3f} | {w['open_s']:.3f} | {ratio(o['open_s'], w['open_s'])} "
                     f"| {o['sort_s']:.3f} | {w['sort_s']:.3f} | {ratio(o['sort_s'], w['sort_s'])} |")
    from benchmarks._report import publish

    publish("tables", lines, write=not args.no_report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
