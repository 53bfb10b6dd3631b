"""Tailings-pond (尾矿库) rule tables, as data.

- Grade (等别) by storage V (10⁴ m³) and dam height H (m): **GB 39496-2020 《尾矿库安全规程》**
  (in force 2021-09-01; it replaced AQ 2006-2005 《尾矿库安全技术规程》, STANDARDS.md §0). Grades
  三–五 are identical to AQ 2006-2005 (CONFIRMED). GB 39496-2020 §4.5 revised the grade-一 and
  grade-二 criteria; those numbers are UNCONFIRMED, so they are parameters: the grade-二 bounds
  default to the AQ 2006-2005 values (V ≥ 10000, H ≥ 100) and grade 一 is computed only when
  asked (``grade1_bounds``; defaults from memory V ≥ 50000 or H ≥ 200, verify before use).
- Combination rule: GB 50863-2013 《尾矿设施设计规范》 **§3.2.1** (CONFIRMED, STANDARDS.md §0): grades
  by V and by H one apart → the higher; more than one apart → the higher lowered by one. The
  same clause allows a pond other than grade 一 to be raised one grade after a demonstration
  (论证) when its failure would seriously harm important downstream towns, enterprises,
  trunk railways or expressways: a 头顶库 of grade 二–四 gets the note "需论证是否提等", never an
  automatic raise.
- 全库容 vs 总库容: 全库容 is the storage below the current crest (the current stage), 总库容 the
  全库容 at the design final elevation. The grade uses the current stage's 全库容 when the data
  has it, else 总库容 with a note.
- 头顶库 (overhead pond): residents or important facilities within 1 km downstream, inclusive
  (国家安全监管总局《遏制尾矿库"头顶库"重特大事故工作方案》, 2016; CONFIRMED).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from riskmap.analysis.declare import Param, ParamSet
from riskmap.errors import ParameterError
from riskmap.i18n import tr

AQ_EDITION = "AQ 2006-2005"
GB_EDITION = "GB 39496-2020"
GB_TITLE = "GB 39496-2020《尾矿库安全规程》（2021-09-01起实施，代替AQ 2006-2005）"
DESIGN_EDITION = "GB 50863-2013"
COMBINATION_CLAUSE = f"{DESIGN_EDITION} §3.2.1"
#: The note for a 头顶库 that §3.2.1 would let be raised one grade after a demonstration.
RAISE_NOTE = "需论证是否提等"
#: Grades whose 头顶库 get :data:`RAISE_NOTE` (二–四).
RAISE_GRADES = (2, 3, 4)
OVERHEAD_SOURCE = "国家安全监管总局《遏制尾矿库“头顶库”重特大事故工作方案》（2016）"

#: Chinese numerals of the grades.
GRADE_ZH = {1: "一等", 2: "二等", 3: "三等", 4: "四等", 5: "五等"}

#: 头顶库: downstream distance (m) within which residents or important facilities make an
#: overhead pond, inclusive (CONFIRMED).
OVERHEAD_DISTANCE_M = 1000.0


@dataclass(frozen=True)
class GradeRules:
    """A grade table: lower bounds of V (10⁴ m³) and H (m) for grades best → worst.

    ``capacity_min[i]`` / ``height_min[i]`` is the lower bound of grade ``grades[i]``; the
    last grade has bound 0. A value meets the first (best) grade whose bound it reaches.
    """

    edition: str
    grades: tuple
    capacity_min: tuple
    height_min: tuple
    status: str = "CONFIRMED"

    def __post_init__(self):
        n = len(self.grades)
        if not (len(self.capacity_min) == len(self.height_min) == n):
            raise ParameterError(tr("等别表：每个等别须有一个库容下限和一个坝高下限",
                                    "grade table: one capacity and one height bound per grade"))
        for name in ("capacity_min", "height_min"):
            b = np.asarray(getattr(self, name), float)
            if np.any(np.diff(b) >= 0) or b[-1] != 0:
                raise ParameterError(tr(f"等别表 {name} 须严格递减并以 0 结尾，实为 {tuple(b)}",
                                        f"grade table {name} must decrease strictly and end at 0, got {tuple(b)}"))

    def to_dict(self) -> dict:
        return asdict(self)


#: AQ 2006-2005 grade table (withdrawn 2021-09-01; kept to compare with older assessments).
#: Grade 1 is "a grade-2 pond that meets the conditions for raising its grade" (a
#: demonstration), not a threshold, so computed grades are 2–5.
AQ_2006_2005 = GradeRules(
    edition=f"{AQ_EDITION}（已废止，由{GB_EDITION}代替）",
    grades=(2, 3, 4, 5),
    capacity_min=(10000.0, 1000.0, 100.0, 0.0),
    height_min=(100.0, 60.0, 30.0, 0.0),
)


def gb39496_table(grade2_capacity: float | None = None, grade2_height: float | None = None) -> GradeRules:
    """The GB 39496-2020 grade table without a computed grade 一 (the default).

    Grades 三–五 as AQ 2006-2005 (CONFIRMED identical); the grade-二 bounds are parameters
    (GB 39496-2020 §4.5 revised them; the new numbers are UNCONFIRMED, so the defaults are the
    AQ 2006-2005 bounds, :data:`AQ_2006_2005`).
    """
    grade2_capacity = AQ_2006_2005.capacity_min[0] if grade2_capacity is None else float(grade2_capacity)
    grade2_height = AQ_2006_2005.height_min[0] if grade2_height is None else float(grade2_height)
    note = "" if (grade2_capacity, grade2_height) == (AQ_2006_2005.capacity_min[0], AQ_2006_2005.height_min[0]) else \
        f"，二等界限V≥{grade2_capacity:g}、H≥{grade2_height:g}"
    return GradeRules(
        edition=f"{GB_EDITION}（三至五等同AQ 2006-2005；二等界限待核实{note}）",
        grades=(2, 3, 4, 5),
        capacity_min=(float(grade2_capacity), 1000.0, 100.0, 0.0),
        height_min=(float(grade2_height), 60.0, 30.0, 0.0),
        status="UNCONFIRMED (grade 2 bounds)",
    )


#: The default grade table (GB 39496-2020, grade-二 bounds as AQ 2006-2005, no computed grade 一).
GB_39496_2020 = gb39496_table()


def gb39496_rules(grade1_capacity: float | None = None, grade1_height: float | None = None,
                  grade2_capacity: float | None = None, grade2_height: float | None = None) -> GradeRules:
    """Grade table with the GB 39496-2020 §4.5 grade-1/grade-2 bounds as parameters.

    The defaults are UNCONFIRMED (STANDARDS.md §4, from memory: grade 1 V ≥ 50000×10⁴ m³ or
    H ≥ 200 m; grade 2 V ≥ 10000 or H ≥ 100); grades 3–5 as AQ 2006-2005. Verify before use.
    """
    grade2_capacity = AQ_2006_2005.capacity_min[0] if grade2_capacity is None else grade2_capacity
    grade2_height = AQ_2006_2005.height_min[0] if grade2_height is None else grade2_height
    grade1_capacity = PARAMS.default("grade1_capacity") if grade1_capacity is None else grade1_capacity
    grade1_height = PARAMS.default("grade1_height") if grade1_height is None else grade1_height
    return GradeRules(
        edition=f"{GB_EDITION} §4.5（一、二等界限待核实：一等V≥{grade1_capacity:g}、H≥{grade1_height:g}）",
        grades=(1, 2, 3, 4, 5),
        capacity_min=(float(grade1_capacity), float(grade2_capacity), 1000.0, 100.0, 0.0),
        height_min=(float(grade1_height), float(grade2_height), 60.0, 30.0, 0.0),
        status="UNCONFIRMED (grade 1/2)",
    )




def _grade_by(value: float, bounds, grades) -> int | None:
    if value is None or not math.isfinite(value) or value < 0:
        return None
    for g, b in zip(grades, bounds):
        if value >= b:
            return int(g)
    return int(grades[-1])  # pragma: no cover - the last bound is 0


def grade_by_capacity(capacity: float, rules: GradeRules = GB_39496_2020) -> int | None:
    """Grade from storage V (10⁴ m³) alone; None when V is missing or negative."""
    return _grade_by(capacity, rules.capacity_min, rules.grades)


def grade_by_height(dam_height: float, rules: GradeRules = GB_39496_2020) -> int | None:
    """Grade from dam height H (m) alone; None when H is missing or negative."""
    return _grade_by(dam_height, rules.height_min, rules.grades)


def combine_grades(grade_v: int | None, grade_h: int | None) -> int | None:
    """The combination rule of GB 50863-2013 §3.2.1 (also GB 39496-2020, AQ 2006-2005).

    Grades by V and by H that differ by one: take the higher (smaller number). Differ by
    more than one: take the higher grade lowered by one. A single known grade is returned
    as is.

    Examples
    --------
    >>> combine_grades(3, 4), combine_grades(2, 5), combine_grades(4, 4)
    (3, 3, 4)
    """
    if grade_v is None and grade_h is None:
        return None
    if grade_v is None or grade_h is None:
        return grade_v if grade_h is None else grade_h
    hi, lo = min(grade_v, grade_h), max(grade_v, grade_h)
    if lo - hi <= 1:
        return hi
    return hi + 1


def tailings_grade(capacity: float, dam_height: float, rules: GradeRules = GB_39496_2020) -> dict:
    """Grade (等别) of a tailings pond from V and H with the combination rule (GB 50863-2013 §3.2.1).

    Parameters
    ----------
    capacity : float
        Storage V (10⁴ m³): the current stage's 全库容, or 总库容 when that is all there is.
    dam_height : float
        Dam height H (m).
    rules : GradeRules
        :data:`GB_39496_2020` (default), :func:`gb39496_rules` (with grade 一) or
        :data:`AQ_2006_2005` (withdrawn).

    Returns
    -------
    dict
        ``grade`` (int or None), ``grade_v``, ``grade_h`` and ``basis`` (Chinese explanation).
    """
    gv = grade_by_capacity(_num(capacity), rules)
    gh = grade_by_height(_num(dam_height), rules)
    grade = combine_grades(gv, gh)
    if grade is None:
        basis = "库容和坝高均缺失，无法定等"
    elif gv is None or gh is None:
        which = "库容" if gh is None else "坝高"
        other = "坝高" if gh is None else "库容"
        basis = f"{other}缺失，仅按{which}定为{GRADE_ZH[grade]}库"
    elif gv == gh:
        basis = f"按库容、坝高均为{GRADE_ZH[grade]}"
    elif abs(gv - gh) == 1:
        basis = f"按库容{GRADE_ZH[gv]}、按坝高{GRADE_ZH[gh]}，相差一等，取高者{GRADE_ZH[grade]}"
    else:
        basis = f"按库容{GRADE_ZH[gv]}、按坝高{GRADE_ZH[gh]}，相差大于一等，按高者降低一等取{GRADE_ZH[grade]}"
    return {"grade": grade, "grade_v": gv, "grade_h": gh,
            "basis": f"{basis}（{rules.edition}；组合规则{COMBINATION_CLAUSE}）"}


def raise_note(grade, overhead: bool) -> str:
    """"需论证是否提等" for a 头顶库 of grade 二–四 (GB 50863-2013 §3.2.1), else ""."""
    if not overhead or grade is None or str(grade) in ("<NA>", "nan"):
        return ""
    return RAISE_NOTE if int(grade) in RAISE_GRADES else ""


def _num(value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return float("nan")
    return v


#: The declared parameters of the tailings assessment (defaults, ranges, labels and basis, once).
PARAMS = ParamSet("tailings", [
    Param("downstream_m", "float", OVERHEAD_DISTANCE_M, "下游距离（含）", "Downstream distance (incl.)", unit="m",
          minimum=0.0, exclusive_minimum=True, maximum=10000.0, step=100, decimals=0, cli="--downstream",
          basis=f"{OVERHEAD_SOURCE}（下游1公里含）", help_zh="沿流径的下游距离",
          help_en="downstream distance along the flow path"),
    Param("half_width_m", "float", 250.0, "走廊半宽", "Corridor half-width", unit="m", minimum=0.0,
          exclusive_minimum=True, maximum=2000.0, step=10, decimals=0, cli="--half-width",
          help_zh="下游走廊半宽（定义未给宽度；山谷溃坝洪水通常宽数百米）",
          help_en="half-width of the downstream corridor (the definition names none)"),
    Param("min_people", "float", 1.0, "最少人数", "Minimum people", unit="人", minimum=0.0, maximum=1e6, step=1,
          decimals=0, help_zh="走廊人口（四舍五入）达到此数即视为有居民（定义为“有居民”）",
          help_en="residents present from this many people (rounded) in the corridor"),
    Param("rules", "choice", "gb39496", "定等标准", "Grade table", choices=("gb39496", "aq2006"),
          choice_labels={"gb39496": ("GB 39496-2020 尾矿库安全规程", "GB 39496-2020"),
                         "aq2006": ("AQ 2006-2005（已废止，仅供对比）", "AQ 2006-2005 (withdrawn, for comparison)")},
          basis=f"{GB_TITLE}；三至五等与AQ 2006-2005相同；一、二等界限（§4.5）待核实",
          help_zh="尾矿库等别表（GB 39496-2020；AQ 2006-2005已于2021-09-01废止）",
          help_en="grade table: GB 39496-2020 (AQ 2006-2005 withdrawn 2021-09-01, for comparison)"),
    Param("grade2_capacity", "float", AQ_2006_2005.capacity_min[0], "二等库容界限（待核实）", "Grade-2 storage bound (unverified)",
          unit="万m³", minimum=0.0, exclusive_minimum=True, maximum=1e7, form=False,
          basis="GB 39496-2020 §4.5修订了二等界限（数值未核实）；默认沿用AQ 2006-2005的V≥10000"),
    Param("grade2_height", "float", AQ_2006_2005.height_min[0], "二等坝高界限（待核实）", "Grade-2 dam height bound (unverified)",
          unit="m", minimum=0.0, exclusive_minimum=True, maximum=1000.0, form=False,
          basis="GB 39496-2020 §4.5修订了二等界限（数值未核实）；默认沿用AQ 2006-2005的H≥100"),
    Param("grade1_bounds", "bool", False, "按界限计算一等（待核实）", "Compute grade 1 from bounds (unverified)",
          cli="--grade1-bounds",
          basis="GB 39496-2020 §4.5（一等界限UNCONFIRMED）；默认不计算一等（AQ 2006-2005：一等为具备提等条件的二等库）",
          help_zh="按GB 39496-2020一等库容/坝高界限（凭记忆，待核实）计算一等",
          help_en="compute grade 1 from the GB 39496-2020 bounds (from memory, unverified)"),
    Param("grade1_capacity", "float", 50000.0, "GB 39496一等库容界限（待核实）", "GB 39496 grade-1 storage (unverified)",
          unit="万m³", minimum=0.0, exclusive_minimum=True, maximum=1e7, form=False,
          basis="GB 39496-2020 §4.5（UNCONFIRMED）"),
    Param("grade1_height", "float", 200.0, "GB 39496一等坝高界限（待核实）", "GB 39496 grade-1 dam height (unverified)",
          unit="m", minimum=0.0, exclusive_minimum=True, maximum=1000.0, form=False,
          basis="GB 39496-2020 §4.5（UNCONFIRMED）"),
    Param("important_road_classes", "data", ("expressway", "national", "provincial", "railway"),
          "重要道路的road_class", "road_class of important roads", form=False, cli=False),
    Param("facility_kinds", "data", ("sensitive", "enterprises", "roads", "facilities"), "设施图层类型",
          "Facility layer kinds", form=False, cli=False),
    Param("subcell_m", "float", 10.0, "人口子栅格尺寸", "Population sub-cell size", unit="m", minimum=1.0,
          maximum=1000.0, form=False, cli=False),
    Param("smooth_m", "float", 50.0, "流径平滑容差", "Flow-path smoothing", unit="m", minimum=0.0, maximum=1000.0,
          form=False, cli=False),
    Param("max_fill_cells", "int", 200_000, "洼地填充上限", "Pit fill cap", unit="cells", minimum=1,
          maximum=100_000_000, form=False, cli=False),
])


@PARAMS.dataclass(frozen=True)
class OverheadParameters:
    """Parameters of the tailings assessment: the fields, defaults, ranges and basis are :data:`PARAMS`.

    ``grade_rules`` is the grade table chosen by ``rules``: GB 39496-2020 with the ``grade2_*``
    bounds, and grade 一 from the ``grade1_*`` bounds only when ``grade1_bounds``.
    """

    @property
    def grade_rules(self) -> "GradeRules":
        if self.rules == "gb39496":
            if self.grade1_bounds:
                return gb39496_rules(self.grade1_capacity, self.grade1_height, self.grade2_capacity,
                                     self.grade2_height)
            return gb39496_table(self.grade2_capacity, self.grade2_height)
        return AQ_2006_2005


def people_present(downstream_pop: float, min_people: float) -> bool:
    """Residents are present when the rounded population reaches ``min_people`` (and is > 0)."""
    if downstream_pop is None or not math.isfinite(downstream_pop):
        return False
    rounded = int(math.floor(downstream_pop + 0.5))
    return rounded >= max(min_people, 1)


def standards_cited(rules: GradeRules) -> list[str]:
    """Standard editions and clauses for provenance records."""
    return [
        f"{rules.edition} 尾矿库等别（全库容或总库容、坝高）；{GB_TITLE}",
        f"{COMBINATION_CLAUSE} 组合规则：相差一等取高者，相差大于一等按高者降低一等；除一等库外，失事将使下游重要城镇、"
        f"工矿企业、铁路干线或高速公路遭受严重灾害者，经论证可提高一等（头顶库二至四等注“{RAISE_NOTE}”，不自动提等）",
        f"{OVERHEAD_SOURCE}：下游1公里（含）距离内有居民或重要设施的尾矿库为“头顶库”",
    ]
