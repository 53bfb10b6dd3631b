"""Small hostile files, generated in code (nothing binary is committed)."""
from __future__ import annotations

import struct
from pathlib import Path

#: A VRT that turns /etc/passwd into a point layer with one attribute per line (it works when
#: opened as a VRT: that is what makes it a leak when GDAL opens it by content).
PASSWD_VRT = (
    '<OGRVRTDataSource><OGRVRTLayer name="leak"><SrcDataSource>CSV:/etc/passwd</SrcDataSource>'
    '<OpenOptions><OOI key="HEADERS">NO</OOI></OpenOptions>'
    '<SrcSQL dialect="sqlite">SELECT field_1 AS line, MakePoint(114.07, 32.12, 4326) AS geometry FROM passwd'
    '</SrcSQL><GeometryType>wkbPoint</GeometryType><LayerSRS>EPSG:4326</LayerSRS></OGRVRTLayer>'
    '</OGRVRTDataSource>')

#: A raster VRT reading /etc/passwd as bytes.
PASSWD_RASTER_VRT = (
    '<VRTDataset rasterXSize="64" rasterYSize="4"><SRS>EPSG:4326</SRS>'
    '<GeoTransform>114, 0.01, 0, 32, 0, -0.01</GeoTransform>'
    '<VRTRasterBand dataType="Byte" band="1" subClass="VRTRawRasterBand">'
    '<SourceFilename relativetoVRT="0">/etc/passwd</SourceFilename><ImageOffset>0</ImageOffset>'
    '<PixelOffset>1</PixelOffset><LineOffset>64</LineOffset></VRTRasterBand></VRTDataset>')


def geojson_with_crs(url: str, kind: str = "link") -> str:
    """A one-point GeoJSON whose ``crs`` member names ``url`` (old-style GeoJSON 2008 crs)."""
    props = {"link": f'{{"href": "{url}", "type": "ogcwkt"}}', "name": f'{{"name": "{url}"}}'}[kind]
    return ('{"type": "FeatureCollection", "crs": {"type": "%s", "properties": %s}, "features": [{"type": '
            '"Feature", "properties": {"name": "甲"}, "geometry": {"type": "Point", "coordinates": [114.1, 32.1]}}]}'
            % (kind, props))


def tiny_tiff(path: Path, width: int, height: int, bits: int = 64, sample_format: int = 3,
              compression: int = 1) -> Path:
    """A ~160-byte little-endian TIFF declaring ``width × height`` samples (one strip) and holding no pixel data."""
    entries = [
        (256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, bits), (259, 3, 1, compression), (262, 3, 1, 1),
        (273, 4, 1, 8), (277, 3, 1, 1), (278, 4, 1, height), (279, 4, 1, 8), (339, 3, 1, sample_format),
    ]
    ifd = struct.pack("<H", len(entries))
    for tag, typ, count, value in entries:
        ifd += struct.pack("<HHI", tag, typ, count) + (struct.pack("<HH", value, 0) if typ == 3
                                                         else struct.pack("<I", value))
    ifd += struct.pack("<I", 0)
    path.write_bytes(b"II*\x00" + struct.pack("<I", 16) + b"\x00" * 8 + ifd)
    return path
