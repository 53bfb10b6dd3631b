"""GB 36894-2018 危险化学品生产装置和储存设施风险基准: the risk criteria as data.

From ``STANDARDS.md`` §2 (all PARTIAL there, so every value below is a declared parameter of the
QRA with this table as its default, and the report states which value was used):

- **Individual risk** (个人风险) criteria per year by protection-target class (防护目标, §3.1) for
  new (新建) and existing (在役) installations (表1 as read in the 2014 trial precursor; the match of
  its rows to the 2018 classes is an inference, PARTIAL):

  ============================================  ========  ========
  防护目标                                       新建 ≤     在役 ≤
  ============================================  ========  ========
  高敏感防护目标、重要防护目标、一般防护目标中的一类   3×10⁻⁷     3×10⁻⁶
  一般防护目标中的二类                             3×10⁻⁶     1×10⁻⁵
  一般防护目标中的三类                             1×10⁻⁵     3×10⁻⁵
  ============================================  ========  ========

- **Societal risk** (社会风险): an F-N criterion with two lines of slope −1, F·N = 1×10⁻³ (upper:
  不可接受区 above it) and F·N = 1×10⁻⁵ (lower: 可接受区 below it), the band between being 尽可能降低区
  (ALARP). Any cut-off in N is UNCONFIRMED; riskmap checks N ≥ 1.

The class 1/2/3 size thresholds of 一般防护目标 were not read (UNCONFIRMED): riskmap maps the
sensitive-target categories it knows onto classes with :data:`CATEGORY_CLASS` (a parameter).
"""
from __future__ import annotations

import numpy as np

EDITION = "GB 36894-2018"

#: Protection-target classes (GB 36894-2018 §3.1) and their Chinese names.
CLASSES = {
    "high_sensitive": "高敏感防护目标",
    "important": "重要防护目标",
    "general_1": "一般防护目标（一类）",
    "general_2": "一般防护目标（二类）",
    "general_3": "一般防护目标（三类）",
}

#: Installation kinds: 新建 (new, also 改建/扩建) and 在役 (existing).
INSTALLATIONS = {"new": "新建", "existing": "在役"}

#: Individual-risk criteria (per year) by class and installation (表1, PARTIAL: STANDARDS.md §2).
IR_CRITERIA = {
    "high_sensitive": {"new": 3e-7, "existing": 3e-6},
    "important": {"new": 3e-7, "existing": 3e-6},
    "general_1": {"new": 3e-7, "existing": 3e-6},
    "general_2": {"new": 3e-6, "existing": 1e-5},
    "general_3": {"new": 1e-5, "existing": 3e-5},
}

#: The societal-risk lines F·N (per year), PARTIAL (a peer-reviewed paper citing GB 36894-2018).
SR_UPPER_FN = 1e-3
SR_LOWER_FN = 1e-5

#: Societal-risk zones.
SR_ZONES = {"unacceptable": "不可接受区", "alarp": "尽可能降低区", "acceptable": "可接受区", "none": "无N≥1的事故后果"}

#: riskmap's mapping of sensitive-target categories onto GB 36894 classes (the class size thresholds are
#: UNCONFIRMED): schools, kindergartens, hospitals and elderly homes are 高敏感 by the §3.1 wording (文化、教育、
#: 医疗卫生、社会福利); a market is taken as a 一般防护目标 of class 1 (≥ 100 people); any other category as class 1
#: too (the strictest general class, so no target is judged more leniently than its class may require).
CATEGORY_CLASS = {"school": "high_sensitive", "kindergarten": "high_sensitive", "hospital": "high_sensitive",
                  "nursing_home": "high_sensitive", "market": "general_1"}
DEFAULT_CLASS = "general_1"

STANDARD_CITATIONS = (
    "GB 36894-2018 §3.1 防护目标分类; 表1 个人风险基准（PARTIAL：按2014试行标准数值，作为参数）",
    "GB 36894-2018 社会风险基准 F·N = 1×10⁻³ / 1×10⁻⁵（PARTIAL，作为参数）",
)


def criterion(target_class: str, installation: str, table: dict | None = None) -> float:
    """The individual-risk criterion (per year) of a protection-target class for a new/existing installation."""
    table = table or IR_CRITERIA
    return float(table[target_class][installation])


def target_classes(categories, mapping: dict | None = None) -> np.ndarray:
    """GB 36894 class of each sensitive-target category (:data:`CATEGORY_CLASS`, else :data:`DEFAULT_CLASS`)."""
    mapping = CATEGORY_CLASS if mapping is None else mapping
    return np.array([mapping.get(str(c), DEFAULT_CLASS) for c in categories], dtype=object)


def societal_zone(n, f, upper: float = SR_UPPER_FN, lower: float = SR_LOWER_FN) -> str:
    """Zone of an F-N curve: the worst over its points with N ≥ 1 (:data:`SR_ZONES` key).

    ``n`` and ``f`` are the curve's points (F = frequency of N or more deaths). A point is in the
    unacceptable zone when F·N > ``upper``, in the ALARP zone when ``lower`` < F·N ≤ ``upper``.
    """
    n, f = np.asarray(n, float), np.asarray(f, float)
    ok = n >= 1.0
    if not ok.any():
        return "none"
    fn = (n * f)[ok].max()
    if fn > upper:
        return "unacceptable"
    if fn > lower:
        return "alarp"
    return "acceptable"
