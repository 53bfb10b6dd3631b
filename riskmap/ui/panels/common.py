"""Widgets and plumbing shared by the analysis panels.

- :class:`LayerCombo` with the ``accept``/``score`` helpers (:func:`vector_with`, :func:`is_raster`,
  :func:`field_score`) picks an input layer of the project.
- :func:`spin`, :func:`result_table` and :func:`set_row` build the parameter and result widgets.
- :class:`AnalysisPanel` is the dock every analysis panel derives from: it runs the analysis
  through ``window.run_task`` with the run button disabled meanwhile, re-enables it and shows
  the error when the task fails, and zooms to result rows.
"""
from __future__ import annotations

import numpy as np
from PyQt5.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDockWidget,
    QDoubleSpinBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
)

from riskmap import crs as crs_policy
from riskmap.i18n import tr
from riskmap.layers import RasterLayer, VectorLayer


# ---------------------------------------------------------------------------
# choosing input layers
# ---------------------------------------------------------------------------
def geometry_kinds(layer) -> set:
    """{'point', 'line', 'polygon'} present in a vector layer."""
    types = set(layer.gdf.geom_type.dropna())
    out = set()
    if types & {"Point", "MultiPoint"}:
        out.add("point")
    if types & {"LineString", "MultiLineString"}:
        out.add("line")
    if types & {"Polygon", "MultiPolygon"}:
        out.add("polygon")
    return out


class LayerCombo(QComboBox):
    """A combo box of the project's layers that fit, refreshed when layers come and go.

    Parameters
    ----------
    window : MainWindow
    accept : callable
        ``accept(layer) -> bool``.
    score : callable, optional
        ``score(layer) -> int``; the best-scoring layer (> 0) is chosen by default.
    optional : bool
        Offer "(不使用)" (None) as the first entry.
    """

    def __init__(self, window, accept, score=None, optional=False, parent=None):
        super().__init__(parent)
        self.window = window
        self.accept = accept
        self.score = score or (lambda layer: 0)
        self.optional = optional
        self._user_chose = False
        self.activated.connect(self._on_activated)
        self.refresh()
        events = window.project.layers.events
        events.inserted.connect(self._on_layers_changed)
        events.removed.connect(self._on_layers_changed)

    def _on_activated(self, *_):
        self._user_chose = True

    def _on_layers_changed(self, **_):
        try:
            self.refresh()
        except RuntimeError:  # the widget was deleted
            pass

    def refresh(self) -> None:
        current = self.layer()
        self.blockSignals(True)
        self.clear()
        if self.optional:
            self.addItem(tr("（不使用）", "(none)"), None)
        layers = [lyr for lyr in self.window.project.layers if self.accept(lyr)]
        for lyr in layers:
            self.addItem(lyr.name, lyr.id)
        chosen = current.id if (current is not None and self._user_chose and current in layers) else None
        if chosen is None:
            scored = [(self.score(lyr), -i, lyr) for i, lyr in enumerate(layers)]
            scored = [s for s in scored if s[0] > 0]
            if scored:
                chosen = max(scored, key=lambda s: (s[0], s[1]))[2].id
            elif current is not None and current in layers:
                chosen = current.id
            elif layers and not self.optional:
                chosen = layers[0].id
        idx = self.findData(chosen) if chosen is not None else 0
        self.setCurrentIndex(max(idx, 0))
        self.blockSignals(False)

    def layer(self):
        """The chosen layer (None for "(none)" or when the project has none that fits)."""
        layer_id = self.currentData()
        if layer_id is None:
            return None
        try:
            return self.window.project.layers.by_id(layer_id)
        except (KeyError, ValueError, LookupError):
            return None

    def set_layer(self, layer) -> None:
        idx = self.findData(layer.id if layer is not None else None)
        if idx >= 0:
            self.setCurrentIndex(idx)
            self._user_chose = True


def vector_with(fields=(), kinds=None):
    """accept() for vector layers holding any of ``fields`` (or none required) and geometry ``kinds``."""

    def accept(layer):
        if not isinstance(layer, VectorLayer) or len(layer.gdf) == 0:
            return False
        if kinds and not (geometry_kinds(layer) & set(kinds)):
            return False
        return True

    return accept


def field_score(*fields, words=()):
    """score() preferring layers with the fields, or whose name holds one of ``words``."""

    def score(layer):
        s = 0
        cols = set(getattr(getattr(layer, "gdf", None), "columns", []))
        s += 10 * sum(f in cols for f in fields)
        s += 5 * any(w.lower() in layer.name.lower() for w in words)
        return s

    return score


def is_raster(layer) -> bool:
    return isinstance(layer, RasterLayer)


def bbox_in_map_crs(gdf, map_crs) -> tuple:
    """Bounds of a GeoDataFrame in the map CRS: its envelope, densified, transformed by :mod:`riskmap.crs`."""
    minx, miny, maxx, maxy = (float(v) for v in gdf.total_bounds)
    if gdf.crs is None or crs_policy.same_crs(gdf.crs, map_crs):
        return minx, miny, maxx, maxy
    t = np.linspace(0.0, 1.0, 9)
    xs = np.concatenate([minx + (maxx - minx) * t, np.full(9, maxx), maxx - (maxx - minx) * t, np.full(9, minx)])
    ys = np.concatenate([np.full(9, miny), miny + (maxy - miny) * t, np.full(9, maxy), maxy - (maxy - miny) * t])
    x, y = crs_policy.transform_xy(xs, ys, gdf.crs, map_crs)
    return float(np.min(x)), float(np.min(y)), float(np.max(x)), float(np.max(y))


# ---------------------------------------------------------------------------
# parameter and result widgets
# ---------------------------------------------------------------------------
def spin(value, lo, hi, step, decimals=0, suffix=""):
    box = QDoubleSpinBox()
    box.setRange(lo, hi)
    box.setDecimals(decimals)
    box.setSingleStep(step)
    box.setValue(value)
    if suffix:
        box.setSuffix(suffix)
    return box


def result_table(headers) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.setEditTriggers(QAbstractItemView.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectRows)
    table.setSelectionMode(QAbstractItemView.SingleSelection)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return table


def set_row(table, row, values, color=None):
    from PyQt5.QtGui import QColor

    for col, value in enumerate(values):
        item = QTableWidgetItem("" if value is None else str(value))
        item.setToolTip(item.text())
        if color and col == 1:
            item.setBackground(QColor(color))
        table.setItem(row, col, item)


# ---------------------------------------------------------------------------
# the panel base
# ---------------------------------------------------------------------------
class AnalysisPanel(QDockWidget):
    """Dock of one analysis: run button, summary label, background run and error plumbing.

    Subclasses implement ``run()`` and call :meth:`start_task` from it; when they use
    :meth:`add_run_and_results` they implement ``_zoom_to_row(row, col)`` too.
    """

    def __init__(self, window, title: str, object_name: str):
        super().__init__(title, window)
        self.setObjectName(object_name)
        self.window = window
        self.result = None
        self.task = None

    # -- widgets ----------------------------------------------------------------------
    def make_run_button(self, text: str | None = None) -> QPushButton:
        """The run button (``self.run_button``), connected to ``self.run``."""
        self.run_button = QPushButton(text if text is not None else tr("运行", "Run"))
        self.run_button.clicked.connect(self.run)
        return self.run_button

    def make_summary(self) -> QLabel:
        """The word-wrapped summary label (``self.summary``)."""
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        return self.summary

    def add_run_and_results(self, layout, headers) -> None:
        """Add the run button, the summary and a result table (``self.table``, click a row to zoom)."""
        layout.addWidget(self.make_run_button())
        layout.addWidget(self.make_summary())
        self.table = result_table(headers)
        self.table.cellClicked.connect(self._zoom_to_row)
        layout.addWidget(self.table, 1)

    # -- running ----------------------------------------------------------------------
    def read_parameters(self, inputs_ready: bool, missing_message: str, build):
        """``build()`` (the analysis parameters), or None after a message box saying why not:
        a required input layer is not chosen, or a parameter is invalid."""
        from riskmap.errors import ParameterError, RiskmapError

        if not inputs_ready:
            self.window.show_error(ParameterError(missing_message))
            return None
        try:
            return build()
        except RiskmapError as exc:
            self.window.show_error(exc)
            return None

    def start_task(self, fn, *args, **kwargs):
        """``window.run_task(fn, ...)`` with the run button disabled until the task ends."""
        self.run_button.setEnabled(False)
        self.task = self.window.run_task(fn, *args, on_error=self._failed, **kwargs)
        self.task.done.connect(self._task_done)
        return self.task

    def _task_done(self):
        try:
            self.run_button.setEnabled(True)
        except RuntimeError:  # panel closed meanwhile
            pass

    def _failed(self, exc):
        self.run_button.setEnabled(True)
        self.window.show_error(exc)

    def zoom_to_frame(self, gdf) -> None:
        """Zoom the map to the bounds of ``gdf``."""
        self.window.zoom_to(bbox_in_map_crs(gdf, self.window.project.map_crs))


__all__ = ["AnalysisPanel", "LayerCombo", "bbox_in_map_crs", "field_score", "geometry_kinds", "is_raster",
           "result_table", "set_row", "spin", "vector_with"]
