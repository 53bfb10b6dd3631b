"""The map canvas: renders the project's layers the QGIS way and hosts the map tools.

How a frame is made (DESIGN.md, "The map canvas"):

1. A view change or a layer event schedules a refresh on a single-shot timer (many events,
   one render).
2. On the GUI thread each layer whose image is missing for the view is frozen into an
   immutable :class:`~riskmap.ui.render.LayerSnapshot`.
3. Worker threads render the snapshots (one ``QImage`` per layer, one for all labels,
   one per highlighted layer); a newer view cancels what is still queued or running.
   The workers are Python threads (``concurrent.futures``), not a ``QThreadPool``: PyQt
   gives a Qt pool thread a fresh Python thread state for every job, which wipes
   ``threading.local`` caches (per-thread GDAL handles) and crashes pyproj (reproduced:
   ``CRS.from_epsg`` in the second job of a one-thread ``QThreadPool`` segfaults).
4. Images are cached per (layer, content version, view) and composed in ``paintEvent``
   with each layer's opacity. Until a layer's new image arrives, its previous image is
   drawn transformed to the current view, so pans and zooms respond at once.

The view keeps a centre, a vertical resolution and an x/y aspect factor: in the
geographic map CRS (EPSG:4490) a degree of longitude is drawn ``cos(lat)`` times as wide
as a degree of latitude (fixed when an extent is set, kept while panning), so Xinyang is
not stretched. The scale bar and the scale use geodesic metres.
"""
from __future__ import annotations

import itertools
import math
import time
from collections import OrderedDict

import numpy as np
from PyQt5 import sip
from PyQt5.QtCore import QCoreApplication, QEventLoop, QObject, QPointF, QRectF, Qt, QThread, QTimer, pyqtSignal
from PyQt5.QtGui import QColor, QImage, QPainter, QPen
from PyQt5.QtWidgets import QWidget

from riskmap import crs as crs_policy
from riskmap.i18n import tr
from riskmap.layers import VectorLayer
from riskmap.ui import messages, render
from riskmap.ui.render import MapView, RenderCancelled

#: The view shown when the project has no layers (Xinyang city, EPSG:4490).
DEFAULT_EXTENT = (113.7, 31.4, 115.9, 32.7)
#: Smallest span a zoom-to shows (map units: degrees in a geographic CRS, else metres).
MIN_SPAN_DEGREES = 0.005
MIN_SPAN_METRES = 500.0
#: Image cache budget of one canvas (bytes).
CACHE_BYTES = 256 * 1024 * 1024

_versions = itertools.count(1)


class MapTool:
    """Base of the canvas' interaction tools; subclasses override what they need.

    ``(x, y)`` are map coordinates (map CRS); handlers return ``True`` when they consumed
    the event. :meth:`paint` draws an overlay (rubber bands, measurements) in pixel space.
    """

    cursor = Qt.ArrowCursor

    def activate(self, canvas) -> None:
        """Called when the tool becomes the canvas' tool."""
        self.canvas = canvas

    def deactivate(self) -> None:
        """Called when another tool replaces this one."""

    def press(self, event, x: float, y: float) -> bool:
        return False

    def move(self, event, x: float, y: float) -> bool:
        return False

    def release(self, event, x: float, y: float) -> bool:
        return False

    def double_click(self, event, x: float, y: float) -> bool:
        return False

    def key_press(self, event) -> bool:
        return False

    def paint(self, painter: QPainter, canvas) -> None:
        """Draw the tool's overlay on top of the map (pixel coordinates)."""


class PanZoomTool(MapTool):
    """The default tool: drag pans, double-click zooms in (the wheel zooms with every tool)."""

    cursor = Qt.OpenHandCursor

    def __init__(self):
        self.canvas = None
        self._last = None

    def press(self, event, x, y) -> bool:
        if event.button() != Qt.LeftButton:
            return False
        self._last = event.pos()
        self.canvas.setCursor(Qt.ClosedHandCursor)
        return True

    def move(self, event, x, y) -> bool:
        if self._last is None or not (event.buttons() & Qt.LeftButton):
            return False
        delta = event.pos() - self._last
        self._last = event.pos()
        self.canvas.pan_by(-delta.x(), -delta.y())
        return True

    def release(self, event, x, y) -> bool:
        if self._last is None:
            return False
        self._last = None
        self.canvas.setCursor(self.cursor)
        return True

    def double_click(self, event, x, y) -> bool:
        if event.button() != Qt.LeftButton:
            return False
        self.canvas.zoom_by(0.5, center=(x, y))
        return True


class _Sink(QObject):
    """Receives worker results; queued to the GUI thread by Qt."""

    finished = pyqtSignal(object)


class _RenderJob:
    """One render task for the worker threads: a layer, the labels or a highlight."""

    def __init__(self, sink: _Sink, generation: int, slot: tuple, key: tuple, snaps: list, obstacles: list,
                 shifted=None):
        self.sink, self.generation, self.slot, self.key, self.snaps = sink, generation, slot, key, snaps
        self.obstacles = obstacles
        self.shifted = shifted  # (previous image, dx, dy): render only what a pan uncovered

    def __call__(self):
        image, error = None, None
        t0 = time.perf_counter()
        try:
            if any(s.cancel.is_set() for s in self.snaps):
                raise RenderCancelled(self.slot)
            if self.slot[0] == "labels":
                image = render.render_labels(self.snaps, self.obstacles)
            elif self.shifted is not None:
                image = render.render_layer_panned(self.snaps[0], *self.shifted)
            else:
                image = render.render_layer(self.snaps[0])
        except RenderCancelled:
            error = "cancelled"
        except Exception as exc:  # noqa: BLE001 - a bug in one layer must not stop the others
            error = messages.error_line(exc)  # riskmap's one line (a RiskmapError's own, else 内部错误（…）)
        try:
            self.sink.finished.emit((self.generation, self.slot, self.key, image, error,
                                     time.perf_counter() - t0))
        except RuntimeError:  # the canvas is gone
            pass


class _Shown:
    """A finished image and the view it was rendered for."""

    __slots__ = ("view", "image", "key")

    def __init__(self, view: MapView, image, key=None):
        self.view, self.image, self.key = view, image, key


class MapCanvas(QWidget):
    """The map widget of the main window: renders ``project.layers`` and hosts the map tools.

    Signals: ``extent_changed(tuple)``, ``cursor_moved(float, float)`` (map coordinates),
    ``scale_changed(float)`` (denominator of 1:N), ``rendered()`` (every visible layer is
    drawn for the current view), ``render_failed(str, str)`` (layer name and a one-line
    message, once per layer until it draws again; the ids of such layers are in
    ``failed_layers``, and the message is kept on the layer, ``layer.render_error``, for the
    layer panel's error mark, until it draws again). It follows ``project.layers`` events by itself; call
    :meth:`refresh` after changing a layer without an event.
    """

    extent_changed = pyqtSignal(tuple)
    cursor_moved = pyqtSignal(float, float)
    scale_changed = pyqtSignal(float)
    rendered = pyqtSignal()
    render_failed = pyqtSignal(str, str)
    #: one status line about the base map (tiles failing), at most once per kind of failure
    basemap_message = pyqtSignal(str)
    #: the base map drew every tile of the current view it could get
    basemap_idle = pyqtSignal()
    _layer_event = pyqtSignal(object, str)

    #: Debounce of refreshes (ms): events arriving within it make one render.
    refresh_delay_ms = 40

    def __init__(self, project, parent=None):
        super().__init__(parent)
        self._sink = _Sink(self)
        self._sink.finished.connect(self._on_job_finished)
        self.project = project
        self.map_crs = project.map_crs
        self._crs_wkt = crs_policy.crs_wkt(self.map_crs)
        self._geographic = crs_policy.is_geographic(self._crs_wkt)
        self.background = QColor(render.BACKGROUND)
        self.show_decorations = True
        self.marker: tuple | None = None  # (x, y) in the map CRS: a searched place, drawn on top
        self.last_render_seconds = 0.0
        self.job_seconds: dict = {}  # seconds per job of the last render (diagnostics, benchmarks)
        self._center = (0.0, 0.0)
        self._res = 1.0  # map y-units per logical pixel
        self._aspect = 1.0  # x-units per pixel / y-units per pixel
        self._fit_request = None  # extent to refit on resize until the first paint
        self._painted = False
        self._versions: dict[str, int] = {}
        self._images: dict[str, _Shown] = {}
        self._labels: _Shown | None = None
        self._highlights: dict[str, tuple] = {}  # layer id -> (layer, indices, version)
        self._highlight_images: dict[str, _Shown] = {}
        self._cache: OrderedDict = OrderedDict()
        self._composite = None  # (key, _Shown): the stack of the current view composed once
        self._progress_timer = QTimer(self)  # progressive repaints while a long render runs
        self._progress_timer.setSingleShot(True)
        self._progress_timer.setInterval(150)
        self._progress_timer.timeout.connect(self.update)
        self._cache_bytes = 0
        self._generation = 0
        self._pending: set = set()
        self._live: list = []
        self._futures: list = []
        self._render_view: MapView | None = None
        self._render_started = 0.0
        self._complete = False
        self._middle_pan = None
        #: Ids of the layers whose last render failed (their highlight included).
        self.failed_layers: set = set()
        self._labels_failed = False
        self._highlights_failed: set = set()  # ids whose selection highlight failed (reported once)
        #: The base map drawn under the layers (:class:`riskmap.ui.basemap.BaseMap`) or None.
        self.basemap = None

        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.StrongFocus)
        self.setAttribute(Qt.WA_OpaquePaintEvent, True)
        self.setMinimumSize(50, 50)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(self.refresh_delay_ms)
        self._timer.timeout.connect(self._start_render)
        self._layer_event.connect(self._handle_layer_event)

        self._tool: MapTool | None = None
        self.set_map_tool(None)
        events = project.layers.events
        events.inserted.connect(self._on_inserted)
        events.removed.connect(self._on_removed)
        events.moved.connect(self._on_moved)
        events.changed.connect(self._on_changed)

        initial = project.extent or project.full_extent() or DEFAULT_EXTENT
        self.set_extent(initial)

    # ==================================================================================
    # view
    # ==================================================================================
    def _size(self) -> tuple[int, int]:
        return max(1, self.width()), max(1, self.height())

    def extent(self) -> tuple:
        """The visible (minx, miny, maxx, maxy) in the map CRS."""
        w, h = self._size()
        half_w = self._res * self._aspect * w / 2.0
        half_h = self._res * h / 2.0
        cx, cy = self._center
        return (cx - half_w, cy - half_h, cx + half_w, cy + half_h)

    def set_extent(self, bbox) -> None:
        """Show at least ``bbox`` (minx, miny, maxx, maxy in the map CRS), centred."""
        minx, miny, maxx, maxy = (float(v) for v in bbox)
        if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
            return
        if maxx < minx:
            minx, maxx = maxx, minx
        if maxy < miny:
            miny, maxy = maxy, miny
        min_span = self._min_span()
        cx, cy = (minx + maxx) / 2.0, (miny + maxy) / 2.0
        half_w, half_h = max(maxx - minx, min_span) / 2.0, max(maxy - miny, min_span) / 2.0
        bbox = (cx - half_w, cy - half_h, cx + half_w, cy + half_h)
        self._aspect = render.aspect_factor(self._crs_wkt, cy, self._geographic)
        w, h = self._size()
        self._center = (cx, cy)
        self._res = max(2 * half_w / self._aspect / w, 2 * half_h / h)
        if not self._painted:
            self._fit_request = bbox
        self._view_changed()

    def zoom_full(self) -> None:
        """Show every layer."""
        full = self.project.full_extent()
        if full is None or not all(math.isfinite(v) for v in full):
            full = DEFAULT_EXTENT
        self.set_extent(_grow(full, 0.03))

    def zoom_to_layer(self, layer) -> None:
        """Show the whole of ``layer``."""
        try:
            bbox = layer.extent(self.map_crs)
        except Exception:  # noqa: BLE001 - an empty layer has no extent
            return
        if all(math.isfinite(v) for v in bbox):
            self.set_extent(_grow(bbox, 0.05))

    def zoom_by(self, factor: float, center=None) -> None:
        """Multiply the visible span by ``factor`` (< 1 zooms in), keeping ``center`` (map x, y) in place."""
        factor = float(factor)
        if not (factor > 0 and math.isfinite(factor)):
            return
        cx, cy = self._center
        if center is not None:
            px, py = float(center[0]), float(center[1])
            cx, cy = px + (cx - px) * factor, py + (cy - py) * factor
        self._center = (cx, cy)
        self._res *= factor
        self._fit_request = None
        self._view_changed()

    def pan_by(self, dx_px: float, dy_px: float) -> None:
        """Move the view by (dx, dy) pixels: positive dx shows more of the east, positive dy of the south."""
        cx, cy = self._center
        self._center = (cx + dx_px * self._res * self._aspect, cy - dy_px * self._res)
        self._fit_request = None
        self._view_changed()

    def map_to_pixel(self, x: float, y: float) -> QPointF:
        """Widget pixel position of map point (x, y)."""
        minx, _, _, maxy = self.extent()
        return QPointF((x - minx) / (self._res * self._aspect), (maxy - y) / self._res)

    def pixel_to_map(self, px: float, py: float) -> tuple[float, float]:
        """Map coordinates of widget pixel (px, py)."""
        minx, _, _, maxy = self.extent()
        return (minx + px * self._res * self._aspect, maxy - py * self._res)

    def map_units_per_pixel(self) -> float:
        """Map units per widget pixel along x (degrees of longitude in EPSG:4490)."""
        return self._res * self._aspect

    def scale(self) -> float:
        """Scale denominator N of 1:N at the view centre (geodesic, screen DPI)."""
        w, _ = self._size()
        metres = crs_policy.metres_per_pixel(self.extent(), w, self.map_crs, self._geographic)
        dpi = self.logicalDpiX() or 96
        return metres / (0.0254 / dpi)

    def _min_span(self) -> float:
        return MIN_SPAN_DEGREES if self._geographic else MIN_SPAN_METRES

    def _view_changed(self) -> None:
        self.extent_changed.emit(tuple(self.extent()))
        try:
            self.scale_changed.emit(float(self.scale()))
        except Exception:  # noqa: BLE001 - a scale outside the CRS's area is not worth a crash
            pass
        self._schedule()
        self.update()

    def _device_view(self) -> MapView:
        w, h = self._size()
        ratio = self.devicePixelRatioF() or 1.0
        return MapView(tuple(self.extent()), int(round(w * ratio)), int(round(h * ratio)), 96.0 * ratio,
                       self.map_crs, self._crs_wkt, self._geographic)

    # ==================================================================================
    # layer events
    # ==================================================================================
    def _emit_layer_event(self, layer, what: str) -> None:
        if sip.isdeleted(self):
            return
        self._layer_event.emit(layer, what)  # queued to the GUI thread when a worker changes a layer

    def _on_inserted(self, index=None, layer=None, **_):
        self._emit_layer_event(layer, "inserted")

    def _on_removed(self, index=None, layer=None, **_):
        self._emit_layer_event(layer, "removed")

    def _on_moved(self, layer=None, **_):
        self._emit_layer_event(layer, "moved")

    def _on_changed(self, layer=None, what=None, **_):
        self._emit_layer_event(layer, str(what or "changed"))

    def _handle_layer_event(self, layer, what: str) -> None:
        if what in ("selection", "name"):
            return
        if what == "opacity":
            self.update()
            return
        if what == "removed":
            if layer is not None:
                self._images.pop(layer.id, None)
                self._highlights.pop(layer.id, None)
                self._highlight_images.pop(layer.id, None)
        elif what not in ("moved", "visible") and layer is not None:
            self._versions[layer.id] = next(_versions)
        self._schedule()
        self.update()

    def _version(self, layer) -> int:
        version = self._versions.get(layer.id)
        if version is None:
            version = self._versions[layer.id] = next(_versions)
        return version

    # ==================================================================================
    # rendering
    # ==================================================================================
    def refresh(self, layer=None) -> None:
        """Re-render ``layer`` (or every layer) soon (debounced)."""
        layers = [layer] if layer is not None else list(self.project.layers)
        for lyr in layers:
            self._versions[lyr.id] = next(_versions)
        self._schedule()

    def _schedule(self) -> None:
        self._complete = False
        self._timer.start(self.refresh_delay_ms)

    def is_rendering(self) -> bool:
        """Whether a render is scheduled or running."""
        return not self._complete

    def _cancel_running(self) -> None:
        for snap in self._live:
            snap.cancel.set()
        for future in self._futures:
            future.cancel()  # jobs not started yet are dropped
        self._live = []
        self._futures = []

    def _start_render(self) -> None:
        self._cancel_running()
        self._generation += 1
        self._pending = set()
        self.job_seconds = {}
        view = self._device_view()
        self._render_view = view
        self._render_started = time.perf_counter()
        if self.basemap is not None:
            self.basemap.request(view)
        visible = [layer for layer in self.project.layers if layer.visible]
        label_snaps, obstacles, label_key = [], [], [("labels", view.key)]
        for layer in visible:
            key = ("layer", layer.id, self._version(layer), view.key)
            snap = None
            cached = self._cache_get(key)
            if cached is not None:
                self._images[layer.id] = _Shown(view, cached, key)
                self._drawn(layer.id)
            else:
                try:  # freezing a layer can fail too (a raster's extent in this CRS): only that layer
                    snap = render.snapshot(layer, view, raster_cache="later")
                except Exception as exc:  # noqa: BLE001 - the other layers still draw
                    self._report_failure(("layer", layer.id), messages.error_line(exc))
                    continue
                self._submit(("layer", layer.id), key, [snap], shifted=self._shift_source(layer, view))
            if isinstance(layer, VectorLayer):
                labelled = bool(layer.style.label_field)
                obstacle = layer.geom_type == "Point"
                if labelled or obstacle:
                    snap = snap or render.snapshot(layer, view)
                    label_key.append((layer.id, self._version(layer)))
                    if labelled:
                        label_snaps.append(snap)
                    if obstacle:
                        obstacles.append(snap)
        if label_snaps:
            key = tuple(label_key)
            cached = self._cache_get(key)
            if cached is not None:
                self._labels = _Shown(view, cached)
            else:
                self._submit(("labels",), key, label_snaps, obstacles)
        else:
            self._labels = None
        shown_ids = {layer.id for layer in visible}
        for layer_id, (layer, indices, hl_version) in list(self._highlights.items()):
            if layer_id not in shown_ids or layer not in self.project.layers:
                self._highlight_images.pop(layer_id, None)
                continue
            key = ("highlight", layer_id, hl_version, self._version(layer), view.key)
            cached = self._cache_get(key)
            if cached is not None:
                self._highlight_images[layer_id] = _Shown(view, cached)
            else:
                self._submit(("highlight", layer_id), key, [render.snapshot(layer, view, subset=indices,
                                                                             highlight=True)])
        if not self._pending:
            self._finish()
        self.update()

    def _shift_source(self, layer, view: MapView):
        """``(previous image, dx, dy)`` when the layer's last image is of the same content a pan away."""
        shown = self._images.get(layer.id)
        if shown is None or shown.key is None or shown.key[:3] != ("layer", layer.id, self._version(layer)):
            return None
        offset = render.pan_offset(shown.view, view)
        if offset is None or offset == (0, 0):
            return None
        return (shown.image,) + offset

    def _submit(self, slot: tuple, key: tuple, snaps: list, obstacles=(), shifted=None) -> None:
        self._pending.add(slot)
        self._live.extend(snaps)
        job = _RenderJob(self._sink, self._generation, slot, key, snaps, list(obstacles), shifted)
        self._futures.append(render.worker_pool().submit(job))

    def _on_job_finished(self, result) -> None:
        generation, slot, key, image, error, seconds = result
        if image is not None:
            self._cache_put(key, image)
        if generation != self._generation:
            return
        self.job_seconds[slot] = seconds
        if error and error != "cancelled":
            self._report_failure(slot, error)
        elif image is not None and slot[0] == "layer":
            self._drawn(slot[1])
        elif image is not None and slot[0] == "labels":
            self._labels_failed = False
        elif image is not None and slot[0] == "highlight":
            self._highlights_failed.discard(slot[1])
        self._pending.discard(slot)
        if image is not None:
            shown = _Shown(self._render_view, image, key)
            if slot[0] == "layer":
                self._images[slot[1]] = shown
            elif slot[0] == "labels":
                self._labels = shown
            else:
                self._highlight_images[slot[1]] = shown
        if not self._pending:
            self._progress_timer.stop()
            self.update()
            self._finish()
        elif not self._progress_timer.isActive():
            self._progress_timer.start()  # show finished layers now and then, not after every job

    def _report_failure(self, slot: tuple, message: str) -> None:
        """Emit ``render_failed`` the first time a layer (or the labels) fails to draw."""
        if slot[0] == "labels":
            if not self._labels_failed:
                self._labels_failed = True
                self.render_failed.emit(tr("标注", "Labels"), message)
            return
        layer_id = slot[1]
        layer = self._layer_by_id(layer_id)
        if slot[0] == "highlight":  # the selection could not be drawn: said once, the layer itself is fine
            first = layer_id not in self._highlights_failed
            self._highlights_failed.add(layer_id)
        else:
            first = layer_id not in self.failed_layers
            if layer is not None:
                layer.set_render_error(message)  # the layer panel's error mark and tooltip
        self.failed_layers.add(layer_id)
        if first:
            self.render_failed.emit(layer.name if layer is not None else layer_id, message)

    def _layer_by_id(self, layer_id: str):
        return next((lyr for lyr in self.project.layers if lyr.id == layer_id), None)

    def _drawn(self, layer_id: str) -> None:
        """The layer drew for the current view: its error mark (if any) goes away."""
        self.failed_layers.discard(layer_id)
        layer = self._layer_by_id(layer_id)
        if layer is not None and layer.render_error is not None:
            layer.set_render_error(None)

    def _finish(self) -> None:
        self._live = []
        self._futures = []
        self._complete = True
        self.last_render_seconds = time.perf_counter() - self._render_started
        self.rendered.emit()

    def wait_until_rendered(self, timeout_ms: int = 5000) -> bool:
        """Process events until every visible layer is rendered for the current view (tests, screenshots)."""
        deadline = time.monotonic() + timeout_ms / 1000.0
        while not (self._complete and not self._timer.isActive()):
            if time.monotonic() > deadline:
                return False
            QCoreApplication.processEvents(QEventLoop.AllEvents, 20)
            if not (self._complete and not self._timer.isActive()):
                QThread.msleep(1)
        QCoreApplication.processEvents(QEventLoop.AllEvents, 20)
        return True

    def render_image(self, width: int, height: int, extent=None, dpi: float = 96) -> QImage:
        """The map (layers, labels, highlights) rendered synchronously into a new ``QImage``.

        ``extent`` (default: the current view) is grown to the image's proportions.
        """
        bbox = render.fit_extent(extent or self.extent(), width, height, self.map_crs, aspect=self._aspect)
        highlights = {layer: indices for layer, indices, _ in self._highlights.values()
                      if layer in self.project.layers}
        return render.render_layers(list(self.project.layers), bbox, width, height, self.map_crs, dpi,
                                    highlights=highlights, raster_cache="later")

    # -- image cache ----------------------------------------------------------------------
    def clear_cache(self, keep_shown: bool = False) -> None:
        """Forget rendered images (benchmarks): the cache of earlier views, and unless ``keep_shown``
        also the images on screen (then the next render draws every layer in full, not by shifting)."""
        self._cache.clear()
        self._cache_bytes = 0
        if not keep_shown:
            self._images.clear()
            self._composite = None

    def _cache_get(self, key):
        image = self._cache.get(key)
        if image is not None:
            self._cache.move_to_end(key)
        return image

    def _cache_put(self, key, image) -> None:
        if key in self._cache:
            return
        self._cache[key] = image
        self._cache_bytes += image.sizeInBytes()
        while self._cache_bytes > CACHE_BYTES and len(self._cache) > 1:
            _, old = self._cache.popitem(last=False)
            self._cache_bytes -= old.sizeInBytes()

    # ==================================================================================
    # selection highlight
    # ==================================================================================
    def set_highlight(self, layer, indices) -> None:
        """Draw features ``indices`` of ``layer`` in the selection colour on top (empty clears)."""
        indices = np.unique(np.asarray(list(indices) if not isinstance(indices, np.ndarray) else indices,
                                       dtype=np.int64))
        if layer is None:
            return
        if indices.size == 0:
            self._highlights.pop(layer.id, None)
            self._highlight_images.pop(layer.id, None)
            self.update()
        else:
            self._highlights[layer.id] = (layer, indices, next(_versions))
        self._schedule()

    def clear_highlights(self) -> None:
        """Remove every highlight."""
        self._highlights.clear()
        self._highlight_images.clear()
        self._schedule()
        self.update()

    def features_at_pixel(self, px: float, py: float, tolerance_px: float = 5.0) -> list[tuple]:
        """``[(layer, indices), ...]`` of visible vector layers (top first) near a widget pixel (STRtree)."""
        x, y = self.pixel_to_map(px, py)
        tol = tolerance_px * self.map_units_per_pixel()
        hits = []
        for layer in reversed(list(self.project.layers)):
            if layer.visible and isinstance(layer, VectorLayer):
                idx = layer.features_at(x, y, tol)
                if idx.size:
                    hits.append((layer, idx))
        return hits

    # ==================================================================================
    # painting
    # ==================================================================================
    def _stack(self) -> list[tuple]:
        """``[(shown, opacity), ...]`` to draw, bottom first: base map, layers, highlights, labels."""
        ids = set()
        stack = []
        if self.basemap is not None and self.basemap.image is not None:
            stack.append((_Shown(self.basemap.image_view, self.basemap.image), 1.0))
        for layer in self.project.layers:
            ids.add(layer.id)
            if layer.visible:
                stack.append((self._images.get(layer.id), layer.opacity))
        for layer_id, shown in self._highlight_images.items():
            entry = self._highlights.get(layer_id)
            if entry is not None and layer_id in ids and entry[0].visible:
                stack.append((shown, 1.0))
        stack.append((self._labels, 1.0))
        return [(shown, opacity) for shown, opacity in stack if shown is not None and opacity > 0]

    def _composite_for(self, stack) -> "_Shown | None":
        """All images of the current view composed once (repaints for tools, hovers, etc. draw one image)."""
        if not stack:
            return None
        view = stack[0][0].view
        if any(shown.view.key != view.key for shown, _ in stack):
            return None  # a transition: some layers still show an earlier view
        key = tuple((id(shown.image), round(opacity, 4)) for shown, opacity in stack) + (view.key,)
        if self._composite is not None and self._composite[0] == key:
            return self._composite[1]
        image = render.compose([(shown.image, opacity) for shown, opacity in stack], view.width, view.height,
                               None, view.dpi)
        image.setDevicePixelRatio(stack[0][0].image.devicePixelRatio())
        composite = _Shown(view, image)
        self._composite = (key, composite)
        return composite

    def paintEvent(self, event) -> None:
        self._painted = True
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.background)
        stack = self._stack()
        composite = self._composite_for(stack)
        if composite is not None:
            self._draw_shown(painter, composite, 1.0)
        else:
            for shown, opacity in stack:
                self._draw_shown(painter, shown, opacity)
        if self.show_decorations:
            self._draw_decorations(painter)
        if self.basemap is not None:
            self._draw_attribution(painter)
        if self.marker is not None:
            self._draw_marker(painter)
        if self._tool is not None:
            painter.save()
            try:
                self._tool.paint(painter, self)
            finally:
                painter.restore()
        painter.end()

    def _draw_shown(self, painter: QPainter, shown: _Shown | None, opacity: float) -> None:
        if shown is None or opacity <= 0:
            return
        painter.setOpacity(float(opacity))
        view, image = shown.view, shown.image
        current = self.extent()
        w, h = self._size()
        if view.extent == tuple(current) and view.width == int(round(w * (self.devicePixelRatioF() or 1))):
            painter.drawImage(QRectF(0, 0, w, h), image, QRectF(0, 0, image.width(), image.height()))
        else:  # the previous image, moved and scaled to the current view
            a = self.map_to_pixel(view.extent[0], view.extent[3])
            b = self.map_to_pixel(view.extent[2], view.extent[1])
            painter.drawImage(QRectF(a, b), image, QRectF(0, 0, image.width(), image.height()))
        painter.setOpacity(1.0)

    #: Colour of the search marker.
    MARKER_COLOR = "#e6007e"

    def set_marker(self, x: float | None, y: float | None = None) -> None:
        """Mark a place (map CRS) with a ring and a cross; ``None`` removes the mark."""
        self.marker = None if x is None else (float(x), float(y))
        self.update()

    def _draw_marker(self, painter: QPainter) -> None:
        p = self.map_to_pixel(*self.marker)
        painter.save()
        painter.setRenderHint(QPainter.Antialiasing)
        pen = QPen(QColor(self.MARKER_COLOR), 3)
        painter.setPen(pen)
        painter.setBrush(Qt.NoBrush)
        painter.drawEllipse(p, 10, 10)
        painter.drawLine(QPointF(p.x() - 16, p.y()), QPointF(p.x() + 16, p.y()))
        painter.drawLine(QPointF(p.x(), p.y() - 16), QPointF(p.x(), p.y() + 16))
        painter.restore()

    def _draw_decorations(self, painter: QPainter) -> None:
        w, h = self._size()
        try:
            mpp = crs_policy.metres_per_pixel(self.extent(), w, self.map_crs, self._geographic)
        except Exception:  # noqa: BLE001
            return
        render.draw_scale_bar(painter, 10, h - 10, mpp, 1.0, max_width=min(180.0, w / 3.0))
        render.draw_north_arrow(painter, w - 30, 10, 1.0)

    # ==================================================================================
    # base map
    # ==================================================================================
    def set_basemap(self, basemap) -> None:
        """Draw ``basemap`` (a :class:`riskmap.ui.basemap.BaseMap`, or None for none) under the layers."""
        if self.basemap is not None:
            self.basemap.close()
            self.basemap.setParent(None)
        self.basemap = basemap
        self._composite = None
        if basemap is not None:
            basemap.setParent(self)
            basemap.updated.connect(self.update)
            basemap.message.connect(self.basemap_message)
            basemap.idle.connect(self.basemap_idle)
            basemap.request(self._device_view())
        self.update()

    def _draw_attribution(self, painter: QPainter) -> None:
        text = self.basemap.attribution
        if not text:
            return
        w, h = self._size()
        painter.save()
        font = painter.font()
        font.setPixelSize(11)
        painter.setFont(font)
        metrics = painter.fontMetrics()
        tw, th = metrics.horizontalAdvance(text) + 8, metrics.height() + 2
        box = QRectF(w - tw, h - th, tw, th)
        painter.fillRect(box, QColor(255, 255, 255, 190))
        painter.setPen(QColor("#333333"))
        painter.drawText(box, Qt.AlignCenter, text)
        painter.restore()

    # ==================================================================================
    # tools and input
    # ==================================================================================
    def set_map_tool(self, tool: MapTool | None) -> None:
        """Make ``tool`` the active tool (``None``: pan and zoom)."""
        if self._tool is not None and self._tool is not tool:
            self._tool.deactivate()
        self._tool = tool if tool is not None else PanZoomTool()
        self._tool.activate(self)
        self.setCursor(getattr(self._tool, "cursor", Qt.ArrowCursor))
        self.update()

    def map_tool(self) -> MapTool:
        """The active tool."""
        return self._tool

    def _event_map_xy(self, event) -> tuple[float, float]:
        pos = event.pos()
        return self.pixel_to_map(pos.x(), pos.y())

    def mousePressEvent(self, event) -> None:
        x, y = self._event_map_xy(event)
        if self._tool.press(event, x, y):
            return
        if event.button() == Qt.MiddleButton:
            self._middle_pan = event.pos()
            self.setCursor(Qt.ClosedHandCursor)

    def mouseMoveEvent(self, event) -> None:
        x, y = self._event_map_xy(event)
        self.cursor_moved.emit(float(x), float(y))
        if self._middle_pan is not None:
            delta = event.pos() - self._middle_pan
            self._middle_pan = event.pos()
            self.pan_by(-delta.x(), -delta.y())
            return
        self._tool.move(event, x, y)

    def mouseReleaseEvent(self, event) -> None:
        if self._middle_pan is not None and event.button() == Qt.MiddleButton:
            self._middle_pan = None
            self.setCursor(getattr(self._tool, "cursor", Qt.ArrowCursor))
            return
        x, y = self._event_map_xy(event)
        self._tool.release(event, x, y)

    def mouseDoubleClickEvent(self, event) -> None:
        x, y = self._event_map_xy(event)
        self._tool.double_click(event, x, y)

    def wheelEvent(self, event) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps == 0:
            return
        pos = event.pos()
        self.zoom_by(0.8 ** steps, center=self.pixel_to_map(pos.x(), pos.y()))
        event.accept()

    def keyPressEvent(self, event) -> None:
        if self._tool.key_press(event):
            return
        w, h = self._size()
        key = event.key()
        if key == Qt.Key_Left:
            self.pan_by(-w / 4.0, 0)
        elif key == Qt.Key_Right:
            self.pan_by(w / 4.0, 0)
        elif key == Qt.Key_Up:
            self.pan_by(0, -h / 4.0)
        elif key == Qt.Key_Down:
            self.pan_by(0, h / 4.0)
        elif key in (Qt.Key_Plus, Qt.Key_Equal, Qt.Key_PageUp):
            self.zoom_by(0.5)
        elif key in (Qt.Key_Minus, Qt.Key_Underscore, Qt.Key_PageDown):
            self.zoom_by(2.0)
        elif key == Qt.Key_Home:
            self.zoom_full()
        else:
            super().keyPressEvent(event)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._fit_request is not None and not self._painted:
            self.set_extent(self._fit_request)  # an extent set before the layout sized us: fit it now
        else:
            self._view_changed()

    def closeEvent(self, event) -> None:
        self._cancel_running()
        if self.basemap is not None:
            self.basemap.close()
        super().closeEvent(event)


def _grow(bbox, fraction: float) -> tuple:
    minx, miny, maxx, maxy = bbox
    dx, dy = (maxx - minx) * fraction, (maxy - miny) * fraction
    return (minx - dx, miny - dy, maxx + dx, maxy + dy)
