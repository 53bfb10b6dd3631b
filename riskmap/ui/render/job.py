"""The render job: snapshots (GUI thread), one layer rendered in a worker, composition.

One job for the canvas, printing and ``riskmap print``.
"""
from __future__ import annotations

import copy
import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from PyQt5.QtGui import QColor, QImage, QPainter

from riskmap import crs as crs_policy
from riskmap.layers import RasterLayer, VectorLayer
from riskmap.layers.style import Style
from riskmap.ui.render.labels import render_labels
from riskmap.ui.render.raster import render_raster
from riskmap.ui.render.symbols import qcolor, sprites_for
from riskmap.ui.render.vector import render_vector
from riskmap.ui.render.view import MapView, RenderCancelled, new_image

#: Map background.
BACKGROUND = "#ffffff"
#: Selection highlight colour (QGIS's default yellow).
HIGHLIGHT_COLOR = "#ffff00"


# ---------------------------------------------------------------------------------------
# snapshots
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class LayerSnapshot:
    """Everything one render of one layer needs, frozen on the GUI thread."""

    layer_id: str
    kind: str
    view: MapView
    style: Style
    revision: int
    name: str = ""
    geoms: np.ndarray | None = None
    tree: object = None
    table: object = None
    geom_type: str = ""
    subset: np.ndarray | None = None
    sprites: tuple = ()
    raster: object = None
    raster_extent: tuple | None = None
    raster_cache: str = "build"
    highlight: bool = False
    cancel: threading.Event = field(default_factory=threading.Event)

    def check(self) -> None:
        """Raise :class:`RenderCancelled` if this render is no longer wanted."""
        if self.cancel.is_set():
            raise RenderCancelled(self.layer_id)


def highlight_style(style: Style, geom_type: str) -> Style:
    """How selected features of a layer with ``style`` are drawn on top."""
    if geom_type == "Point":
        return Style(color=HIGHLIGHT_COLOR, stroke=HIGHLIGHT_COLOR, size=style.size + 7, symbol="ring", width=3.0)
    if geom_type == "LineString":
        return Style(color=HIGHLIGHT_COLOR, stroke=HIGHLIGHT_COLOR, width=max(style.width + 3.0, 4.0))
    return Style(color=HIGHLIGHT_COLOR, stroke=HIGHLIGHT_COLOR, width=3.0, fill_opacity=0.3)


def snapshot(layer, view: MapView, *, subset=None, highlight: bool = False,
             raster_cache: str = "build") -> LayerSnapshot:
    """Freeze ``layer`` for rendering ``view`` (call on the GUI thread).

    ``subset`` restricts a vector layer to those feature indices; ``highlight`` draws them
    in the selection style. ``raster_cache`` says how a raster is drawn: ``"build"`` colours
    the whole raster once (then every view is a fast gather), ``"later"`` (the canvas) uses
    that display if it is built and otherwise reads just this view and has the display built
    afterwards in the worker threads, ``"off"`` (prints) reads and colours just this view at
    its own resolution.
    """
    if raster_cache not in ("build", "later", "off"):
        raise ValueError(f"raster_cache must be build, later or off, not {raster_cache!r}")
    style = copy.deepcopy(layer.style)
    if isinstance(layer, VectorLayer):
        geom_type = layer.geom_type
        if highlight:
            style = highlight_style(style, geom_type)
        sprites = ()
        if _has_points(layer):
            sprites = sprites_for(style, view.scale)
        return LayerSnapshot(layer.id, "vector", view, style, layer.revision, name=layer.name,
                             geoms=layer.display_geoms, tree=layer.tree, table=layer.gdf, geom_type=geom_type,
                             subset=None if subset is None else np.asarray(subset, np.int64), sprites=sprites,
                             highlight=highlight)
    if isinstance(layer, RasterLayer):
        return LayerSnapshot(layer.id, "raster", view, style, layer.revision, name=layer.name, raster=layer,
                             raster_extent=tuple(layer.extent(view.crs_wkt)),
                             raster_cache=raster_cache)
    raise TypeError(f"cannot render a {type(layer).__name__}")


def _has_points(layer: VectorLayer) -> bool:
    if layer.geom_type == "Point":
        return True
    if layer.geom_type in ("LineString", "Polygon"):
        return False
    return True  # mixed or unknown: be ready



def render_layer(snap: LayerSnapshot) -> QImage:
    """Paint one layer snapshot onto a new transparent ``QImage`` of the view's size.

    Thread-safe (QPainter on QImage). Raises :class:`RenderCancelled` when the snapshot is
    cancelled midway.
    """
    if snap.kind == "raster":
        return render_raster(snap)
    return render_vector(snap)


def pan_offset(old: MapView, new: MapView) -> tuple[int, int] | None:
    """Whole-pixel shift ``(dx, dy)`` from ``old`` to ``new`` when only a pan separates them.

    Positive ``dx``: the view moved east (content moves left); positive ``dy``: it moved
    south. ``None`` when size, resolution or DPI differ, the shift is not whole pixels, or
    nothing of the old view is left.
    """
    if (old.width, old.height, old.dpi) != (new.width, new.height, new.dpi):
        return None
    ow, oh = old.extent[2] - old.extent[0], old.extent[3] - old.extent[1]
    nw, nh = new.extent[2] - new.extent[0], new.extent[3] - new.extent[1]
    if abs(ow - nw) > 1e-9 * abs(ow) or abs(oh - nh) > 1e-9 * abs(oh):
        return None
    fx = (new.extent[0] - old.extent[0]) / ow * new.width
    fy = (old.extent[3] - new.extent[3]) / oh * new.height
    dx, dy = round(fx), round(fy)
    if abs(fx - dx) > 1e-3 or abs(fy - dy) > 1e-3 or abs(dx) >= new.width or abs(dy) >= new.height:
        return None
    return int(dx), int(dy)


def exposed_rects(width: int, height: int, dx: int, dy: int) -> list[tuple[int, int, int, int]]:
    """``(x, y, w, h)`` device rectangles a pan by (dx, dy) uncovers (at most two, no overlap)."""
    rects = []
    if dx > 0:
        rects.append((width - dx, 0, dx, height))
    elif dx < 0:
        rects.append((0, 0, -dx, height))
    x0, w = (0, width - dx) if dx > 0 else (-dx, width + dx) if dx < 0 else (0, width)
    if dy > 0:
        rects.append((x0, height - dy, w, dy))
    elif dy < 0:
        rects.append((x0, 0, w, -dy))
    return [r for r in rects if r[2] > 0 and r[3] > 0]


def render_layer_panned(snap: LayerSnapshot, previous: QImage, dx: int, dy: int) -> QImage:
    """The layer for ``snap.view`` made from its image of a view ``(dx, dy)`` pixels away.

    The previous image is shifted and only the uncovered strips are rendered (features are
    queried, simplified on the same origin-anchored pixel grid and clipped to each strip), so
    a pan costs in proportion to what it reveals.
    """
    view = snap.view
    image = new_image(view)
    painter = QPainter(image)
    try:
        painter.setCompositionMode(QPainter.CompositionMode_Source)
        painter.drawImage(-dx, -dy, previous)
        painter.setCompositionMode(QPainter.CompositionMode_SourceOver)
        minx, _, _, maxy = view.extent
        rx = (view.extent[2] - view.extent[0]) / view.width
        ry = (view.extent[3] - view.extent[1]) / view.height
        for x, y, w, h in exposed_rects(view.width, view.height, dx, dy):
            sub = MapView((minx + x * rx, maxy - (y + h) * ry, minx + (x + w) * rx, maxy - y * ry), w, h,
                          view.dpi, view.map_crs, view.crs_wkt, view.geographic)
            strip = render_layer(dataclasses.replace(snap, view=sub))
            painter.drawImage(x, y, strip)
    finally:
        painter.end()
    return image



# ---------------------------------------------------------------------------------------
# whole maps
# ---------------------------------------------------------------------------------------
_executor_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None


def worker_pool() -> ThreadPoolExecutor:
    """The render worker threads (Python threads; see :mod:`riskmap.ui.canvas` for why not QThreadPool)."""
    global _executor
    with _executor_lock:
        if _executor is None:
            import os

            _executor = ThreadPoolExecutor(max_workers=max(2, min(4, os.cpu_count() or 2)),
                                           thread_name_prefix="riskmap-render")
        return _executor


def compose(entries, width: int, height: int, background: str | None = BACKGROUND, dpi: float = 96.0) -> QImage:
    """Stack ``[(image, opacity), ...]`` (bottom first) onto a background."""
    out = QImage(max(1, int(width)), max(1, int(height)), QImage.Format_ARGB32_Premultiplied)
    out.fill(qcolor(background) if background else QColor(0, 0, 0, 0))
    dpm = int(round(dpi / 0.0254))
    out.setDotsPerMeterX(dpm)
    out.setDotsPerMeterY(dpm)
    painter = QPainter(out)
    for image, opacity in entries:
        if image is None or opacity <= 0:
            continue
        painter.setOpacity(float(opacity))
        painter.drawImage(0, 0, image)
    painter.end()
    return out


def render_layers(layers, extent, width: int, height: int, map_crs=crs_policy.MAP_CRS, dpi: float = 96.0,
                  background: str | None = BACKGROUND, highlights=None, parallel: bool = True,
                  raster_cache: str = "build") -> QImage:
    """Render ``layers`` (bottom first; hidden ones skipped) for ``extent`` into a new ``QImage``.

    Synchronous; call on the GUI thread (snapshots are made here). Layers render in parallel
    worker threads. ``extent`` is drawn exactly into ``width × height`` (use
    :func:`fit_extent` first to keep the map's proportions). ``highlights`` is an optional
    ``{layer: indices}`` drawn in the selection colour on top. ``raster_cache``: see
    :func:`snapshot` (``"off"`` for one-off pictures such as prints).
    """
    view = MapView(tuple(float(v) for v in extent), int(width), int(height), float(dpi), map_crs)
    layers = [layer for layer in layers if layer.visible]
    snaps = [snapshot(layer, view, raster_cache=raster_cache) for layer in layers]
    for layer, indices in (highlights or {}).items():
        if isinstance(layer, VectorLayer) and len(indices):
            snaps.append(snapshot(layer, view, subset=indices, highlight=True))
    if parallel and len(snaps) > 1:
        pool = worker_pool()
        label_future = pool.submit(render_labels, snaps, snaps)
        images = list(pool.map(render_layer, snaps))
        labels = label_future.result()
    else:
        images = [render_layer(s) for s in snaps]
        labels = render_labels(snaps, snaps)
    opacities = [layer.opacity for layer in layers] + [1.0] * (len(snaps) - len(layers))
    entries = list(zip(images, opacities)) + [(labels, 1.0)]
    return compose(entries, width, height, background, dpi)


