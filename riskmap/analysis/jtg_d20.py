"""JTG D20-2017 公路路线设计规范 (highway route design specification): the rule tables riskmap uses.

One data module, versioned by edition, so a revision of the standard is a one-file change.
Values and their status are those of ``STANDARDS.md`` §6.1 (the tables are 圆曲线最小半径, minimum
circular-curve radius, in the 平面 (horizontal alignment) chapter and 最大纵坡, maximum grade, in the 纵断面
(vertical alignment) chapter; clause numbers were not read and are not cited):

- minimum circular-curve radius, 一般值 (general value) and 极限值 (limit value at a maximum
  superelevation of 8 %) by design speed: CONFIRMED;
- maximum longitudinal grade by design speed: CONFIRMED (edition of the repost not stated);
- 不同纵坡最大坡长 (maximum length of a grade, Table 8.3.3) by design speed and grade: PARTIAL
  (STANDARDS.md §0: a public road-design script's table, identical to recollection), so it is
  a parameter table (:data:`MAX_GRADE_LENGTH_M`, overridable through the roads parameter
  ``grade_length_table``);
- the design speed assumed for a road of a given administrative class when the data carry
  none is **not** from JTG D20; it is a riskmap default (see :data:`DEFAULT_SPEED_BY_CLASS`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

EDITION = "JTG D20-2017"

#: Design speeds (km/h) the tables are given for, descending.
DESIGN_SPEEDS = (120, 100, 80, 60, 40, 30, 20)

#: Minimum circular-curve radius, 一般值 (general value), m. JTG D20-2017 圆曲线最小半径 (STANDARDS.md §6.1).
MIN_RADIUS_GENERAL_M = {120: 1000, 100: 700, 80: 400, 60: 200, 40: 100, 30: 65, 20: 30}

#: Minimum circular-curve radius, 极限值 (limit value) at i_max = 8 %, m. JTG D20-2017 圆曲线最小半径.
MIN_RADIUS_LIMIT_M = {120: 650, 100: 400, 80: 250, 60: 125, 40: 60, 30: 30, 20: 15}

#: Minimum radius without superelevation, crown slope ≤ 2 %, m. JTG D20-2017 圆曲线最小半径.
MIN_RADIUS_NO_SUPERELEVATION_M = {120: 5500, 100: 4000, 80: 2500, 60: 1500, 40: 600, 30: 350, 20: 150}

#: Maximum longitudinal grade, %. JTG D20-2017 最大纵坡 (STANDARDS.md §6.1). The +1 % allowances
#: (expressways in difficult terrain, reused old roads) are not applied.
MAX_GRADE_PCT = {120: 3.0, 100: 4.0, 80: 5.0, 60: 6.0, 40: 7.0, 30: 8.0, 20: 9.0}

#: 不同纵坡最大坡长 (maximum grade length), m, JTG D20-2017 Table 8.3.3 (STANDARDS.md §0, PARTIAL): grade (%) →
#: {design speed (km/h): length}. A speed missing from a row is "–" in the table: for the lowest grades it is not
#: limited, for the highest the grade is above what that speed allows.
MAX_GRADE_LENGTH_M = {
    3: {120: 900, 100: 1000, 80: 1100, 60: 1200},
    4: {120: 700, 100: 800, 80: 900, 60: 1000, 40: 1100, 30: 1100, 20: 1200},
    5: {100: 600, 80: 700, 60: 800, 40: 900, 30: 900, 20: 1000},
    6: {80: 500, 60: 600, 40: 700, 30: 700, 20: 800},
    7: {40: 500, 30: 500, 20: 600},
    8: {40: 300, 30: 300, 20: 400},
    9: {30: 200, 20: 300},
    10: {20: 200},
}

#: Clause cited for the grade-length rule.
GRADE_LENGTH_CLAUSE = f"{EDITION}表8.3.3"

#: riskmap default design speed (km/h) by administrative road class, used only when a road has no
#: ``speed_kmh``. Not from JTG D20: administrative classes (国道/省道/县道/乡道) do not fix a technical
#: grade; these are typical values from the JTG B01-2014 ranges for the grades such roads usually have
#: (expressway 80–120, class 1 60–100, class 2 60–80, class 3 30–40, class 4 20–30). Override them.
DEFAULT_SPEED_BY_CLASS = {"expressway": 100, "national": 80, "provincial": 60, "county": 40, "township": 30}

#: Design speed for roads with neither a speed nor a known class (riskmap default).
FALLBACK_SPEED_KMH = 40

#: Names users write for the road classes (Chinese and English), lower-cased.
ROAD_CLASS_ALIASES = {
    "expressway": "expressway", "motorway": "expressway", "highway": "expressway", "高速": "expressway",
    "高速公路": "expressway", "national": "national", "国道": "national", "trunk": "national",
    "provincial": "provincial", "省道": "provincial", "primary": "provincial",
    "county": "county", "县道": "county", "secondary": "county",
    "township": "township", "乡道": "township", "村道": "township", "tertiary": "township",
    "rural": "township", "village": "township",
}


def standard_speed(speed_kmh) -> np.ndarray:
    """The tabulated design speed used for each given speed (vectorised).

    A speed between two table rows uses the next higher row (the stricter radius and the
    stricter grade limit do not coincide, but a design speed is a table value in practice and
    rounding up errs towards reporting a hazard). Above 120 km/h uses 120; below 20 uses 20.
    NaN stays NaN.
    """
    v = np.asarray(speed_kmh, dtype=float)
    speeds = np.array(sorted(DESIGN_SPEEDS), dtype=float)
    idx = np.clip(np.searchsorted(speeds, v - 1e-9, side="left"), 0, len(speeds) - 1)
    return np.where(np.isfinite(v), speeds[idx], np.nan)


def _lookup(table: dict, speed_kmh) -> np.ndarray:
    v = standard_speed(speed_kmh)
    out = np.full(v.shape, np.nan)
    for speed, value in table.items():
        out[v == speed] = value
    return out


def limit_min_radius(speed_kmh) -> np.ndarray:
    """极限值 minimum curve radius (m) for design speed(s). JTG D20-2017 圆曲线最小半径."""
    return _lookup(MIN_RADIUS_LIMIT_M, speed_kmh)


def general_min_radius(speed_kmh) -> np.ndarray:
    """一般值 minimum curve radius (m) for design speed(s). JTG D20-2017 圆曲线最小半径."""
    return _lookup(MIN_RADIUS_GENERAL_M, speed_kmh)


def max_grade_pct(speed_kmh) -> np.ndarray:
    """Maximum longitudinal grade (%) for design speed(s). JTG D20-2017 最大纵坡."""
    return _lookup(MAX_GRADE_PCT, speed_kmh)


def grade_length_limit(grade_pct, speed_kmh, table: dict | None = None) -> np.ndarray:
    """Maximum length (m) of a grade at a design speed, JTG D20-2017 Table 8.3.3 (vectorised).

    The table's rows are used as written, without interpolation: a grade between two rows
    takes the limit of the next higher row (the stricter one), so 4.3 % at 40 km/h is limited
    to 900 m (the 5 % row). Grades are compared at the report precision (0.1 %): 5.04 % is the
    5 % row. A grade below the lowest row of the table (3 %), or one whose next higher row is
    "–" below the first limited row of its speed (3 % at 40 km/h), is not limited (``inf``). A
    grade above the last limited row of its speed (over 8 % at 40 km/h: above the maximum grade
    too) takes that last, strictest limit.

    Parameters
    ----------
    grade_pct : array-like
        Absolute grades (%).
    speed_kmh : array-like
        Design speeds; a speed between table speeds uses the next higher one (:func:`standard_speed`).
    table : dict, optional
        ``{grade: {speed: length}}`` replacing :data:`MAX_GRADE_LENGTH_M`.
    """
    table = MAX_GRADE_LENGTH_M if table is None else {int(k) if float(k).is_integer() else float(k):
                                                       {int(float(v)): float(m) for v, m in row.items()}
                                                       for k, row in table.items()}
    g = np.round(np.abs(np.asarray(grade_pct, dtype=float)), 1)
    v = standard_speed(speed_kmh)
    g, v = np.broadcast_arrays(g, v)
    rows = np.array(sorted(table), dtype=float)
    out = np.full(g.shape, np.inf)
    for speed in np.unique(v[np.isfinite(v)]):
        limited = [(r, table[r][int(speed)]) for r in rows if int(speed) in table[r]]
        if not limited:
            continue
        r_at = np.array([r for r, _ in limited])
        l_at = np.array([m for _, m in limited], dtype=float)
        here = v == speed
        # the next higher (or equal) row of the whole table, then its limit for this speed
        k = np.searchsorted(rows, g[here] - 1e-9, side="left")
        nxt = rows[np.minimum(k, len(rows) - 1)]
        lim = np.full(nxt.shape, np.inf)
        j = np.searchsorted(r_at, nxt - 1e-9, side="left")
        hit = (j < len(r_at)) & np.isclose(r_at[np.minimum(j, len(r_at) - 1)], nxt)
        lim[hit] = l_at[j[hit]]
        lim[(k >= len(rows)) | (nxt > r_at[-1] + 1e-9) | (g[here] > rows[-1] + 1e-9)] = l_at[-1]
        lim[g[here] < rows[0] - 1e-9] = np.inf
        out[here] = lim
    return out


def normalise_road_class(values) -> np.ndarray:
    """Map road-class names (English or Chinese) to the riskmap class keys; unknown → ``""``."""
    s = pd.Series(values, dtype="object").fillna("").astype(str).str.strip().str.lower()
    return s.map(lambda v: ROAD_CLASS_ALIASES.get(v, v if v in DEFAULT_SPEED_BY_CLASS else "")).to_numpy()


#: Chinese names of the road classes (for results and reports).
ROAD_CLASS_ZH = {"expressway": "高速公路", "national": "国道", "provincial": "省道", "county": "县道",
                 "township": "乡道"}


def road_class_label(values) -> np.ndarray:
    """Chinese name of each road class (keys of :data:`DEFAULT_SPEED_BY_CLASS`); other text is kept."""
    return np.array([ROAD_CLASS_ZH.get(v, v) for v in values], dtype=object)


def design_speeds(speed_kmh=None, road_class=None, n: int | None = None, class_speeds: dict | None = None,
                  fallback_kmh: float = FALLBACK_SPEED_KMH) -> tuple[np.ndarray, np.ndarray]:
    """Design speed of each road and where it came from.

    Parameters
    ----------
    speed_kmh : array-like, optional
        The roads' own design speeds; used where positive and finite.
    road_class : array-like, optional
        Road classes; a road without a speed gets its class default.
    n : int, optional
        Number of roads when neither array is given.
    class_speeds : dict, optional
        Class → speed overriding :data:`DEFAULT_SPEED_BY_CLASS`.
    fallback_kmh : float
        Speed for roads with neither a speed nor a known class.

    Returns
    -------
    (speeds, sources) : (ndarray of float, ndarray of str)
        ``sources`` is ``"speed_kmh"``, ``"road_class"`` or ``"default"`` per road.
    """
    table = dict(DEFAULT_SPEED_BY_CLASS)
    table.update(class_speeds or {})
    if speed_kmh is not None:
        n = len(speed_kmh)
    elif road_class is not None:
        n = len(road_class)
    speeds = np.full(int(n or 0), float(fallback_kmh))
    sources = np.full(speeds.shape, "default", dtype=object)
    if road_class is not None:
        classes = normalise_road_class(road_class)
        from_class = np.array([table.get(c, np.nan) for c in classes], dtype=float)
        ok = np.isfinite(from_class)
        speeds[ok] = from_class[ok]
        sources[ok] = "road_class"
    if speed_kmh is not None:
        given = pd.to_numeric(pd.Series(speed_kmh), errors="coerce").to_numpy(dtype=float)
        ok = np.isfinite(given) & (given > 0)
        speeds[ok] = given[ok]
        sources[ok] = "speed_kmh"
    return speeds, sources
