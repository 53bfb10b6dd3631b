"""Tailings-pond (尾矿库) rule tables, as data.

- Grade (等别) by total storage V (10⁴ m³) and dam height H (m): AQ 2006-2005
  《尾矿库安全技术规程》 Table (CONFIRMED, STANDARDS.md §4), with the combination rule
  (AQ 2006-2005; GB 50863-2013 §3.3.1, CONFIRMED).
- GB 39496-2020 《尾矿库安全规程》 (in force 2021-09-01) revised the grade-1 and grade-2 criteria
  (§4.5). Its numbers are UNCONFIRMED, so they are parameters of :func:`gb39496_rules`
  (defaults from memory: grade 1 V ≥ 50000 or H ≥ 200; verify before use).
- 头顶库 (overhead pond): residents or important facilities within 1 km downstream, inclusive
  (国家安全监管总局《遏制尾矿库"头顶库"重特大事故工作方案》, 2016; CONFIRMED).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from riskmap.errors import ParameterError

AQ_EDITION = "AQ 2006-2005"
GB_EDITION = "GB 39496-2020"
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
            raise ParameterError("grade table: one capacity and one height bound per grade")
        for name in ("capacity_min", "height_min"):
            b = np.asarray(getattr(self, name), float)
            if np.any(np.diff(b) >= 0) or b[-1] != 0:
                raise ParameterError(f"grade table {name} must decrease strictly and end at 0, got {tuple(b)}")

    def to_dict(self) -> dict:
        return asdict(self)


#: AQ 2006-2005 grade table. Grade 1 is "a grade-2 pond that meets the conditions for raising
#: its grade" (a demonstration), not a threshold, so computed grades are 2–5.
AQ_2006_2005 = GradeRules(
    edition=AQ_EDITION,
    grades=(2, 3, 4, 5),
    capacity_min=(10000.0, 1000.0, 100.0, 0.0),
    height_min=(100.0, 60.0, 30.0, 0.0),
)


def gb39496_rules(grade1_capacity: float = 50000.0, grade1_height: float = 200.0,
                  grade2_capacity: float = 10000.0, grade2_height: float = 100.0) -> GradeRules:
    """Grade table with the GB 39496-2020 §4.5 grade-1/grade-2 bounds as parameters.

    The defaults are UNCONFIRMED (STANDARDS.md §4, from memory: grade 1 V ≥ 50000×10⁴ m³ or
    H ≥ 200 m; grade 2 V ≥ 10000 or H ≥ 100); grades 3–5 as AQ 2006-2005. Verify before use.
    """
    return GradeRules(
        edition=f"{GB_EDITION} §4.5 (grade 1/2 bounds unconfirmed: V≥{grade1_capacity:g}, H≥{grade1_height:g})",
        grades=(1, 2, 3, 4, 5),
        capacity_min=(float(grade1_capacity), float(grade2_capacity), 1000.0, 100.0, 0.0),
        height_min=(float(grade1_height), float(grade2_height), 60.0, 30.0, 0.0),
        status="UNCONFIRMED (grade 1/2)",
    )


#: Names accepted for the grade rules by the CLI and the GUI.
RULES_BY_NAME = {"aq2006": AQ_2006_2005, "gb39496": gb39496_rules()}


def _grade_by(value: float, bounds, grades) -> int | None:
    if value is None or not math.isfinite(value) or value < 0:
        return None
    for g, b in zip(grades, bounds):
        if value >= b:
            return int(g)
    return int(grades[-1])  # pragma: no cover - the last bound is 0


def grade_by_capacity(capacity: float, rules: GradeRules = AQ_2006_2005) -> int | None:
    """Grade from total storage V (10⁴ m³) alone; None when V is missing or negative."""
    return _grade_by(capacity, rules.capacity_min, rules.grades)


def grade_by_height(dam_height: float, rules: GradeRules = AQ_2006_2005) -> int | None:
    """Grade from dam height H (m) alone; None when H is missing or negative."""
    return _grade_by(dam_height, rules.height_min, rules.grades)


def combine_grades(grade_v: int | None, grade_h: int | None) -> int | None:
    """The combination rule of AQ 2006-2005 / GB 50863-2013 §3.3.1.

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


def tailings_grade(capacity: float, dam_height: float, rules: GradeRules = AQ_2006_2005) -> dict:
    """Grade (等别) of a tailings pond from V and H with the combination rule.

    Parameters
    ----------
    capacity : float
        Total storage V (10⁴ m³).
    dam_height : float
        Dam height H (m).
    rules : GradeRules
        :data:`AQ_2006_2005` (default) or :func:`gb39496_rules`.

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
    return {"grade": grade, "grade_v": gv, "grade_h": gh, "basis": f"{basis}（{rules.edition}）"}


def _num(value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return float("nan")
    return v


@dataclass(frozen=True)
class OverheadParameters:
    """Parameters of the 头顶库 test (defaults documented; all may be overridden).

    Attributes
    ----------
    downstream_m : float
        Downstream distance along the flow path, 1000 m inclusive (CONFIRMED definition).
    half_width_m : float
        Half-width of the downstream corridor around the flow path (PARAMETER; the
        definition names no width). Default 250 m: a dam-break flood in a hill valley
        spreads over the valley floor, typically a few hundred metres wide.
    min_people : int
        Residents present when the corridor's population rounds to at least this many
        (PARAMETER). Default 1: any resident counts, as the definition says "有居民".
        Raise it for rasters that smear a thin population over empty land.
    important_road_classes : tuple of str
        ``road_class`` values of roads counted as important facilities (all roads are listed).
    facility_kinds : tuple of str
        Facility layers whose features count as important facilities.
    subcell_m : float
        Sub-cell size (m) for the corridor population sum.
    smooth_m : float
        Tolerance (m) smoothing the D8 staircase of the path before it is buffered, so the
        corridor follows the valley and its far end is cut across the flow (ends are kept).
    max_fill_cells : int
        Cap on the cells a pit may flood while looking for its spill point.
    """

    downstream_m: float = OVERHEAD_DISTANCE_M
    half_width_m: float = 250.0
    min_people: int = 1
    important_road_classes: tuple = ("expressway", "national", "provincial", "railway")
    facility_kinds: tuple = ("sensitive", "enterprises", "roads", "facilities")
    subcell_m: float = 10.0
    smooth_m: float = 50.0
    max_fill_cells: int = 200_000

    def __post_init__(self):
        for name in ("downstream_m", "half_width_m", "subcell_m"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ParameterError(f"tailings parameter {name} must be a positive number, got {v!r}")
        if not (isinstance(self.min_people, (int, float)) and self.min_people >= 0):
            raise ParameterError(f"tailings parameter min_people must be ≥ 0, got {self.min_people!r}")

    def to_dict(self) -> dict:
        return asdict(self)


def people_present(downstream_pop: float, min_people: float) -> bool:
    """Residents are present when the rounded population reaches ``min_people`` (and is > 0)."""
    if downstream_pop is None or not math.isfinite(downstream_pop):
        return False
    rounded = int(math.floor(downstream_pop + 0.5))
    return rounded >= max(min_people, 1)


def standards_cited(rules: GradeRules) -> list[str]:
    """Standard editions and clauses for provenance records."""
    return [
        f"{rules.edition} 尾矿库等别（总库容、坝高）",
        "AQ 2006-2005 / GB 50863-2013 §3.3.1 组合规则：相差一等取高者，相差大于一等按高者降低一等",
        f"{OVERHEAD_SOURCE}：下游1公里（含）距离内有居民或重要设施的尾矿库为“头顶库”",
    ]
