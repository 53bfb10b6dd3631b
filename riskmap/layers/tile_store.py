"""Getting tile bytes without Qt: HTTP fetch, the disk cache, MBTiles packages.

- :func:`fetch_tile` downloads one tile with riskmap's own HTTP client (``urllib``, never
  GDAL, whose networking :mod:`riskmap.offline` turns off). Failures raise
  :class:`TileFetchError` with a ``kind`` (``offline``, ``timeout``, ``key``, ``missing``,
  ``server``) so the canvas can say once what is wrong instead of once per tile.
- :class:`TileCache` is the per-provider disk cache: one SQLite file per provider under
  :func:`cache_dir`, size-limited with least-recently-used eviction; a tile older than
  ``max_age_days`` is still served at once (stale-while-revalidate) and refetched.
- :class:`MBTiles` reads and writes MBTiles 1.3 packages (``metadata`` and ``tiles``
  tables, TMS row order: ``tile_row = 2**z - 1 - y``); :func:`download_package` builds one
  for an extent and zoom range.
"""
from __future__ import annotations

import hashlib
import os
import socket
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from riskmap import __version__
from riskmap.errors import CancelledError, DataFormatError, RiskmapError
from riskmap.i18n import tr
from riskmap.layers.tiles import Provider, count_tiles, tile_range

#: Seconds one tile request may take before it counts as failed.
FETCH_TIMEOUT_S = 10.0
#: Default size limit of one provider's disk cache (bytes).
CACHE_LIMIT_BYTES = 256 * 1024 * 1024
#: Cached tiles older than this are refetched (and still shown meanwhile).
MAX_AGE_DAYS = 30.0
#: Average size of a tile when nothing is known yet (bytes), for download estimates.
DEFAULT_TILE_BYTES = 20_000
#: The most tiles one offline package may hold.
MAX_PACKAGE_TILES = 200_000

USER_AGENT = f"riskmap/{__version__} (desktop GIS; base-map tiles)"


class TileFetchError(RiskmapError):
    """A tile could not be fetched; ``kind`` is offline, timeout, key, missing or server."""

    def __init__(self, message: str, kind: str, status: int | None = None):
        super().__init__(message)
        self.kind = kind
        self.status = status


def describe_failure(kind: str, provider_name: str, count: int = 1) -> str:
    """One status-bar line for failed tiles of a kind."""
    reasons = {
        "offline": tr("无法连接瓦片服务器（无网络？）", "cannot reach the tile server (no network?)"),
        "timeout": tr("瓦片服务器响应超时", "the tile server is not answering in time"),
        "key": tr("密钥无效或无权限（HTTP 401/403），请检查密钥", "key refused (HTTP 401/403): check the key"),
        "missing": tr("服务器无此范围的瓦片（HTTP 404）", "the server has no tiles here (HTTP 404)"),
        "server": tr("瓦片服务器出错（HTTP 5xx）", "the tile server failed (HTTP 5xx)"),
        "data": tr("瓦片不是图像", "tiles are not images"),
    }
    reason = reasons.get(kind, kind)
    return tr(f"底图“{provider_name}”：{count} 个瓦片未能加载，{reason}；地图其余部分照常可用",
              f"Base map '{provider_name}': {count} tile(s) not loaded, {reason}; the rest of the map works")


def fetch_tile(provider: Provider, z: int, x: int, y: int, timeout: float = FETCH_TIMEOUT_S,
               template: str | None = None) -> bytes:
    """Download tile ``(z, x, y)`` of an online provider.

    Raises
    ------
    TileFetchError
        No connection, a timeout, HTTP 401/403 (key), 404 or another HTTP error.
    """
    url = provider.tile_url(z, x, y, template)
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) checked
            data = response.read()
    except urllib.error.HTTPError as exc:
        kind = "key" if exc.code in (401, 403) else "missing" if exc.code in (404, 410) else "server"
        raise TileFetchError(tr(f"瓦片 {z}/{x}/{y}：HTTP {exc.code}", f"tile {z}/{x}/{y}: HTTP {exc.code}"), kind,
                             exc.code) from None
    except (socket.timeout, TimeoutError) as exc:
        raise TileFetchError(tr(f"瓦片 {z}/{x}/{y}：超时", f"tile {z}/{x}/{y}: timeout"), "timeout") from exc
    except urllib.error.URLError as exc:
        reason = exc.reason
        kind = "timeout" if isinstance(reason, (socket.timeout, TimeoutError)) else "offline"
        raise TileFetchError(tr(f"无法获取瓦片 {z}/{x}/{y}：{reason}", f"cannot fetch tile {z}/{x}/{y}: {reason}"),
                             kind) from None
    except (OSError, ValueError) as exc:  # connection reset, bad status line
        raise TileFetchError(tr(f"无法获取瓦片 {z}/{x}/{y}：{exc}", f"cannot fetch tile {z}/{x}/{y}: {exc}"),
                             "offline") from None
    if not data:
        raise TileFetchError(tr(f"瓦片 {z}/{x}/{y} 为空", f"empty tile {z}/{x}/{y}"), "missing")
    return data


# ---------------------------------------------------------------------------------------
# disk cache
# ---------------------------------------------------------------------------------------
def cache_dir() -> Path:
    """Where tile caches live: ``$RISKMAP_TILE_CACHE``, else ``$XDG_CACHE_HOME/riskmap/tiles``
    (default ``~/.cache/riskmap/tiles``)."""
    explicit = os.environ.get("RISKMAP_TILE_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "riskmap" / "tiles"


def cache_key(provider: Provider) -> str:
    """The cache folder name of a provider (a custom URL gets a hash of its template, never the key)."""
    if provider.id in ("custom",):
        return "custom-" + hashlib.sha1(provider.url.encode("utf-8")).hexdigest()[:12]
    return provider.id


class TileCache:
    """A size-limited LRU disk cache of one provider's tiles (SQLite, safe across threads).

    Parameters
    ----------
    path : str or Path
        The SQLite file (created).
    limit_bytes : int
        Tiles are evicted, least recently used first, when their total size exceeds this.
    max_age_days : float
        :meth:`get` reports a tile older than this as stale (to be refetched).
    """

    def __init__(self, path, limit_bytes: int = CACHE_LIMIT_BYTES, max_age_days: float = MAX_AGE_DAYS):
        self.path = Path(path)
        self.limit_bytes = int(limit_bytes)
        self.max_age_s = float(max_age_days) * 86400.0
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=5.0)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # a cache: losing the last writes to a crash is fine
            self._db.execute("CREATE TABLE IF NOT EXISTS tiles (z INTEGER, x INTEGER, y INTEGER, data BLOB, "
                             "fetched REAL, used REAL, size INTEGER, PRIMARY KEY (z, x, y))")
            self._db.execute("CREATE INDEX IF NOT EXISTS tiles_used ON tiles (used)")
            self._db.commit()
            self.total_bytes = int(self._db.execute("SELECT COALESCE(SUM(size), 0) FROM tiles").fetchone()[0])
        except sqlite3.Error as exc:
            raise DataFormatError(tr(f"无法打开瓦片缓存（{exc}）；请删除该文件或另选缓存目录（RISKMAP_TILE_CACHE）",
                                     f"cannot open the tile cache ({exc}); delete the file or choose another "
                                     "cache folder (RISKMAP_TILE_CACHE)"), self.path) from exc

    @classmethod
    def for_provider(cls, provider: Provider, **kwargs) -> "TileCache":
        """The cache of ``provider`` under :func:`cache_dir`."""
        return cls(cache_dir() / cache_key(provider) / "tiles.sqlite", **kwargs)

    def get(self, z: int, x: int, y: int) -> tuple[bytes, bool] | None:
        """``(data, stale)`` of a cached tile, or ``None``; marks it recently used."""
        with self._lock:
            row = self._db.execute("SELECT data, fetched FROM tiles WHERE z=? AND x=? AND y=?",
                                   (z, x, y)).fetchone()
            if row is None:
                return None
            now = time.time()
            self._db.execute("UPDATE tiles SET used=? WHERE z=? AND x=? AND y=?", (now, z, x, y))
            self._db.commit()
        return bytes(row[0]), (now - float(row[1])) > self.max_age_s

    def put(self, z: int, x: int, y: int, data: bytes, fetched: float | None = None) -> None:
        """Store a tile (replacing an older copy) and evict the least recently used beyond the limit."""
        now = time.time()
        fetched = now if fetched is None else float(fetched)
        with self._lock:
            old = self._db.execute("SELECT size FROM tiles WHERE z=? AND x=? AND y=?", (z, x, y)).fetchone()
            self._db.execute("INSERT OR REPLACE INTO tiles VALUES (?, ?, ?, ?, ?, ?, ?)",
                             (z, x, y, sqlite3.Binary(data), fetched, now, len(data)))
            self.total_bytes += len(data) - (int(old[0]) if old else 0)
            if self.total_bytes > self.limit_bytes:
                self._evict(int(self.limit_bytes * 0.9))
            self._db.commit()

    def _evict(self, target: int) -> None:
        rows = self._db.execute("SELECT z, x, y, size FROM tiles ORDER BY used ASC").fetchall()
        for z, x, y, size in rows:
            if self.total_bytes <= target:
                break
            self._db.execute("DELETE FROM tiles WHERE z=? AND x=? AND y=?", (z, x, y))
            self.total_bytes -= int(size)

    def __contains__(self, zxy) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM tiles WHERE z=? AND x=? AND y=?", tuple(zxy)).fetchone() \
                is not None

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM tiles").fetchone()[0])

    def average_size(self) -> float:
        """Mean size of the cached tiles (bytes), :data:`DEFAULT_TILE_BYTES` when empty."""
        with self._lock:
            n, total = self._db.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM tiles").fetchone()
        return float(total) / n if n else float(DEFAULT_TILE_BYTES)

    def close(self) -> None:
        with self._lock:
            self._db.close()


# ---------------------------------------------------------------------------------------
# MBTiles 1.3
# ---------------------------------------------------------------------------------------
class MBTiles:
    """An MBTiles 1.3 package (SQLite): read tiles by XYZ index, or write a new package.

    Parameters
    ----------
    path : str or Path
        The ``.mbtiles`` file.
    mode : {"r", "w"}
        ``"w"`` creates the file (replacing one that exists) with the ``metadata`` and
        ``tiles`` tables of the specification.
    """

    def __init__(self, path, mode: str = "r"):
        self.path = Path(path)
        self.mode = mode
        self._lock = threading.Lock()
        try:
            if mode == "w":
                if self.path.exists():
                    self.path.unlink()
                self._db = sqlite3.connect(str(self.path), check_same_thread=False)
                self._db.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
                self._db.execute("CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, "
                                 "tile_data BLOB)")
                self._db.execute("CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row)")
            elif mode == "r":
                if not self.path.is_file():
                    raise DataFormatError(tr("离线底图文件不存在；请另选文件",
                                             "the offline base map does not exist; choose another file"), self.path)
                self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
                self._db.execute("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles LIMIT 1")
            else:
                raise ValueError(f"mode must be r or w, not {mode!r}")
        except sqlite3.Error as exc:
            raise DataFormatError(tr(f"不是 MBTiles 离线底图（{exc}）；请选择 .mbtiles 文件",
                                     f"not an MBTiles package ({exc}); choose an .mbtiles file"), self.path) from exc

    def metadata(self) -> dict:
        """The ``metadata`` table as a dict."""
        with self._lock:
            try:
                return {str(k): str(v) for k, v in self._db.execute("SELECT name, value FROM metadata")}
            except sqlite3.Error:
                return {}

    def set_metadata(self, values: dict) -> None:
        with self._lock:
            self._db.execute("DELETE FROM metadata")
            self._db.executemany("INSERT INTO metadata VALUES (?, ?)", [(str(k), str(v)) for k, v in values.items()])
            self._db.commit()

    def get(self, z: int, x: int, y: int) -> bytes | None:
        """Tile ``(z, x, y)`` (XYZ row) or ``None``."""
        row_tms = (1 << int(z)) - 1 - int(y)
        with self._lock:
            row = self._db.execute("SELECT tile_data FROM tiles WHERE zoom_level=? AND tile_column=? AND "
                                   "tile_row=?", (z, x, row_tms)).fetchone()
        return None if row is None else bytes(row[0])

    def put(self, z: int, x: int, y: int, data: bytes) -> None:
        row_tms = (1 << int(z)) - 1 - int(y)
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO tiles VALUES (?, ?, ?, ?)",
                             (z, x, row_tms, sqlite3.Binary(data)))

    def commit(self) -> None:
        with self._lock:
            self._db.commit()

    def zooms(self) -> tuple[int, int] | None:
        """(min, max) zoom of the stored tiles."""
        with self._lock:
            row = self._db.execute("SELECT MIN(zoom_level), MAX(zoom_level) FROM tiles").fetchone()
        return None if row[0] is None else (int(row[0]), int(row[1]))

    def close(self) -> None:
        with self._lock:
            if self.mode == "w":
                self._db.commit()
            self._db.close()


def estimate_package(provider: Provider, bounds_lonlat, zooms, cache: TileCache | None = None) -> tuple[int, float]:
    """``(tile count, estimated bytes)`` of an offline package (count × average cached tile size)."""
    count = count_tiles(bounds_lonlat, zooms)
    average = cache.average_size() if cache is not None else float(DEFAULT_TILE_BYTES)
    return count, count * average


def download_package(provider: Provider, bounds_lonlat, zooms, out_path, cache: TileCache | None = None,
                     progress=None, fetch=None, compose=None) -> dict:
    """Write the tiles of a lon/lat box at ``zooms`` from an online provider to an MBTiles file.

    Parameters
    ----------
    provider : Provider
        An online provider (its key filled in when it needs one).
    bounds_lonlat : tuple
        (west, south, east, north) in degrees (WGS84; for a GCJ-02 provider the box is
        grown by the shift so the package covers the same ground).
    zooms : iterable of int
        Zoom levels to include.
    out_path : str or Path
        The ``.mbtiles`` file to write (written beside and renamed when complete).
    cache : TileCache, optional
        Tiles are taken from and added to this cache.
    progress : callable, optional
        ``progress(fraction, message)``; may raise :class:`CancelledError` to stop (the
        partial file is removed).
    fetch : callable, optional
        ``fetch(z, x, y) -> bytes`` instead of :func:`fetch_tile` (tests).
    compose : callable, optional
        ``compose(tile_bytes, overlay_bytes) -> bytes``: for a provider with a label overlay
        (天地图 注记), the overlay is fetched too and drawn into the stored tile (the GUI
        passes a Qt compositor; without one the labels are left out).

    Returns
    -------
    dict
        ``{"path", "tiles", "failed", "bytes"}``.

    Raises
    ------
    ParameterError
        Too many tiles, or no zoom.
    TileFetchError
        Every tile failed (no network, wrong key).
    """
    from riskmap.errors import ParameterError

    zooms = sorted({int(z) for z in zooms})
    if not zooms:
        raise ParameterError(tr("请选择至少一个缩放级别", "Choose at least one zoom level"))
    west, south, east, north = (float(v) for v in bounds_lonlat)
    if provider.datum == "gcj02":
        from riskmap.crs import wgs84_to_gcj02

        gx, gy = wgs84_to_gcj02([west, east, west, east], [south, south, north, north])
        west, east = min(west, float(min(gx))), max(east, float(max(gx)))
        south, north = min(south, float(min(gy))), max(north, float(max(gy)))
    box = (west, south, east, north)
    total = count_tiles(box, zooms)
    if total > MAX_PACKAGE_TILES:
        raise ParameterError(tr(f"离线底图瓦片过多（{total}，上限 {MAX_PACKAGE_TILES}）；请缩小范围或级别",
                                f"Too many tiles ({total}, at most {MAX_PACKAGE_TILES}); choose a smaller extent "
                                "or fewer zoom levels"))
    report = progress or (lambda fraction, message: None)
    out_path = Path(out_path)
    tmp = out_path.with_name(out_path.name + ".part")
    package = MBTiles(tmp, "w")
    done = failed = nbytes = 0
    first_error = None
    try:
        for z in zooms:
            x0, y0, x1, y1 = tile_range(box, z)
            for y in range(y0, y1 + 1):
                for x in range(x0, x1 + 1):
                    report(done / total, tr(f"下载离线底图 {done}/{total}", f"Downloading tiles {done}/{total}"))
                    data = None
                    cached = cache.get(z, x, y) if cache is not None else None
                    if cached is not None:
                        data = cached[0]
                    else:
                        try:
                            data = fetch(z, x, y) if fetch is not None else fetch_tile(provider, z, x, y)
                        except TileFetchError as exc:
                            failed += 1
                            first_error = first_error or exc
                            if exc.kind in ("offline", "key") and done == failed:
                                # nothing works: stop at once with the reason
                                raise TileFetchError(describe_failure(exc.kind, provider.name, failed), exc.kind,
                                                     exc.status) from None
                        else:
                            if cache is not None:
                                cache.put(z, x, y, data)
                    if data is not None and compose is not None and provider.overlay:
                        try:
                            labels = fetch_tile(provider, z, x, y, template=provider.overlay)
                            data = compose(data, labels)
                        except TileFetchError:
                            pass  # the tile without its labels
                    if data is not None:
                        package.put(z, x, y, data)
                        nbytes += len(data)
                    done += 1
        package.set_metadata({
            "name": provider.name, "format": _format_of(package), "type": "baselayer", "version": "1.3",
            "bounds": f"{west:.6f},{south:.6f},{east:.6f},{north:.6f}",
            "center": f"{(west + east) / 2:.6f},{(south + north) / 2:.6f},{zooms[0]}",
            "minzoom": str(zooms[0]), "maxzoom": str(zooms[-1]), "attribution": provider.attribution,
            "description": f"riskmap offline base map; datum {provider.datum}",
            "riskmap:datum": provider.datum, "riskmap:provider": provider.id,
        })
        package.close()
    except BaseException:
        package.close()
        tmp.unlink(missing_ok=True)
        raise
    if done == failed and first_error is not None:
        tmp.unlink(missing_ok=True)
        raise TileFetchError(describe_failure(first_error.kind, provider.name, failed), first_error.kind,
                             first_error.status)
    os.replace(tmp, out_path)
    report(1.0, tr("离线底图已完成", "Offline base map done"))
    return {"path": out_path, "tiles": done - failed, "failed": failed, "bytes": nbytes}


def _format_of(package: MBTiles) -> str:
    with package._lock:
        row = package._db.execute("SELECT tile_data FROM tiles LIMIT 1").fetchone()
    if row is not None and bytes(row[0][:3]) == b"\xff\xd8\xff":
        return "jpg"
    return "png"


def open_package(path) -> tuple[MBTiles, Provider]:
    """Open an MBTiles package and the provider that draws it (datum and zooms from its metadata)."""
    from riskmap.layers.tiles import mbtiles_provider

    package = MBTiles(path, "r")
    meta = package.metadata()
    zooms = package.zooms() or (0, 18)
    datum = meta.get("riskmap:datum", "wgs84")
    if datum not in ("wgs84", "gcj02"):
        datum = "wgs84"
    provider = mbtiles_provider(path, meta.get("name", ""), meta.get("attribution", ""), datum,
                                zooms[0], zooms[1])
    return package, provider


__all__ = ["CancelledError", "MBTiles", "TileCache", "TileFetchError", "cache_dir", "cache_key", "describe_failure",
           "download_package", "estimate_package", "fetch_tile", "open_package"]


#: Default cap of an offline package embedded in an HTML page (bytes of tile data).
EMBED_MAX_BYTES = 25 * 1024 * 1024


def embedded_tiles(path, zooms=None, max_bytes: int = EMBED_MAX_BYTES) -> dict:
    """The tiles of an MBTiles package as data URIs, for a web page that must work offline.

    Parameters
    ----------
    path : str or Path
        The ``.mbtiles`` package.
    zooms : iterable of int, optional
        Zoom levels to include (default: every level in the package).
    max_bytes : int
        Refuse packages whose chosen tiles are larger than this.

    Returns
    -------
    dict
        ``{"tiles": {"z/x/y": "data:image/...;base64,..."}, "minZoom", "maxZoom", "datum",
        "attribution", "name", "bytes"}`` (XYZ rows).

    Raises
    ------
    DataFormatError
        Not an MBTiles package, or no tile at the chosen zooms.
    ParameterError
        The chosen tiles exceed ``max_bytes``.
    """
    import base64

    from riskmap.errors import ParameterError

    package, provider = open_package(path)
    try:
        with package._lock:
            rows = package._db.execute("SELECT zoom_level, tile_column, tile_row, length(tile_data) FROM tiles")\
                .fetchall()
        wanted = None if zooms is None else {int(z) for z in zooms}
        rows = [r for r in rows if wanted is None or int(r[0]) in wanted]
        if not rows:
            raise DataFormatError(tr("离线底图在所选级别没有瓦片；请另选级别",
                                     "the offline base map has no tiles at the chosen zoom levels; choose others"),
                                  path)
        total = sum(int(r[3]) for r in rows)
        if total > max_bytes:
            raise ParameterError(tr(f"离线底图过大（{total / 1e6:.1f} MB，上限 {max_bytes / 1e6:.1f} MB）；请少选几个级别",
                                    f"The offline base map is too large ({total / 1e6:.1f} MB, at most "
                                    f"{max_bytes / 1e6:.1f} MB); choose fewer zoom levels"))
        out = {}
        for z, x, row, _ in rows:
            y = (1 << int(z)) - 1 - int(row)
            data = package.get(int(z), int(x), y)
            mime = "image/jpeg" if data[:3] == b"\xff\xd8\xff" else "image/png"
            out[f"{int(z)}/{int(x)}/{y}"] = f"data:{mime};base64," + base64.b64encode(data).decode("ascii")
        zs = sorted({int(r[0]) for r in rows})
        return {"tiles": out, "minZoom": zs[0], "maxZoom": zs[-1], "datum": provider.datum,
                "attribution": provider.attribution, "name": provider.name, "bytes": total}
    finally:
        package.close()
