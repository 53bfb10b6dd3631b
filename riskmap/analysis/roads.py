"""Road hazard candidates: sharp bends, steep grades, water-side, cliff-side segments, accident black spots.

Road safety engineers must find and treat 急弯陡坡 (sharp bends, steep grades), 临水临崖 (roads beside
water or cliffs) and 事故多发点段 (accident black spots), located by chainage (桩号). This module
finds candidates from road lines in any CRS; everything is computed in metres in a local metric
CRS (:func:`riskmap.crs.to_metric`).

Method
------
Every road is resampled at a fixed spacing (``spacing_m``, 5 m) along its length
(:func:`riskmap.analysis.linear.resample`), all roads at once in flat numpy arrays.

- **Sharp bends.** The resampled line is smoothed with a Gaussian along its length (σ =
  ``smoothing_m``, at least 0.6 × the road's mean vertex spacing, ends reflected) so digitising
  noise and vertex density do not create curves; the smoothed heading's derivative is the
  curvature. Runs where it exceeds 1 / (``candidate_factor`` × limit radius) with one sign are
  candidate bends (a change of sign splits a reverse curve into two bends). Each candidate is then
  fitted — all candidates together by a batched Levenberg–Marquardt — with the road-design model
  *tangent – circular arc – tangent* to the road's **original vertices** within the bend's window:
  the circle's centre and radius are free, the tangents' directions come from the smoothed heading
  beyond the bend (or are free too at the inflection between the two halves of a reverse curve).
  Vertices lie on the true road even when they are 25 m apart on a 30 m radius, which resampled
  points (on chords) do not, so the fit does not depend on vertex density. A bend is reported when
  the fitted radius is below the JTG D20-2017 limit minimum radius (极限值) for the road's design
  speed and it turns by at least ``min_deflection_deg``; ``radius_m`` is the fitted radius,
  ``deflection_deg`` the turning angle (positive = left, in the digitised direction), the extent
  runs between the two tangent points.
- **Steep grades.** The DEM is sampled bilinearly at the resampled points (windowed reads). The
  grade at a point is the elevation difference over a centred window of ``grade_window_m``
  (≥ 100 m, so DEM noise over one cell does not count), compared with the JTG D20-2017 maximum
  grade for the design speed. **Long continuous down-grades** (连续长下坡) are stretches of at least
  ``downgrade_length_m`` whose average grade reaches ``downgrade_avg_pct``. The defaults (3 km,
  5.5 %) follow the JTG D20 rule for mountain-crossing class-2 to class-4 roads that any continuous
  3 km should average no more than 5.5 % — recalled, not read: STANDARDS.md does not hold it, so
  it is UNCONFIRMED and a parameter. Where a water layer is given, grades are not computed on
  water crossings (a DEM shows the river under a bridge, not the deck).
- **Grade length (坡长超限).** JTG D20-2017 Table 8.3.3 limits how long a grade may run
  (:data:`riskmap.analysis.jtg_d20.MAX_GRADE_LENGTH_M`, a parameter table: PARTIAL). For every
  table row g (3 %…10 %) the runs where the window grade keeps one sign and exceeds the row
  below g (≥ 3 % for the 3 % row) are found; each run's ends are located where the window grade
  crosses half-way between the grades inside and outside the run (the grade break: exact for a
  profile of straight grades, since a centred window turns a break into a linear ramp). The
  run's grade is its smallest grade between its ends (at 0.1 %), and its limit that of the
  next higher table row (rows as written, no interpolation: 4.3 % at 40 km/h is held to the
  5 % row's 900 m). A run longer than its limit (compared to the metre; equal is allowed) is a
  "坡长超限" — also a grade below the maximum grade ("a long moderate grade"). Grades
  under 3 %, and those whose next row is "–" at the low end of the speed's column, are not
  limited; grades above the speed's last limited row take that row's (strictest) limit.
- **Near water.** Resampled points within ``water_distance_m`` of water polygons or lines (bulk
  STRtree query, only for road parts that come that near). The part of a road on or crossing the
  water (a bridge) breaks a run, a run that ends at such a crossing loses
  ``water_crossing_trim × water_distance_m`` at that end (the bridge's approach: a road crossing
  at 30° or more is within the distance for at most twice it), and runs shorter than
  ``water_min_length_m`` are dropped; what remains runs *along* the water. The 100 m default
  (riskmap default; STANDARDS.md §6.2 has no numeric 临水 threshold) exceeds the clear-zone widths
  of JTG D81 on purpose: road centre lines and water polygons of map data are often tens of
  metres apart from the real edges.
- **Near cliff.** At every ``cliff_step_m`` the DEM is sampled at lateral offsets up to
  ``cliff_lateral_m`` on both sides; where the terrain drops more than ``cliff_drop_m`` below the
  road the point is cliff-side (not within ``cliff_lateral_m`` of a water crossing, where the
  valley under a bridge would count). Thresholds are riskmap defaults: STANDARDS.md §6.2 finds no
  numeric 临崖 definition (JTG D81-2006 only names "cliffs, deep valleys" beside class-3/4 roads).
- **Black spots.** There is no national numeric definition of 事故多发点段 (STANDARDS.md §0, §6.3);
  practice counts within a **period** and by **severity**, so both are parameters. The period
  ends on ``blackspot_period_end`` (default: the latest accident date in the data) and covers
  ``blackspot_period_years`` (default 3: "近3年"); accidents outside it, and undated ones when
  the data carry dates, are not counted. Accidents are snapped to the nearest road within
  ``accident_snap_m``; a window of ``blackspot_window_m`` slides along each road in steps of
  ``blackspot_step_m``; a window qualifies with at least ``blackspot_min_accidents`` accidents,
  or (each optional) ``blackspot_min_fatal`` fatal accidents, ``blackspot_min_deaths`` deaths, or
  ``blackspot_min_equivalent`` 当量事故 (equivalent accidents: fatal, injury and property-only
  accidents weighted by ``blackspot_weight_*``). Overlapping qualifying windows merge into one
  black spot spanning its accidents. With ``blackspot_per_year`` the counts are divided by the
  years of the period that the data cover (never by the whole span of the data, which would
  thin out a recent cluster). Every note states the period ("2023-01-01至2025-12-31（近3年）
  事故4起，死亡3人，受伤2人").

Overlapping or touching segments of one kind on one road are merged into one segment: the
extent is their union, the reasons (notes) are joined, the subtypes listed, the measures keep
the most severe value (smallest radius and water distance, largest grade and drop).

Chainage (桩号) is reported as the road authority writes it: a road's ``start_km`` (起点桩号,
e.g. K812+300) and chainage breaks ``breaks`` (断链, ``K15+200=K15+150``) shift the labels
(:class:`riskmap.analysis.linear.Stationing`); ``start_m``/``end_m`` stay measured metres from
the road's first vertex.

Severity is proposed in the four-level risk wording of 安全风险分级管控 (重大风险 红 / 较大风险
橙 / 一般风险 黄 / 低风险 蓝), never the legal accident grades (较大事故 = 3–9 deaths in one accident)
nor 重大事故隐患, a defined term that triggers 挂牌督办 (STANDARDS.md §0).

Every segment carries ``start_m``/``end_m`` along its road, km-post labels and NaN in the fields
that do not apply to its kind.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from riskmap import crs as crs_policy
from riskmap.analysis import jtg_d20
from riskmap.analysis.linear import (Resampled, Stationing, group_runs, line_parts, parse_km_post, resample,
                                     resample_counts, runs, snap_points, substrings, vertex_chainage)
from riskmap.analysis.declare import RISKMAP_DEFAULT, Param, ParamSet
from riskmap.analysis.provenance import describe_input, provenance
from riskmap.errors import CRSError, DataFormatError, EmptyLayerError, ParameterError
from riskmap.i18n import tr

#: Hazard kinds, with Chinese names.
KINDS = {
    "sharp_bend": "急弯",
    "steep_grade": "陡坡",
    "near_water": "临水",
    "near_cliff": "临崖",
    "black_spot": "事故多发点段",
}

#: English names of the hazard kinds (display only; results store the keys).
KINDS_EN = {"sharp_bend": "sharp bend", "steep_grade": "steep grade", "near_water": "water-side",
            "near_cliff": "cliff-side", "black_spot": "accident black spot"}

#: Risk levels of a hazard (安全风险分级管控 four-level wording, STANDARDS.md §0), lowest first, with their colour
#: label. The keys are what the results and the register store.
SEVERITIES = {"低风险": "低风险（蓝）", "一般风险": "一般风险（黄）", "较大风险": "较大风险（橙）", "重大风险": "重大风险（红）"}

#: English labels of the risk levels.
SEVERITIES_EN = {"低风险": "low risk (blue)", "一般风险": "general risk (yellow)",
                 "较大风险": "considerable risk (orange)", "重大风险": "major risk (red)"}

#: Map colours of the risk levels (red / orange / yellow / blue).
SEVERITY_COLOURS = {"低风险": "#2c7bb6", "一般风险": "#ffd700", "较大风险": "#fd8d3c", "重大风险": "#d7191c"}

#: Severity codes of riskmap before the four-level wording (projects saved earlier), and their level.
LEGACY_SEVERITIES = {"low": "一般风险", "medium": "较大风险", "high": "重大风险"}

#: Subtypes of steep-grade segments, with their (Chinese, English) names; a merged segment lists several
#: joined by "+".
SUBTYPES = {"steep": ("超最大纵坡", "over maximum grade"), "grade_length": ("坡长超限", "over maximum grade length"),
            "long_downgrade": ("连续长下坡", "long down-grade")}


def subtype_label(code: str, lang: str = "zh") -> str:
    """Name of a (possibly joined, ``"steep+grade_length"``) subtype code."""
    if not code:
        return ""
    i = 0 if lang == "zh" else 1
    return ("、" if lang == "zh" else ", ").join(SUBTYPES.get(c, (c, c))[i] for c in str(code).split("+"))


def subtype_values() -> dict:
    """``{code: (zh, en)}`` of every subtype and every combination of them (for the declared table)."""
    from itertools import combinations

    keys = list(SUBTYPES)
    out = {}
    for n in range(1, len(keys) + 1):
        for combo in combinations(keys, n):
            code = "+".join(combo)
            out[code] = (subtype_label(code, "zh"), subtype_label(code, "en"))
    return out

#: Columns of the segments table, in order (geometry last).
COLUMNS = ["kind", "subtype", "name", "code", "road_class", "road_index", "speed_kmh", "speed_source",
           "start_m", "end_m", "length_m", "km_start", "km_end", "km_label",
           "radius_m", "radius_limit_m", "deflection_deg", "grade_pct", "grade_limit_pct",
           "drop_m", "side", "water_dist_m", "water_name", "accidents", "deaths", "injuries", "fatal", "equivalent",
           "severity", "note", "county", "stationing"]

#: Chinese aliases of the columns (for layer tables and the Excel register).
ALIASES = {
    "kind": "隐患类型", "subtype": "子类", "name": "道路名称", "code": "路线编号", "road_class": "道路等级",
    "road_index": "道路序号", "speed_kmh": "设计速度(km/h)", "speed_source": "速度来源",
    "start_m": "起点桩号(m)", "end_m": "终点桩号(m)", "length_m": "长度(m)", "km_start": "起点桩号",
    "km_end": "终点桩号", "km_label": "桩号范围", "radius_m": "圆曲线半径(m)", "radius_limit_m": "极限最小半径(m)",
    "deflection_deg": "转角(°)", "grade_pct": "纵坡(%)", "grade_limit_pct": "最大纵坡(%)", "drop_m": "临崖落差(m)",
    "side": "侧别", "water_dist_m": "距水体(m)", "water_name": "水体名称", "accidents": "事故数", "deaths": "死亡人数",
    "injuries": "受伤人数", "fatal": "死亡事故数", "equivalent": "当量事故数", "severity": "风险等级", "note": "说明",
    "county": "县区", "stationing": "桩号定义",
}

STANDARDS = [
    f"{jtg_d20.EDITION} 公路路线设计规范：圆曲线最小半径极限值（i_max = 8 %）、最大纵坡“不应大于”（STANDARDS.md §6.1）",
    f"{jtg_d20.GRADE_LENGTH_CLAUSE} 不同纵坡最大坡长（PARTIAL，参数表；STANDARDS.md §0）",
    "JTG D81-2006 / JTG/T D81-2017 临水临崖护栏设置条件：无数值阈值，采用riskmap缺省值（STANDARDS.md §6.2）",
    "事故多发点段：无全国统一数值定义，按统计时段（缺省近3年）和严重程度计数，阈值为参数（STANDARDS.md §0、§6.3）",
    "风险等级用安全风险分级管控四级表述：重大风险（红）、较大风险（橙）、一般风险（黄）、低风险（蓝）（STANDARDS.md §0）",
]


_UNCONF = "STANDARDS.md §6.3（UNCONFIRMED 历史规则）"
#: Basis of the black-spot period and severity parameters.
_PRACTICE = "实践做法（无全国统一数值定义）；参数（STANDARDS.md §0、§6.3）"

#: The declared parameters of road-hazard detection (defaults, ranges, labels and basis, once).
PARAMS = ParamSet("roads", [
    Param("kinds", "multi", None, "识别类型", "Kinds", choices=tuple(KINDS), nullable=True, form=False,
          choice_labels={k: (v, k) for k, v in KINDS.items()},
          help_zh="只识别这些类型（缺省：输入数据允许的全部类型）", help_en="only these kinds (default: all the inputs allow)"),
    Param("spacing_m", "float", 5.0, "重采样间距", "Resampling spacing", unit="m", minimum=0.5, maximum=100.0,
          cli="--spacing", form=False),
    Param("smoothing_m", "float", 20.0, "曲率平滑σ", "Curvature smoothing σ", unit="m", minimum=0.0,
          exclusive_minimum=True, maximum=500.0, cli="--smoothing", form=False),
    Param("candidate_factor", "float", 2.0, "候选半径倍数", "Candidate radius factor", minimum=1.0, maximum=10.0,
          form=False, cli=False),
    Param("min_deflection_deg", "float", 10.0, "最小转角", "Smallest deflection", unit="°", minimum=0.0,
          maximum=180.0, cli="--min-deflection", form=False),
    Param("max_fit_vertices", "int", 64, "拟合最多点数", "Fit vertices", minimum=8, maximum=10000, form=False,
          cli=False),
    Param("grade_window_m", "float", 100.0, "纵坡计算窗口", "Grade window", unit="m", minimum=100.0,
          maximum=5000.0, cli="--grade-window", form=False,
          help_zh="纵坡计算窗口（至少100 m，更短的窗口测到的是DEM噪声）",
          help_en="window of the grade, at least 100 m (shorter windows measure DEM noise)"),
    Param("grade_tolerance_pct", "float", 0.0, "纵坡容差", "Grade tolerance", unit="%", minimum=0.0, maximum=10.0,
          form=False, cli=False),
    Param("downgrade_length_m", "float", 3000.0, "连续下坡长度", "Long down-grade length", unit="m", minimum=100.0,
          maximum=50000.0, cli="--downgrade-length", form=False, basis=f"{RISKMAP_DEFAULT}（JTG D20 记忆值，UNCONFIRMED）"),
    Param("downgrade_avg_pct", "float", 5.5, "连续下坡平均纵坡", "Long down-grade average", unit="%", minimum=0.1,
          maximum=30.0, cli="--downgrade-avg", form=False, basis=f"{RISKMAP_DEFAULT}（JTG D20 记忆值，UNCONFIRMED）"),
    Param("water_distance_m", "float", 100.0, "临水排查带宽度", "Near-water screening band", unit="m", minimum=1.0,
          maximum=2000.0, step=5, decimals=0, cli="--water-distance",
          help_zh="距水体此距离内的路段列入临水排查（排查带，不是标准限值）",
          help_en="segments within this distance of water are screened as near-water (a screening band, not a limit)"),
    Param("water_min_length_m", "float", 100.0, "最短临水路段", "Shortest near-water segment", unit="m",
          minimum=1.0, maximum=10000.0, cli="--water-min-length", form=False),
    Param("water_crossing_trim", "float", 2.0, "跨水截短倍数", "Crossing trim factor", minimum=0.0, maximum=20.0,
          form=False, cli=False),
    Param("cliff_lateral_m", "float", 60.0, "临崖侧向距离", "Cliff lateral reach", unit="m", minimum=1.0,
          maximum=1000.0, cli="--cliff-lateral", form=False),
    Param("cliff_drop_m", "float", 20.0, "临崖落差", "Cliff drop", unit="m", minimum=1.0, maximum=1000.0, step=1,
          decimals=0, cli="--cliff-drop", help_zh="路侧低于路面此落差为临崖", help_en="drop below the road that makes it cliff-side"),
    Param("cliff_step_m", "float", 10.0, "临崖采样步长", "Cliff sampling step", unit="m", minimum=1.0,
          maximum=1000.0, form=False, cli=False),
    Param("cliff_min_length_m", "float", 30.0, "最短临崖路段", "Shortest cliff-side segment", unit="m", minimum=0.0,
          maximum=10000.0, form=False, cli=False),
    Param("accident_snap_m", "float", 50.0, "事故点吸附距离", "Accident snap distance", unit="m", minimum=1.0,
          maximum=1000.0, cli="--accident-snap", form=False),
    Param("km_post_snap_m", "float", 30.0, "公里桩吸附距离", "Km-post snap distance", unit="m", minimum=1.0,
          maximum=1000.0, cli="--km-post-snap", form=False),
    Param("blackspot_window_m", "float", 500.0, "事故统计窗口", "Accident window", unit="m", minimum=50.0,
          maximum=10000.0, step=50, decimals=0, cli="--blackspot-window", basis=_UNCONF),
    Param("blackspot_step_m", "float", 100.0, "事故窗口步长", "Accident window step", unit="m", minimum=1.0,
          maximum=5000.0, cli="--blackspot-step", form=False),
    Param("blackspot_min_accidents", "int", 3, "窗口内最少事故数", "Accidents per window", unit="起", minimum=1,
          maximum=1000, step=1, decimals=0, cli="--blackspot-min-accidents", basis=_PRACTICE,
          help_zh="统计时段内窗口内事故达到此数即列为事故多发点段",
          help_en="a window with this many accidents within the period is a black spot"),
    Param("blackspot_period_years", "float", 3.0, "事故统计时段", "Accident period", unit="年", minimum=0.1,
          maximum=50.0, step=1, decimals=1, cli="--blackspot-years", basis=_PRACTICE,
          help_zh="只统计截止日期前此年数内的事故（缺省近3年）",
          help_en="count only accidents within this many years before the period end (default: the last 3 years)"),
    Param("blackspot_period_end", "str", None, "统计截止日期", "Period end", nullable=True, cli="--blackspot-end",
          form=False, basis=_PRACTICE,
          help_zh="统计时段截止日期YYYY-MM-DD（缺省：数据中最近的事故日期）",
          help_en="last day of the period, YYYY-MM-DD (default: the latest accident date in the data)"),
    Param("blackspot_min_fatal", "int", None, "窗口内最少死亡事故数", "Fatal accidents per window", unit="起",
          minimum=1, maximum=1000, nullable=True, cli="--blackspot-min-fatal", form=False, basis=_PRACTICE,
          help_zh="或窗口内死亡事故达到此数（缺省不用）", help_en="or at least this many fatal accidents (off by default)"),
    Param("blackspot_min_deaths", "int", None, "窗口内最少死亡人数", "Deaths per window", unit="人", minimum=1,
          maximum=10000, nullable=True, cli="--blackspot-min-deaths", form=False, basis=_PRACTICE,
          help_zh="或窗口内死亡人数达到此数（缺省不用）", help_en="or at least this many deaths in a window (off by default)"),
    Param("blackspot_min_equivalent", "float", None, "窗口内最少当量事故数", "Equivalent accidents per window",
          unit="起", minimum=0.1, maximum=10000.0, nullable=True, cli="--blackspot-min-equivalent", form=False,
          basis=_PRACTICE, help_zh="或窗口内当量事故数（按死亡、受伤、财产损失事故加权）达到此数（缺省不用）",
          help_en="or at least this many equivalent accidents (weighted by severity; off by default)"),
    Param("blackspot_weight_fatal", "float", 3.0, "死亡事故当量", "Weight of a fatal accident", minimum=0.0,
          maximum=100.0, cli="--weight-fatal", form=False,
          basis=f"{RISKMAP_DEFAULT}（参照STANDARDS.md §6.3常见加权计分K/A×3、B×2、C×1）"),
    Param("blackspot_weight_injury", "float", 2.0, "受伤事故当量", "Weight of an injury accident", minimum=0.0,
          maximum=100.0, cli="--weight-injury", form=False,
          basis=f"{RISKMAP_DEFAULT}（参照STANDARDS.md §6.3常见加权计分K/A×3、B×2、C×1）"),
    Param("blackspot_weight_property", "float", 1.0, "财产损失事故当量", "Weight of a property-only accident",
          minimum=0.0, maximum=100.0, cli="--weight-property", form=False, basis=RISKMAP_DEFAULT),
    Param("blackspot_per_year", "bool", False, "按年平均", "Per year", cli="--per-year", form=False,
          help_zh="窗口计数除以统计时段内有数据的年数（不是全部数据跨越的年数）",
          help_en="divide window counts by the years of the period the data cover (not the whole span of the data)"),
    Param("blackspot_pad_m", "float", 50.0, "事故段外延", "Black-spot padding", unit="m", minimum=0.0,
          maximum=1000.0, form=False, cli=False),
    Param("grade_length_table", "data", {}, "最大坡长表", "Maximum grade length table", unit="m", form=False,
          cli=False, basis=f"{jtg_d20.GRADE_LENGTH_CLAUSE}（PARTIAL；缺省为STANDARDS.md §0所列值）",
          help_zh="{纵坡%: {设计速度: 最大坡长m}}，替换JTG D20-2017表8.3.3（空：用内置表）",
          help_en="{grade %: {speed: length m}} replacing JTG D20-2017 Table 8.3.3 (empty: the built-in table)"),
    Param("class_speeds", "data", {}, "按道路等级的设计速度", "Design speed by road class", unit="km/h",
          form=False, cli=False),
    Param("fallback_speed_kmh", "float", jtg_d20.FALLBACK_SPEED_KMH, "缺省设计速度", "Fallback design speed",
          unit="km/h", minimum=5.0, maximum=200.0, form=False, cli=False),
])


@PARAMS.dataclass
class RoadHazardParams:
    """Parameters of :func:`detect_road_hazards`: fields, defaults, ranges and basis are :data:`PARAMS`.

    The defaults marked *riskmap default* are not from a confirmed standard; reports state the
    values used (provenance).
    """

    def check_more(self) -> None:
        if self.blackspot_step_m > self.blackspot_window_m:
            raise ParameterError(tr("事故窗口步长不得大于窗口长度", "the black-spot step must not exceed its window"))
        if self.blackspot_period_end is not None and str(self.blackspot_period_end).strip():
            if pd.isna(pd.to_datetime(str(self.blackspot_period_end).strip(), errors="coerce")):
                raise ParameterError(tr(f"统计截止日期“{self.blackspot_period_end}”不是日期，请写成YYYY-MM-DD",
                                        f"period end {self.blackspot_period_end!r} is not a date; write YYYY-MM-DD"))
        for grade, row in (self.grade_length_table or {}).items():
            try:
                ok = float(grade) > 0 and all(float(v) > 0 and float(m) > 0 for v, m in dict(row).items())
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise ParameterError(tr(f"最大坡长表的“{grade}”行应为{{设计速度: 最大坡长m}}，数值为正",
                                        f"grade-length table row {grade!r} must be {{speed: length m}} with positive "
                                        "numbers"))


# ---------------------------------------------------------------------------
# the road network in metres
# ---------------------------------------------------------------------------
class RoadNetwork:
    """Roads in a metric CRS, split into parts and resampled, with design speeds.

    Parameters
    ----------
    roads : GeoDataFrame
        Road lines in any CRS with optional ``name``, ``code``, ``road_class``, ``speed_kmh``,
        ``start_km`` (起点桩号) and ``breaks`` (断链); Chinese aliases accepted (:data:`START_FIELDS`,
        :data:`BREAK_FIELDS`).
    params : RoadHazardParams
    metric_crs : optional
        Metric CRS to use; chosen from the data when omitted.
    resampled : bool, default True
        Resample all parts now (``samples``). Without, the network holds only its parts and per-road
        fields, and :meth:`chunk` resamples a run of whole roads at a time.
    """

    def __init__(self, roads, params: RoadHazardParams, metric_crs=None, *, resampled: bool = True):
        if roads is None or len(roads) == 0:
            raise EmptyLayerError(tr("道路图层没有要素，请选择含道路中线的图层",
                                     "the road layer has no features; choose a layer with road lines"))
        if roads.crs is None:
            raise CRSError(tr("道路图层没有坐标参照系，请先设置（如EPSG:4490）",
                              "the road layer has no coordinate reference system; set one (e.g. EPSG:4490)"))
        types = set(roads.geom_type.dropna())
        if not types or not types <= {"LineString", "MultiLineString"}:
            found = ", ".join(sorted(types)) or "none"
            raise DataFormatError(tr(f"道路图层应为线要素（现为{found}），请选择道路中线图层",
                                     f"the road layer must hold lines (found {found}); choose the road centre-line "
                                     "layer"))
        self.params = params
        self.source_crs = roads.crs
        self.metric_crs = crs_policy.parse_crs(metric_crs) if metric_crs is not None else \
            crs_policy.metric_crs_for(roads)
        self.roads = roads.reset_index(drop=True)
        geoms = np.asarray(crs_policy.transform_geometries(self.roads.geometry.values, roads.crs, self.metric_crs),
                           dtype=object)
        self.lines = geoms
        self.parts, self.owner, self.offset = line_parts(geoms)
        self.part_lengths = shapely.length(self.parts)
        n_vertices = shapely.get_num_coordinates(self.parts)
        self.n_vertices = int(n_vertices.sum())
        self.mean_vertex_spacing = self.part_lengths / np.maximum(n_vertices - 1, 1)
        # a chunk of the network keeps the global part numbers and the whole network's part lengths: chainages
        # along all parts (_global_chainage) are then the same numbers in a chunk as in the whole network
        self.part_ids = np.arange(len(self.parts))
        self.all_part_lengths = self.part_lengths
        self.vertex_base = 0.0
        self.heading_state = None
        self.heading_state_out = None
        self.z_before = self.z_after = self.sample_before = self.sample_after = None
        self._part_sums = None
        self.samples: Resampled | None = None
        if resampled:
            self._resample()
            self.min_spacing = float(np.min(self.samples.spacing)) if len(self.parts) else 0.0
        else:
            self.min_spacing = float(np.min(self.part_sums()[2])) if len(self.parts) else 0.0
        n = len(self.roads)
        self.names = _text_column(self.roads, ("name", "名称", "道路名称", "NAME"), n)
        self.codes = _text_column(self.roads, ("code", "编号", "路线编号", "CODE"), n)
        classes = _text_column(self.roads, ("road_class", "class", "等级", "道路等级", "fclass"), n)
        self.road_class = jtg_d20.normalise_road_class(classes)
        speed_col = next((c for c in ("speed_kmh", "speed", "设计速度") if c in self.roads.columns), None)
        speed, source = jtg_d20.design_speeds(self.roads[speed_col].to_numpy() if speed_col else None, classes,
                                              n=n, class_speeds=params.class_speeds,
                                              fallback_kmh=params.fallback_speed_kmh)
        self.speed = speed
        self.speed_source = source
        self.radius_limit = jtg_d20.limit_min_radius(speed)
        self.grade_limit = jtg_d20.max_grade_pct(speed)
        self.total_length_m = float(self.part_lengths.sum())
        self.stationing = road_stationing(self.roads, self.names)

    def _resample(self) -> None:
        self.samples = resample(self.parts, self.params.spacing_m, self.vertex_base)
        s = self.samples
        self.road_of_sample = self.owner[s.part]
        self.chainage = self.offset[s.part] + s.local
        first = np.zeros(len(s), bool)
        first[s.starts[:-1]] = True
        self.part_start_flag = first
        self._smoothed = None
        self._vertex_index = None

    def part_sums(self, batch_vertices: int = 1_000_000):
        """Per part: cumulative vertex length at its first vertex, number of samples, sample spacing.

        Computed in batches of parts (:func:`~riskmap.analysis.linear.vertex_chainage`), without
        resampling; the values are those :func:`~riskmap.analysis.linear.resample` gets for the whole
        network.
        """
        if self._part_sums is None:
            n = len(self.parts)
            base_at = np.zeros(n)
            lengths = np.zeros(n)
            nv = np.asarray(shapely.get_num_coordinates(self.parts), dtype=np.int64)
            batch = np.r_[0, np.cumsum(nv)] // max(int(batch_vertices), 1)
            edges = np.r_[np.flatnonzero(np.r_[True, batch[1:-1] != batch[:-2]]), n] if n else np.zeros(1, int)
            base = 0.0
            for p0, p1 in zip(edges[:-1], edges[1:]):
                coords, vidx = shapely.get_coordinates(self.parts[p0:p1], return_index=True)
                cum = vertex_chainage(coords, vidx, base)
                vstart = np.searchsorted(vidx, np.arange(p1 - p0), side="left")
                vend = np.r_[vstart[1:], len(vidx)]
                base_at[p0:p1] = cum[vstart]
                lengths[p0:p1] = cum[vend - 1] - cum[vstart]
                base = float(cum[-1])
            counts, step = resample_counts(lengths, self.params.spacing_m)
            self._part_sums = (base_at, counts + 1, step)
        return self._part_sums

    def road_chunks(self, max_points: int) -> list[tuple[int, int]]:
        """Runs of whole roads of about ``max_points`` samples each, as part ranges ``(first, end)``.

        A chunk holds at most ``max_points`` samples unless one road alone has more; at least one
        (possibly empty) chunk.
        """
        n = len(self.parts)
        if n == 0:
            return [(0, 0)]
        npts = self.part_sums()[1]
        before = np.r_[0, np.cumsum(npts)]
        road_first = np.flatnonzero(np.r_[True, self.owner[1:] != self.owner[:-1]])
        starts = before[road_first]
        ends = np.r_[starts[1:], before[-1]]
        edges = [0]
        chunk_start = 0
        for k in range(1, len(road_first)):  # one step per road, no per-point work
            if ends[k] - chunk_start > max_points:
                edges.append(int(road_first[k]))
                chunk_start = starts[k]
        edges.append(n)
        return list(zip(edges[:-1], edges[1:]))

    def chunk(self, first: int, end: int) -> "RoadNetwork":
        """Parts ``first``..``end - 1`` as a network of their own, resampled as within this network.

        Per-road fields are shared (``road_index`` stays the index of the road in this network);
        samples, smoothing and grades of the chunk are the very numbers the whole network would
        give for these parts.
        """
        sub = object.__new__(RoadNetwork)
        sub.__dict__.update(self.__dict__)
        sl = slice(int(first), int(end))
        sub.parts = self.parts[sl]
        sub.owner = self.owner[sl]
        sub.offset = self.offset[sl]
        sub.part_lengths = self.part_lengths[sl]
        sub.mean_vertex_spacing = self.mean_vertex_spacing[sl]
        sub.part_ids = self.part_ids[sl]
        sub.vertex_base = float(self.part_sums()[0][first]) if end > first else 0.0
        sub.heading_state = sub.heading_state_out = None
        sub.z_before = sub.z_after = sub.sample_before = sub.sample_after = None
        sub._resample()
        return sub

    def vertex_index(self):
        """(coordinates of all part vertices, cumulative length, first vertex of each part, end (exclusive))."""
        if getattr(self, "_vertex_index", None) is None:
            coords, vidx = shapely.get_coordinates(self.parts, return_index=True)
            cum = vertex_chainage(coords, vidx, self.vertex_base)
            vstart = np.searchsorted(vidx, np.arange(len(self.parts)), side="left")
            vend = np.r_[vstart[1:], len(vidx)]
            self._vertex_index = (coords, cum, vstart, vend)
        return self._vertex_index

    # -- smoothed geometry shared by bends and cliffs ---------------------------
    def smoothed(self):
        """(smoothed xy, unwrapped heading at points, curvature at points, sigma per part in m)."""
        if self._smoothed is None:
            xy, heading, curv, sigma_m, self.heading_state_out = _smooth_geometry(
                self.samples, self.mean_vertex_spacing, self.params.smoothing_m, self.heading_state)
            self._smoothed = (xy, heading, curv, sigma_m)
        return self._smoothed

    def segment_geometries(self, road_index, start_m, end_m) -> np.ndarray:
        """Substrings of the roads (metric CRS) between chainages."""
        return substrings(self.lines[np.asarray(road_index, dtype=int)], start_m, end_m)


#: Field names of a road's start station (起点桩号), Chinese and English.
START_FIELDS = ("start_km", "起点桩号", "起始桩号", "start_station", "start_sta", "qdzh")
#: Field names of a road's chainage breaks (断链).
BREAK_FIELDS = ("breaks", "断链", "断链桩号", "chain_break", "chainbreak", "dl")


def road_stationing(roads, names=None) -> np.ndarray:
    """The :class:`~riskmap.analysis.linear.Stationing` of each road from its attributes.

    Parameters
    ----------
    roads : DataFrame
        With optional start-station (:data:`START_FIELDS`) and break (:data:`BREAK_FIELDS`) fields.
    names : array-like, optional
        Road names for the error message.

    Raises
    ------
    DataFormatError
        When a road's start station or break cannot be read (naming the road).
    """
    n = len(roads)
    start_col = next((c for c in START_FIELDS if c in roads.columns), None)
    break_col = next((c for c in BREAK_FIELDS if c in roads.columns), None)
    out = np.full(n, Stationing(), dtype=object)
    if start_col is None and break_col is None:
        return out
    starts = roads[start_col].to_numpy(dtype=object) if start_col else np.full(n, None, dtype=object)
    breaks = roads[break_col].to_numpy(dtype=object) if break_col else np.full(n, None, dtype=object)
    given = pd.notna(starts) | pd.notna(breaks)
    for i in np.flatnonzero(given):  # only the roads that carry a stationing (few)
        try:
            out[i] = Stationing.parse(starts[i], breaks[i])
        except ParameterError as exc:
            name = names[i] if names is not None else str(i)
            raise DataFormatError(tr(f"道路“{name}”的桩号无法识别：{exc}",
                                     f"the stationing of road {name!r} cannot be read: {exc}")) from None
    return out


#: Field names of the station of a km-post point.
KM_POST_FIELDS = ("km", "station", "桩号", "里程桩号", "公里桩", "kp", "zh")


def stationing_from_km_posts(net: RoadNetwork, posts, tolerance_m: float = 1.0) -> tuple[dict, list]:
    """The stationing of the roads that km-post points (公里桩/百米桩) lie on.

    Each post is snapped to the nearest road within ``km_post_snap_m`` (to a road of the same
    name or code when the posts carry a ``road``/``道路名称`` or ``code``/``路线编号`` field). Along a
    road the stations run on from each post: the first post fixes the start station (start =
    its station − its chainage), and a later post whose station differs by more than
    ``tolerance_m`` from the previous post's station plus the distance between them is a break
    (断链: back = that sum, ahead = the post's station; 长链 or 短链).

    Returns
    -------
    (stationings, notes) : (dict, list of str)
        ``{road index: Stationing}`` and Chinese notes (posts not on a road, roads whose posts
        decrease along the digitised direction, which are left as they were).
    """
    p = net.params
    if posts.crs is None:
        raise CRSError(tr("公里桩图层没有坐标参照系，请先设置（如EPSG:4490）",
                          "the km-post layer has no coordinate reference system; set one (e.g. EPSG:4490)"))
    posts = posts.reset_index(drop=True)
    field = next((c for c in KM_POST_FIELDS if c in posts.columns), None)
    if field is None:
        raise DataFormatError(tr(f"公里桩图层缺少桩号字段（{'、'.join(KM_POST_FIELDS)}之一）",
                                 f"the km-post layer has no station field (one of {', '.join(KM_POST_FIELDS)})"))
    stations = np.full(len(posts), np.nan)
    for i, text in enumerate(posts[field].to_numpy(dtype=object)):  # few posts; each label parsed once
        if text is None or (isinstance(text, float) and not np.isfinite(text)) or not str(text).strip():
            continue
        try:
            stations[i] = parse_km_post(text)
        except ParameterError:
            raise DataFormatError(tr(f"公里桩“{text}”无法识别，请写成K12+300", f"km post {text!r} cannot be read; "
                                     "write it like K12+300")) from None
    pts = np.asarray(crs_policy.transform_geometries(posts.geometry.values, posts.crs, net.metric_crs), dtype=object)
    road_field = next((c for c in ("road", "道路名称", "道路", "code", "路线编号") if c in posts.columns), None)
    line_of = np.full(len(posts), -1)
    chain = np.full(len(posts), np.nan)
    if road_field is None:
        snap = snap_points(pts, net.lines, p.km_post_snap_m)
        line_of, chain = snap.line, snap.chainage
    else:
        labels = _text_column(posts, (road_field,), len(posts))  # text (a missing name is "", never NaN)
        for value in np.unique(labels):  # one snap per road named by the posts
            if not value:  # a post naming no road is not used
                continue
            roads_here = np.flatnonzero((net.names == value) | (net.codes == value))
            if not len(roads_here):
                continue
            sel = np.flatnonzero(labels == value)
            snap = snap_points(pts[sel], net.lines[roads_here], p.km_post_snap_m)
            ok = snap.found
            line_of[sel[ok]] = roads_here[snap.line[ok]]
            chain[sel[ok]] = snap.chainage[ok]
    usable = (line_of >= 0) & np.isfinite(stations)
    notes = []
    if (~usable).any():
        unused = int((~usable).sum())
        notes.append(tr(f"公里桩{len(posts)}个中有{unused}个无桩号或距道路超过{p.km_post_snap_m:g} m，未使用",
                        f"{unused} of {len(posts)} km-posts have no station or lie more than {p.km_post_snap_m:g} m "
                        "from any road: not used"))
    out = {}
    reversed_roads = []
    for r in np.unique(line_of[usable]):
        sel = np.flatnonzero(usable & (line_of == r))
        order = np.argsort(chain[sel], kind="stable")
        m, st = chain[sel][order], stations[sel][order]
        if len(st) > 1 and np.any(np.diff(st) < 0):
            reversed_roads.append(str(net.names[r]))
            continue
        breaks = []
        for k in range(1, len(m)):
            back = st[k - 1] + (m[k] - m[k - 1])
            if abs(st[k] - back) > tolerance_m:
                breaks.append((round(float(back), 3), float(st[k])))
        out[int(r)] = Stationing(round(float(st[0] - m[0]), 3), tuple(breaks))
    if out:
        n_breaks = sum(len(v.breaks) for v in out.values())
        notes.append(tr(f"{len(out)}条道路按公里桩确定桩号（{n_breaks}处断链）",
                        f"{len(out)} roads stationed by their km-posts ({n_breaks} chainage breaks)"))
    if reversed_roads:
        notes.append(tr(f"道路{'、'.join(reversed_roads)}的公里桩与道路走向相反，未按公里桩确定桩号",
                        f"the km-posts of {', '.join(reversed_roads)} run against the road's direction: "
                        "not stationed by km-posts"))
    return out, notes


def _text_column(gdf, candidates, n) -> np.ndarray:
    for name in candidates:
        if name in gdf.columns:
            return gdf[name].astype("object").where(gdf[name].notna(), "").astype(str).to_numpy()
    return np.full(n, "", dtype=object)


# ---------------------------------------------------------------------------
# smoothing and curvature (all parts at once)
# ---------------------------------------------------------------------------
#: Kernel radius (samples) above which the Gaussian is applied by FFT: a direct convolution costs samples × radius,
#: which for a long line with few vertices (sigma 0.6 × its vertex spacing) ran for hours (issue 18 fuzz).
FFT_RADIUS = 2000


def _gaussian(values: np.ndarray, sigma: float) -> np.ndarray:
    """``gaussian_filter1d(values, sigma, mode="nearest", truncate=4.0)``; by FFT for a wide kernel (same weights)."""
    from scipy.ndimage import gaussian_filter1d  # deferred: scipy costs 0.3 s at start-up

    radius = int(4.0 * float(sigma) + 0.5)
    if radius <= FFT_RADIUS:
        return gaussian_filter1d(values, sigma, mode="nearest", truncate=4.0)
    from scipy.fft import irfft, next_fast_len, rfft

    x = np.arange(-radius, radius + 1, dtype=float)
    weights = np.exp(-0.5 * (x / sigma) ** 2)
    weights /= weights.sum()
    padded = np.pad(np.asarray(values, float), radius, mode="edge")  # mode="nearest"
    size = next_fast_len(len(padded) + len(weights) - 1, real=True)
    full = irfft(rfft(padded, size) * rfft(weights, size), size)
    return full[2 * radius: 2 * radius + len(values)]  # the symmetric kernel centred on each sample


def _smooth_geometry(s: Resampled, mean_vertex_spacing, smoothing_m, state=None):
    """Smoothed points, heading and curvature at the samples, sigma per part, and the heading state.

    Headings are unwrapped by one running sum over all parts; ``state`` (first heading, running
    sum) carries it from the chunk before, so a chunk gets the same numbers as the whole network.
    """
    sizes = np.diff(s.starts)
    sigma_m = np.maximum(smoothing_m, 0.6 * mean_vertex_spacing)
    sigma_samples = sigma_m / np.where(s.spacing > 0, s.spacing, 1.0)
    # parts are smoothed in groups of similar sigma (in samples), each group in one padded array
    key = np.round(sigma_samples * 2) / 2
    xy = np.empty_like(s.xy)
    for value in np.unique(key):
        members = np.flatnonzero(key == value)
        sig = max(float(value), 0.5)
        pad = int(math.ceil(4 * sig)) + 1
        n = sizes[members]
        out_sizes = n + 2 * pad
        out_starts = np.r_[0, np.cumsum(out_sizes)]
        owner = np.repeat(np.arange(len(members)), out_sizes)
        u = np.arange(out_starts[-1]) - out_starts[owner] - pad
        nn = n[owner]
        base = s.starts[members][owner]
        inside = np.clip(u, 0, nn - 1)
        head = np.clip(-u, 0, nn - 1)
        tail = np.clip(2 * (nn - 1) - u, 0, nn - 1)
        for dim in (0, 1):
            v = s.xy[:, dim]
            first = v[base]
            last = v[base + nn - 1]
            padded = np.where(u < 0, 2 * first - v[base + head],
                              np.where(u >= nn, 2 * last - v[base + tail], v[base + inside]))
            sm = _gaussian(padded, sig)
            keep = (u >= 0) & (u < nn)
            xy[base[keep] + u[keep], dim] = sm[keep]
    # headings of the smoothed segments, unwrapped within parts
    d = np.diff(xy, axis=0)
    seg_heading = np.arctan2(d[:, 1], d[:, 0])
    valid_seg = s.part[1:] == s.part[:-1]
    dh = np.diff(seg_heading)
    dh = (dh + np.pi) % (2 * np.pi) - np.pi
    # a segment following an invalid one starts a new unwrapping
    dh = np.where(valid_seg[1:] & valid_seg[:-1], dh, 0.0)
    state_out = state
    if len(seg_heading):
        first_heading, carry = state if state is not None else (float(seg_heading[0]), 0.0)
        total = np.cumsum(np.r_[carry, dh])
        unwrapped = first_heading + total
        state_out = (first_heading, float(total[-1]))
    else:
        unwrapped = seg_heading
    # restart at each part: shift so the first segment of a part has its own heading
    seg_part = s.part[:-1]
    first_seg = np.r_[True, seg_part[1:] != seg_part[:-1]] & valid_seg
    shift = np.where(first_seg, seg_heading - unwrapped, np.nan)
    shift = pd.Series(shift).ffill().fillna(0.0).to_numpy()
    unwrapped = unwrapped + shift
    # heading at points: mean of the two adjacent segments of the same part
    n = len(s)
    heading = np.zeros(n)
    if n > 1:
        left = np.r_[np.nan, np.where(valid_seg, unwrapped, np.nan)]
        right = np.r_[np.where(valid_seg, unwrapped, np.nan), np.nan]
        heading = np.where(np.isnan(left), right, np.where(np.isnan(right), left, (left + right) / 2))
        heading = np.nan_to_num(heading)
    step = s.spacing[s.part]
    curv = np.zeros(n)
    if n > 2:
        interior = np.r_[False, valid_seg[:-1] & valid_seg[1:], False]
        dseg = np.r_[0.0, np.where(valid_seg[:-1] & valid_seg[1:], dh, 0.0), 0.0]
        curv = np.where(interior, dseg / np.where(step > 0, step, 1.0), 0.0)
        # ends of parts take the neighbouring value
        ends = ~interior
        idx = np.arange(n)
        nearest_inner = np.where(np.r_[True, s.part[1:] != s.part[:-1]], idx + 1, idx - 1)
        nearest_inner = np.clip(nearest_inner, 0, n - 1)
        curv[ends] = np.where(interior[nearest_inner[ends]], curv[nearest_inner[ends]], 0.0)
    return xy, heading, curv, sigma_m, state_out


# ---------------------------------------------------------------------------
# sharp bends
# ---------------------------------------------------------------------------
def detect_sharp_bends(net: RoadNetwork, progress=None) -> pd.DataFrame:
    """Sharp bends (radius below the JTG D20-2017 limit minimum radius) as a table of segments.

    See the module docstring for the method. Columns: road_index, start_m, end_m, radius_m,
    deflection_deg, fit_rms_m.
    """
    p = net.params
    s = net.samples
    _report(progress, 0.0, "平滑道路线形")
    sm_xy, heading, curv, sigma_m = net.smoothed()
    if len(s) < 3:
        return _empty_bends()
    road = net.road_of_sample
    r_lim = net.radius_limit[road]
    threshold = 1.0 / (p.candidate_factor * r_lim)
    sign = np.sign(curv).astype(int)
    mask = np.abs(curv) > threshold
    start, end = group_runs(sign, mask, net.part_start_flag)
    if len(start) == 0:
        return _empty_bends()
    part = s.part[start]
    step = s.spacing[part]
    sig_samples = sigma_m[part] / step
    # merge same-sign runs closer than 2 sigma (one bend whose curvature dips)
    keep = np.ones(len(start), bool)
    merged_end = end.copy()
    cur = 0
    for i in range(1, len(start)):
        if (part[i] == part[cur] and sign[start[i]] == sign[start[cur]]
                and start[i] - merged_end[cur] <= 2 * sig_samples[cur]):
            merged_end[cur] = end[i]
            keep[i] = False
        else:
            cur = i
    start, end, part = start[keep], merged_end[keep], part[keep]
    step, sig_samples = step[keep], sig_samples[keep]
    turn = sign[start]
    n_runs = len(start)
    ext = np.ceil(3 * sig_samples).astype(int)
    part_first = s.starts[part]
    part_last = s.starts[part + 1] - 1
    lo = np.maximum(start - ext, part_first)
    hi = np.minimum(end + ext, part_last)
    free0 = np.zeros(n_runs, bool)
    free1 = np.zeros(n_runs, bool)
    abs_curv = np.abs(curv)
    for i in range(1, n_runs):  # neighbouring windows meet at the flattest point between the runs
        if part[i] == part[i - 1] and end[i - 1] >= lo[i] - ext[i]:
            gap = np.arange(end[i - 1], start[i] + 1)
            split = gap[np.argmin(abs_curv[gap])] if len(gap) else start[i]
            if hi[i - 1] > split:
                hi[i - 1] = split
                free1[i - 1] = turn[i - 1] != turn[i]
            if lo[i] < split:
                lo[i] = split
                free0[i] = turn[i] != turn[i - 1]
    theta0 = heading[lo]
    theta1 = heading[hi]
    # windows that hardly turn cannot hold a bend of min_deflection (free ends may add a little)
    turns_enough = np.abs(np.degrees(theta1 - theta0)) >= 0.5 * p.min_deflection_deg
    sel = np.flatnonzero(turns_enough)
    start, end, part, step, lo, hi = start[sel], end[sel], part[sel], step[sel], lo[sel], hi[sel]
    turn, free0, free1, theta0, theta1 = turn[sel], free0[sel], free1[sel], theta0[sel], theta1[sel]
    n_runs = len(sel)
    if n_runs == 0:
        return _empty_bends()
    _report(progress, 0.3, f"拟合 {n_runs} 处弯道")
    peak = np.array([a + int(np.argmax(abs_curv[a:b + 1])) for a, b in zip(start, end)])
    r0 = 1.0 / np.maximum(abs_curv[peak], 1e-6)
    normal = np.column_stack([-np.sin(heading[peak]), np.cos(heading[peak])]) * turn[:, None]
    centre0 = sm_xy[peak] + r0[:, None] * normal
    q0 = np.column_stack([centre0, r0, theta0, theta1])
    q = np.empty_like(q0)
    rms = np.empty(n_runs)
    batch = 2048
    # how far an arc may run past the inflection point that ends its window (reverse curves):
    # about one vertex spacing, since the window's end point may lie on a chord
    margin = np.maximum(net.mean_vertex_spacing[part], 10.0)
    for b0 in range(0, n_runs, batch):
        bs = slice(b0, b0 + batch)
        pts, valid = _fit_points(net, lo[bs], hi[bs], p.max_fit_vertices)
        q[bs], rms[bs] = _fit_composite(pts, valid, q0[bs], turn[bs], free0[bs], free1[bs], margin[bs])
        _report(progress, 0.3 + 0.6 * min(1.0, (b0 + batch) / n_runs), f"拟合 {n_runs} 处弯道")
    radius = q[:, 2]
    deflection = q[:, 4] - q[:, 3]
    # tangent points → chainage along the part
    n0 = turn[:, None] * np.column_stack([np.sin(q[:, 3]), -np.cos(q[:, 3])])
    n1 = turn[:, None] * np.column_stack([np.sin(q[:, 4]), -np.cos(q[:, 4])])
    tp1 = q[:, :2] + radius[:, None] * n0
    tp2 = q[:, :2] + radius[:, None] * n1
    parts = net.parts[part]
    c1 = shapely.line_locate_point(parts, shapely.points(tp1))
    c2 = shapely.line_locate_point(parts, shapely.points(tp2))
    w_lo, w_hi = s.local[lo], s.local[hi]
    a = np.clip(np.minimum(c1, c2), w_lo, w_hi)
    b = np.clip(np.maximum(c1, c2), w_lo, w_hi)
    bad_extent = ~np.isfinite(a) | ~np.isfinite(b) | (b - a < step)
    a = np.where(bad_extent, s.local[start], a)
    b = np.where(bad_extent, s.local[end], b)
    owner = net.owner[part]
    ok = (np.isfinite(radius) & (radius > 0.5) & (radius < net.radius_limit[owner])
          & (np.abs(np.degrees(deflection)) >= p.min_deflection_deg))
    _report(progress, 0.9, "弯道拟合完成")
    return pd.DataFrame({
        "road_index": owner[ok], "start_m": net.offset[part][ok] + a[ok], "end_m": net.offset[part][ok] + b[ok],
        "radius_m": radius[ok], "deflection_deg": np.degrees(deflection[ok]), "fit_rms_m": rms[ok],
    })


def _empty_bends() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=float) for c in
                         ("road_index", "start_m", "end_m", "radius_m", "deflection_deg", "fit_rms_m")})


def _end_heading(q, end_pts, turn):
    """Tangent heading at the point of the fitted circle in the direction of ``end_pts``."""
    vx = end_pts[:, 0] - q[:, 0]
    vy = end_pts[:, 1] - q[:, 1]
    return np.arctan2(turn * vx, -turn * vy)


def _near(angle, ref):
    return ref + (angle - ref + np.pi) % (2 * np.pi) - np.pi


def _fit_points(net: RoadNetwork, lo, hi, max_points: int):
    """Original vertices inside each window (evenly thinned to ``max_points``), plus the window ends.

    Returns padded ``(n_runs, max_points, 2)`` coordinates and a validity mask.
    """
    s = net.samples
    coords, cum, vstart, vend = net.vertex_index()
    part = s.part[lo]
    g_lo = cum[vstart[part]] + s.local[lo]
    g_hi = cum[vstart[part]] + s.local[hi]
    v_first = np.searchsorted(cum, g_lo, side="right")
    v_last = np.searchsorted(cum, g_hi, side="left") - 1
    v_first = np.clip(v_first, vstart[part], vend[part] - 1)
    v_last = np.clip(v_last, vstart[part], vend[part] - 1)
    count = np.maximum(v_last - v_first + 1, 0)
    inner = max_points - 2
    k = np.arange(inner)
    take = np.where(count[:, None] <= inner, v_first[:, None] + k[None, :],
                    v_first[:, None] + np.round(k[None, :] * (np.maximum(count, 1)[:, None] - 1)
                                                / max(inner - 1, 1)).astype(int))
    inner_valid = k[None, :] < np.minimum(count, inner)[:, None]
    take = np.clip(take, 0, len(coords) - 1)
    pts = np.empty((len(lo), max_points, 2))
    pts[:, 0] = s.xy[lo]
    pts[:, 1:-1] = coords[take]
    pts[:, -1] = s.xy[hi]
    valid = np.ones((len(lo), max_points), bool)
    valid[:, 1:-1] = inner_valid
    return pts, valid


def _composite_residuals(q, pts, valid, turn, with_jac: bool):
    """Signed distances of points to the tangent–arc–tangent curve, and their Jacobian (n, m, 5)."""
    cx, cy, R, t0, t1 = (q[:, i][:, None] for i in range(5))
    sg = turn[:, None].astype(float)
    px, py = pts[..., 0], pts[..., 1]
    ex, ey = px - cx, py - cy
    u0x, u0y = np.cos(t0), np.sin(t0)
    u1x, u1y = np.cos(t1), np.sin(t1)
    n0x, n0y = sg * u0y, -sg * u0x
    n1x, n1y = sg * u1y, -sg * u1x
    tp1x, tp1y = cx + R * n0x, cy + R * n0y
    tp2x, tp2y = cx + R * n1x, cy + R * n1y
    r_in = ex * n0x + ey * n0y - R
    r_out = ex * n1x + ey * n1y - R
    dist = np.hypot(ex, ey)
    r_arc = dist - R
    before = (px - tp1x) * u0x + (py - tp1y) * u0y <= 0
    after = (px - tp2x) * u1x + (py - tp2y) * u1y >= 0
    a1 = np.arctan2(n0y, n0x)
    rel = np.mod(sg * (np.arctan2(ey, ex) - a1), 2 * np.pi)
    on_arc = rel <= sg * (t1 - t0)
    big = np.inf
    cand = np.stack([np.where(before, np.abs(r_in), big), np.where(on_arc, np.abs(r_arc), big),
                     np.where(after, np.abs(r_out), big)])
    which = np.argmin(cand, axis=0)
    none = ~np.isfinite(np.min(cand, axis=0))
    f1x, f1y = px - tp1x, py - tp1y
    f2x, f2y = px - tp2x, py - tp2y
    d1, d2 = np.hypot(f1x, f1y), np.hypot(f2x, f2y)
    use1 = d1 <= d2
    r_tp = np.where(use1, d1, d2)
    res = np.choose(which, [r_in, r_arc, r_out])
    res = np.where(none, r_tp, res)
    res = np.where(valid, res, 0.0)
    if not with_jac:
        return res, None
    jac = np.zeros(res.shape + (5,))
    safe = np.where(dist > 0, dist, 1.0)
    # incoming tangent
    m = (which == 0) & ~none
    jac[..., 0] = np.where(m, -n0x, 0.0)
    jac[..., 1] = np.where(m, -n0y, 0.0)
    jac[..., 2] = np.where(m, -1.0, 0.0)
    jac[..., 3] = np.where(m, sg * (ex * u0x + ey * u0y), 0.0)
    # arc
    m = (which == 1) & ~none
    jac[..., 0] += np.where(m, -ex / safe, 0.0)
    jac[..., 1] += np.where(m, -ey / safe, 0.0)
    jac[..., 2] += np.where(m, -1.0, 0.0)
    # outgoing tangent
    m = (which == 2) & ~none
    jac[..., 0] += np.where(m, -n1x, 0.0)
    jac[..., 1] += np.where(m, -n1y, 0.0)
    jac[..., 2] += np.where(m, -1.0, 0.0)
    jac[..., 4] = np.where(m, sg * (ex * u1x + ey * u1y), 0.0)
    # nearest tangent point (points in the corner outside every region)
    fx, fy = np.where(use1, f1x, f2x), np.where(use1, f1y, f2y)
    dd = np.where(r_tp > 0, r_tp, 1.0)
    nx, ny = np.where(use1, n0x, n1x), np.where(use1, n0y, n1y)
    ux, uy = np.where(use1, u0x, u1x), np.where(use1, u0y, u1y)
    jac[..., 0] += np.where(none, -fx / dd, 0.0)
    jac[..., 1] += np.where(none, -fy / dd, 0.0)
    jac[..., 2] += np.where(none, -(nx * fx + ny * fy) / dd, 0.0)
    dtheta = np.where(none, -R * sg * (ux * fx + uy * fy) / dd, 0.0)
    jac[..., 3] += np.where(use1, dtheta, 0.0)
    jac[..., 4] += np.where(use1, 0.0, dtheta)
    jac = np.where(valid[..., None], jac, 0.0)
    return res, jac


def _fit_composite(pts, valid, q0, turn, free0, free1, margin_m=None, iterations: int = 40):
    """Batched Levenberg–Marquardt fit of the tangent–arc–tangent model (one fit per row).

    Parameters: centre x, y, radius, heading of the incoming and the outgoing tangent. Tangent
    headings are held fixed unless ``free0``/``free1``; free ones stay within ±60° of the start.
    """
    n = len(q0)
    margin = np.zeros(n) if margin_m is None else np.asarray(margin_m, float)
    q = q0.astype(float).copy()
    fixed = np.zeros((n, 5), bool)
    fixed[:, 3] = ~free0
    fixed[:, 4] = ~free1
    lo_t = q0[:, 3:5] - np.pi / 3
    hi_t = q0[:, 3:5] + np.pi / 3
    lam = np.full(n, 1e-2)
    res, jac = _composite_residuals(q, pts, valid, turn, True)
    cost = np.sum(res ** 2, axis=1)
    active = np.ones(n, bool)
    eye = np.eye(5)
    for _ in range(iterations):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        J = np.where(fixed[idx][:, None, :], 0.0, jac[idx])
        r = res[idx]
        A = np.einsum("nmi,nmj->nij", J, J)
        g = np.einsum("nmi,nm->ni", J, r)
        diag = np.einsum("nii->ni", A)
        scale = np.maximum(diag, 1e-9)
        A = A + lam[idx][:, None, None] * scale[:, :, None] * eye
        A[fixed[idx]] = 0.0
        fi = np.nonzero(fixed[idx])
        A[fi[0], fi[1], fi[1]] = 1.0
        g[fixed[idx]] = 0.0
        try:
            delta = np.linalg.solve(A, -g[..., None])[..., 0]
        except np.linalg.LinAlgError:
            delta = np.zeros_like(g)
            for k in range(len(idx)):
                try:
                    delta[k] = np.linalg.solve(A[k], -g[k])
                except np.linalg.LinAlgError:
                    pass
        trial = q[idx] + delta
        trial[:, 2] = np.maximum(trial[:, 2], 0.5)
        trial[:, 3:5] = np.clip(trial[:, 3:5], lo_t[idx], hi_t[idx])
        # a free tangent (inflection of a reverse curve) may not put the arc beyond the window's end
        tb = turn[idx]
        f0, f1 = ~fixed[idx, 3], ~fixed[idx, 4]
        slack = margin[idx] / np.maximum(trial[:, 2], 0.5)
        if f0.any():
            t_start = _near(_end_heading(trial, pts[idx, 0], tb), trial[:, 3]) - tb * slack
            trial[:, 3] = np.where(f0 & (tb * (trial[:, 3] - t_start) < 0), t_start, trial[:, 3])
        if f1.any():
            t_end = _near(_end_heading(trial, pts[idx, -1], tb), trial[:, 4]) + tb * slack
            trial[:, 4] = np.where(f1 & (tb * (trial[:, 4] - t_end) > 0), t_end, trial[:, 4])
        # the tangents must keep turning the same way
        dt = turn[idx] * (trial[:, 4] - trial[:, 3])
        bad_turn = dt <= 1e-3
        trial[bad_turn] = q[idx][bad_turn]
        t_res, t_jac = _composite_residuals(trial, pts[idx], valid[idx], turn[idx], True)
        t_cost = np.sum(t_res ** 2, axis=1)
        better = t_cost < cost[idx]
        up = idx[better]
        q[up] = trial[better]
        res[up] = t_res[better]
        jac[up] = t_jac[better]
        gain = cost[up] - t_cost[better]
        cost[up] = t_cost[better]
        lam[up] = np.maximum(lam[up] / 3.0, 1e-7)
        worse = idx[~better]
        lam[worse] = lam[worse] * 4.0
        converged = np.zeros(n, bool)
        converged[up] = gain <= 1e-10 * (1.0 + cost[up])
        converged[worse] = lam[worse] > 1e6
        active &= ~converged
    counts = np.maximum(valid.sum(axis=1), 1)
    return q, np.sqrt(cost / counts)


# ---------------------------------------------------------------------------
# DEM sampling
# ---------------------------------------------------------------------------
#: Largest window (cells) :meth:`DemSampler.hold` keeps: 64 MB of float32. Roads of a chunk spread over a larger
#: part of the DEM are read tile by tile instead (slower, bounded).
HOLD_CELLS = 16_000_000


class DemSampler:
    """Bilinear sampling of a DEM at many points with windowed reads.

    Small rasters (``max_in_memory_cells``) are read once; larger ones tile by tile, reading
    only the tiles (plus a one-cell margin) that points fall in; :meth:`hold` keeps one window in
    memory for the points of a chunk of roads. Cells are kept in the raster's own float type (a
    float32 or 8/16-bit integer DEM as float32, which holds those values exactly; the others as
    float64): interpolation is in float64 either way. Nodata and points outside give NaN.

    Parameters
    ----------
    source : str, Path or rasterio dataset
    """

    def __init__(self, source, band: int = 1, max_in_memory_cells: int = 40_000_000, tile: int = 1024):
        from riskmap.io import open_raster

        self._owns = isinstance(source, (str, Path))
        self.ds = open_raster(source) if self._owns else source
        self.path = str(source) if self._owns else getattr(source, "name", "DEM")
        self.band = band
        self.crs = self.ds.crs
        self.transform = self.ds.transform
        self.inverse = ~self.transform
        self.nodata = self.ds.nodata
        self.width, self.height = self.ds.width, self.ds.height
        self.tile = int(tile)
        self._array = None
        self._in_memory = self.width * self.height <= max_in_memory_cells
        self._max_hold = max(int(max_in_memory_cells), HOLD_CELLS)
        self._held = None
        dtype = np.dtype(self.ds.dtypes[band - 1])
        exact32 = dtype == np.float32 or dtype.kind == "f" and dtype.itemsize < 4 or \
            dtype.kind in "iub" and dtype.itemsize <= 2
        self._dtype = np.float32 if exact32 else np.float64

    def close(self) -> None:
        if self._owns:
            self.ds.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def cell_size_m(self, metric_crs) -> float:
        """Approximate cell size in metres (mean of the two axes) in ``metric_crs``."""
        a, b, c, d, e, f = self.transform[:6]
        col, row = self.width / 2, self.height / 2
        cx, cy = a * col + b * row + c, d * col + e * row + f
        xs, ys = crs_policy.transform_xy([cx, cx + a, cx + b], [cy, cy + d, cy + e], self.crs, metric_crs)
        return float((math.hypot(xs[1] - xs[0], ys[1] - ys[0]) + math.hypot(xs[2] - xs[0], ys[2] - ys[0])) / 2)

    def _read(self, window=None) -> np.ndarray:
        data = self.ds.read(self.band, window=window, masked=True).astype(self._dtype)
        return np.ma.filled(data, np.nan)

    def hold(self, x, y, crs=None, margin_m: float = 0.0, metric_crs=None) -> None:
        """Read and keep the window around points (x, y) given in ``crs``, ``margin_m`` wider.

        Later :meth:`sample` calls take their cells from it (the same values as from the whole
        raster or its tiles); points outside it are read as before. A window larger than the
        in-memory limit is not held. ``metric_crs`` gives the metres of ``margin_m`` (default ``crs``).
        """
        self.release()
        x = np.asarray(x, float)
        y = np.asarray(y, float)
        if self._in_memory or not x.size:
            return
        ok = np.isfinite(x) & np.isfinite(y)
        if not ok.any():
            return
        x0, x1, y0, y1 = x[ok].min(), x[ok].max(), y[ok].min(), y[ok].max()
        # the box's outline (corners and edges), so a curved reprojection of it is covered too
        t = np.linspace(0.0, 1.0, 9)
        bx = np.r_[x0 + (x1 - x0) * t, np.full(9, x1), x1 - (x1 - x0) * t, np.full(9, x0)]
        by = np.r_[np.full(9, y0), y0 + (y1 - y0) * t, np.full(9, y1), y1 - (y1 - y0) * t]
        if crs is not None:
            bx, by = crs_policy.transform_xy(bx, by, crs, self.crs)
        a, b, c, d, e, f = self.inverse[:6]
        col = a * np.asarray(bx) + b * np.asarray(by) + c - 0.5
        row = d * np.asarray(bx) + e * np.asarray(by) + f - 0.5
        if not (np.isfinite(col).all() and np.isfinite(row).all()):
            return
        cell = self.cell_size_m(metric_crs if metric_crs is not None else (crs or self.crs))
        pad = int(math.ceil(margin_m / max(cell, 1e-9))) + 2
        c_lo = int(max(math.floor(col.min()) - pad, 0))
        c_hi = int(min(math.floor(col.max()) + pad + 2, self.width))
        r_lo = int(max(math.floor(row.min()) - pad, 0))
        r_hi = int(min(math.floor(row.max()) + pad + 2, self.height))
        if c_hi - c_lo < 2 or r_hi - r_lo < 2 or (c_hi - c_lo) * (r_hi - r_lo) > self._max_hold:
            return
        from rasterio.windows import Window

        self._held = (r_lo, c_lo, self._read(Window(c_lo, r_lo, c_hi - c_lo, r_hi - r_lo)))

    def release(self) -> None:
        """Forget the window of :meth:`hold`."""
        self._held = None

    def sample(self, x, y, crs=None, progress=None) -> np.ndarray:
        """Elevations at points (x, y) given in ``crs`` (the DEM's CRS when omitted)."""
        x = np.asarray(x, float)
        y = np.asarray(y, float)
        if crs is not None:
            x, y = crs_policy.transform_xy(x, y, crs, self.crs)
        a, b, c, d, e, f = self.inverse[:6]
        col = a * x + b * y + c - 0.5
        row = d * x + e * y + f - 0.5
        out = np.full(x.shape, np.nan)
        inside = (col >= -0.5) & (col <= self.width - 0.5) & (row >= -0.5) & (row <= self.height - 0.5)
        inside &= np.isfinite(col) & np.isfinite(row)
        if not inside.any():
            return out
        col = np.clip(col, 0, self.width - 1)
        row = np.clip(row, 0, self.height - 1)
        c0 = np.minimum(np.floor(col).astype(np.int64), max(self.width - 2, 0))
        r0 = np.minimum(np.floor(row).astype(np.int64), max(self.height - 2, 0))
        fx, fy = col - c0, row - r0
        if self._in_memory:
            if self._array is None:
                self._array = self._read()
            out[inside] = _bilinear(self._array, r0[inside], c0[inside], fx[inside], fy[inside], 0, 0)
            return out
        if self._held is not None:
            row_off, col_off, block = self._held
            h, w = block.shape
            # a point's four cells must all lie in the window (at the raster's edge _bilinear clamps
            # as it does on the whole raster)
            in_block = inside & (r0 >= row_off) & (c0 >= col_off) \
                & ((r0 + 1 < row_off + h) | (row_off + h == self.height)) \
                & ((c0 + 1 < col_off + w) | (col_off + w == self.width))
            sel = np.flatnonzero(in_block)
            out[sel] = _bilinear(block, r0[sel], c0[sel], fx[sel], fy[sel], row_off, col_off)
            inside = inside & ~in_block
            if not inside.any():
                return out
        idx = np.flatnonzero(inside)
        T = self.tile
        tile_id = (r0[idx] // T) * (self.width // T + 1) + (c0[idx] // T)
        order = np.argsort(tile_id, kind="stable")
        idx, tile_id = idx[order], tile_id[order]
        bounds = np.flatnonzero(np.r_[True, tile_id[1:] != tile_id[:-1], True])
        from rasterio.windows import Window

        for k in range(len(bounds) - 1):
            sel = idx[bounds[k]:bounds[k + 1]]
            tr, tc = r0[sel[0]] // T, c0[sel[0]] // T
            row_off, col_off = tr * T, tc * T
            h = min(T + 1, self.height - row_off)
            w = min(T + 1, self.width - col_off)
            block = self._read(Window(col_off, row_off, w, h))
            out[sel] = _bilinear(block, r0[sel], c0[sel], fx[sel], fy[sel], row_off, col_off)
            if progress is not None and k % 8 == 0:
                progress(k / max(len(bounds) - 1, 1), "读取DEM")
        return out


def _bilinear(arr, r0, c0, fx, fy, row_off, col_off):
    r = r0 - row_off
    c = c0 - col_off
    h, w = arr.shape
    r1 = np.minimum(r + 1, h - 1)
    c1 = np.minimum(c + 1, w - 1)
    z00, z01 = arr[r, c], arr[r, c1]
    z10, z11 = arr[r1, c], arr[r1, c1]
    return (z00 * (1 - fx) * (1 - fy) + z01 * fx * (1 - fy) + z10 * (1 - fx) * fy + z11 * fx * fy)


# ---------------------------------------------------------------------------
# steep grades
# ---------------------------------------------------------------------------
def _part_base(net: RoadNetwork, gap: float) -> np.ndarray:
    """Start of every part of the whole network (not only of a chunk) on the chainage of :func:`_global_chainage`."""
    return np.r_[0.0, np.cumsum(net.all_part_lengths + gap)][:-1]


def _global_chainage(net: RoadNetwork, gap: float) -> np.ndarray:
    """A chainage increasing over all parts, parts separated by ``gap`` (for np.interp)."""
    part_base = _part_base(net, gap)[net.part_ids]
    return part_base[net.samples.part] + net.samples.local, part_base


def _elevation_profile(net: RoadNetwork, g: np.ndarray, z: np.ndarray, gap: float):
    """Positions and elevations along the samples, missing ones filled, for np.interp; None without two finite.

    One pass over the network fills a missing elevation between the nearest finite ones along all
    parts, and interpolates a window end that rounding puts a hair beyond a part's last sample
    between that sample and the next part's first. For a chunk, ``net.z_before`` / ``net.z_after``
    (the nearest finite elevation before / after it) and ``net.sample_before`` / ``net.sample_after``
    (the samples just before / after it), each (global part, chainage along it, elevation), add what
    lies beyond its ends, so the numbers are the same.
    """
    finite = np.isfinite(z)
    xp, fp = g[finite], z[finite]
    gx, zx = g, z
    if any(v is not None for v in (net.z_before, net.z_after, net.sample_before, net.sample_after)):
        base = _part_base(net, gap)

        def at(point):
            pid, local, value = point
            return base[pid] + local, value

        if net.z_before is not None:
            x, v = at(net.z_before)
            xp, fp = np.r_[x, xp], np.r_[v, fp]
        if net.z_after is not None:
            x, v = at(net.z_after)
            xp, fp = np.r_[xp, x], np.r_[fp, v]
        if net.sample_before is not None:
            x, v = at(net.sample_before)
            gx, zx = np.r_[x, gx], np.r_[v, zx]
        if net.sample_after is not None:
            x, v = at(net.sample_after)
            gx, zx = np.r_[gx, x], np.r_[zx, v]
    if len(xp) < 2:
        return None
    return gx, np.interp(gx, xp, fp)


def detect_steep_grades(net: RoadNetwork, z: np.ndarray, progress=None) -> pd.DataFrame:
    """Steep-grade and long down-grade stretches from elevations ``z`` at the network's samples.

    Returns a table with road_index, start_m, end_m, grade_pct (absolute; for ``subtype="steep"``
    the steepest window grade, for ``"long_downgrade"`` the steepest average over
    ``downgrade_length_m`` within the stretch), direction (+1: rises in the digitised direction)
    and subtype.
    """
    p = net.params
    s = net.samples
    rows = []
    if len(s) == 0 or np.isfinite(z).sum() < 2:
        return _empty_grades()
    W = p.grade_window_m
    half = W / 2
    grade, centre = grade_along(net, z, W)
    gap = 4 * max(W, p.downgrade_length_m)
    g, part_base = _global_chainage(net, gap)
    finite = np.isfinite(z)
    gx, zf = _elevation_profile(net, g, z, gap)
    part = s.part
    length = net.part_lengths[part]
    limit = net.grade_limit[net.road_of_sample] + p.grade_tolerance_pct
    # JTG D20-2017 §8.3: the maximum grade "不应大于" the limit — a grade equal to it is allowed; compared at the
    # report's precision (0.1 %), so 7.04 % on a 7 % road is 7.0 % and passes
    steep = np.round(np.abs(grade), 1) > limit
    a, b = runs(steep, net.part_start_flag)
    _report(progress, 0.5, "连续长下坡")
    for i, j in zip(a, b):
        seg = np.abs(grade[i:j + 1])
        k = i + int(np.nanargmax(seg))
        L = net.part_lengths[part[i]]
        start = max(centre[i] - half, 0.0)
        end = min(centre[j] + half, L)
        rows.append((net.owner[part[i]], net.offset[part[i]] + start, net.offset[part[i]] + end,
                     float(abs(grade[k])), int(np.sign(grade[k])), "steep"))
    # long continuous down-grades: windows of length Ld whose average grade reaches the threshold
    Ld = p.downgrade_length_m
    long_ok = (length >= Ld)
    if long_ok.any():
        centre_d = np.clip(s.local, 0, np.maximum(length - Ld, 0))
        g0 = part_base[part] + centre_d
        z0 = np.interp(g0, gx, zf)
        z1 = np.interp(g0 + Ld, gx, zf)
        avg = (z1 - z0) / Ld * 100.0
        nan_in = _nan_within(g0 + Ld / 2, g[~finite], Ld / 2)
        qualifies = long_ok & (np.abs(avg) >= p.downgrade_avg_pct) & ~nan_in
        sign = np.sign(avg).astype(int)
        a, b = group_runs(sign, qualifies, net.part_start_flag)
        for i, j in zip(a, b):
            L = net.part_lengths[part[i]]
            start = centre_d[i]
            end = min(centre_d[j] + Ld, L)
            steepest = float(np.max(np.abs(avg[i:j + 1])))  # the steepest window of the stretch
            rows.append((net.owner[part[i]], net.offset[part[i]] + start, net.offset[part[i]] + end, steepest,
                         int(sign[i]), "long_downgrade"))
    out = pd.DataFrame(rows, columns=["road_index", "start_m", "end_m", "grade_pct", "direction", "subtype"])
    lengths = detect_grade_lengths(net, z, grade=grade, centre=centre)
    if len(lengths):
        out = pd.concat([out, lengths], ignore_index=True) if len(out) else lengths
    if not len(out):
        return _empty_grades()
    return out


def detect_grade_lengths(net: RoadNetwork, z: np.ndarray, grade=None, centre=None) -> pd.DataFrame:
    """Grades longer than JTG D20-2017 Table 8.3.3 allows (坡长超限); see the module docstring.

    Returns road_index, start_m, end_m, grade_pct (the run's smallest grade, 0.1 %), direction,
    subtype ``"grade_length"`` and ``grade_length_limit_m`` (the table's maximum length).
    """
    p = net.params
    s = net.samples
    W = p.grade_window_m
    if grade is None:
        grade, centre = grade_along(net, z, W)
    if len(s) == 0 or not np.isfinite(grade).any():
        return _empty_grades()
    table = {float(k): v for k, v in (p.grade_length_table or jtg_d20.MAX_GRADE_LENGTH_M).items()}
    rows_pct = sorted(table)
    g_abs = np.round(np.abs(grade), 1)
    sign = np.sign(np.where(np.isfinite(grade), grade, 0.0)).astype(int)
    speed = net.speed[net.road_of_sample]
    gpos, _ = _global_chainage(net, 4 * W)
    gpos_c = gpos - s.local + centre  # the global position of each sample's window centre
    # the shortest limit of each road's speed: a run cannot exceed its limit if it is not longer than that
    roads_here, road_rank = np.unique(net.road_of_sample, return_inverse=True)
    shortest = np.array([min([float(r[int(v)]) for r in table.values() if int(v) in r] or [np.inf])
                         for v in jtg_d20.standard_speed(net.speed[roads_here])], dtype=float)[road_rank]
    reach = int(math.ceil(1.6 * W / max(net.min_spacing, 0.1))) + 2
    found = {}
    for k, row in enumerate(rows_pct):
        lower = rows_pct[k - 1] if k else None
        mask = np.isfinite(grade) & ((g_abs > lower + 1e-9) if lower is not None else (g_abs >= row - 1e-9))
        if not mask.any():
            continue
        a, b = group_runs(sign, mask, net.part_start_flag)
        long_enough = (centre[b] - centre[a] + W) > shortest[a]
        for i, j in zip(a[long_enough], b[long_enough]):
            part = s.part[i]
            first, last = s.starts[part], s.starts[part + 1] - 1
            lo_m, hi_m = 0.0, net.part_lengths[part]
            if i > first:
                lo_m = _grade_break(gpos_c, grade, max(first, i - reach), min(last, i + reach), i, sign[i], W, +1)
                lo_m -= gpos[first]
            if j < last:
                hi_m = _grade_break(gpos_c, grade, max(first, j - reach), min(last, j + reach), j, sign[i], W, -1)
                hi_m -= gpos[first]
            lo_m, hi_m = max(lo_m, 0.0), min(hi_m, net.part_lengths[part])
            length = hi_m - lo_m
            inside = (s.local[i:j + 1] >= lo_m + W / 2 - 1e-6) & (s.local[i:j + 1] <= hi_m - W / 2 + 1e-6)
            values = g_abs[i:j + 1][inside] if inside.any() else g_abs[i:j + 1]
            g_run = float(values.min() if inside.any() else values.max())
            limit = float(jtg_d20.grade_length_limit(g_run, speed[i], table)[()])
            if not np.isfinite(limit) or round(length) <= limit:
                continue
            key = (int(net.owner[part]), round(net.offset[part] + lo_m, 1), round(net.offset[part] + hi_m, 1))
            found.setdefault(key, (g_run, int(sign[i]), limit))
    if not found:
        return _empty_grades()
    rows = [(r, a, b, g, d, "grade_length", lim) for (r, a, b), (g, d, lim) in found.items()]
    out = pd.DataFrame(rows, columns=["road_index", "start_m", "end_m", "grade_pct", "direction", "subtype",
                                      "grade_length_limit_m"])
    # neighbouring rows of the table find the same run (a 3.5 % grade exceeds both 3 % and "over 3 %"), with
    # ends a few metres apart: of overlapping runs held to the same limit keep the longest
    out = out.sort_values(["road_index", "grade_length_limit_m", "start_m"], kind="stable").reset_index(drop=True)
    same = (out["road_index"].eq(out["road_index"].shift()) & out["grade_length_limit_m"].eq(
        out["grade_length_limit_m"].shift()))
    reach = out.groupby(["road_index", "grade_length_limit_m"])["end_m"].cummax().shift()
    cluster = (~same | (out["start_m"] > reach)).cumsum()
    longest = (out["end_m"] - out["start_m"]).groupby(cluster).idxmax()
    return out.loc[longest.to_numpy()].reset_index(drop=True)


def _grade_break(gpos_c, grade, first, last, i, sign, W, inward) -> float:
    """Global position of the grade break at a run end ``i`` (``inward`` +1: a start, -1: an end).

    With a centred window of ``W`` a break between straight grades shows as a linear ramp of the
    window grade over ``W`` centred on the break; the run's mask ends somewhere on that ramp.
    The grades ``W`` inside and outside the mask end are the two grades; the break is where the
    window grade crosses their mean (linear interpolation between samples).
    """
    sl = slice(first, last + 1)
    pos, gr = gpos_c[sl], sign * grade[sl]
    ok = np.isfinite(gr)
    pos, gr = pos[ok], gr[ok]
    if len(pos) < 2:
        return float(gpos_c[i])
    c = float(gpos_c[i])
    g_in = float(np.interp(c + inward * W, pos, gr))
    g_out = float(np.interp(c - inward * W, pos, gr))
    level = 0.5 * (g_in + g_out)
    lo, hi = c - W / 2, c + W / 2
    sel = np.flatnonzero((pos >= lo - 1e-9) & (pos <= hi + 1e-9))
    if len(sel) < 2 or g_in <= g_out:
        return c
    xs, ys = pos[sel], gr[sel]
    if inward < 0:  # scan from the outside in: reverse so the grade rises along the scan
        xs, ys = xs[::-1], ys[::-1]
    above = np.flatnonzero(ys >= level)
    if len(above) == 0:
        return c
    k = int(above[0])
    if k == 0:
        return float(xs[0])
    x0, x1, y0, y1 = xs[k - 1], xs[k], ys[k - 1], ys[k]
    return float(x0 + (level - y0) / (y1 - y0) * (x1 - x0)) if y1 != y0 else float(x1)


def grade_along(net: RoadNetwork, z: np.ndarray, window_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Longitudinal grade (%) at each sample over a centred window of ``window_m``.

    Near a part's ends the window is shifted inwards (``centre`` gives its centre chainage
    along the part); parts shorter than the window and windows touching missing elevations
    give NaN. Positive grades rise in the digitised direction.
    """
    s = net.samples
    half = window_m / 2
    g, part_base = _global_chainage(net, 4 * window_m)
    finite = np.isfinite(z)
    profile = _elevation_profile(net, g, z, 4 * window_m)  # gaps filled for interpolation, masked below
    if profile is None:
        return np.full(len(s), np.nan), s.local.copy()
    gx, zf = profile
    part = s.part
    length = net.part_lengths[part]
    centre = np.clip(s.local, half, np.maximum(length - half, half))
    za = np.interp(part_base[part] + centre - half, gx, zf)
    zb = np.interp(part_base[part] + centre + half, gx, zf)
    grade = (zb - za) / window_m * 100.0
    ok = (length >= window_m) & ~_nan_within(part_base[part] + centre, g[~finite], half)
    return np.where(ok, grade, np.nan), centre


def _nan_within(query, bad_positions, radius) -> np.ndarray:
    """True where a missing sample (at sorted ``bad_positions``) lies within ``radius`` of ``query``."""
    if len(bad_positions) == 0:
        return np.zeros(len(query), bool)
    i = np.searchsorted(bad_positions, query - radius, side="left")
    return (i < len(bad_positions)) & (bad_positions[np.minimum(i, len(bad_positions) - 1)] <= query + radius)


def _empty_spans(**columns) -> pd.DataFrame:
    """No rows of a detector: ``road_index`` (int), ``start_m``, ``end_m`` then ``columns`` ({name: dtype})."""
    dtypes = {"road_index": int, "start_m": float, "end_m": float, **columns}
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in dtypes.items()})


def _empty_grades() -> pd.DataFrame:
    return _empty_spans(grade_pct=float, direction=int, subtype=object, grade_length_limit_m=float)


# ---------------------------------------------------------------------------
# near cliff
# ---------------------------------------------------------------------------
def detect_near_cliff(net: RoadNetwork, sampler: DemSampler, z: np.ndarray, progress=None,
                      bridges: np.ndarray | None = None) -> pd.DataFrame:
    """Stretches where the terrain beside the road drops more than ``cliff_drop_m`` below it.

    ``bridges`` (bool per sample) marks water crossings: the valley beside a bridge is not a
    cliff, so points within ``cliff_lateral_m`` of one are skipped. Returns road_index,
    start_m, end_m, drop_m (largest drop), side ("left"/"right" of the digitised direction).
    """
    p = net.params
    s = net.samples
    if len(s) == 0:
        return _empty_cliffs()
    _, heading, _, _ = net.smoothed()
    # every cliff_step_m along the road (always the first and last point of each part)
    every = np.maximum(np.round(p.cliff_step_m / np.where(s.spacing > 0, s.spacing, 1.0)).astype(int), 1)
    k = np.arange(len(s)) - s.starts[s.part]
    pick = (k % every[s.part] == 0) | np.r_[s.part[1:] != s.part[:-1], True]
    usable = pick & np.isfinite(z)
    if bridges is not None and bridges.any():
        g, _ = _global_chainage(net, 4 * p.cliff_lateral_m)
        usable &= ~_nan_within(g, g[bridges], p.cliff_lateral_m)
    idx = np.flatnonzero(usable)
    if idx.size == 0:
        return _empty_cliffs()
    cell = sampler.cell_size_m(net.metric_crs)
    n_off = max(int(math.ceil(p.cliff_lateral_m / max(min(cell / 2, p.cliff_lateral_m / 2), 1.0))), 2)
    offsets = p.cliff_lateral_m * np.arange(1, n_off + 1) / n_off
    nx, ny = -np.sin(heading[idx]), np.cos(heading[idx])  # left normal
    x0, y0 = s.xy[idx, 0], s.xy[idx, 1]
    drops = np.zeros((2, idx.size))
    chunk = max(1, 2_000_000 // (2 * n_off))
    for c0 in range(0, idx.size, chunk):
        sl = slice(c0, c0 + chunk)
        for side, sgn in ((0, 1.0), (1, -1.0)):
            xs = x0[sl, None] + sgn * nx[sl, None] * offsets[None, :]
            ys = y0[sl, None] + sgn * ny[sl, None] * offsets[None, :]
            zz = sampler.sample(xs.ravel(), ys.ravel(), net.metric_crs).reshape(xs.shape)
            with np.errstate(invalid="ignore"):
                low = np.nanmin(np.where(np.isfinite(zz), zz, np.inf), axis=1)
            drops[side, sl] = np.where(np.isfinite(low), z[idx[sl]] - low, 0.0)
        _report(progress, min(0.95, (c0 + chunk) / idx.size), "临崖落差")
    drop = drops.max(axis=0)
    side = np.where(drops[0] >= drops[1], "left", "right")
    flag = drop > p.cliff_drop_m
    part = s.part[idx]
    breaks = np.r_[True, part[1:] != part[:-1]]
    a, b = runs(flag, breaks)
    rows = []
    for i, j in zip(a, b):
        pi = part[i]
        L = net.part_lengths[pi]
        step_here = every[pi] * s.spacing[pi]
        start = max(s.local[idx[i]] - step_here / 2, 0.0)
        end = min(s.local[idx[j]] + step_here / 2, L)
        if end - start < p.cliff_min_length_m:
            continue
        seg = drop[i:j + 1]
        k = i + int(np.argmax(seg))
        rows.append((net.owner[pi], net.offset[pi] + start, net.offset[pi] + end, float(drop[k]), side[k]))
    if not rows:
        return _empty_cliffs()
    return pd.DataFrame(rows, columns=["road_index", "start_m", "end_m", "drop_m", "side"])


def _empty_cliffs() -> pd.DataFrame:
    return _empty_spans(drop_m=float, side=object)


# ---------------------------------------------------------------------------
# near water
# ---------------------------------------------------------------------------
@dataclass
class WaterProximity:
    """Distances from the network's samples to water (within ``water_distance_m``, else inf).

    ``on_water`` marks samples on a water polygon or at a crossing of a water line: bridges.
    """

    dist: np.ndarray
    nearest: np.ndarray
    names: np.ndarray
    on_water: np.ndarray


@dataclass
class PreparedWater:
    """Water geometries in the network's metric CRS with their names and search trees (built once)."""

    geoms: np.ndarray
    names: np.ndarray
    tree: shapely.STRtree
    line_geoms: np.ndarray
    line_tree: shapely.STRtree | None


def prepare_water(water, metric_crs) -> PreparedWater | None:
    """:class:`PreparedWater` of a water layer (None when it holds no geometry).

    Raises
    ------
    CRSError
        When the layer has no CRS.
    """
    if water is None or len(water) == 0:
        return None
    if water.crs is None:
        raise CRSError(tr("水体图层没有坐标参照系，请先设置（如EPSG:4490）",
                          "the water layer has no coordinate reference system; set one (e.g. EPSG:4490)"))
    wgeoms = np.asarray(crs_policy.transform_geometries(water.geometry.values, water.crs, metric_crs), dtype=object)
    keep = ~shapely.is_missing(wgeoms) & ~shapely.is_empty(wgeoms)
    wgeoms = wgeoms[keep]
    wnames = _text_column(water.reset_index(drop=True), ("name", "名称", "NAME"), len(water))[keep]
    if len(wgeoms) == 0:
        return None
    is_line = np.isin(shapely.get_type_id(wgeoms), [1, 2, 5])
    lines = wgeoms[is_line]
    return PreparedWater(wgeoms, wnames, shapely.STRtree(wgeoms), lines,
                         shapely.STRtree(lines) if len(lines) else None)


def water_proximity(net: RoadNetwork, water, progress=None, prepared: PreparedWater | None = None) -> WaterProximity:
    """Distance to the nearest water for every sample near some (bulk STRtree queries).

    ``prepared`` (:func:`prepare_water`, once for all chunks of a network) is used instead of ``water``.
    """
    p = net.params
    s = net.samples
    n = len(s)
    empty = WaterProximity(np.full(n, np.inf), np.full(n, -1), np.zeros(0, dtype=object), np.zeros(n, bool))
    if prepared is None and (water is None or len(water) == 0 or n == 0):
        return empty
    if prepared is None:
        prepared = prepare_water(water, net.metric_crs)
    if prepared is None or n == 0:
        return empty
    wgeoms, wnames = prepared.geoms, prepared.names
    D = p.water_distance_m
    tree = prepared.tree
    # only the points of road parts that come near some water are measured
    near_parts = np.unique(tree.query(net.parts, predicate="dwithin", distance=D)[0])
    candidates = np.flatnonzero(np.isin(s.part, near_parts))
    pts = shapely.points(s.xy[candidates])
    pi, wi = tree.query(pts, predicate="dwithin", distance=D)
    _report(progress, 0.4, "临水距离")
    dist = np.full(n, np.inf)
    nearest = np.full(n, -1)
    if pi.size:
        d = shapely.distance(pts[pi], wgeoms[wi])
        pi = candidates[pi]
        order = np.lexsort((d, pi))
        pi_s, wi_s, d_s = pi[order], wi[order], d[order]
        first = np.r_[True, pi_s[1:] != pi_s[:-1]]
        dist[pi_s[first]] = d_s[first]
        nearest[pi_s[first]] = wi_s[first]
    # points on a water polygon (bridges) and crossings of water lines
    on_water = dist <= 1e-6
    if prepared.line_tree is not None:
        part_i, line_i = prepared.line_tree.query(net.parts, predicate="intersects")
        if part_i.size:
            inter = shapely.intersection(net.parts[part_i], prepared.line_geoms[line_i])
            cross_parts, owner = shapely.get_parts(inter, return_index=True)
            cross_pts = shapely.centroid(cross_parts)
            cpart = part_i[owner]
            cm = shapely.line_locate_point(net.parts[cpart], cross_pts)
            clearance = max(2 * p.spacing_m, 10.0)
            for part_id, m in zip(cpart, cm):  # few crossings: a short loop
                a, b = s.starts[part_id], s.starts[part_id + 1]
                on_water[a:b] |= np.abs(s.local[a:b] - m) <= clearance
    return WaterProximity(dist, nearest, wnames, on_water)


def detect_near_water(net: RoadNetwork, water, progress=None, proximity: WaterProximity | None = None) -> pd.DataFrame:
    """Stretches within ``water_distance_m`` of water polygons or lines.

    Returns road_index, start_m, end_m, water_dist_m (closest approach), water_name.
    """
    p = net.params
    s = net.samples
    prox = proximity if proximity is not None else water_proximity(net, water, progress)
    if len(prox.names) == 0:
        return _empty_water()
    D = p.water_distance_m
    dist, nearest, wnames, on_water = prox.dist, prox.nearest, prox.names, prox.on_water
    near = np.isfinite(dist) & (dist <= D) & ~on_water
    a, b = runs(near, net.part_start_flag)
    rows = []
    trim = p.water_crossing_trim * D
    for i, j in zip(a, b):
        pi_ = s.part[i]
        L = net.part_lengths[pi_]
        half = s.spacing[pi_] / 2
        start = max(s.local[i] - half, 0.0)
        end = min(s.local[j] + half, L)
        # the approaches of a bridge: a run ending at a crossing loses that end
        if i > s.starts[pi_] and on_water[i - 1]:
            start += trim
        if j < s.starts[pi_ + 1] - 1 and on_water[j + 1]:
            end -= trim
        if end - start < p.water_min_length_m:
            continue
        inside = slice(i + int(np.searchsorted(s.local[i:j + 1], start)),
                       i + int(np.searchsorted(s.local[i:j + 1], end, side="right")))
        k = inside.start + int(np.argmin(dist[inside]))
        rows.append((net.owner[pi_], net.offset[pi_] + start, net.offset[pi_] + end, float(dist[k]),
                     wnames[nearest[k]] if nearest[k] >= 0 else ""))
    if not rows:
        return _empty_water()
    return pd.DataFrame(rows, columns=["road_index", "start_m", "end_m", "water_dist_m", "water_name"])


def _empty_water() -> pd.DataFrame:
    return _empty_spans(water_dist_m=float, water_name=object)


# ---------------------------------------------------------------------------
# black spots
# ---------------------------------------------------------------------------
def detect_black_spots(net: RoadNetwork, accidents, progress=None) -> tuple[pd.DataFrame, dict]:
    """Accident black spots by a sliding window along each road, within a period and by severity.

    See the module docstring. Returns the table (road_index, start_m, end_m, accidents, deaths,
    injuries, fatal, equivalent; counts within the period) and counts for the provenance
    (accidents, snapped, in_period, period_start, period_end, period_years, years, period_text).
    """
    p = net.params
    info = {"accidents": 0, "snapped": 0, "years": None, "in_period": 0, "undated": 0}
    if accidents is None or len(accidents) == 0:
        return _empty_spots(), info
    if accidents.crs is None:
        raise CRSError(tr("事故图层没有坐标参照系，请先设置（如EPSG:4490）",
                          "the accident layer has no coordinate reference system; set one (e.g. EPSG:4490)"))
    acc = accidents.reset_index(drop=True)
    pts = np.asarray(crs_policy.transform_geometries(acc.geometry.values, acc.crs, net.metric_crs), dtype=object)
    if len(pts) and not set(shapely.get_type_id(pts[~shapely.is_missing(pts)])) <= {0, 4}:
        raise DataFormatError(tr("事故图层应为点要素，请选择事故点图层",
                                 "the accident layer must hold points; choose the accident point layer"))
    pts = np.where(shapely.get_type_id(pts) == 4, shapely.centroid(pts), pts)
    snap = snap_points(pts, net.lines, p.accident_snap_m)
    info["accidents"] = len(acc)
    info["snapped"] = int(snap.found.sum())
    deaths = _numeric(acc, ("deaths", "死亡", "死亡人数"))
    injuries = _numeric(acc, ("injuries", "受伤", "受伤人数"))
    # the period: the last blackspot_period_years up to the period end (default: the latest accident date)
    in_period = np.ones(len(acc), bool)
    years = 1.0
    date_col = next((c for c in ("date", "日期", "事故日期", "time") if c in acc.columns), None)
    if date_col is not None:
        dates = pd.to_datetime(acc[date_col], errors="coerce")
        if dates.notna().any():
            end = (pd.Timestamp(str(p.blackspot_period_end).strip()) if p.blackspot_period_end else dates.max())
            end = end.normalize()
            start = period_start(end, p.blackspot_period_years)
            in_period = (dates >= start).to_numpy() & (dates < end + pd.Timedelta(days=1)).to_numpy()
            info["undated"] = int(dates.isna().sum())
            # the years of the period the data cover: a rate must not thin a recent cluster by the data's span
            covered_from = max(start, dates.min().normalize())
            covered = ((end - covered_from).days + 1) / 365.25
            years = max(min(covered, p.blackspot_period_years), 1.0)
            info["years"] = round(years, 2)
            info["period_start"] = start.date().isoformat()
            info["period_end"] = end.date().isoformat()
            info["period_years"] = p.blackspot_period_years
            info["period_text"] = (f"{start.date().isoformat()}至{end.date().isoformat()}"
                                   f"（近{p.blackspot_period_years:g}年）")
    info["in_period"] = int(in_period.sum())
    scale = years if p.blackspot_per_year else 1.0
    found = snap.found & in_period
    if not found.any():
        return _empty_spots(), info
    fatal = (deaths > 0).astype(float)
    injury = ((deaths <= 0) & (injuries > 0)).astype(float)
    equivalent = (p.blackspot_weight_fatal * fatal + p.blackspot_weight_injury * injury
                  + p.blackspot_weight_property * (1.0 - fatal - injury))
    road = snap.line[found]
    ch = snap.chainage[found]
    dth, inj, fat, eqv = deaths[found], injuries[found], fatal[found], equivalent[found]
    order = np.lexsort((ch, road))
    road, ch, dth, inj, fat, eqv = road[order], ch[order], dth[order], inj[order], fat[order], eqv[order]
    rows = []
    W, step = p.blackspot_window_m, p.blackspot_step_m
    roads_hit = np.unique(road)
    road_len = shapely.length(net.lines[roads_hit])
    # every window of every road with accidents, at once: a key (road rank, chainage) orders them all
    n_win = (np.floor(np.maximum(road_len - W, 0.0) / step).astype(int) + 2)
    win_road = np.repeat(np.arange(len(roads_hit)), n_win)
    k = np.arange(n_win.sum()) - np.repeat(np.r_[0, np.cumsum(n_win)[:-1]], n_win)
    starts = np.minimum(k * step, np.maximum(road_len - W, 0.0)[win_road])
    rank = np.searchsorted(roads_hit, road)
    span = float(np.max(road_len)) + 2 * W + 1.0 if len(road_len) else 1.0
    acc_key = rank * span + ch
    a = np.searchsorted(acc_key, win_road * span + starts, "left")
    b = np.searchsorted(acc_key, win_road * span + starts + W, "right")

    def window_sum(values):
        c = np.r_[0.0, np.cumsum(values)]
        return (c[b] - c[a]) / scale

    qual = (b - a) / scale >= p.blackspot_min_accidents
    if p.blackspot_min_deaths is not None:
        qual |= window_sum(dth) >= p.blackspot_min_deaths
    if p.blackspot_min_fatal is not None:
        qual |= window_sum(fat) >= p.blackspot_min_fatal
    if p.blackspot_min_equivalent is not None:
        qual |= window_sum(eqv) >= p.blackspot_min_equivalent
    breaks = np.r_[True, win_road[1:] != win_road[:-1]]
    qa, qb = runs(qual, breaks)
    for i, j in zip(qa, qb):  # one iteration per group of qualifying windows
        r_rank = win_road[i]
        r = roads_hit[r_rank]
        L = road_len[r_rank]
        lo_m, hi_m = starts[i], starts[j] + W
        sel = slice(a[i], b[j])
        c = ch[sel]
        inside = (c >= lo_m) & (c <= hi_m)
        s0 = max(c[inside].min() - p.blackspot_pad_m, 0.0)
        e0 = min(c[inside].max() + p.blackspot_pad_m, L)
        if rows and rows[-1][0] == r and s0 <= rows[-1][2]:
            prev = rows.pop()
            s0 = prev[1]
        lo_i = np.searchsorted(acc_key, r_rank * span + s0, "left")
        hi_i = np.searchsorted(acc_key, r_rank * span + e0, "right")
        part = slice(lo_i, hi_i)
        rows.append((r, s0, e0, int(hi_i - lo_i), float(dth[part].sum()), float(inj[part].sum()),
                     int(fat[part].sum()), float(eqv[part].sum())))
    _report(progress, 0.9, "事故多发点段")
    if not rows:
        return _empty_spots(), info
    return pd.DataFrame(rows, columns=["road_index", "start_m", "end_m", "accidents", "deaths", "injuries", "fatal",
                                       "equivalent"]), info


def period_start(end, years: float):
    """First day of a period of ``years`` ending on the day ``end`` (inclusive both ends).

    Whole years step back by calendar years (2025-12-31, 3 years → 2023-01-01); fractions of a
    year by 365.25 days per year.
    """
    end = pd.Timestamp(end).normalize()
    whole = int(math.floor(years))
    rest = years - whole
    start = end - pd.DateOffset(years=whole) + pd.Timedelta(days=1)
    if rest > 1e-9:
        start = start - pd.Timedelta(days=int(round(rest * 365.25)))
    return pd.Timestamp(start).normalize()


def _numeric(df, names) -> np.ndarray:
    for name in names:
        if name in df.columns:
            return pd.to_numeric(df[name], errors="coerce").fillna(0).to_numpy(dtype=float)
    return np.zeros(len(df))


def _empty_spots() -> pd.DataFrame:
    return _empty_spans(accidents=int, deaths=float, injuries=float, fatal=int, equivalent=float)


# ---------------------------------------------------------------------------
# counties
# ---------------------------------------------------------------------------
def assign_counties(gdf, counties, name_field: str = "name") -> np.ndarray:
    """County name of each segment (by its midpoint; nearest county within 1 km when outside all)."""
    if counties is None or len(counties) == 0 or len(gdf) == 0:
        return np.full(len(gdf), "", dtype=object)
    metric = crs_policy.metric_crs_for(counties)
    cgeoms = np.asarray(crs_policy.transform_geometries(counties.geometry.values, counties.crs, metric), dtype=object)
    names = _text_column(counties.reset_index(drop=True), (name_field, "name", "县区", "NAME"), len(counties))
    seg = np.asarray(crs_policy.transform_geometries(gdf.geometry.values, gdf.crs, metric), dtype=object)
    mid = shapely.line_interpolate_point(seg, 0.5, normalized=True)
    tree = shapely.STRtree(cgeoms)
    (qi, ci) = tree.query_nearest(mid, max_distance=1000.0, all_matches=False)
    out = np.full(len(gdf), "", dtype=object)
    out[qi] = names[ci]
    return out


# ---------------------------------------------------------------------------
# the whole analysis
# ---------------------------------------------------------------------------
#: Resampled points (5 m apart by default) per chunk of whole roads in :func:`detect_road_hazards`: the per-point
#: arrays of one chunk (some 60 float64 values a point at the peak) are what the analysis holds, whatever the
#: network's length.
CHUNK_POINTS = 100_000

#: Order of the subtypes in the table of steep grades (as detect_steep_grades lists them for one network).
_GRADE_BLOCKS = {"steep": 0, "long_downgrade": 1, "grade_length": 2}


def _chunk_elevations(sub: RoadNetwork, water, prepared, sampler, progress=None):
    """(elevations at the chunk's samples with bridges missing, water proximity, missing before bridges)."""
    prox = water_proximity(sub, water, progress=progress, prepared=prepared) if prepared is not None else None
    z = sampler.sample(sub.samples.xy[:, 0], sub.samples.xy[:, 1], sub.metric_crs, progress=progress)
    missing = int((~np.isfinite(z)).sum())
    if prox is not None and prox.on_water.any():
        z = np.where(prox.on_water, np.nan, z)
    return z, prox, missing


def _elevations_after(net: RoadNetwork, first: int, water, prepared, sampler, state, max_parts: int = 4096):
    """The sample starting part ``first`` and the first finite elevation from it on (or None), each as
    (global part, chainage along it, elevation).

    Parts are resampled in growing batches until one has a finite elevation (usually the first part).
    The last search is kept in ``state``: chunks without elevations (roads beyond the DEM) ask again
    from further on, and must not each search the rest of the network.
    """
    if first >= len(net.parts):
        return None, None
    sub = net.chunk(first, first + 1)
    z, _, _ = _chunk_elevations(sub, water, prepared, sampler)
    start_sample = (first, float(sub.samples.local[0]), float(z[0]))
    ok = np.flatnonzero(np.isfinite(z))
    if ok.size:
        i = ok[0]
        return start_sample, (first, float(sub.samples.local[i]), float(z[i]))
    nxt = first + 1
    last = state.get("z_after")
    if last is not None and last[0] <= nxt and (last[1] is None or nxt <= last[1][0]):
        return start_sample, last[1]
    start, found, n = nxt, None, 2
    while nxt < len(net.parts):
        end = min(nxt + n, len(net.parts))
        sub = net.chunk(nxt, end)
        z, _, _ = _chunk_elevations(sub, water, prepared, sampler)
        ok = np.flatnonzero(np.isfinite(z))
        if ok.size:
            i = ok[0]
            found = (int(sub.part_ids[sub.samples.part[i]]), float(sub.samples.local[i]), float(z[i]))
            break
        nxt, n = end, min(2 * n, max_parts)
    state["z_after"] = (start, found)
    return start_sample, found


def _detect_chunk(net: RoadNetwork, sub: RoadNetwork, wanted, water, prepared, sampler, found, state, progress):
    """The per-point stages on one chunk of whole roads; appends to ``found`` {kind: [tables]}.

    ``state`` carries what a chunk needs of the chunks before it (the heading's running sum, the last
    finite elevation). Returns (samples, samples without elevation, whether bridges were found).
    """
    _report(progress, 0.0, "准备道路")
    sub.heading_state = state["heading"]
    if "sharp_bend" in wanted:
        _report(progress, 0.0, "急弯")
        found["sharp_bend"].append(detect_sharp_bends(sub, progress=_sub(progress, 0.0, 0.375)))
    prox = None
    z = None
    missing = 0
    if prepared is not None:
        _report(progress, 0.375, "临水")
        prox = water_proximity(sub, water, progress=_sub(progress, 0.375, 0.46), prepared=prepared)
    if sampler is not None:
        _report(progress, 0.46, "DEM 取样")
        xy = sub.samples.xy
        hx, hy = xy[:, 0], xy[:, 1]
        end = int(sub.part_ids[-1]) + 1 if len(sub.parts) else 0
        if "steep_grade" in wanted and 0 < end < len(net.parts):  # the next part's start, for z_after below
            hx, hy = np.r_[hx, shapely.get_x(shapely.get_point(net.parts[end], 0))], \
                np.r_[hy, shapely.get_y(shapely.get_point(net.parts[end], 0))]
        sampler.hold(hx, hy, sub.metric_crs, margin_m=net.params.cliff_lateral_m)
        z = sampler.sample(xy[:, 0], xy[:, 1], sub.metric_crs, progress=_sub(progress, 0.46, 0.56))
        missing = int((~np.isfinite(z)).sum())
        if prox is not None and prox.on_water.any():
            # on a bridge the DEM shows the river below, not the deck
            z = np.where(prox.on_water, np.nan, z)
        finite = np.flatnonzero(np.isfinite(z))
        # one pass interpolates along all parts: missing elevations at a chunk's ends from the nearest finite
        # ones beyond it, and a window end that rounding puts a hair beyond a part's last sample between
        # that sample and the next part's first
        sub.z_before, sub.sample_before = state["z_before"], state["sample_before"]
        if "steep_grade" in wanted and len(z):
            sub.sample_after, sub.z_after = _elevations_after(net, end, water, prepared, sampler, state)
        if finite.size:
            i = finite[-1]
            state["z_before"] = (int(sub.part_ids[sub.samples.part[i]]), float(sub.samples.local[i]), float(z[i]))
        if len(z):
            state["sample_before"] = (int(sub.part_ids[-1]), float(sub.samples.local[-1]), float(z[-1]))
        if "steep_grade" in wanted:
            _report(progress, 0.56, "纵坡")
            found["steep_grade"].append(detect_steep_grades(sub, z, progress=_sub(progress, 0.56, 0.69)))
        if "near_cliff" in wanted:
            _report(progress, 0.69, "临崖")
            bridges = prox.on_water if prox is not None else None
            found["near_cliff"].append(detect_near_cliff(sub, sampler, z, progress=_sub(progress, 0.69, 0.94),
                                                         bridges=bridges))
        sampler.release()
    if "near_water" in wanted and water is not None:
        _report(progress, 0.94, "临水路段")
        found["near_water"].append(detect_near_water(sub, water, proximity=prox))
    if sub._smoothed is not None:  # every chunk smooths, or none does (the same stages run in each)
        state["heading"] = sub.heading_state_out
    bridge = prox is not None and bool(prox.on_water.any()) and z is not None
    return len(sub.samples), missing, bridge


def _concat_chunks(kind: str, tables: list) -> pd.DataFrame:
    """One kind's tables of all chunks, in the order one pass over the whole network lists them."""
    rows = [t for t in tables if len(t)]
    if not rows:
        return tables[0]
    if len(rows) == 1:
        return rows[0]
    out = pd.concat(rows, ignore_index=True)
    if kind == "steep_grade":
        # one network lists all over-maximum grades, then all long down-grades, then all grade lengths
        block = out["subtype"].map(_GRADE_BLOCKS).to_numpy()
        out = out.iloc[np.argsort(block, kind="stable")].reset_index(drop=True)
    return out


def detect_road_hazards(roads, dem=None, water=None, accidents=None, *, counties=None, km_posts=None,
                        params: RoadHazardParams | None = None, kinds=None, progress=None,
                        chunk_points: int | None = None):
    """Find road hazard candidates of every kind the inputs allow.

    Parameters
    ----------
    roads : GeoDataFrame
        Road centre lines, any CRS; fields ``name``, ``code``, ``road_class``, ``speed_kmh`` used
        when present (Chinese aliases accepted).
    dem : str, Path or rasterio dataset, optional
        Elevation raster (metres) for steep grades and near-cliff segments.
    water : GeoDataFrame, optional
        Water polygons or lines (``name`` used when present).
    accidents : GeoDataFrame, optional
        Accident points with optional ``date``, ``deaths``, ``injuries``.
    counties : GeoDataFrame, optional
        County polygons (``name``) to fill the ``county`` column.
    km_posts : GeoDataFrame, optional
        Km-post points (公里桩/百米桩) with their station (:data:`KM_POST_FIELDS`); they set the
        stationing of the roads they lie on (:func:`stationing_from_km_posts`), over the roads'
        ``start_km``/``breaks`` attributes.
    params : RoadHazardParams, optional
    kinds : iterable of str, optional
        Subset of :data:`KINDS` to run (all the inputs allow by default).
    progress : callable, optional
        ``progress(fraction, message)``; may raise :class:`~riskmap.errors.CancelledError`.
    chunk_points : int, optional
        Resampled points per chunk of whole roads (default :data:`CHUNK_POINTS`). The per-point
        stages run chunk by chunk, so memory does not grow with the network's length; the results
        do not depend on it.

    Returns
    -------
    (segments, provenance) : (GeoDataFrame, dict)
        One row per segment, columns :data:`COLUMNS`, in the roads' CRS.
    """
    params = (params or RoadHazardParams()).validate()
    kinds = kinds if kinds is not None else params.kinds
    wanted = set(kinds) if kinds is not None else set(KINDS)
    unknown = wanted - set(KINDS)
    if unknown:
        raise ParameterError(tr(f"未知的隐患类型{'、'.join(sorted(unknown))}，可用：{'、'.join(KINDS)}",
                                f"unknown hazard kind(s) {', '.join(sorted(unknown))}; use {', '.join(KINDS)}"))
    _report(progress, 0.0, "准备道路")
    net = RoadNetwork(roads, params, resampled=False)
    notes = []
    if km_posts is not None and len(km_posts):
        by_posts, post_notes = stationing_from_km_posts(net, km_posts)
        for r, st in by_posts.items():
            net.stationing[r] = st
        notes.extend(post_notes)
    need_dem = wanted & {"steep_grade", "near_cliff"}
    use_water = water is not None and bool(wanted & {"near_water", "steep_grade", "near_cliff"})
    prepared = prepare_water(water, net.metric_crs) if use_water else None
    chunks = net.road_chunks(int(chunk_points) if chunk_points else CHUNK_POINTS)
    sampler = DemSampler(dem, **({"max_in_memory_cells": 0} if len(chunks) > 1 else {})) \
        if dem is not None and need_dem else None
    found = {kind: [] for kind in KINDS}
    n_samples = missing = 0
    any_bridge = False
    state = {"heading": None, "z_before": None, "sample_before": None}
    try:
        for c, (first, end) in enumerate(chunks):
            step = _sub(progress, 0.05 + 0.8 * c / len(chunks), 0.05 + 0.8 * (c + 1) / len(chunks))
            bridge = _detect_chunk(net, net.chunk(first, end), wanted, water, prepared, sampler, found, state, step)
            n_samples += bridge[0]
            missing += bridge[1]
            any_bridge |= bridge[2]
    finally:
        if sampler is not None:
            sampler.close()
    tables = [(kind, _concat_chunks(kind, found[kind])) for kind in ("sharp_bend", "steep_grade", "near_cliff",
                                                                      "near_water") if found[kind]]
    if sampler is not None:
        if missing:
            notes.append(tr(f"道路采样点{n_samples}个中有{missing}个落在DEM范围外或无数据处，该处不计算纵坡和落差",
                            f"{missing} of {n_samples} road sample points fall outside the DEM or on nodata: "
                            "no grade or drop computed there"))
        if any_bridge:
            notes.append(tr("道路跨越水体处（桥梁）不计算纵坡和临崖落差",
                            "where a road crosses water (bridges) no grade or cliff drop is computed"))
    elif need_dem:
        notes.append(tr("未提供DEM：未识别陡坡和临崖路段", "no DEM given: steep grades and cliff-side segments not looked for"))
    if "near_water" in wanted and water is None:
        notes.append(tr("未提供水体图层：未识别临水路段", "no water layer given: water-side segments not looked for"))
    spot_info = {}
    if "black_spot" in wanted:
        if accidents is not None:
            _report(progress, 0.85, "事故多发点段")
            spots, spot_info = detect_black_spots(net, accidents, progress=_sub(progress, 0.85, 0.92))
            tables.append(("black_spot", spots))
            if spot_info["accidents"] > spot_info["snapped"]:
                far = spot_info['accidents'] - spot_info['snapped']
                notes.append(tr(f"事故{spot_info['accidents']}起中有{far}起距所有道路超过{params.accident_snap_m:g} m，未计入",
                                f"{far} of {spot_info['accidents']} accidents lie more than "
                                f"{params.accident_snap_m:g} m from every road: not counted"))
            if spot_info.get("period_text"):
                notes.append(tr(f"事故统计时段{spot_info['period_text']}：时段内事故{spot_info['in_period']}起"
                                f"（共{spot_info['accidents']}起）",
                                f"accident period {spot_info['period_start']} to {spot_info['period_end']} (the last "
                                f"{spot_info['period_years']:g} years): {spot_info['in_period']} accidents in it "
                                f"({spot_info['accidents']} in all)"))
            else:
                notes.append(tr("事故数据无日期，未按统计时段筛选",
                                "the accidents have no dates: not filtered by the accident period"))
            if spot_info.get("undated"):
                notes.append(tr(f"{spot_info['undated']}起事故无日期，未计入统计时段",
                                f"{spot_info['undated']} accidents have no date: left out of the accident period"))
        else:
            notes.append(tr("未提供事故图层：未识别事故多发点段", "no accident layer given: black spots not looked for"))
    _report(progress, 0.92, "整理结果")
    segments = _assemble(net, tables, spot_info.get("period_text", ""))
    if counties is not None and len(segments):
        segments["county"] = assign_counties(segments, counties)
    inputs = {"roads": describe_input(roads.attrs.get("riskmap", {}).get("source") or roads)}
    if dem is not None:
        inputs["dem"] = describe_input(dem if isinstance(dem, (str, Path)) else getattr(dem, "name", "DEM"))
    if water is not None:
        inputs["water"] = describe_input(water.attrs.get("riskmap", {}).get("source") or water)
    if accidents is not None:
        inputs["accidents"] = describe_input(accidents.attrs.get("riskmap", {}).get("source") or accidents)
    if km_posts is not None:
        inputs["km_posts"] = describe_input(km_posts.attrs.get("riskmap", {}).get("source") or km_posts)
    parameters = params.to_dict()
    parameters.update({"metric_crs": net.metric_crs.to_string(), "roads_km": round(net.total_length_m / 1000, 3),
                       "design_speed_by_class": {**jtg_d20.DEFAULT_SPEED_BY_CLASS, **params.class_speeds}})
    if spot_info.get("years"):
        parameters["accident_period_years"] = spot_info["years"]
    for key in ("period_start", "period_end"):
        if spot_info.get(key):
            parameters[f"accident_{key}"] = spot_info[key]
    counts = segments["kind"].value_counts().to_dict() if len(segments) else {}
    notes.append(tr("识别隐患路段：" + ("，".join(f"{KINDS.get(k, k)}{v}处" for k, v in counts.items()) or "无"),
                    "segments found: " + (", ".join(f"{KINDS_EN.get(k, k)} {v}" for k, v in counts.items())
                                          or "none")))
    record = provenance("road_hazards", inputs, parameters, standards=STANDARDS, notes=notes)
    _report(progress, 1.0, "完成")
    return segments, record


def _assemble(net: RoadNetwork, tables, period_text: str = ""):
    import geopandas as gpd

    frames = []
    for kind, table in tables:
        if table is None or len(table) == 0:
            continue
        t = table.copy()
        t["kind"] = kind
        frames.append(t)
    if not frames:
        empty = pd.DataFrame({c: pd.Series(dtype=_dtype(c)) for c in COLUMNS})
        return gpd.GeoDataFrame(empty, geometry=gpd.GeoSeries([], crs=net.source_crs), crs=net.source_crs)
    df = pd.concat(frames, ignore_index=True, sort=False)
    r = df["road_index"].to_numpy(dtype=int)
    df["road_index"] = r
    df["speed_kmh"] = net.speed[r]
    df["radius_limit_m"] = np.where(df["kind"] == "sharp_bend", net.radius_limit[r], np.nan)
    df["grade_limit_pct"] = np.where(df["kind"] == "steep_grade", net.grade_limit[r], np.nan)
    for col in COLUMNS + ["grade_length_limit_m"]:
        if col not in df.columns:
            df[col] = np.nan if _dtype(col) == float else ""
    for col in ("subtype", "side", "water_name", "county"):
        df[col] = df[col].fillna("").astype(object)
    df["length_m"] = df["end_m"] - df["start_m"]
    df["note"] = _notes(df, period_text)
    df = merge_overlaps(df)
    r = df["road_index"].to_numpy(dtype=int)
    df["name"] = net.names[r]
    df["code"] = net.codes[r]
    df["road_class"] = jtg_d20.road_class_label(net.road_class[r])
    df["speed_source"] = net.speed_source[r]
    df["length_m"] = df["end_m"] - df["start_m"]
    st = net.stationing[r]
    df["km_start"] = [s_.label(v) for s_, v in zip(st, df["start_m"])]
    df["km_end"] = [s_.label(v) for s_, v in zip(st, df["end_m"])]
    df["km_label"] = [f"{a}–{b}" for a, b in zip(df["km_start"], df["km_end"])]
    df["stationing"] = [s_.to_text() for s_ in st]
    df["severity"] = _severity(df)
    df = df.sort_values(["road_index", "start_m", "kind"], kind="stable").reset_index(drop=True)
    geoms = net.segment_geometries(df["road_index"].to_numpy(), df["start_m"].to_numpy(), df["end_m"].to_numpy())
    geoms = crs_policy.transform_geometries(np.asarray(geoms, dtype=object), net.metric_crs, net.source_crs)
    return gpd.GeoDataFrame(df[COLUMNS], geometry=np.asarray(geoms, dtype=object), crs=net.source_crs)


#: How the measures of merged segments combine: the most severe value of each.
_MERGE_MIN = ("radius_m", "water_dist_m", "grade_length_limit_m")
_MERGE_MAX = ("grade_pct", "drop_m", "accidents", "deaths", "injuries")


def merge_overlaps(df: pd.DataFrame, tolerance_m: float = 1e-6) -> pd.DataFrame:
    """Merge overlapping or touching segments of one kind on one road into one segment.

    The extent is the union; ``note`` joins the distinct reasons with "；", ``subtype`` lists the
    distinct subtypes in :data:`SUBTYPES` order joined by "+"; :data:`_MERGE_MIN` measures keep
    their smallest value, :data:`_MERGE_MAX` their largest, and the other fields (side,
    deflection, water name …) come from the segment holding the most severe measure.
    """
    if len(df) < 2:
        return df
    df = df.sort_values(["road_index", "kind", "start_m", "end_m"], kind="stable").reset_index(drop=True)
    key = df["road_index"].astype(str) + "\x00" + df["kind"].astype(str)
    new_key = key.ne(key.shift())
    reach = df.groupby(key, sort=False)["end_m"].cummax().shift()
    group = (new_key | (df["start_m"] > reach + tolerance_m)).cumsum().to_numpy()
    if len(np.unique(group)) == len(df):
        return df
    df["_group"] = group
    # the representative row of a group: smallest radius / water distance, largest grade / drop / deaths
    sev = np.select([df["kind"] == "sharp_bend", df["kind"] == "near_water"],
                    [-df["radius_m"].to_numpy(float), -df["water_dist_m"].to_numpy(float)],
                    default=np.nan_to_num(df["grade_pct"].to_numpy(float), nan=-1.0)
                    + np.nan_to_num(df["drop_m"].to_numpy(float), nan=-1.0)
                    + np.nan_to_num(df["deaths"].to_numpy(float), nan=0.0))
    df["_sev"] = np.nan_to_num(sev, nan=-np.inf)
    rep = df.sort_values(["_group", "_sev"], ascending=[True, False], kind="stable").drop_duplicates("_group")
    out = rep.set_index("_group").copy()
    g = df.groupby("_group")
    out["start_m"] = g["start_m"].min()
    out["end_m"] = g["end_m"].max()
    for col in _MERGE_MIN:
        if col in df.columns:
            out[col] = g[col].min()
    for col in _MERGE_MAX:
        if col in df.columns:
            out[col] = g[col].max()
    order = {k: i for i, k in enumerate(SUBTYPES)}
    out["subtype"] = g["subtype"].agg(lambda v: "+".join(sorted({c for x in v if x for c in str(x).split("+")},
                                                                key=lambda c: order.get(c, 99))))
    out["note"] = g["note"].agg(lambda v: "；".join(dict.fromkeys(n for n in v if n)))
    return out.reset_index(drop=True).drop(columns=["_sev"], errors="ignore")


def _dtype(col):
    return object if col in ("kind", "subtype", "name", "code", "road_class", "speed_source", "km_start", "km_end",
                             "km_label", "side", "water_name", "severity", "note", "county", "stationing") else float


def _severity(df) -> np.ndarray:
    """Proposed risk level (riskmap rule; the user may change it in the register).

    Four-level wording (:data:`SEVERITIES`): 重大风险 / 较大风险 / 一般风险, and 低风险 left to the
    user. Sharp bend: 重大 below half the limit radius, 较大 below 3/4. Steep grade: 重大 2 points
    or more over the maximum grade, 较大 1 point (a grade only too long is 一般). Cliff: 重大 over
    40 m. Water: 重大 within 10 m, 较大 within 25 m. Black spot: 重大 with 3 deaths or more within
    the period, 较大 with 1.
    """
    kind = df["kind"].to_numpy()
    out = np.full(len(df), "一般风险", dtype=object)
    ratio = df["radius_m"].to_numpy(float) / df["radius_limit_m"].to_numpy(float)
    over = df["grade_pct"].to_numpy(float) - df["grade_limit_pct"].to_numpy(float)
    with np.errstate(invalid="ignore"):
        med = ((kind == "sharp_bend") & (ratio < 0.75)) | ((kind == "steep_grade") & (over >= 1)) \
            | ((kind == "black_spot") & (df["deaths"].to_numpy(float) >= 1)) \
            | ((kind == "near_water") & (df["water_dist_m"].to_numpy(float) <= 25))
        high = ((kind == "sharp_bend") & (ratio < 0.5)) | ((kind == "steep_grade") & (over >= 2)) \
            | ((kind == "black_spot") & (df["deaths"].to_numpy(float) >= 3)) \
            | ((kind == "near_water") & (df["water_dist_m"].to_numpy(float) <= 10)) \
            | ((kind == "near_cliff") & (df["drop_m"].to_numpy(float) >= 40))
    out[med] = "较大风险"
    out[high] = "重大风险"
    return out


def _notes(df, period_text: str = "") -> list[str]:
    """The reason of each segment, in Chinese: a stored field of the results and the register, not a note
    (black spots state the accident period)."""
    reasons = []
    for row in df[["kind", "subtype", "radius_m", "radius_limit_m", "speed_kmh", "deflection_deg", "grade_pct",
                   "grade_limit_pct", "drop_m", "side", "water_dist_m", "water_name", "accidents",
                   "deaths", "injuries", "length_m", "grade_length_limit_m"]].itertuples(index=False):
        kind = row.kind
        if kind == "sharp_bend":
            text = (f"圆曲线半径约{row.radius_m:.0f} m，小于设计速度{row.speed_kmh:.0f} km/h的极限最小半径"
                    f"{row.radius_limit_m:.0f} m；转角{abs(row.deflection_deg):.0f}°"
                    f"（{'左' if row.deflection_deg > 0 else '右'}转）")
        elif kind == "steep_grade" and row.subtype == "long_downgrade":
            text = f"连续长下坡，平均纵坡最大{row.grade_pct:.1f}%"
        elif kind == "steep_grade" and row.subtype == "grade_length":
            text = (f"坡长超限：纵坡{row.grade_pct:.1f}%连续{row.length_m:.0f} m，超过{jtg_d20.GRADE_LENGTH_CLAUSE}"
                    f"最大坡长{row.grade_length_limit_m:.0f} m")
        elif kind == "steep_grade":
            text = f"纵坡{row.grade_pct:.1f}%，超过设计速度{row.speed_kmh:.0f} km/h的最大纵坡{row.grade_limit_pct:.0f}%"
        elif kind == "near_cliff":
            text = f"路侧（{'左' if row.side == 'left' else '右'}侧）落差约{row.drop_m:.0f} m"
        elif kind == "near_water":
            text = f"临水排查带内：距水体{('“' + row.water_name + '”') if row.water_name else ''}约{row.water_dist_m:.0f} m"
        elif kind == "black_spot":
            injuries = 0 if not np.isfinite(row.injuries) else row.injuries
            text = f"{period_text}事故{row.accidents:.0f}起，死亡{row.deaths:.0f}人，受伤{injuries:.0f}人"
        else:
            text = ""
        reasons.append(text)
    return reasons


def _report(progress, fraction: float, message: str) -> None:
    if progress is not None:
        progress(float(fraction), message)


def _sub(progress, lo: float, hi: float):
    """A progress callback mapping [0, 1] into [lo, hi] of ``progress``."""
    if progress is None:
        return None
    return lambda f, msg: progress(lo + (hi - lo) * min(max(f, 0.0), 1.0), msg)


# ---------------------------------------------------------------------------
# the Excel register of detected segments
# ---------------------------------------------------------------------------
def segments_excel_frame(segments) -> pd.DataFrame:
    """The segments as a table with Chinese headers and kind/severity in Chinese, for Excel."""
    df = pd.DataFrame(segments.drop(columns=segments.geometry.name)).copy()
    df["kind"] = df["kind"].map(lambda k: f"{KINDS.get(k, k)}")
    df["severity"] = df["severity"].map(lambda k: SEVERITIES.get(k, k))
    df["side"] = df["side"].map({"left": "左", "right": "右"}).fillna("")
    df["subtype"] = df["subtype"].fillna("").map(subtype_label)
    df["road_class"] = jtg_d20.road_class_label(df["road_class"].fillna(""))
    order = ["county", "name", "code", "kind", "subtype", "km_label", "km_start", "km_end", "start_m", "end_m",
             "length_m", "severity", "note", "road_class", "speed_kmh", "radius_m", "radius_limit_m",
             "deflection_deg", "grade_pct", "grade_limit_pct", "drop_m", "side", "water_dist_m", "water_name",
             "accidents", "deaths", "injuries", "fatal", "equivalent", "stationing"]
    df = df[[c for c in order if c in df.columns]]
    for col in ("start_m", "end_m", "length_m", "radius_m", "drop_m", "water_dist_m"):
        df[col] = df[col].round(1)
    for col in ("deflection_deg", "grade_pct"):
        df[col] = df[col].round(2)
    return df.rename(columns=ALIASES)
