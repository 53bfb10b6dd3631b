"""Reading and writing layers: Shapefile, GeoPackage, GeoJSON, KML/KMZ, CSV, Excel, GeoTIFF.

Every reader either returns a complete, valid layer or raises a typed
:mod:`riskmap.errors` exception whose one-line message names the file and what to
do. Writers are atomic: they write a temporary file beside the target and rename it.
"""
from __future__ import annotations

import codecs
import contextlib
import json
import os
import sqlite3
import struct
import tempfile
import threading
import warnings
import zipfile
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

from riskmap import crs as crs_policy
from riskmap import tables
from riskmap.i18n import tr
from riskmap.errors import (
    CancelledError,
    CoordinateError,
    CRSError,
    DataFormatError,
    EmptyLayerError,
    EncodingError,
    MissingCRSError,
    MissingSidecarError,
    ParameterError,
    ResourceLimitError,
    RiskmapError,
    collect_thread_warnings,
)

VECTOR_EXTENSIONS = {".shp", ".gpkg", ".geojson", ".json", ".kml", ".kmz", ".csv", ".xlsx", ".xlsm", ".vrt"}
RASTER_EXTENSIONS = {".tif", ".tiff"}

#: The only GDAL/OGR driver each extension may be opened with (the file's declared format).
#: GDAL otherwise picks the driver from the content, so a ``.geojson`` holding a VRT that points at
#: ``/etc/passwd`` would be read as that VRT. ``.vrt`` is opened only when the user names such a file,
#: and with a warning (:data:`VRT_WARNING`).
VECTOR_DRIVERS = {".shp": ("ESRI Shapefile",), ".gpkg": ("GPKG",), ".rmp": ("GPKG",), ".geojson": ("GeoJSON",),
                  ".json": ("GeoJSON",), ".kml": ("KML", "LIBKML"), ".kmz": ("KML", "LIBKML"),
                  ".vrt": ("OGR_VRT",)}
RASTER_DRIVERS = {".tif": ("GTiff",), ".tiff": ("GTiff",), ".vrt": ("VRT",)}

#: Header keys (:func:`riskmap.tables.header_key`) recognised as longitude / latitude columns.
LON_HEADERS = tables.LON_KEYS
LAT_HEADERS = tables.LAT_KEYS

#: DBF language-driver byte (offset 29) → Python codec, for the ones seen in Chinese data.
DBF_LANGUAGE_CODECS = {
    0x4D: "gb18030",  # Chinese GBK (PRC), code page 936
    0x7A: "gb18030",  # PRC GBK
    0x4F: "big5",     # Chinese Big5 (Taiwan), code page 950
    0x4E: "cp949",    # Korean
    0x13: "cp932",    # Japanese Shift-JIS
    0x7B: "cp949",
    0x7C: "cp874",
    0x01: "cp437",
    0x02: "cp850",
    0x03: "cp1252",
    0x58: "cp1252",   # Western European ANSI
    0x59: "cp1252",   # Spanish ANSI
    0xC8: "cp1250",   # Eastern European ANSI
    0xC9: "cp1251",   # Russian ANSI
    0x57: None,       # "ANSI": the writer's system code page, unknown
}


# ---------------------------------------------------------------------------
# declared format
# ---------------------------------------------------------------------------
def _vrt_warning() -> str:
    return tr("VRT 文件可引用本机其他文件或网络地址，请仅在信任其来源时使用",
              "a VRT file can refer to other files on this computer or to network addresses; "
              "use it only when you trust its source")


def _head(path: Path, n: int = 65536) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(n)


def _text_start(head: bytes) -> bytes:
    """The first bytes after a BOM and white space, lower-cased (for a format check)."""
    for bom in (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"):
        if head.startswith(bom):
            head = head[len(bom):]
            break
    return head.lstrip().lower()


def _wrong_format(path: Path, expected_zh: str, expected_en: str):
    return DataFormatError(tr(f"文件内容不是其扩展名所声明的格式（应为{expected_zh}）；riskmap 只按扩展名读取，"
                              "请改正扩展名或另存为正确格式",
                              f"the content is not the format its extension declares ({expected_en}); riskmap "
                              "reads files by their extension only — fix the extension or re-save the file"), path)


def check_declared_format(path: str | Path) -> None:
    """Refuse a file whose first bytes do not match the format its extension declares.

    This runs before GDAL sees the file, so content of another format (a VRT, an
    SQLite database, a CSV) named ``.geojson`` or ``.tif`` never reaches a driver that
    could follow references in it.

    Raises
    ------
    DataFormatError
        When the content is not of the declared format.
    """
    path = Path(path)
    ext = path.suffix.lower()
    head = _head(path)
    start = _text_start(head)
    if ext == ".shp":
        if len(head) < 100 or struct.unpack(">i", head[:4])[0] != 9994:
            raise _wrong_format(path, "ESRI Shapefile", "an ESRI Shapefile")
    elif ext in (".gpkg", ".rmp"):
        if not head.startswith(b"SQLite format 3\x00"):
            raise _wrong_format(path, " GeoPackage", "a GeoPackage")
    elif ext in (".geojson", ".json"):
        if not start[:1] in (b"{", b"["):
            raise _wrong_format(path, " GeoJSON", "GeoJSON")
    elif ext == ".kml":
        _check_kml_bytes(path, start)
    elif ext in (".kmz", ".xlsx", ".xlsm"):
        if not head.startswith(b"PK\x03\x04"):
            raise _wrong_format(path, " ZIP 压缩包（KMZ/XLSX）", "a ZIP archive (KMZ/XLSX)")
    elif ext in (".tif", ".tiff"):
        if head[:4] not in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
            raise _wrong_format(path, " GeoTIFF", "a GeoTIFF")
    elif ext == ".vrt":
        if not (start.startswith(b"<ogrvrtdatasource") or start.startswith(b"<vrtdataset")):
            raise _wrong_format(path, " GDAL VRT", "a GDAL VRT")


def _check_kml_bytes(path: Path, start: bytes) -> None:
    if not start.startswith(b"<") or b"<kml" not in start or b"vrtdatasource" in start or b"<vrtdataset" in start:
        raise _wrong_format(path, " KML", "KML")


def _check_opened_driver(path: Path, driver: str | None, allowed: tuple) -> None:
    if driver not in allowed:
        raise _wrong_format(path, f" {'/'.join(allowed)}", "/".join(allowed))


def _is_virtual(text: str) -> bool:
    lowered = text.lower().replace("\\", "/")
    return lowered.startswith("/vsi") or "://" in lowered or lowered.startswith(("pg:", "mysql:", "wfs:", "http"))


def check_local_path(path: str | Path) -> Path:
    """``path`` as a local file path; GDAL virtual (``/vsi…``) and remote (``…://``) names are refused."""
    text = str(path)
    if _is_virtual(text):
        raise DataFormatError(tr("只能打开本机文件：不读取 /vsi… 虚拟路径或网络地址（riskmap 离线运行）",
                                 "only local files can be opened: no /vsi… virtual paths or network addresses "
                                 "(riskmap runs offline)"), text)
    return Path(path)


# ---------------------------------------------------------------------------
# resource limits (checked on what a file declares, before anything is allocated)
# ---------------------------------------------------------------------------
def _limit_mb(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        return default
    return value if value > 0 else default


def raster_limit_bytes() -> int:
    """Largest raster (width × height × bands × sample size) riskmap opens: setting ``RISKMAP_MAX_RASTER_MB``,
    default 2048 MB."""
    return int(_limit_mb("RISKMAP_MAX_RASTER_MB", 2048) * 1e6)


def block_limit_bytes() -> int:
    """Largest single tile/strip GDAL would decompress at once: ``RISKMAP_MAX_BLOCK_MB``, default 256 MB."""
    return int(_limit_mb("RISKMAP_MAX_BLOCK_MB", 256) * 1e6)


def archive_limit_bytes() -> int:
    """Largest total decompressed size of a KMZ/XLSX archive: ``RISKMAP_MAX_ARCHIVE_MB``, default 1024 MB."""
    return int(_limit_mb("RISKMAP_MAX_ARCHIVE_MB", 1024) * 1e6)


#: A ZIP member compressing better than this is treated as a decompression bomb.
MAX_COMPRESSION_RATIO = 1000


def _mb(n: float) -> str:
    return f"{n / 1e6:,.0f} MB" if n < 1e12 else f"{n / 1e12:,.1f} TB"


def check_raster_size(ds, path) -> None:
    """Refuse a raster whose declared size or block size is over the limits (nothing is read).

    Raises
    ------
    ResourceLimitError
        Naming the declared size and the limit (and the setting that raises it).
    """
    sample = max(np.dtype(dt).itemsize for dt in ds.dtypes)
    total = float(ds.width) * float(ds.height) * ds.count * sample
    limit = raster_limit_bytes()
    if total > limit:
        raise ResourceLimitError(tr(f"栅格声明 {ds.width}×{ds.height}×{ds.count} 个 {ds.dtypes[0]} 像元（{_mb(total)}），"
                                    f"超过上限 {_mb(limit)}；请裁剪或重采样后再打开（上限可由 RISKMAP_MAX_RASTER_MB 设置）",
                                    f"the raster declares {ds.width}×{ds.height}×{ds.count} {ds.dtypes[0]} cells "
                                    f"({_mb(total)}), over the limit of {_mb(limit)}; clip or resample it first "
                                    "(setting RISKMAP_MAX_RASTER_MB)"), path)
    block_rows, block_cols = ds.block_shapes[0]
    block = float(block_rows) * float(block_cols) * sample * (ds.count if ds.interleaving is not None
                                                               and ds.interleaving.name == "PIXEL" else 1)
    if block > block_limit_bytes():
        raise ResourceLimitError(tr(f"栅格的数据块为 {block_cols}×{block_rows}（{_mb(block)}），超过上限 "
                                    f"{_mb(block_limit_bytes())}；请用分块（tiled）GeoTIFF（上限可由 RISKMAP_MAX_BLOCK_MB 设置）",
                                    f"the raster's blocks are {block_cols}×{block_rows} ({_mb(block)}), over the "
                                    f"limit of {_mb(block_limit_bytes())}; use a tiled GeoTIFF "
                                    "(setting RISKMAP_MAX_BLOCK_MB)"), path)


def check_archive(path) -> None:
    """Refuse a KMZ/XLSX (ZIP) whose members declare more than the limit, or compress like a bomb.

    Raises
    ------
    ResourceLimitError, DataFormatError
        Over the limit; not a readable ZIP archive.
    """
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise DataFormatError(tr("压缩包已损坏；请从来源程序重新导出", "the archive is damaged; re-export it from "
                                 "the source program"), path) from exc
    total = sum(i.file_size for i in infos)
    limit = archive_limit_bytes()
    if total > limit:
        raise ResourceLimitError(tr(f"压缩包解压后共 {_mb(total)}，超过上限 {_mb(limit)}（上限可由 "
                                    "RISKMAP_MAX_ARCHIVE_MB 设置）",
                                    f"the archive unpacks to {_mb(total)}, over the limit of {_mb(limit)} "
                                    "(setting RISKMAP_MAX_ARCHIVE_MB)"), path)
    for info in infos:
        if info.file_size > 1_000_000 and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
            raise ResourceLimitError(tr(f"压缩包成员 {info.filename!r} 的压缩比超过 {MAX_COMPRESSION_RATIO}:1，"
                                        "疑为解压炸弹，拒绝打开",
                                        f"archive member {info.filename!r} compresses more than "
                                        f"{MAX_COMPRESSION_RATIO}:1 — refused as a decompression bomb"), path)


# ---------------------------------------------------------------------------
# outputs never touch inputs
# ---------------------------------------------------------------------------
#: Files that belong to a shapefile: writing any of them damages the shapefile.
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx")


def _input_parts(path: Path) -> list[Path]:
    if path.suffix.lower() == ".shp":
        return [path.with_suffix(ext) for ext in SHAPEFILE_PARTS] + \
               [path.with_suffix(ext.upper()) for ext in SHAPEFILE_PARTS]
    return [path]


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)  # also a hard or symbolic link to the input
    except OSError:  # one of them does not exist (yet)
        return Path(os.path.abspath(a)).resolve() == Path(os.path.abspath(b)).resolve()


def check_output_not_input(target, inputs) -> None:
    """Refuse an output path that is one of the inputs (whatever the layer), or a part of an input shapefile.

    Parameters
    ----------
    target : str or Path or None
        The file about to be written (None: nothing to check).
    inputs : iterable of str or Path
        The files the result was computed from, or the layers of the project.

    Raises
    ------
    ParameterError
        One line naming the output and the input it would overwrite.
    """
    if not target:
        return
    target = Path(target)
    for raw in inputs:
        if not raw:
            continue
        for part in _input_parts(Path(raw)):
            if _same_file(target, part):
                shown = f"（{raw}）" if str(raw) != str(target) else ""
                raise ParameterError(tr(f"输出文件与输入文件相同{shown}，写入会破坏输入数据；请另选输出路径",
                                        f"the output is one of the inputs{shown.replace('（', ' (').replace('）', ')')}"
                                        "; writing it would destroy input data — choose another output path"),
                                     target)


# ---------------------------------------------------------------------------
# atomic writes
# ---------------------------------------------------------------------------
@contextlib.contextmanager
def atomic_path(target: str | Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it replaces ``target`` atomically.

    If the block raises, or the process dies, ``target`` is left as it was and the
    temporary file is removed (or, after a hard kill, left as a ``.tmp`` file).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    # the temporary name holds none of the target's characters: GDAL writers (via pyogrio) take
    # ';' and '!' in a name for URI syntax
    fd, tmp_name = tempfile.mkstemp(prefix=".riskmap-", suffix=(suffix or target.suffix) + ".tmp",
                                    dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()  # writers (GDAL) want to create the file themselves
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        for leftover in (tmp, Path(str(tmp) + "-journal"), Path(str(tmp) + "-wal"), Path(str(tmp) + "-shm")):
            if leftover.exists():
                leftover.unlink()


def write_layers(path: str | Path, layers: dict, driver: str | None = None, provenance: dict | None = None) -> Path:
    """Write ``{layer name: GeoDataFrame}`` to one file atomically.

    GeoPackage (``.gpkg``) holds every layer; GeoJSON, KML and Shapefile take exactly one.
    Shapefiles are written UTF-8 with a ``.cpg``. A GeoPackage also keeps ``provenance``
    (JSON, table :data:`PROVENANCE_TABLE`) when given; :func:`read_provenance` reads it back.
    """
    import pyogrio

    path = Path(path)
    ext = path.suffix.lower()
    drivers = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON", ".kml": "KML", ".shp": "ESRI Shapefile"}
    driver = driver or drivers.get(ext)
    if driver is None:
        raise DataFormatError(tr("无法写入此格式，请使用 .gpkg、.geojson、.kml 或 .shp",
                                 "cannot write this format; use .gpkg, .geojson, .kml or .shp"), path)
    if driver != "GPKG" and len(layers) != 1:
        raise DataFormatError(tr(f"{driver} 只能保存一个图层，多个图层请写入 .gpkg",
                                 f"{driver} holds one layer; write several layers to a .gpkg"), path)
    if driver == "ESRI Shapefile":
        (name, gdf), = layers.items()
        return _write_shapefile_atomic(path, gdf)
    with atomic_path(path) as tmp:
        for name, gdf in layers.items():
            out = gdf
            if driver == "KML" and gdf.crs is not None and not gdf.crs.equals(crs_policy.WGS84):
                out = gdf.to_crs(crs_policy.WGS84)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                meta = None
                if provenance is not None and driver == "GPKG" and not tmp.exists():
                    meta = {PROVENANCE_KEY: json.dumps(provenance, ensure_ascii=False, default=str)}
                with gdal_target(tmp) as target:
                    pyogrio.write_dataframe(out, target, layer=name, driver=driver, append=tmp.exists(),
                                            dataset_metadata=meta, **_keep_fid_column(out, driver, {}))
    return path


#: Dataset metadata key (GeoPackage metadata extension) holding a result's provenance record (JSON).
PROVENANCE_KEY = "RISKMAP_PROVENANCE"


def read_provenance(path: str | Path) -> dict | None:
    """The provenance record of a result GeoPackage written by riskmap (None when it holds none)."""
    import pyogrio

    path = Path(path)
    if not path.is_file():
        raise DataFormatError(tr("文件不存在，请检查路径", "file not found; check the path"), path)
    try:
        check_declared_format(path)
        with gdal_source(path) as source:
            meta = pyogrio.read_info(source, layer=0).get("dataset_metadata") or {}
    except DataFormatError:
        raise
    except Exception as exc:  # pyogrio raises its own DataSourceError family
        raise DataFormatError(tr(f"不是可读取的 GeoPackage（{type(exc).__name__}）",
                                 f"not a readable GeoPackage ({type(exc).__name__})"), path) from None
    text = meta.get(PROVENANCE_KEY)
    return json.loads(text) if text else None


def _write_shapefile_atomic(path: Path, gdf) -> Path:
    import pyogrio

    tmpdir = Path(tempfile.mkdtemp(prefix=".riskmap-", dir=path.parent))
    try:
        with gdal_target(tmpdir / "layer.shp") as target:
            pyogrio.write_dataframe(gdf, target, driver="ESRI Shapefile", encoding="UTF-8")
        for part in sorted(tmpdir.iterdir()):
            os.replace(part, path.with_suffix(part.suffix))
    finally:
        for part in tmpdir.iterdir():
            part.unlink()
        tmpdir.rmdir()
    return path


def write_excel(path: str | Path, sheets: dict) -> Path:
    """Write ``{sheet name: DataFrame}`` to an .xlsx atomically (openpyxl), with readable column widths."""
    path = Path(path)
    with atomic_path(path) as tmp:
        with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
            for name, frame in sheets.items():
                frame.to_excel(writer, sheet_name=str(name)[:31], index=False)
                sheet = writer.sheets[str(name)[:31]]
                for col_cells in sheet.columns:
                    width = max((len(str(c.value)) if c.value is not None else 0) for c in col_cells)
                    sheet.column_dimensions[col_cells[0].column_letter].width = min(max(8, width * 1.6 + 2), 60)
    return path


# ---------------------------------------------------------------------------
# encoding detection
# ---------------------------------------------------------------------------
#: .cpg spellings seen in the wild (ESRI, QGIS, MapInfo, Chinese GIS exports) → Python codec.
#: GBK and GB2312 are read as GB18030, their superset; ISO-8859-1 labels as windows-1252, its superset
#: for printable text (the WHATWG Encoding Standard maps the label so, and GDAL's shapefile reader
#: via pyogrio does not decode an "iso-8859-1" request).
CPG_ALIASES = {
    "936": "gb18030", "cp936": "gb18030", "gbk": "gb18030", "gb2312": "gb18030", "gb18030": "gb18030",
    "54936": "gb18030", "euc-cn": "gb18030",
    "65001": "utf-8", "utf8": "utf-8", "utf-8": "utf-8",
    "950": "big5", "cp950": "big5", "big5": "big5",
    "1252": "cp1252", "cp1252": "cp1252", "windows-1252": "cp1252",
    "88591": "cp1252", "8859-1": "cp1252", "iso88591": "cp1252", "cp1252": "cp1252", "latin1": "cp1252",
    "28591": "cp1252", "437": "cp437", "850": "cp850", "932": "cp932", "949": "cp949", "1251": "cp1251",
    "866": "cp866", "20127": "ascii", "ascii": "ascii", "us-ascii": "ascii",
}


def cpg_codec(text: str) -> str | None:
    """The Python codec a ``.cpg`` file names (``936``, ``GBK``, ``UTF8``, ``ANSI 936``, ``88591``…), or None.

    ``ANSI 936`` / ``ANSI_1252`` / ``OEM 936`` name the code page after the word; a bare
    ``ANSI`` names none (the writer's system code page, unknown here).
    """
    name = text.strip().strip("\x00").strip().lower()
    for prefix in ("ansi", "oem", "windows", "win", "cp", "ibm"):
        rest = name[len(prefix):].lstrip(" _-") if name.startswith(prefix) else None
        if rest and rest.isdigit():
            name = rest
            break
    if not name or name in ("ansi", "oem"):
        return None
    codec = CPG_ALIASES.get(name.replace("_", "-"), CPG_ALIASES.get(name.replace("-", "").replace("_", "")))
    if codec is None:
        try:
            codec = codecs.lookup(name).name
        except LookupError:
            return None
    return "gb18030" if codec in ("gbk", "gb2312") else codec


def dbf_language_codec(dbf_path: str | Path) -> str | None:
    """Codec named by a DBF header's language-driver byte, or None when it names none."""
    with open(dbf_path, "rb") as fh:
        header = fh.read(32)
    if len(header) < 32:
        raise DataFormatError(tr(".dbf 文件已截断，请从原始数据恢复",
                                 "the .dbf file is truncated; restore it from the original data"), dbf_path)
    return DBF_LANGUAGE_CODECS.get(header[29])


def _dbf_text_bytes(dbf_path: Path, limit: int = 2_000_000) -> bytes:
    """The bytes of the character fields of a DBF's records (up to ``limit`` bytes)."""
    with open(dbf_path, "rb") as fh:
        header = fh.read(32)
        if len(header) < 32:
            raise DataFormatError(tr(".dbf 文件已截断，请从原始数据恢复",
                                     "the .dbf file is truncated; restore it from the original data"), dbf_path)
        n_records, header_len, record_len = struct.unpack("<IHH", header[4:12])
        descriptors = fh.read(header_len - 32)
        fields = []
        offset = 1  # deletion flag
        for i in range(0, len(descriptors) - 31, 32):
            desc = descriptors[i:i + 32]
            if desc[0] == 0x0D:
                break
            ftype, flen = chr(desc[11]), desc[16]
            if ftype == "C":
                fields.append((offset, flen))
            offset += flen
        fh.seek(header_len)
        data = fh.read(min(n_records * record_len, limit))
    chunks = []
    for start in range(0, len(data) - record_len + 1, record_len):
        rec = data[start:start + record_len]
        for off, flen in fields:
            value = rec[off:off + flen].rstrip(b" \x00")
            if value:
                chunks.append(value)
    return b"\n".join(chunks)


def detect_shapefile_encoding(shp_path: str | Path) -> tuple[str, str]:
    """Encoding of a shapefile's attributes and how it was found.

    Order: the ``.cpg`` file, the DBF language byte, then the text itself decoded
    as UTF-8, then GB18030 (a superset of GBK/GB2312).

    Returns
    -------
    (codec, source) : tuple of str
        e.g. ``("gb18030", "dbf language byte")``.

    Raises
    ------
    EncodingError
        If no supported encoding decodes the text.
    """
    shp_path = Path(shp_path)
    cpg = shp_path.with_suffix(".cpg")
    if cpg.exists():
        normalised = cpg_codec(cpg.read_text(encoding="ascii", errors="ignore"))
        if normalised:
            try:  # a .cpg that the text contradicts (says UTF-8 over GBK bytes) gives way to the checks below
                _dbf_text_bytes(_sidecar(shp_path, ".dbf")).decode(normalised)
                return normalised, ".cpg file"
            except UnicodeDecodeError:
                pass
    dbf = _sidecar(shp_path, ".dbf")
    codec = dbf_language_codec(dbf)
    text = _dbf_text_bytes(dbf)
    if codec is not None:
        try:
            text.decode(codec)
            return codec, "dbf language byte"
        except UnicodeDecodeError:
            pass
    for candidate in ("utf-8", "gb18030"):
        try:
            text.decode(candidate)
            return candidate, "content"
        except UnicodeDecodeError:
            continue
    raise EncodingError(tr("属性文字的编码无法识别，请添加注明编码的 .cpg 文件（如 GBK）",
                           "attribute text is in an unknown encoding; add a .cpg file naming it (e.g. GBK)"), shp_path)


def _truncated(path: Path, declared: int, actual: int, what_zh: str, what_en: str):
    return DataFormatError(tr(f"文件不完整/已截断：{what_zh}声明 {declared:,} 字节，实际只有 {actual:,} 字节；"
                              "请从原始数据重新复制 .shp、.shx、.dbf 全部文件",
                              f"the file is incomplete/truncated: {what_en} declares {declared:,} bytes but holds "
                              f"{actual:,}; copy all of .shp, .shx and .dbf again from the original data"), path)


def check_shapefile_complete(shp_path: str | Path) -> int:
    """Refuse a shapefile whose parts are cut short or disagree, before GDAL reads it.

    Checked against what the files declare (ESRI Shapefile Technical Description, 1998): the
    .shp and .shx headers' file length (bytes 24–27, 16-bit words, big-endian) against their
    sizes; the .shx index (one 8-byte record per feature: offset and content length in words)
    against the .shp's size, so a .shp cut in half is found even when its header was rewritten;
    the .dbf header's record count × record length (bytes 4–11) against its size, and its
    record count against the .shx's.

    Returns
    -------
    int
        The number of records.

    Raises
    ------
    MissingSidecarError
        No .shx or .dbf.
    DataFormatError
        "文件不完整/已截断" naming the part, what it declares and what it holds.
    """
    shp_path = Path(shp_path)
    shx, dbf = _sidecar(shp_path, ".shx"), _sidecar(shp_path, ".dbf")
    shp_size = shp_path.stat().st_size
    with open(shp_path, "rb") as fh:
        head = fh.read(100)
    if len(head) < 100:
        raise _truncated(shp_path, 100, len(head), ".shp 文件头", "the .shp header")
    declared = struct.unpack(">i", head[24:28])[0] * 2
    if shp_size < declared:
        raise _truncated(shp_path, declared, shp_size, ".shp 文件", "the .shp")
    with open(shx, "rb") as fh:
        shx_head = fh.read(100)
        if len(shx_head) < 100:
            raise _truncated(shx, 100, len(shx_head), ".shx 文件头", "the .shx header")
        index = np.fromfile(fh, dtype=">i4")
    shx_size = shx.stat().st_size
    shx_declared = struct.unpack(">i", shx_head[24:28])[0] * 2
    if shx_size < shx_declared:
        raise _truncated(shx, shx_declared, shx_size, ".shx 文件", "the .shx")
    n = (min(shx_size, max(shx_declared, 100)) - 100) // 8
    index = index[: 2 * n].reshape(-1, 2).astype(np.int64)
    if len(index):
        ends = (index[:, 0] + 4 + index[:, 1]) * 2  # record header (8 bytes) + content, in bytes
        end = int(ends.max())
        if end > shp_size:
            raise _truncated(shp_path, end, shp_size, "索引（.shx）所指的记录在 .shp 中", "the index (.shx) of the .shp")
    with open(dbf, "rb") as fh:
        dbf_head = fh.read(32)
    if len(dbf_head) < 32:
        raise _truncated(dbf, 32, len(dbf_head), ".dbf 文件头", "the .dbf header")
    n_dbf, header_len, record_len = struct.unpack("<IHH", dbf_head[4:12])
    dbf_declared = header_len + n_dbf * record_len
    dbf_size = dbf.stat().st_size
    if dbf_size < dbf_declared:
        raise _truncated(dbf, dbf_declared, dbf_size, ".dbf 文件", "the .dbf")
    if n_dbf != n:
        raise DataFormatError(tr(f"文件不完整/不一致：.dbf 有 {n_dbf:,} 条属性记录，.shx 有 {n:,} 个要素；"
                                 "请从原始数据重新复制 .shp、.shx、.dbf 全部文件",
                                 f"the file is incomplete/inconsistent: the .dbf holds {n_dbf:,} records and the "
                                 f".shx {n:,} features; copy all of .shp, .shx and .dbf again from the original "
                                 "data"), shp_path)
    return n


def _sidecar(shp_path: Path, ext: str) -> Path:
    for candidate in (shp_path.with_suffix(ext), shp_path.with_suffix(ext.upper())):
        if candidate.exists():
            return candidate
    raise MissingSidecarError(tr(f"Shapefile 缺少 {ext} 文件，请将 .shp、.shx、.dbf、.prj 一起复制",
                                 f"the shapefile has no {ext} file; copy all of .shp, .shx, .dbf and .prj together"),
                              shp_path)


# ---------------------------------------------------------------------------
# readers
# ---------------------------------------------------------------------------
def list_layers(path: str | Path) -> list[str]:
    """Names of the vector layers in a file (a GeoPackage may hold several)."""
    import pyogrio

    path = check_local_path(path)
    _check_exists(path)
    if path.suffix.lower() not in VECTOR_EXTENSIONS:  # e.g. a .dbf alone (riskmap info x.dbf was a KeyError)
        raise DataFormatError(tr("不是 riskmap 能读取的矢量格式；请用 .shp、.gpkg、.geojson、.kml、.kmz、.csv 或 .xlsx"
                                 "（Shapefile 请打开其 .shp 文件）",
                                 "not a vector format riskmap reads; use .shp, .gpkg, .geojson, .kml, .kmz, .csv or "
                                 ".xlsx (for a shapefile open its .shp)"), path)
    if path.suffix.lower() in (".csv", ".xlsx", ".xlsm"):
        return [path.stem]
    check_declared_format(path)
    if path.suffix.lower() == ".kmz":
        check_archive(path)
    if path.suffix.lower() == ".shp":
        check_shapefile_complete(path)
    with gdal_source(path) as source:
        try:
            names = [str(row[0]) for row in pyogrio.list_layers(source)]
        except Exception as exc:  # pyogrio raises DataSourceError and friends
            raise DataFormatError(tr(f"无法作为矢量数据打开（{_short(exc)}），请检查文件是否完整",
                                     f"cannot open as vector data ({_short(exc)}); check the file is complete"),
                                  path) from exc
        if names:
            _check_opened_driver(path, _ogr_driver(source, names[0]), VECTOR_DRIVERS[path.suffix.lower()])
    if path.suffix.lower() == ".shp":  # one layer, named after the file (not after a linked name)
        return [path.stem]
    return names


def _ogr_driver(source: str, layer) -> str | None:
    import pyogrio

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return pyogrio.read_info(source, layer=layer).get("driver")
    except Exception:  # the read that follows reports the problem with the file's name
        return None


def read_vector(path: str | Path, layer: str | None = None, *, encoding: str | None = None, crs=None,
                offset: str | None = None, lon_col: str | None = None, lat_col: str | None = None,
                skip_bad_rows: bool = False):
    """Read one vector layer into a valid GeoDataFrame.

    Parameters
    ----------
    path : str or Path
        Shapefile, GeoPackage, GeoJSON, KML/KMZ, CSV or Excel file.
    layer : str, optional
        Layer name (GeoPackage, KML); the first layer when omitted.
    encoding : str, optional
        Attribute encoding; detected when omitted (see :func:`detect_shapefile_encoding`).
    crs : optional
        CRS to assume when the file declares none (required then).
    offset : {"wgs84", "gcj02", "bd09"}, optional
        The datum of the coordinates (CLI ``--datum``): GCJ-02 (AMap, Tencent) or BD-09 (Baidu) are
        converted to WGS84; ``"wgs84"`` says they are standard. When omitted, a CSV/Excel table's
        own word is taken (a header ``经度(GCJ-02)``, a 坐标系 column, a title row mentioning 高德),
        else the table is read as WGS84 with a warning (points in China) that AMap/Tencent
        coordinates need ``--datum gcj02``.
    lon_col, lat_col : str, optional
        Coordinate columns of a CSV/Excel file; found from the headers when omitted.
    skip_bad_rows : bool
        CSV/Excel: drop rows without valid coordinates instead of failing.

    Returns
    -------
    geopandas.GeoDataFrame
        With ``attrs["riskmap"]`` = {source, layer, encoding, encoding_source, repaired, skipped_rows,
        warnings (lines to show the user: header row taken, total rows dropped, datum), offset,
        header_row (tables)}.
    """
    path = check_local_path(path)
    _check_exists(path)
    ext = path.suffix.lower()
    if ext not in VECTOR_EXTENSIONS:
        raise DataFormatError(tr("不是 riskmap 可读的矢量格式；请使用 .shp、.gpkg、.geojson、.kml、.kmz、.csv 或 .xlsx",
                                 "not a vector format riskmap reads; use .shp, .gpkg, .geojson, .kml, .kmz, "
                                 ".csv or .xlsx"), path)
    check_declared_format(path)
    if ext in (".kmz", ".xlsx", ".xlsm"):
        check_archive(path)
    meta = {"source": str(path), "layer": layer, "encoding": encoding, "encoding_source": "given" if encoding else None,
            "repaired": 0, "skipped_rows": [], "warnings": [_vrt_warning()] if ext == ".vrt" else []}
    if ext in (".csv", ".xlsx", ".xlsm"):
        gdf = _read_table(path, meta, crs=crs, lon_col=lon_col, lat_col=lat_col, skip_bad_rows=skip_bad_rows)
    elif ext in (".kml", ".kmz") and _riskmap_kml(path):
        from riskmap.kml import read_kml  # riskmap's own KML: typed fields, GCJ-02 shifted back

        gdf = read_kml(path)
        meta.update(encoding="utf-8", encoding_source="format",
                    kml_coordinates=gdf.attrs["riskmap_kml_coordinates"])
    else:
        gdf = _read_ogr(path, layer, meta, crs=crs)
    gdf = _apply_datum(gdf, path, meta, offset, table=ext in (".csv", ".xlsx", ".xlsm"))
    _check_coordinates(gdf, path)
    gdf = _repair(gdf, meta)
    gdf.attrs["riskmap"] = meta
    return gdf


#: The ``offset``/``--datum`` values: standard coordinates, or China's two offset systems.
DATUMS = ("wgs84", "gcj02", "bd09")


def normalise_datum(value, path=None) -> str | None:
    """``"wgs84"``, ``"gcj02"``, ``"bd09"`` for a user's datum choice (``高德``, ``GCJ-02``, ``BD-09``, ``WGS84``,
    ``CGCS2000``…), None when not given.

    Raises
    ------
    CRSError
        A value naming none of them.
    """
    if value is None or str(value).strip() == "":
        return None
    text = str(value).strip().lower()
    if text in ("wgs84", "wgs-84", "wgs", "gps", "cgcs2000", "standard", "标准", "天地图"):
        return "wgs84"
    system = crs_policy.normalise_offset_system(text)
    if system is None:
        raise CRSError(tr(f"未知的坐标来源 {value!r}；请用 wgs84（GPS/天地图）、gcj02（高德/腾讯）或 bd09（百度）",
                          f"unknown offset coordinate system {value!r}; use wgs84 (GPS/Tianditu), gcj02 "
                          "(AMap/Tencent) or bd09 (Baidu)"), path)
    return system


def _datum_hint() -> str:
    return tr("表格经纬度未注明坐标系，已按 WGS84/CGCS2000 读取；高德、腾讯地图拾取的坐标是 GCJ-02（在信阳偏约 500 m），"
              "须用 --datum gcj02 换算（百度地图：--datum bd09；窗口中在导入对话框选“坐标来源”）；"
              "确为 GPS/天地图坐标时用 --datum wgs84 可不再提示",
              "the table's longitude/latitude do not say their coordinate system and were read as WGS84/CGCS2000; "
              "coordinates picked from AMap or Tencent maps are GCJ-02 (about 500 m off at Xinyang) and need "
              "--datum gcj02 (Baidu: --datum bd09; in the window: 'Coordinates from' in the import dialog); "
              "--datum wgs84 confirms GPS/Tianditu coordinates and silences this hint")


_DATUM_NAMES = {"gcj02": "GCJ-02", "bd09": "BD-09", "wgs84": "WGS84"}


def _apply_datum(gdf, path: Path, meta, offset, table: bool):
    """Shift GCJ-02/BD-09 coordinates to WGS84: as the user says, else as a table says, else hint (tables in China)."""
    given = normalise_datum(offset, path)
    detected, where = meta.pop("_datum", (None, ""))
    system = given
    if given is None and detected is not None:
        system = detected
        if isinstance(detected, np.ndarray):
            counts = {s: int((detected == s).sum()) for s in ("gcj02", "bd09", "wgs84")}
            parts = "、".join(f"{_DATUM_NAMES[s]} {n} 行" for s, n in counts.items() if n)
            parts_en = ", ".join(f"{_DATUM_NAMES[s]} {n} row(s)" for s, n in counts.items() if n)
            meta["warnings"].append(tr(f"按{where}列逐行换算坐标：{parts}（换算为 WGS84）",
                                       f"coordinates shifted row by row as column {where} says: {parts_en} "
                                       "(to WGS84)"))
        elif detected != "wgs84":
            meta["warnings"].append(tr(
                f"按{where}判断经纬度为 {_DATUM_NAMES[detected]}，已换算为 WGS84；如不是，请用 --datum wgs84 指定",
                f"{where} says the coordinates are {_DATUM_NAMES[detected]}: shifted to WGS84; if they are not, "
                "say --datum wgs84"))
    elif given is not None and detected is not None and not isinstance(detected, np.ndarray) and detected != given:
        meta["warnings"].append(tr(f"{where}注明为 {_DATUM_NAMES[detected]}，但按指定的 {_DATUM_NAMES[given]} 读取",
                                   f"{where} says {_DATUM_NAMES[detected]}, but the coordinates were read as the "
                                   f"{_DATUM_NAMES[given]} you chose"))
    if system is None:
        if table and gdf.crs.is_geographic and len(gdf):
            x, y = gdf.geometry.x.to_numpy(float), gdf.geometry.y.to_numpy(float)
            if crs_policy.inside_china(x, y).any():
                meta["warnings"].append(_datum_hint())
        return gdf
    if not isinstance(system, np.ndarray) and system == "wgs84":
        meta["offset"] = "wgs84"
        return gdf
    if not gdf.crs.is_geographic:
        raise CRSError(tr("GCJ-02/BD-09 换算需要经纬度坐标", "GCJ-02/BD-09 conversion needs longitude/latitude coordinates"),
                       path)
    geoms = np.asarray(gdf.geometry.values).copy()
    if isinstance(system, np.ndarray):
        for name in ("gcj02", "bd09"):
            rows = system == name
            if rows.any():
                geoms[rows] = crs_policy.offset_geometries_to_wgs84(geoms[rows], name)
        meta["offset"] = "per row"
    else:
        geoms = crs_policy.offset_geometries_to_wgs84(gdf.geometry.values, system)
        meta["offset"] = system
    return gdf.set_geometry(geoms, crs=4326)


def _riskmap_kml(path: Path) -> bool:
    from riskmap.kml import MARKER, kml_coordinates

    if path.suffix.lower() == ".kml" and not _file_contains(path, MARKER.encode()):
        return False  # riskmap writes its marker verbatim (UTF-8): no need to parse another program's KML here
    try:
        return kml_coordinates(path) is not None
    except DataFormatError:  # not parseable here: GDAL reads it (or says why not)
        return False


def _file_contains(path: Path, needle: bytes, block: int = 1 << 20) -> bool:
    """Whether the bytes ``needle`` occur in the file (read in blocks: a search releases the GIL between them)."""
    tail = b""
    with open(path, "rb") as fh:
        while data := fh.read(block):
            if needle in tail + data[:len(needle)] or needle in data:
                return True
            tail = data[-len(needle):]
    return False


def read_all_layers(path: str | Path, **kwargs) -> dict:
    """Every vector layer of a file as ``{name: GeoDataFrame}``; empty layers are skipped."""
    result = {}
    for name in list_layers(path):
        try:
            result[name] = read_vector(path, name, **kwargs)
        except EmptyLayerError:
            continue
    if not result:
        raise EmptyLayerError(tr("文件中没有要素，请选择有数据的文件", "the file holds no features; choose a file with data"),
                              path)
    return result


#: Characters pyogrio takes for URI syntax in a path (';' parameters, '!' archive member).
_URI_CHARACTERS = set(";!")


@contextlib.contextmanager
def gdal_source(path: str | Path) -> Iterator[str]:
    """The name under which OGR (via pyogrio) reads the local file ``path``.

    Absolute, so that a local name such as ``CSV:x.geojson`` is not taken for a GDAL
    connection prefix. pyogrio parses a path as a URI, so a name with ``;`` or ``!`` (or
    ending in ``.zip``) would name another file: such a file (and, for a shapefile, its
    companion files) is linked under a plain name in a private temporary folder for the read.
    A KMZ is read through ``/vsizip/`` with its KML document checked first.
    """
    path = Path(path).resolve()
    if _URI_CHARACTERS & set(str(path)) or str(path).lower().endswith(".zip"):
        tmpdir = Path(tempfile.mkdtemp(prefix="riskmap-src-"))
        try:
            stem = path.stem.lower()
            siblings = [p for p in path.parent.iterdir() if p.stem.lower() == stem] if path.suffix.lower() == ".shp" \
                else [path]
            for sibling in siblings:
                os.symlink(sibling, tmpdir / ("data" + sibling.suffix))
            yield _gdal_name(tmpdir / ("data" + path.suffix), path)
        finally:
            for part in tmpdir.iterdir():
                part.unlink()
            tmpdir.rmdir()
    else:
        yield _gdal_name(path, path)


@contextlib.contextmanager
def gdal_target(path: str | Path) -> Iterator[str]:
    """The name under which OGR (via pyogrio) writes ``path`` (whose own name is plain, e.g. a temporary file).

    When the folder's path holds a character pyogrio takes for URI syntax (``;``, ``!``), the
    write goes through a link to that folder from a private temporary folder, so the file is
    still created in place (and can be renamed atomically there).
    """
    path = Path(path).absolute()
    if not (_URI_CHARACTERS & set(str(path))):
        yield str(path)
        return
    tmpdir = Path(tempfile.mkdtemp(prefix="riskmap-dst-"))
    link = tmpdir / "d"
    try:
        os.symlink(path.parent, link, target_is_directory=True)
        yield str(link / path.name)
    finally:
        link.unlink(missing_ok=True)
        tmpdir.rmdir()


def _gdal_name(local: Path, path: Path) -> str:
    if path.suffix.lower() == ".kmz":
        try:
            with zipfile.ZipFile(local) as zf:
                kmls = [n for n in zf.namelist() if n.lower().endswith(".kml")]
                if not kmls:
                    raise DataFormatError(tr("KMZ 中没有 .kml 文档，请从来源程序重新导出",
                                             "the KMZ holds no .kml document; re-export it from the source program"),
                                          path)
                inner = "doc.kml" if "doc.kml" in kmls else kmls[0]
                with zf.open(inner) as fh:
                    _check_kml_bytes(path, _text_start(fh.read(65536)))
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise DataFormatError(tr("KMZ 压缩包已损坏，请从来源程序重新导出",
                                     "the KMZ archive is damaged; re-export it from the source program"),
                                  path) from exc
        return f"/vsizip/{local}/{inner}"
    return str(local)


def _read_ogr(path: Path, layer, meta, crs=None):
    import geopandas as gpd
    import pyogrio

    ext = path.suffix.lower()
    if ext == ".shp":
        check_shapefile_complete(path)
        if meta["encoding"] is None:
            meta["encoding"], meta["encoding_source"] = detect_shapefile_encoding(path)
    if ext == ".kmz":
        try:
            zipfile.ZipFile(path).testzip()
        except (zipfile.BadZipFile, OSError) as exc:
            raise DataFormatError(tr("KMZ 压缩包已损坏，请从来源程序重新导出",
                                     "the KMZ archive is damaged; re-export it from the source program"),
                                  path) from exc
    with gdal_source(path) as source:
        gdf = _read_ogr_source(source, path, layer, meta)
    return _finish_ogr(gdf, path, meta, crs)


#: Features per call when a worker thread reads or writes a big layer: pyogrio holds the GIL for a
#: whole call, so one call of 200,000 features would stop the window's event loop for a second or more;
#: calls of this size let the GUI thread run in between (well under 0.1 s each on a busy machine).
CHUNK_FEATURES = 4_000
#: Drivers whose layers are read from any feature index without reading the ones before.
_RANDOM_ACCESS_DRIVERS = {"GPKG", "ESRI Shapefile", "FlatGeobuf"}


_chunk_progress = threading.local()


@contextlib.contextmanager
def chunk_progress(callback):
    """While the block runs, chunked reads on this thread call ``callback(fraction)`` after each chunk.

    A task's progress callback may raise :class:`~riskmap.errors.CancelledError` there: 取消 then stops
    a big read between two chunks.
    """
    previous = getattr(_chunk_progress, "callback", None)
    _chunk_progress.callback = callback
    try:
        yield
    finally:
        _chunk_progress.callback = previous


def chunk_progress_callback():
    """The callback :func:`chunk_progress` set on this thread (None when none is set)."""
    return getattr(_chunk_progress, "callback", None)


def _off_main_thread() -> bool:
    return threading.current_thread() is not threading.main_thread()


@contextlib.contextmanager
def quiet_runtime_warnings():
    """Silence GDAL's RuntimeWarnings (e.g. about a temporary file's extension) for a block.

    On the main thread ``warnings.catch_warnings`` as before; on a worker thread that would swap the
    process-wide warnings state under the GUI thread, so the thread's own warnings are collected
    and dropped instead (:func:`riskmap.errors.collect_thread_warnings`, nested in a task's).
    """
    if not _off_main_thread():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            yield
        return
    dropped: list = []
    with collect_thread_warnings(dropped):
        yield


#: Drivers that parse the whole file at each open (GeoJSON, KML…): a ``skip_features`` piece costs a full
#: parse, so pieces would take quadratic time. On a worker thread such a layer of more than
#: :data:`CHUNK_FEATURES` features is first copied by GDAL in a child process (its own GIL) to a temporary
#: FlatGeobuf, whose pieces are then read as a random-access file's (:class:`LayerCopy`).
_COPY_FORMAT = ("FlatGeobuf", ".fgb")

#: The child process's program: GDAL streams the layer (Arrow batches, no pyarrow needed) into the copy.
#: geopandas/pandas/shapely are kept out of it: pyogrio imports them when present, 0.3 s of start-up for nothing.
_COPY_PROGRAM = r"""
import sys
sys.modules.update(geopandas=None, pandas=None, shapely=None)
import pyogrio.raw
src, layer, dst, driver = sys.argv[1:5]
with pyogrio.raw.open_arrow(src, layer=layer or None, batch_size=16384, use_pyarrow=False) as (meta, reader):
    pyogrio.raw.write_arrow(reader, dst, driver=driver, layer="piece", geometry_name="geometry",
                            geometry_type=meta["geometry_type"] or "Unknown", crs=meta["crs"],
                            layer_options={"SPATIAL_INDEX": "NO"})
"""

#: Bytes per second the child copies (a low estimate), for the progress bar while it runs.
_COPY_RATE = 15e6
#: Seconds between two looks at the child (and two progress calls, where 取消 is noticed).
_COPY_POLL_S = 0.05
#: A file of a one-pass driver above this size has its copy started at once on a worker thread, beside the
#: info read that checks its driver (both are whole parses; on two cores they overlap).
EARLY_COPY_BYTES = 4_000_000
#: Wall time aimed at per piece of a read in pieces of :data:`CHUNK_FEATURES` (the GIL is held for most of
#: it): pieces grow up to four times :data:`CHUNK_FEATURES` while they take less (a piece has a fixed cost,
#: the CRS and frame built for it).
PIECE_SECONDS = 0.05


def layer_info(source: str, layer=None) -> dict | None:
    """``pyogrio.read_info`` of a layer (driver, features, fields, dtypes, CRS…), None when it fails.

    GDAL opens the file without the GIL, but for GeoJSON and KML an open is a whole parse: readers pass
    this to :func:`read_dataframe_chunked` rather than open the file once more.
    """
    import pyogrio

    try:
        with quiet_runtime_warnings():
            return pyogrio.read_info(source, layer=layer)
    except Exception:  # the read that follows reports the problem with the file's name
        return None


def _same_schema(a: dict, b: dict) -> bool:
    keys = ("fields", "dtypes", "ogr_types", "ogr_subtypes")
    return all(np.array_equal(np.asarray(a.get(k)), np.asarray(b.get(k))) for k in keys) \
        and a.get("features") == b.get("features")


class LayerCopy:
    """A copy of one layer to a temporary FlatGeobuf, made by GDAL in a child process (its own GIL).

    Parameters
    ----------
    source : str
        The GDAL name of the file (:func:`gdal_source`).
    layer : str, optional
        The layer (the first when omitted).
    size : int
        The file's size in bytes, for the progress estimate.

    Notes
    -----
    Starting the child never fails: when it cannot run (a bundled app without an interpreter, no process
    allowed) :meth:`wait` says False and the caller reads the source in one call. :meth:`close` ends a
    child still running and removes the copy.
    """

    def __init__(self, source: str, layer=None, size: int = 0):
        import subprocess
        import sys
        import time

        self.layer = layer
        self.expected_s = max(size / _COPY_RATE, 0.5)
        self.started = time.perf_counter()
        self.tmpdir = tempfile.mkdtemp(prefix="riskmap-piece-")
        self.path = os.path.join(self.tmpdir, "copy" + _COPY_FORMAT[1])
        self.child = None
        if getattr(sys, "frozen", False):
            return
        args = [sys.executable, "-c", _COPY_PROGRAM, source, "" if layer is None else str(layer), self.path,
                _COPY_FORMAT[0]]
        try:
            self.child = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL)
        except OSError:
            self.child = None

    def wait(self, progress=None) -> bool:
        """Wait for the copy; whether it is complete. ``progress(fraction)`` (0 to 0.5, estimated) meanwhile.

        Raises
        ------
        CancelledError
            When ``progress`` raises it (取消); the child runs on until :meth:`close`.
        """
        import subprocess
        import time

        if self.child is None:
            return False
        while True:
            try:
                return self.child.wait(_COPY_POLL_S) == 0
            except subprocess.TimeoutExpired:
                if progress is not None:  # may raise CancelledError: the owner's close() ends the child
                    progress(min(0.5, 0.5 * (time.perf_counter() - self.started) / self.expected_s))

    def close(self) -> None:
        """End the child if it still runs and remove the copy."""
        if self.child is not None and self.child.poll() is None:
            self.child.kill()
            self.child.wait()
        if os.path.isdir(self.tmpdir):
            for name in os.listdir(self.tmpdir):
                os.unlink(os.path.join(self.tmpdir, name))
            os.rmdir(self.tmpdir)


def early_copy(source: str, path: Path, layer=None) -> LayerCopy | None:
    """A :class:`LayerCopy` started now for a big file of a one-pass driver read on a worker thread, else None."""
    drivers = VECTOR_DRIVERS.get(path.suffix.lower(), ())
    if not _off_main_thread() or not drivers or set(drivers) & _RANDOM_ACCESS_DRIVERS:
        return None
    try:
        size = path.stat().st_size
    except OSError:
        return None
    return LayerCopy(source, layer, size) if size > EARLY_COPY_BYTES else None


def _read_pieces(source: str, layer, count: int, chunk: int, progress, start_fraction: float = 0.0,
                 grow: bool = False, **kwargs):
    import time

    import pyogrio

    frames, start, size = [], 0, chunk
    while start < count:
        began = time.perf_counter()
        frames.append(pyogrio.read_dataframe(source, layer=layer, skip_features=start, max_features=size,
                                             **kwargs))
        start += size
        if grow:
            took = max(time.perf_counter() - began, 1e-3)
            size = int(min(max(size * PIECE_SECONDS / took, chunk), 4 * chunk))
        if progress is not None:
            progress(start_fraction + (1.0 - start_fraction) * min(1.0, start / count))
    return pd.concat(frames, ignore_index=True)


def _read_copy(copy: LayerCopy, info: dict, chunk: int, progress, **kwargs):
    """The layer read in pieces from its copy; None when the copy failed or its fields differ from the source's."""
    if not copy.wait(progress):
        return None
    copied = layer_info(copy.path, "piece")
    if copied is None or not _same_schema(info, copied):  # a type FlatGeobuf lacks (a date, a list)
        return None
    kwargs.pop("encoding", None)  # the copy is UTF-8 (GeoJSON and KML always are)
    gdf = _read_pieces(copy.path, "piece", int(copied["features"]), chunk, progress, 0.5,
                       grow=chunk == CHUNK_FEATURES, **kwargs)
    return gdf.set_crs(info.get("crs") or None, allow_override=True)  # the source's own CRS text


def read_dataframe_chunked(source: str, layer=None, *, chunk: int | None = None, progress=None, info=None,
                           copy: LayerCopy | None = None, **kwargs):
    """``pyogrio.read_dataframe`` of a whole layer; on a worker thread in pieces of :data:`CHUNK_FEATURES`.

    Parameters
    ----------
    source : str
        The GDAL name of the file (:func:`gdal_source`).
    layer : str or int, optional
        The layer (the first when omitted).
    chunk : int, optional
        Features per piece (:data:`CHUNK_FEATURES`, then grown to about :data:`PIECE_SECONDS` a piece); a
        value other than the default pieces the read on any thread, in pieces of exactly that size.
    progress : callable, optional
        ``progress(fraction)`` after each piece (default: the one :func:`chunk_progress` set on this thread).
    info : dict, optional
        :func:`layer_info` of the layer when the caller has it (GeoJSON and KML are parsed at each open).
    copy : LayerCopy, optional
        A copy of this layer already started (:func:`early_copy`); the caller closes it.
    **kwargs
        Passed to ``pyogrio.read_dataframe``.

    Returns
    -------
    geopandas.GeoDataFrame
        The same frame as one ``pyogrio.read_dataframe`` call: rows, order, dtypes, geometry and CRS.

    Notes
    -----
    Drivers with random access (GeoPackage, Shapefile, FlatGeobuf) are read in pieces with
    ``skip_features``/``max_features``. Other drivers re-parse the file at each call, so their layer is
    first copied to a temporary FlatGeobuf by GDAL in a child process, then read in pieces; when the copy
    fails or its fields differ (a type FlatGeobuf lacks), the layer is read in one call.
    """
    import pyogrio

    chunk = chunk or CHUNK_FEATURES
    progress = progress or chunk_progress_callback()
    if not (_off_main_thread() or chunk != CHUNK_FEATURES):
        return pyogrio.read_dataframe(source, layer=layer, **kwargs)
    info = info if info is not None else layer_info(source, layer)
    count = int(info.get("features", -1)) if info is not None else -1
    if count <= chunk:
        return pyogrio.read_dataframe(source, layer=layer, **kwargs)
    if info.get("driver") in _RANDOM_ACCESS_DRIVERS:
        return _read_pieces(source, layer, count, chunk, progress, grow=chunk == CHUNK_FEATURES, **kwargs)
    own = copy is None
    if own:
        size = os.path.getsize(source) if os.path.isfile(source) else 0
        copy = LayerCopy(source, layer, size)
    try:
        gdf = _read_copy(copy, info, chunk, progress, **kwargs)
    finally:
        if own:
            copy.close()
    return gdf if gdf is not None else pyogrio.read_dataframe(source, layer=layer, **kwargs)


def _layer_geometry_type(gdf):
    """(geometry_type, promote_to_multi) of a whole frame, so every chunk of it writes the same layer type."""
    types = set(gdf.geom_type.dropna()) if len(gdf) else set()
    if len(types) == 1:
        return types.pop(), False
    bases = {t.replace("Multi", "") for t in types}
    if len(bases) == 1 and bases <= {"Point", "LineString", "Polygon"}:
        return "Multi" + bases.pop(), True
    return "Unknown", False


def _has_layer(path: str, layer: str) -> bool:
    import pyogrio

    if not os.path.exists(path):
        return False
    try:
        return layer in [str(name) for name in pyogrio.list_layers(path)[:, 0]]
    except Exception:  # not readable as a dataset: the write says what is wrong
        return False


def _keep_fid_column(gdf, driver: str, kwargs: dict) -> dict:
    """``kwargs`` with a GeoPackage FID column of another name when the frame has a column named ``fid``.

    GDAL takes a field named like the layer's FID column (``fid`` by default, any case) for the FIDs: the
    column is not a field any more (a project saved and reopened lost it) and appended pieces fail
    ("Could not find field index"). The layer's own FID column gets a free name instead, and the
    user's column stays an ordinary field.
    """
    if driver not in ("GPKG", "SQLite"):
        return kwargs
    names = {str(c).lower() for c in gdf.columns if c != getattr(gdf, "_geometry_column_name", None)}
    options = dict(kwargs.get("layer_options") or {})
    if "fid" not in names or any(str(k).upper() == "FID" for k in options):
        return kwargs
    name, k = "riskmap_fid", 1
    while name in names:
        k += 1
        name = f"riskmap_fid{k}"
    return {**kwargs, "layer_options": {**options, "FID": name}}


def write_dataframe_chunked(gdf, target: str, layer: str, *, driver: str = "GPKG", append: bool = False,
                            chunk: int | None = None, progress=None, **kwargs) -> None:
    """``pyogrio.write_dataframe`` of a whole frame; on a worker thread in appended calls of :data:`CHUNK_FEATURES`.

    The chunked layer has the same type and fields as one call would give it. A GeoPackage layer it
    creates gets GDAL's R-tree spatial index too (unless ``layer_options`` say ``SPATIAL_INDEX=NO``),
    built once after the last piece by :func:`build_gpkg_spatial_index`. Measured on 100,000 / 500,000
    small polygons in pieces of 4,000 (worker thread, 5 ms heartbeat on the main thread, 2 shared
    cores): without an index 0.6 / 2.7 s, longest gap 20 ms; ``SPATIAL_INDEX=YES`` on the first piece
    (GDAL defers the index only while creating the layer, appended pieces go through the triggers)
    1.4 / 14.6 s, pieces growing to 0.2 s, gap 166 ms; inserting shapely's bounds into the R-tree with
    :mod:`sqlite3` ``executemany`` +1.0 / +7.0 s (+4.5 s in Hilbert order with a larger cache), gap
    28 ms; the bulk-packed tree of :func:`build_gpkg_spatial_index` +0.15 / +0.8 s, gap 23 / 19 ms.
    One GDAL call with its own index: 0.4 / 2.3 s but a gap of 0.2 / 1.2 s (docs/design-decisions.md).

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        The frame to write.
    target : str
        The file (for a GeoPackage not named ``*.gpkg``, written as ``<target>.gpkg`` and renamed back).
    layer : str
        The layer's name.
    driver : str
        The OGR driver.
    append : bool
        Add to an existing file (or, for a layer it already has, to that layer: no index is built then).
    chunk : int, optional
        Features per call (default :data:`CHUNK_FEATURES`; any other value chunks on the main thread too).
    progress : callable, optional
        ``progress(fraction)`` after each call; it may raise :class:`~riskmap.errors.CancelledError`.
    **kwargs
        Passed to :func:`pyogrio.write_dataframe`.
    """
    import pyogrio

    kwargs = _keep_fid_column(gdf, driver, kwargs)
    chunk = chunk or CHUNK_FEATURES
    chunked = (_off_main_thread() or chunk != CHUNK_FEATURES) and len(gdf) > chunk
    scratch = None
    if driver == "GPKG" and _off_main_thread() and not str(target).lower().endswith(".gpkg"):
        # GDAL prints a warning on stderr at each open of a GeoPackage not named *.gpkg from a worker thread
        # (its error handler there is not pyogrio's): write under a .gpkg name, then rename back
        scratch = str(target) + ".gpkg"
        if os.path.exists(target):
            os.replace(target, scratch)
    try:
        if not chunked:
            pyogrio.write_dataframe(gdf, scratch or target, layer=layer, driver=driver, append=append, **kwargs)
            return
        geometry_type, promote = _layer_geometry_type(gdf)
        index = False
        if driver == "GPKG":  # an R-tree updated by triggers on every appended row: 14 s instead of 3 for 500k
            options = dict(kwargs.pop("layer_options", None) or {})
            index = str(options.get("SPATIAL_INDEX", "YES")).upper() not in ("NO", "FALSE", "OFF", "0") \
                and not (append and _has_layer(scratch or target, layer))
            kwargs["layer_options"] = {**options, "SPATIAL_INDEX": "NO"}
        for start in range(0, len(gdf), chunk):
            part = gdf.iloc[start:start + chunk]
            pyogrio.write_dataframe(part, scratch or target, layer=layer, driver=driver,
                                    append=append or start > 0, geometry_type=geometry_type,
                                    promote_to_multi=promote or None, **kwargs)
            if progress is not None:
                progress(min(1.0, (start + chunk) / len(gdf)))
        if index:
            build_gpkg_spatial_index(scratch or target, layer, gdf)
    finally:
        if scratch is not None and os.path.exists(scratch):
            os.replace(scratch, target)


# ---------------------------------------------------------------------------
# GeoPackage R-tree spatial index, built in bulk
# ---------------------------------------------------------------------------
#: Bytes of one R-tree cell in SQLite's node format: an int64 id and four float32 (minx, maxx, miny, maxy).
_RTREE_CELL_BYTES = 24
#: Rows per ``executemany`` while writing an R-tree: SQLite releases the GIL in each step, Python holds it
#: between rows, so a piece of this size is a few tens of milliseconds of mostly GIL-free work.
_RTREE_PIECE_ROWS = 20_000
#: SQLite's ``RNDTOWARDS`` / ``RNDAWAY`` (rtree.c): how it moves a double to the float32 on the safe side.
_RND_TOWARDS = 1.0 - 1.0 / 8388608.0
_RND_AWAY = 1.0 + 1.0 / 8388608.0

_GPKG_EXTENSIONS_DDL = ("CREATE TABLE gpkg_extensions (table_name TEXT,column_name TEXT,extension_name TEXT NOT NULL,"
                        "definition TEXT NOT NULL,scope TEXT NOT NULL,CONSTRAINT ge_tce UNIQUE (table_name, "
                        "column_name, extension_name))")

#: The triggers GDAL 3.12 creates for ``SPATIAL_INDEX=YES`` (GeoPackage 1.4 set, ``ogrgeopackagetablelayer.cpp``),
#: copied from ``.schema`` of a layer it wrote; ``{r}`` the R-tree, ``{t}`` the table, ``{g}`` the geometry
#: column, ``{i}`` the FID column (each already quoted).
_GPKG_RTREE_TRIGGERS = (
    'CREATE TRIGGER {q_insert} AFTER INSERT ON {t} WHEN (new.{g} NOT NULL AND NOT ST_IsEmpty(NEW.{g})) BEGIN '
    'INSERT OR REPLACE INTO {r} VALUES (NEW.{i},ST_MinX(NEW.{g}), ST_MaxX(NEW.{g}),ST_MinY(NEW.{g}), '
    'ST_MaxY(NEW.{g})); END',
    'CREATE TRIGGER {q_update6} AFTER UPDATE OF {g} ON {t} WHEN OLD.{i} = NEW.{i} AND (NEW.{g} NOTNULL AND NOT '
    'ST_IsEmpty(NEW.{g})) AND (OLD.{g} NOTNULL AND NOT ST_IsEmpty(OLD.{g})) BEGIN UPDATE {r} SET minx = '
    'ST_MinX(NEW.{g}), maxx = ST_MaxX(NEW.{g}),miny = ST_MinY(NEW.{g}), maxy = ST_MaxY(NEW.{g}) WHERE id = '
    'NEW.{i};END',
    'CREATE TRIGGER {q_update7} AFTER UPDATE OF {g} ON {t} WHEN OLD.{i} = NEW.{i} AND (NEW.{g} NOTNULL AND NOT '
    'ST_IsEmpty(NEW.{g})) AND (OLD.{g} ISNULL OR ST_IsEmpty(OLD.{g})) BEGIN INSERT INTO {r} VALUES (NEW.{i},'
    'ST_MinX(NEW.{g}), ST_MaxX(NEW.{g}),ST_MinY(NEW.{g}), ST_MaxY(NEW.{g})); END',
    'CREATE TRIGGER {q_update2} AFTER UPDATE OF {g} ON {t} WHEN OLD.{i} = NEW.{i} AND (NEW.{g} ISNULL OR '
    'ST_IsEmpty(NEW.{g})) BEGIN DELETE FROM {r} WHERE id = OLD.{i}; END',
    'CREATE TRIGGER {q_update5} AFTER UPDATE ON {t} WHEN OLD.{i} != NEW.{i} AND (NEW.{g} NOTNULL AND NOT '
    'ST_IsEmpty(NEW.{g})) BEGIN DELETE FROM {r} WHERE id = OLD.{i}; INSERT OR REPLACE INTO {r} VALUES (NEW.{i},'
    'ST_MinX(NEW.{g}), ST_MaxX(NEW.{g}),ST_MinY(NEW.{g}), ST_MaxY(NEW.{g})); END',
    'CREATE TRIGGER {q_update4} AFTER UPDATE ON {t} WHEN OLD.{i} != NEW.{i} AND (NEW.{g} ISNULL OR '
    'ST_IsEmpty(NEW.{g})) BEGIN DELETE FROM {r} WHERE id IN (OLD.{i}, NEW.{i}); END',
    'CREATE TRIGGER {q_delete} AFTER DELETE ON {t} WHEN old.{g} NOT NULL BEGIN DELETE FROM {r} WHERE id = '
    'OLD.{i}; END',
)


def _sql_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _float32_down(values: np.ndarray) -> np.ndarray:
    """float32 no greater than each double, as SQLite's ``rtreeValueDown`` stores a box's minimum."""
    f = values.astype(np.float32)
    over = f > values
    f[over] = (values[over] * np.where(values[over] < 0, _RND_AWAY, _RND_TOWARDS)).astype(np.float32)
    return f


def _float32_up(values: np.ndarray) -> np.ndarray:
    """float32 no less than each double, as SQLite's ``rtreeValueUp`` stores a box's maximum."""
    f = values.astype(np.float32)
    under = f < values
    f[under] = (values[under] * np.where(values[under] < 0, _RND_TOWARDS, _RND_AWAY)).astype(np.float32)
    return f


def _rtree_nodes(ids: np.ndarray, boxes: np.ndarray, node_bytes: int):
    """A packed R-tree over ``boxes`` (float32 minx, maxx, miny, maxy in the order given) in SQLite's format.

    Consecutive runs of the most cells a node holds become the leaves, and runs of those the nodes above,
    up to one root (node 1): with the boxes in Hilbert order this is a Hilbert-packed R-tree.

    Returns
    -------
    numbers : np.ndarray
        Node numbers, the ``nodeno`` of the ``_node`` table's rows.
    blobs : list of bytes
        Their ``data``.
    rowids : np.ndarray
        ``(id, leaf nodeno)`` rows of the ``_rowid`` table.
    parents : np.ndarray
        ``(nodeno, parent nodeno)`` rows of the ``_parent`` table.
    """
    per_node = (node_bytes - 4) // _RTREE_CELL_BYTES
    counts = [-(-len(ids) // per_node)]
    while counts[-1] > 1:
        counts.append(-(-counts[-1] // per_node))
    depth = len(counts) - 1
    first = [1 + sum(counts[level + 1:]) for level in range(len(counts))]  # root 1, then each level below
    cell = np.dtype([("id", ">i8"), ("box", ">f4", (4,))])
    node_numbers, blobs, parents = [], [], []
    level_ids, level_boxes = ids, boxes
    for level, k in enumerate(counts):
        n = len(level_ids)
        cells = np.zeros(k * per_node, dtype=cell)
        cells["id"][:n] = level_ids
        cells["box"][:n] = level_boxes
        raw = np.zeros((k, node_bytes), dtype=np.uint8)
        raw[:, 4:4 + per_node * _RTREE_CELL_BYTES] = cells.view(np.uint8).reshape(k, -1)
        filled = np.full(k, per_node, dtype=">u2")
        filled[-1] = n - (k - 1) * per_node
        raw[:, 2:4] = filled.view(np.uint8).reshape(k, 2)
        if level == depth:
            raw[0, 0:2] = np.array([depth], dtype=">u2").view(np.uint8)
        numbers = np.arange(first[level], first[level] + k, dtype=np.int64)
        node_numbers.append(numbers)
        blobs.extend(bytes(row) for row in raw)
        owner = numbers[np.arange(n) // per_node]
        if level == 0:
            rowids = np.column_stack([level_ids, owner])
        else:
            parents.append(np.column_stack([level_ids, owner]))
        starts = np.arange(0, n, per_node)
        level_boxes = np.column_stack([np.minimum.reduceat(level_boxes[:, 0], starts),
                                       np.maximum.reduceat(level_boxes[:, 1], starts),
                                       np.minimum.reduceat(level_boxes[:, 2], starts),
                                       np.maximum.reduceat(level_boxes[:, 3], starts)])
        level_ids = numbers
    parents = np.concatenate(parents) if parents else np.empty((0, 2), dtype=np.int64)
    return np.concatenate(node_numbers), blobs, rowids, parents


def _executemany_in_pieces(con, sql: str, columns) -> None:
    """``executemany`` of the rows made of ``columns`` (arrays of one length), a piece at a time.

    The rows are made lazily from each piece: half a million tuples alive at once would also bring
    on a full garbage collection, which stops every thread.
    """
    n = len(columns[0])
    for start in range(0, n, _RTREE_PIECE_ROWS):
        piece = [c[start:start + _RTREE_PIECE_ROWS] for c in columns]
        con.executemany(sql, zip(*(c.tolist() if isinstance(c, np.ndarray) else c for c in piece)))


def _hilbert_order(boxes: np.ndarray, level: int = 16) -> np.ndarray:
    """Indices that sort ``boxes`` (minx, miny, maxx, maxy) by the Hilbert index of their centres."""
    side = (1 << level) - 1
    lo, hi = boxes[:, :2].min(axis=0), boxes[:, 2:].max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    x = (((boxes[:, 0] + boxes[:, 2]) / 2 - lo[0]) / span[0] * side).astype(np.int64)
    y = (((boxes[:, 1] + boxes[:, 3]) / 2 - lo[1]) / span[1] * side).astype(np.int64)
    d = np.zeros(len(boxes), dtype=np.int64)
    s = 1 << (level - 1)
    while s > 0:  # the xy → d conversion of the Hilbert curve, one bit of x and y per step
        rx, ry = (x & s) > 0, (y & s) > 0
        d += s * s * ((3 * rx) ^ ry)
        flip = ~ry & rx
        x = np.where(flip, side - x, x)
        y = np.where(flip, side - y, y)
        x, y = np.where(ry, x, y), np.where(ry, y, x)
        s >>= 1
    return np.argsort(d, kind="stable")


def _layer_fids(con, table: str, gdf, fid_column: str = "fid") -> np.ndarray | None:
    """The FIDs the rows of ``gdf`` got in the new ``table``, in the frame's order (None: not known for sure)."""
    if any(str(c).lower() == fid_column.lower() for c in gdf.columns if c != gdf.geometry.name):
        return None  # GDAL may have taken the column's values as the FIDs
    count, low, high = con.execute(f"SELECT count(*), min(rowid), max(rowid) FROM {_sql_name(table)}").fetchone()
    if count != len(gdf) or (count and (low, high) != (1, count)):
        return None
    return np.arange(1, count + 1, dtype=np.int64)  # a new table numbers its rows from 1 in order


def build_gpkg_spatial_index(path: str, table: str, gdf) -> bool:
    """Give the GeoPackage layer ``table``, just written from ``gdf`` without one, GDAL's R-tree spatial index.

    The same schema as GDAL's ``SPATIAL_INDEX=YES``: the ``rtree_<table>_<geom>`` virtual table, its
    seven triggers and the ``gpkg_rtree_index`` row of ``gpkg_extensions``. Like GDAL's own bulk
    creation, the tree's nodes are packed in memory (boxes in Hilbert order, bounds from
    :func:`shapely.bounds` stored as float32 rounded outwards, as SQLite does) and written straight into
    the R-tree's shadow tables; the writes go through :mod:`sqlite3` in pieces, which releases the GIL
    in every step, so a worker thread doing this leaves the GUI thread running.

    Parameters
    ----------
    path : str
        The GeoPackage file (closed by GDAL).
    table : str
        The layer's table, created from ``gdf`` and holding exactly its rows.
    gdf : geopandas.GeoDataFrame
        The frame written; its geometries give the boxes.

    Returns
    -------
    bool
        True when the index was built; False when the layer already has one, its FIDs cannot be
        matched to the frame's rows (a column named ``fid``, rows other than the frame's) or Python's
        SQLite has no R-tree module: the layer is then left without an index, readable as before.
    """
    import shapely

    con = sqlite3.connect(path, isolation_level=None)
    try:
        row = con.execute("SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?", (table,)).fetchone()
        if row is None:
            return False
        geom = row[0]
        rtree = f"rtree_{table}_{geom}"
        if con.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (rtree,)).fetchone():
            return False
        pk = [r[1] for r in con.execute(f"PRAGMA table_info({_sql_name(table)})") if r[5]]
        fids = _layer_fids(con, table, gdf, pk[0]) if len(pk) == 1 else None
        if fids is None:
            return False
        boxes = shapely.bounds(np.asarray(gdf.geometry.values, dtype=object))  # NaN for missing and empty ones
        kept = np.isfinite(boxes).all(axis=1)  # GDAL's triggers index no NULL or empty geometry either
        boxes, fids = boxes[kept], fids[kept]
        if len(boxes):
            order = _hilbert_order(boxes)
            boxes, fids = boxes[order], fids[order]
        boxes32 = np.column_stack([_float32_down(boxes[:, 0]), _float32_up(boxes[:, 2]),
                                   _float32_down(boxes[:, 1]), _float32_up(boxes[:, 3])])
        q = _sql_name
        con.execute("BEGIN")
        try:
            con.execute(f"CREATE VIRTUAL TABLE {q(rtree)} USING rtree(id, minx, maxx, miny, maxy)")
        except sqlite3.OperationalError as exc:
            if "no such module" not in str(exc):
                raise
            con.execute("ROLLBACK")  # an SQLite built without R-trees: the layer stays as before, unindexed
            return False
        if len(fids):
            (node_bytes,) = con.execute(f"SELECT length(data) FROM {q(rtree + '_node')} WHERE nodeno = 1").fetchone()
            numbers, blobs, rowids, parents = _rtree_nodes(fids, boxes32, node_bytes)
            rowids = rowids[np.argsort(rowids[:, 0])]  # in key order: appended to the b-tree, not scattered
            con.execute(f"DELETE FROM {q(rtree + '_node')}")
            _executemany_in_pieces(con, f"INSERT INTO {q(rtree + '_node')} VALUES (?, ?)", (numbers, blobs))
            _executemany_in_pieces(con, f"INSERT INTO {q(rtree + '_rowid')} VALUES (?, ?)",
                                   (rowids[:, 0], rowids[:, 1]))
            _executemany_in_pieces(con, f"INSERT INTO {q(rtree + '_parent')} VALUES (?, ?)",
                                   (parents[:, 0], parents[:, 1]))
        names = {f"q_{kind}": q(f"{rtree}_{kind}")
                 for kind in ("insert", "update6", "update7", "update2", "update5", "update4", "delete")}
        for ddl in _GPKG_RTREE_TRIGGERS:
            con.execute(ddl.format(r=q(rtree), t=q(table), g=q(geom), i=q(pk[0]), **names))
        if not con.execute("SELECT 1 FROM sqlite_master WHERE name = 'gpkg_extensions'").fetchone():
            con.execute(_GPKG_EXTENSIONS_DDL)
        con.execute("INSERT INTO gpkg_extensions VALUES (?, ?, 'gpkg_rtree_index', "
                    "'http://www.geopackage.org/spec120/#extension_rtree', 'write-only')", (table, geom))
        con.execute("COMMIT")
        return True
    except BaseException:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise
    finally:
        con.close()


def _read_ogr_source(source: str, path: Path, layer, meta):
    import pyogrio

    ext = path.suffix.lower()
    kwargs = {"encoding": meta["encoding"]} if meta["encoding"] else {}
    copy = early_copy(source, path, layer)
    try:
        info = None
        if layer is None or ext == ".shp":
            info = layer_info(source)  # the first layer's name too: one open less (a whole parse for GeoJSON/KML)
            if info is not None:
                layer = str(info["layer_name"])
            else:
                layers = pyogrio.list_layers(source)
                if len(layers) == 0:
                    raise EmptyLayerError(tr("文件中没有图层，请选择有数据的文件",
                                             "the file holds no layers; choose a file with data"), path)
                layer = str(layers[0][0])
        meta["layer"] = path.stem if ext == ".shp" else layer
        info = info or layer_info(source, layer)
        _check_opened_driver(path, info.get("driver") if info else None, VECTOR_DRIVERS[ext])
        with quiet_runtime_warnings():
            gdf = read_dataframe_chunked(source, layer=layer, on_invalid="ignore", info=info, copy=copy, **kwargs)
    except (EmptyLayerError, DataFormatError, CancelledError):
        raise
    except UnicodeDecodeError as exc:
        raise EncodingError(tr("属性文字无法解码，请添加注明其编码的 .cpg 文件",
                               "attribute text does not decode; add a .cpg file naming its encoding"), path) from exc
    except Exception as exc:
        raise DataFormatError(tr(f"无法读取文件（{_short(exc)}），文件可能不完整或已损坏；请恢复或重新导出",
                                 f"cannot read the file ({_short(exc)}); it may be truncated or corrupt — "
                                 "restore it or re-export it"), path) from exc
    finally:
        if copy is not None:
            copy.close()
    return gdf


def _finish_ogr(gdf, path: Path, meta, crs):
    import geopandas as gpd

    ext = path.suffix.lower()
    if not isinstance(gdf, gpd.GeoDataFrame) or "geometry" not in gdf:
        raise DataFormatError(tr("图层没有几何列，请改用带坐标列的 CSV/Excel 表格",
                                 "the layer has no geometry column; use a CSV/Excel with coordinates instead"), path)
    if len(gdf) == 0:
        raise EmptyLayerError(tr("图层没有要素，请选择有数据的文件", "the layer has no features; choose a file with data"), path)
    if gdf.crs is None:
        if crs is None:
            hint_zh, hint_en = ("补上 .prj 文件", "add the .prj file") if ext == ".shp" else \
                ("在文件中注明坐标系", "name its CRS")
            raise MissingCRSError(tr(f"文件没有坐标系，请{hint_zh}或指定一个坐标系（如 EPSG:4490）",
                                     f"the file has no coordinate reference system; {hint_en} or choose one "
                                     "(e.g. EPSG:4490)"), path)
        gdf = gdf.set_crs(crs_policy.parse_crs(crs, path))
    meta["encoding"] = meta["encoding"] or "utf-8"
    meta["encoding_source"] = meta["encoding_source"] or "format"
    return gdf


def _find_column(columns, role, given, path, what):
    """The column of ``role`` ("lon"/"lat"): ``given`` by the user, else the first whose header reads so."""
    if given is not None:
        if given not in columns:
            raise CoordinateError(tr(f"没有名为 {given!r} 的列；表中的列为：{'、'.join(map(str, columns))}",
                                     f"no column named {given!r}; the columns are {', '.join(map(str, columns))}"),
                                  path)
        return given
    for col in columns:
        if tables.coordinate_role(col) == role:
            return col
    keys = tables.LON_KEYS if role == "lon" else tables.LAT_KEYS
    found = [str(c) for c in columns if not str(c).startswith("Unnamed: ")]
    shown = "、".join(found[:20]) + ("…" if len(found) > 20 else "")
    raise CoordinateError(tr(f"找不到{'经度' if role == 'lon' else '纬度'}列（查找了 {'、'.join(keys[:6])}…）；"
                             f"表中的列为：{shown}；请将坐标列命名为 经度/纬度 或 lon/lat",
                             f"no {what} column found (looked for {', '.join(keys[:6])}…); the columns found are: "
                             f"{', '.join(found[:20])}{'…' if len(found) > 20 else ''}; name the columns 经度/纬度 "
                             "or lon/lat"), path)


def _read_table_cells(path: Path, meta):
    """The sheet below its header as a text DataFrame, the sheet's 1-based row number of each row, the header."""
    try:
        cells, used = tables.read_cells(path, meta["encoding"])
    except UnicodeDecodeError as exc:
        raise EncodingError(tr("CSV 文字编码无法识别；请另存为 UTF-8", "the CSV text is in an unknown encoding; "
                               "save it as UTF-8"), path) from exc
    except LookupError as exc:
        raise EncodingError(tr(f"未知的编码“{meta['encoding']}”，请选择 UTF-8 或 GB18030",
                               f"unknown encoding {meta['encoding']!r}; choose UTF-8 or GB18030"), path) from exc
    except Exception as exc:
        raise DataFormatError(tr(f"无法读取表格（{_short(exc)}），文件可能不完整或已损坏；请重新保存",
                                 f"cannot read the table ({_short(exc)}); it may be truncated or corrupt — "
                                 "re-save it"), path) from exc
    meta["encoding"] = used
    meta["encoding_source"] = meta["encoding_source"] or ("content" if path.suffix.lower() == ".csv" else "format")
    filled = (cells != "").to_numpy(bool)
    if not filled.any():
        raise EmptyLayerError(tr("表格为空，请选择有数据行的文件", "the table is empty; choose a file with rows"), path)
    header = tables.find_header(cells.iloc[:tables.HEADER_SEARCH_ROWS + 1].to_numpy(object).tolist())
    names = tables.unique_names(header.names)
    frame = cells.iloc[header.last + 1:]
    frame.columns = names
    line_numbers = np.arange(header.last + 2, header.last + 2 + len(frame))
    filled = filled[header.last + 1:]
    keep = [j for j, c in enumerate(names) if not (c.startswith("Unnamed: ") and not filled[:, j].any())]
    blank = ~filled.any(axis=1)
    frame, line_numbers = frame.iloc[np.flatnonzero(~blank), keep].reset_index(drop=True), line_numbers[~blank]
    if header.found_below_titles:
        rows_text = f"{header.first + 1}" if header.first == header.last else f"{header.first + 1}–{header.last + 1}"
        title = header.titles[0][:40]
        meta["warnings"].append(tr(
            f"表头取自第{rows_text}行，跳过了上方 {len(header.titles)} 行标题（“{title}”）",
            f"the header was taken from row {rows_text}, below {len(header.titles)} title row(s) (“{title}”)"))
    elif header.first != header.last:
        meta["warnings"].append(tr(f"表头为第{header.first + 1}–{header.last + 1}行合并的两行表头",
                                   f"the header is the two rows {header.first + 1}–{header.last + 1} merged"))
    meta["header_row"] = int(header.first + 1)
    return frame, line_numbers, header


def table_datum(path: str | Path, encoding: str | None = None) -> tuple[str | None, str]:
    """The coordinate system a CSV/Excel table names for its lon/lat (header, 坐标系 column, title), and where.

    For the import dialog, which preselects it. ``(None, "")`` when the table names none, names
    several (row by row), or cannot be read (reading it for real then says why).
    """
    path = Path(path)
    meta = {"encoding": encoding, "encoding_source": None, "warnings": []}
    try:
        check_declared_format(path)
        if path.suffix.lower() != ".csv":
            check_archive(path)
        frame, _lines, header = _read_table_cells(path, meta)
        lon_name = _find_column(frame.columns, "lon", None, path, "longitude")
        lat_name = _find_column(frame.columns, "lat", None, path, "latitude")
    except (RiskmapError, OSError):
        return None, ""
    system, where = tables.detect_datum(lon_name, lat_name, header.titles, frame)
    return (system, where) if isinstance(system, str) else (None, "")


def _read_table(path: Path, meta, crs=None, lon_col=None, lat_col=None, skip_bad_rows=False):
    import geopandas as gpd
    import shapely

    frame, line_numbers, header = _read_table_cells(path, meta)
    if len(frame) == 0:
        raise EmptyLayerError(tr("表格没有数据行，请选择有数据的文件", "the table has no rows; choose a file with data"), path)
    lon_name = _find_column(frame.columns, "lon", lon_col, path, "longitude")
    lat_name = _find_column(frame.columns, "lat", lat_col, path, "latitude")
    lon = tables.by_rows(frame[lon_name], _coordinate_numbers).to_numpy(float)
    lat = tables.by_rows(frame[lat_name], _coordinate_numbers).to_numpy(float)
    summary = tables.summary_rows(frame, np.isfinite(lon) & np.isfinite(lat))
    if summary.any():
        first = tables.first_cells(frame)[summary]
        listed = "、".join(f"第{n}行“{str(t)[:20]}”" for n, t in zip(line_numbers[summary][:6], first[:6]))
        listed_en = ", ".join(f"row {n} “{str(t)[:20]}”" for n, t in zip(line_numbers[summary][:6], first[:6]))
        more = "…" if summary.sum() > 6 else ""
        meta["warnings"].append(tr(f"已去掉 {int(summary.sum())} 行合计/备注（不是数据）：{listed}{more}",
                                   f"dropped {int(summary.sum())} total/notes row(s) (not data): {listed_en}{more}"))
        notes_text = [str(t) for t in first]
        frame, line_numbers = frame.loc[~summary].reset_index(drop=True), line_numbers[~summary]
        lon, lat = lon[~summary], lat[~summary]
        if len(frame) == 0:
            raise EmptyLayerError(tr("表格除标题、表头和合计/备注行外没有数据行；请选择有数据的表格",
                                     "the table has no data rows besides its title, header and total/notes rows; "
                                     "choose a file with data"), path)
    else:
        notes_text = []
    target_crs = crs_policy.parse_crs(crs, path) if crs is not None else crs_policy.WGS84
    geographic = target_crs.is_geographic
    bad = ~np.isfinite(lon) | ~np.isfinite(lat)
    if geographic:
        finite = ~bad
        if finite.any() and np.all((np.abs(lon[finite]) <= 90)) and np.any(np.abs(lat[finite]) > 90):
            raise CoordinateError(tr(f"列“{lon_name}”/“{lat_name}”似乎经纬度填反了（纬度超过 90°），请交换经度列和纬度列",
                                     f"columns {lon_name!r}/{lat_name!r} look swapped (latitudes over 90°); "
                                     "swap the longitude and latitude columns"), path)
        bad |= (np.abs(lon) > 180) | (np.abs(lat) > 90)
    if bad.all():
        raise CoordinateError(tr(f"列“{lon_name}”/“{lat_name}”中没有一行是有效坐标，请检查坐标列",
                                 f"no row has valid coordinates in {lon_name!r}/{lat_name!r}; check the columns"), path)
    if bad.any():
        rows = line_numbers[bad].tolist()  # the sheet's own row numbers (1-based, header rows counted)
        if not skip_bad_rows:
            more = "…" if len(rows) > 8 else ""
            raise CoordinateError(tr(f"{len(rows)} 行坐标缺失或无效（第 {'、'.join(map(str, rows[:8]))}{more} 行），"
                                     "请改正或跳过这些行",
                                     f"{len(rows)} row(s) have missing or invalid coordinates "
                                     f"(lines {', '.join(map(str, rows[:8]))}{more}); fix them or skip bad rows"), path)
        meta["skipped_rows"] = rows
        frame, lon, lat = frame.loc[~bad].reset_index(drop=True), lon[~bad], lat[~bad]
    if geographic:
        meta["_datum"] = tables.detect_datum(lon_name, lat_name, list(header.titles) + notes_text, frame)
    frame = frame.apply(_numeric_if_possible)
    rows = tables.CHUNK_ROWS  # shapely.points holds the GIL: 0.28 s for 500,000 points in one call
    points = np.concatenate([shapely.points(lon[i:i + rows], lat[i:i + rows]) for i in range(0, len(lon), rows)])
    return gpd.GeoDataFrame(frame, geometry=gpd.array.from_shapely(points), crs=target_crs)


def _coordinate_numbers(part: pd.Series) -> pd.Series:
    return pd.to_numeric(part.str.strip(), errors="coerce")


def _numeric_if_possible(column: pd.Series) -> pd.Series:
    if column.dtype != object and not pd.api.types.is_string_dtype(column):
        return column
    stripped = tables.by_rows(column, lambda part: part.astype(str).str.strip())
    filled = tables.by_rows(stripped, lambda part: part != "")
    probe = stripped[filled].iloc[:64]  # one text among the first values: not a number column (exact, cheap)
    if len(probe) and pd.to_numeric(probe, errors="coerce").isna().any():
        return column
    converted = tables.by_rows(stripped, lambda part: pd.to_numeric(part.where(part != "", None), errors="coerce"))
    if converted.notna().sum() == filled.sum() and filled.any():
        return converted
    return column


#: Largest coordinate magnitude (metres) of a projected CRS: beyond any place on Earth even with a zone prefix.
MAX_PROJECTED_COORDINATE_M = 1e8


def _check_coordinates(gdf, path: Path) -> None:
    import shapely

    xy = shapely.get_coordinates(gdf.geometry.values)  # every vertex (empty geometries have none)
    bad = ~np.isfinite(xy).all(axis=1)
    if bad.any():  # a NaN/∞ vertex made lengths infinite and allocations unbounded (issue 18 fuzz)
        raise CoordinateError(tr(f"{int(bad.sum())} 个顶点的坐标不是有限数（NaN/∞）；文件可能已损坏，请从原始数据重新导出",
                                 f"{int(bad.sum())} vertices have non-finite coordinates (NaN/∞); the file may be "
                                 "damaged — export it again from the original data"), path)
    if not gdf.crs.is_geographic:
        unit = gdf.crs.axis_info[0].unit_name if gdf.crs.axis_info else ""
        largest = float(np.abs(xy).max()) if len(xy) else 0.0
        if unit in ("metre", "meter") and largest > MAX_PROJECTED_COORDINATE_M:
            raise CoordinateError(tr(f"坐标值达 {largest:.3g} m，超出地球上任何位置；声明的坐标系可能有误或文件已损坏",
                                     f"coordinates reach {largest:.3g} m, beyond any place on Earth; the declared "
                                     "CRS is probably wrong or the file damaged"), path)
        return
    minx, miny, maxx, maxy = gdf.total_bounds
    if not np.all(np.isfinite([minx, miny, maxx, maxy])):
        return
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        if -90 <= minx and maxx <= 90 and (miny < -90 or maxy > 90):
            raise CoordinateError(tr("经度和纬度似乎填反了（纬度超过 90°），请交换两个坐标轴",
                                     "longitude and latitude look swapped (latitudes over 90°); swap the axes"), path)
        raise CoordinateError(tr("坐标超出经纬度范围，所声明的坐标系可能有误；请选择正确的坐标系",
                                 "coordinates are out of longitude/latitude range; the declared CRS is probably "
                                 "wrong — choose the right one"), path)


def drop_empty_parts(gdf):
    """``gdf`` with the empty parts of its multi-part geometries removed (the same frame when it has none).

    GEOS 3.14 crashes (SIGSEGV) in ``line_locate_point`` on a ``MULTILINESTRING (EMPTY, (…))``, which a
    GeoJSON file can hold (found by the issue-18 corpus); an empty part carries nothing.
    """
    import shapely

    geoms = np.asarray(gdf.geometry.values, dtype=object)
    multi = np.flatnonzero(np.isin(shapely.get_type_id(geoms), (4, 5, 6, 7)))
    if not len(multi):
        return gdf
    parts, owner = shapely.get_parts(geoms[multi], return_index=True)
    empty = shapely.is_empty(parts)
    if not empty.any():
        return gdf
    fixed = geoms.copy()
    for k in np.unique(owner[empty]):  # only the few geometries that hold an empty part are rebuilt
        kept = parts[(owner == k) & ~empty]
        fixed[multi[k]] = type(geoms[multi[k]])(list(kept)) if len(kept) else type(geoms[multi[k]])()
    out = gdf.copy()
    out[gdf.geometry.name] = fixed
    return out.set_geometry(gdf.geometry.name, crs=gdf.crs)



def _repair(gdf, meta):
    import shapely

    if gdf.columns.duplicated().any():  # a damaged .dbf can repeat a field name: gdf[name] is then a frame
        seen: dict = {}
        names = []
        for col in gdf.columns:
            seen[col] = seen.get(col, 0) + 1
            names.append(col if seen[col] == 1 else f"{col}_{seen[col]}")
        repeated = sorted({str(c) for c, k in seen.items() if k > 1})
        gdf = gdf.set_axis(names, axis=1)
        meta.setdefault("warnings", []).append(tr(f"字段名重复（{'、'.join(repeated)}），重复的字段改名为 名称_2 …",
                                                  f"repeated field names ({', '.join(repeated)}); the repeats are "
                                                  "renamed name_2 …"))
    gdf = drop_empty_parts(gdf)
    geoms = gdf.geometry.values
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    invalid = ~missing & ~shapely.is_valid(geoms)
    if invalid.any():
        fixed = geoms.copy()
        fixed[invalid] = shapely.make_valid(geoms[invalid])
        gdf = gdf.set_geometry(fixed)
        meta["repaired"] = int(invalid.sum())
    meta["missing_geometries"] = int(missing.sum())
    if missing.all():
        raise EmptyLayerError(tr("所有要素都没有几何图形，请检查文件", "no feature has a geometry; check the file"),
                              meta["source"])
    return gdf


def _check_exists(path: Path) -> None:
    if not path.exists():
        raise DataFormatError(tr("文件不存在，请检查路径", "file not found; check the path"), path)
    if path.is_dir():
        raise DataFormatError(tr("这是文件夹，请选择其中的文件", "is a folder; choose a file inside it"), path)
    if not path.is_file():  # a pipe or a device: reading it could block for ever, or never end
        raise DataFormatError(tr("不是普通文件（管道或设备），请选择数据文件",
                                 "not a regular file (a pipe or a device); choose a data file"), path)
    if path.stat().st_size == 0:
        raise DataFormatError(tr("文件为空（0 字节），请从原始数据恢复",
                                 "the file is empty (0 bytes); restore it from the original data"), path)


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


# ---------------------------------------------------------------------------
# rasters
# ---------------------------------------------------------------------------
def open_raster(path: str | Path):
    """Open a GeoTIFF with rasterio, checking it is readable and has a CRS.

    Returns an open ``rasterio.DatasetReader``; use it as a context manager.
    """
    import rasterio
    from rasterio.errors import RasterioIOError

    path = check_local_path(path)
    _check_exists(path)
    allowed = RASTER_DRIVERS.get(path.suffix.lower())
    if allowed is None or path.suffix.lower() not in RASTER_EXTENSIONS:
        raise DataFormatError(tr("不是 riskmap 可读的栅格格式；请使用 GeoTIFF（.tif）",
                                 "not a raster format riskmap reads; use a GeoTIFF (.tif)"), path)
    check_declared_format(path)
    try:
        ds = rasterio.open(path.resolve(), driver=allowed[0])
    except RasterioIOError as exc:
        raise DataFormatError(tr(f"无法作为栅格打开（{_short(exc)}），请检查文件是否为完整的 GeoTIFF",
                                 f"cannot open as a raster ({_short(exc)}); check the file is a complete GeoTIFF"),
                              path) from exc
    if ds.driver not in allowed:
        ds.close()
        raise _wrong_format(path, " GeoTIFF", "a GeoTIFF")
    try:
        check_raster_size(ds, path)
    except ResourceLimitError:
        ds.close()
        raise
    try:  # a truncated file opens but fails on the last block
        ds.read(1, window=((ds.height - 1, ds.height), (ds.width - 1, ds.width)))
    except Exception as exc:
        ds.close()
        raise DataFormatError(tr("栅格文件不完整或已损坏，请从原始数据恢复",
                                 "the raster is truncated or corrupt; restore it from the original data"),
                              path) from exc
    if ds.crs is None:
        ds.close()
        raise MissingCRSError(tr("栅格没有坐标系，请为其添加坐标系（如用 gdal_edit -a_srs）",
                                 "the raster has no coordinate reference system; add one (e.g. with gdal_edit "
                                 "-a_srs)"), path)
    return ds


# ---------------------------------------------------------------------------
# info
# ---------------------------------------------------------------------------
def describe(path: str | Path, datum: str | None = None) -> list[dict]:
    """Summaries of every layer (vector) or band set (raster) in a file, for ``riskmap info``.

    ``datum`` is the ``offset`` of :func:`read_vector` (``--datum``): the coordinate system of a table's lon/lat.
    """
    path = Path(path)
    if path.suffix.lower() in RASTER_EXTENSIONS:
        with open_raster(path) as ds:
            return [{
                "layer": path.stem, "kind": "raster", "crs": ds.crs.to_string(), "size": f"{ds.width}×{ds.height}",
                "bands": ds.count, "dtype": ds.dtypes[0], "nodata": ds.nodata,
                "resolution": tuple(round(r, 6) for r in ds.res), "bbox": tuple(ds.bounds),
                "overviews": ds.overviews(1),
            }]
    out = []
    for name in list_layers(path):
        gdf = read_vector(path, name, offset=datum)
        meta = gdf.attrs["riskmap"]
        out.append({
            "layer": name, "kind": "vector", "crs": gdf.crs.to_string(), "features": len(gdf),
            "geometry": ", ".join(sorted(set(gdf.geom_type.dropna()))),
            "fields": ", ".join(f"{c} ({gdf[c].dtype})" for c in gdf.columns if c != gdf.geometry.name),
            "encoding": f"{meta['encoding']} ({meta['encoding_source']})",
            "bbox": tuple(round(float(v), 6) for v in gdf.total_bounds),
            "repaired": meta["repaired"],
            **({"warnings": "；".join(meta["warnings"])} if meta.get("warnings") else {}),
        })
    return out
