"""Painting one raster layer snapshot: coloured once at native resolution, resampled per view."""
from __future__ import annotations

import math
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

import numpy as np
from PyQt5.QtGui import QImage

from riskmap import crs as crs_policy
from riskmap.layers import RasterLayer
from riskmap.layers.raster_colour import colorize
from riskmap.layers.style import Style
from riskmap.ui.render.view import MapView, new_image

if TYPE_CHECKING:
    from riskmap.ui.render.job import LayerSnapshot

# ---------------------------------------------------------------------------------------
# rasters: colour once at native resolution, then resample per view
# ---------------------------------------------------------------------------------------
#: Rasters up to this many cells are coloured once at native resolution and resampled
#: per view (pans and zooms cost one gather); larger ones are read per view.
RASTER_CACHE_CELLS = 16_000_000



def render_raster(snap: LayerSnapshot) -> QImage:
    view = snap.view
    layer: RasterLayer = snap.raster
    if snap.raster_extent is not None and not _bbox_intersects(snap.raster_extent, view.extent):
        return new_image(view)
    if snap.raster_cache == "later":
        # interactive: never wait for the whole raster to be coloured (0.5-1 s); draw this view
        # from a windowed read now and let the worker threads build the display afterwards
        display = RASTER_DISPLAYS.peek(layer, snap.style, view)
        if display is None:
            RASTER_DISPLAYS.build_later(layer, snap.style, view)
    elif snap.raster_cache == "build":
        display = RASTER_DISPLAYS.get(layer, snap.style, view)
    else:
        display = None
    snap.check()
    if display is not None:
        return rgba_to_qimage(display.view_rgba(view), view, premultiplied=True)
    # read only the window and overview level of the view, colour that
    data = layer.read_view(view.extent, view.width, view.height, view.crs_wkt)
    snap.check()
    cell = (view.extent[2] - view.extent[0]) / max(view.width, 1)
    if view.geographic:
        cell *= 111_320.0 * math.cos(math.radians((view.extent[1] + view.extent[3]) / 2.0))
    rgba = colorize(data, snap.style, layer.statistics(), cell)
    snap.check()
    return rgba_to_qimage(rgba, view, premultiplied=True)



class RasterDisplay:
    """A raster coloured once, warped once onto a grid of the map CRS, with 2× reduced levels.

    Built once per (layer, style, map CRS) in a worker thread: the band is read whole,
    coloured (ramp, log scale, hillshade at native resolution), then resampled onto a
    north-up grid in the map CRS a little finer than the native cells (the exact CRS
    transform on a coarse lattice, bilinear in between). In that grid a view is separable,
    so drawing any pan or zoom is one nearest-neighbour gather (~10 ms for 1600×1000).
    """

    #: Warped cells per native cell along each axis (a little finer, so nearest twice stays sharp).
    OVERSAMPLE = 1.15

    def __init__(self, layer: RasterLayer, style: Style, map_wkt: str, map_geographic: bool):
        import rasterio

        with rasterio.open(layer.path) as ds:  # a private handle: GDAL handles are per thread
            data = ds.read(layer.band, masked=True)
            transform = ds.transform
        if transform.b != 0 or transform.d != 0:
            raise ValueError("rotated rasters are read per view")
        src_wkt = getattr(layer, "_crs_wkt", None) or crs_policy.crs_wkt(layer.crs)
        src_geographic = crs_policy.is_geographic(src_wkt)
        cell_m = abs(transform.a)
        if src_geographic:
            lat_mid = (layer.bounds_native[1] + layer.bounds_native[3]) / 2.0
            cell_m *= 111_320.0 * math.cos(math.radians(lat_mid))
        native = colorize(data, style, layer.statistics(), cell_m).view(np.uint32)[..., 0]
        if crs_policy.same_crs(src_wkt, map_wkt):
            self.origin = (transform.c, transform.f)
            self.res = (abs(transform.a), abs(transform.e))
            grid = np.ascontiguousarray(native)
        else:
            minx, miny, maxx, maxy = layer.extent(map_wkt)
            if map_geographic:
                lat = (miny + maxy) / 2.0
                res_y = cell_m / 111_320.0 / self.OVERSAMPLE
                res_x = res_y / math.cos(math.radians(lat))
            else:
                res_x = res_y = cell_m / self.OVERSAMPLE
            nx = max(2, int(math.ceil((maxx - minx) / res_x)))
            ny = max(2, int(math.ceil((maxy - miny) / res_y)))
            self.origin, self.res = (minx, maxy), (res_x, res_y)
            step = 16  # the exact transform every 16 cells, bilinear in between (error ≪ a cell)
            gxs = minx + (np.arange(int(math.ceil(nx / step)) + 2) * step) * res_x
            gys = maxy - (np.arange(int(math.ceil(ny / step)) + 2) * step) * res_y
            X, Y = np.meshgrid(gxs, gys)
            sx, sy = crs_policy.transform_xy(X.ravel(), Y.ravel(), map_wkt, src_wkt)
            gcols = ((np.asarray(sx) - transform.c) / transform.a).reshape(X.shape)
            grows = ((np.asarray(sy) - transform.f) / transform.e).reshape(X.shape)
            grid = _warp_grid(np.ascontiguousarray(native), gcols, grows, nx, ny, step)
        self.levels = [grid]

    def level(self, k: int) -> np.ndarray:
        while len(self.levels) <= k:
            prev = self.levels[-1]
            h, w = prev.shape[0] // 2, prev.shape[1] // 2
            if h < 2 or w < 2:
                break
            quads = prev[:2 * h, :2 * w].view(np.uint8).reshape(h, 2, w, 2, 4).astype(np.uint16)
            mean = (quads.sum(axis=(1, 3)) // 4).astype(np.uint8)  # premultiplied: averaging is right
            self.levels.append(np.ascontiguousarray(mean).view(np.uint32).reshape(h, w))
        return self.levels[min(k, len(self.levels) - 1)]

    def view_rgba(self, view: MapView) -> np.ndarray:
        """The view's premultiplied RGBA: a nearest-neighbour gather from the best level."""
        minx, miny, maxx, maxy = view.extent
        px_w = (maxx - minx) / max(view.width, 1)
        ratio = px_w / self.res[0]
        k = int(math.floor(math.log2(ratio))) if ratio >= 2 else 0  # keep ≥ 1 cell per pixel
        img = self.level(k)
        fx = self.levels[0].shape[1] / img.shape[1]
        fy = self.levels[0].shape[0] / img.shape[0]
        x0, y0 = self.origin
        xs = minx + (np.arange(view.width) + 0.5) * px_w
        ys = maxy - (np.arange(view.height) + 0.5) * ((maxy - miny) / max(view.height, 1))
        cols = np.floor((xs - x0) / (self.res[0] * fx)).astype(np.int64)
        rows = np.floor((y0 - ys) / (self.res[1] * fy)).astype(np.int64)
        h, w = img.shape
        col_ok = (cols >= 0) & (cols < w)
        row_ok = (rows >= 0) & (rows < h)
        out = np.zeros((view.height, view.width), np.uint32)
        if col_ok.any() and row_ok.any():
            ci, ri = np.flatnonzero(col_ok), np.flatnonzero(row_ok)
            block = img.take(rows[ri], axis=0).take(cols[ci], axis=1)
            out[ri[0]:ri[-1] + 1, ci[0]:ci[-1] + 1] = block  # valid rows/columns are contiguous
        return out.view(np.uint8).reshape(view.height, view.width, 4)


def _warp_grid(native: np.ndarray, gcols: np.ndarray, grows: np.ndarray, nx: int, ny: int, step: int,
               block_rows: int = 128) -> np.ndarray:
    """Nearest cells of ``native`` for an ``ny × nx`` grid whose native column/row positions are
    known every ``step`` cells (``gcols``/``grows``), interpolated bilinearly; in row blocks so
    the temporaries stay in cache."""
    out = np.empty((ny, nx), np.uint32)
    gcols = gcols.astype(np.float32)
    grows = grows.astype(np.float32)
    gh, gw = gcols.shape
    xi = (np.arange(nx, dtype=np.float32) + np.float32(0.5)) / np.float32(step)
    i0 = np.clip(xi.astype(np.int64), 0, gw - 2)
    tx = (xi - i0).astype(np.float32)
    across_c = gcols[:, i0] * (np.float32(1) - tx) + gcols[:, i0 + 1] * tx  # (gh, nx)
    across_r = grows[:, i0] * (np.float32(1) - tx) + grows[:, i0 + 1] * tx
    yi = (np.arange(ny, dtype=np.float32) + np.float32(0.5)) / np.float32(step)
    j0 = np.clip(yi.astype(np.int64), 0, gh - 2)
    ty = (yi - j0).astype(np.float32)
    for start in range(0, ny, block_rows):
        sl = slice(start, min(ny, start + block_rows))
        j, t = j0[sl], ty[sl, None]
        cols = across_c[j] * (np.float32(1) - t)
        cols += across_c[j + 1] * t
        rows = across_r[j] * (np.float32(1) - t)
        rows += across_r[j + 1] * t
        out[sl] = _gather(native, rows, cols)
    return out


def _gather(native: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Nearest cells of ``native`` at fractional ``rows``/``cols`` (transparent outside)."""
    h, w = native.shape
    ci = cols.astype(np.int32)
    ri = rows.astype(np.int32)
    valid = (cols >= 0) & (ci < w) & (rows >= 0) & (ri < h)
    flat = ri
    flat *= w
    flat += ci
    flat[~valid] = 0
    out = np.take(native.reshape(-1), flat)
    out[~valid] = 0
    return out


def _upsample(grid: np.ndarray, width: int, height: int, step: int) -> np.ndarray:
    """Bilinear interpolation (float32) of a coarse ``grid`` (a value every ``step`` pixels) to every pixel."""
    gh, gw = grid.shape
    xi = (np.arange(width, dtype=np.float32) + np.float32(0.5)) / np.float32(step)
    i0 = np.clip(xi.astype(np.int64), 0, gw - 2)
    tx = (xi - i0).astype(np.float32)
    across = grid[:, i0] * (np.float32(1) - tx) + grid[:, i0 + 1] * tx  # (gh, width)
    yi = (np.arange(height, dtype=np.float32) + np.float32(0.5)) / np.float32(step)
    j0 = np.clip(yi.astype(np.int64), 0, gh - 2)
    ty = (yi - j0).astype(np.float32)[:, None]
    out = across[j0]
    out *= np.float32(1) - ty
    out += across[j0 + 1] * ty
    return out


class _RasterDisplays:
    """RasterDisplay per (layer id, path, band, style), built once (thread-safe), a few kept."""

    def __init__(self, keep: int = 6):
        self._lock = threading.Lock()
        self._entries: OrderedDict = OrderedDict()
        self._building: dict = {}
        self._queued: set = set()
        self._keep = keep

    @staticmethod
    def _key(layer: RasterLayer, style: Style, view: MapView):
        import json

        rows, cols = layer.shape
        if rows * cols > RASTER_CACHE_CELLS:
            return None
        return (layer.id, str(layer.path), layer.band, json.dumps(style.to_dict(), sort_keys=True, default=str),
                view.crs_wkt)

    def peek(self, layer: RasterLayer, style: Style, view: MapView) -> RasterDisplay | None:
        """The display if it is built already (never waits)."""
        key = self._key(layer, style, view)
        with self._lock:
            return self._entries.get(key) if key is not None else None

    def build_later(self, layer: RasterLayer, style: Style, view: MapView) -> None:
        """Queue the display's construction behind the work already in the render threads."""
        key = self._key(layer, style, view)
        if key is None:
            return
        with self._lock:
            if key in self._entries or key in self._building or key in self._queued:
                return
            self._queued.add(key)

        def build():
            try:
                self.get(layer, style, view)
            finally:
                with self._lock:
                    self._queued.discard(key)

        from riskmap.ui.render.job import worker_pool  # the job module imports this one

        worker_pool().submit(build)

    def get(self, layer: RasterLayer, style: Style, view: MapView) -> RasterDisplay | None:
        """The display of ``layer`` in ``style`` for the view's map CRS, built now if needed
        (``None``: too large or rotated, read per view instead)."""
        key = self._key(layer, style, view)
        if key is None:
            return None
        while True:
            with self._lock:
                if key in self._entries:
                    self._entries.move_to_end(key)
                    return self._entries[key]
                waiter = self._building.get(key)
                if waiter is None:
                    waiter = self._building[key] = threading.Event()
                    break
            waiter.wait()
        try:
            display = RasterDisplay(layer, style, view.crs_wkt, view.geographic)
        except Exception:  # noqa: BLE001 - fall back to reading per view
            display = None
        finally:
            with self._lock:
                self._building.pop(key, None)
            waiter.set()
        with self._lock:
            self._entries[key] = display
            while len(self._entries) > self._keep:
                self._entries.popitem(last=False)
        return display


RASTER_DISPLAYS = _RasterDisplays()


def rgba_to_qimage(rgba: np.ndarray, view: MapView | None = None, premultiplied: bool = False) -> QImage:
    """An ``(h, w, 4)`` uint8 RGBA array as a premultiplied ``QImage`` owning its pixels."""
    rgba = np.ascontiguousarray(rgba, np.uint8)
    h, w = rgba.shape[:2]
    fmt = QImage.Format_RGBA8888_Premultiplied if premultiplied else QImage.Format_RGBA8888
    img = QImage(rgba.data, w, h, 4 * w, fmt)
    out = img.convertToFormat(QImage.Format_ARGB32_Premultiplied)  # a deep copy in the fast format
    if view is not None:
        dpm = int(round(view.dpi / 0.0254))
        out.setDotsPerMeterX(dpm)
        out.setDotsPerMeterY(dpm)
    return out


def _bbox_intersects(a, b) -> bool:
    return not (a[2] < b[0] or a[0] > b[2] or a[3] < b[1] or a[1] > b[3])


