"""KML/KMZ for field teams (奥维互动地图, 高德, Google Earth): a styled writer and riskmap's own reader.

The writer puts each feature in a ``Placemark`` with a Chinese name and description, its
attributes typed in a ``Schema``/``SchemaData`` (so GDAL and other readers get the fields), and
a style: road hazard segments (columns ``kind`` and ``status``) are coloured by kind, and the
status sets the width and opacity (已销号 faded); other layers take one colour. Text goes
through the XML serializer, so ``<``, ``&`` and quotes in names are escaped.

Coordinates are longitude/latitude, WGS84 (= CGCS2000 to a few cm) by default. With
``gcj02=True`` they are shifted to GCJ-02 (the "Mars" coordinates of AMap/Ovital base maps,
:func:`riskmap.crs.wgs84_to_gcj02`) and the file says so three times: the document name
ends with "（GCJ-02 坐标）", the description explains it, and the document's ExtendedData
carries ``riskmap:coordinates = GCJ-02``. :func:`read_kml` reads that marker back and
un-shifts, so an export → import round trip returns the same geometry.
"""
from __future__ import annotations

import io as _io
import math
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import numpy as np

from riskmap import crs as crs_policy
from riskmap.errors import DataFormatError
from riskmap.i18n import tr

KML_NS = "http://www.opengis.net/kml/2.2"
#: Document ExtendedData key naming the coordinate system of the file (``WGS84`` or ``GCJ-02``).
MARKER = "riskmap:coordinates"
#: Digits of the coordinates (1e-8 degree is about 1 mm).
DIGITS = 8

#: Hazard kinds: colour (#rrggbb) and Chinese name (the map colours of the register).
HAZARD_KINDS = {"sharp_bend": ("#e41a1c", "急弯"), "steep_grade": ("#ff7f00", "陡坡"),
                "near_water": ("#1f78b4", "临水"), "near_cliff": ("#6a3d9a", "临崖"),
                "black_spot": ("#111111", "事故多发点段")}
#: Register statuses: line width, opacity (0–255) and Chinese name.
HAZARD_STATUSES = {"identified": (4.0, 255, "排查"), "filed": (5.0, 255, "建档"),
                   "rectifying": (6.0, 255, "整改中"), "closed": (3.0, 110, "已销号")}


def kml_colour(hex_rgb: str, alpha: int = 255) -> str:
    """``#rrggbb`` as KML's ``aabbggrr``."""
    h = hex_rgb.lstrip("#")
    if len(h) != 6:
        h = "e41a1c"
    return f"{alpha:02x}{h[4:6]}{h[2:4]}{h[0:2]}".lower()


def _is_register(gdf) -> bool:
    return {"kind", "status"} <= set(gdf.columns) and gdf["kind"].isin(list(HAZARD_KINDS)).all() \
        and gdf["status"].isin(list(HAZARD_STATUSES)).all()


def _field_type(series) -> str:
    import pandas as pd

    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_integer_dtype(series):
        return "int"
    if pd.api.types.is_float_dtype(series):
        return "double"
    return "string"


def _text(value, kind: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if kind == "bool":
        return "1" if bool(value) else "0"
    if kind == "double":
        return repr(float(value))
    if kind == "int":
        return str(int(value))
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def _coords(xy) -> str:
    return " ".join(f"{x:.{DIGITS}f},{y:.{DIGITS}f}" for x, y in xy)


def _geometry(parent, geom) -> None:
    import shapely

    kind = shapely.get_type_id(geom)
    if kind == 0:
        ET.SubElement(ET.SubElement(parent, "Point"), "coordinates").text = _coords(shapely.get_coordinates(geom))
    elif kind == 1:
        line = ET.SubElement(parent, "LineString")
        ET.SubElement(line, "tessellate").text = "1"
        ET.SubElement(line, "coordinates").text = _coords(shapely.get_coordinates(geom))
    elif kind == 3:
        poly = ET.SubElement(parent, "Polygon")
        outer = ET.SubElement(ET.SubElement(poly, "outerBoundaryIs"), "LinearRing")
        ET.SubElement(outer, "coordinates").text = _coords(shapely.get_coordinates(geom.exterior))
        for ring in geom.interiors:
            inner = ET.SubElement(ET.SubElement(poly, "innerBoundaryIs"), "LinearRing")
            ET.SubElement(inner, "coordinates").text = _coords(shapely.get_coordinates(ring))
    elif kind in (4, 5, 6, 7):
        multi = ET.SubElement(parent, "MultiGeometry")
        for part in shapely.get_parts(geom):
            _geometry(multi, part)
    else:
        raise DataFormatError(tr(f"KML 无法写入该几何类型（{geom.geom_type}）", f"KML cannot hold {geom.geom_type}"))


def kml_document(gdf, name: str, *, gcj02: bool = False, aliases: dict | None = None, colour: str = "#e41a1c",
                 name_field: str | None = None) -> bytes:
    """The KML (UTF-8 bytes) of a layer; see the module docstring for styling and GCJ-02.

    Parameters
    ----------
    gdf : GeoDataFrame
        Any CRS (transformed to longitude/latitude).
    name : str
        Document name (the layer name).
    gcj02 : bool
        Shift the coordinates to GCJ-02 for AMap/Ovital base maps (labelled in the file).
    aliases : dict, optional
        Display names of the fields (Chinese headers) used in the descriptions.
    colour : str
        Line/fill colour of layers that are not a hazard register.
    name_field : str, optional
        Field giving each placemark's name (default: kind + chainage for the register, else
        ``name``/``名称``, else the layer name and row number).
    """
    import shapely

    if gdf.crs is None:
        raise DataFormatError(tr("图层没有坐标系，无法导出 KML", "the layer has no CRS; KML needs one"))
    geoms = crs_policy.transform_geometries(np.asarray(gdf.geometry.values, dtype=object), gdf.crs,
                                            crs_policy.WGS84)
    if gcj02:
        geoms = crs_policy.wgs84_geometries_to_offset(geoms, "gcj02")
    aliases = dict(aliases or {})
    register = _is_register(gdf)
    fields = [c for c in gdf.columns if c != gdf.geometry.name]
    types = {c: _field_type(gdf[c]) for c in fields}
    label = tr("（GCJ-02 坐标）", " (GCJ-02 coordinates)") if gcj02 else ""
    root = ET.Element("kml", xmlns=KML_NS)
    doc = ET.SubElement(root, "Document", id="riskmap")
    ET.SubElement(doc, "name").text = f"{name}{label}"
    if gcj02:
        desc = tr("坐标：GCJ-02（火星坐标），供奥维互动地图、高德地图等使用；不是 WGS84/CGCS2000，"
                  "用于测量或与 CGCS2000 数据叠加前须转换回去。由 riskmap 导出。",
                  "Coordinates: GCJ-02 (the 'Mars' offset of AMap/Ovital maps), not WGS84/CGCS2000; convert "
                  "back before surveying or overlaying CGCS2000 data. Written by riskmap.")
    else:
        desc = tr("坐标：WGS84 经纬度（与 CGCS2000 相差几厘米）。由 riskmap 导出。",
                  "Coordinates: WGS84 longitude/latitude (within a few cm of CGCS2000). Written by riskmap.")
    ET.SubElement(doc, "description").text = desc
    ext = ET.SubElement(ET.SubElement(doc, "ExtendedData"), "Data", name=MARKER)
    ET.SubElement(ext, "value").text = "GCJ-02" if gcj02 else "WGS84"
    schema = ET.SubElement(doc, "Schema", name="riskmap_fields", id="riskmap_fields")
    for c in fields:
        ET.SubElement(schema, "SimpleField", name=str(c), type=types[c])

    if register:
        for kind, (hex_rgb, _zh) in HAZARD_KINDS.items():
            for status, (width, alpha, _szh) in HAZARD_STATUSES.items():
                style = ET.SubElement(doc, "Style", id=f"{kind}_{status}")
                line = ET.SubElement(style, "LineStyle")
                ET.SubElement(line, "color").text = kml_colour(hex_rgb, alpha)
                ET.SubElement(line, "width").text = f"{width:g}"
    else:
        style = ET.SubElement(doc, "Style", id="layer")
        line = ET.SubElement(style, "LineStyle")
        ET.SubElement(line, "color").text = kml_colour(colour)
        ET.SubElement(line, "width").text = "3"
        poly = ET.SubElement(style, "PolyStyle")
        ET.SubElement(poly, "color").text = kml_colour(colour, 90)
        icon = ET.SubElement(style, "IconStyle")
        ET.SubElement(icon, "color").text = kml_colour(colour)

    folder = ET.SubElement(doc, "Folder")
    ET.SubElement(folder, "name").text = name
    if name_field is None and not register:
        name_field = next((c for c in ("name", "名称", "NAME", "Name") if c in fields), None)
    records = gdf[fields].to_dict("records")
    for i, (rec, geom) in enumerate(zip(records, geoms)):
        if geom is None or shapely.is_empty(geom):
            continue
        pm = ET.SubElement(folder, "Placemark")
        if register:
            kind_zh = HAZARD_KINDS[rec["kind"]][1]
            status_zh = HAZARD_STATUSES[rec["status"]][2]
            km = rec.get("km_label") or ""
            title = f"{kind_zh} {rec.get('road', '')} {km}【{status_zh}】".replace("  ", " ")
        elif name_field is not None and _text(rec.get(name_field), "string"):
            title = str(rec[name_field])
        else:
            title = f"{name} {i + 1}"
        ET.SubElement(pm, "name").text = title
        lines = [f"{aliases.get(c, c)}：{_text(rec[c], types[c])}" for c in fields
                 if _text(rec[c], types[c]) not in (None, "")]
        ET.SubElement(pm, "description").text = "\n".join(lines)
        ET.SubElement(pm, "styleUrl").text = f"#{rec['kind']}_{rec['status']}" if register else "#layer"
        data = ET.SubElement(ET.SubElement(pm, "ExtendedData"), "SchemaData", schemaUrl="#riskmap_fields")
        for c in fields:
            value = _text(rec[c], types[c])
            if value is not None:
                ET.SubElement(data, "SimpleData", name=str(c)).text = value
        _geometry(pm, geom)
    buf = _io.BytesIO()
    ET.ElementTree(root).write(buf, encoding="UTF-8", xml_declaration=True)
    return buf.getvalue()


def write_kml(gdf, path, name: str | None = None, **options) -> Path:
    """Write a layer as ``.kml`` or ``.kmz`` (zipped ``doc.kml``) atomically; options as :func:`kml_document`."""
    from riskmap.io import atomic_path

    path = Path(path)
    ext = path.suffix.lower()
    if ext not in (".kml", ".kmz"):
        raise DataFormatError(tr("KML 文件须以 .kml 或 .kmz 结尾", "a KML file ends in .kml or .kmz"), path)
    data = kml_document(gdf, name or path.stem, **options)
    with atomic_path(path) as tmp:
        if ext == ".kmz":
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
                zf.writestr("doc.kml", data)
        else:
            tmp.write_bytes(data)
    return path


# ---------------------------------------------------------------------------
# reading riskmap's own KML
# ---------------------------------------------------------------------------
def _kml_bytes(path: Path) -> bytes:
    if path.suffix.lower() == ".kmz":
        from riskmap.io import check_archive

        check_archive(path)  # declared unpacked size and compression ratio, before anything is inflated
        try:
            with zipfile.ZipFile(path) as zf:
                names = [n for n in zf.namelist() if n.lower().endswith(".kml")]
                if not names:
                    raise DataFormatError(tr("KMZ 中没有 .kml 文档", "the KMZ holds no .kml document"), path)
                return zf.read("doc.kml" if "doc.kml" in names else names[0])
        except (zipfile.BadZipFile, OSError) as exc:
            raise DataFormatError(tr("KMZ 压缩包已损坏", "the KMZ archive is damaged"), path) from exc
    return path.read_bytes()


#: Bytes fed to the XML parser at a time: expat holds the GIL for a feed (20–40 ms for 256 KB), so a big
#: file parsed on a worker thread lets the window's event loop run between feeds.
PARSE_BLOCK = 1 << 18


def _checked_bytes(path: Path) -> bytes:
    data = _kml_bytes(path)
    if b"<!DOCTYPE" in data[:4096] or b"<!ENTITY" in data:  # no entity tricks in data files
        raise DataFormatError(tr("KML 含有 DTD/实体声明，拒绝读取", "the KML declares a DTD/entities; refused"), path)
    return data


def _pull_events(path: Path, data: bytes, events=("end",), progress=None):
    """The pull parser's events over ``data``, fed :data:`PARSE_BLOCK` bytes at a time.

    ``progress(fraction)`` after each block, when given (it may raise :class:`CancelledError`).
    """
    parser = ET.XMLPullParser(events)
    try:
        for start in range(0, len(data), PARSE_BLOCK):
            parser.feed(data[start:start + PARSE_BLOCK])
            yield from parser.read_events()
            if progress is not None:
                progress(min(1.0, (start + PARSE_BLOCK) / len(data)))
        parser.close()
        yield from parser.read_events()
    except ET.ParseError as exc:
        raise DataFormatError(tr(f"KML 文件无法解析（{exc}），可能不完整", f"the KML does not parse ({exc})"),
                              path) from exc


def _marker_in(ext) -> str | None:
    """The value of riskmap's marker in a Document's ``ExtendedData`` element (None: not there)."""
    for data in ext:
        if _local(data.tag) == "Data" and data.get("name") == MARKER:
            value = _find(data, "value")
            return (value.text or "").strip() if value is not None else None
    return None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find(el, name):
    return next((c for c in el if _local(c.tag) == name), None)


def _iter(el, name):
    return (c for c in el.iter() if _local(c.tag) == name)


def kml_coordinates(path) -> str | None:
    """``"WGS84"`` or ``"GCJ-02"`` for a KML written by riskmap, None for any other KML.

    Parsed only up to the first ``Document``'s own ``ExtendedData``, which KML 2.2 puts before the
    Document's schemas and features (riskmap writes it so), not the whole file.
    """
    path = Path(path)
    return _coordinates_in(path, _checked_bytes(path))


#: Children of a Document that KML 2.2 puts after its ExtendedData: once one starts, the marker is not there.
_AFTER_EXTENDED_DATA = {"Schema", "Placemark", "Folder", "Document", "NetworkLink", "GroundOverlay",
                        "PhotoOverlay", "ScreenOverlay"}


def _coordinates_in(path: Path, data: bytes) -> str | None:
    if MARKER.encode() not in data:  # riskmap writes its marker verbatim (UTF-8)
        return None
    stack = []  # local names of the open elements
    for event, element in _pull_events(path, data, ("start", "end")):
        name = _local(element.tag)
        if event == "start":
            if name in _AFTER_EXTENDED_DATA and stack and stack[-1] == "Document" and "Document" not in stack[:-1]:
                return None
            stack.append(name)
            continue
        stack.pop()
        if name == "ExtendedData" and stack and stack[-1] == "Document" and "Document" not in stack[:-1]:
            return _marker_in(element)
        if name == "Document" and "Document" not in stack:  # the first Document ended without ExtendedData
            return None
    return None


def _parse_coords(text: str) -> np.ndarray:
    pts = [tuple(float(v) for v in t.split(",")[:2]) for t in (text or "").split()]
    return np.array(pts, dtype=float).reshape(-1, 2)


def _read_geometry(el):
    import shapely

    kind = _local(el.tag)
    if kind == "Point":
        return shapely.points(_parse_coords(_find(el, "coordinates").text)[0])
    if kind == "LineString":
        return shapely.linestrings(_parse_coords(_find(el, "coordinates").text))
    if kind == "Polygon":
        outer = _parse_coords(next(_iter(_find(el, "outerBoundaryIs"), "coordinates")).text)
        holes = [_parse_coords(next(_iter(b, "coordinates")).text) for b in el if _local(b.tag) == "innerBoundaryIs"]
        return shapely.Polygon(outer, holes)
    if kind == "MultiGeometry":
        parts = [_read_geometry(c) for c in el if _local(c.tag) in ("Point", "LineString", "Polygon", "MultiGeometry")]
        types = {p.geom_type for p in parts}
        if types == {"Point"}:
            return shapely.MultiPoint(parts)
        if types == {"LineString"}:
            return shapely.MultiLineString(parts)
        if types == {"Polygon"}:
            return shapely.MultiPolygon(parts)
        return shapely.GeometryCollection(parts)
    return None


def _placemark_row(pm) -> dict:
    row = {"kml_name": (_find(pm, "name").text or "") if _find(pm, "name") is not None else ""}
    for sd in _iter(pm, "SimpleData"):
        row[sd.get("name")] = sd.text or ""
    return row


def _placemark_geometry(pm, row: dict, path: Path):
    import shapely.errors

    geom_el = next((c for c in pm if _local(c.tag) in ("Point", "LineString", "Polygon", "MultiGeometry")), None)
    try:
        return _read_geometry(geom_el) if geom_el is not None else None
    except (ValueError, IndexError, TypeError, AttributeError, StopIteration, shapely.errors.ShapelyError) as exc:
        # missing or malformed <coordinates>: one line naming the placemark, never a traceback
        raise DataFormatError(tr(f"KML 要素“{row['kml_name']}”的坐标无法读取，文件可能已损坏",
                                 f"the coordinates of placemark {row['kml_name']!r} do not parse; "
                                 "the file may be damaged"), path) from exc


def read_kml(path):
    """A KML/KMZ written by riskmap as a GeoDataFrame in WGS84 (GCJ-02 files are shifted back).

    Fields come back with their types from the file's Schema; ``kml_name`` holds each
    placemark's name. Raises :class:`DataFormatError` for a file riskmap did not write. The file is
    parsed in blocks; after each, the callback of :func:`riskmap.io.chunk_progress` (if any) is called.
    """
    import geopandas as gpd
    import pandas as pd

    path = Path(path)
    data = _checked_bytes(path)
    system = _coordinates_in(path, data)
    if system not in ("WGS84", "GCJ-02"):
        raise DataFormatError(tr("不是 riskmap 导出的 KML", "not a KML written by riskmap"), path)
    from riskmap.io import chunk_progress_callback

    types, rows, geoms = {}, [], []
    stack = []  # the open elements
    # streamed: each placemark is read when it ends and then dropped from the tree, which never grows (a
    # tree of the whole file made the garbage collector's passes over it stop every thread for 0.1–0.4 s)
    for event, element in _pull_events(path, data, ("start", "end"), chunk_progress_callback()):
        if event == "start":
            stack.append(element)
            continue
        stack.pop()
        name = _local(element.tag)
        if name == "SimpleField":
            types[element.get("name")] = element.get("type", "string")
        elif name == "Placemark":
            rows.append(_placemark_row(element))
            geoms.append(_placemark_geometry(element, rows[-1], path))
            if stack:
                stack[-1].remove(element)
    if not rows:
        raise DataFormatError(tr("KML 中没有要素", "the KML holds no features"), path)
    df = pd.DataFrame(rows, columns=["kml_name", *types])
    for name, kind in types.items():
        col = df[name]
        if kind in ("int", "double"):
            df[name] = pd.to_numeric(col.replace("", np.nan), errors="coerce")
            if kind == "int" and df[name].notna().all():
                df[name] = df[name].astype("int64")
        elif kind == "bool":
            df[name] = col.map({"1": True, "0": False, "true": True, "false": False})
        else:
            df[name] = col.fillna("")
    geoms = np.asarray(geoms, dtype=object)
    if system == "GCJ-02":
        geoms = crs_policy.offset_geometries_to_wgs84(geoms, "gcj02")
    gdf = gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(list(geoms), crs=crs_policy.WGS84), crs=crs_policy.WGS84)
    gdf.attrs["riskmap_kml_coordinates"] = system
    return gdf


__all__ = ["HAZARD_KINDS", "HAZARD_STATUSES", "MARKER", "kml_colour", "kml_coordinates", "kml_document",
           "read_kml", "write_kml"]
