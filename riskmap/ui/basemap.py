"""The base-map layer of the canvas: tiles fetched in the background, warped to the map CRS.

:class:`BaseMap` belongs to one :class:`~riskmap.ui.canvas.MapCanvas` and is drawn under
the project's layers. For every view the canvas asks for (:meth:`BaseMap.request`):

1. the zoom is chosen from the view's ground resolution, and the tiles the view needs
   are found from a coarse warp lattice (GUI thread, a few hundred points);
2. tiles missing from the memory cache are fetched on a bounded pool of Python worker
   threads (:data:`FETCH_WORKERS`): disk cache first (a stale tile is shown at once and
   refetched), then the network (or the MBTiles package). Nothing blocks the GUI thread;
3. arrivals are batched (:data:`BATCH_MS`) and each batch re-warps the view in a render
   worker: the exact map-CRS → (GCJ-02) → Web Mercator transform of every display pixel
   (:func:`riskmap.layers.tiles.source_pixels`) samples the mosaic; holes are filled
   from coarser tiles already in memory, so zooming shows something at once;
4. failures are counted by kind and said once in one status line (:attr:`message`), not
   per tile; after a connection failure the network is left alone for
   :data:`OFFLINE_BACKOFF_S` seconds (cached tiles still draw).
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PyQt5.QtCore import QObject, QTimer, pyqtSignal
from PyQt5.QtGui import QImage

from riskmap import crs as crs_policy
from riskmap.i18n import tr
from riskmap.layers import tiles
from riskmap.layers.tile_store import MBTiles, TileCache, TileFetchError, describe_failure, fetch_tile
from riskmap.ui.render import rgba_to_qimage, worker_pool
from riskmap.ui.render.view import MapView

#: Tile download threads per base map.
FETCH_WORKERS = 4
#: Tile arrivals within this many milliseconds make one repaint.
BATCH_MS = 60
#: Decoded tiles kept in memory (256 KB each).
MEMORY_TILES = 384
#: After a connection failure, no request for this long (seconds).
OFFLINE_BACKOFF_S = 20.0
#: Coarser levels tried for a tile not loaded yet.
FALLBACK_LEVELS = 4


def decode_tile(data: bytes) -> np.ndarray:
    """PNG/JPEG bytes → ``(256, 256, 4)`` uint8 RGBA (any thread).

    Raises
    ------
    TileFetchError
        The bytes are not an image (an HTML error page, a truncated file).
    """
    image = QImage.fromData(data)
    if image.isNull():
        raise TileFetchError(tr("瓦片不是图像", "a tile is not an image"), "data")
    if image.width() != tiles.TILE_SIZE or image.height() != tiles.TILE_SIZE:
        image = image.scaled(tiles.TILE_SIZE, tiles.TILE_SIZE)
    image = image.convertToFormat(QImage.Format_RGBA8888)
    ptr = image.constBits()
    ptr.setsize(image.sizeInBytes())
    arr = np.frombuffer(ptr, np.uint8).reshape(image.height(), image.bytesPerLine())
    return arr[:, : 4 * image.width()].reshape(image.height(), image.width(), 4).copy()


def composite_over(base: np.ndarray, over: np.ndarray) -> np.ndarray:
    """RGBA ``over`` drawn over RGBA ``base`` (straight alpha, uint8)."""
    a = over[..., 3:4].astype(np.float32) / 255.0
    out = base.astype(np.float32)
    out[..., :3] = over[..., :3] * a + out[..., :3] * (1.0 - a)
    out[..., 3:4] = np.maximum(out[..., 3:4], over[..., 3:4])
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def compose_png(tile: bytes, overlay: bytes) -> bytes:
    """PNG bytes of ``overlay`` drawn over ``tile`` (any thread: QImage, no widgets)."""
    from PyQt5.QtCore import QBuffer, QByteArray, QIODevice

    base = decode_tile(tile)
    out = composite_over(base, decode_tile(overlay))
    image = rgba_to_qimage(out)
    buffer_bytes = QByteArray()
    buffer = QBuffer(buffer_bytes)
    buffer.open(QIODevice.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return bytes(buffer_bytes)


class _Sink(QObject):
    tile = pyqtSignal(object)  # (provider generation, key, array | None, error | None, from_network)
    warped = pyqtSignal(object)  # (warp id, view, QImage)


class BaseMap(QObject):
    """Tiles of one provider for a canvas (see the module docstring).

    Parameters
    ----------
    provider : riskmap.layers.tiles.Provider
        What to draw (its key filled in when it needs one).
    cache : TileCache, optional
        Disk cache for an online provider (default: the provider's cache under
        :func:`riskmap.layers.tile_store.cache_dir`); ignored for MBTiles.
    fetch : callable, optional
        ``fetch(provider, z, x, y, template) -> bytes`` replacing the HTTP client (tests; ``template``
        is None for the tiles, the overlay template for label tiles).

    Signals: ``updated()`` (a new image for the current view), ``message(str)`` (one line
    for the status bar), ``idle()`` (every tile of the view arrived or failed, and the
    image drawn).
    """

    updated = pyqtSignal()
    message = pyqtSignal(str)
    idle = pyqtSignal()

    def __init__(self, provider: tiles.Provider, cache: TileCache | None = None, fetch=None, parent=None):
        super().__init__(parent)
        self.provider = provider
        self.package: MBTiles | None = None
        self.cache: TileCache | None = None
        if provider.kind == "mbtiles":
            self.package = MBTiles(provider.url, "r")
        else:
            self.cache = cache if cache is not None else TileCache.for_provider(provider)
        self.overlay_cache = None
        if provider.overlay and self.cache is not None:
            self.overlay_cache = TileCache(self.cache.path.with_name(self.cache.path.stem + "-overlay.sqlite"))
        self._fetch = fetch
        self._pool = ThreadPoolExecutor(max_workers=FETCH_WORKERS, thread_name_prefix="riskmap-tiles")
        self._sink = _Sink(self)
        self._sink.tile.connect(self._on_tile)
        self._sink.warped.connect(self._on_warped)
        self._memory: OrderedDict = OrderedDict()
        self._inflight: dict = {}
        self._failed: dict = {}  # key -> kind, for the current view's tiles
        self._reported: set = set()  # failure kinds already said since the last network success
        self._fail_counts: dict = {}
        self._offline_until = 0.0
        self._view: MapView | None = None
        self._zoom = 0
        self._needed: list = []
        self._warp_id = 0
        self._warp_running = False
        self._warp_dirty = False
        self._closed = False
        self._grid = None  # (key, px, py) of the last warp grid
        #: the last image and the view it shows (drawn by the canvas).
        self.image: QImage | None = None
        self.image_view: MapView | None = None
        #: network requests made (diagnostics, tests).
        self.requests = 0
        self._lock = threading.Lock()
        self._batch = QTimer(self)
        self._batch.setSingleShot(True)
        self._batch.setInterval(BATCH_MS)
        self._batch.timeout.connect(self._start_warp)
        self._report_timer = QTimer(self)
        self._report_timer.setSingleShot(True)
        self._report_timer.setInterval(400)
        self._report_timer.timeout.connect(self._report_failures)

    # -- state ------------------------------------------------------------------------
    @property
    def attribution(self) -> str:
        return self.provider.attribution

    def is_idle(self) -> bool:
        """Whether every tile of the current view has arrived or failed and the image is drawn."""
        return (self._view is not None and not self._pending_for_view() and not self._warp_running
                and not self._warp_dirty and not self._batch.isActive())

    def _pending_for_view(self) -> bool:
        return any(key in self._inflight for key in self._needed)

    def close(self) -> None:
        """Stop fetching (queued requests are dropped) and release the package/cache."""
        self._closed = True
        for future in self._inflight.values():
            future.cancel()
        self._inflight.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._batch.stop()
        self._report_timer.stop()

    # -- requests (GUI thread) ----------------------------------------------------------
    def zoom_for(self, view: MapView) -> int:
        """The tile zoom for ``view``."""
        mpp = crs_policy.metres_per_pixel(view.extent, view.width, view.crs_wkt, view.geographic)
        cy = (view.extent[1] + view.extent[3]) / 2.0
        if not view.geographic:
            _, lat = tiles.view_to_lonlat([(view.extent[0] + view.extent[2]) / 2.0], [cy], view.crs_wkt)
            cy = float(lat[0])
        return tiles.zoom_for_resolution(mpp, cy, self.provider.max_zoom, self.provider.min_zoom)

    def request(self, view: MapView) -> None:
        """Show ``view``: fetch what it needs and draw it as tiles arrive."""
        if self._closed:
            return
        if view == self._view and self.image_view == view and not self._inflight:
            return  # a layer changed, not the view: the base map is drawn already
        self._view = view
        z = self._zoom = self.zoom_for(view)
        step = max(16, max(view.width, view.height) // 32)
        px, py, _, _ = tiles.lattice_pixels(view.extent, view.width, view.height, view.crs_wkt, z,
                                            self.provider.datum, step=step)
        needed = tiles.view_tiles(px, py, z)
        self._needed = needed
        keep = set(needed)
        for key, future in list(self._inflight.items()):
            if key not in keep and future.cancel():
                del self._inflight[key]
        self._failed = {k: v for k, v in self._failed.items() if k in keep}
        for key in needed:
            if key in self._memory:
                self._memory.move_to_end(key)
            elif key not in self._inflight and key not in self._failed:
                self._submit(key)
        self._schedule_warp(immediate=True)

    def _submit(self, key) -> None:
        future = self._pool.submit(self._load, key)
        self._inflight[key] = future

    # -- worker side ----------------------------------------------------------------------
    def _load(self, key) -> None:
        """Worker: emit ``(key, array | None, error | None, from_network, final)``, once or twice
        (a stale cached tile first, then its refetch)."""
        z, x, y = key
        emit = self._sink.tile.emit
        try:
            if self.package is not None:
                data = self.package.get(z, x, y)
                if data is None:
                    raise TileFetchError(tr(f"离线底图中没有瓦片 {z}/{x}/{y}", f"tile {z}/{x}/{y} not in the package"),
                                         "absent")
                emit((key, decode_tile(data), None, False, True))
                return
            cached = self.cache.get(z, x, y) if self.cache is not None else None
            if cached is not None:
                data, stale = cached
                final = not stale or time.monotonic() < self._offline_until
                emit((key, self._with_overlay(key, decode_tile(data)), None, False, final))
                if not final:
                    try:  # behind the tiles still to load, so cached tiles never wait for a revalidation
                        self._pool.submit(self._revalidate, key, data)
                    except RuntimeError:  # closed meanwhile
                        pass
                return
            data = self._download(key)
            arr = decode_tile(data)
            if self.cache is not None:
                self.cache.put(z, x, y, data)
            emit((key, self._with_overlay(key, arr), None, True, True))
        except TileFetchError as exc:
            emit((key, None, exc, False, True))
        except Exception as exc:  # noqa: BLE001 - a bad tile must not stop the others
            emit((key, None, TileFetchError(str(exc), "data"), False, True))

    def _revalidate(self, key, data: bytes) -> None:
        """Worker: refetch a stale cached tile; replace it on the map only if it changed."""
        z, x, y = key
        emit = self._sink.tile.emit
        try:
            fresh = self._download(key)
        except TileFetchError:
            emit((key, None, None, False, True))  # keep showing the stale copy, quietly
            return
        except Exception:  # noqa: BLE001
            emit((key, None, None, False, True))
            return
        self.cache.put(z, x, y, fresh)
        try:
            arr = None if fresh == data else self._with_overlay(key, decode_tile(fresh))
        except TileFetchError:
            arr = None
        emit((key, arr, None, True, True))

    def _with_overlay(self, key, arr: np.ndarray) -> np.ndarray:
        """The tile with the provider's label overlay (天地图 注记) drawn over it, when it has one."""
        if not self.provider.overlay or self.package is not None:
            return arr
        z, x, y = key
        try:
            cached = self.overlay_cache.get(z, x, y) if self.overlay_cache is not None else None
            if cached is not None:
                data = cached[0]
            else:
                data = self._download(key, self.provider.overlay)
                if self.overlay_cache is not None:
                    self.overlay_cache.put(z, x, y, data)
            over = decode_tile(data)
        except TileFetchError:
            return arr  # labels missing: the tile still shows
        return composite_over(arr, over)

    def _download(self, key, template: str | None = None) -> bytes:
        z, x, y = key
        if time.monotonic() < self._offline_until:
            raise TileFetchError(tr("网络不可用（稍后重试）", "offline (backing off)"), "offline")
        with self._lock:
            self.requests += 1
        try:
            if self._fetch is not None:
                return self._fetch(self.provider, z, x, y, template)
            return fetch_tile(self.provider, z, x, y, template=template)
        except TileFetchError as exc:
            if exc.kind in ("offline", "timeout"):
                self._offline_until = time.monotonic() + OFFLINE_BACKOFF_S
            raise

    # -- arrivals (GUI thread) --------------------------------------------------------------
    def _on_tile(self, result) -> None:
        key, arr, error, from_network, final = result
        if self._closed:
            return
        if final:
            self._inflight.pop(key, None)
        if arr is not None:
            self._memory[key] = arr
            self._memory.move_to_end(key)
            while len(self._memory) > MEMORY_TILES:
                self._memory.popitem(last=False)
            self._failed.pop(key, None)
        if from_network:
            self._reported.clear()  # the network works again: a later failure is news
            self._fail_counts.clear()
            self._offline_until = 0.0
        if error is not None:
            self._failed[key] = error.kind
            if error.kind != "absent":
                self._fail_counts[error.kind] = self._fail_counts.get(error.kind, 0) + 1
                if error.kind not in self._reported and not self._report_timer.isActive():
                    self._report_timer.start()
        if key in self._needed:
            self._schedule_warp()

    def _report_failures(self) -> None:
        kinds = [k for k in self._fail_counts if k not in self._reported]
        if not kinds:
            return
        kind = max(kinds, key=lambda k: self._fail_counts[k])
        count = sum(self._fail_counts[k] for k in kinds)
        self._reported.update(kinds)
        self.message.emit(describe_failure(kind, self.provider.name, count))

    # -- one-off pictures (prints) ------------------------------------------------------------
    def render(self, extent, width: int, height: int, map_crs, dpi: float = 96.0,
               timeout_s: float = 15.0) -> QImage | None:
        """The base map of a print view, synchronously (GUI thread; waits at most ``timeout_s``).

        Tiles come from memory, the disk cache, the package or the network (in the fetch
        threads); those missing at the deadline are left blank. Tiles are chosen for the
        view's resolution at 96 dpi, so a 300-dpi print shows the same tile zoom as the screen.
        """
        from concurrent.futures import wait

        view = MapView(tuple(float(v) for v in extent), int(width), int(height), float(dpi), map_crs)
        screen = MapView(view.extent, max(1, int(round(width * 96.0 / dpi))), max(1, int(round(height * 96.0 / dpi))),
                         96.0, map_crs, view.crs_wkt, view.geographic)
        z = self.zoom_for(screen)
        px, py, _, _ = tiles.lattice_pixels(view.extent, view.width, view.height, view.crs_wkt, z,
                                            self.provider.datum, step=max(16, max(width, height) // 32))
        needed = tiles.view_tiles(px, py, z)
        have = {key: self._memory[key] for key in needed if key in self._memory}
        futures = {key: self._pool.submit(self._load_sync, key) for key in needed if key not in have}
        if futures:
            wait(list(futures.values()), timeout=timeout_s)
        for key, future in futures.items():
            if future.done() and not future.cancelled() and future.exception() is None and future.result() is not None:
                have[key] = future.result()
            else:
                future.cancel()
        if not have:
            return None
        gx, gy = tiles.source_pixels(view.extent, view.width, view.height, view.crs_wkt, z, self.provider.datum)
        return rgba_to_qimage(tiles.warp(have, gx, gy, z), view)

    def _load_sync(self, key):
        z, x, y = key
        try:
            if self.package is not None:
                data = self.package.get(z, x, y)
            else:
                cached = self.cache.get(z, x, y) if self.cache is not None else None
                if cached is not None:
                    data = cached[0]
                else:
                    data = self._download(key)
                    if self.cache is not None:
                        self.cache.put(z, x, y, data)
            return None if data is None else self._with_overlay(key, decode_tile(data))
        except TileFetchError:
            return None

    # -- warping ----------------------------------------------------------------------------
    def _schedule_warp(self, immediate: bool = False) -> None:
        if immediate:
            self._batch.start(0)
        elif not self._batch.isActive():
            self._batch.start(BATCH_MS)

    def _start_warp(self) -> None:
        if self._view is None or self._closed:
            return
        if self._warp_running:
            self._warp_dirty = True
            return
        self._warp_dirty = False
        self._warp_running = True
        self._warp_id += 1
        view, z = self._view, self._zoom
        levels = {}
        for k in range(FALLBACK_LEVELS + 1):
            zz = z - k
            if zz < 0:
                break
            have = {key: arr for key, arr in self._memory.items() if key[0] == zz}
            if have:
                levels[zz] = have
        job = (self._warp_id, view, z, levels, self.provider.datum)
        worker_pool().submit(self._warp_job, job)

    def _warp_job(self, job) -> None:
        warp_id, view, z, levels, datum = job
        try:
            grid_key = (view.key, view.crs_wkt, z, datum)
            grid = self._grid
            if grid is None or grid[0] != grid_key:  # one grid per view, reused by every batch
                grid = self._grid = (grid_key,) + tiles.source_pixels(view.extent, view.width, view.height,
                                                                      view.crs_wkt, z, datum)
            px, py = grid[1], grid[2]
            rgba = tiles.warp(levels.get(z, {}), px, py, z)
            for zz in sorted(levels, reverse=True):
                if zz == z:
                    continue
                holes = rgba[..., 3] == 0
                if not holes.any():
                    break
                f = float(1 << (z - zz))
                fill = tiles.warp(levels[zz], px[holes][None, :] / f, py[holes][None, :] / f, zz)[0]
                rgba[holes] = fill
            image = rgba_to_qimage(rgba, view)
        except Exception:  # noqa: BLE001 - a failed warp leaves the previous image
            image = None
        try:
            self._sink.warped.emit((warp_id, view, image))
        except RuntimeError:
            pass

    def _on_warped(self, result) -> None:
        warp_id, view, image = result
        self._warp_running = False
        if self._closed:
            return
        if image is not None:
            self.image, self.image_view = image, view
            self.updated.emit()
        if self._warp_dirty or view != self._view:
            self._start_warp()
            return
        if self.is_idle():
            self.idle.emit()


def offline_basemap(project) -> "BaseMap | None":
    """The project's base map when it is an offline package (prints from the command line never use
    the network); ``None`` otherwise or when the package is missing."""
    spec = (getattr(project, "extras", None) or {}).get("basemap") or {}
    if spec.get("provider") != "mbtiles" or not spec.get("path"):
        return None
    from riskmap.errors import RiskmapError
    from riskmap.layers.tile_store import open_package

    try:
        package, provider = open_package(spec["path"])
        package.close()
        return BaseMap(provider)
    except RiskmapError:
        return None
