"""Relocation assessment (搬迁评估) of hazardous-chemical plants in dense population areas.

For each plant (by default those with ``industry == "hazchem"``):

1. **Safety zone**: a circle of the plant's external safety distance (外部安全防护距离) around it,
   from its ``safe_dist`` field (the figure in its safety assessment report); where missing, from
   :data:`DEFAULT_DISTANCE_TABLE` keyed by the most hazardous kind of chemical it stores; else the
   user's default distance. GB/T 37243-2019 gives no default distance (STANDARDS.md §3), so that
   table is a riskmap default parameter, not a standard value.
2. **Exposure**: people in the zone from the population raster with exact fractional cell
   coverage (:mod:`riskmap.analysis.zonal`); sensitive targets in the zone (count, names,
   nearest distance); overlap (km²) with the dense population areas derived from the raster
   (density ≥ threshold persons/km² over at least a minimum area).
3. **Major hazard grade** per GB 18218-2018 (:mod:`riskmap.analysis.gb18218`): S, R, grade, with α
   from the resident population within ``alpha_radius_m`` (500 m) of the plant.
4. **Relocation flag, priority and reasons** in plain Chinese from configurable rules
   (:class:`RelocationParams`).

:func:`assess_relocation` runs it all; :func:`update_plant` recomputes a single plant for the
what-if tools (moved plant, changed distance) without touching the others.
"""
from __future__ import annotations

import dataclasses
import math
import re
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from riskmap import crs as crs_policy
from riskmap.analysis import gb18218, zonal
from riskmap.analysis.declare import Param, ParamSet
from riskmap.analysis.provenance import describe_input, provenance
from riskmap.errors import CRSError, EmptyLayerError, ParameterError
from riskmap.i18n import tr

# ---------------------------------------------------------------------------
# parameters
# ---------------------------------------------------------------------------
#: riskmap default external safety distance (m) by the most hazardous kind of stored chemical,
#: used only where a plant's own ``safe_dist`` is missing. NOT from a standard (GB/T 37243-2019
#: prescribes a method, not default distances): a planning placeholder to be replaced by the figure
#: of the plant's safety assessment report.
DEFAULT_DISTANCE_TABLE = {
    gb18218.TOXIC_GAS: 1000.0,
    gb18218.EXPLOSIVE: 800.0,
    gb18218.FLAMMABLE_GAS: 500.0,
    gb18218.OTHER: 300.0,
}

#: Chinese names of the hazard kinds (for the ``safe_dist_src`` column and reports).
KIND_LABELS = {gb18218.TOXIC_GAS: "有毒气体", gb18218.EXPLOSIVE: "爆炸品", gb18218.FLAMMABLE_GAS: "易燃气体",
               gb18218.OTHER: "其他危险化学品"}

#: Sensitive-target categories: (Chinese name, measure word, priority weight).
SENSITIVE_CATEGORIES = {
    "school": ("学校", "所", 2.0),
    "kindergarten": ("幼儿园", "所", 2.0),
    "hospital": ("医院", "所", 2.0),
    "nursing_home": ("养老院", "所", 2.0),
    "market": ("集贸市场", "处", 1.0),
}
_OTHER_SENSITIVE = ("敏感目标", "处", 1.0)

#: Chinese spellings of the sensitive categories.
SENSITIVE_ALIASES = {
    "学校": "school", "中学": "school", "小学": "school", "大学": "school", "幼儿园": "kindergarten",
    "托儿所": "kindergarten", "医院": "hospital", "卫生院": "hospital", "诊所": "hospital",
    "养老院": "nursing_home", "敬老院": "nursing_home", "福利院": "nursing_home", "养老机构": "nursing_home",
    "市场": "market", "集贸市场": "market", "农贸市场": "market", "商场": "market", "超市": "market",
}

#: Header aliases of plant tables (Chinese spreadsheets) → field names. Headers are compared as
#: :func:`riskmap.tables.header_key` spells them (NFKC, no spaces, no unit suffix: 储量(吨) → 储量), and the
#: spellings come from agency lists (应急管理局 危险化学品企业名单, 重大危险源备案表).
PLANT_FIELD_ALIASES = {
    "企业名称": "name", "单位名称": "name", "名称": "name", "企业(单位)名称": "name", "企业全称": "name",
    "生产经营单位名称": "name",
    "外部安全防护距离": "safe_dist", "安全防护距离": "safe_dist", "防护距离": "safe_dist",
    "危险化学品及储量": "chemicals", "危险化学品": "chemicals", "储存危险化学品": "chemicals",
    "危化品": "chemicals", "危险化学品名称": "chemicals", "危化品名称": "chemicals", "主要危险化学品": "chemicals",
    "危险物品名称及数量": "chemicals", "涉及危险化学品": "chemicals", "主要危险化学品及储量": "chemicals",
    "危险化学品名称及储量": "chemicals",
    "储存量": "amount", "储量": "amount", "最大储存量": "amount", "设计储存量": "amount", "实际储存量": "amount",
    "最大储量": "amount", "储存数量": "amount", "危险化学品储量": "amount", "危化品储量": "amount",
    "行业": "industry", "行业类别": "industry", "所属行业": "industry",
    "县区": "county", "所属县区": "county", "区县": "county", "县（区）": "county", "县(区)": "county",
    "所在县区": "county", "所属区县": "county", "所属县(区)": "county", "县(市、区)": "county", "县市区": "county",
    "地址": "address", "详细地址": "address", "企业地址": "address", "单位地址": "address",
    "企业类型": "ent_type", "经营类型": "ent_type", "企业性质": "ent_type",
    "是否在化工园区": "in_park", "是否入园": "in_park", "位于化工园区": "in_park", "园区": "park", "所在园区": "park",
    "厂区半径": "site_radius_m", "厂区半径(m)": "site_radius_m",
    "单元": "unit", "单元名称": "unit", "危险源单元": "unit", "重大危险源单元": "unit", "辨识单元": "unit",
    "单元类型": "unit_type",
}

#: Unit kinds of GB 18218-2018 (生产单元 split at cut-off valves, 储存单元 bounded by a dike or a store room).
UNIT_TYPE_SPELLINGS = {"生产单元": "生产单元", "生产": "生产单元", "装置": "生产单元", "production": "生产单元",
                       "储存单元": "储存单元", "储存": "储存单元", "储罐区": "储存单元", "罐区": "储存单元",
                       "库房": "储存单元", "仓库": "储存单元", "storage": "储存单元"}

#: Enterprise types (ent_type) with their Chinese names; Chinese spellings and keywords of names map to them.
ENTERPRISE_TYPES = {
    "production": "生产", "storage": "储存", "use": "使用", "trade": "经营", "city_gas": "城镇燃气",
    "fuel_station": "加油加气站", "civil_explosive": "民爆", "fireworks": "烟花爆竹", "ammonia_refrigeration": "工贸涉氨",
}
_TYPE_SPELLINGS = {**{v: k for k, v in ENTERPRISE_TYPES.items()}, "危险化学品生产": "production",
                   "危化品生产": "production", "带储存经营": "storage", "仓储": "storage", "无储存经营": "trade",
                   "加油站": "fuel_station", "加气站": "fuel_station", "燃气": "city_gas", "涉氨制冷": "ammonia_refrigeration"}
#: Name keywords that tell the type when the data has no ent_type column (first match wins; recorded as inferred).
TYPE_KEYWORDS = (
    ("加油站", "fuel_station"), ("加气站", "fuel_station"), ("加油加气", "fuel_station"),
    ("液化气", "city_gas"), ("燃气", "city_gas"), ("天然气", "city_gas"),
    ("民爆", "civil_explosive"), ("爆破", "civil_explosive"), ("烟花", "fireworks"), ("鞭炮", "fireworks"),
    ("制冷", "ammonia_refrigeration"), ("冷库", "ammonia_refrigeration"), ("冷链", "ammonia_refrigeration"),
    ("经营部", "trade"), ("商行", "trade"), ("门市", "trade"), ("贸易", "trade"),
    ("自来水", "use"), ("水务", "use"), ("污水处理", "use"),
    ("仓储", "storage"), ("储运", "storage"), ("油库", "storage"),
    ("化工", "production"), ("化肥", "production"), ("石化", "production"), ("制药", "production"),
    ("医药", "production"), ("气体", "production"), ("新材料", "production"), ("农药", "production"),
)

#: Why a type is outside the relocation rule (GB/T 37243-2019 §3 exclusions; 国办发〔2017〕77号 targets production).
OUT_OF_SCOPE = {
    "city_gas": "城镇燃气，不适用GB/T 37243-2019（§3）和77号文，按GB 50028间距管理",
    "fuel_station": "加油加气站，不适用GB/T 37243-2019（§3），按GB 50156间距管理",
    "civil_explosive": "民用爆炸物品，不适用GB/T 37243-2019（§3），按GB 50089管理",
    "fireworks": "烟花爆竹，不适用GB/T 37243-2019（§3），按GB 50161管理",
    "trade": "无储存经营，不属于77号文搬迁对象，也无外部安全防护距离",
    "ammonia_refrigeration": "工贸行业涉氨制冷，不属于危险化学品生产企业搬迁（77号文）范围，按工贸涉氨制冷规定管理",
    "unknown": "企业类型不明，未作搬迁判定；请补充“企业类型”字段（生产/储存/使用/经营……）",
}
SENSITIVE_FIELD_ALIASES = {"名称": "name", "单位名称": "name", "类别": "category", "类型": "category",
                           "县区": "county", "学校名称": "name", "机构名称": "name", "场所名称": "name",
                           "敏感目标名称": "name", "单位类型": "category", "场所类型": "category",
                           "敏感目标类型": "category", "所属县区": "county", "县(区)": "county"}

#: Industry spellings meaning hazardous chemicals.
HAZCHEM_ALIASES = ("hazchem", "危险化学品", "危化", "危化品", "危险化学品企业", "化工")

#: Major-hazard points added to the priority score, by grade.
GRADE_POINTS = {"一级": 8.0, "二级": 4.0, "三级": 2.0, "四级": 1.0, "": 0.0}


#: The declared parameters of the relocation assessment (defaults, ranges, labels and basis, once).
PARAMS = ParamSet("relocation", [
    Param("dense_threshold", "float", 5000.0, "人口密集区密度阈值", "Dense-area density", unit="人/km²",
          minimum=0.0, exclusive_minimum=True, maximum=1e6, step=500, decimals=0,
          help_zh="人口密度达到此值的栅格为人口密集（城区核心密度）",
          help_en="persons/km² at or above which a raster cell is dense (an urban-core density)"),
    Param("dense_min_area_km2", "float", 0.2, "人口密集区最小面积", "Dense-area minimum", unit="km²",
          minimum=0.0, maximum=1e4, step=0.1, decimals=2, cli="--dense-min-area",
          help_zh="小于此面积的连片密集区不计", help_en="smallest connected dense area kept"),
    Param("default_distance_m", "float", 500.0, "缺省防护距离", "Default distance", unit="m",
          minimum=0.0, exclusive_minimum=True, maximum=10000.0, step=50, decimals=0, cli="--default-distance",
          help_zh="既无safe_dist又无可识别化学品的企业采用的防护距离",
          help_en="safety distance of plants with neither safe_dist nor a recognised chemical"),
    Param("distance_table", "data", dict(DEFAULT_DISTANCE_TABLE), "按危险类别的缺省防护距离",
          "Default distance by hazard kind", unit="m", form=False, cli=False,
          help_zh="缺少safe_dist时按最危险物质类别取值（规划占位值，非标准值）",
          help_en="used where safe_dist is missing, by the most hazardous kind stored (a planning placeholder)"),
    Param("alpha_radius_m", "float", gb18218.ALPHA_RADIUS_M, "α人口统计半径", "α population radius", unit="m",
          minimum=0.0, exclusive_minimum=True, maximum=10000.0, step=50, decimals=0, cli="--alpha-radius",
          basis="GB 18218-2018 §4.3 / 表5（厂区边界外500 m）",
          help_zh="GB 18218 α 的常住人口统计半径", help_en="radius of the GB 18218 α resident count"),
    Param("min_dense_overlap_km2", "float", 0.01, "密集区重叠下限", "Dense overlap minimum", unit="km²",
          minimum=0.0, maximum=100.0, form=False, cli=False,
          help_zh="防护区与密集区重叠超过此面积才算重叠", help_en="overlap above which a zone overlaps a dense area"),
    Param("rule_dense", "bool", True, "规则：防护区与人口密集区重叠", "Rule: zone overlaps a dense area",
          cli="--no-rule-dense"),
    Param("rule_sensitive", "bool", True, "规则：防护区内有敏感目标", "Rule: sensitive target inside the zone",
          cli="--no-rule-sensitive"),
    Param("rule_grade", "bool", True, "规则：一、二级重大危险源且暴露人口超过阈值",
          "Rule: grade 1/2 major hazard with many exposed", cli="--no-rule-grade"),
    Param("sensitive_min_count", "int", 1, "敏感目标数阈值", "Sensitive targets that trigger", minimum=0,
          maximum=1000, step=1, decimals=0, form=False,
          help_zh="防护区内敏感目标达到此数即建议搬迁", help_en="sensitive targets inside the zone that trigger"),
    Param("grade_rule_grades", "multi", ("一级", "二级"), "等级规则适用等级", "Grades of the grade rule",
          choices=("一级", "二级", "三级", "四级"), form=False, basis="GB 18218-2018 §4.3 表6 分级",
          help_zh="等级规则适用的重大危险源等级", help_en="major-hazard grades of the grade rule"),
    Param("grade_rule_min_people", "float", 1000.0, "等级规则人数阈值", "Grade rule: people >", unit="人",
          minimum=0.0, maximum=1e7, step=50, decimals=0, cli="--min-people",
          help_zh="一、二级重大危险源防护距离内人口超过此数即建议搬迁（约一个村的规模）",
          help_en="grade-1/2 plants with more than this many people exposed are flagged (about a village)"),
    Param("all_industries", "bool", False, "评估全部行业（不仅危化企业）", "Assess every industry (not only hazchem)",
          help_zh="评估所有企业，而不仅 industry 为危险化学品的企业",
          help_en="assess every plant, not only industry == hazchem"),
    Param("assessed_industries", "data", ("hazchem",), "评估行业", "Industries assessed", form=False, cli=False),
    Param("beta_overrides", "data", {}, "β 覆盖值", "β overrides", form=False, cli=False,
          help_zh="{物质: β}，替代 riskmap 的 GB 18218 β 取值", help_en="{chemical: β} replacing riskmap's β"),
    Param("conservative_ambiguous", "bool", False, "需注明浓度的物质按最严格条目计", "Ambiguous names: strictest row",
          basis="GB 18218-2018 表1（硝酸铵、甲醛、硝酸按浓度/含量分条目）", form=False,
          help_zh="硝酸铵、甲醛、硝酸未注明浓度时按表1最严格条目保守计算，并在结果中标注",
          help_en="grade 硝酸铵/甲醛/硝酸 without a stated concentration on their strictest Table-1 row, flagged"),
    Param("plausible_min_ratio", "float", 0.5, "防护距离合理性：最小比例", "Plausible distance: minimum ratio",
          minimum=0.0, maximum=1.0, step=0.05, decimals=2, form=False,
          help_zh="重大危险源的填报防护距离低于同类最危险物质缺省距离的此比例时，标为“防护距离偏小，需复核”",
          help_en="a major hazard whose reported distance is below this share of the default distance of its "
                  "most hazardous kind is flagged for review"),
    Param("plausible_small_s", "float", 0.2, "防护距离合理性：小储量S", "Plausible distance: small S", minimum=0.0,
          maximum=1.0, step=0.05, decimals=2, form=False,
          help_zh="S低于此值且填报距离大于下项时，标为“防护距离偏大，需复核”",
          help_en="S below which a large reported distance is implausible"),
    Param("plausible_max_small_m", "float", 600.0, "防护距离合理性：小储量最大距离", "Plausible distance: small-S maximum",
          unit="m", minimum=0.0, maximum=10000.0, form=False,
          help_zh="S很小的企业填报距离超过此值即标为需复核", help_en="largest plausible distance for a small S"),
    Param("score_per_1000_people", "float", 2.0, "优先分值：每千人", "Score per 1,000 people", minimum=0.0,
          maximum=100.0, form=False, cli=False),
    Param("score_per_sensitive", "float", 1.0, "优先分值：每个敏感目标", "Score per sensitive target",
          minimum=0.0, maximum=100.0, form=False, cli=False),
    Param("score_per_dense_km2", "float", 2.0, "优先分值：每km²密集区", "Score per dense km²", minimum=0.0,
          maximum=100.0, form=False, cli=False),
])


@PARAMS.dataclass
class RelocationParams:
    """Parameters of the relocation assessment: the fields, defaults, ranges and basis are :data:`PARAMS`.

    ``industries`` is the tuple of assessed industries (None: every plant), from
    ``all_industries`` and ``assessed_industries``. The priority rank is 1 for the flagged plant
    with the highest score (ties: more people exposed first; see :func:`priority_scores`).
    """

    def check_more(self) -> None:
        for kind, value in self.distance_table.items():
            if not _finite(value) or float(value) <= 0:
                raise ParameterError(tr(f"distance_table[“{kind}”] 须为正的距离（米）",
                                        f"distance_table[{kind!r}] must be a positive distance in metres"))
        bad = [g for g in self.grade_rule_grades if g not in gb18218.GRADES]
        if bad:
            raise ParameterError(tr(f"grade_rule_grades 中的 {'、'.join(map(str, bad))} 不是等级，请使用一级、二级、三级或四级",
                                    f"grade_rule_grades has {bad}; use 一级, 二级, 三级 or 四级"))
        gb18218.check_overrides(self.beta_overrides)

    @property
    def industries(self):
        return None if self.all_industries else tuple(self.assessed_industries)


def _finite(value) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


# ---------------------------------------------------------------------------
# input normalisation
# ---------------------------------------------------------------------------
def _header_key(name) -> str:
    text = unicodedata.normalize("NFKC", str(name)).strip()
    return re.sub(r"[(（\[【].*?[)）\]】]$", "", text).strip()  # drop a unit suffix: 外部安全防护距离(m)


def _alias_target(col, aliases: dict, keyed: dict):
    from riskmap.tables import header_key

    return aliases.get(_header_key(col)) or aliases.get(str(col).strip()) or keyed.get(header_key(col))


def _rename(frame, aliases: dict):
    from riskmap.tables import header_key

    keyed = {header_key(k): v for k, v in aliases.items()}
    renames = {}
    present = set(frame.columns)
    for col in frame.columns:
        target = _alias_target(col, aliases, keyed)
        if target and target not in present and target not in renames.values():
            renames[col] = target
    return frame.rename(columns=renames) if renames else frame


def join_amounts(chemicals, amounts, unit: str = "") -> np.ndarray:
    """Inventories written as one text per row, from a names column and a separate amounts column.

    Agency sheets often put 危险化学品 (``液氯、液氨``) and 储量(吨) (``30、15``) in two columns.
    Names and amounts are paired in order when their counts agree (``液氯30吨;液氨15吨``); an
    amount that carries its own unit keeps it, others get ``unit`` (the amounts column's header
    unit, e.g. 吨 of ``储量(吨)``; none means tonnes, as :func:`gb18218.parse_inventory` reads).
    A row whose names already hold numbers is kept as written; counts that do not agree give
    ``names amounts``, which the grading reports as unreadable rather than guessing.

    Returns
    -------
    numpy.ndarray of str
    """
    names = pd.Series(chemicals, dtype=object).where(pd.notna(pd.Series(chemicals, dtype=object)), "")
    values = pd.Series(amounts, dtype=object).where(pd.notna(pd.Series(amounts, dtype=object)), "")
    names = names.astype(str).map(lambda t: unicodedata.normalize("NFKC", t).strip()).to_numpy(object)
    values = values.astype(str).map(lambda t: unicodedata.normalize("NFKC", t).strip()).to_numpy(object)
    unit = unicodedata.normalize("NFKC", unit or "").strip()
    out = names.copy()
    for i in np.flatnonzero((values != "") & (values != "nan")):
        name, amount = names[i], values[i]
        if not name or re.search(r"\d", re.sub(r"\d+,\d+-|\d+-", "", name)):
            continue
        parts = [p.strip() for p in gb18218._SPLIT.split(name) if p and p.strip()]
        qty = [q.strip() for q in gb18218._SPLIT.split(amount) if q and q.strip()]
        if len(parts) != len(qty):
            out[i] = f"{name} {amount}"
            continue
        out[i] = ";".join(p + q + ("" if re.search(r"[^\d.\s]", q) else unit) for p, q in zip(parts, qty))
    return out.astype(str)


def _amount_unit(plants, aliases: dict) -> tuple[str | None, str]:
    """The column the amounts are read from and its header unit (``储量(吨)`` → ``吨``)."""
    from riskmap.tables import header_key, header_unit

    keyed = {header_key(k): v for k, v in aliases.items()}
    for col in plants.columns:
        if _alias_target(col, aliases, keyed) == "amount":
            return str(col), header_unit(col)
    return None, ""


def _to_metres(values) -> np.ndarray:
    """Safety distances as floats; text such as "500m", "500米" accepted; ≤ 0 / unreadable → NaN."""
    series = pd.Series(values)
    if not pd.api.types.is_numeric_dtype(series):
        text = [re.sub(r"\s*(m|米|公尺)$", "", unicodedata.normalize("NFKC", v).strip(), flags=re.I)
                if isinstance(v, str) else v for v in series.to_numpy(object)]
        series = pd.Series(text, dtype=object)
    out = pd.to_numeric(series, errors="coerce").to_numpy(float, copy=True)
    out[~np.isfinite(out) | (out <= 0)] = np.nan
    return out


def normalise_plants(plants, industries=("hazchem",)):
    """Plants with English field names, the ones to assess, and notes on what was done.

    Chinese headers are mapped (企业名称 → name, 外部安全防护距离 → safe_dist, 危险化学品及储量 →
    chemicals, 行业 → industry, 县区 → county). Only ``industries`` are kept (Chinese industry names
    for hazardous chemicals count as ``hazchem``); a table without an industry column is kept whole.

    Returns
    -------
    (GeoDataFrame, list of str)
    """
    if plants.crs is None:
        raise CRSError(tr("企业图层没有坐标系，请先指定（如 EPSG:4490）",
                          "the plants layer has no coordinate reference system; set one (e.g. EPSG:4490)"))
    notes = []
    amount_col, amount_unit = (None, "") if "amount" in plants.columns else _amount_unit(plants, PLANT_FIELD_ALIASES)
    gdf = _rename(plants, PLANT_FIELD_ALIASES).copy()
    n_in = len(gdf)
    if industries is not None and "industry" in gdf.columns:
        ind = gdf["industry"].astype(str).str.strip()
        wanted = set(industries)
        if "hazchem" in wanted:
            wanted |= set(HAZCHEM_ALIASES)
        gdf = gdf.loc[ind.isin(wanted).to_numpy()]
        notes.append(tr(f"评估行业：{', '.join(industries)}（{len(gdf)}/{n_in}）",
                        f"industries assessed: {', '.join(industries)} ({len(gdf)}/{n_in})"))
    elif industries is not None:
        notes.append(tr("无行业字段，全部企业参与评估", "no industry column: every plant assessed"))
    import shapely

    geoms = gdf.geometry.values
    missing = shapely.is_missing(np.asarray(geoms)) | shapely.is_empty(np.asarray(geoms))
    if missing.any():
        notes.append(tr(f"{int(missing.sum())} 家企业无坐标，未评估",
                        f"{int(missing.sum())} plant(s) without a location, not assessed"))
        gdf = gdf.loc[~missing]
    if len(gdf) == 0:
        raise EmptyLayerError(tr("没有可评估的企业（没有带坐标的危险化学品企业），请检查行业列或改为评估全部行业",
                                 "no plant to assess (no hazardous-chemical plant with a location); "
                                 "check the industry column or assess all industries"))
    gdf = gdf.reset_index(drop=True)
    if "name" not in gdf.columns:
        gdf["name"] = [f"企业{i + 1}" for i in range(len(gdf))]
    gdf["name"] = gdf["name"].fillna("").astype(str)
    gdf["safe_dist_in"] = _to_metres(gdf["safe_dist"]) if "safe_dist" in gdf.columns else np.nan
    if "chemicals" not in gdf.columns:
        shown = "、".join(str(c) for c in plants.columns if c != plants.geometry.name)
        notes.append(tr(f"企业图层没有危险化学品列（危险化学品/危化品/主要危险化学品…），未作重大危险源辨识；图层的列为：{shown}",
                        "the plants layer has no hazardous-chemicals column (危险化学品/危化品/主要危险化学品…): "
                        f"no major-hazard identification; the layer's columns are: {shown}"))
        gdf["chemicals"] = ""
    gdf["chemicals"] = gdf["chemicals"].where(gdf["chemicals"].notna(), "").astype(str)
    if "amount" in gdf.columns:
        gdf["chemicals"] = join_amounts(gdf["chemicals"], gdf["amount"], amount_unit)
        notes.append(tr(f"危险化学品名称与储量分列，按行合并（储量列“{amount_col or 'amount'}”，单位"
                        f"{amount_unit or '吨（未注明，按吨）'}）",
                        f"chemical names and amounts in separate columns, joined row by row (amount column "
                        f"'{amount_col or 'amount'}', unit {amount_unit or 't (not stated, taken as tonnes)'})"))
    if "county" not in gdf.columns:
        gdf["county"] = ""
    gdf["county"] = gdf["county"].fillna("").astype(str)
    gdf["ent_type"], gdf["ent_type_src"] = classify_enterprises(gdf)
    gdf["in_park"] = _yes_no(gdf["in_park"]) if "in_park" in gdf.columns else False
    if "park" not in gdf.columns:
        gdf["park"] = ""
    gdf["park"] = gdf["park"].fillna("").astype(str)
    gdf["site_radius_m"] = _to_metres(gdf["site_radius_m"]) if "site_radius_m" in gdf.columns else np.nan
    return _collapse_units(gdf, notes), notes


def _collapse_units(gdf, notes):
    """One row per enterprise when the table has one row per unit (a ``unit`` column).

    GB 18218-2018 identifies and grades 生产单元 and 储存单元 separately (第3章、第4章). Rows with
    the same ``id`` (or, without ids, the same name) are the units of one enterprise: the
    enterprise keeps its first row's attributes and location, the largest safety distance of its
    rows, the joined inventory, and ``unit_inventories`` = ``[(unit, kind, inventory text), …]``
    for :func:`grade_plant`. Without a unit column ``unit_inventories`` is None everywhere.
    """
    gdf["unit_inventories"] = pd.Series([None] * len(gdf), index=gdf.index, dtype=object)
    if "unit" not in gdf.columns:
        return gdf
    unit = gdf["unit"].where(gdf["unit"].notna(), "").astype(str).str.strip()
    if (unit == "").all():
        return gdf.drop(columns=["unit"] + (["unit_type"] if "unit_type" in gdf.columns else []))
    kinds = (gdf["unit_type"].where(gdf["unit_type"].notna(), "").astype(str).str.strip().map(
        lambda v: UNIT_TYPE_SPELLINGS.get(v, v)) if "unit_type" in gdf.columns else pd.Series("", index=gdf.index))
    use_id = "id" in gdf.columns and gdf["id"].notna().all()
    key = (gdf["id"] if use_id else gdf["name"]).astype(str).to_numpy()
    codes, first = pd.factorize(key)[0], ~pd.Series(key).duplicated().to_numpy()
    groups: dict[int, list] = {}
    for i, code in enumerate(codes):
        groups.setdefault(int(code), []).append(i)
    chem = gdf["chemicals"].to_numpy(object)
    dist = gdf["safe_dist_in"].to_numpy(float)
    units_col, chem_col, dist_col = [], [], []
    moved = 0
    for code in sorted(groups):
        rows = groups[code]
        units_col.append([(unit.iat[i] or f"单元{j + 1}", kinds.iat[i], chem[i]) for j, i in enumerate(rows)])
        chem_col.append(";".join(chem[i] for i in rows if chem[i].strip()))
        finite = dist[rows][np.isfinite(dist[rows])]
        dist_col.append(float(finite.max()) if finite.size else np.nan)
        moved += any(not gdf.geometry.iat[i].equals(gdf.geometry.iat[rows[0]]) for i in rows[1:])
    out = gdf.loc[first].drop(columns=["unit"] + (["unit_type"] if "unit_type" in gdf.columns else [])).copy()
    out["unit_inventories"] = pd.Series(units_col, index=out.index, dtype=object)
    out["chemicals"] = chem_col
    out["safe_dist_in"] = dist_col
    notes.append(tr(f"按单元辨识：{len(gdf)}行单元归并为{len(out)}家企业（按{'编号' if use_id else '企业名称'}），"
                    "各单元分别计算S、R，企业取最高等级单元；防护距离取各行最大值",
                    f"identified by unit: {len(gdf)} unit rows merged into {len(out)} enterprise(s) (by "
                    f"{'id' if use_id else 'enterprise name'}); S and R computed for each unit, each enterprise "
                    "takes its highest-graded unit; the safety distance is the largest of its rows"))
    if moved:
        notes.append(tr(f"{moved}家企业的单元坐标不同，企业位置取第一行单元的坐标",
                        f"{moved} enterprise(s) have units at different locations; the enterprise is placed "
                        "at its first unit row"))
    return out.reset_index(drop=True)


def _yes_no(values) -> np.ndarray:
    """是/否, 1/0, true/false, y/n as booleans (anything else: False)."""
    text = pd.Series(values).astype(str).str.strip().str.lower()
    return text.isin(["1", "1.0", "是", "y", "yes", "true", "在", "入园"]).to_numpy()


def classify_enterprises(plants) -> tuple[np.ndarray, np.ndarray]:
    """``(ent_type, ent_type_src)`` of each plant: its 企业类型 field, else inferred from its name.

    Types are the keys of :data:`ENTERPRISE_TYPES` (生产/储存/使用/经营, 城镇燃气, 加油加气站, 民爆,
    烟花爆竹, 工贸涉氨); ``unknown`` when neither the field nor the name tells. The source column says
    ``字段`` or ``按名称推断``, so an inferred type can be checked.
    """
    n = len(plants)
    types = np.full(n, "unknown", dtype=object)
    source = np.full(n, "无法判定", dtype=object)
    given = (plants["ent_type"].fillna("").astype(str).str.strip().to_numpy(object) if "ent_type" in plants.columns
             else None)
    names = plants["name"].fillna("").astype(str).to_numpy()
    for i in range(n):
        value = given[i] if given is not None else ""
        key = value if value in ENTERPRISE_TYPES else _TYPE_SPELLINGS.get(value)
        if key:
            types[i], source[i] = key, "字段"
            continue
        key = next((t for word, t in TYPE_KEYWORDS if word in names[i]), None)
        if key:
            types[i], source[i] = key, "按名称推断"
    return types, source


def normalise_sensitive(sensitive):
    """Sensitive targets with ``name`` and ``category`` (school, hospital, ...; Chinese accepted)."""
    if sensitive is None or len(sensitive) == 0:
        return None
    if sensitive.crs is None:
        raise CRSError(tr("敏感目标图层没有坐标系，请先指定",
                          "the sensitive-targets layer has no coordinate reference system; set one"))
    gdf = _rename(sensitive, SENSITIVE_FIELD_ALIASES).copy()
    if "name" not in gdf.columns:
        gdf["name"] = [f"敏感目标{i + 1}" for i in range(len(gdf))]
    gdf["name"] = gdf["name"].fillna("").astype(str)
    if "category" not in gdf.columns:
        gdf["category"] = ""
    cat = gdf["category"].fillna("").astype(str).str.strip()
    gdf["category"] = cat.map(lambda c: SENSITIVE_ALIASES.get(c, c.lower()))
    import shapely

    ok = ~(shapely.is_missing(np.asarray(gdf.geometry.values)) | shapely.is_empty(np.asarray(gdf.geometry.values)))
    return gdf.loc[ok].reset_index(drop=True)


# ---------------------------------------------------------------------------
# dense population areas
# ---------------------------------------------------------------------------
def dense_areas(population, threshold: float = 5000.0, min_area_km2: float = 0.2, *, metric_crs=None,
                progress=None, strip_rows: int | None = None, bounds=None):
    """Dense population areas: connected raster cells with density ≥ ``threshold`` persons/km².

    The raster (or the part of it around ``bounds``) is streamed in strips of whole rows (a multiple of
    the file's block height), so memory stays at a few strips whatever the raster's size: each strip's
    dense cells are labelled (4-connected), their cell areas and people summed per label, and labels that
    meet across a strip boundary are joined afterwards (a graph of labels, not of cells). Only the pieces
    that can belong to a kept area are traced (those of at least ``min_area_km2`` within the strip, or
    touching its top or bottom row); the pieces of one area are then dissolved into one polygon.

    With ``bounds`` the cost follows the area asked about, not the raster's size (a national raster for
    one city): the window of cells covering ``bounds`` is labelled, and while an area reaches a side of
    the window where the raster goes on, the window grows on that side (doubling) and is labelled
    again, so every area that touches ``bounds`` is whole — its area, people and outline are those of a
    whole-raster pass. Areas elsewhere in the raster are not looked for.

    Parameters
    ----------
    population : raster path, dataset, array grid (see :func:`riskmap.analysis.zonal.as_grid`)
        Persons per cell.
    threshold : float
        Persons per km².
    min_area_km2 : float
        Connected areas (4-connected cells) smaller than this are dropped.
    metric_crs : CRS, optional
        CRS of the returned polygons; the raster's CRS when omitted.
    progress : callable, optional
        ``progress(fraction, message)``, once per strip.
    strip_rows : int, optional
        Rows per strip (default: about 4 M cells, rounded to the file's block height).
    bounds : (xmin, ymin, xmax, ymax), optional
        In the raster's CRS: find the areas touching this box only (default: the whole raster).

    Returns
    -------
    geopandas.GeoDataFrame
        ``area_km2``, ``population``, ``density`` (persons/km²) per area (in raster scan order of
        their first cell), polygons traced with ``rasterio.features.shapes`` in the raster CRS (then
        transformed to ``metric_crs``).
    """
    import geopandas as gpd
    import shapely

    grid = zonal.as_grid(population)
    if progress:
        progress(0.0, tr("识别人口密集区", "finding dense areas"))
    cell_km2 = _cell_area_km2(grid)
    out_crs = crs_policy.parse_crs(metric_crs) if metric_crs is not None else grid.crs
    empty = gpd.GeoDataFrame({"area_km2": [], "population": [], "density": []}, geometry=[], crs=out_crs)
    window = _window_of(grid, bounds) if bounds is not None else None
    while True:
        labels, area, people, pieces, piece_label, open_sides = _dense_labels(
            grid, cell_km2, float(threshold), float(min_area_km2), progress, strip_rows, window)
        reached = int(np.bitwise_or.reduce(open_sides)) if len(open_sides) else 0
        if window is None or not reached:
            break
        window = _grown_window(grid, window, reached)
    if labels == 0:
        return empty
    keep = area >= float(min_area_km2)
    if not keep.any():
        return empty
    if progress:
        progress(0.9, tr("勾绘人口密集区", "tracing dense areas"))
    kept_piece = keep[piece_label]
    # pieces dissolved in pixel coordinates (exact: integers), then placed by the raster's transform
    geoms = shapely.make_valid(np.asarray(pieces, dtype=object)[kept_piece])
    frame = gpd.GeoDataFrame({"label": piece_label[kept_piece]}, geometry=geoms).dissolve("label").reset_index()
    lab = frame["label"].to_numpy()
    joined = np.bincount(piece_label[kept_piece], minlength=len(area))[lab] > 1
    merged = np.asarray(frame.geometry.values, dtype=object)
    # drop the collinear vertices left on strip boundaries (tolerance 0: nothing else moves)
    merged[joined] = shapely.simplify(merged[joined], 0.0)
    frame = frame.set_geometry(_pixel_to_crs(merged, grid.transform), crs=grid.crs)
    frame["area_km2"] = area[lab]
    frame["population"] = people[lab]
    frame["density"] = people[lab] / area[lab]
    frame = frame.drop(columns="label")
    if not out_crs.equals(grid.crs):
        frame = frame.to_crs(out_crs)
    if progress:
        progress(1.0, tr("人口密集区完成", "dense areas done"))
    return frame[["area_km2", "population", "density", "geometry"]]


#: Cells per strip of the streamed dense-area pass (float64 values and density: ~64 MB a strip).
DENSE_STRIP_CELLS = 1 << 22


def _window_of(grid, bounds) -> tuple[int, int, int, int]:
    """``(row0, row1, col0, col1)``: the cells covering ``bounds`` (raster CRS), one cell of margin, clipped."""
    xmin, ymin, xmax, ymax = (float(v) for v in bounds)
    inverse = ~grid.transform
    corners = np.array([inverse @ (x, y) for x in (xmin, xmax) for y in (ymin, ymax)], dtype=float)
    if not np.isfinite(corners).all():
        return 0, grid.height, 0, grid.width
    c0, r0 = np.floor(corners.min(axis=0)).astype(int) - 1
    c1, r1 = np.ceil(corners.max(axis=0)).astype(int) + 1
    r0, r1 = int(np.clip(r0, 0, grid.height)), int(np.clip(r1, 0, grid.height))
    c0, c1 = int(np.clip(c0, 0, grid.width)), int(np.clip(c1, 0, grid.width))
    if r1 <= r0 or c1 <= c0:  # nothing of the raster there: an empty window, nothing to find
        return 0, 0, 0, 0
    return r0, r1, c0, c1


def _grown_window(grid, window, sides: int) -> tuple[int, int, int, int]:
    """The window grown on the given sides by its own height or width (doubling), clipped to the raster."""
    r0, r1, c0, c1 = window
    dr, dc = max(r1 - r0, 1), max(c1 - c0, 1)
    if sides & _TOP:
        r0 = max(0, r0 - dr)
    if sides & _BOTTOM:
        r1 = min(grid.height, r1 + dr)
    if sides & _LEFT:
        c0 = max(0, c0 - dc)
    if sides & _RIGHT:
        c1 = min(grid.width, c1 + dc)
    return r0, r1, c0, c1


def _strip_rows_for(grid, cells: int = DENSE_STRIP_CELLS, width: int | None = None) -> int:
    """Rows per strip of ``width`` columns (default: the raster's): about ``cells`` cells, a multiple of
    the file's block height when it is tiled."""
    rows = max(1, cells // max(grid.width if width is None else width, 1))
    block = 1
    if grid.path is not None:
        import rasterio

        with rasterio.open(grid.path) as ds:
            block = int(ds.block_shapes[grid.band - 1][0])
    if block > 1:
        rows = max(block, rows // block * block)
    return int(min(rows, max(grid.height, 1)))


#: Bits of the sides of a window that a dense area reaches (where the window is not the raster's edge).
_TOP, _BOTTOM, _LEFT, _RIGHT = 1, 2, 4, 8


def _dense_labels(grid, cell_km2, threshold: float, min_area_km2: float, progress, strip_rows, window=None):
    """Stream a window of the raster (the whole raster by default) by strips; label its dense cells.

    Returns ``(n, area, people, pieces, piece_label, open_sides)``: the number of 4-connected dense
    areas, their area (km²) and people (arrays indexed by area, numbered in scan order of each area's
    first cell), the traced pieces (polygons in pixel coordinates, column/row of the whole raster) of
    the areas that may be kept, with the area each belongs to, and per area the sides of the window
    (bits :data:`_TOP` … :data:`_RIGHT`) it reaches where the raster goes on: such an area may go on too.
    ``window`` is ``(row0, row1, col0, col1)``.
    """
    import shapely
    from affine import Affine
    from rasterio import features

    H, W = grid.height, grid.width
    top, bottom, left, right = window if window is not None else (0, H, 0, W)
    rows = int(strip_rows) if strip_rows else _strip_rows_for(grid, width=right - left)
    scalar_cell = np.ndim(cell_km2) == 0
    areas, peoples, pieces, piece_ids, sides = [], [], [], [], []
    links = []  # (label above, label below) pairs meeting across strip boundaries (global, 1-based)
    above = None  # global labels of the previous strip's last row
    n_labels = 0
    ndimage = None
    with grid.open() as read:
        for r0 in range(top, bottom, rows):
            r1 = min(r0 + rows, bottom)
            if progress:
                progress(0.9 * (r0 - top) / max(bottom - top, 1), tr("识别人口密集区", "finding dense areas"))
            win = read(r0, r1, left, right)
            ck = cell_km2 if scalar_cell else cell_km2[r0:r1]
            # no cell of the strip can reach the threshold: max(value) / min(cell area) bounds every
            # value / cell area, also after rounding (division is monotonic), so nothing is skipped wrongly
            with np.errstate(divide="ignore", invalid="ignore"):
                bound = np.float64(win.values.max(initial=0.0)) / np.min(ck)
            if bound < threshold:
                above = None
                continue
            values = win.values.astype(np.float64, copy=False)
            mask = (values / ck) >= threshold
            if win.invalid is not None:
                mask &= ~win.invalid
            if not mask.any():
                above = None
                continue
            if ndimage is None:
                from scipy import ndimage
            local, n = ndimage.label(mask)
            flat = local.ravel()
            weights = np.broadcast_to(ck, local.shape).ravel()
            areas.append(np.bincount(flat, weights, minlength=n + 1)[1:])
            peoples.append(np.bincount(flat, values.ravel(), minlength=n + 1)[1:])
            glob_first = np.where(local[0] > 0, local[0] + n_labels, 0)
            if above is not None:
                both = (above > 0) & (glob_first > 0)
                if both.any():
                    links.append(np.unique(np.stack([above[both], glob_first[both]], axis=1), axis=0))
            above = np.where(local[-1] > 0, local[-1] + n_labels, 0) if r1 < bottom else None
            side = np.zeros(n + 1, np.int64)
            for bit, edge, beyond in ((_TOP, local[0], r0 == top and top > 0),
                                      (_BOTTOM, local[-1], r1 == bottom and bottom < H),
                                      (_LEFT, local[:, 0], left > 0), (_RIGHT, local[:, -1], right < W)):
                if beyond:
                    side[edge] |= bit
            sides.append(side[1:])
            # trace only what may be kept: big enough already, or continued in a neighbouring strip
            candidate = areas[-1] >= min_area_km2
            if r0 > top:
                candidate[np.unique(local[0][local[0] > 0]) - 1] = True
            if r1 < bottom:
                candidate[np.unique(local[-1][local[-1] > 0]) - 1] = True
            if candidate.any():
                lab32 = local.astype(np.int32, copy=False)
                trace = np.concatenate([[False], candidate])[lab32]
                for geom, value in features.shapes(lab32, mask=trace, connectivity=4,
                                                   transform=Affine.translation(left, r0)):
                    pieces.append(shapely.geometry.shape(geom))
                    piece_ids.append(int(value) + n_labels)
            n_labels += n
    if n_labels == 0:
        return 0, np.zeros(0), np.zeros(0), [], np.zeros(0, np.int64), np.zeros(0, np.int64)
    area = np.concatenate(areas)
    people = np.concatenate(peoples)
    open_sides = np.concatenate(sides)
    label_of = np.arange(n_labels)  # strip label (0-based) -> area id, in scan order of first cells
    if links:
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        pairs = np.concatenate(links) - 1
        graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n_labels, n_labels))
        _n, comp = connected_components(graph, directed=False)
        # number the areas by their smallest strip label = the scan order of their first cell
        first = np.full(_n, n_labels, np.int64)
        np.minimum.at(first, comp, np.arange(n_labels))
        rank = np.empty(_n, np.int64)
        rank[np.argsort(first, kind="stable")] = np.arange(_n)
        label_of = rank[comp]
        area = np.bincount(label_of, area, minlength=_n)
        people = np.bincount(label_of, people, minlength=_n)
        joined_sides = np.zeros(_n, np.int64)
        np.bitwise_or.at(joined_sides, label_of, open_sides)
        open_sides = joined_sides
    piece_label = label_of[np.asarray(piece_ids, np.int64) - 1] if piece_ids else np.zeros(0, np.int64)
    return len(area), area, people, pieces, piece_label, open_sides


def _pixel_to_crs(geoms, transform):
    """Polygons from pixel coordinates (column, row) to the raster CRS: x = c + col·a + row·b, y = f + col·d + row·e."""
    import shapely

    t = transform

    def apply(xy):
        col, row = xy[:, 0], xy[:, 1]
        return np.column_stack([t.c + col * t.a + row * t.b, t.f + col * t.d + row * t.e])

    return shapely.transform(geoms, apply)


def _cell_area_km2(grid):
    """Cell area in km² (a scalar for a metric grid, a column per row for a geographic one)."""
    if grid.is_metric:
        return grid.cell_area / 1e6
    if grid.crs.is_geographic and not grid.is_rotated:
        t = grid.transform
        lat = t.f + (np.arange(grid.height) + 0.5) * t.e
        radius = 6371.0088
        dlat = math.radians(abs(t.e))
        dlon = math.radians(abs(t.a))
        return (radius * radius * dlon * dlat * np.cos(np.radians(lat)))[:, None]
    raise CRSError(tr("人口栅格须为以米为单位的投影坐标或经纬度，且正北朝上",
                      "the population raster must be projected in metres or in longitude/latitude, north-up"))


# ---------------------------------------------------------------------------
# the assessment
# ---------------------------------------------------------------------------
@dataclass
class _Context:
    """What :func:`update_plant` needs to recompute one plant."""

    grid: object
    metric_crs: object
    plants_crs: object
    params: RelocationParams
    dense_metric: np.ndarray  # shapely polygons in metric CRS
    dense_tree: object
    sens_metric: np.ndarray | None
    sens_tree: object
    sens_names: np.ndarray | None
    sens_categories: np.ndarray | None
    sens_counts: list = field(default_factory=list)  # per plant {category: n} inside its zone
    park_geoms: np.ndarray | None = None  # in-park plants (metric CRS): where 退城入园 leads
    park_labels: np.ndarray | None = None  # their park name (or the plant's name when no park is given)
    units: list = field(default_factory=list)  # per plant: None, or [(unit name, unit kind, inventory text)]
    dense_box: tuple | None = None  # metric box whose dense areas were found (None: the whole raster)


@dataclass
class RelocationResult:
    """Result of :func:`assess_relocation`.

    Attributes
    ----------
    plants : GeoDataFrame
        One row per assessed plant (plants' CRS), see :data:`PLANT_COLUMNS`.
    zones : GeoDataFrame
        Safety-zone polygons (same CRS).
    dense_areas : GeoDataFrame
        Dense population areas (same CRS).
    summary : DataFrame
        Per-county summary.
    provenance : dict
        Inputs, parameters, standards, notes, software, time.
    """

    plants: object
    zones: object
    dense_areas: object
    summary: pd.DataFrame
    provenance: dict
    context: _Context = field(repr=False, default=None)

    def layers(self) -> dict:
        """``{"plants", "zones", "dense_areas"}`` for :func:`riskmap.io.write_layers`."""
        return {"plants": self.plants, "zones": self.zones, "dense_areas": self.dense_areas}


#: Output columns of the plants layer (in order; the input's other fields follow).
PLANT_COLUMNS = (
    "name", "county", "safe_dist", "safe_dist_src", "pop_exposed", "nodata_cells", "in_dense", "dense_km2",
    "site_in_dense", "sensitive_n", "sensitive", "sens_nearest", "sens_nearest_m", "S", "R", "alpha",
    "pop_alpha", "alpha_basis", "hazard_grade", "grade_basis", "major_hazard", "chem_unknown", "stock_unread",
    "units", "ent_type", "ent_type_src", "in_scope", "in_park", "park", "nearest_park", "zone_off_raster", "verdict", "review", "relocate", "priority", "score",
    "reasons",
)
# Their labels, units and value labels are declared once, in riskmap.analysis.registry (RELOCATION_TABLES).


def _progress_range(progress, lo, hi):
    if progress is None:
        return None
    return lambda frac, msg: progress(lo + (hi - lo) * float(frac), msg)


def assess_relocation(plants, population, sensitive=None, params: RelocationParams | None = None, *,
                      progress=None, inputs: dict | None = None) -> RelocationResult:
    """Assess which hazardous-chemical plants should be relocated out of dense population areas.

    Parameters
    ----------
    plants : GeoDataFrame
        Points (or site polygons) with ``name, industry, county, safe_dist [m], chemicals``
        (``"液氯:5;液氨:20"`` tonnes); Chinese headers accepted (see :func:`normalise_plants`).
    population : str, Path, rasterio dataset or :class:`~riskmap.analysis.zonal.RasterGrid`
        Persons per cell, any CRS; nodata counts as zero.
    sensitive : GeoDataFrame, optional
        Sensitive targets with ``name, category``.
    params : RelocationParams, optional
        Rules and defaults.
    progress : callable, optional
        ``progress(fraction, message)``; may raise CancelledError.
    inputs : dict, optional
        ``{role: path}`` for the provenance record (taken from the layers when omitted).

    Returns
    -------
    RelocationResult

    Notes
    -----
    GB 18218-2018 §4.1 and §4.3 (Tables 1–6) for S, R and the grade; the α population is counted
    within ``alpha_radius_m`` of the plant (PARTIAL; STANDARDS.md §1.4). A plant with S < 1 is not a
    major hazard installation: its ``hazard_grade`` is empty and ``major_hazard`` False (R is still
    given). Unknown chemical names are listed in ``chem_unknown`` and the notes, and left out of S/R.
    """

    params = (params or RelocationParams()).validate()
    report = progress or (lambda frac, msg: None)
    report(0.0, tr("准备数据", "preparing"))
    plants, sensitive = _with_own_crs(plants), _with_own_crs(sensitive)
    gdf, notes = normalise_plants(plants, params.industries)
    sens = normalise_sensitive(sensitive)
    grid = zonal.as_grid(population)
    plants_crs = gdf.crs
    metric_crs = grid.crs if grid.is_metric else crs_policy.metric_crs_for(gdf)
    if grid.is_geographic_north_up:
        notes.append(tr("人口栅格为经纬度，防护圆在各自中心的局部米制坐标中精确计算覆盖",
                        "lon/lat population raster: exact circle coverage in each zone's local metric frame"))
    elif not grid.is_metric:
        notes.append(tr("人口栅格非米制投影，按精确多边形覆盖计算",
                        "population raster not in a metric projection: exact polygon coverage via exactextract"))
    geoms = np.asarray(gdf.geometry.values)
    # the zone polygons (GEOS, PROJ: they release the GIL) are built on a second thread, with CRS objects
    # of its own, while this one sums the people in the zones; its transformer is made from the start
    # (PROJ's database search, ~0.05 s) while this thread grades
    zones_pool = ThreadPoolExecutor(1, thread_name_prefix="riskmap-zones")
    zones_crs = (_own_crs(metric_crs), _own_crs(plants_crs))
    zones_pool.submit(crs_policy.transformer, *zones_crs)
    try:
        return _assess(gdf, notes, sens, grid, plants, sensitive, geoms, metric_crs, plants_crs, params, report,
                       progress, inputs, zones_pool, zones_crs)
    finally:
        zones_pool.shutdown(wait=True)


def _assess(gdf, notes, sens, grid, plants, sensitive, geoms, metric_crs, plants_crs, params, report, progress,
            inputs, zones_pool, zones_crs):
    import geopandas as gpd
    import shapely

    geoms_m = np.asarray(crs_policy.transform_geometries(geoms, plants_crs, metric_crs))
    given = gdf["safe_dist_in"].to_numpy(float)
    # every plant with its own distance (the usual register): the people in the zones are summed on the
    # zone thread while this one grades (numpy and the raster reads release the GIL); otherwise after
    # the grading, which gives the default distances
    early_exposure = None
    if len(given) and bool(np.isfinite(given).all()):
        # the grid with a CRS object of the zone thread's own (pyproj CRS objects are not shared)
        own_grid = dataclasses.replace(grid, crs=_own_crs(grid.crs))
        early_exposure = zones_pool.submit(_exposure, own_grid, geoms, given, zones_crs,
                                           _progress_range(progress, 0.45, 0.85))

    # GB 18218 α population and the grading, which also gives the hazard kind for default distances.
    # Sums take the plants' own coordinates (one transformation into the raster's CRS, none when it is theirs).
    alpha_people, alpha_basis = alpha_population(grid, geoms, gdf["site_radius_m"].to_numpy(float),
                                                 params.alpha_radius_m, metric_crs,
                                                 progress=_progress_range(progress, 0.02, 0.25), crs=plants_crs)
    graded = [grade_plant(text, units, people, params)
              for text, units, people in zip(gdf["chemicals"].to_numpy(), gdf["unit_inventories"].to_numpy(),
                                             alpha_people)]
    grades = [g for g, _basis, _units in graded]
    dist, src = _safe_distances(given, [g.main_kind for g in grades], params)

    # the dense areas the zones touch (whole, however far they reach), not those of the whole raster
    dense_box = _zones_box(geoms_m, dist)
    dense_bounds = None if dense_box is None else crs_policy.box_in_crs(dense_box, metric_crs, grid.crs)
    dense = dense_areas(grid, params.dense_threshold, params.dense_min_area_km2, metric_crs=metric_crs,
                        progress=_progress_range(progress, 0.25, 0.45), bounds=dense_bounds)
    notes.append(tr("人口密集区在企业防护区所及范围内识别，伸入该范围的密集区整片计入",
                    "dense areas are looked for where the plants' zones reach; those reaching in are taken whole"))
    dense_m = np.asarray(dense.geometry.values)
    dense_tree = shapely.STRtree(dense_m)
    zones_job = zones_pool.submit(_zones_and_overlap, geoms_m, dist, dense_m, dense_tree, *zones_crs)
    if early_exposure is not None:
        exposure = early_exposure.result()
    else:
        exposure = zonal.zone_sums(grid, gpd.GeoSeries(geoms, crs=plants_crs), dist,
                                   progress=_progress_range(progress, 0.45, 0.85), metric_crs=metric_crs)
    overlap, zones_geoms = zones_job.result()
    report(0.85, tr("叠加分析", "overlaying"))
    site_in_dense = np.zeros(len(gdf), bool)
    if len(dense_m):
        hit = dense_tree.query(geoms_m, predicate="intersects")
        site_in_dense[hit[0]] = True

    ctx = _Context(grid, metric_crs, plants_crs, params, dense_m, dense_tree, None, None, None, None,
                   dense_box=dense_box)
    if sens is not None:
        ctx.sens_metric = np.asarray(crs_policy.transform_geometries(np.asarray(sens.geometry.values), sens.crs,
                                                                     metric_crs))
        ctx.sens_tree = shapely.STRtree(ctx.sens_metric)
        ctx.sens_names = sens["name"].to_numpy(object)
        ctx.sens_categories = sens["category"].to_numpy(object)
    sens_info = _sensitive_in_zones(ctx, geoms_m, dist)
    report(0.9, tr("评定", "grading"))

    out = gdf.drop(columns=["safe_dist_in", "unit_inventories"]).copy()
    out["safe_dist"] = dist
    out["safe_dist_src"] = src
    out["pop_exposed"] = exposure["sum"].to_numpy()
    out["nodata_cells"] = exposure["nodata_cells"].to_numpy(np.int64)
    out["dense_km2"] = overlap
    out["in_dense"] = overlap > params.min_dense_overlap_km2
    out["site_in_dense"] = site_in_dense
    out["zone_off_raster"] = exposure["outside_m2"].fillna(0).to_numpy(float) > 1.0
    for key in ("sensitive_n", "sensitive", "sens_nearest", "sens_nearest_m"):
        out[key] = sens_info[key]
    ctx.sens_counts = sens_info["sens_counts"]
    ctx.units = list(gdf["unit_inventories"].to_numpy(object))
    ctx.park_geoms = geoms_m[gdf["in_park"].to_numpy(bool)]
    ctx.park_labels = np.array([p or n for p, n in zip(gdf.loc[gdf["in_park"].to_numpy(bool), "park"],
                                                        gdf.loc[gdf["in_park"].to_numpy(bool), "name"])], dtype=object)
    out["nearest_park"] = nearest_park(ctx, geoms_m)
    out["S"] = [g.S for g in grades]
    out["R"] = [g.R for g in grades]
    out["alpha"] = [g.alpha for g in grades]
    out["pop_alpha"] = alpha_people
    out["alpha_basis"] = alpha_basis
    out["hazard_grade"] = [g.grade_text for g in grades]
    out["grade_basis"] = [basis for _g, basis, _units in graded]
    out["units"] = [units for _g, _basis, units in graded]
    out["major_hazard"] = [g.major for g in grades]
    out["chem_unknown"] = ["、".join([*g.unknown, *(f"{b}（β未确定）" for b in g.beta_unknown),
                                     *(f"{c}（按最严格条目）" for c in g.conservative)]) for g in grades]
    out["stock_unread"] = ["、".join(g.unreadable) for g in grades]
    out["main_kind"] = [g.main_kind for g in grades]
    _apply_rules(out, ctx.sens_counts, params)

    columns = [c for c in PLANT_COLUMNS if c in out.columns]
    out = out[columns + [c for c in out.columns if c not in columns and c != out.geometry.name]
              + [out.geometry.name]]
    plants_out = gpd.GeoDataFrame(out, geometry=out.geometry.name, crs=plants_crs)
    zones_out = gpd.GeoDataFrame(
        plants_out[["name", "county", "safe_dist", "pop_exposed", "relocate", "priority", "hazard_grade"]].copy(),
        geometry=zones_geoms, crs=plants_crs)
    dense_out = _dense_layer(dense, plants_crs)

    notes += _notes(plants_out, grades, exposure, params)
    record = provenance(
        "relocation",
        inputs or {"plants": _source_of(plants), "population": grid.path or "in-memory raster",
                   "sensitive": _source_of(sensitive) if sensitive is not None else "—"},
        {**params.to_dict(), "metric_crs": metric_crs.to_string()},
        standards=[*gb18218.STANDARD_CITATIONS,
                   "GB/T 37243-2019 (外部安全防护距离: no default distance; riskmap default table used "
                   "only where safe_dist is missing)"],
        notes=notes,
    )
    result = RelocationResult(plants_out, zones_out, dense_out, county_summary(plants_out), record, ctx)
    report(1.0, tr("完成", "done"))
    return result


WHOLE_PLANT_BASIS = "按全厂合计估算"


def _zones_box(geoms_m, dist) -> tuple | None:
    """Metric bounding box of every plant's zone (its geometry's bounds grown by its distance)."""
    import shapely

    b = shapely.bounds(np.asarray(geoms_m))
    ok = np.isfinite(b).all(axis=1) & np.isfinite(dist)
    if not ok.any():
        return None
    d = np.asarray(dist, float)[ok]
    return (float(np.min(b[ok, 0] - d)), float(np.min(b[ok, 1] - d)), float(np.max(b[ok, 2] + d)),
            float(np.max(b[ok, 3] + d)))


def _dense_areas_around(result, box) -> None:
    """Find the dense areas around ``box`` too (a plant moved outside the box searched so far)."""
    import shapely

    ctx = result.context
    have = ctx.dense_box
    if have is None or box is None or (box[0] >= have[0] and box[1] >= have[1] and box[2] <= have[2]
                                       and box[3] <= have[3]):
        return
    union = (min(box[0], have[0]), min(box[1], have[1]), max(box[2], have[2]), max(box[3], have[3]))
    params = ctx.params
    dense = dense_areas(ctx.grid, params.dense_threshold, params.dense_min_area_km2, metric_crs=ctx.metric_crs,
                        bounds=crs_policy.box_in_crs(union, ctx.metric_crs, ctx.grid.crs))
    ctx.dense_box = union
    ctx.dense_metric = np.asarray(dense.geometry.values)
    ctx.dense_tree = shapely.STRtree(ctx.dense_metric)
    result.dense_areas = _dense_layer(dense, ctx.plants_crs)


def _dense_layer(dense, crs):
    """The dense areas (metric) as the result layer, in the plants' CRS."""
    return dense.to_crs(crs) if len(dense) else dense.set_crs(crs, allow_override=True)


def grade_plant(text, units, people, params: RelocationParams):
    """Grade one enterprise per GB 18218-2018: by unit when its units are known, else as one unit.

    GB 18218-2018 identifies and grades each 生产单元 / 储存单元 (第3章术语、第4章辨识与分级). With
    ``units`` (``[(name, kind, inventory text), …]``) every unit is graded with the enterprise's α;
    the enterprise is a major hazard when any unit is, and takes the governing unit's S, R and grade
    (the major-hazard unit with the highest R; without one, the unit with the highest S). Unknown
    names, undetermined β and unreadable amounts of any unit make the grade a lower bound. Without
    units the whole-plant total is graded as one unit and labelled :data:`WHOLE_PLANT_BASIS`.

    Returns
    -------
    (InventoryGrade, str, str)
        The governing grade, the basis text, and one line per unit ("" without units).
    """
    def grade(inventory):
        return gb18218.grade_inventory(inventory, people, beta_overrides=params.beta_overrides,
                                       conservative=params.conservative_ambiguous)

    whole = grade(text)
    if not units:
        return whole, WHOLE_PLANT_BASIS, ""
    unit_grades = [grade(inventory) for _name, _kind, inventory in units]
    majors = [i for i, g in enumerate(unit_grades) if g.major]
    s_values = np.array([g.S if math.isfinite(g.S) else -1.0 for g in unit_grades])
    governing = (max(majors, key=lambda i: unit_grades[i].R) if majors else int(np.argmax(s_values)))
    chosen = unit_grades[governing]

    def union(attr):
        return list(dict.fromkeys(x for g in unit_grades for x in getattr(g, attr)))

    combined = dataclasses.replace(chosen, unknown=union("unknown"), beta_unknown=union("beta_unknown"),
                                   conservative=union("conservative"), unreadable=union("unreadable"),
                                   recognised=union("recognised"), main_kind=whole.main_kind)
    lines = []
    for (name, kind, _inv), g in zip(units, unit_grades):
        label = f"{name}（{kind}）" if kind else name
        status = (g.grade_text + "重大危险源" if g.major else "储量无法读取" if not math.isfinite(g.S)
                  else "非重大危险源")
        s_text = f"S={g.S:.2f}，R={g.R:.1f}" if math.isfinite(g.S) else "S未知"
        lines.append(f"{label}：{s_text}，{status}")
    name = units[governing][0]
    basis = (f"按单元辨识（{len(units)}个单元，{len(majors)}个构成重大危险源；定级单元：{name}）" if majors
             else f"按单元辨识（{len(units)}个单元，均不构成重大危险源）")
    return combined, basis, "；".join(lines)


def nearest_park(ctx, geoms_m) -> np.ndarray:
    """``"信阳化工产业园（约12.3 km）"``: the nearest chemical park (an in-park plant of the input) of each plant."""
    import shapely

    out = np.full(len(geoms_m), "", dtype=object)
    if ctx.park_geoms is None or len(ctx.park_geoms) == 0 or len(geoms_m) == 0:
        return out
    tree = shapely.STRtree(ctx.park_geoms)
    (src, dst), dist = tree.query_nearest(np.asarray(geoms_m), return_distance=True, all_matches=False)
    out[src] = [f"{ctx.park_labels[j]}（约{d / 1000:.1f} km）" for j, d in zip(dst, dist)]
    return out


def alpha_population(grid, geoms_m, site_radius, radius_m, metric_crs, progress=None, crs=None):
    """Residents from each site's boundary out to ``radius_m`` (GB 18218-2018 §4.3, 厂区边界向外500 m).

    A site polygon: its ``radius_m`` buffer minus the site itself; a point with a site radius r:
    the ring r … r + ``radius_m``; a bare point: the disc of ``radius_m`` around it, which counts
    from the point, not the boundary (under-counts: the basis says so). People inside the site are
    never counted.

    ``geoms_m`` are in ``crs`` (default ``metric_crs``); circles and rings are measured in metres
    whatever their CRS, and site polygons are buffered in ``metric_crs``.

    Returns
    -------
    (ndarray of people, ndarray of str basis)
    """
    import geopandas as gpd
    import shapely

    crs = metric_crs if crs is None else crs
    geoms_m = np.asarray(geoms_m)
    n = len(geoms_m)
    site_radius = np.nan_to_num(np.asarray(site_radius, float), nan=0.0)
    is_point = shapely.get_type_id(geoms_m) == 0
    polygon = ~is_point
    ringed = is_point & (site_radius > 0)
    outer_r = np.where(ringed, site_radius + radius_m, radius_m)
    outer = zonal.zone_sums(grid, gpd.GeoSeries(geoms_m, crs=crs), outer_r, progress=progress,
                            metric_crs=metric_crs)["sum"].to_numpy(float)
    inner = np.zeros(n)
    if ringed.any():
        inner[ringed] = zonal.zone_sums(grid, gpd.GeoSeries(geoms_m[ringed], crs=crs), site_radius[ringed],
                                        metric_crs=metric_crs)["sum"].to_numpy(float)
    if polygon.any():
        inside = zonal.polygon_sums(grid, gpd.GeoSeries(geoms_m[polygon], crs=crs))
        inner[polygon] = np.asarray(inside["sum"], float)
    basis = np.where(polygon, "厂区边界外500 m（厂区面）",
                     np.where(ringed, "厂区边界外500 m（按厂区半径）", "按厂址点估算，偏小（无厂区边界）")).astype(object)
    if radius_m != 500.0:
        basis = np.array([b.replace("500 m", f"{radius_m:g} m") for b in basis], dtype=object)
    return np.maximum(outer - inner, 0.0), basis


def _own_crs(crs):
    """A copy of a pyproj CRS for another thread (pyproj CRS objects must not be shared between threads)."""
    from pyproj import CRS

    return CRS.from_wkt(crs_policy.crs_wkt(crs))


def _with_own_crs(layer):
    """A shallow copy of ``layer`` with a CRS object of its own.

    The caller's CRS object may be shared with the map's render threads, and pyproj CRS objects
    must not be used from two threads at once (see :data:`riskmap.crs.PROJ_LOCK`); the copy is
    made under that lock, and the analysis (often run in a worker thread) uses only its own.
    """
    if layer is None or getattr(layer, "crs", None) is None:
        return layer
    from pyproj import CRS

    return layer.set_crs(CRS.from_wkt(crs_policy.crs_wkt(layer.crs)), allow_override=True)


def _source_of(layer) -> str:
    if layer is None:
        return "—"
    meta = getattr(layer, "attrs", {}).get("riskmap") or {}
    return meta.get("source") or describe_input(layer)


def _safe_distances(given: np.ndarray, kinds, params: RelocationParams):
    dist = given.astype(float).copy()
    src = np.full(len(dist), "安全评价报告", dtype=object)  # the plant's own figure
    missing = ~np.isfinite(dist)
    for i in np.flatnonzero(missing):
        kind = kinds[i]
        if kind and kind in params.distance_table:
            dist[i] = float(params.distance_table[kind])
            src[i] = f"默认表：{KIND_LABELS.get(kind, kind)}"
        else:
            dist[i] = float(params.default_distance_m)
            src[i] = "默认距离"
    return dist, src


def _zone_polygons(geoms_m, dist):
    import shapely

    return shapely.buffer(geoms_m, dist, quad_segs=zonal.CIRCLE_QUAD_SEGS)


#: Segments per quarter of a point plant's drawn zone (the layer written and shown): 128 vertices, a vertex
#: every 49 m on a 1 km circle and at most 0.03 % of the radius inside it (0.3 m at 1 km, under a pixel at any
#: scale the circle fits the screen). Every figure — people, targets, dense overlap — is computed on the exact
#: circle or on 256-gons, not on this polygon; halving its vertices halves the zone layer's writing.
ZONE_DRAWN_QUAD_SEGS = 32

#: Safety zones of site outlines (not points) buffered at a time (257-vertex polygons: ~40 MB per 10,000).
ZONE_CHUNK = 10_000


def _exposure(grid, geoms, dist, zones_crs, progress):
    """People within each plant's distance (:func:`riskmap.analysis.zonal.zone_sums`), with the zone
    thread's own CRS objects."""
    import geopandas as gpd

    metric_crs, plants_crs = zones_crs
    return zonal.zone_sums(grid, gpd.GeoSeries(geoms, crs=plants_crs), dist, progress=progress,
                           metric_crs=metric_crs)


def _zones_and_overlap(geoms_m, dist, dense_m, dense_tree, metric_crs, plants_crs):
    """Each plant's zone polygon in the plants' CRS and its overlap (km²) with the dense areas.

    A point's zone is made directly in the plants' CRS (:func:`riskmap.crs.circles_in_crs`: the GEOS
    buffer's vertices, :data:`ZONE_DRAWN_QUAD_SEGS` per quarter, placed within 5 mm of PROJ); a site outline's
    is buffered in the metric CRS, in
    chunks of :data:`ZONE_CHUNK`, and transformed. Metric zones for the overlap are built only for
    plants within their distance of a dense area.
    """
    import shapely

    n = len(geoms_m)
    zones = np.empty(n, dtype=object)
    is_point = (shapely.get_type_id(geoms_m) == 0) & ~shapely.is_empty(geoms_m)
    points = np.flatnonzero(is_point)
    if points.size:
        zones[points] = crs_policy.circles_in_crs(shapely.get_x(geoms_m[points]), shapely.get_y(geoms_m[points]),
                                                  dist[points], metric_crs, plants_crs,
                                                  quad_segs=ZONE_DRAWN_QUAD_SEGS)
    outlines = np.flatnonzero(~is_point)
    for lo in range(0, outlines.size, ZONE_CHUNK):
        part = outlines[lo:lo + ZONE_CHUNK]
        zones[part] = crs_policy.transform_compact_geometries(_zone_polygons(geoms_m[part], dist[part]),
                                                              metric_crs, plants_crs)
    return _dense_overlap(geoms_m, dist, dense_m, dense_tree), zones


def _dense_overlap(geoms_m, dist, dense_m, dense_tree) -> np.ndarray:
    """Area (km²) of each plant's zone (metric buffer) inside the dense areas."""
    import shapely

    overlap = np.zeros(len(geoms_m))
    if len(dense_m) == 0 or len(geoms_m) == 0:
        return overlap
    near = np.unique(dense_tree.query(geoms_m, predicate="dwithin", distance=dist)[0])
    for lo in range(0, near.size, ZONE_CHUNK):
        part = near[lo:lo + ZONE_CHUNK]
        zones_m = _zone_polygons(geoms_m[part], dist[part])
        zi, di = dense_tree.query(zones_m, predicate="intersects")
        if zi.size:
            areas = shapely.area(shapely.intersection(zones_m[zi], dense_m[di])) / 1e6
            overlap[part] += np.bincount(zi, areas, minlength=part.size)
    return overlap


def _sensitive_in_zones(ctx: _Context, geoms_m, dist) -> dict:
    import shapely

    n = len(geoms_m)
    info = {"sensitive_n": np.zeros(n, np.int64), "sensitive": np.full(n, "", dtype=object),
            "sens_counts": [dict() for _ in range(n)], "sens_nearest": np.full(n, "", dtype=object),
            "sens_nearest_m": np.full(n, np.nan)}
    if ctx.sens_tree is None or n == 0:
        return info
    pi, si = ctx.sens_tree.query(geoms_m, predicate="dwithin", distance=dist)
    d = shapely.distance(geoms_m[pi], ctx.sens_metric[si]) if pi.size else np.zeros(0)
    order = np.lexsort((d, pi))
    pi, si, d = pi[order], si[order], d[order]
    info["sensitive_n"] = np.bincount(pi, minlength=n).astype(np.int64)
    starts = np.searchsorted(pi, np.arange(n))
    ends = np.searchsorted(pi, np.arange(n), side="right")
    for p in np.flatnonzero(ends > starts):  # only plants with targets inside: short lists
        idx = si[starts[p]:ends[p]]
        info["sensitive"][p] = "、".join(str(v) for v in ctx.sens_names[idx])
        counts: dict = {}
        for cat in ctx.sens_categories[idx]:
            counts[cat] = counts.get(cat, 0) + 1
        info["sens_counts"][p] = counts
    near_idx, near_d = ctx.sens_tree.query_nearest(geoms_m, return_distance=True, all_matches=False)
    info["sens_nearest"][near_idx[0]] = ctx.sens_names[near_idx[1]]
    info["sens_nearest_m"][near_idx[0]] = near_d
    return info


def priority_scores(frame, sens_counts, params: RelocationParams) -> np.ndarray:
    """Priority score of each plant (higher = more urgent).

    ``score = score_per_1000_people × pop_exposed/1000 + score_per_sensitive × Σ weight(target)
    + score_per_dense_km2 × dense_km2 + GRADE_POINTS[grade]``. riskmap defaults: 2 points per 1,000
    people exposed; 1 point × weight per sensitive target (schools, kindergartens, hospitals and nursing
    homes weigh 2, other targets 1); 2 points per km² of dense-area overlap; GRADE_POINTS 一级 8,
    二级 4, 三级 2, 四级 1, not a major hazard 0. ``sens_counts`` holds one ``{category: n}`` per row.
    """
    sens_weight = np.array([sum(SENSITIVE_CATEGORIES.get(c, _OTHER_SENSITIVE)[2] * k for c, k in counts.items())
                            for counts in sens_counts], float)
    return (params.score_per_1000_people * frame["pop_exposed"].to_numpy(float) / 1000.0
            + params.score_per_sensitive * sens_weight
            + params.score_per_dense_km2 * frame["dense_km2"].to_numpy(float)
            + frame["hazard_grade"].astype(str).str.lstrip("≥").map(GRADE_POINTS).fillna(0.0).to_numpy(float))


#: Verdicts of the assessment.
VERDICTS = {"relocate": "建议搬迁", "review": "复核外部安全防护距离", "park_review": "园区内企业，复核防护距离内目标",
            "keep": "暂不搬迁", "out_of_scope": "不适用"}
_GRADE_ORDER = {"一级": 0, "二级": 1, "三级": 2, "四级": 3}


def plausibility(out, params: RelocationParams) -> np.ndarray:
    """Why each plant's reported distance is implausible for its inventory ("" when plausible).

    A major hazard whose reported 外部安全防护距离 is below ``plausible_min_ratio`` of riskmap's default
    distance for its most hazardous kind (e.g. 310 m for 30 t of 液氯, default 1000 m for toxic gases) is
    too small to accept unchecked; a plant holding less than ``plausible_small_s`` of a threshold quantity
    with more than ``plausible_max_small_m`` is too large. Only figures from a report are judged.
    """
    s_values = out["S"].to_numpy(float)
    dist = out["safe_dist"].to_numpy(float)
    reported = (out["safe_dist_src"].to_numpy(object) == "安全评价报告")
    kinds = out["main_kind"].to_numpy(object)  # columns read once: a frame lookup per row costs ~80 µs
    major = out["major_hazard"].to_numpy(bool)
    notes = np.full(len(out), "", dtype=object)
    for i in np.flatnonzero(reported):
        kind = kinds[i]
        default = params.distance_table.get(kind) if kind else None
        if major[i] and default and dist[i] < params.plausible_min_ratio * float(default):
            notes[i] = (f"防护距离{dist[i]:.0f} m 偏小（{KIND_LABELS.get(kind, kind)}重大危险源，S={s_values[i]:.1f}；"
                        f"同类缺省{float(default):.0f} m），需复核安全评价报告")
        elif np.isfinite(s_values[i]) and s_values[i] < params.plausible_small_s \
                and dist[i] > params.plausible_max_small_m:
            notes[i] = f"防护距离{dist[i]:.0f} m 偏大（S={s_values[i]:.2f}，储量很小），需复核"
    return notes


def _apply_rules(out, sens_counts, params: RelocationParams, rows=None) -> None:
    """Set scope, ``relocate``, ``verdict``, ``reasons``, ``score`` for ``rows`` (all when None), then re-rank.

    The relocation rule applies only where the plan and the standards apply: a hazardous-chemical
    enterprise in scope of GB/T 37243-2019 (not 城镇燃气, 加油加气站, 民爆, 烟花爆竹 — §3 — nor a shop
    without storage or 工贸涉氨制冷), which is a production enterprise (国办发〔2017〕77号) or a major
    hazard (GB 18218), outside a chemical park, and whose safety zone overlaps a dense area, holds
    sensitive targets, or (grade 1/2) exposes many people. Out-of-scope plants are listed with the
    reason; an implausible reported distance is flagged for review (:func:`plausibility`).
    """
    rows = np.arange(len(out)) if rows is None else np.asarray(rows, np.int64)
    part = out.iloc[rows]
    counts = [sens_counts[i] for i in rows]
    types = part["ent_type"].to_numpy(object)
    in_scope = ~np.isin(types, list(OUT_OF_SCOPE))
    production = types == "production"
    major = part["major_hazard"].to_numpy(bool)
    in_park = part["in_park"].to_numpy(bool)
    dense_hit = part["in_dense"].to_numpy(bool) & params.rule_dense
    sens_hit = (part["sensitive_n"].to_numpy() >= max(params.sensitive_min_count, 1)) & params.rule_sensitive
    grades = part["hazard_grade"].astype(str).str.lstrip("≥")
    grade_hit = (grades.isin(list(params.grade_rule_grades)).to_numpy()
                 & (part["pop_exposed"].to_numpy(float) > params.grade_rule_min_people) & params.rule_grade)
    hit = dense_hit | sens_hit | grade_hit
    relevant = in_scope & (production | major)
    relocate = relevant & hit & ~in_park
    review_text = plausibility(part, params)
    review = in_scope & (review_text != "")
    verdict = np.where(relocate, VERDICTS["relocate"], np.where(
        ~in_scope, VERDICTS["out_of_scope"], np.where(
            review, VERDICTS["review"], np.where(relevant & hit & in_park, VERDICTS["park_review"],
                                                  VERDICTS["keep"]))))
    # the columns the texts use, read once (a frame lookup per row and column costs ~80 µs)
    col = {key: part[key].to_numpy(object) for key in
           ("safe_dist", "safe_dist_src", "hazard_grade", "grade_basis", "S", "dense_km2", "site_in_dense",
            "pop_exposed", "park", "nearest_park", "zone_off_raster", "ent_type_src") if key in part.columns}
    reasons = []
    for i in range(len(rows)):
        if not in_scope[i]:
            reasons.append(OUT_OF_SCOPE[types[i]])
            continue
        parts = []
        exposure = []
        if sens_hit[i]:
            exposure.append("范围内有" + "、".join(_count_text(cat, k) for cat, k in _ordered(counts[i])))
        head = f"外部安全防护距离{col['safe_dist'][i]:.0f} m（{col['safe_dist_src'][i]}）"
        parts.append(head + ("".join(exposure) if exposure else ""))
        grade = col['hazard_grade'][i]
        parts.append(f"{grade}重大危险源（{col['grade_basis'][i]}）" if major[i] else
                     f"非重大危险源（S={col['S'][i]:.2f}）" if np.isfinite(col['S'][i]) else "储量无法读取")
        if dense_hit[i]:
            parts.append(f"与城镇人口密集区重叠{col['dense_km2'][i]:.2f} km²")
        if col['site_in_dense'][i]:
            parts.append("位于城镇人口密集区")
        if grade_hit[i]:
            parts.append(f"防护距离内约{col['pop_exposed'][i]:.0f}人")
        if in_park[i]:
            parts.append("位于化工园区" + (f"（{col['park'][i]}）" if col['park'][i] else ""))
        elif relocate[i] and "nearest_park" in col and col['nearest_park'][i]:
            parts.append(f"退城入园：最近园区 {col['nearest_park'][i]}")
        if "zone_off_raster" in col and col['zone_off_raster'][i]:
            parts.append("防护区部分超出人口栅格，人口偏少")
        elif not relevant[i] and hit[i]:
            parts.append("非生产企业且非重大危险源，按相关规范间距管理")
        if review_text[i]:
            parts.append(review_text[i])
        if col['ent_type_src'][i] == "按名称推断":
            parts.append(f"企业类型“{ENTERPRISE_TYPES[types[i]]}”按名称推断")
        reasons.append("；".join(parts))
    values = {
        "in_scope": in_scope,
        "relocate": relocate,
        "review": review,
        "verdict": verdict.astype(object),
        "reasons": np.asarray(reasons, dtype=object),
        "score": np.round(priority_scores(part, counts, params), 3),
        "sens_counts": np.asarray(["；".join(f"{_category_label(c)}:{k}" for c, k in _ordered(cnt))
                                   for cnt in counts], dtype=object),
    }
    for key, vals in values.items():
        if len(rows) == len(out) or key not in out.columns:
            out[key] = vals if len(rows) == len(out) else None
        if len(rows) != len(out):
            col = out.columns.get_loc(key)
            for j, r in enumerate(rows):
                out.iat[r, col] = vals[j]
    for key in ("relocate", "review", "in_scope"):
        out[key] = out[key].astype(bool)
    out["score"] = out["score"].astype(float)
    _rank(out)


def _rank(out) -> None:
    """Priority of the flagged plants: hazard first (grade, then R), then exposure (score, people)."""
    flagged = out["relocate"].to_numpy(bool)
    priority = pd.array([pd.NA] * len(out), dtype="Int64")
    if flagged.any():
        idx = np.flatnonzero(flagged)
        grade_order = out["hazard_grade"].astype(str).str.lstrip("≥").map(_GRADE_ORDER).fillna(4).to_numpy(float)
        r = np.nan_to_num(out["R"].to_numpy(float), nan=0.0)
        order = np.lexsort((out["name"].to_numpy()[idx].astype(str), -out["pop_exposed"].to_numpy(float)[idx],
                            -out["score"].to_numpy(float)[idx], -r[idx], grade_order[idx]))
        ranks = np.empty(idx.size, np.int64)
        ranks[order] = np.arange(1, idx.size + 1)
        priority[idx] = ranks
    out["priority"] = priority


def _ordered(counts: dict):
    known = [c for c in SENSITIVE_CATEGORIES if c in counts]
    return [(c, counts[c]) for c in known] + [(c, k) for c, k in counts.items() if c not in SENSITIVE_CATEGORIES]


def _category_label(cat) -> str:
    return SENSITIVE_CATEGORIES.get(cat, (str(cat) or _OTHER_SENSITIVE[0],))[0]


def _count_text(cat, k) -> str:
    name, unit, _w = SENSITIVE_CATEGORIES.get(cat, (str(cat) or _OTHER_SENSITIVE[0], _OTHER_SENSITIVE[1], 1.0))
    return f"{name}{k}{unit}"


def _notes(plants, grades, exposure, params) -> list[str]:
    notes = []
    unknown = sorted({u for g in grades for u in g.unknown})
    if unknown:
        notes.append(tr("未识别的危险化学品（未计入S、R）：", "unknown chemicals (left out of S and R): ")
                     + tr("、", ", ").join(unknown))
    undetermined = sorted({d for g in grades for d in g.beta_unknown})
    if undetermined:
        notes.append(tr("以下物质β未确定（危险性类别未录入），R按表4最小β=1计，等级为下限“≥”：",
                        "β undetermined for these substances (hazard class not entered); R uses the smallest "
                        "β = 1 of Table 4 and the grade is a lower bound '≥': ")
                     + tr("、", ", ").join(undetermined))
    unread = [(name, "、".join(g.unreadable)) for name, g in zip(plants["name"], grades) if g.unreadable]
    if unread:
        notes.append(tr("储量无法读取（未计入S、R，等级为下限）：", "unreadable amounts (left out of S and R; "
                        "the grade is a lower bound): ")
                     + tr("；", "; ").join(tr(f"{n}：{t}", f"{n}: {t}") for n, t in unread[:20]))
    out_scope = plants.loc[~plants["in_scope"].to_numpy(bool)]
    if len(out_scope):
        notes.append(tr(f"{len(out_scope)}家企业不适用搬迁判定（已列出原因）：",
                        f"{len(out_scope)} plant(s) outside the relocation rule (reasons listed): ")
                     + tr("、", ", ").join(out_scope["name"].head(20)))
    review = plants.loc[plants["review"].to_numpy(bool)]
    if len(review):
        notes.append(tr("防护距离需复核：", "safety distance to be reviewed: ") + tr("、", ", ").join(review["name"].head(20)))
    n_src = plants["safe_dist_src"].value_counts()
    notes.append(tr("防护距离来源：", "safety distance sources: ")
                 + tr("；", "; ").join(tr(f"{k} {v}家", f"{k}: {v} plant(s)") for k, v in n_src.items()))
    nodata = int(exposure["nodata_cells"].sum())
    if nodata:
        notes.append(tr(f"防护区内共有{nodata}个无数据栅格，按0人计",
                        f"{nodata} nodata cell(s) in the zones, counted as 0 persons"))
    outside = exposure["outside_m2"].fillna(0).to_numpy() > 1.0
    if outside.any():
        names = tr("、", ", ").join(plants["name"].to_numpy()[outside][:10])
        notes.append(tr(f"{int(outside.sum())}个防护区部分超出人口栅格范围（{names}），超出部分按0人计",
                        f"{int(outside.sum())} zone(s) partly outside the population raster ({names}); "
                        "the part outside counts as 0 persons"))
    n_point = int((plants["alpha_basis"].astype(str).str.startswith("按厂址点")).sum())
    notes.append(tr(f"α人口按厂区边界外{params.alpha_radius_m:g} m范围内常住人口计（GB 18218-2018 §4.3），厂区内人员不计"
                    + (f"；{n_point}家企业无厂区边界或半径，按厂址点估算，偏小" if n_point else ""),
                    f"α population: residents within {params.alpha_radius_m:g} m outside the site boundary "
                    "(GB 18218-2018 §4.3); people on the site are not counted"
                    + (f"; {n_point} plant(s) without a site boundary or radius estimated from the site point, "
                       "an underestimate" if n_point else "")))
    whole = int((plants["grade_basis"] == WHOLE_PLANT_BASIS).sum())
    if whole:
        notes.append(tr(f"{whole}家企业未给出生产单元/储存单元，S、R按企业全部储量作为一个单元计算（按全厂合计估算，"
                        "GB 18218-2018按单元辨识）；S<1不构成重大危险源，等级为空",
                        f"{whole} plant(s) give no production/storage units: S and R computed with the plant's whole "
                        "inventory as one unit (a whole-plant estimate; GB 18218-2018 identifies by unit); "
                        "S < 1 is not a major hazard and the grade is empty"))
    return notes


def county_summary(plants) -> pd.DataFrame:
    """Per-county summary: plants assessed, flagged, exposed people, sensitive targets, grades."""
    frame = pd.DataFrame({
        "county": plants["county"].replace("", "（未注明）").to_numpy(),
        "relocate": plants["relocate"].to_numpy(bool),
        "pop_exposed": plants["pop_exposed"].to_numpy(float),
        "sensitive_n": plants["sensitive_n"].to_numpy(),
        "major": plants["major_hazard"].to_numpy(bool),
        "grade": plants["hazard_grade"].to_numpy(),
    })
    g = frame.groupby("county", sort=True)
    summary = pd.DataFrame({
        "县区": g.size().index,
        "评估企业数": g.size().to_numpy(),
        "建议搬迁数": g["relocate"].sum().to_numpy(),
        "防护距离内人口": g["pop_exposed"].sum().round(0).to_numpy(),
        "建议搬迁企业防护距离内人口": g.apply(lambda d: d.loc[d["relocate"], "pop_exposed"].sum(),
                                     include_groups=False).round(0).to_numpy(),
        "防护距离内敏感目标": g["sensitive_n"].sum().to_numpy(),
        "重大危险源数": g["major"].sum().to_numpy(),
    })
    for grade in gb18218.GRADES:
        summary[grade] = g["grade"].apply(lambda s, gr=grade: int((s == gr).sum())).to_numpy()
    total = {"县区": "合计", **{c: summary[c].sum() for c in summary.columns if c != "县区"}}
    return pd.concat([summary, pd.DataFrame([total])], ignore_index=True)


# ---------------------------------------------------------------------------
# what-if: one plant
# ---------------------------------------------------------------------------
def update_plant(result: RelocationResult, position: int, *, safe_dist: float | None = None, geometry=None):
    """Recompute one plant after a what-if change (new distance and/or new location), in place.

    Only that plant's exposure, sensitive targets, dense-area overlap (and, when moved, its α
    population and grade) are recomputed; priorities are re-ranked over the table.

    Parameters
    ----------
    result : RelocationResult
        From :func:`assess_relocation`; its ``plants`` and ``zones`` are updated.
    position : int
        Row position of the plant in ``result.plants``.
    safe_dist : float, optional
        New safety distance (m).
    geometry : shapely geometry, optional
        New location in the plants' CRS.

    Returns
    -------
    pandas.Series
        The plant's updated row.
    """
    import shapely

    ctx = result.context
    if ctx is None:
        raise ParameterError(tr("该结果无法更新（缺少评估上下文），请重新运行评估",
                                "this result cannot be updated (no assessment context); rerun the assessment"))
    plants = result.plants
    if not 0 <= int(position) < len(plants):
        raise ParameterError(tr(f"第 {position} 行没有企业，结果共有 {len(plants)} 家企业",
                                f"no plant at row {position}; the result has {len(plants)} plants"))
    position = int(position)
    params = ctx.params
    geom_col = plants.geometry.name
    if geometry is not None:
        if shapely.is_missing(geometry) or shapely.is_empty(geometry):
            raise ParameterError(tr("企业的新位置为空", "the new plant location is empty"))
        plants.iat[position, plants.columns.get_loc(geom_col)] = geometry
    dist = float(plants["safe_dist"].iat[position]) if safe_dist is None else float(safe_dist)
    if not math.isfinite(dist) or dist <= 0:
        raise ParameterError(tr(f"安全距离须为正数（米），不能是“{safe_dist}”",
                                f"the safety distance must be a positive number of metres, not {safe_dist!r}"))
    geom = plants.geometry.iat[position]
    geom_m = np.asarray(crs_policy.transform_geometries(np.array([geom], dtype=object), ctx.plants_crs,
                                                        ctx.metric_crs))
    import geopandas as gpd

    series = gpd.GeoSeries([geom], crs=ctx.plants_crs)
    exposure = zonal.zone_sums(ctx.grid, series, dist, metric_crs=ctx.metric_crs)
    _dense_areas_around(result, _zones_box(geom_m, np.array([dist])))
    overlap, zone = _zones_and_overlap(geom_m, np.array([dist]), ctx.dense_metric, ctx.dense_tree, ctx.metric_crs,
                                       ctx.plants_crs)
    sens = _sensitive_in_zones(ctx, geom_m, np.array([dist]))

    row = {"safe_dist": dist, "pop_exposed": float(exposure["sum"].iat[0]),
           "zone_off_raster": bool(float(np.nan_to_num(exposure["outside_m2"].iat[0])) > 1.0),
           "nodata_cells": int(exposure["nodata_cells"].iat[0]), "dense_km2": float(overlap[0]),
           "in_dense": bool(overlap[0] > params.min_dense_overlap_km2),
           "site_in_dense": bool(len(ctx.dense_metric) and ctx.dense_tree.query(geom_m[0], predicate="intersects").size),
           "sensitive_n": int(sens["sensitive_n"][0]), "sensitive": sens["sensitive"][0],
           "sens_nearest": sens["sens_nearest"][0], "sens_nearest_m": float(sens["sens_nearest_m"][0])}
    if safe_dist is not None:
        row["safe_dist_src"] = "手动调整"
    if geometry is not None:
        people, basis = alpha_population(ctx.grid, np.array([geom], dtype=object),
                                         [plants["site_radius_m"].iat[position]]
                                         if "site_radius_m" in plants.columns else [np.nan],
                                         params.alpha_radius_m, ctx.metric_crs, crs=ctx.plants_crs)
        units = ctx.units[position] if position < len(ctx.units) else None
        grade, basis_text, units_text = grade_plant(plants["chemicals"].iat[position], units, float(people[0]),
                                                    params)
        row.update({"grade_basis": basis_text, "units": units_text})
        row["nearest_park"] = nearest_park(ctx, geom_m)[0]
        row.update({"pop_alpha": float(people[0]), "alpha_basis": basis[0], "alpha": grade.alpha, "R": grade.R,
                    "S": grade.S, "hazard_grade": grade.grade_text, "major_hazard": grade.major})
    for key, value in row.items():
        plants.iat[position, plants.columns.get_loc(key)] = value

    ctx.sens_counts[position] = sens["sens_counts"][0]
    _apply_rules(plants, ctx.sens_counts, params, rows=[position])
    zones = result.zones
    zones.iat[position, zones.columns.get_loc(zones.geometry.name)] = zone[0]
    for key in ("safe_dist", "pop_exposed", "relocate", "priority", "hazard_grade"):
        zones[key] = plants[key].to_numpy() if key != "priority" else plants[key].array
    result.summary = county_summary(plants)
    return plants.iloc[position]


def output_layers(result: RelocationResult) -> dict:
    """``{"plants", "zones", "dense_areas"}`` for :func:`riskmap.io.write_layers` (a GeoPackage)."""
    return result.layers()
