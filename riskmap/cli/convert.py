"""``riskmap convert IN OUT``: a vector layer to GeoPackage, Shapefile, GeoJSON, KML/KMZ, CSV or Excel."""
from __future__ import annotations

from riskmap.cli.common import report_written


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "convert", help="convert a vector layer: .gpkg .shp .geojson .kml .kmz .csv .xlsx (by extension)",
        description="Read one layer of IN (any vector format riskmap reads) and write it to OUT in the format its "
                    "extension names: GeoPackage, Shapefile (UTF-8 with .cpg), GeoJSON (WGS84), KML/KMZ (styled, "
                    "Chinese names), CSV/Excel with 经度/纬度 columns.")
    p.add_argument("input", metavar="IN", help="input vector file")
    p.add_argument("output", metavar="OUT", help="output file (.gpkg .shp .geojson .kml .kmz .csv .xlsx)")
    p.add_argument("--layer", help="layer of IN to read (GeoPackage, KML; default: the first)")
    p.add_argument("--gcj02", action="store_true",
                   help="write GCJ-02 (火星坐标) for 奥维/高德 users: KML/KMZ/CSV/Excel only, labelled in the file")
    p.add_argument("--crs", help="CRS of IN when it declares none (e.g. EPSG:4490)")
    p.add_argument("--datum", "--offset", dest="offset", choices=["wgs84", "gcj02", "bd09"],
                   help="datum of IN's coordinates: wgs84, or gcj02 / bd09 (shifted to WGS84)")
    p.set_defaults(func=run_convert)


def run_convert(args) -> int:
    from riskmap.exports.convert import convert

    written = convert(args.input, args.output, layer=args.layer, gcj02=args.gcj02, crs=args.crs, offset=args.offset)
    report_written(written)
    return 0
