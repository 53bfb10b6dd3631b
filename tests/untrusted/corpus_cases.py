"""Hand-made odd files from elsewhere: agency spreadsheets and damaged shapefiles (issue 16, "files nobody here made").

Each case is a function that writes its file(s) into a folder and returns the path a user would open; it is
registered in :data:`CASES` with what riskmap must do with it:

- ``"read"``: ``riskmap info`` exits 0 and prints every phrase of ``says`` (a warning line, a field);
- ``"refused"``: ``riskmap info`` exits 2 with one line holding every phrase of ``says``.

``test_corpus_cases.py`` runs each through ``info`` and every analysis (as its first input); the builders
are also used by the focused tests (``test_agency_tables.py``, ``test_truncated_shapefiles.py``). Cases for
other roles can be added here with :func:`case`; nothing binary is committed.
"""
from __future__ import annotations

import shutil
import struct
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_SHAPEFILES = ROOT / "data" / "shapefiles"

#: Published WGS84 ↔ GCJ-02 pair (googollee/eviltransform, python/test.py, Shanghai), as literals.
SHANGHAI_WGS84 = (121.5272106, 31.1774276)
SHANGHAI_GCJ02 = (121.531541859215, 31.17530398364597)


@dataclass
class Case:
    """One odd file: how to make it, and what riskmap must do with it."""

    name: str
    make: object
    expect: str  # "read" or "refused"
    says: tuple = ()


CASES: dict = {}


def case(name: str, expect: str, *says: str):
    """Register a builder ``make(folder) -> path`` as a corpus case."""
    def register(make):
        CASES[name] = Case(name, make, expect, says)
        return make
    return register


# ---------------------------------------------------------------------------
# agency spreadsheets
# ---------------------------------------------------------------------------
#: The rows of a typical agency list: title, 填报 line, blank, a header merged over two rows, data, 合计, 备注.
AGENCY_ROWS = [
    ["信阳市危险化学品企业名单"],
    ["填报单位：信阳市应急管理局", None, None, None, None, None, "填报日期：2026年11月"],
    [],
    ["序号", "企业名称", "所属县区", "坐标", None, "危险化学品", None, "备注"],
    [None, None, None, "经度", "纬度", "名称", "储量(吨)", None],
    [1, "明港化工有限公司", "平桥区", 114.0712, 32.1201, "液氯", 30, None],
    [2, "浉河化肥厂", "浉河区", 114.0500, 32.1300, "液氨", 15, "在建"],
    [3, "罗山县天然气储配站", "罗山县", 114.5301, 32.2033, "液化石油气", 40, None],
    ["合计", None, None, None, None, None, 85, None],
    ["备注：储量为最大设计储存量。"],
]
#: Merged ranges of :data:`AGENCY_ROWS` (title across, vertical header cells, the two group labels).
AGENCY_MERGES = ("A1:H1", "A4:A5", "B4:B5", "C4:C5", "D4:E4", "F4:G4", "H4:H5")


def write_xlsx(path: Path, rows, merges=()) -> Path:
    """An .xlsx of ``rows`` (lists of cell values; None or missing for empty) with merged ranges."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "企业名单"
    for row in rows:
        ws.append(list(row))
    for ref in merges:
        ws.merge_cells(ref)
    wb.save(path)
    return path


def write_csv(path: Path, rows, encoding: str = "utf-8", pad: bool = False) -> Path:
    """A CSV of ``rows`` as spreadsheet programs write it; ``pad=False`` leaves short rows short (a title row
    with no commas, as hand-edited files have)."""
    import csv
    import io

    width = max(len(r) for r in rows)
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    for row in rows:
        cells = ["" if v is None else v for v in row]
        writer.writerow(cells + [""] * (width - len(cells)) if pad else cells)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


@case("agency_title_rows.xlsx", "read", "表头取自第4–5行", "信阳市危险化学品企业名单", "第9行“合计”", "features: 3")
def agency_title_rows_xlsx(folder: Path) -> Path:
    return write_xlsx(folder / "危化企业名单.xlsx", AGENCY_ROWS, AGENCY_MERGES)


@case("agency_title_rows_gbk.csv", "read", "表头取自第4–5行", "第10行“备注", "features: 3")
def agency_title_rows_csv(folder: Path) -> Path:
    return write_csv(folder / "危化企业名单.csv", AGENCY_ROWS, encoding="gb18030")


#: One-row header in the spellings of another county's list (units in full-width brackets, 东经/北纬).
ALIAS_ROWS = [
    ["罗山县危险化学品经营（带储存）单位一览表（截至2026年10月）"],
    ["单位名称", "县(区)", "详细地址", "东经", "北纬", "危化品", "最大储存量（t）", "外部安全防护距离（m）"],
    ["罗山县鑫源化工有限公司", "罗山县", "罗山县城关镇工业大道8号", 114.5402, 32.2011, "液氯", 12, 600],
    ["罗山县宏达化学品仓储有限公司", "罗山县", "罗山县周党镇", 114.5615, 32.1544, "甲醇", "800", 300],
]


@case("agency_aliases.xlsx", "read", "表头取自第2行", "单位名称", "最大储存量（t）", "features: 2")
def agency_aliases_xlsx(folder: Path) -> Path:
    return write_xlsx(folder / "经营单位一览表.xlsx", ALIAS_ROWS, ("A1:H1",))


@case("amap_header.csv", "read", "GCJ-02", "已换算为 WGS84", "features: 1")
def amap_header_csv(folder: Path) -> Path:
    lon, lat = SHANGHAI_GCJ02
    rows = [["企业名称", "经度(GCJ-02)", "纬度(GCJ-02)", "危化品"], ["上海某化工", repr(lon), repr(lat), "液氨 20吨"]]
    return write_csv(folder / "高德拾取.csv", rows)


@case("coordinate_system_column.xlsx", "read", "逐行换算", "features: 3")
def coordinate_system_column_xlsx(folder: Path) -> Path:
    from riskmap import crs

    lon, lat = 114.0712, 32.1201
    glon, glat = (float(v) for v in crs.wgs84_to_gcj02(lon, lat))
    blon, blat = (float(v) for v in crs.wgs84_to_bd09(lon, lat))
    rows = [["名称", "经度", "纬度", "坐标系"], ["甲", glon, glat, "高德"], ["乙", blon, blat, "百度"],
            ["丙", lon, lat, "WGS84"]]
    return write_xlsx(folder / "坐标混合.xlsx", rows)


@case("no_datum_said.csv", "read", "--datum gcj02", "features: 1")
def no_datum_said_csv(folder: Path) -> Path:
    return write_csv(folder / "企业.csv", [["企业名称", "经度", "纬度"], ["明港化工", "114.0712", "32.1201"]])


@case("agency_without_coordinates.xlsx", "refused", "找不到经度列", "企业名称", "所属县区")
def agency_without_coordinates_xlsx(folder: Path) -> Path:
    rows = [["信阳市危险化学品企业名单"], ["序号", "企业名称", "所属县区", "地址", "危险化学品"],
            [1, "明港化工有限公司", "平桥区", "明港镇", "液氯30吨"]]
    return write_xlsx(folder / "无坐标.xlsx", rows, ("A1:E1",))


@case("agency_title_and_header_only.csv", "refused", "没有数据行")
def agency_title_and_header_only_csv(folder: Path) -> Path:
    return write_csv(folder / "空表.csv", [["信阳市危险化学品企业名单"], ["企业名称", "经度", "纬度"], ["合计"]])


# ---------------------------------------------------------------------------
# damaged shapefiles (copies of the bundled sample, then cut)
# ---------------------------------------------------------------------------
def sample_copy(folder: Path, stem: str = "enterprises", name: str = "企业") -> Path:
    """A copy of the sample's ``stem`` shapefile (all parts) named ``name`` in ``folder``."""
    for part in SAMPLE_SHAPEFILES.glob(stem + ".*"):
        shutil.copy(part, folder / (name + part.suffix))
    return folder / (name + ".shp")


def cut(path: Path, fraction: float = 0.5) -> Path:
    """Truncate ``path`` to ``fraction`` of its size (a copy that stopped half-way)."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    return path


@case("truncated_half.shp", "refused", "文件不完整/已截断", ".shp")
def truncated_half_shp(folder: Path) -> Path:
    shp = sample_copy(folder)
    cut(shp)
    return shp


@case("truncated_header_rewritten.shp", "refused", "文件不完整/已截断", "索引（.shx）")
def truncated_header_rewritten_shp(folder: Path) -> Path:
    """Cut in half, and the header's file length rewritten to match (only the .shx index tells)."""
    shp = cut(sample_copy(folder, "roads", "道路"))
    data = bytearray(shp.read_bytes())
    data[24:28] = struct.pack(">i", len(data) // 2)
    shp.write_bytes(bytes(data))
    return shp


@case("truncated_shx.shp", "refused", "文件不完整/已截断", ".shx")
def truncated_shx(folder: Path) -> Path:
    shp = sample_copy(folder)
    cut(shp.with_suffix(".shx"), 0.7)
    return shp


@case("truncated_dbf.shp", "refused", "文件不完整/已截断", ".dbf")
def truncated_dbf(folder: Path) -> Path:
    shp = sample_copy(folder)
    cut(shp.with_suffix(".dbf"), 0.6)
    return shp


@case("dbf_more_records_than_shapes.shp", "refused", "文件不完整/不一致", ".dbf")
def dbf_count_mismatch(folder: Path) -> Path:
    """The .dbf of another, longer layer beside this layer's .shp/.shx (a mixed-up copy)."""
    shp = sample_copy(folder, "roads", "道路")
    dbf = shp.with_suffix(".dbf")
    data = bytearray(dbf.read_bytes())
    n, header_len, record_len = struct.unpack("<IHH", data[4:12])
    record = data[header_len:header_len + record_len]
    body_end = header_len + n * record_len
    data[body_end:body_end] = record * 3  # three more records
    data[4:8] = struct.pack("<I", n + 3)
    dbf.write_bytes(bytes(data))
    return shp


# ---------------------------------------------------------------------------
# running the corpus (python corpus_cases.py WORKDIR; run by test_corpus_cases.py)
# ---------------------------------------------------------------------------
def population_raster(path: Path) -> Path:
    """A lon/lat population raster (0.01° cells, 20 persons each) over Xinyang and 罗山, where the cases' plants are."""
    import numpy as np
    import rasterio
    from affine import Affine

    with rasterio.open(path, "w", driver="GTiff", width=80, height=50, count=1, dtype="float32", crs="EPSG:4490",
                       transform=Affine(0.01, 0, 113.95, 0, -0.01, 32.45), nodata=-9999) as ds:
        ds.write(np.full((1, 50, 80), 20.0, np.float32))
    return path


def commands(path: Path, pop: Path, out: Path) -> list:
    """``info`` and every declared analysis with the case's file as its first input (required rasters: ``pop``)."""
    from riskmap.analysis.registry import ANALYSES

    argvs = [["info", str(path)]]
    for analysis in ANALYSES.values():
        first, *rest = analysis.inputs
        argv = [analysis.name, first.flag, str(path)]
        for spec in rest:
            if spec.required and spec.kind == "raster":
                argv += [spec.flag, str(pop)]
        argvs.append(argv + ["--out", str(out)])
    return argvs


def main_(work: Path) -> None:
    import json
    import time

    work.mkdir(parents=True, exist_ok=True)
    pop = population_raster(work / "pop.tif")
    for name, entry in CASES.items():
        folder = work / name
        folder.mkdir()
        path = entry.make(folder)
        for argv in commands(path, pop, folder / "out.gpkg"):
            record = {"case": name, "argv": argv[0]}
            print(json.dumps({**record, "start": True}, ensure_ascii=False), flush=True)
            t0 = time.monotonic()
            code, err, out = run_cli(argv)
            print(json.dumps({**record, "code": code, "stderr": err, "stdout": out[-4000:],
                              "seconds": round(time.monotonic() - t0, 2)}, ensure_ascii=False), flush=True)
            (folder / "out.gpkg").unlink(missing_ok=True)


def run_cli(argv) -> tuple:
    """The CLI run in this process: ``(exit code, stderr, stdout)``."""
    import contextlib
    import io

    from riskmap.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, err.getvalue(), out.getvalue()


if __name__ == "__main__":
    import sys

    main_(Path(sys.argv[1]))
