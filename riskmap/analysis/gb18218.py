"""GB 18218-2018 危险化学品重大危险源辨识: the rule tables as data, and the grading arithmetic.

All values come from ``STANDARDS.md`` §1 (CONFIRMED there unless noted):

- Table 1: named chemicals and their critical quantities Q (t), with the Chinese aliases
  seen in enterprise inventories (液氯/氯气 → 氯, 液氨 → 氨, 天然气 → 甲烷 ...).
- Table 2: hazard categories not named in Table 1 (codes J1–J5, W1.1–W11) and their Q.
- Table 3: β of the named toxic gases; Table 4: β by hazard category.
- Table 5: α by the number of people who may be exposed outside the site.
- Table 6: grade thresholds on R.

Identification (§4.1): S = Σ qᵢ/Qᵢ ≥ 1 makes a major hazard installation.
Grading (§4.3): R = α · Σ βᵢ·qᵢ/Qᵢ; 一级 R ≥ 100, 二级 50 ≤ R < 100, 三级 10 ≤ R < 50, 四级 R < 10.

What is *not* from the standard, and therefore a parameter:

- The α population is counted within :data:`ALPHA_RADIUS_M` (500 m) "outward from the site
  boundary". The wording is CONFIRMED for the 2011 SAWS Order 40 annex and PARTIAL for
  GB 18218-2018 §4.3; riskmap measures it from the plant's geometry (a point unless a site
  polygon is given), and the radius is a parameter.
- β of a Table-1 substance that is not in Table 3 follows Table 4 through the substance's hazard
  category. STANDARDS.md does not list those categories, so riskmap assigns only the obvious ones
  (flammable gases W2 → 1.5, explosives W1 → 2, oxidising gas W4 → 1) and uses ``default_beta``
  (1.0, the Table-4 value of most remaining categories) for the rest, naming them in the notes.
- Names that need a concentration or grade to find their row (硝酸, 甲醛, 硝酸铵, 硝化纤维素)
  are reported as ambiguous, not guessed.
"""
from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np

from riskmap.errors import ParameterError

#: Edition of the standard these tables implement.
EDITION = "GB 18218-2018"
STANDARD_CITATIONS = (
    "GB 18218-2018 §4.1 (S = Σq/Q ≥ 1), Table 1, Table 2",
    "GB 18218-2018 §4.3 (R = α·Σβq/Q), Tables 3–6",
)

#: Default radius (m) of the α population count; PARTIAL in STANDARDS.md §1.4, so a parameter.
ALPHA_RADIUS_M = 500.0

#: β used for a Table-1 substance whose Table-4 category riskmap does not assign (riskmap default).
DEFAULT_BETA = 1.0

# Hazard kinds used by riskmap's default safety-distance table (not a GB 18218 notion).
TOXIC_GAS = "toxic_gas"
FLAMMABLE_GAS = "flammable_gas"
EXPLOSIVE = "explosive"
OTHER = "other"


@dataclass(frozen=True)
class Substance:
    """One row of GB 18218-2018 Table 1 (or a Table-2 category)."""

    name: str
    q_critical: float
    cas: str = ""
    aliases: tuple = ()
    beta: float | None = None  # Table 3 value, or Table 4 value via an assigned category; None → default_beta
    category: str | None = None  # Table 2/4 code when assigned
    kind: str = OTHER


# Table 3: β of named toxic gases (CONFIRMED).
TABLE3_BETA = {
    "一氧化碳": 2, "二氧化硫": 2, "氨": 2, "环氧乙烷": 2, "氯化氢": 3, "溴甲烷": 3, "氯": 4,
    "硫化氢": 5, "氟化氢": 5, "二氧化氮": 10, "氰化氢": 10, "碳酰氯": 20, "磷化氢": 20, "异氰酸甲酯": 20,
}

# Table 2: Q (t) of the hazard categories (CONFIRMED).
TABLE2_Q = {
    "J1": 5, "J2": 50, "J3": 50, "J4": 50, "J5": 500,
    "W1.1": 1, "W1.2": 10, "W1.3": 50, "W2": 10, "W3": 150, "W4": 50,
    "W5.1": 10, "W5.2": 50, "W5.3": 1000, "W5.4": 5000,
    "W6.1": 10, "W6.2": 50, "W7.1": 10, "W7.2": 50, "W8": 50, "W9.1": 50, "W9.2": 200, "W10": 200, "W11": 200,
}

# Table 4: β by category (CONFIRMED).
TABLE4_BETA = {
    "J1": 4, "J2": 1, "J3": 2, "J4": 2, "J5": 1,
    "W1.1": 2, "W1.2": 2, "W1.3": 2, "W2": 1.5, "W3": 1, "W4": 1,
    "W5.1": 1.5, "W5.2": 1, "W5.3": 1, "W5.4": 1,
    "W6.1": 1.5, "W6.2": 1, "W7.1": 1.5, "W7.2": 1, "W8": 1, "W9.1": 1, "W9.2": 1, "W10": 1, "W11": 1,
}

#: Table 5: (minimum whole persons, α), checked top-down (CONFIRMED; "100人以上" includes 100).
TABLE5_ALPHA = ((100, 2.0), (50, 1.5), (30, 1.2), (1, 1.0), (0, 0.5))

#: Table 6: (minimum R, grade), checked top-down (CONFIRMED).
TABLE6_GRADES = ((100.0, "一级"), (50.0, "二级"), (10.0, "三级"), (-math.inf, "四级"))

#: Grade names in order of severity (一级 is the most severe).
GRADES = ("一级", "二级", "三级", "四级")


def _row(name, q, cas="", aliases=(), category=None, kind=OTHER):
    beta = next((TABLE3_BETA[k] for k in (name, *aliases) if k in TABLE3_BETA), None)
    if beta is not None:
        kind = TOXIC_GAS
    elif category is not None:
        beta = TABLE4_BETA[category]
    return Substance(name, float(q), cas, tuple(aliases), None if beta is None else float(beta), category, kind)


_W2, _W1, _W4 = "W2", "W1.1", "W4"

#: Table 1 (CONFIRMED values, STANDARDS.md §1.2). Aliases are riskmap's, from common inventory spellings.
TABLE1 = (
    _row("氨", 10, "7664-41-7", ("液氨", "氨气", "无水氨", "ammonia", "nh3")),
    _row("氯", 5, "7782-50-5", ("液氯", "氯气", "chlorine", "cl2")),
    _row("碳酰氯", 0.3, "75-44-5", ("光气", "phosgene")),
    _row("硫化氢", 5, "7783-06-4", ("h2s", "hydrogen sulfide")),
    _row("二氧化硫", 20, "7446-09-5", ("液态二氧化硫", "so2", "sulfur dioxide")),
    _row("氰化氢", 1, "74-90-8", ("无水氰化氢", "无水氢氰酸", "hcn")),
    _row("环氧乙烷", 10, "75-21-8", ("ethylene oxide",)),
    _row("氯化氢", 20, "7647-01-0", ("无水氯化氢", "氯化氢（无水）", "hcl")),
    _row("氟化氢", 1, "7664-39-3", ("无水氟化氢", "hf")),
    _row("氟", 1, "7782-41-4", ("氟气",)),
    _row("二氟化氧", 1, "7783-41-7", ("一氧化二氟",)),
    _row("二氧化氮", 1, "10102-44-0", ("no2",)),
    _row("甲醛（含量>90%）", 5, "50-00-0", ("甲醛(>90%)", "甲醛（>90%）", "甲醛(含量>90%)")),
    _row("磷化氢", 1, "7803-51-2", ("膦", "phosphine")),
    _row("煤气", 20, "630-08-0", ("一氧化碳", "co")),  # Table 1: 煤气 (CO; CO+H₂+CH₄ mixtures); β as CO
    _row("砷化氢", 1, "7784-42-1", ("胂", "arsine")),
    _row("锑化氢", 1, "7803-52-3", ("stibine",)),
    _row("硒化氢", 1, "7783-07-5"),
    _row("溴甲烷", 10, "74-83-9", ("甲基溴",)),
    _row("丙酮氰醇", 20), _row("丙烯醛", 20), _row("环氧氯丙烷", 20), _row("环氧溴丙烷", 20),
    _row("烯丙胺", 20), _row("溴", 20, "7726-95-6", ("液溴",)), _row("乙撑亚胺", 20, "", ("氮丙啶", "乙烯亚胺")),
    _row("甲苯二异氰酸酯", 100, "26471-62-5", ("tdi",)),
    _row("一氯化硫", 1, "10025-67-9"),
    _row("三氧化硫", 75, "7446-11-9"),
    _row("异氰酸甲酯", 0.75, "624-83-9", ("mic",)),
    _row("叠氮化钡", 0.5, category=_W1, kind=EXPLOSIVE), _row("叠氮化铅", 0.5, category=_W1, kind=EXPLOSIVE),
    _row("雷汞", 0.5, category=_W1, kind=EXPLOSIVE),
    _row("三硝基苯甲醚", 5, category=_W1, kind=EXPLOSIVE),
    _row("2,4,6-三硝基甲苯", 5, "118-96-7", ("三硝基甲苯", "tnt", "梯恩梯"), category=_W1, kind=EXPLOSIVE),
    _row("硝化甘油", 1, "55-63-0", ("硝化丙三醇",), category=_W1, kind=EXPLOSIVE),
    _row("甲烷", 50, "74-82-8", ("天然气", "液化天然气", "压缩天然气", "lng", "cng", "methane", "natural gas"),
         category=_W2, kind=FLAMMABLE_GAS),
    _row("液化石油气", 50, "68476-85-7", ("石油气", "lpg", "丙烷", "丁烷"), category=_W2, kind=FLAMMABLE_GAS),
    _row("氢", 5, "1333-74-0", ("氢气", "液氢", "hydrogen", "h2"), category=_W2, kind=FLAMMABLE_GAS),
    _row("乙炔", 1, "74-86-2", ("电石气", "acetylene"), category=_W2, kind=FLAMMABLE_GAS),
    _row("乙烯", 50, "74-85-1", ("ethylene",), category=_W2, kind=FLAMMABLE_GAS),
    _row("1,3-丁二烯", 5, "106-99-0", ("丁二烯",), category=_W2, kind=FLAMMABLE_GAS),
    _row("二甲醚", 50, "115-10-6", ("甲醚",), category=_W2, kind=FLAMMABLE_GAS),
    _row("氯乙烯", 50, "75-01-4", ("vcm",), category=_W2, kind=FLAMMABLE_GAS),
    _row("一甲胺", 5, "74-89-5", ("甲胺", "无水一甲胺"), category=_W2, kind=FLAMMABLE_GAS),
    _row("氧", 200, "7782-44-7", ("氧气", "液氧", "压缩氧", "oxygen"), category=_W4),
    _row("苯", 50, "71-43-2", ("benzene",)),
    _row("甲苯", 500, "108-88-3", ("toluene",)),
    _row("甲醇", 500, "67-56-1", ("methanol",)),
    _row("汽油", 200, "86290-81-5", ("乙醇汽油", "甲醇汽油", "gasoline")),
    _row("乙醇", 500, "64-17-5", ("酒精", "无水乙醇", "ethanol")),
    _row("乙醚", 10, "60-29-7", ("二乙醚",)),
    _row("丙酮", 500, "67-64-1", ("acetone",)), _row("苯乙烯", 500, "100-42-5"), _row("环己烷", 500, "110-82-7"),
    _row("正己烷", 500, "110-54-3"), _row("乙酸乙酯", 500, "141-78-6", ("醋酸乙酯",)),
    _row("2-丙烯腈", 50, "107-13-1", ("丙烯腈",)), _row("二硫化碳", 50, "75-15-0"),
    _row("1,2-环氧丙烷", 10, "75-56-9", ("环氧丙烷",)),
    _row("过乙酸", 10, "79-21-0", ("过氧乙酸",)), _row("过氧化甲基乙基酮", 10, "1338-23-4", ("过氧化甲乙酮",)),
    _row("白磷", 50, "12185-10-3", ("黄磷",)),
    _row("烷基铝", 1), _row("戊硼烷", 1), _row("钾", 1, "7440-09-7", ("金属钾",)),
    _row("钠", 10, "7440-23-5", ("金属钠",)),
    _row("过氧化钾", 20), _row("过氧化钠", 20),
    _row("氯酸钾", 100, "3811-04-9"), _row("氯酸钠", 100, "7775-09-9"),
    _row("发烟硝酸", 20), _row("硝酸（含硝酸>70%）", 100, "7697-37-2", ("硝酸(>70%)", "硝酸（>70%）", "浓硝酸")),
    _row("硝酸铵（含可燃物>0.2%）", 5, "6484-52-2"),
    _row("硝酸铵（含可燃物≤0.2%）", 50, "6484-52-2"),
    _row("硝酸铵基化肥", 200),
    _row("硝酸胍", 50), _row("碳化钙", 100, "75-20-7", ("电石",)), _row("硝酸钾", 1000, "7757-79-1"),
)

#: Names whose Table-1 row depends on a concentration or grade the inventory must state.
AMBIGUOUS = {
    "硝酸": "需注明浓度，含硝酸>70%时为表1物质",
    "甲醛": "需注明含量，含量>90%时为表1物质",
    "硝酸铵": "需注明可燃物含量或是否为硝酸铵基化肥",
    "硝化纤维素": "需注明含氮量或含水、含醇量，表1按等级Q为1–50 t",
}


def _normalise(name: str) -> str:
    text = unicodedata.normalize("NFKC", str(name)).strip().lower()
    return re.sub(r"\s+", "", text)


def _build_index() -> dict:
    index = {}
    for sub in TABLE1:
        for key in (sub.name, *sub.aliases):
            index[_normalise(key)] = sub
    for code, q in TABLE2_Q.items():
        index[_normalise(code)] = Substance(code, float(q), "", (), float(TABLE4_BETA[code]), code,
                                            FLAMMABLE_GAS if code == "W2" else (
                                                EXPLOSIVE if code.startswith("W1") else (
                                                    TOXIC_GAS if code in ("J1", "J3") else OTHER)))
    return index


_INDEX = _build_index()
_AMBIGUOUS = {_normalise(k): v for k, v in AMBIGUOUS.items()}


def lookup(name: str) -> Substance | None:
    """The Table-1 substance (or Table-2 category code such as ``"W5.3"``) for a name or alias, or None."""
    return _INDEX.get(_normalise(name))


def ambiguity(name: str) -> str | None:
    """Why a name cannot be matched without more detail (e.g. 硝酸 without concentration), or None."""
    return _AMBIGUOUS.get(_normalise(name))


_SPLIT = re.compile(r"[;；,，、\n]+")
_PAIR = re.compile(r"^(?P<name>.+?)\s*[:：=]\s*(?P<q>[0-9]+(?:\.[0-9]*)?)\s*(?:t|吨|噸)?$", re.I)


def parse_inventory(text) -> tuple[list[tuple[str, float]], list[str]]:
    """Parse an inventory string ``"液氯:5;液氨:20"`` (tonnes) into entries.

    Separators ``; ； , ， 、`` between entries and ``: ：`` between name and quantity
    are accepted; a trailing ``t``/``吨`` is ignored.

    Returns
    -------
    entries : list of (name, tonnes)
    problems : list of str
        Entries that could not be read (reported, never guessed).
    """
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return [], []
    entries, problems = [], []
    for part in _SPLIT.split(unicodedata.normalize("NFKC", str(text))):
        part = part.strip()
        if not part:
            continue
        m = _PAIR.match(part)
        if not m:
            problems.append(part)
            continue
        entries.append((m.group("name").strip(), float(m.group("q"))))
    return entries, problems


def alpha_for_population(people) -> np.ndarray:
    """Table 5 α for the number of people outside the site (rounded to whole persons first).

    Parameters
    ----------
    people : float or array
        Resident population within the α radius (GB 18218-2018 §4.3, Table 5).
    """
    n = np.floor(np.nan_to_num(np.asarray(people, float), nan=0.0) + 0.5)
    out = np.full(n.shape, TABLE5_ALPHA[-1][1])
    for minimum, alpha in reversed(TABLE5_ALPHA[:-1]):
        out = np.where(n >= minimum, alpha, out)
    return out


def grade_for_r(r):
    """Table 6 grade (一级…四级) of a correction-weighted ratio R (scalar or array)."""
    r = np.asarray(r, float)
    out = np.full(r.shape, GRADES[-1], dtype=object)
    for minimum, grade in reversed(TABLE6_GRADES[:-1]):
        out = np.where(r >= minimum, grade, out)
    return out if out.shape else str(out)


@dataclass
class InventoryGrade:
    """Result of grading one enterprise's inventory (treated as one unit)."""

    S: float
    beta_sum: float  # Σ β·q/Q
    alpha: float
    R: float
    major: bool
    grade: str  # 一级…四级, or "" when S < 1 (not a major hazard)
    main_kind: str  # TOXIC_GAS / FLAMMABLE_GAS / EXPLOSIVE / OTHER, or "" when nothing was recognised
    recognised: list = field(default_factory=list)  # canonical names
    unknown: list = field(default_factory=list)  # raw names not in Table 1/2 (or ambiguous, with a hint)
    default_beta: list = field(default_factory=list)  # substances whose β came from default_beta


def grade_inventory(text, people, *, beta_overrides: dict | None = None,
                    default_beta: float = DEFAULT_BETA) -> InventoryGrade:
    """Identify and grade an inventory per GB 18218-2018 §4.1 and §4.3.

    Parameters
    ----------
    text : str
        Inventory ``"name:tonnes;..."`` (see :func:`parse_inventory`).
    people : float
        Resident population within the α radius of the site (Table 5).
    beta_overrides : dict, optional
        ``{name or alias: β}`` replacing riskmap's β for a substance.
    default_beta : float
        β of a Table-1 substance without an assigned Table-4 category.

    Notes
    -----
    The whole inventory is treated as one unit: the split into 生产单元/储存单元 (§3) is not in
    the input data, so S and R are those of the listed total (conservative). Unknown names are
    left out of S and R and listed in ``unknown``; the grade is then a lower bound.

    Examples
    --------
    The check example of STANDARDS.md §1.4: 200 t SO₂ with 60 people outside → R = 30, 三级.

    >>> g = grade_inventory("二氧化硫:200", 60)
    >>> (g.alpha, g.R, g.grade)
    (1.5, 30.0, '三级')
    """
    overrides = {}
    for key, value in (beta_overrides or {}).items():
        sub = lookup(key)
        overrides[sub.name if sub else _normalise(key)] = float(value)
    entries, problems = parse_inventory(text)
    s = beta_sum = 0.0
    kinds: dict[str, float] = {}
    recognised, unknown, defaulted = [], [], []
    for raw, q in entries:
        sub = lookup(raw)
        if sub is None:
            hint = ambiguity(raw)
            unknown.append(f"{raw}（{hint}）" if hint else raw)
            continue
        ratio = q / sub.q_critical
        beta = overrides.get(sub.name, sub.beta)
        if beta is None:
            beta = float(default_beta)
            defaulted.append(sub.name)
        s += ratio
        beta_sum += beta * ratio
        kinds[sub.kind] = kinds.get(sub.kind, 0.0) + ratio
        recognised.append(sub.name)
    unknown += [f"{p}（无法读取数量）" for p in problems]
    alpha = float(alpha_for_population(people))
    r = alpha * beta_sum
    major = s >= 1.0
    main_kind = ""
    for kind in (TOXIC_GAS, EXPLOSIVE, FLAMMABLE_GAS, OTHER):  # most hazardous kind present wins
        if kinds.get(kind, 0.0) > 0:
            main_kind = kind
            break
    return InventoryGrade(S=s, beta_sum=beta_sum, alpha=alpha, R=r, major=major,
                          grade=str(grade_for_r(r)) if major else "", main_kind=main_kind,
                          recognised=recognised, unknown=unknown, default_beta=defaulted)


def check_overrides(beta_overrides: dict | None) -> None:
    """Raise :class:`ParameterError` if a β override names an unknown substance or is not positive."""
    for key, value in (beta_overrides or {}).items():
        if lookup(key) is None:
            raise ParameterError(f"β override names {key!r}, which is not in GB 18218-2018 Table 1/2; "
                                 "use a Table-1 name or a category code such as W5.3")
        try:
            ok = float(value) > 0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ParameterError(f"β override for {key!r} must be a positive number, not {value!r}")
