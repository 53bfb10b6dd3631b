"""Road hazard marking on the map: undo wrappers for register commands and the two-click segment tool.

- :class:`RegisterUndoCommand` wraps a :mod:`riskmap.analysis.register` command in a
  ``QUndoCommand`` (``redo`` → ``do``), so every register edit goes through the host's undo
  stack; :func:`push` pushes one.
- :class:`RoadSegmentTool` is a canvas map tool: click a road of the chosen road layer, then two
  points; both are snapped onto that road and ``on_segment(layer, index, p1, p2)`` is called
  with the raw map-CRS clicks (the register snaps them in metres). Esc starts again; right
  click goes back one step.
- :class:`SegmentEndTool` drags an end of a registered segment along its road (snapped to it).
"""
from __future__ import annotations

import numpy as np
import shapely
import shapely.ops
from PyQt5.QtCore import Qt
from PyQt5.QtGui import QColor, QPainter, QPen, QPolygonF
from PyQt5.QtWidgets import QUndoCommand

from riskmap import crs as crs_policy
from riskmap.analysis import register as reg
from riskmap.errors import ParameterError, RiskmapError
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


class SegmentEndTool(MapTool):
    """Drag an end of a registered segment along its road; the segment cannot leave the road.

    Press near an end of a segment (within :data:`PICK_PX` pixels), drag, release: the end
    snaps onto the segment's road (found by :func:`~riskmap.analysis.register.road_of_segment`
    in the road layer) and ``on_drag(seg_id, start_m, end_m, road_geom, road_crs)`` is called
    with the new chainages (the panel pushes a :class:`~riskmap.analysis.register.SetExtent`).
    Dragging past the other end is refused; Esc cancels a drag.

    Parameters
    ----------
    host : PanelHost
    register : HazardRegister
    road_layer : callable
        Returns the road :class:`~riskmap.layers.VectorLayer` (or None).
    on_drag : callable
    """

    cursor = Qt.PointingHandCursor

    def __init__(self, host, register, road_layer, on_drag):
        self.host = host
        self.register = register
        self.road_layer = road_layer
        self.on_drag = on_drag
        self.canvas = None
        self.drag = None  # (seg_id, "start"|"end", road geometry, its CRS, road in the map CRS)
        self.hover = None
        self.total_m = 0.0

    def activate(self, canvas) -> None:
        self.canvas = canvas
        self.drag = None
        self._status(tr("拖动端点：按住路段的起点或终点，沿道路拖动（Esc 取消）",
                        "Drag an end of a segment along its road (Esc cancels)"))

    def deactivate(self) -> None:
        self.drag = None
        if self.canvas is not None:
            self.canvas.update()

    def _status(self, text):
        try:
            self.host.show_status(text, 0)
        except RuntimeError:
            pass

    def end_at(self, x: float, y: float):
        """(segment id, ``"start"``/``"end"``) of the segment end nearest to (x, y) within the pick tolerance."""
        tol = PICK_PX * self.canvas.map_units_per_pixel()
        map_crs = self.host.project.map_crs
        best = None
        for seg in self.register:
            if seg.geometry is None:
                continue
            geom = crs_policy.transform_geometries(np.array([seg.geometry], dtype=object), self.register.crs,
                                                   map_crs)[0]
            coords = shapely.get_coordinates(geom)
            for which, (ex, ey) in (("start", coords[0]), ("end", coords[-1])):
                d = float(np.hypot(ex - x, ey - y))
                if d <= tol and (best is None or d < best[0]):
                    best = (d, seg.id, which)
        return (best[1], best[2]) if best else None

    def press(self, event, x, y) -> bool:
        if event.button() != Qt.LeftButton:
            return False
        hit = self.end_at(x, y)
        if hit is None:
            return False
        layer = self.road_layer()
        seg = self.register.get(hit[0])
        try:
            if layer is None:
                raise ParameterError(tr("请先在“自动识别”页选择道路图层", "Choose the road layer first"))
            index = reg.road_of_segment(seg, layer.gdf)
        except RiskmapError as exc:
            self.host.show_error(exc)
            return True
        self.drag = (hit[0], hit[1], layer.gdf.geometry.iloc[index], layer.gdf.crs, layer.display_geoms[index])
        last = shapely.get_coordinates(layer.display_geoms[index])[-1]
        self.total_m = reg.road_chainage(self.drag[2], self.drag[3], last, self.host.project.map_crs)
        self.hover = (x, y)
        return True

    def preview(self):
        """(start_m, end_m) the drag would give now (None when not dragging)."""
        if self.drag is None or self.hover is None:
            return None
        seg_id, which, road, road_crs, _ = self.drag
        seg = self.register.get(seg_id)
        c = reg.road_chainage(road, road_crs, self.hover, self.host.project.map_crs)
        return (c, seg.end_m) if which == "start" else (seg.start_m, c)

    def move(self, event, x, y) -> bool:
        if self.drag is None:
            return False
        self.hover = (x, y)
        a, b = self.preview()
        label = self.register.get(self.drag[0]).stations.range_label(a, b)
        self._status(tr(f"新桩号：{label}", f"New chainage: {label}"))
        self.canvas.update()
        return True

    def release(self, event, x, y) -> bool:
        if self.drag is None:
            return False
        self.hover = (x, y)
        a, b = self.preview()
        seg_id, _, road, road_crs, _ = self.drag
        self.drag = None
        self.canvas.update()
        if b - a < 1.0:
            self.host.show_status(tr("终点须在起点之后：拖动不能越过另一端", "An end cannot pass the other end"), 5000)
            return True
        self.on_drag(seg_id, a, b, road, road_crs)
        return True

    def key_press(self, event) -> bool:
        if event.key() == Qt.Key_Escape and self.drag is not None:
            self.drag = None
            self.canvas.update()
            return True
        return False

    def paint(self, painter: QPainter, canvas) -> None:
        if self.drag is None or self.hover is None:
            return
        road_map = self.drag[4]
        a, b = self.preview()
        line = road_map if shapely.get_type_id(road_map) == 1 else shapely.line_merge(road_map)
        if shapely.get_type_id(line) != 1:
            return
        # drawn on the displayed road by length fraction (display only; the edit itself is in metres)
        total = self.total_m or 1.0
        piece = shapely.ops.substring(line, a / total, b / total, normalized=True)
        painter.save()
        painter.setRenderHint(QPainter.Antialiasing, True)
        pen = QPen(QColor(255, 200, 0, 220), 7)
        pen.setCosmetic(True)
        painter.setPen(pen)
        xy = shapely.get_coordinates(piece)
        painter.drawPolyline(QPolygonF([canvas.map_to_pixel(float(u), float(v)) for u, v in xy]))
        painter.restore()


__all__ = ["RegisterUndoCommand", "RoadSegmentTool", "SegmentEndTool", "push"]
