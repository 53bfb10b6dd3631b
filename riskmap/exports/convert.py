"""Export a vector layer as another format (导出图层… and ``riskmap convert IN OUT``).

Formats by extension: GeoPackage ``.gpkg``, Shapefile ``.shp`` (UTF-8 with a ``.cpg``),
GeoJSON ``.geojson`` (WGS84, RFC 7946), KML/KMZ ``.kml``/``.kmz`` (styled, Chinese names;
:mod:`riskmap.kml`), CSV ``.csv`` (UTF-8 with BOM so Excel shows Chinese) and Excel ``.xlsx``
with 经度/纬度 columns (the point, or a representative point of a line/polygon, plus its WKT).

GCJ-02 output (``gcj02=True``) is offered where the file can say so: KML/KMZ (name,
description and a marker) and CSV/Excel (the columns are headed ``经度(GCJ-02)``/
``纬度(GCJ-02)``). GeoPackage, Shapefile and GeoJSON declare a real CRS, and GCJ-02 has none,
so they refuse it rather than write shifted coordinates under a WGS84 label.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from riskmap import crs as crs_policy
from riskmap.errors import DataFormatError, ParameterError
from riskmap.i18n import tr

#: Extensions written, with the format name shown to users.
FORMATS = {".gpkg": "GeoPackage", ".shp": "Shapefile", ".geojson": "GeoJSON", ".json": "GeoJSON",
           ".kml": "KML", ".kmz": "KMZ", ".csv": "CSV", ".xlsx": "Excel"}
#: Formats that can carry GCJ-02 coordinates with a label.
GCJ02_FORMATS = (".kml", ".kmz", ".csv", ".xlsx")


def coordinate_table(gdf, gcj02: bool = False, aliases: dict | None = None):
    """The attributes with 经度/纬度 (of the point, or a representative point) and, for non-points, WKT."""
    import pandas as pd
    import shapely

    geoms = crs_policy.transform_geometries(np.asarray(gdf.geometry.values, dtype=object), gdf.crs, crs_policy.WGS84)
    if gcj02:
        geoms = crs_policy.wgs84_geometries_to_offset(geoms, "gcj02")
    points = np.where(shapely.get_type_id(geoms) == 0, geoms, shapely.point_on_surface(geoms))
    lon_name, lat_name = ("经度(GCJ-02)", "纬度(GCJ-02)") if gcj02 else ("经度", "纬度")
    df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).rename(columns=aliases or {})
    df.insert(0, lat_name, np.round(shapely.get_y(points), 8))
    df.insert(0, lon_name, np.round(shapely.get_x(points), 8))
    if not (shapely.get_type_id(geoms) == 0).all():
        df["WKT"] = shapely.to_wkt(geoms, rounding_precision=8)
    return df


def export_layer(gdf, path, *, name: str | None = None, gcj02: bool = False, aliases: dict | None = None,
                 colour: str | None = None) -> Path:
    """Write one layer to ``path`` in the format its extension names (see the module docstring).

    Raises
    ------
    DataFormatError
        Unknown extension, or GCJ-02 asked of a format that cannot label it.
    """
    from riskmap import io

    path = Path(path)
    ext = path.suffix.lower()
    if ext not in FORMATS:
        raise DataFormatError(tr("不支持的导出格式；请用 .gpkg、.shp、.geojson、.kml、.kmz、.csv 或 .xlsx",
                                 "cannot write this format; use .gpkg, .shp, .geojson, .kml, .kmz, .csv or .xlsx"),
                              path)
    if gcj02 and ext not in GCJ02_FORMATS:
        raise ParameterError(tr(f"{FORMATS[ext]} 须声明真实坐标系，不能写 GCJ-02；GCJ-02 请导出为 KML/KMZ、CSV 或 Excel",
                                f"{FORMATS[ext]} declares a real CRS and cannot hold GCJ-02; use KML/KMZ, CSV or "
                                "Excel for GCJ-02"), path)
    if gdf.crs is None:
        raise DataFormatError(tr("图层没有坐标系，无法导出", "the layer has no CRS"), path)
    name = name or path.stem
    if ext in (".kml", ".kmz"):
        from riskmap.kml import write_kml

        return write_kml(gdf, path, name, gcj02=gcj02, aliases=aliases, **({"colour": colour} if colour else {}))
    if ext in (".csv", ".xlsx"):
        table = coordinate_table(gdf, gcj02, aliases)
        if ext == ".xlsx":
            return io.write_excel(path, {name[:31]: table})
        with io.atomic_path(path) as tmp:
            table.to_csv(tmp, index=False, encoding="utf-8-sig")
        return path
    out = gdf.to_crs(crs_policy.WGS84) if ext in (".geojson", ".json") else gdf
    return io.write_layers(path, {_layer_name(name): out})


def _layer_name(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in name) or "layer"


def convert(src, dst, *, layer: str | None = None, gcj02: bool = False, crs=None, offset: str | None = None) -> Path:
    """Read one layer of ``src`` (any format riskmap reads; riskmap's GCJ-02 KML is shifted back) and write ``dst``."""
    from riskmap import io

    src = Path(src)
    if Path(dst).suffix.lower() not in FORMATS:
        raise DataFormatError(tr("不支持的输出格式；请用 .gpkg、.shp、.geojson、.kml、.kmz、.csv 或 .xlsx",
                                 "cannot write this format; use .gpkg, .shp, .geojson, .kml, .kmz, .csv or .xlsx"),
                              dst)
    gdf = io.read_vector(src, layer, crs=crs, offset=offset)
    name = layer or gdf.attrs.get("riskmap", {}).get("layer") or src.stem
    return export_layer(gdf, dst, name=str(name), gcj02=gcj02)


__all__ = ["FORMATS", "GCJ02_FORMATS", "convert", "coordinate_table", "export_layer"]
