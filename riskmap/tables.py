"""Spreadsheets as agencies make them: title rows, two-row headers, total rows, header spellings, datum hints.

An agency's list of enterprises is rarely a plain table. It starts with a title row
("信阳市危险化学品企业名单"), a 填报单位/日期 line and blank rows, has a header merged over two
rows (坐标 over 经度 | 纬度, 危险化学品 over 名称 | 储量(吨)), and ends with a 合计 row and a 备注.
This module finds the header row, joins a two-row header into one name per column, and
says what it skipped, so that :func:`riskmap.io.read_vector` reads such a sheet as the table
the user sees. It knows nothing about Qt, analyses or GDAL.

- :func:`header_key`: one spelling of a header (NFKC, so full-width brackets are ASCII; no
  white space; no trailing unit in brackets; lower-case): ``"最大储存量（t）"`` → ``"最大储存量"``.
- :func:`read_cells`: the cells of a CSV (UTF-8 or GB18030) or of the first sheet of an XLSX, as text.
- :func:`find_header`: which row (or pair of rows) is the header, by how well its cells match
  :data:`KNOWN_HEADERS` within the first :data:`HEADER_SEARCH_ROWS` rows.
- :func:`summary_rows`: 合计/小计 rows, and the 备注/填表人 lines at the end.
- :func:`detect_datum`: GCJ-02 / BD-09 / WGS84 named in a coordinate header, a title row or a 坐标系 column.
"""
from __future__ import annotations

import csv
import io as _io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: How many rows from the top may hold title lines before the header.
HEADER_SEARCH_ROWS = 10

#: Rows per piece of a table's whole-column work (parsing, stripping, number conversion): pandas holds the
#: GIL through one such call, 0.4 µs a row, so a piece of 50,000 rows lets a window's event loop run within
#: about 20 ms while a worker thread reads a table of a million rows.
CHUNK_ROWS = 50_000


def by_rows(series, fn, rows: int | None = None):
    """``fn(series)`` computed on pieces of ``rows`` rows (:data:`CHUNK_ROWS`) and joined (index kept).

    For element-wise ``fn`` (``str.strip``, ``pd.to_numeric(errors="coerce")``…) the result is the one of a
    single call: pieces whose dtypes differ (int64 and float64) join as the single call's would.
    """
    import pandas as pd

    rows = rows or CHUNK_ROWS
    if len(series) <= rows:
        return fn(series)
    return pd.concat([fn(series.iloc[i:i + rows]) for i in range(0, len(series), rows)])

#: Header keys (see :func:`header_key`) of longitude and latitude columns.
LON_KEYS = ("lon", "lng", "long", "longitude", "x", "经度", "东经", "x坐标", "经度坐标", "坐标x", "经度值",
            "经度(°)", "gps经度")
LAT_KEYS = ("lat", "latitude", "y", "纬度", "北纬", "y坐标", "纬度坐标", "坐标y", "纬度值", "纬度(°)", "gps纬度")

#: Header keys seen in agency spreadsheets (plants, sensitive targets, tailings, pipelines, roads).
#: Used only to recognise a header row; the analyses map their own fields (e.g.
#: ``riskmap.analysis.relocation.PLANT_FIELD_ALIASES``, whose keys are all listed here: a test checks it).
KNOWN_HEADERS = frozenset(LON_KEYS + LAT_KEYS + (
    "序号", "编号", "id", "name", "名称", "企业名称", "单位名称", "企业(单位)名称", "企业全称", "生产经营单位名称",
    "地址", "详细地址", "企业地址", "单位地址", "注册地址", "经营地址", "生产地址", "所在地", "位置", "坐标", "位置坐标",
    "地理坐标", "经纬度", "坐标系", "坐标系统", "坐标类型", "坐标来源",
    "县区", "所属县区", "所在县区", "区县", "县(区)", "县(市、区)", "县市区", "所属县(区)", "所属县", "所属区县", "辖区",
    "所属辖区",
    "乡镇", "所属乡镇", "乡镇(街道)", "county", "industry", "行业", "行业类别", "所属行业", "行业分类",
    "企业类型", "经营类型", "企业性质", "经营方式", "许可类型", "许可范围", "经营范围",
    "危险化学品", "危化品", "危险化学品名称", "危化品名称", "危险物品名称及数量", "主要危险化学品", "危险化学品及储量",
    "储存危险化学品", "涉及危险化学品", "主要危险化学品及储量", "危险化学品名称及储量", "chemicals",
    "储存量", "储量", "最大储存量", "设计储存量", "实际储存量", "最大储量", "储存数量", "数量", "危险化学品储量",
    "危化品储量", "amount",
    "外部安全防护距离", "安全防护距离", "防护距离", "safe_dist", "是否在化工园区", "是否入园", "位于化工园区", "园区",
    "所在园区", "化工园区", "厂区半径", "单元", "单元名称", "危险源单元", "重大危险源单元", "辨识单元", "单元类型",
    "重大危险源", "是否重大危险源", "重大危险源等级", "级别", "等级", "风险等级",
    "统一社会信用代码", "法定代表人", "主要负责人", "负责人", "联系人", "联系电话", "电话", "手机", "备注",
    "类别", "类型", "category", "学校", "医院", "学校名称", "机构名称", "场所名称", "敏感目标名称", "单位类型",
    "场所类型", "敏感目标类型",
    "尾矿库名称", "总库容", "设计总库容", "库容", "全库容", "坝高", "总坝高", "设计坝高", "等别", "下游居民",
    "管道名称", "介质", "输送介质", "管径", "外径", "设计压力", "压力",
    "道路名称", "路线编号", "桩号", "起点桩号", "终点桩号", "事故时间", "发生时间", "死亡人数", "受伤人数",
))

#: First words of rows that sum the rows above (dropped wherever they stand when they hold no coordinates).
TOTAL_WORDS = ("合计", "总计", "小计", "共计", "总数", "总和", "累计")
#: First words of the lines agencies put below a table (dropped only at the end of the sheet).
NOTE_WORDS = TOTAL_WORDS + ("备注", "注:", "注 :", "注1", "说明", "填表", "制表", "填报", "审核", "审批", "负责人:",
                            "联系人:", "联系电话:", "数据来源", "资料来源", "统计时间", "统计日期", "截至", "截止", "附注")

#: Words naming a coordinate system in a header, a title or a 坐标系 column (first match wins, longest first).
DATUM_WORDS = (
    ("gcj-02", "gcj02"), ("gcj02", "gcj02"), ("gcj", "gcj02"), ("高德", "gcj02"), ("腾讯", "gcj02"), ("火星", "gcj02"),
    ("amap", "gcj02"), ("gaode", "gcj02"), ("tencent", "gcj02"), ("国测局", "gcj02"),
    ("bd-09", "bd09"), ("bd09", "bd09"), ("百度", "bd09"), ("baidu", "bd09"),
    ("wgs-84", "wgs84"), ("wgs84", "wgs84"), ("wgs 84", "wgs84"), ("cgcs2000", "wgs84"), ("cgcs 2000", "wgs84"),
    ("国家2000", "wgs84"), ("2000国家大地", "wgs84"), ("天地图", "wgs84"), ("gps", "wgs84"), ("北斗", "wgs84"),
)
#: Header keys of a column that says, row by row, which coordinate system the row's lon/lat are in.
DATUM_COLUMN_KEYS = ("坐标系", "坐标系统", "坐标类型", "坐标来源", "坐标系类型", "datum", "crs")

_UNIT_SUFFIX = re.compile(r"[(\[【{<《]([^()\[\]【】{}<>《》]*)[)\]】}>》]$")
_SPACE = re.compile(r"\s+")


def header_key(text) -> str:
    """One spelling of a header: NFKC (full-width ``（）`` → ``()``), no white space, no trailing unit, lower-case.

    Examples: ``"最大储存量（t）"`` → ``"最大储存量"``; ``" 经度\\n(°) "`` → ``"经度"``; ``"储量(吨)"`` →
    ``"储量"``; ``"Longitude"`` → ``"longitude"``; ``"县（区）"`` → ``"县(区)"`` (a bracket that is the whole
    rest of a word is kept when removing it would leave one character).
    """
    key = _SPACE.sub("", unicodedata.normalize("NFKC", str(text))).lower()
    key = key.rstrip(":：*")
    m = _UNIT_SUFFIX.search(key)
    if m and len(key[:m.start()]) >= 2:
        key = key[:m.start()]
    return key


def header_unit(text) -> str:
    """The bracketed unit at the end of a header (``"储量(吨)"`` → ``"吨"``, ``"最大储存量（t）"`` → ``"t"``), or ``""``."""
    key = _SPACE.sub("", unicodedata.normalize("NFKC", str(text))).lower()
    m = _UNIT_SUFFIX.search(key)
    return m.group(1) if m and len(key[:m.start()]) >= 2 else ""


def _strip_datum_words(key: str) -> str:
    for word, _system in DATUM_WORDS:
        key = key.replace(word, "")
    return key.strip("-_()·.")


def coordinate_role(text) -> str | None:
    """``"lon"``, ``"lat"`` or None for a header (``经度``, ``东经(°)``, ``高德经度``, ``经度(GCJ-02)``, ``Lng``)."""
    key = header_key(text)
    for candidate in (key, _strip_datum_words(key), _strip_datum_words(_SPACE.sub("", unicodedata.normalize(
            "NFKC", str(text))).lower())):
        if candidate in LON_KEYS:
            return "lon"
        if candidate in LAT_KEYS:
            return "lat"
    return None


def is_known_header(text) -> bool:
    """Whether a cell reads as a column name riskmap knows (:data:`KNOWN_HEADERS`, or a coordinate header)."""
    return header_key(text) in KNOWN_HEADERS or coordinate_role(text) is not None


def _is_number(text: str) -> bool:
    try:
        float(str(text).replace(",", "").strip())
        return True
    except ValueError:
        return False


# ---------------------------------------------------------------------------
# reading cells
# ---------------------------------------------------------------------------
def read_cells(path, encoding: str | None = None):
    """The cells of a CSV or of an XLSX's first sheet as a text DataFrame (columns 0…n-1, ``""`` for empty
    cells, stripped), and the encoding used.

    A CSV is decoded as ``encoding`` or, when None, as UTF-8 (with or without BOM) and then
    GB18030; pandas' C parser reads it when no row is wider than the first rows (title rows
    may be narrower), else the csv module does. Blank lines are kept, so row *i* is the sheet's
    row *i* + 1. Excel numbers are given as Python writes them (``114.0625``; whole numbers
    without ``.0``).

    Raises
    ------
    UnicodeDecodeError
        No candidate encoding decodes the CSV.
    """
    import pandas as pd

    path = Path(path)
    if path.suffix.lower() == ".csv":
        data = path.read_bytes()
        text, used = None, None
        for enc in ([encoding] if encoding else ["utf-8-sig", "gb18030"]):
            try:
                text, used = _decode(data, enc), enc
                break
            except UnicodeDecodeError:
                if encoding or enc == "gb18030":
                    raise
        used = used.replace("-sig", "")
        head = _head_rows(text, 200)
        width = max((len(r) for r in head), default=0)
        try:
            with pd.read_csv(_TextBlocks(text), header=None, names=list(range(max(width, 1))),
                             dtype=str, keep_default_na=False, skip_blank_lines=False, engine="c",
                             chunksize=CHUNK_ROWS) as pieces:  # the GIL is given back between pieces
                frame = pd.concat(list(pieces))
        except (pd.errors.ParserError, ValueError):  # a row wider than the first ones: parse row by row
            rows = [list(r) for r in csv.reader(_io.StringIO(text, newline=""))]
            width = max((len(r) for r in rows), default=0)
            frame = pd.DataFrame([r + [""] * (width - len(r)) for r in rows], dtype=str)
    else:
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True, data_only=True)
        try:
            sheet = wb.worksheets[0]
            rows = [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        finally:
            wb.close()
        width = max((len(r) for r in rows), default=0)
        frame = pd.DataFrame([r + [""] * (width - len(r)) for r in rows], dtype=str)
        used = "utf-8"
    frame.columns = range(frame.shape[1])
    for col in frame.columns:
        frame[col] = by_rows(frame[col], lambda part: part.fillna("").astype(str).str.strip())
    return frame, used


#: Bytes (characters) per block when a CSV is decoded and handed to the parser: one call over a whole file
#: holds the GIL (decoding 50 MB takes 55 ms; a StringIO of it, a copy, 77 ms).
TEXT_BLOCK = 1 << 20


def _decode(data: bytes, encoding: str) -> str:
    """``data.decode(encoding)``, a block at a time (the GIL is given back between blocks).

    Raises
    ------
    UnicodeDecodeError, LookupError
        As ``bytes.decode`` does.
    """
    import codecs

    decoder = codecs.getincrementaldecoder(encoding)()
    parts = [decoder.decode(data[i:i + TEXT_BLOCK]) for i in range(0, len(data), TEXT_BLOCK)]
    parts.append(decoder.decode(b"", final=True))
    return "".join(parts)


def _head_rows(text: str, n: int) -> list:
    """The first ``n`` rows of a CSV text, parsed from a prefix of it (not a StringIO copy of all of it)."""
    size = TEXT_BLOCK
    while True:
        try:
            rows = [r for _, r in zip(range(n + 1), csv.reader(_io.StringIO(text[:size], newline="")))]
        except csv.Error:  # the prefix ends inside a quoted field
            if size >= len(text):
                raise
            rows = []
        if len(rows) > n or size >= len(text):  # row n + 1 begun: the first n rows are whole
            return rows[:n]
        size *= 4


class _TextBlocks:
    """A text as a file for pandas' parser, read in the parser's blocks (StringIO would first copy all of it).

    Lines are given as they are (like ``StringIO(text, newline="")``).
    """

    def __init__(self, text: str):
        self.text = text
        self.pos = 0

    def read(self, size: int = -1) -> str:
        """Up to ``size`` characters (at most :data:`TEXT_BLOCK`); ``""`` at the end."""
        size = TEXT_BLOCK if size is None or size < 0 else min(size, TEXT_BLOCK)
        end = self.pos + size
        block = self.text[self.pos:end]
        self.pos += len(block)
        return block

    def __iter__(self):
        return iter(_io.StringIO(self.text[self.pos:], newline=""))


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)  # booleans as "True"/"False", dates as "2024-03-01 00:00:00" (as pandas gives them)


# ---------------------------------------------------------------------------
# the header
# ---------------------------------------------------------------------------
@dataclass
class Header:
    """Where a sheet's header is and what its columns are called.

    ``first`` and ``last`` are 0-based row indices (equal for a one-row header);
    ``names`` one name per column; ``titles`` the non-empty text of the rows above it.
    """

    first: int
    last: int
    names: list = field(default_factory=list)
    titles: list = field(default_factory=list)

    @property
    def found_below_titles(self) -> bool:
        """The header is not the sheet's first non-empty row."""
        return bool(self.titles)


def _row_score(row: list[str]) -> float:
    """How much a row looks like a header: known names count, a row of numbers or one lone cell does not."""
    cells = [c for c in row if c]
    if len(cells) < 2:
        return 0.0
    text = [c for c in cells if not _is_number(c)]
    if len(text) < 0.7 * len(cells):
        return 0.0
    known = sum(is_known_header(c) for c in cells)
    if known == 0:
        return 0.0
    roles = {coordinate_role(c) for c in cells}
    return known + 0.5 * ("lon" in roles) + 0.5 * ("lat" in roles) + 0.01 * len(text)


def _header_like(row: list[str]) -> bool:
    cells = [c for c in row if c]
    return bool(cells) and not any(_is_number(c) for c in cells)


def join_two_rows(top: list[str], bottom: list[str]) -> list[str]:
    """One name per column of a header merged over two rows.

    A group label (``坐标``, ``危险化学品``) stands above its first sub-column only (the merged
    cell's other cells are empty), so it is carried right over the sub-columns under it. Each
    column then takes the joined name when riskmap knows it (``危险化学品`` + ``名称`` →
    ``危险化学品名称``), else the lower name when known (``坐标`` + ``经度`` → ``经度``), else the
    lower name under an empty top, else the joined name; a column with nothing below keeps its top.
    """
    names, carried = [], ""
    for t, b in zip(top, bottom):
        if t:
            carried = t
        elif not b:
            carried = ""
        group = t or carried
        if not b:
            names.append(t)
            continue
        joined = group + b
        if group and is_known_header(joined):
            names.append(joined)
        elif is_known_header(b) or not group:
            names.append(b)
        else:
            names.append(joined)
    return names


def find_header(rows: list[list[str]], search_rows: int = HEADER_SEARCH_ROWS) -> Header:
    """Find the header among the first ``search_rows`` non-title rows.

    The header is the row whose cells best match :data:`KNOWN_HEADERS` and are mostly non-empty
    text (at least two cells, 70 % not numbers, one known name; longitude/latitude headers weigh
    more; the first of equal rows wins). It is joined with the row below (or above) when that
    row holds header text only and the pair names more known columns (a two-row header). When
    no row qualifies, the first non-empty row is the header (a sheet of unknown column names).

    Returns
    -------
    Header
    """
    window = rows[:search_rows]
    scores = [_row_score(r) for r in window]
    nonempty = [i for i, r in enumerate(rows) if any(r)]
    if not nonempty:
        return Header(0, 0, [], [])
    if max(scores, default=0.0) <= 0:
        first = nonempty[0]
        return Header(first, first, list(rows[first]), [])
    h = int(np.argmax(scores))
    first, last, names = h, h, list(rows[h])
    best = sum(is_known_header(c) for c in names if c)
    for a, b in ((h, h + 1), (h - 1, h)):
        if a < 0 or b >= len(rows) or not _header_like(rows[a if b == h else b]):
            continue
        joined = join_two_rows(rows[a], rows[b])
        known = sum(is_known_header(c) for c in joined if c)
        if known > best:
            first, last, names, best = a, b, joined, known
    titles = [" ".join(c for c in rows[i] if c) for i in range(first) if any(rows[i])]
    return Header(first, last, names, titles)


def unique_names(names: list[str]) -> list[str]:
    """Column names made unique as pandas does (``名称``, ``名称.1``); empty ones become ``Unnamed: i``."""
    out, seen = [], {}
    for i, name in enumerate(names):
        name = name or f"Unnamed: {i}"
        if name in seen:
            seen[name] += 1
            candidate = f"{name}.{seen[name]}"
            while candidate in seen:
                seen[name] += 1
                candidate = f"{name}.{seen[name]}"
            name = candidate
        seen.setdefault(name, 0)
        out.append(name)
    return out


def first_cells(frame) -> np.ndarray:
    """The first non-empty cell of each row of a text frame (``""`` for a blank row), whole-column."""
    values = frame.to_numpy(dtype=object) if frame.shape[1] else np.empty((len(frame), 0), object)
    if values.shape[1] == 0:
        return np.full(len(frame), "", dtype=object)
    filled = values != ""
    index = np.where(filled.any(axis=1), filled.argmax(axis=1), 0)
    out = values[np.arange(len(values)), index]
    out[~filled.any(axis=1)] = ""
    return out


def _starts_with(cells: np.ndarray, words) -> np.ndarray:
    norm = tuple(unicodedata.normalize("NFKC", w).replace(" ", "") for w in words)
    return np.array([_SPACE.sub("", unicodedata.normalize("NFKC", str(c))).startswith(norm) for c in cells], bool)


def summary_rows(frame, has_coordinates: np.ndarray) -> np.ndarray:
    """Rows that are not data: 合计/小计 rows anywhere, and 合计/备注/填表人… lines at the end of the sheet.

    Only rows without valid coordinates are taken (a plant named “合计…” with a location stays).

    Parameters
    ----------
    frame : DataFrame
        The sheet's rows below the header, as text.
    has_coordinates : array of bool
        Rows with valid longitude and latitude.

    Returns
    -------
    array of bool
    """
    free = ~np.asarray(has_coordinates, bool)
    candidates = np.flatnonzero(free)  # rows with a location are data whatever they say: only the others are read
    first = np.full(len(frame), "", dtype=object)
    first[candidates] = first_cells(frame.iloc[candidates])
    total, note = np.zeros(len(frame), bool), np.zeros(len(frame), bool)
    total[candidates] = _starts_with(first[candidates], TOTAL_WORDS)
    note[candidates] = _starts_with(first[candidates], NOTE_WORDS)
    blank = first == ""
    blank[~free] = False
    # trailing block: from the last row upwards while rows are notes/totals or blank
    tail = np.zeros(len(frame), bool)
    for i in range(len(frame) - 1, -1, -1):
        if note[i] or blank[i]:
            tail[i] = True
        else:
            break
    return (total | (tail & ~blank)) & ~blank


# ---------------------------------------------------------------------------
# datum
# ---------------------------------------------------------------------------
def datum_in_text(text) -> str | None:
    """``"gcj02"``, ``"bd09"``, ``"wgs84"`` or None for a text naming a coordinate system (see :data:`DATUM_WORDS`)."""
    key = _SPACE.sub(" ", unicodedata.normalize("NFKC", str(text))).lower()
    for word, system in DATUM_WORDS:
        if word in key:
            return system
    return None


def detect_datum(lon_header: str, lat_header: str, titles, frame) -> tuple[object, str]:
    """The coordinate system a table says its lon/lat are in, and where it says so.

    Looked at in order: the longitude and latitude headers (``经度(GCJ-02)``, ``高德经度``), a
    column headed 坐标系 / 坐标类型 / 坐标来源 (one system for all rows, or one per row), the
    title rows above the header (``…（坐标取自高德地图）``).

    Returns
    -------
    (system, where)
        ``system`` is ``"gcj02"``, ``"bd09"``, ``"wgs84"``, an object array of those (or None)
        per row when a 坐标系 column names several, or None when the table says nothing.
    """
    for header in (lon_header, lat_header):
        system = datum_in_text(header)
        if system:
            return system, f"“{header}”"
    for col in frame.columns:
        if header_key(col) in DATUM_COLUMN_KEYS:
            values = frame[col].astype(str).to_numpy(object)
            uniques = {v for v in values if v}
            mapping = {v: datum_in_text(v) for v in uniques}
            named = {s for s in mapping.values() if s}
            if len(named) == 1:
                return named.pop(), f"“{col}”"
            if len(named) > 1:
                return np.array([mapping.get(v) if v else None for v in values], dtype=object), f"“{col}”"
    for title in titles or ():
        system = datum_in_text(title)
        if system:
            return system, f"“{title[:40]}”"
    return None, ""


#: Header keys of the name column used to match a table's rows with another layer's features.
NAME_KEYS = ("企业名称", "单位名称", "名称", "企业(单位)名称", "企业全称", "生产经营单位名称", "name")


def _name_column(frame):
    keys = {header_key(c): c for c in reversed(list(frame.columns))}
    return next((keys[k] for k in NAME_KEYS if k in keys), None)


def datum_from_matches(points, references, tolerance_m: float = 30.0) -> tuple:
    """Whether a table's points are GCJ-02/BD-09, judged against the same features in other layers.

    Rows and features are matched by name (企业名称/名称/name, exact after NFKC and stripping);
    see :func:`riskmap.crs.offset_system_from_pairs` for the test.

    Parameters
    ----------
    points : GeoDataFrame
        The table read as WGS84 lon/lat (points).
    references : iterable of (layer name, GeoDataFrame)
        Point layers the user already has (any CRS).

    Returns
    -------
    (system or None, text)
        ``text`` says which layer and how many features matched, and how far off they were.
    """
    import pandas as pd

    from riskmap import crs as crs_policy
    from riskmap.i18n import tr

    name = _name_column(points)
    if name is None or len(points) == 0:
        return None, ""
    key = points[name].astype(str).map(lambda t: unicodedata.normalize("NFKC", t).strip())
    px, py = points.geometry.x.to_numpy(float), points.geometry.y.to_numpy(float)
    for layer_name, ref in references:
        ref_name = _name_column(ref)
        if ref_name is None or ref.crs is None or len(ref) == 0:
            continue
        types = set(ref.geom_type.dropna())
        if not types or not types <= {"Point"}:
            continue
        ref = ref.to_crs(crs_policy.WGS84) if not crs_policy.same_crs(ref.crs, crs_policy.WGS84) else ref
        ref_key = ref[ref_name].astype(str).map(lambda t: unicodedata.normalize("NFKC", t).strip())
        first = ~ref_key.duplicated().to_numpy() & (ref_key != "").to_numpy()
        lookup = pd.Series(np.flatnonzero(first), index=ref_key.to_numpy()[first])  # first feature of each name
        found = key.map(lookup).to_numpy(float)
        rows = np.flatnonzero(np.isfinite(found))
        if rows.size == 0:
            continue
        idx = found[rows].astype(int)
        rx, ry = ref.geometry.x.to_numpy(float)[idx], ref.geometry.y.to_numpy(float)[idx]
        system, raw, shifted = crs_policy.offset_system_from_pairs(px[rows], py[rows], rx, ry, tolerance_m)
        if system:
            label = "GCJ-02" if system == "gcj02" else "BD-09"
            return system, tr(f"与图层“{layer_name}”中同名的 {rows.size} 个要素相比偏约 {raw:.0f} m，按 {label} "
                              f"换算后相差 {shifted:.0f} m",
                              f"{rows.size} feature(s) of the same name in layer “{layer_name}” are about "
                              f"{raw:.0f} m away; as {label} they are {shifted:.0f} m away")
    return None, ""


__all__ = ["CHUNK_ROWS", "HEADER_SEARCH_ROWS", "KNOWN_HEADERS", "LAT_KEYS", "LON_KEYS", "NAME_KEYS", "Header",
           "coordinate_role", "by_rows", "datum_from_matches", "datum_in_text", "detect_datum", "find_header",
           "first_cells", "header_key", "header_unit", "is_known_header", "join_two_rows", "read_cells",
           "summary_rows", "unique_names"]
