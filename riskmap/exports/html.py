"""Self-contained interactive HTML meeting maps (Leaflet), Qt-free.

:func:`export_html` writes the visible layers of a :class:`~riskmap.project.Project`, in
drawing order and with their desktop styles, as one HTML file that opens by double-click
without internet:

- Leaflet and its plugins (marker clusters, heat map, measurement, full screen, grouped
  layer control) are inlined from the installed ``folium-offline`` package
  (:mod:`riskmap.exports.assets`), and the Chinese glyphs the page uses are embedded as a
  subset of Noto Sans CJK SC from ``mplfonts``. In the default ``basemap="none"`` mode the
  file references no http(s) resource at all; the county boundaries (with labels) are the
  base map.
- Vector data are written compactly: coordinates in WGS84 degrees quantised to 5 decimals
  (about 1 m) for lines and polygons and 6 for points, delta-encoded as integers (base64 varints,
  about two bytes a coordinate); lines and
  polygons simplified per layer with a tolerance in metres in a local metric CRS; repeated
  text values dictionary-encoded. Each layer is drawn on its own canvas (one pane per layer, so
  the drawing order survives switching layers off and on) by one Leaflet layer that paints all
  its features from typed arrays, not one Leaflet object per feature (100,000 features load in
  about a second); popups are built on click from the columns. Dense point layers of up to
  :data:`CLUSTER_MAX_FEATURES` features are clustered.
- Raster layers are included as small PNG image overlays (base64, at most
  ``raster_max_px`` pixels on the long side, rendered in Web Mercator so they line up).
- Every attribute value, layer name, alias, legend label and footer text is HTML-escaped in
  Python before it is written; the page inserts only those escaped strings.
- Popups show chosen fields (:mod:`riskmap.exports.popups`: declared result columns or aliased
  fields, Chinese names, units, rounding) and never personal data unless ``include_personal``;
  labels are placed in the page without overlap; layers without a feature are left out.

Tile base maps are optional extras that do use the internet: ``osm``, ``tianditu`` (needs a
token) and ``amap`` (高德, GCJ-02: every overlay is shifted into GCJ-02 for display so it
lines up with the tiles).
"""
from __future__ import annotations

import datetime as _dt
import html
import json
import os
import re
import struct
import zlib
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from riskmap import __version__
from riskmap import crs as crs_policy
from riskmap.analysis.result import layers_provenance, provenance_line
from riskmap.errors import DataFormatError, EmptyLayerError, ParameterError
from riskmap.exports import assets
from riskmap.exports.popups import (choose_fields, format_values, is_personal_name, looks_personal, name_field,
                                    redact)
from riskmap.i18n import tr
from riskmap.io import atomic_path
from riskmap.layers import RasterLayer, VectorLayer, tiles

BASEMAPS = ("none", "osm", "tianditu", "amap")

#: Point layers with more features than this are clustered (below zoom 14) ...
CLUSTER_MIN_FEATURES = 300
#: ... up to this many: the cluster plugin needs one marker per feature (about 0.1 ms each to build in the
#: page), so larger layers are drawn as one canvas layer like lines and polygons.
CLUSTER_MAX_FEATURES = 10_000
#: Point symbols the page draws (as the desktop canvas does); others fall back to circles.
POINT_SYMBOLS = ("circle", "square", "triangle", "diamond", "star", "cross", "ring")
#: Coordinates as base64 zigzag varints (False: a JSON list of integers, as pages before issue 16).
BINARY_COORDINATES = True
#: Labels are drawn only for layers with at most this many features.
LABEL_MAX_FEATURES = 500
#: Decimal places of the exported coordinates (degrees): 1e-5° ≈ 1.1 m, 1e-6° ≈ 0.1 m.
LINE_DECIMALS = 5
POINT_DECIMALS = 6
#: Bounds of the automatic per-layer simplification tolerance (metres).
SIMPLIFY_MIN_M = 1.0
SIMPLIFY_MAX_M = 10.0
#: Fraction of a layer's median feature size used as its simplification tolerance.
SIMPLIFY_FRACTION = 0.0005

_WEB_MERCATOR = "EPSG:3857"
_DATA_ELEMENT_ID = "riskmap-data"


def _group_labels() -> dict:
    return {"base": tr("基础图层", "Base layers"), "hazards": tr("危险源", "Hazards"),
            "analysis": tr("分析结果", "Analysis results")}


def _tile_specs(basemap: str, token: str | None) -> list[dict]:
    return tiles.html_tile_specs(basemap, token)


# ---------------------------------------------------------------------------
# public entry point
# ---------------------------------------------------------------------------
def export_html(project, out_path, basemap="none", title=None, progress=None, *, tianditu_token=None,
                heatmap=True, include_rasters=True, embed_font=True, cluster_min=CLUSTER_MIN_FEATURES,
                simplify_m=None, raster_max_px=900, offline_tiles=None, offline_zooms=None,
                offline_max_bytes=None, include_personal=False, layers=None, approval_number=None):
    """Write the project's visible layers as one self-contained interactive HTML map.

    Parameters
    ----------
    project : riskmap.project.Project
        Its visible layers (drawing order), their styles, groups and Chinese field aliases,
        its view extent, title, approval number (审图号) and ``extras["data_sources"]``.
    out_path : str or Path
        The ``.html`` file to write (atomically).
    basemap : {"none", "osm", "tianditu", "amap"}
        ``"none"`` (default) references no internet resource; the others add online tiles.
    title : str, optional
        Page and map title (default: the project's title).
    progress : callable, optional
        ``progress(fraction, message)``; may raise :class:`~riskmap.errors.CancelledError`.
    tianditu_token : str, optional
        天地图 key for ``basemap="tianditu"`` (the GUI passes the one in its settings; else
        ``$RISKMAP_TIANDITU_TOKEN``). Never stored in the project.
    heatmap : bool
        Add a heat-map overlay (off by default in the page) for accident point layers
        (point layers with a ``deaths`` or ``injuries`` field).
    include_rasters : bool
        Include visible raster layers as PNG image overlays.
    embed_font : bool
        Embed the subset of Noto Sans CJK SC the page's Chinese text needs.
    cluster_min : int
        Point layers with more features (and at most :data:`CLUSTER_MAX_FEATURES`) are clustered.
    simplify_m : float, optional
        Simplification tolerance in metres for every line/polygon layer (default: per layer,
        0.05 % of its median feature size, between 1 and 10 m).
    raster_max_px : int
        Long side of raster overlays, in pixels.
    include_personal : bool
        Show personal data in the popups (contact person, phone, ID card, e-mail: by field name, alias
        or values, :mod:`riskmap.exports.popups`); left out by default.
    layers : iterable of str or Layer, optional
        The layers to write (ids or layers, in any order: the page keeps the drawing order); default the
        visible ones. Layers without a feature to draw are left out of the page (not listed).
    approval_number : str, optional
        The map approval number (审图号) shown in the footer (default the project's).
    offline_tiles : str or Path, optional
        An MBTiles package (``下载离线底图``) embedded in the page as its base map, so the
        tiles show with no internet; a GCJ-02 package shifts the overlays as ``amap`` does.
    offline_zooms : iterable of int, optional
        Zoom levels of the package to embed (default all).
    offline_max_bytes : int, optional
        Size cap of the embedded tiles (default
        :data:`riskmap.layers.tile_store.EMBED_MAX_BYTES`).

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    ParameterError
        Unknown base map, or 天地图 without a token.
    EmptyLayerError
        The project has no visible layer.
    DataFormatError
        The file cannot be written, or the asset packages are missing.
    """
    out_path = Path(out_path)
    basemap = (basemap or "none").lower()
    if basemap not in BASEMAPS:
        raise ParameterError(tr(f"未知底图“{basemap}”；可选：{'、'.join(BASEMAPS)}",
                                f"unknown base map {basemap!r}; choose one of {', '.join(BASEMAPS)}"))
    token = None
    if basemap == "tianditu":
        token = tianditu_token or os.environ.get("RISKMAP_TIANDITU_TOKEN")
        if not token:
            raise ParameterError(tr("天地图瓦片需要密钥（token）：请用 --tianditu-token 给出或在设置中填写，"
                                    "或用 --basemap none 导出",
                                    "天地图 tiles need a key (token): pass --tianditu-token or set it in the settings; "
                                    "or export with --basemap none"))
    if layers is None:
        chosen = project.layers.visible()
    else:
        wanted = {getattr(item, "id", item) for item in layers}
        chosen = [layer for layer in project.layers if layer.id in wanted]
    layers = [layer for layer in chosen
              if isinstance(layer, VectorLayer) or (include_rasters and isinstance(layer, RasterLayer))]
    if not layers:
        raise EmptyLayerError(tr("工程中没有可见图层可导出，请至少打开一个图层",
                                 "the project has no visible layer to export; switch at least one layer on"))
    layers = [layer for layer in layers if not is_empty_layer(layer)]
    if not layers:
        raise EmptyLayerError(tr("要导出的图层都是空的（没有可绘制的要素）；请添加数据或选择其他图层",
                                 "every layer to export is empty (no feature to draw); "
                                 "add data or choose other layers"))
    report = progress or (lambda fraction, message: None)
    title = str(title if title is not None else (project.title or tr("安全生产风险图", "Risk map")))
    offset = "gcj02" if basemap == "amap" else None
    embedded = None
    if offline_tiles is not None:
        from riskmap.layers.tile_store import EMBED_MAX_BYTES, embedded_tiles

        embedded = embedded_tiles(offline_tiles, offline_zooms, offline_max_bytes or EMBED_MAX_BYTES)
        if embedded["datum"] == "gcj02":
            offset = "gcj02"
    report(0.0, tr("准备导出网页地图", "Preparing the HTML map"))

    specs = []
    for i, layer in enumerate(layers):
        report(0.05 + 0.75 * i / len(layers), tr(f"正在写出图层：{layer.name}", f"Writing layer: {layer.name}"))
        if isinstance(layer, VectorLayer):
            specs.append(vector_spec(layer, i, project.map_crs, offset=offset, cluster_min=cluster_min,
                                     simplify_m=simplify_m, heatmap=heatmap, include_personal=include_personal))
        else:
            specs.append(raster_spec(layer, i, offset=offset, max_px=raster_max_px))
    report(0.8, tr("正在生成网页", "Building the page"))
    bounds = _view_bounds(project, specs, offset)
    doc = {
        "title": html.escape(title),
        "groups": _group_labels(),
        "layers": specs,
        "bounds": bounds,
        "tiles": ([{"name": html.escape(embedded["name"]), "embedded": embedded["tiles"],
                    "attribution": html.escape(embedded["attribution"]), "minZoom": embedded["minZoom"],
                    "maxNativeZoom": embedded["maxZoom"], "maxZoom": 18}] if embedded else [])
        + _tile_specs(basemap, token),
        "ui": _ui_texts(),
    }
    legend_html = render_legend(specs)
    footer_html = render_footer(project, layers, basemap, approval_number=approval_number)
    if embed_font:
        report(0.85, tr("正在嵌入中文字体", "Embedding the Chinese font"))
    page = render_page(doc, legend_html, footer_html, title, embed_font=embed_font)
    report(0.95, tr("正在写入文件", "Writing the file"))
    try:
        with atomic_path(out_path) as tmp:
            Path(tmp).write_text(page, encoding="utf-8")
    except OSError as exc:
        raise DataFormatError(tr(f"无法写入网页地图（{exc.strerror or exc}），请选择其他文件夹",
                                 f"cannot write the HTML map ({exc.strerror or exc}); choose another folder"),
                              out_path) from exc
    report(1.0, tr("网页地图已导出", "HTML map exported"))
    return out_path


# ---------------------------------------------------------------------------
# vector layers
# ---------------------------------------------------------------------------
def is_empty_layer(layer) -> bool:
    """Whether a vector layer has no feature with a geometry to draw (such layers are not listed in the page)."""
    if not isinstance(layer, VectorLayer):
        return False
    geoms = np.asarray(layer.gdf.geometry.values)
    return len(geoms) == 0 or bool(np.all(shapely.is_missing(geoms) | shapely.is_empty(geoms)))


def _layer_kind(layer: VectorLayer) -> str:
    t = layer.geom_type
    if t == "Point":
        return "point"
    if t in ("LineString", "LinearRing"):
        return "line"
    if t == "Polygon":
        return "polygon"
    return "point" if t == "Unknown" else "polygon"


def _lonlat_geoms(layer: VectorLayer, map_crs) -> np.ndarray:
    geoms = np.asarray(layer.display_geoms)
    if not (crs_policy.parse_crs(map_crs).is_geographic and crs_policy.parse_crs(map_crs).equals(
            crs_policy.MAP_CRS, ignore_axis_order=True)):
        geoms = np.asarray(crs_policy.transform_geometries(geoms, map_crs, crs_policy.WGS84))
    return geoms


def simplify_tolerance(geoms_metric: np.ndarray, kind: str, simplify_m: float | None) -> float:
    """Simplification tolerance (m) for a layer: given, or 0.05 % of its median feature size (1–10 m)."""
    if kind == "point":
        return 0.0
    if simplify_m is not None:
        return max(float(simplify_m), 0.0)
    b = shapely.bounds(geoms_metric)
    size = np.hypot(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])
    size = size[np.isfinite(size)]
    if size.size == 0:
        return SIMPLIFY_MIN_M
    return float(np.clip(SIMPLIFY_FRACTION * np.median(size), SIMPLIFY_MIN_M, SIMPLIFY_MAX_M))


def _simplify(geoms: np.ndarray, kind: str, simplify_m: float | None) -> tuple[np.ndarray, float]:
    if kind == "point":
        return geoms, 0.0
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not ok.any():
        return geoms, 0.0
    metric = crs_policy.metric_crs_for_bounds(shapely.total_bounds(geoms[ok]), crs_policy.WGS84)
    g_m = np.asarray(crs_policy.transform_geometries(geoms[ok], crs_policy.WGS84, metric))
    tol = simplify_tolerance(g_m, kind, simplify_m)
    if tol <= 0:
        return geoms, 0.0
    g_m = shapely.simplify(g_m, tol, preserve_topology=True)
    out = geoms.copy()
    out[ok] = crs_policy.transform_geometries(g_m, metric, crs_policy.WGS84)
    return out, tol


def encode_geometries(geoms: np.ndarray, kind: str, decimals: int) -> dict:
    """Compact, delta-encoded integer coordinates of a geometry array (whole-array numpy).

    Returns ``{"d": decimals, "c": ..., "n": ...}`` where ``c`` holds the integers
    ``lon0, lat0, dlon1, dlat1, ...`` (zigzag varints in base64, :func:`varints_b64`; a list when
    :data:`BINARY_COORDINATES` is off) whose running sum × 10^-d gives lon/lat pairs, and the count arrays give the
    structure: points ``pf`` (points per feature, omitted when all 1); lines ``vl``
    (vertices per line), ``lf`` (lines per feature); polygons ``vr`` (vertices per ring,
    closing vertex dropped), ``rp`` (rings per polygon), ``pf`` (polygons per feature).
    """
    n = len(geoms)
    geoms = np.where(shapely.is_missing(geoms), shapely.from_wkt("GEOMETRYCOLLECTION EMPTY"), geoms)
    parts, feat_idx = shapely.get_parts(geoms, return_index=True)
    types = shapely.get_type_id(parts)
    wanted = {"point": (0,), "line": (1, 2), "polygon": (3,)}[kind]
    keep = np.isin(types, wanted) & ~shapely.is_empty(parts)
    parts, feat_idx = parts[keep], feat_idx[keep]
    per_feature = np.bincount(feat_idx, minlength=n).astype(np.int64)
    out: dict = {"d": int(decimals), "n": int(n)}
    if kind == "polygon":
        rings, poly_idx = shapely.get_rings(parts, return_index=True)
        coords, ring_idx = shapely.get_coordinates(rings, return_index=True)
        lengths = np.bincount(ring_idx, minlength=len(rings))
        last = np.cumsum(lengths) - 1
        drop = np.zeros(len(coords), bool)
        drop[last[lengths > 0]] = True  # rings repeat their first vertex; Leaflet closes them itself
        coords = coords[~drop]
        out["vr"] = (lengths - (lengths > 0)).tolist()
        out["rp"] = np.bincount(poly_idx, minlength=len(parts)).tolist()
        out["pf"] = per_feature.tolist()
    elif kind == "line":
        coords, line_idx = shapely.get_coordinates(parts, return_index=True)
        out["vl"] = np.bincount(line_idx, minlength=len(parts)).tolist()
        out["lf"] = per_feature.tolist()
    else:
        coords = shapely.get_coordinates(parts)
        if not np.all(per_feature == 1):
            out["pf"] = per_feature.tolist()
    q = np.round(coords * 10 ** decimals).astype(np.int64).reshape(-1)
    if q.size:
        q[2:] = q[2:] - q[:-2]
    out["c"] = varints_b64(q) if BINARY_COORDINATES else q.tolist()
    return out


def varints_b64(values: np.ndarray) -> str:
    """Integers as zigzag LEB128 varints, base64 (whole-array numpy).

    Coordinate deltas of a few hundred units take two bytes instead of four or five characters of
    JSON, and the page reads them with ``atob`` into typed arrays, never a JS array of numbers.
    """
    import base64

    v = np.asarray(values, dtype=np.int64).reshape(-1)
    z = ((v << 1) ^ (v >> 63)).astype(np.uint64)  # zigzag: 0, -1, 1, -2 … → 0, 1, 2, 3 …
    nbytes = np.ones(len(z), dtype=np.int64)
    for k in range(1, 10):
        nbytes += z >= np.uint64(1 << (7 * k))
    start = np.cumsum(nbytes) - nbytes
    out = np.empty(int(nbytes.sum()), dtype=np.uint8)
    for k in range(int(nbytes.max()) if len(z) else 0):
        has = nbytes > k
        low = (z[has] >> np.uint64(7 * k)) & np.uint64(0x7F)
        more = (nbytes[has] > k + 1).astype(np.uint64) << np.uint64(7)
        out[start[has] + k] = (low | more).astype(np.uint8)
    return base64.b64encode(out.tobytes()).decode("ascii")


def read_varints_b64(text: str) -> np.ndarray:
    """Inverse of :func:`varints_b64` (for tests and tools)."""
    import base64

    raw = np.frombuffer(base64.b64decode(text), dtype=np.uint8)
    if raw.size == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.flatnonzero(raw < 0x80)
    starts = np.concatenate([[0], ends[:-1] + 1])
    which = np.repeat(np.arange(len(ends)), ends - starts + 1)
    shift = (np.arange(len(raw)) - starts[which]).astype(np.uint64) * np.uint64(7)
    z = np.zeros(len(ends), dtype=np.uint64)
    np.add.at(z, which, (raw & 0x7F).astype(np.uint64) << shift)
    return ((z >> np.uint64(1)).astype(np.int64) ^ -(z & np.uint64(1)).astype(np.int64))


def _format_column(values: pd.Series, labels: dict | None) -> list[str]:
    """Display strings (HTML-escaped) of one attribute column."""
    if pd.api.types.is_datetime64_any_dtype(values):
        text = values.dt.strftime("%Y-%m-%d").fillna("")
    elif pd.api.types.is_bool_dtype(values):
        text = values.map({True: tr("是", "yes"), False: tr("否", "no")}).fillna("")
    elif pd.api.types.is_numeric_dtype(values):
        arr = values.to_numpy(dtype=float, na_value=np.nan)
        finite = np.isfinite(arr)
        is_int = finite & (np.abs(arr - np.round(arr)) < 1e-9) & (np.abs(arr) < 1e15)
        text = pd.Series(np.where(finite, np.char.mod("%.6g", np.where(finite, arr, 0.0)), ""), index=values.index)
        text[is_int] = np.char.mod("%d", np.round(arr[is_int]).astype(np.int64))
    else:
        text = values.astype(object).where(values.notna(), "").astype(str)
    if labels:
        str_labels = {str(k): str(v) for k, v in labels.items()}
        text = text.map(lambda v: str_labels.get(v, v))
    return [html.escape(v, quote=True) for v in text.tolist()]


def _encode_column(strings: list[str]):
    """A column as a plain list, or ``{"k": distinct values, "i": index per feature}`` when it repeats."""
    codes, uniques = pd.factorize(pd.Series(strings, dtype=object), sort=False)
    if len(uniques) * 3 < len(strings):
        return {"k": [str(u) for u in uniques], "i": codes.tolist()}
    return strings


def _label_points(geoms: np.ndarray, kind: str) -> np.ndarray:
    if kind == "polygon":
        # an interior point (GEOS takes it on the widest part): a centroid can fall outside
        return shapely.point_on_surface(geoms)
    if kind == "line":
        return shapely.line_interpolate_point(geoms, 0.5, normalized=True)
    return shapely.centroid(geoms)


def vector_spec(layer: VectorLayer, index: int, map_crs=crs_policy.MAP_CRS, *, offset=None,
                cluster_min=CLUSTER_MIN_FEATURES, simplify_m=None, heatmap=True, include_personal=False) -> dict:
    """The page's description of one vector layer: style, legend, the popup fields
    (:func:`riskmap.exports.popups.choose_fields`: chosen, named, rounded, no personal data unless
    ``include_personal``), geometry and labels."""
    gdf = layer.gdf
    kind = _layer_kind(layer)
    geoms = _lonlat_geoms(layer, map_crs)
    geoms, tol = _simplify(geoms, kind, simplify_m)
    if offset:
        geoms = np.asarray(crs_policy.wgs84_geometries_to_offset(geoms, offset))
    decimals = POINT_DECIMALS if kind == "point" else LINE_DECIMALS
    style = layer.style
    colors = np.asarray(layer.feature_colors(), dtype=object).astype(str)
    palette, color_idx = np.unique(colors, return_inverse=True)
    all_fields = [c for c in gdf.columns if c != gdf.geometry.name]
    chosen = choose_fields(layer, include_personal=include_personal)
    fields = [pf.field for pf in chosen]
    columns = [_encode_column(format_values(gdf[pf.field], pf, include_personal)) for pf in chosen]
    name_field = _name_field(layer, fields)
    spec = {
        "id": html.escape(str(layer.id)),
        "index": index,
        "type": "vector",
        "kind": kind,
        "name": html.escape(layer.name),
        "group": layer.group if layer.group in ("base", "hazards", "analysis") else "hazards",
        "count": int(len(gdf)),
        "opacity": float(layer.opacity),
        "style": {
            "stroke": _css_color(style.stroke), "width": float(style.width), "size": float(style.size),
            "fillOpacity": float(style.fill_opacity), "symbol": style.symbol if style.symbol in
            POINT_SYMBOLS else "circle", "dash": bool(style.dash),
        },
        "palette": [_css_color(c) for c in palette.tolist()],
        "legend": [[html.escape(str(label)), _css_color(color)] for label, color in style.legend()],
        "ci": color_idx.astype(int).tolist() if len(palette) > 1 else None,
        "fields": [html.escape(str(f)) for f in fields],
        "aliases": [html.escape(pf.label) for pf in chosen],
        "cols": columns,
        "nameCol": fields.index(name_field) if name_field in fields else None,
        "geom": encode_geometries(geoms, kind, decimals),
        "simplifyM": tol,
        "cluster": bool(kind == "point" and cluster_min < len(gdf) <= CLUSTER_MAX_FEATURES),
        "heat": bool(heatmap and kind == "point" and ({"deaths", "injuries"} & set(all_fields))),
    }
    label_field = style.label_field
    if label_field and label_field in gdf.columns and not include_personal and (
            is_personal_name(label_field, (layer.aliases or {}).get(label_field)) or looks_personal(gdf[label_field])):
        label_field = None  # a personal field never labels the map unless asked for
    if label_field and label_field in gdf.columns and 0 < len(gdf) <= LABEL_MAX_FEATURES:
        pts = _label_points(geoms, kind)
        ok = ~(shapely.is_missing(pts) | shapely.is_empty(pts))
        xy = np.full((len(pts), 2), np.nan)
        xy[ok] = shapely.get_coordinates(pts[ok])
        text = _format_column(gdf[label_field], None)
        if not include_personal:
            text = [html.escape(redact(html.unescape(t)), quote=True) for t in text]
        rank = _label_rank(layer, geoms, kind)
        spec["labels"] = [[round(float(xy[i, 1]), 5), round(float(xy[i, 0]), 5), text[i]]
                          for i in rank if ok[i] and text[i]]
        # clustered points are labelled once the clusters open; the page places labels greedily in this order
        spec["labelMinZoom"] = 14 if spec["cluster"] else None
    return spec


def _label_rank(layer: VectorLayer, geoms: np.ndarray, kind: str) -> np.ndarray:
    """Feature order in which the page places labels (first wins a collision): larger polygons and longer
    lines first; points by a declared rank (``priority`` ascending, else ``score`` descending), else in order."""
    n = len(geoms)
    if kind == "polygon":
        size = np.nan_to_num(shapely.area(geoms), nan=0.0)
        return np.argsort(-size, kind="stable")
    if kind == "line":
        size = np.nan_to_num(shapely.length(geoms), nan=0.0)
        return np.argsort(-size, kind="stable")
    gdf = layer.gdf
    for fname, ascending in (("priority", True), ("score", False)):
        if fname in gdf.columns and pd.api.types.is_numeric_dtype(gdf[fname]):
            key = gdf[fname].to_numpy(dtype=float, na_value=np.nan)
            key = np.where(np.isfinite(key), key if ascending else -key, np.inf)
            return np.argsort(key, kind="stable")
    return np.arange(n)


def _name_field(layer: VectorLayer, fields: list[str]) -> str | None:
    return name_field(layer, fields)


def _css_color(value) -> str:
    """A colour safe to put in a style attribute (hex or rgb(a); anything else → grey)."""
    text = str(value).strip()
    if re.fullmatch(r"#[0-9a-fA-F]{3,8}", text) or re.fullmatch(r"rgba?\([0-9.,\s%]+\)", text):
        return text
    if re.fullmatch(r"[a-zA-Z]{3,20}", text):
        return text.lower()
    return "#888888"


# ---------------------------------------------------------------------------
# raster layers
# ---------------------------------------------------------------------------
def png_bytes(rgba: np.ndarray, colour_bits: int = 8) -> bytes:
    """Encode an ``(h, w, 4)`` uint8 array as PNG: palette + tRNS when it has ≤ 256 colours, else RGBA.

    ``colour_bits`` < 8 drops the low bits of RGB in RGBA images (e.g. 6: 64 levels per channel,
    invisible on a translucent hillshade overlay and about 40 % smaller).
    """
    rgba = np.ascontiguousarray(rgba, dtype=np.uint8)
    h, w = rgba.shape[:2]
    packed = rgba.view(np.uint32).reshape(h, w)
    uniques, inverse = np.unique(packed, return_inverse=True)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    if len(uniques) <= 256:
        colors = uniques.view(np.uint8).reshape(-1, 4)
        rows = inverse.reshape(h, w).astype(np.uint8)
        header = struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 0)
        body = chunk(b"PLTE", colors[:, :3].tobytes()) + chunk(b"tRNS", colors[:, 3].tobytes())
        data = zlib.compress(np.hstack([np.zeros((h, 1), np.uint8), rows]).tobytes(), 9)
    else:
        if colour_bits < 8:
            drop = 8 - int(colour_bits)
            rgba = rgba.copy()
            rgba[..., :3] = (rgba[..., :3] >> drop) << drop
        rows = rgba.reshape(h, w * 4)
        up = rows.copy()
        up[1:] = rows[1:] - rows[:-1]
        sub = rows.copy()
        sub[:, 4:] = rows[:, 4:] - rows[:, :-4]
        # one PNG filter for the whole image (None, Sub or Up): whichever compresses best
        data = min((zlib.compress(np.hstack([np.full((h, 1), ftype, np.uint8), filtered]).tobytes(), 6)
                    for ftype, filtered in ((0, rows), (1, sub), (2, up))), key=len)
        header = struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)
        body = b""
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + body + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def raster_spec(layer: RasterLayer, index: int, *, offset=None, max_px: int = 900) -> dict:
    """The page's description of one raster layer: a PNG image overlay in Web Mercator."""
    import base64

    minx, miny, maxx, maxy = layer.extent(_WEB_MERCATOR)
    native = max(layer.shape) if getattr(layer, "shape", None) else max_px
    long_side = int(max(16, min(max_px, native)))
    span_x, span_y = maxx - minx, maxy - miny
    if span_x >= span_y:
        w, h = long_side, max(1, int(round(long_side * span_y / span_x)))
    else:
        h, w = long_side, max(1, int(round(long_side * span_x / span_y)))
    rgba = layer.render_rgba((minx, miny, maxx, maxy), w, h, crs=_WEB_MERCATOR)
    lons, lats = crs_policy.transform_xy([minx, maxx], [miny, maxy], _WEB_MERCATOR, crs_policy.WGS84)
    lons, lats = np.asarray(lons, float), np.asarray(lats, float)
    if offset:
        clon, clat = float(lons.mean()), float(lats.mean())
        glon, glat = crs_policy.wgs84_to_gcj02(np.array([clon]), np.array([clat]))
        lons, lats = lons + (float(glon[0]) - clon), lats + (float(glat[0]) - clat)
    legend = layer.style.legend()
    ramp = _raster_ramp(layer)
    stats = layer.statistics() if hasattr(layer, "statistics") else (None, None)
    vmin = layer.style.vmin if layer.style.vmin is not None else stats[0]
    vmax = layer.style.vmax if layer.style.vmax is not None else stats[1]
    return {
        "id": html.escape(str(layer.id)), "index": index, "type": "raster", "kind": "raster",
        "name": html.escape(layer.name),
        "group": layer.group if layer.group in ("base", "hazards", "analysis") else "base",
        "count": 1, "opacity": float(layer.opacity),
        "bounds": [[round(float(lats[0]), 6), round(float(lons[0]), 6)],
                   [round(float(lats[1]), 6), round(float(lons[1]), 6)]],
        "png": "data:image/png;base64," + base64.b64encode(png_bytes(rgba, colour_bits=6)).decode("ascii"),
        "ramp": ramp, "legend": [[html.escape(a), _css_color(b)] for a, b in legend],
        "range": [_num(vmin), _num(vmax)],
        "size": [w, h],
    }


def _num(v):
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return round(v, 6) if np.isfinite(v) else None


def _raster_ramp(layer: RasterLayer) -> list[str]:
    from riskmap.layers.style import hex_ramp

    return hex_ramp(layer.style.ramp, 7)


# ---------------------------------------------------------------------------
# page parts
# ---------------------------------------------------------------------------
def _view_bounds(project, specs, offset) -> list | None:
    extent = project.extent or project.full_extent()
    if extent is None:
        return None
    minx, miny, maxx, maxy = extent
    if not crs_policy.parse_crs(project.map_crs).equals(crs_policy.MAP_CRS, ignore_axis_order=True):
        xs, ys = crs_policy.transform_xy([minx, maxx, minx, maxx], [miny, miny, maxy, maxy], project.map_crs,
                                         crs_policy.WGS84)
        minx, maxx, miny, maxy = min(xs), max(xs), min(ys), max(ys)
    if offset:
        xs, ys = crs_policy.wgs84_to_gcj02(np.array([minx, maxx]), np.array([miny, maxy]))
        minx, maxx, miny, maxy = float(xs[0]), float(xs[1]), float(ys[0]), float(ys[1])
    if not np.all(np.isfinite([minx, miny, maxx, maxy])):
        return None
    return [[round(miny, 6), round(minx, 6)], [round(maxy, 6), round(maxx, 6)]]


def _swatch(kind: str, color: str, spec: dict) -> str:
    st = spec.get("style", {})
    stroke = st.get("stroke", "#333333")
    if kind == "line":
        dash = " rm-dash" if st.get("dash") else ""
        return f'<span class="rm-sw rm-sw-line{dash}" style="border-top-color:{color}"></span>'
    if kind == "polygon":
        return (f'<span class="rm-sw rm-sw-poly" style="background:{color};border-color:{stroke};'
                f'opacity:{max(0.35, min(1.0, st.get("fillOpacity", 0.35) + 0.3)):.2f}"></span>')
    symbol = st.get("symbol", "circle")
    border = color if symbol == "ring" else stroke
    return f'<span class="rm-sw rm-sw-pt rm-sym-{symbol}" style="background:{color};border-color:{border}"></span>'


def render_legend(specs: list[dict]) -> str:
    """Static legend HTML: one section per layer, top layer first (all text escaped)."""
    sections = []
    for spec in reversed(specs):
        items = []
        if spec["type"] == "raster":
            ramp = ", ".join(spec["ramp"])
            lo, hi = spec["range"]
            lo_t = html.escape(f"{lo:.4g}") if lo is not None else tr("低", "low")
            hi_t = html.escape(f"{hi:.4g}") if hi is not None else tr("高", "high")
            items.append(f'<div class="rm-ramp"><span class="rm-ramp-bar" style="background:linear-gradient('
                         f'to right,{ramp})"></span><span class="rm-ramp-lo">{lo_t}</span>'
                         f'<span class="rm-ramp-hi">{hi_t}</span></div>')
        else:
            for label, color in spec.get("legend", []):
                items.append(f'<div class="rm-item">{_swatch(spec["kind"], color, spec)}<span>{label}</span></div>')
        if spec["type"] == "vector" and not spec.get("legend"):
            color = spec["palette"][0] if spec["palette"] else "#888888"
            sections.append(f'<div class="rm-leg rm-leg-single" data-layer="{spec["id"]}">'
                            f'{_swatch(spec["kind"], color, spec)}<span class="rm-leg-name">{spec["name"]}</span>'
                            f'<span class="rm-count">{spec["count"]}</span></div>')
            continue
        count = f'<span class="rm-count">{spec["count"]}</span>' if spec["type"] == "vector" else ""
        sections.append(f'<div class="rm-leg" data-layer="{spec["id"]}"><div class="rm-leg-title">'
                        f'<span class="rm-leg-name">{spec["name"]}</span>{count}</div>'
                        f'<div class="rm-items">{"".join(items)}</div></div>')
    return (f'<div id="riskmap-legend" class="rm-legend"><div class="rm-legend-head">{tr("图例", "Legend")}</div>'
            + "".join(sections) + "</div>")


def render_footer(project, layers, basemap: str, approval_number: str | None = None) -> str:
    """Footer HTML: data sources, date, CRS, approval number (审图号), software, and where each analysis
    result shown came from (its provenance: inputs with sha256, standards, time) — all escaped."""
    sources = (project.extras or {}).get("data_sources")
    if not sources:
        names = [Path(str(layer.source)).name for layer in layers if getattr(layer, "source", None)]
        sources = "、".join(dict.fromkeys(names)) or tr("用户数据", "user data")
    if basemap != "none":
        sources += "；" + tr("底图：", "base map: ") + {"osm": "OpenStreetMap", "tianditu": "天地图",
                                                     "amap": "高德地图"}[basemap]
    crs_name = crs_policy.parse_crs(project.map_crs).name
    epsg = crs_policy.parse_crs(project.map_crs).to_epsg()
    crs_text = f"{crs_name} (EPSG:{epsg})" if epsg else crs_name
    if basemap == "amap":
        crs_text += tr("；显示已偏移至 GCJ-02 以配合高德底图", "; shown shifted to GCJ-02 to match AMap tiles")
    approval = str(approval_number if approval_number is not None else (project.approval_number or "")).strip() \
        or tr("（待填写）", "(to be filled in)")
    today = _dt.date.today().isoformat()
    parts = [
        (tr("数据来源", "Data sources"), sources),
        (tr("制图日期", "Date"), today),
        (tr("坐标系", "CRS"), crs_text),
        (tr("审图号", "Map approval No."), approval),
        (tr("制图", "Made with"), f"riskmap {__version__}"),
    ]
    body = "".join(f'<span class="rm-foot-item"><b>{html.escape(k)}：</b><span class="rm-foot-{i}">'
                   f'{html.escape(str(v))}</span></span>' for i, (k, v) in enumerate(parts))
    runs = "".join(f'<div class="rm-foot-provenance">{html.escape(provenance_line(record))}</div>'
                   for record in layers_provenance(layers))
    if runs:
        body += f'<div class="rm-foot-runs"><b>{html.escape(tr("结果来源", "Results from"))}：</b>{runs}</div>'
    return f'<div id="riskmap-footer" class="rm-footer">{body}</div>'


def _ui_texts() -> dict:
    return {
        "layers": tr("图层", "Layers"), "fullscreen": tr("全屏", "Full screen"),
        "exitFullscreen": tr("退出全屏", "Exit full screen"), "heat": tr("热力图", "heat map"),
        "noBase": tr("无底图", "No base map"), "features": tr("要素", "features"),
        "measureLocale": "cn" if tr("zh", "en") == "zh" else "en",
    }


def _read_page_asset(name: str) -> str:
    return resources.files("riskmap.exports").joinpath("page", name).read_text(encoding="utf-8")


def _json_for_script(doc) -> str:
    """JSON safe inside a ``<script>`` element (no ``</script>``, no ``<!--``)."""
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e") \
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def render_page(doc: dict, legend_html: str, footer_html: str, title: str, *, embed_font: bool = True) -> str:
    """The complete HTML document (assets inlined)."""
    bundles = ["leaflet", "groupedlayers", "measure", "fullscreen"]
    if any(s.get("cluster") for s in doc["layers"]):
        bundles.append("markercluster")
    if any(s.get("heat") for s in doc["layers"]):
        bundles.append("heat")
    css_list, js_list = assets.bundle(*bundles)
    page_css = _read_page_asset("meeting_map.css")
    page_js = _read_page_asset("meeting_map.js")
    data_json = _json_for_script(doc)
    title_html = f'<div id="riskmap-title" class="rm-title">{html.escape(title)}</div>'
    font_css = ""
    if embed_font:
        text = "".join([title, html.unescape(legend_html), html.unescape(footer_html), html.unescape(data_json),
                        page_js, json.dumps(doc["ui"], ensure_ascii=False), _MEASURE_CN_TEXT])
        font_css = assets.font_face_css(text)
    head_scripts = "".join(f"<script>{js}</script>\n" for js in js_list)
    styles = "".join(f"<style>{css}</style>\n" for css in css_list)
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="riskmap {html.escape(__version__)}">
<title>{html.escape(title)}</title>
<script>{_ERROR_HOOK}</script>
{styles}<style>{font_css}</style>
<style>{page_css}</style>
{head_scripts}</head>
<body>
<div id="rm-page">
<div id="map" class="rm-map"></div>
{footer_html}
</div>
{title_html}
{legend_html}
<div id="riskmap-status" hidden data-ready="0"></div>
<pre id="riskmap-errors" hidden></pre>
<script type="application/json" id="{_DATA_ELEMENT_ID}">{data_json}</script>
<script>{page_js}</script>
</body>
</html>
"""


#: Records script and resource errors into #riskmap-errors (read by tests and support).
_ERROR_HOOK = (
    "window.__riskmapErrors=[];window.addEventListener('error',function(e){var t=e&&e.message?e.message:"
    "('resource failed: '+((e&&e.target&&(e.target.src||e.target.href))||'?'));window.__riskmapErrors.push("
    "String(t)+(e&&e.filename?' @'+e.filename+':'+e.lineno:''));var el=document.getElementById("
    "'riskmap-errors');if(el){el.textContent=window.__riskmapErrors.join('\\n');}},true);"
)

#: Chinese strings of leaflet-measure's "cn" locale (so the embedded font covers them).
_MEASURE_CN_TEXT = ("测量同时测量距离和面积开始一次新的测量点击地图加点以开始创建测量完成测量最后点的坐标面积周长点的坐标"
                    "面积测量距离测量路径长度该面积居中该线段居中该点居中取消删除英亩英尺千米公顷米英里平方英尺平方米"
                    "平方英里")


def read_page_data(page_text: str) -> dict:
    """The data document embedded in an exported page (for tests and tools)."""
    start_tag = f'<script type="application/json" id="{_DATA_ELEMENT_ID}">'
    start = page_text.index(start_tag) + len(start_tag)
    end = page_text.index("</script>", start)
    return json.loads(page_text[start:end])


def decode_coordinates(geom: dict) -> np.ndarray:
    """Inverse of the coordinate encoding of :func:`encode_geometries`: ``(n, 2)`` lon/lat."""
    c = geom["c"]
    c = (read_varints_b64(c) if isinstance(c, str) else np.asarray(c, dtype=np.int64)).reshape(-1, 2)
    return np.cumsum(c, axis=0) / 10 ** geom["d"]
