"""Widgets and plumbing shared by the analysis panels.

- :class:`LayerCombo` with the ``accept``/``score`` helpers (:func:`vector_with`, :func:`is_raster`,
  :func:`field_score`) picks an input layer of the project.
- :func:`spin` builds parameter widgets; :class:`ResultTable` (:func:`result_table`) is the result table:
  whole columns in one fast model (:mod:`riskmap.ui.table_model`), sorted by numpy on a header click.
- :class:`ParamForm` is the form of a declared :class:`~riskmap.analysis.declare.ParamSet`
  (spin boxes with range and unit, combo boxes, check boxes): no default or range is typed in
  a panel.
- :class:`AnalysisPanel` is the dock every analysis panel derives from. It talks only to a
  :class:`~riskmap.ui.host.PanelHost`; it builds the input combos from the analysis's declared
  inputs, runs :func:`riskmap.analysis.result.run_analysis` in the background with the run
  button disabled meanwhile, puts result layers on the map with their declared aliases and
  provenance, and exports the one Excel report.
"""
from __future__ import annotations

import numpy as np
from PyQt5.QtCore import QItemSelection, QItemSelectionModel, Qt, pyqtSignal
from PyQt5.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDockWidget,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QWidget,
)

from riskmap import crs as crs_policy
from riskmap.i18n import tr
from riskmap.layers import RasterLayer, VectorLayer
from riskmap.ui.host import PanelHost
from riskmap.ui.table_model import Column, ResultTableModel


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
    host : PanelHost
        Anything with a ``project`` (the panel's host).
    accept : callable
        ``accept(layer) -> bool``.
    score : callable, optional
        ``score(layer) -> int``; the best-scoring layer (> 0) is chosen by default.
    optional : bool
        Offer "(不使用)" (None) as the first entry.
    """

    def __init__(self, host, accept, score=None, optional=False, parent=None):
        super().__init__(parent)
        self.host = host
        self.accept = accept
        self.score = score or (lambda layer: 0)
        self.optional = optional
        self._user_chose = False
        self.activated.connect(self._on_activated)
        self.refresh()
        events = host.project.layers.events
        events.inserted.connect(self._on_inserted)
        events.removed.connect(self._on_layers_changed)

    def _on_activated(self, *_):
        self._user_chose = True

    def _on_inserted(self, layer=None, **_):
        """A data layer the user just added from a file that fits is chosen (unless the user picked one by
        hand); result layers (analysis results, the hazard register) are not inputs."""
        try:
            self.refresh()
            from_file = isinstance(layer, RasterLayer) or bool(getattr(layer, "source", None))
            if layer is not None and from_file and not self._user_chose and getattr(layer, "group", "") != "analysis" \
                    and self.accept(layer) and self.score(layer) > 0:
                idx = self.findData(layer.id)
                if idx >= 0:
                    self.setCurrentIndex(idx)
        except RuntimeError:  # the widget was deleted
            pass

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
        layers = [lyr for lyr in self.host.project.layers if self.accept(lyr)]
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
            return self.host.project.layers.by_id(layer_id)
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
    """Bounds of a GeoDataFrame in the map CRS (:func:`riskmap.crs.bounds_in_crs`)."""
    return crs_policy.bounds_in_crs(gdf, map_crs)


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


def param_spin(param) -> QDoubleSpinBox:
    """A spin box for a declared numeric parameter: its default, range, step, decimals and unit."""
    decimals = param.decimals if param.decimals is not None else (0 if param.kind == "int" else 2)
    lo = param.minimum if param.minimum is not None else 0.0
    if param.exclusive_minimum:
        lo += 10 ** -decimals
    hi = param.maximum if param.maximum is not None else 1e9
    box = spin(param.default, lo, hi, param.step or 1, decimals=decimals, suffix=f" {param.unit}" if param.unit else "")
    box.setToolTip(f"{param.help}\n{tr('依据', 'Basis')}: {param.basis}")
    return box


def param_combo(param) -> QComboBox:
    """A combo box of a declared choice parameter, its default chosen (the value is ``currentData()``)."""
    box = QComboBox()
    for value in param.choices:
        box.addItem(param.choice_label(value), value)
    box.setCurrentIndex(max(box.findData(param.default), 0))
    box.setToolTip(f"{param.help}\n{tr('依据', 'Basis')}: {param.basis}")
    return box


def param_check(param) -> QCheckBox:
    """A check box for a declared bool parameter, checked as its default."""
    box = QCheckBox(param.label)
    box.setChecked(bool(param.default))
    box.setToolTip(f"{param.help}\n{tr('依据', 'Basis')}: {param.basis}")
    return box


class ParamForm(QGroupBox):
    """The form of a declared parameter set: one widget per parameter shown in forms.

    Parameters
    ----------
    params : ParamSet
        The analysis's declaration.
    names : iterable of str, optional
        Parameters to show now, in this order (default: every one declared with ``form=True``);
        :meth:`add` adds more later, :meth:`add_note` a line of text between them.
    """

    def __init__(self, params, names=None, title: str | None = None, parent=None):
        super().__init__(title if title is not None else tr("参数", "Parameters"), parent)
        self.params = params
        self.widgets: dict = {}
        self.rows = QFormLayout(self)
        self.add(names if names is not None else [p.name for p in params if p.form])

    def add(self, names) -> None:
        """Add a row for each of ``names``."""
        for name in names:
            param = self.params[name]
            if param.kind == "bool":
                widget = param_check(param)
                self.rows.addRow(widget)
            elif param.kind == "choice":
                widget = param_combo(param)
                self.rows.addRow(param.label, widget)
            elif param.kind in ("float", "int"):
                widget = param_spin(param)
                self.rows.addRow(param.label, widget)
            else:
                raise TypeError(f"parameter {name!r} of kind {param.kind!r} has no form widget")
            self.widgets[name] = widget

    def add_note(self, text: str) -> QLabel:
        label = QLabel(text)
        label.setWordWrap(True)
        self.rows.addRow(label)
        return label

    def widget(self, name: str):
        return self.widgets[name]

    def value(self, name: str):
        """The value of one form parameter as the declaration's type."""
        widget, param = self.widgets[name], self.params[name]
        if isinstance(widget, QCheckBox):
            return widget.isChecked()
        if isinstance(widget, QComboBox):
            return widget.currentData()
        return int(round(widget.value())) if param.kind == "int" else float(widget.value())

    def values(self) -> dict:
        return {name: self.value(name) for name in self.widgets}

    def set_value(self, name: str, value) -> None:
        widget = self.widgets[name]
        if isinstance(widget, QCheckBox):
            widget.setChecked(bool(value))
        elif isinstance(widget, QComboBox):
            widget.setCurrentIndex(max(widget.findData(value), 0))
        else:
            widget.setValue(float(value))

    def build(self, **more):
        """The analysis's parameter object from the form (and ``more``), checked: ParameterError on a bad value."""
        return self.params.build(**{**self.values(), **more})


def input_combo(host, spec) -> "LayerCombo":
    """A layer combo for a declared input: its kind, geometry, the fields and words that pick a default."""
    accept = is_raster if spec.kind == "raster" else vector_with(kinds=spec.geometry or None)
    return LayerCombo(host, accept, field_score(*spec.fields, words=spec.words), optional=not spec.required)


def as_host(window_or_host) -> PanelHost:
    """The panel host of a main window (or the host itself)."""
    if isinstance(window_or_host, PanelHost):
        return window_or_host
    host = getattr(window_or_host, "host", None)
    return host if isinstance(host, PanelHost) else PanelHost(window_or_host)


#: Rows a result table always has room for (the dock scrolls instead of squeezing the table).
MIN_TABLE_ROWS = 8


def reserve_rows(table, rows: int = MIN_TABLE_ROWS) -> None:
    """Give ``table`` at least the height of its header and ``rows`` rows (plus a scroll bar)."""
    header = table.horizontalHeader().sizeHint().height()
    row = table.verticalHeader().defaultSectionSize()
    scroll = table.style().pixelMetric(table.style().PM_ScrollBarExtent)
    table.setMinimumHeight(int(header + row * (rows + 0.5) + scroll + 2 * table.frameWidth()))


#: Rows whose text sizes the columns (the first half of them and the rest spread over the table).
SIZE_SAMPLE_ROWS = 200
#: Widest a column is made automatically (pixels); the user can widen it.
MAX_COLUMN_PX = 360


class _Cell:
    """The text of one cell of a :class:`ResultTable` (what ``QTableWidget.item()`` offered)."""

    def __init__(self, text: str):
        self._text = text

    def text(self) -> str:
        return self._text


class ResultTable(QTableView):
    """A read-only, row-selecting result table over one :class:`~riskmap.ui.table_model.ResultTableModel`.

    Fill it whole with :meth:`set_columns` (arrays, not cells): a header click sorts by numpy, the
    columns are sized from a sample of rows (never every cell), and only painted cells are formatted,
    so 100,000 rows open and sort without freezing the window. It keeps the parts of the
    ``QTableWidget`` interface the panels use: ``rowCount()``, ``item(row, col).text()``,
    ``cellClicked(row, col)``, ``cellDoubleClicked(row, col)`` and ``itemSelectionChanged`` (rows are
    table rows; :meth:`source_row` gives the row of the data behind one), and ``setRowCount`` with
    :func:`set_row` for small tables filled row by row.
    """

    cellClicked = pyqtSignal(int, int)  # noqa: N815 - QTableWidget's name
    cellDoubleClicked = pyqtSignal(int, int)  # noqa: N815
    itemSelectionChanged = pyqtSignal()  # noqa: N815

    def __init__(self, headers, parent=None, model=None):
        super().__init__(parent)
        self.setModel(model if model is not None else ResultTableModel(headers, self))
        self.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        self.verticalHeader().setVisible(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.Interactive)
        header.setStretchLastSection(True)
        header.setSortIndicatorShown(True)
        header.setSortIndicator(-1, Qt.AscendingOrder)  # rows in the order given until a header is clicked
        self.setSortingEnabled(True)
        self.clicked.connect(lambda index: self.cellClicked.emit(index.row(), index.column()))
        self.doubleClicked.connect(lambda index: self.cellDoubleClicked.emit(index.row(), index.column()))
        self.selectionModel().selectionChanged.connect(lambda *_: self.itemSelectionChanged.emit())
        reserve_rows(self)
        self.size_columns()

    # -- filling ----------------------------------------------------------------------
    def set_columns(self, columns, keep_selection: bool = False) -> None:
        """Show ``columns`` and size them from a sample of rows.

        Parameters
        ----------
        columns : list of Column or array-like
            One per header (:class:`~riskmap.ui.table_model.Column`: values, formatter, sort key, colours).
        keep_selection : bool
            New values for the same rows: the selection stays on its rows and the widths are kept
            (:meth:`~riskmap.ui.table_model.ResultTableModel.set_columns`).
        """
        self.model().set_columns(columns, keep_selection=keep_selection)
        if not keep_selection:
            self.size_columns()

    def size_columns(self, sample: int = SIZE_SAMPLE_ROWS) -> None:
        """Width of each column (but a stretched last one) from its header and the text of at most ``sample``
        rows: the first half of them and the rest spread over the table, capped at :data:`MAX_COLUMN_PX`.

        Parameters
        ----------
        sample : int
            Rows measured (``ResizeToContents`` would format every cell of the table).
        """
        model, header = self.model(), self.horizontalHeader()
        n = model.rowCount()
        rows = np.zeros(0, np.int64)
        if n:
            rows = np.unique(np.concatenate([np.arange(min(n, sample // 2)),
                                             np.linspace(0, n - 1, min(n, sample - sample // 2)).astype(np.int64)]))
        cell, head = self.fontMetrics(), header.fontMetrics()
        last = model.columnCount() - (1 if header.stretchLastSection() else 0)
        for c in range(max(last, 0)):
            width = head.horizontalAdvance(str(model.headerData(c, Qt.Horizontal) or "")) + 28  # sort arrow
            for r in rows:
                width = max(width, cell.horizontalAdvance(model.text(int(r), c)) + 14)
            header.resizeSection(c, int(min(width, MAX_COLUMN_PX)))

    def setRowCount(self, n: int) -> None:  # noqa: N802 - QTableWidget's name
        """``n`` empty rows, to be filled by :func:`set_row` (small tables only)."""
        model = self.model()
        cols = [np.full(int(n), "", dtype=object) for _ in model.headers]
        model.set_columns([Column(v, fmt=str, background=np.full(int(n), None, dtype=object)) for v in cols])

    def set_cells(self, row: int, values, color=None) -> None:
        """Set the texts of source row ``row`` (after :meth:`setRowCount`); ``color`` tints its second cell.
        The columns are sized when the last row is set."""
        model = self.model()
        model.set_row_texts(row, values, color)
        if row == model.source_count() - 1:
            self.size_columns()

    # -- QTableWidget's reading interface -----------------------------------------------
    def rowCount(self) -> int:  # noqa: N802 - QTableWidget's name
        return self.model().rowCount()

    def columnCount(self) -> int:  # noqa: N802
        return self.model().columnCount()

    def item(self, row: int, col: int) -> _Cell | None:
        """The text of a cell at table row ``row`` (None outside the table)."""
        model = self.model()
        if not (0 <= row < model.rowCount() and 0 <= col < model.columnCount()):
            return None
        return _Cell(model.text(row, col))

    # -- rows ------------------------------------------------------------------------------
    def source_row(self, row: int) -> int:
        """Row of the data shown at table row ``row``."""
        return self.model().source_row(row)

    def selected_source_rows(self) -> list[int]:
        """Source rows of the selected table rows, in table order."""
        rows = sorted({index.row() for index in self.selectionModel().selectedRows()})
        return [int(r) for r in self.model().source_rows(rows)]

    def select_source_rows(self, sources) -> None:
        """Select the table rows showing ``sources`` (the others are deselected) and show the first."""
        model, sm = self.model(), self.selectionModel()
        rows = model.rows_of_sources(sources)
        selection = QItemSelection()
        last_col = max(model.columnCount() - 1, 0)
        if rows.size:
            breaks = np.flatnonzero(np.diff(rows) != 1) + 1
            for run in np.split(rows, breaks):
                selection.select(model.index(int(run[0]), 0), model.index(int(run[-1]), last_col))
        sm.select(selection, QItemSelectionModel.ClearAndSelect | QItemSelectionModel.Rows)
        if rows.size:
            sm.setCurrentIndex(model.index(int(rows[0]), 0), QItemSelectionModel.NoUpdate)
            self.scrollTo(model.index(int(rows[0]), 0))


def result_table(headers) -> ResultTable:
    """A read-only, row-selecting :class:`ResultTable` with room for :data:`MIN_TABLE_ROWS` rows."""
    return ResultTable(headers)


def set_row(table, row, values, color=None):
    """Fill one row of a :class:`ResultTable` sized by ``setRowCount`` (small tables; big ones use
    :meth:`ResultTable.set_columns`)."""
    table.set_cells(row, values, color)


# ---------------------------------------------------------------------------
# the panel base
# ---------------------------------------------------------------------------
class AnalysisPanel(QDockWidget):
    """Dock of one declared analysis: inputs, parameters, background run, result layers, report.

    A subclass sets :attr:`analysis_name`, builds its widgets with :meth:`make_inputs`,
    :class:`ParamForm`, :meth:`make_run_button`, :meth:`make_summary` and
    :meth:`make_report_button`, and implements :meth:`show_native` (put the analysis's own
    result on the map); :meth:`parameters` may add values the form does not show. When it
    uses :meth:`add_run_and_results` it implements ``_zoom_to_row(row, col)`` too (``row`` is the row of
    the data behind the clicked table row: the table sorts when a header is clicked).
    """

    #: Name of the analysis in :data:`riskmap.analysis.registry.ANALYSES`.
    analysis_name: str | None = None

    def __init__(self, window, title: str | None = None, object_name: str | None = None):
        self.host = as_host(window)
        spec = self.analysis
        super().__init__(title if title is not None else (spec.title if spec else ""), self.host.widget)
        self.setObjectName(object_name or type(self).__name__)
        self.result = None  # the analysis function's own result
        self.analysis_result = None  # the AnalysisResult of the last run (with provenance)
        self.task = None
        self.combos: dict = {}
        self.form = None
        self.report_button = None

    def setWidget(self, widget) -> None:  # noqa: N802 - Qt's name
        """Put ``widget`` in the dock inside a scroll area, so a tall form never grows the window."""
        from PyQt5.QtWidgets import QFrame, QScrollArea

        if not isinstance(widget, QScrollArea):
            area = QScrollArea()
            area.setObjectName(f"{self.objectName()}Scroll")
            area.setWidgetResizable(True)
            area.setFrameShape(QFrame.NoFrame)
            area.setWidget(widget)
            widget = area
        super().setWidget(widget)

    @property
    def analysis(self):
        """The declared :class:`~riskmap.analysis.declare.Analysis` of this panel (None if not declared)."""
        if self.analysis_name is None:
            return None
        from riskmap.analysis.registry import ANALYSES

        return ANALYSES[self.analysis_name]

    # -- widgets ----------------------------------------------------------------------
    def make_inputs(self, roles=None, title: str | None = None) -> QGroupBox:
        """A group of layer combos, one per declared single-layer input (``self.<role>_combo``)."""
        box = QGroupBox(title if title is not None else tr("输入数据", "Inputs"))
        form = QFormLayout(box)
        for spec in self.analysis.inputs:
            if spec.multiple or (roles is not None and spec.role not in roles):
                continue
            combo = input_combo(self.host, spec)
            combo.setToolTip(tr(spec.help_zh, spec.help_en))
            self.combos[spec.role] = combo
            setattr(self, f"{spec.role}_combo", combo)
            form.addRow(spec.label, combo)
        return box

    def make_form(self, names=None) -> ParamForm:
        """The parameter form of the analysis (``self.form``)."""
        self.form = ParamForm(self.analysis.params, names)
        return self.form

    def make_run_button(self, text: str | None = None) -> QPushButton:
        """The run button (``self.run_button``), connected to ``self.run``."""
        self.run_button = QPushButton(text if text is not None else tr("运行", "Run"))
        self.run_button.clicked.connect(lambda: self.run())
        return self.run_button

    def make_summary(self) -> QWidget:
        """The word-wrapped summary label (``self.summary``) with the run's warnings below it
        (``self.warnings_label``: partial population coverage, implausible input values; hidden when none)."""
        from PyQt5.QtWidgets import QVBoxLayout

        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.warnings_label = QLabel("")
        self.warnings_label.setObjectName("runWarnings")
        self.warnings_label.setWordWrap(True)
        self.warnings_label.setTextFormat(Qt.PlainText)
        self.warnings_label.setStyleSheet("color: #b35900;")
        self.warnings_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.warnings_label.hide()
        column.addWidget(self.summary)
        column.addWidget(self.warnings_label)
        return box

    def make_report_button(self) -> QPushButton:
        """"导出报告…" (``self.report_button``): the Excel report of the last run, enabled after a run."""
        self.report_button = QPushButton(tr("导出报告…", "Export report…"))
        self.report_button.setEnabled(False)
        self.report_button.clicked.connect(lambda: self.export_report())
        return self.report_button

    def add_run_and_results(self, layout, headers) -> None:
        """Add the run and report buttons, the summary and a result table (``self.table``, click a row to zoom)."""
        from PyQt5.QtWidgets import QHBoxLayout

        buttons = QHBoxLayout()
        buttons.addWidget(self.make_run_button())
        buttons.addWidget(self.make_report_button())
        layout.addLayout(buttons)
        layout.addWidget(self.make_summary())
        self.table = result_table(headers)
        self.table.cellClicked.connect(lambda row, col: self._zoom_to_row(self.table.source_row(row), col))
        layout.addWidget(self.table, 1)

    # -- running ----------------------------------------------------------------------
    def parameters(self):
        """The parameter object from the form (ParameterError on a bad value)."""
        return self.form.build() if self.form is not None else self.analysis.params.build()

    def layer_inputs(self):
        """``(inputs, sources, missing)``: ``{role: GeoDataFrame | raster path | list | None}``, ``{role: file}``
        and the labels of required inputs not chosen."""
        inputs, sources, missing = {}, {}, []
        for spec in self.analysis.inputs:
            combo = self.combos.get(spec.role)
            if combo is None:
                continue
            layer = combo.layer()
            if layer is None:
                inputs[spec.role] = None
                if spec.required:
                    missing.append(spec.label)
                continue
            if isinstance(layer, RasterLayer):
                inputs[spec.role] = str(layer.path)
            else:
                inputs[spec.role] = layer.gdf
                if getattr(layer, "source", None):
                    sources[spec.role] = layer.source
        return inputs, sources, missing

    def extra_inputs(self, inputs: dict, sources: dict) -> None:
        """Hook: add inputs the combos do not hold (several facility layers)."""

    def read_parameters(self, inputs_ready: bool, missing_message: str, build):
        """``build()`` (the analysis parameters), or None after a message box saying why not:
        a required input layer is not chosen, or a parameter is invalid."""
        from riskmap.errors import ParameterError, RiskmapError

        if not inputs_ready:
            self.host.show_error(ParameterError(missing_message))
            return None
        try:
            return build()
        except RiskmapError as exc:
            self.host.show_error(exc)
            return None

    def run(self):
        """Check the inputs and parameters, then run the declared analysis in the background."""
        from riskmap.analysis.result import run_analysis

        inputs, sources, missing = self.layer_inputs()
        message = tr(f"请先选择：{'、'.join(missing)}", f"Choose first: {', '.join(missing)}")
        params = self.read_parameters(not missing, message, self.parameters)
        if params is None:
            return None
        self.extra_inputs(inputs, sources)
        return self.start_task(run_analysis, self.analysis, inputs, params, sources=sources,
                               title=self.analysis.title, on_done=self.show_result)

    def start_task(self, fn, *args, **kwargs):
        """``host.run_task(fn, ...)`` with the run button disabled until the task ends."""
        self.run_button.setEnabled(False)
        self.task = self.host.run_task(fn, *args, on_error=self._failed, **kwargs)
        self.task.done.connect(self._task_done)
        return self.task

    def _task_done(self):
        try:
            self.run_button.setEnabled(True)
        except RuntimeError:  # panel closed meanwhile
            pass

    def _failed(self, exc):
        self.run_button.setEnabled(True)
        self.host.show_error(exc)

    # -- results ----------------------------------------------------------------------
    def show_result(self, result):
        """Keep the :class:`~riskmap.analysis.result.AnalysisResult` and show its native result."""
        self.analysis_result = result
        self.result = result.native
        self.show_native(result.native)
        if self.report_button is not None:
            self.report_button.setEnabled(True)
        if getattr(self, "summary", None) is not None:
            self.summary.setText(self.summary_text())
        self.show_warnings(result.provenance.get("warnings") or [])

    def show_warnings(self, warnings) -> None:
        """The run's warnings under the summary, one "⚠" line each (the label hides when there are none)."""
        label = getattr(self, "warnings_label", None)
        if label is None:
            return
        label.setText("\n".join(f"⚠ {w}" for w in warnings))
        label.setToolTip(label.text())
        label.setVisible(bool(warnings))

    def show_native(self, native) -> None:
        """Put the analysis's own result on the map and in the panel (subclasses)."""
        raise NotImplementedError

    def summary_text(self) -> str:
        return self.current_result().summary

    def current_result(self):
        """The result as it stands now (after any what-if edits), with its provenance."""
        return self.analysis_result

    def add_layer(self, gdf, name: str, style=None, table: str | None = None):
        """A result layer on the map, with the declared table's aliases and the run's provenance."""
        result = self.current_result()
        layer = self.host.add_result_layer(gdf, name, style=style,
                                           provenance=result.provenance if result is not None else None)
        if table is not None and self.analysis is not None:
            declared = self.analysis.tables[table].aliases()
            layer.aliases.update({k: v for k, v in declared.items() if k in gdf.columns})
        return layer

    def zoom_to_frame(self, gdf) -> None:
        """Zoom the map to the bounds of ``gdf``."""
        self.host.zoom_to(bbox_in_map_crs(gdf, self.host.project.map_crs))

    # -- report -----------------------------------------------------------------------
    def export_report(self, path=None):
        """Write the Excel report of the last run (declared sheets, Chinese headers, 来源说明); returns the path."""
        from riskmap.errors import RiskmapError
        from riskmap.exports.report import write_report

        result = self.current_result()
        if result is None:
            return None
        if path is None:
            title = self.analysis.title
            path = self.host.ask_save_path(tr(f"导出{title}报告", f"Export the {title} report"),
                                           tr(f"{self.analysis.zh}报告.xlsx", f"{self.analysis.name}_report.xlsx"),
                                           "Excel (*.xlsx)")
            if not path:
                return None
        try:
            self.host.project.check_output(path)
            written = write_report(result, path, self.analysis)
        except RiskmapError as exc:
            self.host.show_error(exc)
            return None
        self.host.show_status(tr(f"已导出：{written}", f"Written: {written}"))
        return written


__all__ = ["AnalysisPanel", "Column", "LayerCombo", "ParamForm", "ResultTable", "as_host", "bbox_in_map_crs",
           "input_combo", "param_check", "field_score", "geometry_kinds", "is_raster", "param_combo",
           "param_spin", "result_table", "set_row", "spin", "vector_with"]
