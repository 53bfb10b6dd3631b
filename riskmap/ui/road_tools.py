"""Road hazard marking on the map: undo wrappers for register commands and the two-click segment tool.

- :class:`RegisterUndoCommand` wraps a :mod:`riskmap.analysis.register` command in a
  ``QUndoCommand`` (``redo`` → ``do``), so every register edit goes through the host's undo
  stack; :func:`push` pushes one.
- :class:`RoadSegmentTool` is a canvas map tool: click a road of the chosen road layer, then two
  points; both are snapped onto that road and ``on_segment(layer, index, p1, p2)`` is called
  with the raw map-CRS clicks (the register snaps them in metres). Esc starts again; right
  click goes back one step.
"""
from __future__ import annotations

import numpy as np
import shapely
import shapely.ops
from PyQt5.QtCore import Qt
from PyQt5.QtGui import QColor, QPainter, QPen, QPolygonF
from PyQt5.QtWidgets import QUndoCommand

from riskmap.i18n import tr
from riskmap.ui.canvas import MapTool

#: Pick tolerance for roads (pixels).
PICK_PX = 8.0


class RegisterUndoCommand(QUndoCommand):
    """A register command (``do``/``undo``/``text``) as a ``QUndoCommand``."""

    def __init__(self, command, parent=None):
        super().__init__(command.text, parent)
        self.command = command

    def redo(self):
        self.command.do()

    def undo(self):
        self.command.undo()


def push(host, command) -> RegisterUndoCommand:
    """Run ``command`` through the host's undo stack (it runs at once and can be undone)."""
    return host.push(RegisterUndoCommand(command))


class RoadSegmentTool(MapTool):
    """Pick a road, then click the start and the end of a hazard segment on it.

    Parameters
    ----------
    host : PanelHost
        Where status messages go.
    road_layer : callable
        Returns the road :class:`~riskmap.layers.VectorLayer` to pick from (or None).
    on_segment : callable
        ``on_segment(layer, feature_index, (x1, y1), (x2, y2))`` with map-CRS clicks.
    """

    cursor = Qt.CrossCursor

    def __init__(self, host, road_layer, on_segment):
        self.host = host
        self.road_layer = road_layer
        self.on_segment = on_segment
        self.canvas = None
        self.reset()

    # -- state --------------------------------------------------------------------
    def reset(self) -> None:
        self.layer = None
        self.index: int | None = None
        self.points: list[tuple[float, float]] = []
        self.hover: tuple[float, float] | None = None
        self._message()

    @property
    def step(self) -> str:
        """``road`` (pick a road), ``start`` or ``end`` (click a point on it)."""
        if self.index is None:
            return "road"
        return "start" if not self.points else "end"

    def activate(self, canvas) -> None:
        self.canvas = canvas
        self.reset()

    def deactivate(self) -> None:
        self.reset()
        if self.canvas is not None:
            self.canvas.update()

    def _message(self) -> None:
        text = {"road": tr("道路隐患标注：点击选择道路（Esc 取消）", "Mark hazard: click a road (Esc cancels)"),
                "start": tr("点击路段起点", "Click the start of the segment"),
                "end": tr("点击路段终点", "Click the end of the segment")}[self.step]
        try:
            self.host.show_status(text, 0)
        except RuntimeError:  # window gone
            pass

    # -- geometry -------------------------------------------------------------------
    def road_geometry(self):
        """The picked road in the map CRS (None before a road is picked)."""
        if self.layer is None or self.index is None:
            return None
        return self.layer.display_geoms[self.index]

    def snap(self, x: float, y: float) -> tuple[float, float]:
        """(x, y) moved onto the picked road (map CRS; for display)."""
        road = self.road_geometry()
        if road is None:
            return x, y
        p = shapely.line_interpolate_point(road, shapely.line_locate_point(road, shapely.Point(x, y)))
        return float(p.x), float(p.y)

    def pick_road(self, x: float, y: float) -> bool:
        layer = self.road_layer()
        if layer is None or self.canvas is None:
            self.host.show_status(tr("请先在面板中选择道路图层", "Choose the road layer in the panel first"))
            return False
        hits = layer.features_at(x, y, PICK_PX * self.canvas.map_units_per_pixel())
        lines = [i for i in hits if shapely.get_type_id(layer.display_geoms[i]) in (1, 5)]
        if not lines:
            return False
        self.layer, self.index = layer, int(lines[0])
        return True

    # -- events -----------------------------------------------------------------------
    def press(self, event, x, y) -> bool:
        if event.button() == Qt.RightButton:
            if self.points:
                self.points.pop()
            else:
                self.layer, self.index = None, None
            self._message()
            self.canvas.update()
            return True
        if event.button() != Qt.LeftButton:
            return False
        if self.step == "road":
            self.pick_road(x, y)
        elif self.step == "start":
            self.points.append((x, y))
        else:
            p1, p2 = self.points[0], (x, y)
            layer, index = self.layer, self.index
            self.points = []
            self.hover = None
            self.on_segment(layer, index, p1, p2)
        self._message()
        self.canvas.update()
        return True

    def move(self, event, x, y) -> bool:
        if self.index is not None:
            self.hover = (x, y)
            self.canvas.update()
        return False

    def key_press(self, event) -> bool:
        if event.key() == Qt.Key_Escape:
            self.reset()
            self.canvas.update()
            return True
        return False

    def paint(self, painter: QPainter, canvas) -> None:
        road = self.road_geometry()
        if road is None:
            return
        painter.save()
        painter.setRenderHint(QPainter.Antialiasing, True)
        pen = QPen(QColor(0, 200, 255, 160), 7)
        pen.setCosmetic(True)
        painter.setPen(pen)
        for part in shapely.get_parts(road):
            xy = shapely.get_coordinates(part)
            painter.drawPolyline(QPolygonF([canvas.map_to_pixel(float(a), float(b)) for a, b in xy]))
        marks = [self.snap(*p) for p in self.points]
        if self.hover is not None:
            marks.append(self.snap(*self.hover))
        if len(marks) == 2:
            a, b = sorted(shapely.line_locate_point(road, shapely.points(np.array(marks))))
            piece = shapely.ops.substring(road, a, b) if shapely.get_type_id(road) == 1 else None
            if piece is not None and not piece.is_empty:
                pen = QPen(QColor(215, 25, 28), 5)
                pen.setCosmetic(True)
                painter.setPen(pen)
                xy = shapely.get_coordinates(piece)
                painter.drawPolyline(QPolygonF([canvas.map_to_pixel(float(u), float(v)) for u, v in xy]))
        painter.setPen(QPen(QColor(40, 40, 40), 1.5))
        painter.setBrush(QColor(255, 255, 255))
        for mx, my in marks:
            painter.drawEllipse(canvas.map_to_pixel(mx, my), 4.5, 4.5)
        painter.restore()


__all__ = ["RegisterUndoCommand", "RoadSegmentTool", "push"]
