"""Layer panel: the project's layers, topmost first, with legends, visibility, order and opacity.

:class:`LayerTreeModel` is a view of ``project.layers`` (it keeps no copy): rows are
layers in reverse drawing order (the top row is drawn last, on top), children are the
legend entries of categorised / graduated styles. Checking a row toggles
``layer.visible``; dragging a row calls ``project.layers.move`` and the model follows
the list's events.
"""
from __future__ import annotations

from PyQt5.QtCore import QAbstractItemModel, QByteArray, QMimeData, QModelIndex, Qt, pyqtSignal
from PyQt5.QtGui import QBrush, QColor, QIcon, QPainter, QPen, QPixmap
from PyQt5.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QMenu,
    QSlider,
    QTreeView,
    QUndoCommand,
    QVBoxLayout,
    QWidget,
)

from riskmap.i18n import tr
from riskmap.layers import RasterLayer, VectorLayer
from riskmap.layers.style import RAMPS

LAYER_MIME = "application/x-riskmap-layer-id"
_NO_PARENT = 0  # internalId of layer rows; legend rows carry (layer row + 1)
_ICON_SIZE = 16


def legend_entries(layer) -> list[tuple[str, str]]:
    """``[(label, colour)]`` shown under a layer (empty for single-symbol layers)."""
    style = layer.style
    if style.mode in ("categorized", "graduated"):
        return style.legend()
    return []


def swatch_icon(layer, colour: str | None = None) -> QIcon:
    """A small symbol of the layer: a dot, a line, a filled square or a ramp."""
    pix = QPixmap(_ICON_SIZE, _ICON_SIZE)
    pix.fill(Qt.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.Antialiasing, True)
    style = layer.style
    fill = QColor(colour or style.color)
    if isinstance(layer, RasterLayer):
        ramp = RAMPS.get(style.ramp, RAMPS["greys"])
        step = _ICON_SIZE / len(ramp)
        for i, c in enumerate(ramp):
            p.fillRect(int(i * step), 2, int(step) + 1, _ICON_SIZE - 4, QColor(c))
    else:
        geom = getattr(layer, "geom_type", "Point")
        if geom == "LineString":
            pen = QPen(fill, max(2.0, min(style.width, 4.0)))
            pen.setCapStyle(Qt.RoundCap)
            p.setPen(pen)
            p.drawLine(2, _ICON_SIZE - 4, _ICON_SIZE - 2, 4)
        elif geom == "Polygon":
            face = QColor(fill)
            face.setAlphaF(max(0.25, min(1.0, style.fill_opacity + 0.2)))
            p.setBrush(QBrush(face))
            p.setPen(QPen(QColor(style.stroke), 1))
            p.drawRect(2, 2, _ICON_SIZE - 5, _ICON_SIZE - 5)
        else:
            p.setBrush(QBrush(fill))
            p.setPen(QPen(QColor(style.stroke), 1))
            r = max(3.0, min(style.size, 12.0)) / 2
            p.drawEllipse(int(_ICON_SIZE / 2 - r), int(_ICON_SIZE / 2 - r), int(2 * r), int(2 * r))
    p.end()
    return QIcon(pix)


#: Colour of the error mark of a layer that failed to draw (icon and name).
ERROR_COLOUR = "#d32f2f"


def error_icon() -> QIcon:
    """The mark of a layer that failed to draw: a red disc with a white exclamation mark."""
    pix = QPixmap(_ICON_SIZE, _ICON_SIZE)
    pix.fill(Qt.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.Antialiasing, True)
    p.setPen(Qt.NoPen)
    p.setBrush(QBrush(QColor(ERROR_COLOUR)))
    p.drawEllipse(1, 1, _ICON_SIZE - 2, _ICON_SIZE - 2)
    p.setBrush(QBrush(QColor("#ffffff")))
    p.drawRect(_ICON_SIZE // 2 - 1, 3, 2, _ICON_SIZE - 9)
    p.drawRect(_ICON_SIZE // 2 - 1, _ICON_SIZE - 5, 2, 2)
    p.end()
    return QIcon(pix)


class LayerTreeModel(QAbstractItemModel):
    """Layers (topmost first) with their legend entries as children."""

    layers_dropped = pyqtSignal(list)  # local file paths dropped on the panel

    def __init__(self, project, parent=None):
        super().__init__(parent)
        self.project = project
        self._icons: dict = {}
        ev = project.layers.events
        ev.inserted.connect(self._reset)
        ev.removed.connect(self._reset)
        ev.moved.connect(self._reset)
        ev.changed.connect(self._on_changed)
        ev.render_state.connect(self._on_render_state)

    # -- mapping --------------------------------------------------------------
    def layer_at(self, row: int):
        n = len(self.project.layers)
        return self.project.layers[n - 1 - row] if 0 <= row < n else None

    def row_of(self, layer) -> int:
        return len(self.project.layers) - 1 - self.project.layers.index(layer)

    def layer_for_index(self, index):
        if not index.isValid():
            return None
        if index.internalId() == _NO_PARENT:
            return self.layer_at(index.row())
        return self.layer_at(index.internalId() - 1)

    def index_of_layer(self, layer) -> QModelIndex:
        return self.index(self.row_of(layer), 0)

    # -- events of the project ------------------------------------------------------
    def _reset(self, **_):
        self.beginResetModel()
        self._icons.clear()
        self.endResetModel()

    def _on_changed(self, layer=None, what=None, **_):
        if what in ("selection", "data"):
            return
        if what == "style":
            self._reset()
            return
        if layer is None or layer not in self.project.layers:
            return
        index = self.index_of_layer(layer)
        self.dataChanged.emit(index, index)

    def _on_render_state(self, layer=None, error=None, **_):
        """A layer failed to draw, or drew again: its row's mark and tooltip change."""
        if layer is None or layer not in self.project.layers:
            return
        index = self.index_of_layer(layer)
        self.dataChanged.emit(index, index, [Qt.DecorationRole, Qt.ToolTipRole, Qt.ForegroundRole])

    # -- structure --------------------------------------------------------------------
    def index(self, row, column, parent=QModelIndex()):
        if column != 0 or row < 0:
            return QModelIndex()
        if not parent.isValid():
            if row >= len(self.project.layers):
                return QModelIndex()
            return self.createIndex(row, 0, _NO_PARENT)
        if parent.internalId() != _NO_PARENT:
            return QModelIndex()
        layer = self.layer_at(parent.row())
        if layer is None or row >= len(legend_entries(layer)):
            return QModelIndex()
        return self.createIndex(row, 0, parent.row() + 1)

    def parent(self, index):
        if not index.isValid() or index.internalId() == _NO_PARENT:
            return QModelIndex()
        return self.createIndex(index.internalId() - 1, 0, _NO_PARENT)

    def rowCount(self, parent=QModelIndex()):
        if not parent.isValid():
            return len(self.project.layers)
        if parent.internalId() != _NO_PARENT:
            return 0
        layer = self.layer_at(parent.row())
        return len(legend_entries(layer)) if layer is not None else 0

    def columnCount(self, parent=QModelIndex()):
        return 1

    # -- data ---------------------------------------------------------------------------
    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        layer = self.layer_for_index(index)
        if layer is None:
            return None
        if index.internalId() != _NO_PARENT:
            entries = legend_entries(layer)
            if index.row() >= len(entries):
                return None
            label, colour = entries[index.row()]
            if role == Qt.DisplayRole:
                return label
            if role == Qt.DecorationRole:
                return swatch_icon(layer, colour)
            return None
        if role in (Qt.DisplayRole, Qt.EditRole):
            return layer.name
        if role == Qt.CheckStateRole:
            return Qt.Checked if layer.visible else Qt.Unchecked
        if layer.render_error:  # failed to draw (issue 18 §7): a visible mark, the one line as tooltip
            if role == Qt.DecorationRole:
                if "error" not in self._icons:
                    self._icons["error"] = error_icon()
                return self._icons["error"]
            if role == Qt.ToolTipRole:
                return tr(f"{layer.name}：无法绘制 — {layer.render_error}",
                          f"{layer.name}: cannot be drawn — {layer.render_error}")
            if role == Qt.ForegroundRole:
                return QBrush(QColor(ERROR_COLOUR))
        if role == Qt.DecorationRole:
            if legend_entries(layer):
                return None  # the legend rows below carry the symbols
            key = (layer.id, layer.revision)
            if key not in self._icons:
                self._icons[key] = swatch_icon(layer)
            return self._icons[key]
        if role == Qt.ToolTipRole:
            if isinstance(layer, VectorLayer):
                return tr(f"{layer.name}：{len(layer)} 个要素，{layer.crs.name}",
                          f"{layer.name}: {len(layer)} features, {layer.crs.name}")
            return f"{layer.name}: {layer.source}"
        if role == Qt.UserRole:
            return layer.id
        return None

    def setData(self, index, value, role=Qt.EditRole):
        layer = self.layer_for_index(index)
        if layer is None or index.internalId() != _NO_PARENT:
            return False
        if role == Qt.CheckStateRole:
            layer.visible = value if isinstance(value, bool) else int(value) == Qt.Checked
            return True
        if role == Qt.EditRole and str(value).strip():
            layer.name = str(value).strip()
            return True
        return False

    def flags(self, index):
        if not index.isValid():
            return Qt.ItemIsDropEnabled
        if index.internalId() != _NO_PARENT:
            return Qt.ItemIsEnabled
        return (Qt.ItemIsEnabled | Qt.ItemIsSelectable | Qt.ItemIsUserCheckable | Qt.ItemIsEditable
                | Qt.ItemIsDragEnabled)

    # -- drag and drop --------------------------------------------------------------------
    def supportedDropActions(self):
        return Qt.MoveAction | Qt.CopyAction

    def supportedDragActions(self):
        return Qt.MoveAction

    def mimeTypes(self):
        return [LAYER_MIME, "text/uri-list"]

    def mimeData(self, indexes):
        data = QMimeData()
        ids = [self.layer_for_index(i).id for i in indexes if i.isValid() and i.internalId() == _NO_PARENT]
        data.setData(LAYER_MIME, QByteArray("\n".join(ids).encode()))
        return data

    def canDropMimeData(self, data, action, row, column, parent):
        return data.hasFormat(LAYER_MIME) or data.hasUrls()

    def dropMimeData(self, data, action, row, column, parent):
        """Move the dragged layer so it lands at view ``row`` (before the row dropped on)."""
        if data.hasUrls() and not data.hasFormat(LAYER_MIME):
            paths = [u.toLocalFile() for u in data.urls() if u.isLocalFile()]
            if paths:
                self.layers_dropped.emit(paths)
            return bool(paths)
        if not data.hasFormat(LAYER_MIME):
            return False
        if parent.isValid():  # onto a layer or among its legend rows: take that layer's place
            row = parent.row() if parent.internalId() == _NO_PARENT else parent.internalId() - 1
        elif row < 0:  # onto the empty space below the list
            row = self.rowCount()
        ids = bytes(data.data(LAYER_MIME)).decode().split("\n")
        moved = False
        for layer_id in ids:
            try:
                layer = self.project.layers.by_id(layer_id)
            except KeyError:
                continue
            self.move_layer(layer, row)
            moved = True
        return moved

    def move_layer(self, layer, view_row: int) -> None:
        """Move ``layer`` to land before view row ``view_row`` (0 = top of the panel)."""
        n = len(self.project.layers)
        src_view = self.row_of(layer)
        target = view_row if view_row <= src_view else view_row - 1
        target = max(0, min(target, n - 1))
        if target != src_view:
            self.project.layers.move(n - 1 - src_view, n - 1 - target)


class RemoveLayerCommand(QUndoCommand):
    """Undoable removal of a layer from the project."""

    def __init__(self, project, layer):
        super().__init__(tr(f"移除图层“{layer.name}”", f"Remove layer '{layer.name}'"))
        self.project, self.layer = project, layer
        self.position = project.layers.index(layer)

    def redo(self):
        if self.layer in self.project.layers:
            self.position = self.project.layers.index(self.layer)
            self.project.layers.remove(self.layer)

    def undo(self):
        if self.layer not in self.project.layers:
            self.project.layers.insert(self.position, self.layer)


class LayerPanel(QDockWidget):
    """Dock with the layer tree, an opacity slider and a context menu.

    The window supplies ``zoom_to_layer``, ``open_attribute_table``, ``edit_style`` and
    ``undo_stack``.
    """

    current_layer_changed = pyqtSignal(object)

    def __init__(self, window, project):
        super().__init__(tr("图层", "Layers"), window)
        self.setObjectName("layer_panel")
        self.window_ = window
        self.project = project
        self.model = LayerTreeModel(project, self)
        self.model.layers_dropped.connect(lambda paths: window.add_files(paths))

        self.view = QTreeView(self)
        self.view.setModel(self.model)
        self.view.setHeaderHidden(True)
        self.view.setRootIsDecorated(True)
        self.view.setSelectionMode(QAbstractItemView.SingleSelection)
        self.view.setDragEnabled(True)
        self.view.setAcceptDrops(True)
        self.view.setDropIndicatorShown(True)
        self.view.setDragDropMode(QAbstractItemView.DragDrop)
        self.view.setDefaultDropAction(Qt.MoveAction)
        self.view.setEditTriggers(QAbstractItemView.EditKeyPressed)
        self.view.setContextMenuPolicy(Qt.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._context_menu)
        self.view.doubleClicked.connect(self._on_double_click)
        self.view.selectionModel().currentChanged.connect(self._on_current)
        self.model.modelReset.connect(self._after_reset)

        self.opacity_slider = QSlider(Qt.Horizontal, self)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setEnabled(False)
        self.opacity_slider.valueChanged.connect(self._on_opacity)
        self.opacity_label = QLabel(tr("不透明度", "Opacity"), self)

        body = QWidget(self)
        box = QVBoxLayout(body)
        box.setContentsMargins(2, 2, 2, 2)
        box.addWidget(self.view, 1)
        row = QHBoxLayout()
        row.addWidget(self.opacity_label)
        row.addWidget(self.opacity_slider, 1)
        box.addLayout(row)
        self.setWidget(body)
        self._current_id: str | None = None
        self._after_reset()

    # -- current layer ------------------------------------------------------------
    def current_layer(self):
        index = self.view.currentIndex()
        return self.model.layer_for_index(index) if index.isValid() else None

    def set_current_layer(self, layer) -> None:
        self.view.setCurrentIndex(self.model.index_of_layer(layer))

    def _on_current(self, current, _previous=None):
        layer = self.model.layer_for_index(current)
        self._current_id = layer.id if layer is not None else None
        self.opacity_slider.setEnabled(layer is not None)
        if layer is not None:
            self.opacity_slider.blockSignals(True)
            self.opacity_slider.setValue(int(round(layer.opacity * 100)))
            self.opacity_slider.blockSignals(False)
        self.current_layer_changed.emit(layer)

    def _after_reset(self):
        for row in range(self.model.rowCount()):
            layer = self.model.layer_at(row)
            if layer is not None and layer.style.mode == "categorized" and len(legend_entries(layer)) <= 8:
                self.view.expand(self.model.index(row, 0))
        if self._current_id is not None:
            try:
                self.set_current_layer(self.project.layers.by_id(self._current_id))
            except KeyError:
                self._current_id = None
                self._on_current(QModelIndex())

    def _on_opacity(self, value: int) -> None:
        layer = self.current_layer()
        if layer is not None:
            layer.opacity = value / 100.0

    # -- menu --------------------------------------------------------------------------
    def _on_double_click(self, index):
        layer = self.model.layer_for_index(index)
        if layer is not None:
            self.window_.edit_style(layer)

    def context_menu_for(self, layer) -> QMenu:
        """The context menu of ``layer`` (built separately so tests can trigger its actions)."""
        menu = QMenu(self)
        menu.addAction(tr("缩放到图层", "Zoom to layer"), lambda: self.window_.zoom_to_layer(layer))
        if isinstance(layer, VectorLayer):
            menu.addAction(tr("打开属性表", "Open attribute table"), lambda: self.window_.open_attribute_table(layer))
            menu.addAction(tr("导出图层…", "Export layer as…"), lambda: self.window_.export_layer(layer))
        menu.addAction(tr("样式…", "Style…"), lambda: self.window_.edit_style(layer))
        menu.addAction(tr("重命名", "Rename"), lambda: self.view.edit(self.model.index_of_layer(layer)))
        menu.addSeparator()
        menu.addAction(tr("移除图层", "Remove layer"), lambda: self.remove_layer(layer))
        return menu

    def _context_menu(self, pos):
        layer = self.model.layer_for_index(self.view.indexAt(pos))
        if layer is not None:
            self.context_menu_for(layer).exec_(self.view.viewport().mapToGlobal(pos))

    def remove_layer(self, layer) -> None:
        """Remove ``layer`` (undoable)."""
        self.window_.undo_stack.push(RemoveLayerCommand(self.project, layer))
