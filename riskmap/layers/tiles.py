"""Base-map tiles without Qt: providers, Web Mercator tile math and the warp grid.

One declaration of the tile providers (:data:`PROVIDERS`) serves the desktop canvas and the
HTML export. A provider serves XYZ tiles of the spherical Web Mercator (EPSG:3857) tile
pyramid; 高德 tiles are drawn in GCJ-02 (:attr:`Provider.datum` ``"gcj02"``), so where
WGS84 point *p* lies on the ground, a GCJ-02 tile shows it at ``wgs84_to_gcj02(p)``.

The canvas draws tiles by *inverse mapping*: for each display pixel of the view it computes
the map-CRS coordinate, turns it into WGS84 lon/lat, into GCJ-02 for a GCJ provider, into
Web Mercator and into a pixel of the tile mosaic (:func:`source_pixels`). That is a
re-projection (a warp), not a constant offset: the GCJ-02 shift varies across the view.
The exact transform is evaluated on a lattice every :data:`WARP_STEP` pixels and bilinear
in between (the shift and the projections vary smoothly; the error is far below a pixel).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from urllib.parse import quote

import numpy as np

from riskmap import crs as crs_policy
from riskmap.errors import ParameterError
from riskmap.i18n import tr

#: Tile edge in pixels.
TILE_SIZE = 256
#: Web Mercator sphere radius (metres) and the half-width of the square world.
EARTH_RADIUS = 6378137.0
ORIGIN_SHIFT = math.pi * EARTH_RADIUS
#: Latitude limit of Web Mercator.
MAX_LAT = 85.0511287798066
#: Display pixels between exactly transformed lattice points of the warp grid.
WARP_STEP = 16
#: Largest number of tiles one view may draw; a view needing more (an offline package
#: zoomed out beyond its lowest level) draws none rather than fetch thousands.
MAX_VIEW_TILES = 300


@dataclass(frozen=True)
class Provider:
    """A base-map tile source.

    Attributes
    ----------
    id : str
        Stable identifier (saved in projects, names the cache folder).
    name_zh, name_en : str
        Display names.
    url : str
        URL template with ``{z}``, ``{x}``, ``{y}`` and optionally ``{s}`` (subdomain) and
        ``{key}`` (the user's key); for ``kind="mbtiles"`` the path of the package.
    subdomains : str
        Characters substituted for ``{s}`` in turn.
    attribution : str
        Plain text shown on the map.
    datum : {"wgs84", "gcj02"}
        The datum the tiles are drawn in.
    max_zoom, min_zoom : int
        Zoom levels the provider serves.
    key : str
        Which key the provider needs (``"tianditu"``) or ``""``.
    kind : {"xyz", "mbtiles"}
        Online XYZ tiles, or an offline MBTiles package.
    overlay : str
        Optional URL template of a label layer drawn over the tiles (天地图 注记).
    """

    id: str
    name_zh: str
    name_en: str
    url: str
    subdomains: str = ""
    attribution: str = ""
    datum: str = "wgs84"
    max_zoom: int = 18
    min_zoom: int = 0
    key: str = ""
    kind: str = "xyz"
    overlay: str = ""
    key_value: str = field(default="", compare=False, repr=False)

    @property
    def name(self) -> str:
        """The display name in the current language."""
        return tr(self.name_zh, self.name_en)

    @property
    def online(self) -> bool:
        """Whether drawing this provider uses the network."""
        return self.kind == "xyz"

    def with_key(self, key: str) -> "Provider":
        """A copy that fills ``{key}`` with ``key`` (never saved in projects)."""
        return replace(self, key_value=str(key or ""))

    def tile_url(self, z: int, x: int, y: int, template: str | None = None) -> str:
        """The URL of tile ``(z, x, y)``."""
        template = template if template is not None else self.url
        if "{key}" in template and not self.key_value:
            raise ParameterError(tr(f"{self.name_zh}需要密钥（key）", f"{self.name_en} needs a key"))
        s = self.subdomains[(x + y) % len(self.subdomains)] if self.subdomains else ""
        return (template.replace("{z}", str(int(z))).replace("{x}", str(int(x))).replace("{y}", str(int(y)))
                .replace("{-y}", str((1 << int(z)) - 1 - int(y))).replace("{s}", s)
                .replace("{key}", quote(self.key_value, safe="")))


def _tianditu(layer: str) -> str:
    return ("https://t{s}.tianditu.gov.cn/" + layer + "_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
            "&LAYER=" + layer + "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
            "&TILECOL={x}&tk={key}")


#: The built-in providers, in menu order.
PROVIDERS: dict[str, Provider] = {p.id: p for p in (
    Provider("osm", "OpenStreetMap", "OpenStreetMap", "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
             attribution="© OpenStreetMap contributors", max_zoom=19),
    Provider("tianditu_vec", "天地图矢量", "Tianditu vector", _tianditu("vec"), subdomains="01234567",
             attribution="© 天地图 (国家地理信息公共服务平台)", max_zoom=18, key="tianditu", overlay=_tianditu("cva")),
    Provider("tianditu_img", "天地图影像", "Tianditu imagery", _tianditu("img"), subdomains="01234567",
             attribution="© 天地图 (国家地理信息公共服务平台)", max_zoom=18, key="tianditu", overlay=_tianditu("cia")),
    Provider("amap_vec", "高德矢量", "AMap vector",
             "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
             subdomains="1234", attribution="© 高德地图 (GCJ-02)", datum="gcj02", max_zoom=18),
    Provider("amap_img", "高德影像", "AMap imagery",
             "https://webst0{s}.is.autonavi.com/appmaptile?style=6&x={x}&y={y}&z={z}",
             subdomains="1234", attribution="© 高德地图 (GCJ-02)", datum="gcj02", max_zoom=18),
)}


def custom_provider(url: str, datum: str = "wgs84", attribution: str = "", max_zoom: int = 19) -> Provider:
    """A provider for a user's URL template (``{z}``, ``{x}``, ``{y}``; ``{-y}`` for TMS rows).

    Raises
    ------
    ParameterError
        The template is not an http(s) URL with ``{z}``, ``{x}`` and ``{y}`` (or ``{-y}``).
    """
    url = str(url or "").strip()
    if not url.lower().startswith(("http://", "https://")):
        raise ParameterError(tr("底图地址须以 http:// 或 https:// 开头", "A tile URL must start with http:// or https://"))
    if "{z}" not in url or "{x}" not in url or ("{y}" not in url and "{-y}" not in url):
        raise ParameterError(tr("底图地址须包含 {z}、{x} 和 {y}", "A tile URL must contain {z}, {x} and {y}"))
    if datum not in ("wgs84", "gcj02"):
        raise ParameterError(tr(f"未知的瓦片基准 {datum!r}；请用 wgs84 或 gcj02",
                                f"unknown tile datum {datum!r}; use wgs84 or gcj02"))
    subdomains = "abc" if "{s}" in url else ""
    host = url.split("/")[2]
    return Provider("custom", "自定义底图", "Custom tiles", url, subdomains=subdomains,
                    attribution=attribution or host, datum=datum, max_zoom=int(max_zoom))


def mbtiles_provider(path, name: str = "", attribution: str = "", datum: str = "wgs84", min_zoom: int = 0,
                     max_zoom: int = 18) -> Provider:
    """A provider reading an offline MBTiles package (no network)."""
    import os

    label = name or os.path.splitext(os.path.basename(str(path)))[0]
    return Provider("mbtiles", f"离线底图：{label}", f"Offline tiles: {label}", str(path),
                    attribution=attribution or label, datum=datum, min_zoom=int(min_zoom),
                    max_zoom=int(max_zoom), kind="mbtiles")


def html_tile_specs(provider_id: str, token: str | None) -> list[dict]:
    """Leaflet tile-layer specs of a built-in provider for the HTML export (``[]`` for none).

    The HTML page uses ``{s}`` with ``subdomains`` and gets the key filled in here.
    """
    ids = {"osm": "osm", "tianditu": "tianditu_vec", "amap": "amap_vec"}
    provider = PROVIDERS.get(ids.get(provider_id, provider_id))
    if provider is None:
        return []
    provider = provider.with_key(token or "") if provider.key else provider

    def fill(template):
        return template.replace("{key}", quote(provider.key_value, safe=""))

    spec = {"name": provider.name, "url": fill(provider.url), "maxZoom": provider.max_zoom,
            "attribution": provider.attribution.replace("©", "&copy;")}
    if provider.subdomains:
        spec["subdomains"] = provider.subdomains
    if provider.overlay:
        spec["overlay"] = fill(provider.overlay)
    return [spec]


# ---------------------------------------------------------------------------------------
# tile math (spherical Web Mercator, XYZ: y grows southwards from the north edge)
# ---------------------------------------------------------------------------------------
def lonlat_to_mercator(lon, lat):
    """WGS84 lon/lat (degrees) → Web Mercator metres (numpy, vectorised)."""
    lon = np.asarray(lon, float)
    lat = np.clip(np.asarray(lat, float), -MAX_LAT, MAX_LAT)
    x = np.radians(lon) * EARTH_RADIUS
    y = np.log(np.tan(np.pi / 4.0 + np.radians(lat) / 2.0)) * EARTH_RADIUS
    return x, y


def mercator_to_lonlat(x, y):
    """Web Mercator metres → WGS84 lon/lat (degrees)."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    lon = np.degrees(x / EARTH_RADIUS)
    lat = np.degrees(2.0 * np.arctan(np.exp(y / EARTH_RADIUS)) - np.pi / 2.0)
    return lon, lat


def mercator_to_pixel(x, y, z: int):
    """Web Mercator metres → global pixel coordinates at zoom ``z`` (origin at the north-west corner)."""
    world = TILE_SIZE * (1 << int(z))
    px = (np.asarray(x, float) + ORIGIN_SHIFT) / (2.0 * ORIGIN_SHIFT) * world
    py = (ORIGIN_SHIFT - np.asarray(y, float)) / (2.0 * ORIGIN_SHIFT) * world
    return px, py


def lonlat_to_pixel(lon, lat, z: int):
    """WGS84 lon/lat → global pixel coordinates at zoom ``z``."""
    return mercator_to_pixel(*lonlat_to_mercator(lon, lat), z)


def pixel_to_lonlat(px, py, z: int):
    """Global pixel coordinates at zoom ``z`` → lon/lat (inverse of :func:`lonlat_to_pixel`)."""
    world = TILE_SIZE * (1 << int(z))
    x = np.asarray(px, float) / world * 2.0 * ORIGIN_SHIFT - ORIGIN_SHIFT
    y = ORIGIN_SHIFT - np.asarray(py, float) / world * 2.0 * ORIGIN_SHIFT
    return mercator_to_lonlat(x, y)


def tile_bounds_lonlat(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(west, south, east, north) of tile ``(z, x, y)`` in degrees."""
    west, north = pixel_to_lonlat(x * TILE_SIZE, y * TILE_SIZE, z)
    east, south = pixel_to_lonlat((x + 1) * TILE_SIZE, (y + 1) * TILE_SIZE, z)
    return float(west), float(south), float(east), float(north)


def tile_range(bounds_lonlat, z: int) -> tuple[int, int, int, int]:
    """Inclusive ``(x0, y0, x1, y1)`` of the tiles covering a lon/lat box at zoom ``z``."""
    west, south, east, north = bounds_lonlat
    px0, py0 = lonlat_to_pixel(west, north, z)
    px1, py1 = lonlat_to_pixel(east, south, z)
    n = (1 << int(z)) - 1
    x0 = int(np.clip(math.floor(float(px0) / TILE_SIZE), 0, n))
    x1 = int(np.clip(math.floor(float(px1) / TILE_SIZE), 0, n))
    y0 = int(np.clip(math.floor(float(py0) / TILE_SIZE), 0, n))
    y1 = int(np.clip(math.floor(float(py1) / TILE_SIZE), 0, n))
    return x0, y0, x1, y1


def tiles_for_bounds(bounds_lonlat, z: int) -> list[tuple[int, int, int]]:
    """``[(z, x, y), ...]`` covering a lon/lat box, nearest the centre first."""
    x0, y0, x1, y1 = tile_range(bounds_lonlat, z)
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    tiles = [(int(z), x, y) for y in range(y0, y1 + 1) for x in range(x0, x1 + 1)]
    tiles.sort(key=lambda t: (t[1] - cx) ** 2 + (t[2] - cy) ** 2)
    return tiles


def count_tiles(bounds_lonlat, zooms) -> int:
    """Number of tiles covering a lon/lat box at every zoom of ``zooms``."""
    total = 0
    for z in zooms:
        x0, y0, x1, y1 = tile_range(bounds_lonlat, z)
        total += (x1 - x0 + 1) * (y1 - y0 + 1)
    return total


def zoom_for_resolution(metres_per_pixel: float, lat: float, max_zoom: int = 19, min_zoom: int = 0) -> int:
    """The zoom whose tiles are about as fine as the view at latitude ``lat``.

    Tiles are chosen at least as fine as the view (up to 10 % coarser is accepted, so a
    view just past a zoom boundary does not fetch four times as many tiles).
    """
    ground = 2.0 * ORIGIN_SHIFT / TILE_SIZE * math.cos(math.radians(min(abs(float(lat)), MAX_LAT)))
    if not (metres_per_pixel > 0 and math.isfinite(metres_per_pixel)):
        return int(min_zoom)
    z = math.ceil(math.log2(ground / (metres_per_pixel * 1.1)))
    return int(min(max(z, min_zoom), max_zoom))


# ---------------------------------------------------------------------------------------
# the warp grid
# ---------------------------------------------------------------------------------------
def view_to_lonlat(x, y, map_crs_wkt: str):
    """Map-CRS coordinates → WGS84 lon/lat (CGCS2000 and WGS84 agree to centimetres here)."""
    if crs_policy.is_geographic(map_crs_wkt):
        return np.asarray(x, float), np.asarray(y, float)
    return crs_policy.transform_xy(np.asarray(x, float), np.asarray(y, float), map_crs_wkt, "EPSG:4326")


def source_pixels(extent, width: int, height: int, map_crs_wkt: str, z: int, datum: str = "wgs84",
                  step: int = WARP_STEP):
    """Global tile-pixel coordinates (zoom ``z``) of the centre of every display pixel of a view.

    Parameters
    ----------
    extent : tuple
        (minx, miny, maxx, maxy) of the view in the map CRS.
    width, height : int
        The view's size in device pixels.
    map_crs_wkt : str
        The map CRS.
    z : int
        Tile zoom.
    datum : {"wgs84", "gcj02"}
        The datum the tiles are drawn in; ``"gcj02"`` applies the GCJ-02 shift per point.
    step : int
        Lattice spacing of exactly transformed points (display pixels).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``px``, ``py`` of shape ``(height, width)`` (float64).
    """
    px, py, rows, cols = lattice_pixels(extent, width, height, map_crs_wkt, z, datum, step)
    full_c = np.arange(max(1, int(width)), dtype=float) + 0.5
    full_r = np.arange(max(1, int(height)), dtype=float) + 0.5
    return _bilinear(px, rows, cols, full_r, full_c), _bilinear(py, rows, cols, full_r, full_c)


def lattice_pixels(extent, width: int, height: int, map_crs_wkt: str, z: int, datum: str = "wgs84",
                   step: int = WARP_STEP):
    """The exactly transformed lattice of :func:`source_pixels`: ``(px, py, rows, cols)``.

    ``rows`` and ``cols`` are the display-pixel centres of the lattice (every ``step``
    pixels and the last row and column), ``px``/``py`` their tile-pixel coordinates.
    """
    minx, miny, maxx, maxy = (float(v) for v in extent)
    width, height = max(1, int(width)), max(1, int(height))
    step = max(1, int(step))
    cols = np.unique(np.r_[np.arange(0, width, step), width - 1]).astype(float) + 0.5
    rows = np.unique(np.r_[np.arange(0, height, step), height - 1]).astype(float) + 0.5
    gx = minx + cols / width * (maxx - minx)
    gy = maxy - rows / height * (maxy - miny)
    mx, my = np.meshgrid(gx, gy)
    lon, lat = view_to_lonlat(mx.ravel(), my.ravel(), map_crs_wkt)
    if datum == "gcj02":
        lon, lat = crs_policy.wgs84_to_gcj02(lon, lat)
    px, py = lonlat_to_pixel(lon, lat, z)
    return np.asarray(px).reshape(mx.shape), np.asarray(py).reshape(mx.shape), rows, cols


def _bilinear(values: np.ndarray, rows, cols, full_r, full_c) -> np.ndarray:
    """Separable bilinear interpolation of a lattice onto every pixel."""
    if len(cols) > 1:
        ci = np.clip(np.searchsorted(cols, full_c, side="right") - 1, 0, len(cols) - 2)
        cw = (full_c - cols[ci]) / (cols[ci + 1] - cols[ci])
        tmp = values[:, ci] * (1 - cw) + values[:, ci + 1] * cw
    else:
        tmp = np.repeat(values[:, :1], len(full_c), axis=1)
    if len(rows) > 1:
        ri = np.clip(np.searchsorted(rows, full_r, side="right") - 1, 0, len(rows) - 2)
        rw = ((full_r - rows[ri]) / (rows[ri + 1] - rows[ri]))[:, None]
        return tmp[ri] * (1 - rw) + tmp[ri + 1] * rw
    return np.repeat(tmp[:1], len(full_r), axis=0)


def view_tiles(px: np.ndarray, py: np.ndarray, z: int) -> list[tuple[int, int, int]]:
    """The tiles a warp grid samples, nearest the view centre first (none beyond :data:`MAX_VIEW_TILES`)."""
    n = 1 << int(z)
    tx = np.floor(px / TILE_SIZE)
    ty = np.floor(py / TILE_SIZE)
    x0, x1 = int(max(np.nanmin(tx), 0)), int(min(np.nanmax(tx), n - 1))
    y0, y1 = int(max(np.nanmin(ty), 0)), int(min(np.nanmax(ty), n - 1))
    if x1 < x0 or y1 < y0:
        return []
    cx = float(np.floor(px[px.shape[0] // 2, px.shape[1] // 2] / TILE_SIZE))
    cy = float(np.floor(py[py.shape[0] // 2, py.shape[1] // 2] / TILE_SIZE))
    if (x1 - x0 + 1) * (y1 - y0 + 1) > MAX_VIEW_TILES:
        return []
    tiles = [(int(z), x, y) for y in range(y0, y1 + 1) for x in range(x0, x1 + 1)]
    tiles.sort(key=lambda t: (t[1] - cx) ** 2 + (t[2] - cy) ** 2)
    return tiles


def warp(tiles: dict, px: np.ndarray, py: np.ndarray, z: int) -> np.ndarray:
    """Sample decoded tiles through a warp grid into an RGBA image (nearest neighbour).

    Parameters
    ----------
    tiles : dict
        ``{(z, x, y): uint8 array (256, 256, 4)}`` of the tiles available (missing ones stay
        transparent).
    px, py : numpy.ndarray
        The grid from :func:`source_pixels`.
    z : int
        Tile zoom of the grid.

    Returns
    -------
    numpy.ndarray
        ``uint8`` array of shape ``px.shape + (4,)``.
    """
    out = np.zeros(px.shape + (4,), np.uint8)
    if not tiles:
        return out
    ix = np.floor(px).astype(np.int64)
    iy = np.floor(py).astype(np.int64)
    tx, ty = ix // TILE_SIZE, iy // TILE_SIZE
    keys = [k for k in tiles if k[0] == z]
    if not keys:
        return out
    kx = np.array([k[1] for k in keys])
    ky = np.array([k[2] for k in keys])
    x0, y0 = int(kx.min()), int(ky.min())
    nx, ny = int(kx.max()) - x0 + 1, int(ky.max()) - y0 + 1
    mosaic = np.zeros((ny * TILE_SIZE, nx * TILE_SIZE, 4), np.uint8)
    for key in keys:
        arr = tiles[key]
        ox, oy = (key[1] - x0) * TILE_SIZE, (key[2] - y0) * TILE_SIZE
        h, w = min(arr.shape[0], TILE_SIZE), min(arr.shape[1], TILE_SIZE)
        mosaic[oy:oy + h, ox:ox + w] = arr[:h, :w]
    inside = (tx >= x0) & (tx < x0 + nx) & (ty >= y0) & (ty < y0 + ny)
    mx = ix[inside] - x0 * TILE_SIZE
    my = iy[inside] - y0 * TILE_SIZE
    out[inside] = mosaic[my, mx]
    return out
