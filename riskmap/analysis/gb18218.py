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

- The α population is counted from the site boundary (厂区边界) outwards to
  :data:`ALPHA_RADIUS_M` (500 m), people inside the site not counted (§4.3, CONFIRMED in
  STANDARDS.md §0); the relocation assessment takes the boundary from a site polygon or a site
  radius, and says so when it only has a point.
- β of a Table-1 substance that is not in Table 3 follows Table 4 through the substance's hazard
  categories (STANDARDS.md §0: Table 4 applies to *every* such substance): :data:`TABLE1_CATEGORIES`
  holds the GB 18218 Table-2 codes of each one, from its GHS classes in the 危险化学品目录（2015版）,
  and β is the largest Table-4 value of its codes. A substance whose categories riskmap does not
  hold has an *undetermined* β (β未确定): R is then computed with the smallest Table-4 β (1) and the
  grade shown as a lower bound (``≥四级``), never graded with a default silently.
- Names that need a concentration or grade to find their row (硝酸, 甲醛, 硝酸铵, 硝化纤维素)
  are reported as ambiguous, not guessed; with ``conservative=True`` the most stringent row is
  used and the substance flagged (:data:`CONSERVATIVE_ROWS`).
- Stock amounts are read as people write them (:func:`parse_inventory`): ``液氯:30``,
  ``液氯30吨、液氨15吨``, ``液化石油气 50t``, ``30吨液氯``, kg, and m³ with a density where one
  is known (:data:`LIQUID_DENSITY_T_M3`). Text that cannot be read is reported, never read as 0.
"""
from __future__ import annotations

import functools
import math
import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np

from riskmap.errors import ParameterError
from riskmap.i18n import tr

#: Edition of the standard these tables implement.
EDITION = "GB 18218-2018"
STANDARD_CITATIONS = (
    "GB 18218-2018 §4.1 (S = Σq/Q ≥ 1), Table 1, Table 2",
    "GB 18218-2018 §4.3 (R = α·Σβq/Q), Tables 3–6",
)

#: Default radius (m) of the α population count; PARTIAL in STANDARDS.md §1.4, so a parameter.
ALPHA_RADIUS_M = 500.0

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
    category: str | None = None  # the Table 2/4 code giving β
    kind: str = OTHER
    categories: tuple = ()  # every Table-2 code of the substance (TABLE1_CATEGORIES)


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


#: GB 18218 Table-2 codes of the Table-1 substances not named in Table 3, from their GHS classes in the
#: 危险化学品目录（2015版） (STANDARDS.md §0): J1 acute toxicity cat. 1 gas; J2 cat. 1 solid/liquid; J3 cat. 2–3
#: gas; J4 cat. 2–3 inhalation liquid (bp ≤ 35 °C); J5 cat. 2 liquid/solid; W1.x explosives; W2 flammable gas
#: cat. 1–2; W4 oxidising gas; W5.1 flammable liquid cat. 1 (or 2–3 above its boiling point); W5.3 / W5.4
#: flammable liquid cat. 2 / 3; W7.x organic peroxides; W8 pyrophoric; W9.x oxidising solids/liquids;
#: W10 flammable solids; W11 substances emitting flammable gas with water. β = the largest Table-4 value.
TABLE1_CATEGORIES = {
    "氟": ("J1", "W4"), "二氟化氧": ("J1", "W4"), "甲醛（含量>90%）": ("J3", "W2"),
    "煤气": ("J3", "W2"), "砷化氢": ("J3", "W2"), "锑化氢": ("J3", "W2"), "硒化氢": ("J3", "W2"),
    "丙酮氰醇": ("J2",), "丙烯醛": ("J4", "W5.1"), "环氧氯丙烷": ("J5", "W5.4"), "环氧溴丙烷": ("J5", "W5.3"),
    "烯丙胺": ("J4", "W5.3"), "溴": ("J2",), "乙撑亚胺": ("J2", "W5.1"), "甲苯二异氰酸酯": ("J5",),
    "一氯化硫": ("J5",), "三氧化硫": ("J5",),
    "叠氮化钡": ("W1.1",), "叠氮化铅": ("W1.1",), "雷汞": ("W1.1",), "三硝基苯甲醚": ("W1.1",),
    "2,4,6-三硝基甲苯": ("W1.1",), "硝化甘油": ("W1.1",),
    "甲烷": ("W2",), "液化石油气": ("W2",), "氢": ("W2",), "乙炔": ("W2",), "乙烯": ("W2",),
    "1,3-丁二烯": ("W2",), "二甲醚": ("W2",), "氯乙烯": ("W2",), "一甲胺": ("W2",), "氧": ("W4",),
    "苯": ("W5.3",), "甲苯": ("W5.3",), "甲醇": ("W5.3", "J5"), "汽油": ("W5.1",), "乙醇": ("W5.3",),
    "乙醚": ("W5.1",), "丙酮": ("W5.3",), "苯乙烯": ("W5.4",), "环己烷": ("W5.3",), "正己烷": ("W5.3",),
    "乙酸乙酯": ("W5.3",), "2-丙烯腈": ("W5.3", "J5"), "二硫化碳": ("W5.1",), "1,2-环氧丙烷": ("W5.1",),
    "过乙酸": ("W7.2", "W5.4"), "过氧化甲基乙基酮": ("W7.2",), "白磷": ("W8", "J2"),
    "烷基铝": ("W8", "W11"), "戊硼烷": ("W8", "J1"), "钾": ("W11",), "钠": ("W11",),
    "过氧化钾": ("W9.1",), "过氧化钠": ("W9.1",), "氯酸钾": ("W9.1",), "氯酸钠": ("W9.1",),
    "发烟硝酸": ("W9.1",), "硝酸（含硝酸>70%）": ("W9.1",),
    "硝酸铵（含可燃物>0.2%）": ("W1.1",), "硝酸铵（含可燃物≤0.2%）": ("W9.2",), "硝酸铵基化肥": ("W9.2",),
    "硝酸胍": ("W9.2",), "碳化钙": ("W11",), "硝酸钾": ("W9.2",),
}

#: The most stringent Table-1 row of a name that needs a concentration (used only with ``conservative=True``).
CONSERVATIVE_ROWS = {"硝酸铵": "硝酸铵（含可燃物>0.2%）", "甲醛": "甲醛（含量>90%）", "硝酸": "硝酸（含硝酸>70%）"}

#: Smallest β of Table 4: the lower bound used for a substance whose categories are not known.
BETA_LOWER_BOUND = 1.0


def _row(name, q, cas="", aliases=(), category=None, kind=OTHER):
    beta = next((TABLE3_BETA[k] for k in (name, *aliases) if k in TABLE3_BETA), None)
    codes = TABLE1_CATEGORIES.get(name, ())
    if beta is not None:
        kind = TOXIC_GAS
    elif codes:
        beta = max(TABLE4_BETA[c] for c in codes)
        category = max(codes, key=lambda c: TABLE4_BETA[c])
        if kind == OTHER and any(c in ("J1", "J3") for c in codes):
            kind = TOXIC_GAS
        elif kind == OTHER and "W2" in codes:
            kind = FLAMMABLE_GAS
    elif category is not None:
        beta = TABLE4_BETA[category]
    return Substance(name, float(q), cas, tuple(aliases), None if beta is None else float(beta), category, kind,
                     tuple(codes))


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
    return _normalised(name) if isinstance(name, str) else _normalised(str(name))


@functools.lru_cache(maxsize=8192)
def _normalised(name: str) -> str:
    # cached: a register names the same few dozen substances thousands of times
    text = unicodedata.normalize("NFKC", name).strip().lower()
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


# split on ; ； 、 newline, and on a comma unless it sits between digits ("1,3-丁二烯")
_SPLIT = re.compile(r"[;；、\n]+|[,，](?!\d)|(?<!\d)[,，]")
_NUMBER = r"(?P<q>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
_UNIT = r"(?P<unit>t|吨|噸|kg|公斤|千克|m3|m³|立方米|立方|方)?"
_NAME_FIRST = re.compile(r"^(?P<name>.+?)\s*[:：=]?\s*" + _NUMBER + r"\s*" + _UNIT + r"$", re.I)
_AMOUNT_FIRST = re.compile(r"^" + _NUMBER + r"\s*" + _UNIT + r"\s*(?P<name>\D.*)$", re.I)

#: Density (t/m³) of liquids stored as liquids, to read stock given in m³ (riskmap data, common handbook values).
LIQUID_DENSITY_T_M3 = {"汽油": 0.74, "甲醇": 0.79, "乙醇": 0.79, "苯": 0.88, "甲苯": 0.87, "丙酮": 0.79,
                       "液化石油气": 0.55, "氯": 1.47, "氨": 0.68, "乙酸乙酯": 0.90, "环己烷": 0.78,
                       "正己烷": 0.66, "苯乙烯": 0.91, "二硫化碳": 1.26, "乙醚": 0.71}


def _tonnes(name: str, q: float, unit: str | None):
    """(tonnes, problem) for an amount in ``unit``; m³ needs a known liquid density."""
    unit = (unit or "t").lower()
    if unit in ("t", "吨", "噸"):
        return q, None
    if unit in ("kg", "公斤", "千克"):
        return q / 1000.0, None
    sub = lookup(name)
    density = LIQUID_DENSITY_T_M3.get(sub.name) if sub is not None else None
    if density is None:
        return None, f"{name}{q:g}{unit}（体积无法换算为吨：未知密度，请以吨填写）"
    return q * density, None


def parse_inventory(text) -> tuple[list[tuple[str, float]], list[str]]:
    """Parse an inventory as people write it into ``(name, tonnes)`` entries.

    Accepted: ``液氯:30;液氨:15``, ``液氯30吨、液氨15吨``, ``液化石油气 50t``, ``氯气 30 t，氨 15t``,
    ``30吨液氯``; units t/吨 (default), kg/公斤/千克, and m³/立方米 for liquids of known density.
    Entries are separated by ``; ； , ， 、`` or new lines (a comma between digits, as in
    ``1,3-丁二烯``, is part of the name).

    Returns
    -------
    entries : list of (name, tonnes)
    problems : list of str
        Entries that could not be read (reported by the caller, never guessed or read as 0).
    """
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return [], []
    entries, problems = _parse_inventory_text(str(text))
    return list(entries), list(problems)


@functools.lru_cache(maxsize=65536)
def _parse_inventory_text(text: str) -> tuple[tuple[tuple[str, float], ...], tuple[str, ...]]:
    """:func:`parse_inventory` of one text, cached: the grading and the plausibility check both read
    every plant's inventory, and agency tables repeat the same texts."""
    entries, problems = [], []
    for part in _SPLIT.split(unicodedata.normalize("NFKC", text)):
        part = part.strip() if part else ""
        if not part:
            continue
        m = _NAME_FIRST.match(part)
        if m is None or lookup(m.group("name").strip()) is None and _AMOUNT_FIRST.match(part):
            m = _AMOUNT_FIRST.match(part) or m
        if not m:
            problems.append(part)
            continue
        name = m.group("name").strip()
        tonnes, problem = _tonnes(name, float(m.group("q")), m.group("unit"))
        if problem:
            problems.append(problem)
            continue
        entries.append((name, tonnes))
    return tuple(entries), tuple(problems)


def alpha_for_population(people) -> np.ndarray:
    """Table 5 α for the number of people outside the site (rounded to whole persons first).

    Parameters
    ----------
    people : float or array
        Resident population within the α radius (GB 18218-2018 §4.3, Table 5).
    """
    if np.ndim(people) == 0:  # one plant (the grading loop): plain Python, ~30× faster than arrays
        v = float(people)
        v = 0.0 if math.isnan(v) else (math.floor(v + 0.5) if math.isfinite(v) else v)
        for minimum, alpha in TABLE5_ALPHA[:-1]:
            if v >= minimum:
                return np.float64(alpha)
        return np.float64(TABLE5_ALPHA[-1][1])
    n = np.floor(np.nan_to_num(np.asarray(people, float), nan=0.0) + 0.5)
    out = np.full(n.shape, TABLE5_ALPHA[-1][1])
    for minimum, alpha in reversed(TABLE5_ALPHA[:-1]):
        out = np.where(n >= minimum, alpha, out)
    return out


def grade_for_r(r):
    """Table 6 grade (一级…四级) of a correction-weighted ratio R (scalar or array)."""
    if np.ndim(r) == 0:
        v = float(r)
        for minimum, grade in TABLE6_GRADES[:-1]:
            if v >= minimum:
                return grade
        return GRADES[-1]
    r = np.asarray(r, float)
    out = np.full(r.shape, GRADES[-1], dtype=object)
    for minimum, grade in reversed(TABLE6_GRADES[:-1]):
        out = np.where(r >= minimum, grade, out)
    return out if out.shape else str(out)


@dataclass
class InventoryGrade:
    """Result of grading one inventory (one unit, or the whole plant taken as one)."""

    S: float  # NaN when no amount could be read
    beta_sum: float  # Σ β·q/Q
    alpha: float
    R: float
    major: bool
    grade: str  # 一级…四级, or "" when S < 1 (not a major hazard)
    main_kind: str  # TOXIC_GAS / FLAMMABLE_GAS / EXPLOSIVE / OTHER, or "" when nothing was recognised
    recognised: list = field(default_factory=list)  # canonical names
    unknown: list = field(default_factory=list)  # raw names not in Table 1/2 (or ambiguous, with a hint)
    beta_unknown: list = field(default_factory=list)  # substances whose β is undetermined (β未确定)
    conservative: list = field(default_factory=list)  # ambiguous names graded on their most stringent row
    unreadable: list = field(default_factory=list)  # stock text that could not be read

    @property
    def lower_bound(self) -> bool:
        """S and R are lower bounds: an unknown substance, an unreadable amount or an undetermined β."""
        return bool(self.unknown or self.beta_unknown or self.unreadable)

    @property
    def grade_text(self) -> str:
        """The grade as shown: ``三级``, ``≥四级`` (a lower bound), ``储量无法读取`` or ""."""
        if not math.isfinite(self.S):
            return "储量无法读取"
        if self.lower_bound:
            return f"≥{self.grade}" if self.grade else ("待定（S≥" + f"{self.S:.2f}）")
        return self.grade


def grade_inventory(text, people, *, beta_overrides: dict | None = None, conservative: bool = False,
                    default_beta=None) -> InventoryGrade:
    """Identify and grade an inventory per GB 18218-2018 §4.1 and §4.3.

    Parameters
    ----------
    text : str
        Inventory as people write it (see :func:`parse_inventory`).
    people : float
        Resident population from the site boundary out to 500 m (Table 5).
    beta_overrides : dict, optional
        ``{name or alias: β}`` replacing riskmap's β for a substance.
    conservative : bool
        Grade names that need a concentration (硝酸铵, 甲醛, 硝酸) on their most stringent Table-1
        row (:data:`CONSERVATIVE_ROWS`), flagged in ``conservative``; otherwise they are unknown.
    default_beta : None
        Removed: β of a Table-1 substance now comes from Table 4 by its categories; a substance
        without known categories is a lower bound (``beta_unknown``), never a silent default.

    Notes
    -----
    Unknown names and unreadable amounts are left out of S and R and listed; an undetermined β
    counts with :data:`BETA_LOWER_BOUND`; in each case the grade is a lower bound
    (:attr:`InventoryGrade.grade_text` ``≥…``). When nothing could be read from a non-empty
    text, S is NaN (never 0).

    Examples
    --------
    The check example of STANDARDS.md §1.4: 200 t SO₂ with 60 people outside → R = 30, 三级.

    >>> g = grade_inventory("二氧化硫:200", 60)
    >>> (g.alpha, g.R, g.grade)
    (1.5, 30.0, '三级')
    """
    if default_beta is not None:
        raise ParameterError(tr("default_beta 已停用：β 按 GB 18218-2018 表 4 依危险类别取值",
                                "default_beta is no longer used: β follows GB 18218-2018 Table 4 by hazard category"))
    overrides = {}
    for key, value in (beta_overrides or {}).items():
        sub = lookup(key)
        overrides[sub.name if sub else _normalise(key)] = float(value)
    entries, problems = parse_inventory(text)
    s = beta_sum = 0.0
    kinds: dict[str, float] = {}
    recognised, unknown, beta_unknown, flagged = [], [], [], []
    for raw, q in entries:
        sub = lookup(raw)
        if sub is None and conservative:
            row = next((v for k, v in CONSERVATIVE_ROWS.items() if _normalise(k) == _normalise(raw)), None)
            sub = lookup(row) if row else None
            if sub is not None:
                flagged.append(f"{raw}→{sub.name}")
        if sub is None:
            hint = ambiguity(raw)
            unknown.append(f"{raw}（{hint}）" if hint else raw)
            continue
        ratio = q / sub.q_critical
        beta = overrides.get(sub.name, sub.beta)
        if beta is None:
            beta = BETA_LOWER_BOUND
            beta_unknown.append(sub.name)
        s += ratio
        beta_sum += beta * ratio
        kinds[sub.kind] = kinds.get(sub.kind, 0.0) + ratio
        recognised.append(sub.name)
    has_text = bool(str(text).strip()) if text is not None and not (isinstance(text, float) and math.isnan(text)) \
        else False
    if has_text and not entries:
        s = beta_sum = math.nan
    alpha = float(alpha_for_population(people))
    r = alpha * beta_sum
    major = bool(s >= 1.0)
    main_kind = ""
    for kind in (TOXIC_GAS, EXPLOSIVE, FLAMMABLE_GAS, OTHER):  # most hazardous kind present wins
        if kinds.get(kind, 0.0) > 0:
            main_kind = kind
            break
    return InventoryGrade(S=s, beta_sum=beta_sum, alpha=alpha, R=r, major=major,
                          grade=str(grade_for_r(r)) if major else "", main_kind=main_kind,
                          recognised=recognised, unknown=unknown, beta_unknown=beta_unknown,
                          conservative=flagged, unreadable=problems)


def check_overrides(beta_overrides: dict | None) -> None:
    """Raise :class:`ParameterError` if a β override names an unknown substance or is not positive."""
    for key, value in (beta_overrides or {}).items():
        if lookup(key) is None:
            raise ParameterError(tr(f"β 覆盖值中的“{key}”不在 GB 18218-2018 表 1/表 2 中；请使用表 1 中的名称或类别代码（如 W5.3）",
                                    f"β override names {key!r}, which is not in GB 18218-2018 Table 1/2; "
                                    "use a Table-1 name or a category code such as W5.3"))
        try:
            ok = float(value) > 0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ParameterError(tr(f"“{key}”的 β 覆盖值须为正数，不能是“{value}”",
                                    f"β override for {key!r} must be a positive number, not {value!r}"))
