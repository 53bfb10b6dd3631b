"""安全风险四色分布图: one risk scale across the analyses, aggregated to townships and a grid.

The 双重预防机制 (风险分级管控和隐患排查治理, 国务院安委会办公室《关于实施遏制重特大事故工作指南构建双重预防机制的
意见》安委办〔2016〕11号) grades every risk into four levels, drawn in four colours: 重大风险（红）、较大风险（橙）、
一般风险（黄）、低风险（蓝）. riskmap maps the items each analysis produces onto that scale with one **rule table**
(:data:`DEFAULT_RULES`, plain JSON, so a user can copy it, edit it and give it back with ``--rules FILE.json``):

- 危险化学品企业 (the relocation result): GB 18218-2018 重大危险源 grade 一级–四级, the 建议搬迁 flag and, when
  a QRA result is given, its GB 36894-2018 societal-risk zone;
- 油气管道高后果区 (the pipelines result): GB 32167-2015 HCA grade Ⅰ–Ⅲ;
- 尾矿库 (the tailings result): GB 39496-2020 grade 一–五 and 头顶库;
- 道路隐患路段 (the roads result): already graded on the four-level scale.

Each item's level is the highest level of the rules it matches (the source's ``default`` when none does). An
area's level (乡镇/街道 polygon or grid cell) is the highest level of the items that intersect it, with the count
of each level; an item spanning several areas counts in each. All overlays are in a metric CRS.

The mapping from each standard's grades onto the four levels is riskmap's documented choice unless a rule's
``basis`` names a source: no national table maps GB 18218 grades or GB 32167 HCA grades onto the four colours.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from riskmap import crs as crs_policy
from riskmap.analysis.declare import RISKMAP_DEFAULT, Param, ParamSet
from riskmap.analysis.tailings_rules import OVERHEAD_SOURCE
from riskmap.errors import DataFormatError, ParameterError
from riskmap.i18n import tr

#: The four levels, highest first (wording of STANDARDS.md §0, 双重预防机制).
LEVELS = ("重大风险", "较大风险", "一般风险", "低风险")
#: English names of the levels.
LEVELS_EN = {"重大风险": "major risk", "较大风险": "high risk", "一般风险": "moderate risk", "低风险": "low risk"}
#: Rank of each level: 4 highest.
LEVEL_RANK = {"重大风险": 4, "较大风险": 3, "一般风险": 2, "低风险": 1}
#: Colour names of the levels.
COLOUR_NAMES = {"重大风险": ("红", "red"), "较大风险": ("橙", "orange"), "一般风险": ("黄", "yellow"),
                "低风险": ("蓝", "blue")}
#: Standard colours (riskmap default: pure red and yellow, the orange and the blue of the common office palette
#: that county four-colour maps are drawn with; the guidance names the colours, not their values).
COLOURS = {"重大风险": "#FF0000", "较大风险": "#FF9900", "一般风险": "#FFFF00", "低风险": "#0070C0"}

#: Basis of the four-level scale itself.
SCALE_BASIS = ("安委办〔2016〕11号《关于实施遏制重特大事故工作指南构建双重预防机制的意见》：安全风险分为重大、较大、"
               "一般和低风险，分别用红、橙、黄、蓝四种颜色标示，绘制安全风险四色分布图")

#: The default rule table. ``sources`` keys are the item sources; each rule matches one field with ``op``
#: (``in``: the value is one of ``value``; ``true``: the value is true; ``>=``, ``>``, ``<=``, ``<``: numeric).
DEFAULT_RULES: dict = {
    "name": "riskmap-fourcolour-default-1",
    "title_zh": "riskmap 默认安全风险分级规则表",
    "title_en": "riskmap default risk-level rule table",
    "scale_basis": SCALE_BASIS,
    "colours": dict(COLOURS),
    "empty_area_level": "低风险",
    "empty_area_basis": f"{RISKMAP_DEFAULT}：区域内未识别风险点时按低风险（蓝）绘制",
    "sources": {
        "enterprises": {
            "label_zh": "危险化学品企业", "label_en": "hazardous-chemical plants",
            "default": "低风险",
            "default_basis": f"{RISKMAP_DEFAULT}：未构成重大危险源且无其他规则命中的企业为低风险",
            "rules": [
                {"field": "hazard_grade", "op": "in", "value": ["一级", "≥一级"], "level": "重大风险",
                 "basis": f"GB 18218-2018 表6 一级重大危险源（R≥100）→重大风险（{RISKMAP_DEFAULT}对应）"},
                {"field": "hazard_grade", "op": "in", "value": ["二级", "≥二级"], "level": "较大风险",
                 "basis": f"GB 18218-2018 表6 二级重大危险源（50≤R<100）→较大风险（{RISKMAP_DEFAULT}对应）"},
                {"field": "hazard_grade", "op": "in", "value": ["三级", "四级", "≥三级", "≥四级"],
                 "level": "一般风险",
                 "basis": f"GB 18218-2018 表6 三级、四级重大危险源（R<50；“≥N级”为下限，按N级）→一般风险"
                          f"（{RISKMAP_DEFAULT}对应）"},
                {"field": "relocate", "op": "true", "level": "重大风险",
                 "basis": "国办发〔2017〕77号：城镇人口密集区危险化学品生产企业搬迁改造（riskmap 搬迁评估“建议搬迁”）"
                          f"→重大风险（{RISKMAP_DEFAULT}对应）"},
                {"field": "sr_zone", "op": "in", "value": ["不可接受区"], "level": "重大风险",
                 "basis": "GB 36894-2018 社会风险不可接受（定量风险评价结果，给出时）→重大风险"
                          f"（{RISKMAP_DEFAULT}对应）"},
                {"field": "sr_zone", "op": "in", "value": ["尽可能降低区"], "level": "较大风险",
                 "basis": f"GB 36894-2018 社会风险尽可能降低区（给出时）→较大风险（{RISKMAP_DEFAULT}对应）"},
            ],
        },
        "pipelines": {
            "label_zh": "油气管道高后果区", "label_en": "pipeline high-consequence areas",
            "default": "一般风险",
            "default_basis": f"{RISKMAP_DEFAULT}：未注明等级的高后果区为一般风险",
            "rules": [
                {"field": "hca_grade", "op": "in", "value": ["III"], "level": "重大风险",
                 "basis": f"GB 32167-2015 表1/表2 Ⅲ级高后果区（最高级）→重大风险（{RISKMAP_DEFAULT}对应）"},
                {"field": "hca_grade", "op": "in", "value": ["II"], "level": "较大风险",
                 "basis": f"GB 32167-2015 Ⅱ级高后果区→较大风险（{RISKMAP_DEFAULT}对应）"},
                {"field": "hca_grade", "op": "in", "value": ["I"], "level": "一般风险",
                 "basis": f"GB 32167-2015 Ⅰ级高后果区→一般风险（{RISKMAP_DEFAULT}对应）"},
            ],
        },
        "tailings": {
            "label_zh": "尾矿库", "label_en": "tailings ponds",
            "default": "低风险",
            "default_basis": f"{RISKMAP_DEFAULT}：五等且非头顶库的尾矿库为低风险",
            "rules": [
                {"field": "overhead", "op": "true", "level": "重大风险",
                 "basis": f"{OVERHEAD_SOURCE}：头顶库→重大风险（{RISKMAP_DEFAULT}对应）"},
                {"field": "grade", "op": "<=", "value": 2, "level": "较大风险",
                 "basis": f"GB 39496-2020 一、二等库→较大风险（{RISKMAP_DEFAULT}对应）"},
                {"field": "grade", "op": "in", "value": [3, 4], "level": "一般风险",
                 "basis": f"GB 39496-2020 三、四等库→一般风险（{RISKMAP_DEFAULT}对应）"},
            ],
        },
        "roads": {
            "label_zh": "道路隐患路段", "label_en": "road hazard segments",
            "default": "一般风险",
            "default_basis": f"{RISKMAP_DEFAULT}：未注明等级的隐患路段为一般风险",
            "rules": [
                {"field": "severity", "op": "in", "value": [lvl, f"{lvl}（{COLOUR_NAMES[lvl][0]}）"], "level": lvl,
                 "basis": "道路隐患识别已按四级风险分级（JTG D20-2017 指标与事故多发点段统计，见道路隐患识别的来源说明）"}
                for lvl in LEVELS
            ],
        },
    },
}

#: Item sources in the order their items are listed.
SOURCES = ("enterprises", "pipelines", "tailings", "roads")

PARAMS = ParamSet("fourcolour", [
    Param("rules", "str", None, "分级规则表（JSON）", "Rule table (JSON)", nullable=True, form=False,
          help_zh="风险分级规则表 JSON 文件（缺省用内置表；格式见 riskmap.analysis.fourcolour.DEFAULT_RULES，"
                  "报告的“分级规则”表列出所用规则）",
          help_en="risk-level rule table as a JSON file (default: the built-in table; the report's rule sheet "
                  "lists the rules used)"),
    Param("grid_m", "float", 1000.0, "网格边长", "Grid cell size", unit="m", minimum=100.0, maximum=10000.0,
          step=100, decimals=0, help_zh="四色网格的边长（对齐到坐标整倍数）",
          help_en="side of the four-colour grid cells (aligned to multiples of it)"),
    Param("area_name_field", "str", "name", "区域名称字段", "Area name field", form=False,
          help_zh="乡镇/街道图层的名称字段", help_en="name field of the township layer"),
    Param("with_qra", "bool", False, "含定量风险评价", "Include the QRA", cli="--with-qra",
          help_zh="未给出定量风险评价结果时，对企业运行定量风险评价（较慢）并按社会风险分区分级",
          help_en="run the QRA on the plants (slow) when no QRA result is given, and grade its societal-risk zone"),
    Param("top_n", "int", 10, "每县列出的风险点数", "Top items per county", minimum=1, maximum=100, form=False,
          help_zh="县区汇总与图集表格中每县列出的最高风险点数", help_en="items listed per county in the atlas table"),
])


@PARAMS.dataclass(frozen=True)
class FourColourParameters:
    """Parameters of the four-colour map: the fields, defaults and basis are :data:`PARAMS`."""


# ---------------------------------------------------------------------------
# the rule table
# ---------------------------------------------------------------------------
def load_rules(path=None) -> dict:
    """The rule table: :data:`DEFAULT_RULES`, or the JSON file at ``path`` (checked).

    Raises
    ------
    DataFormatError
        When the file cannot be read or the table is malformed (one line naming what is wrong).
    """
    if path is None or str(path).strip() == "":
        return json.loads(json.dumps(DEFAULT_RULES, ensure_ascii=False))
    try:
        table = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise DataFormatError(tr(f"无法读取分级规则表（{exc.strerror}）", f"cannot read the rule table ({exc.strerror})"),
                              path) from None
    except ValueError as exc:
        raise DataFormatError(tr(f"分级规则表不是有效的 JSON（{exc}）", f"the rule table is not valid JSON ({exc})"),
                              path) from None
    check_rules(table, path)
    return table


def check_rules(table: dict, source=None) -> None:
    """Refuse a malformed rule table with one line (:class:`DataFormatError`)."""
    def bad(zh, en):
        raise DataFormatError(tr(f"分级规则表：{zh}", f"rule table: {en}"), source)

    if not isinstance(table, dict) or not isinstance(table.get("sources"), dict):
        bad("缺少 sources", "no 'sources' object")
    for name, spec in table["sources"].items():
        if name not in SOURCES:
            bad(f"未知来源 {name!r}（可用 {', '.join(SOURCES)}）", f"unknown source {name!r} (use {', '.join(SOURCES)})")
        if spec.get("default", "低风险") not in LEVEL_RANK:
            bad(f"{name} 的 default 须为 {'/'.join(LEVELS)}", f"{name}: default must be one of {', '.join(LEVELS)}")
        for i, rule in enumerate(spec.get("rules") or []):
            where = f"{name} 第{i + 1}条"
            if rule.get("level") not in LEVEL_RANK:
                bad(f"{where} 的 level 须为 {'/'.join(LEVELS)}", f"{name} rule {i + 1}: level must be one of "
                    f"{', '.join(LEVELS)}")
            if rule.get("op") not in _OPS or not rule.get("field"):
                bad(f"{where} 须有 field 和 op（{' '.join(_OPS)}）", f"{name} rule {i + 1}: needs field and op "
                    f"({' '.join(_OPS)})")
    if table.get("empty_area_level", "低风险") not in LEVEL_RANK and table.get("empty_area_level") is not None:
        bad("empty_area_level 无效", "invalid empty_area_level")


def rules_sha256(table: dict) -> str:
    """sha256 of the rule table's canonical JSON (named in the provenance)."""
    text = json.dumps(table, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def rules_frame(table: dict) -> pd.DataFrame:
    """The rule table as rows (来源, 字段, 条件, 等级, 依据) for the report."""
    rows = []
    for name, spec in table["sources"].items():
        label = spec.get("label_zh", name)
        for rule in spec.get("rules") or []:
            value = rule.get("value")
            cond = {"true": "为真", "in": "属于"}.get(rule["op"], rule["op"])
            cond = f"{rule['field']} {cond}" + ("" if value is None else f" {json.dumps(value, ensure_ascii=False)}")
            rows.append((label, cond, rule["level"], rule.get("basis", RISKMAP_DEFAULT)))
        rows.append((label, "（其余）", spec.get("default", "低风险"), spec.get("default_basis", RISKMAP_DEFAULT)))
    return pd.DataFrame(rows, columns=["source", "condition", "level", "basis"])


def _truthy(values: pd.Series) -> np.ndarray:
    if values.dtype == bool:
        return np.array(values.to_numpy(bool))
    text = values.astype("string").str.strip().str.lower()
    return text.isin(["true", "1", "是", "yes", "y"]).fillna(False).to_numpy(bool)


def _numeric(values: pd.Series) -> np.ndarray:
    return pd.to_numeric(values, errors="coerce").to_numpy(float)


def _in(values: pd.Series, wanted) -> np.ndarray:
    wanted = wanted if isinstance(wanted, (list, tuple)) else [wanted]
    numbers = [w for w in wanted if isinstance(w, (int, float)) and not isinstance(w, bool)]
    hit = np.array(values.astype("string").str.strip().isin([str(w) for w in wanted]).fillna(False).to_numpy(bool))
    if numbers:
        hit |= np.isin(_numeric(values), np.asarray(numbers, float))
    return hit


_OPS = {
    "in": lambda v, w: _in(v, w),
    "true": lambda v, w: _truthy(v),
    ">=": lambda v, w: _numeric(v) >= float(w),
    ">": lambda v, w: _numeric(v) > float(w),
    "<=": lambda v, w: _numeric(v) <= float(w),
    "<": lambda v, w: _numeric(v) < float(w),
}


def grade(frame: pd.DataFrame, source: str, table: dict) -> tuple[np.ndarray, np.ndarray]:
    """Level and basis of every row of ``frame`` under the rule table's ``source`` rules.

    Each row takes the highest level among the rules it matches; a row matching none takes the
    source's ``default``. A rule naming a field the frame lacks matches nothing.

    Returns
    -------
    levels, bases : ndarray of str
    """
    spec = table["sources"].get(source)
    n = len(frame)
    if spec is None:
        raise ParameterError(tr(f"分级规则表没有来源 {source}", f"the rule table has no source {source!r}"))
    default = spec.get("default", "低风险")
    rank = np.full(n, LEVEL_RANK[default], int)
    basis = np.full(n, spec.get("default_basis", RISKMAP_DEFAULT), object)
    matched = np.zeros(n, bool)
    for rule in spec.get("rules") or []:
        field = rule["field"]
        if field not in frame.columns:
            continue
        hit = np.array(_OPS[rule["op"]](frame[field], rule.get("value")), bool)
        hit &= ~pd.isna(frame[field]).to_numpy(bool)
        r = LEVEL_RANK[rule["level"]]
        better = hit & (~matched | (r > rank))
        rank[better] = r
        basis[better] = rule.get("basis", RISKMAP_DEFAULT)
        matched |= hit
    by_rank = {v: k for k, v in LEVEL_RANK.items()}
    return np.array([by_rank[r] for r in rank.tolist()], object), basis


# ---------------------------------------------------------------------------
# items
# ---------------------------------------------------------------------------
ITEM_COLUMNS = ["source", "source_zh", "name", "county", "level", "rank", "basis", "detail"]


def _text(frame, column, n) -> pd.Series:
    if column in frame.columns:
        return frame[column].astype("string").fillna("").astype(object)
    return pd.Series([""] * n, index=frame.index, dtype=object)


def risk_items(sources: dict, table: dict, counties=None) -> gpd.GeoDataFrame:
    """Every item of the given analysis results with its level.

    Parameters
    ----------
    sources : dict
        ``{"enterprises": relocation plants, "pipelines": HCA segments, "tailings": tailings result,
        "roads": hazard segments}`` (GeoDataFrames; missing or None ones are skipped). A
        ``sr_zone`` column on the plants (from a QRA) is graded too.
    table : dict
        The rule table (:func:`load_rules`).
    counties : GeoDataFrame, optional
        County polygons (``name``) to fill an item's county where the result has none.

    Returns
    -------
    GeoDataFrame
        :data:`ITEM_COLUMNS` + geometry, in EPSG:4490, highest level first.
    """
    parts = []
    for source in SOURCES:
        frame = sources.get(source)
        if frame is None or not len(frame) or source not in table["sources"]:
            continue
        frame = frame.to_crs(crs_policy.MAP_CRS) if frame.crs is not None else frame.set_crs(crs_policy.MAP_CRS)
        frame = frame.loc[~(frame.geometry.isna() | frame.geometry.is_empty)]
        n = len(frame)
        levels, bases = grade(frame, source, table)
        name = _text(frame, "name", n)
        detail = pd.Series([""] * n, index=frame.index, dtype=object)
        if source == "pipelines" and "start_m" in frame.columns:
            km0, km1 = _numeric(frame["start_m"]) / 1000, _numeric(frame["end_m"]) / 1000
            grade_txt = _text(frame, "hca_grade", n).map({"I": "Ⅰ级", "II": "Ⅱ级", "III": "Ⅲ级"}).fillna("")
            detail = pd.Series([f"{g}高后果区 {a:.1f}–{b:.1f} km" for g, a, b in zip(grade_txt, km0, km1)],
                               index=frame.index, dtype=object)
        elif source == "roads":
            from riskmap.analysis.roads import KINDS

            kind = _text(frame, "kind", n).map(lambda k: KINDS.get(k, k))
            detail = (kind + " " + _text(frame, "km_label", n)).str.strip()
        elif source == "enterprises":
            detail = _text(frame, "hazard_grade", n)
            verdict = _text(frame, "verdict", n)
            detail = pd.Series([("重大危险源" + g if g and "级" in g else "") + ("；" if g and v else "") + v
                                for g, v in zip(detail, verdict)], index=frame.index, dtype=object)
        elif source == "tailings":
            from riskmap.analysis.tailings_rules import GRADE_ZH

            g = _numeric(frame["grade"]) if "grade" in frame.columns else np.full(n, np.nan)
            over = _truthy(frame["overhead"]) if "overhead" in frame.columns else np.zeros(n, bool)
            detail = pd.Series([(f"{GRADE_ZH.get(int(x), x)}库" if np.isfinite(x) else "") + ("；头顶库" if o else "")
                                for x, o in zip(g, over)], index=frame.index, dtype=object)
        spec = table["sources"][source]
        parts.append(gpd.GeoDataFrame({
            "source": source, "source_zh": spec.get("label_zh", source), "name": name.to_numpy(),
            "county": _text(frame, "county", n).to_numpy(), "level": levels,
            "rank": [LEVEL_RANK[v] for v in levels], "basis": bases, "detail": detail.to_numpy(),
        }, geometry=frame.geometry.to_numpy(), crs=crs_policy.MAP_CRS))
    if not parts:
        return gpd.GeoDataFrame({c: [] for c in ITEM_COLUMNS}, geometry=[], crs=crs_policy.MAP_CRS)
    items = pd.concat(parts, ignore_index=True)
    items = gpd.GeoDataFrame(items, geometry="geometry", crs=crs_policy.MAP_CRS)
    if counties is not None and len(counties) and (items["county"] == "").any():
        fill = _county_of(items, counties)
        empty = items["county"].to_numpy() == ""
        items.loc[empty, "county"] = fill[empty]
    items["rank"] = items["rank"].astype(int)
    order = np.lexsort((np.arange(len(items)), -items["rank"].to_numpy()))
    return items.iloc[order].reset_index(drop=True)


def _county_of(items: gpd.GeoDataFrame, counties: gpd.GeoDataFrame) -> np.ndarray:
    """Name of the county each item's representative point lies in ("" outside every county)."""
    counties = counties.to_crs(crs_policy.MAP_CRS)
    names = counties["name"].astype(str).to_numpy() if "name" in counties.columns else \
        np.array([str(i) for i in range(len(counties))])
    points = shapely.point_on_surface(items.geometry.to_numpy())
    tree = shapely.STRtree(counties.geometry.to_numpy())
    item_idx, county_idx = tree.query(points, predicate="intersects")
    out = np.full(len(items), "", object)
    first = np.unique(item_idx, return_index=True)[1]
    out[item_idx[first]] = names[county_idx[first]]
    return out


# ---------------------------------------------------------------------------
# aggregation
# ---------------------------------------------------------------------------
COUNT_COLUMNS = {lvl: f"n_{key}" for lvl, key in zip(LEVELS, ("major", "high", "moderate", "low"))}


def aggregate(items: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, table: dict | None = None,
              metric_crs=None) -> gpd.GeoDataFrame:
    """Highest level and count of each level per area.

    Parameters
    ----------
    items : GeoDataFrame
        From :func:`risk_items` (``level``, ``rank``).
    areas : GeoDataFrame
        Polygons (townships or grid cells); their columns are kept.
    table : dict, optional
        The rule table: its ``empty_area_level`` is the level of an area without items
        (default 低风险; None leaves it empty).
    metric_crs : CRS, optional
        The CRS of the overlay (default chosen from the areas).

    Returns
    -------
    GeoDataFrame
        ``areas`` (in their own CRS) plus ``level``, ``rank``, ``n_items``, ``n_major``, ``n_high``,
        ``n_moderate``, ``n_low`` and ``colour``. An item intersecting several areas counts in each.
    """
    table = table or DEFAULT_RULES
    out = areas.copy()
    n = len(out)
    metric_crs = metric_crs or crs_policy.metric_crs_for(areas)
    area_geoms = areas.to_crs(metric_crs).geometry.to_numpy()
    counts = np.zeros((n, len(LEVELS)), int)
    top = np.zeros(n, int)
    if len(items):
        item_geoms = items.to_crs(metric_crs).geometry.to_numpy()
        tree = shapely.STRtree(area_geoms)
        item_idx, area_idx = tree.query(item_geoms, predicate="intersects")
        ranks = items["rank"].to_numpy(int)[item_idx]
        np.add.at(counts, (area_idx, 4 - ranks), 1)
        np.maximum.at(top, area_idx, ranks)
    by_rank = {v: k for k, v in LEVEL_RANK.items()}
    empty_level = table.get("empty_area_level", "低风险")
    levels = np.array([by_rank.get(r, empty_level or "") for r in top.tolist()], object)
    out["level"] = levels
    out["rank"] = np.array([LEVEL_RANK.get(v, 0) for v in levels.tolist()], int)
    out["n_items"] = counts.sum(axis=1)
    for j, lvl in enumerate(LEVELS):
        out[COUNT_COLUMNS[lvl]] = counts[:, j]
    colours = table.get("colours") or COLOURS
    out["colour"] = [colours.get(v, "") for v in levels.tolist()]
    return out


def grid_cells(items: gpd.GeoDataFrame, cell_m: float, metric_crs=None, clip=None) -> gpd.GeoDataFrame:
    """Square cells of ``cell_m`` metres (aligned to multiples of it, metric CRS) that hold at least one item.

    Returned in EPSG:4490 with ``cell_id`` ("E{x_km}N{y_km}" of the lower-left corner).
    """
    if not len(items):
        return gpd.GeoDataFrame({"cell_id": []}, geometry=[], crs=crs_policy.MAP_CRS)
    metric_crs = metric_crs or crs_policy.metric_crs_for(items)
    geoms = items.to_crs(metric_crs).geometry.to_numpy()
    bounds = shapely.bounds(geoms)
    i0 = np.floor(bounds[:, 0] / cell_m).astype(np.int64)
    i1 = np.floor(bounds[:, 2] / cell_m).astype(np.int64)
    j0 = np.floor(bounds[:, 1] / cell_m).astype(np.int64)
    j1 = np.floor(bounds[:, 3] / cell_m).astype(np.int64)
    # candidate cells: every cell of each item's bounding box (items are small against the city)
    nx, ny = i1 - i0 + 1, j1 - j0 + 1
    reps = nx * ny
    owner = np.repeat(np.arange(len(geoms)), reps)
    local = np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps)
    ci = i0[owner] + local % nx[owner]
    cj = j0[owner] + local // nx[owner]
    boxes = shapely.box(ci * cell_m, cj * cell_m, (ci + 1) * cell_m, (cj + 1) * cell_m)
    hit = shapely.intersects(boxes, geoms[owner])
    keys = np.unique(np.column_stack([ci[hit], cj[hit]]), axis=0)
    cells = shapely.box(keys[:, 0] * cell_m, keys[:, 1] * cell_m, (keys[:, 0] + 1) * cell_m,
                        (keys[:, 1] + 1) * cell_m)
    ids = [f"E{x * cell_m / 1000:g}N{y * cell_m / 1000:g}" for x, y in keys.tolist()]
    grid = gpd.GeoDataFrame({"cell_id": ids}, geometry=cells, crs=metric_crs)
    if clip is not None and len(clip):
        county = clip.to_crs(metric_crs)
        tree = shapely.STRtree(county.geometry.to_numpy())
        cell_idx, county_idx = tree.query(grid.geometry.to_numpy(), predicate="intersects")
        names = county["name"].astype(str).to_numpy() if "name" in county.columns else None
        grid["county"] = ""
        if names is not None and len(cell_idx):
            first = np.unique(cell_idx, return_index=True)[1]
            grid.loc[grid.index[cell_idx[first]], "county"] = names[county_idx[first]]
    return grid.to_crs(crs_policy.MAP_CRS)


def county_summary(items: gpd.GeoDataFrame) -> pd.DataFrame:
    """Items per county and level (县区, 重大风险, 较大风险, 一般风险, 低风险, 合计)."""
    county = items["county"].replace("", "未分县") if len(items) else pd.Series([], dtype=object)
    table = pd.crosstab(county.to_numpy(), items["level"].to_numpy()) if len(items) else pd.DataFrame()
    table = table.reindex(columns=list(LEVELS), fill_value=0)
    table["合计"] = table.sum(axis=1)
    table.index.name = "县区"
    table.columns.name = None
    return table.reset_index()


def top_items(items: gpd.GeoDataFrame, county: str, n: int = 10) -> gpd.GeoDataFrame:
    """The ``n`` highest items of ``county`` (highest level first, then in source order)."""
    sel = items.loc[items["county"] == county]
    return sel.head(n)


__all__ = ["COLOURS", "COUNT_COLUMNS", "DEFAULT_RULES", "FourColourParameters", "LEVELS", "LEVEL_RANK", "PARAMS",
           "SOURCES", "aggregate", "check_rules", "county_summary", "grade", "grid_cells", "load_rules",
           "risk_items", "rules_frame", "rules_sha256", "top_items"]


# ---------------------------------------------------------------------------
# the analysis: grade the results of the other analyses (running them when given raw data)
# ---------------------------------------------------------------------------
#: Source → (upstream analysis, its result layer, the fields that show a layer already is that result).
UPSTREAM = {
    "enterprises": ("relocation", "plants", ("hazard_grade", "relocate")),
    "pipelines": ("pipelines", "hca", ("hca_grade",)),
    "tailings": ("tailings", "tailings", ("grade", "overhead")),
    "roads": ("roads", "hazard_segments", ("severity", "kind")),
}
#: Upstream analysis input role → the four-colour input role that feeds it.
UPSTREAM_INPUTS = {
    "relocation": {"plants": "enterprises", "population": "population", "sensitive": "sensitive"},
    "pipelines": {"pipelines": "pipelines", "population": "population", "sensitive": "sensitive", "water": "water",
                  "roads": "roads", "enterprises": "enterprises"},
    "tailings": {"tailings": "tailings", "dem": "dem", "population": "population"},
    "roads": {"roads": "roads", "dem": "dem", "water": "water", "accidents": "accidents", "counties": "counties"},
}


class FourColourResult:
    """Items, township and grid layers, the county table and the provenance of a four-colour run."""

    def __init__(self, items, areas, grid, summary, rules, provenance, upstream, upstream_results=None):
        self.items, self.areas, self.grid, self.summary = items, areas, grid, summary
        self.rules, self.provenance, self.upstream = rules, provenance, upstream
        #: {analysis: AnalysisResult} of the analyses this run ran itself (the meeting package writes their reports)
        self.upstream_results = upstream_results or {}

    def layers(self) -> dict:
        out = {"risk_items": self.items, "grid_risk": self.grid}
        if self.areas is not None:
            out = {"township_risk": self.areas, **out}
        return out


def is_result(frame, source: str) -> bool:
    """True when ``frame`` already is the upstream result layer of ``source`` (it has its fields)."""
    return frame is not None and all(f in frame.columns for f in UPSTREAM[source][2])


def assess_fourcolour(inputs: dict, params=None, progress=None) -> FourColourResult:
    """The four-colour map from analysis results (or from raw layers, running the analyses first).

    Parameters
    ----------
    inputs : dict
        ``enterprises``, ``pipelines``, ``tailings``, ``roads``: a result layer of the relocation,
        pipelines, tailings or roads analysis, or the raw layer (then that analysis runs with its
        defaults on it and the other inputs: ``population``, ``sensitive``, ``dem``, ``water``,
        ``accidents``, ``counties``); ``qra_plants``: a QRA plant table (its ``sr_zone`` is joined to
        the plants by name); ``areas``: township polygons; ``counties``.
    params : FourColourParameters, optional

    Returns
    -------
    FourColourResult
    """
    from riskmap.analysis.registry import ANALYSES
    from riskmap.analysis.result import provenance_line, run_analysis

    params = params or FourColourParameters()
    progress = progress or (lambda f, m: None)
    table = load_rules(params.rules)
    sources, upstream, upstream_results, notes = {}, {}, {}, []
    n_src = len(SOURCES)
    for k, source in enumerate(SOURCES):
        frame = inputs.get(source)
        if frame is None:
            notes.append(tr(f"未给出{table['sources'].get(source, {}).get('label_zh', source)}，未计入",
                            f"no {source} given; not included"))
            continue
        if is_result(frame, source):
            sources[source] = frame
            continue
        name, layer, _ = UPSTREAM[source]
        analysis = ANALYSES[name]
        sub_inputs = {role: inputs.get(src) for role, src in UPSTREAM_INPUTS[name].items()}
        missing = [s.role for s in analysis.inputs if s.required and sub_inputs.get(s.role) is None]
        if missing:
            notes.append(tr(f"{analysis.zh}缺少输入（{'、'.join(missing)}），{source} 未计入",
                            f"{analysis.en} lacks inputs ({', '.join(missing)}); {source} not included"))
            continue
        if name == "tailings":
            facilities = [inputs[r] for r in ("sensitive", "enterprises", "roads") if inputs.get(r) is not None]
            sub_inputs["facilities"] = facilities or None

        def sub_progress(f, m, k=k):
            progress((k + 0.9 * f) / (n_src + 1), tr(f"{analysis.zh}：{m}", f"{analysis.en}: {m}"))

        sub = run_analysis(analysis, sub_inputs, progress=sub_progress)
        sources[source] = sub.layers[layer]
        upstream[name] = sub.provenance
        upstream_results[name] = sub
    qra = inputs.get("qra_plants")
    if qra is None and params.with_qra:
        if inputs.get("enterprises") is not None and inputs.get("population") is not None \
                and not is_result(inputs["enterprises"], "enterprises"):
            analysis = ANALYSES["qra"]
            sub = run_analysis(analysis, {"plants": inputs["enterprises"], "population": inputs["population"],
                                          "sensitive": inputs.get("sensitive")},
                               progress=lambda f, m: progress((n_src - 0.5 + 0.4 * f) / (n_src + 1),
                                                              tr(f"{analysis.zh}：{m}", f"{analysis.en}: {m}")))
            qra = sub.layers["qra_plants"]
            upstream["qra"] = sub.provenance
            upstream_results["qra"] = sub
        else:
            notes.append(tr("定量风险评价需原始企业图层和人口栅格，未运行", "the QRA needs the raw plants and the "
                            "population raster; not run"))
    if qra is not None and sources.get("enterprises") is not None and "sr_zone" in qra.columns:
        zones = dict(zip(qra["name"].astype(str), qra["sr_zone"]))
        plants = sources["enterprises"].copy()
        plants["sr_zone"] = plants["name"].astype(str).map(zones)
        sources["enterprises"] = plants
    progress(n_src / (n_src + 1), tr("分级与汇总", "grading and aggregating"))
    counties = inputs.get("counties")
    items = risk_items(sources, table, counties)
    metric = crs_policy.metric_crs_for_bounds(_bounds(items, inputs.get("areas"), counties))
    areas = inputs.get("areas")
    area_layer = None
    if areas is not None and len(areas):
        area_layer = aggregate(items, areas.to_crs(crs_policy.MAP_CRS), table, metric)
        name_field = params.area_name_field if params.area_name_field in areas.columns else None
        if name_field and name_field != "name":
            area_layer["name"] = area_layer[name_field]
    grid = aggregate(items, grid_cells(items, params.grid_m, metric, counties), table, metric)
    record = {
        "parameters": {"metric_crs": f"EPSG:{metric.to_epsg()}" if metric.to_epsg() else metric.name,
                       "rule_table": table.get("name"), "rule_table_sha256": rules_sha256(table),
                       "rule_table_source": str(params.rules) if params.rules else "built-in (DEFAULT_RULES)",
                       "upstream": {name: provenance_line(rec) for name, rec in upstream.items()}},
        # kept whole in the provenance (hidden report sheet, GeoPackage, project), not as cells of the 来源说明 sheet
        "attachments": {"rules": table, "upstream": upstream},
        "standards": [SCALE_BASIS, "GB 18218-2018 表6（重大危险源分级）", "GB 32167-2015（高后果区分级）",
                      "GB 39496-2020（尾矿库等别）", OVERHEAD_SOURCE, "国办发〔2017〕77号（搬迁改造）"],
        "notes": notes + [tr(f"分级规则表：{table.get('title_zh', table.get('name'))}（{table.get('name')}）",
                             f"rule table: {table.get('title_en', table.get('name'))} ({table.get('name')})")],
    }
    progress(1.0, tr("完成", "done"))
    return FourColourResult(items, area_layer, grid, county_summary(items), table, record, upstream,
                            upstream_results)


def _bounds(*frames):
    boxes = [f.to_crs(crs_policy.MAP_CRS).total_bounds for f in frames if f is not None and len(f)]
    if not boxes:
        return (113.7, 31.4, 115.9, 32.7)
    b = np.array(boxes)
    return (b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max())
