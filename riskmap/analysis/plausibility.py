"""Per-row plausibility of the analyses' inputs: absurd values are named, the run goes on.

Issue 18 §9: negative distances in the data, safety zones of 10⁶ m, capacities of 10¹² passed
without a word. Each analysis input declares a small rule table (:class:`~riskmap.analysis.declare.Plausible`
rows on its :class:`~riskmap.analysis.declare.Input`, tables below); :func:`check_plausibility`
(called by :func:`~riskmap.analysis.result.run_analysis`) returns one warning per input layer naming
each implausible row (its name, else its id, else its row number), the column and the value, in the
UI language, the first :data:`MAX_ROWS` rows then "另有 N 行". A value may be real, so it is never
changed and never an error: the analysis reads it as it always does (a negative distance, for
instance, counts as not given).

The bounds are riskmap's own (no standard sets a plausibility limit); each rule says why its bound is
beyond any real case, with the source of that judgement.
"""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

from riskmap.analysis import gb18218
from riskmap.analysis import pipelines as _pipelines
from riskmap.analysis import tailings as _tailings
from riskmap.analysis.declare import RISKMAP_DEFAULT, Plausible
from riskmap.analysis.fields import layer_source
from riskmap.analysis.relocation import PLANT_FIELD_ALIASES
from riskmap.i18n import tr

#: Rows named in one warning; the rest are counted ("另有 N 行").
MAX_ROWS = 20

_BASIS = f"{RISKMAP_DEFAULT}（数据合理性检查，issue 18 §9）"


def _plant_aliases(field: str) -> tuple:
    return tuple(k for k, v in PLANT_FIELD_ALIASES.items() if v == field)


_NEGATIVE = ("负值", "negative")

# ---------------------------------------------------------------------------
# the rule tables, one per analysis input
# ---------------------------------------------------------------------------
_DIST = ("外部安全防护距离", "external safety distance")
_STOCK = ("危险化学品储量", "hazardous-chemical stock")

#: The stock rules (GB 18218-2018 inventories, read as the analysis reads them: tonnes per entry).
STOCK_RULES = (
    Plausible("chemicals", "<", 0.0, *_STOCK, "负储量", "negative stock", "t", _plant_aliases("chemicals"), "stock",
              _BASIS),
    Plausible("chemicals", ">", 1e6, *_STOCK, "超过 100 万吨，超出任何企业的储量，请核对单位是否为吨",
              "over 10⁶ t, beyond any plant's stock; check the unit (t)", "t", _plant_aliases("chemicals"), "stock",
              _BASIS),
)

#: Relocation plants: reported external safety distances and stock.
RELOCATION_PLANTS = (
    Plausible("safe_dist", "<", 0.0, *_DIST, "负值，距离不能为负，按未填写处理",
              "negative: a distance cannot be negative (read as not given)", "m", _plant_aliases("safe_dist"),
              basis=_BASIS),
    Plausible("safe_dist", ">", 10_000.0, *_DIST, "超过 10 km，远大于 GB/T 37243-2019 所定任何企业的外部安全防护距离，请核对单位",
              "over 10 km, far beyond any plant's external safety distance (GB/T 37243-2019); check the unit", "m",
              _plant_aliases("safe_dist"), basis=_BASIS),
    Plausible("site_radius_m", "<", 0.0, "厂区半径", "site radius", "负值，半径不能为负，按未填写处理",
              "negative: a radius cannot be negative (read as not given)", "m", _plant_aliases("site_radius_m"),
              basis=_BASIS),
    *STOCK_RULES,
)

#: QRA plants: the stock (the QRA computes its own distances).
QRA_PLANTS = STOCK_RULES

_T_ALIASES = _tailings.FIELD_ALIASES
_CAP = "超过 50 亿 m³ 即 5×10⁵ 万m³，大于任何已建尾矿库，请核对单位是否为万m³"
_CAP_EN = "over 5×10⁹ m³ (5×10⁵ ×10⁴ m³), larger than any tailings pond built; check the unit (10⁴ m³)"

#: Tailings ponds: storage (万m³) and dam height (m).
TAILINGS = (
    Plausible("capacity", "<", 0.0, "总库容", "design storage", *_NEGATIVE, "万m³", _T_ALIASES["capacity"],
              basis=_BASIS),
    Plausible("capacity", ">", 5e5, "总库容", "design storage", _CAP, _CAP_EN, "万m³", _T_ALIASES["capacity"],
              basis=_BASIS),
    Plausible("stage_capacity", "<", 0.0, "全库容", "current-stage storage", *_NEGATIVE, "万m³",
              _T_ALIASES["stage_capacity"], basis=_BASIS),
    Plausible("stage_capacity", ">", 5e5, "全库容", "current-stage storage", _CAP, _CAP_EN, "万m³",
              _T_ALIASES["stage_capacity"], basis=_BASIS),
    Plausible("dam_height", "<", 0.0, "坝高", "dam height", *_NEGATIVE, "m", _T_ALIASES["dam_height"], basis=_BASIS),
    Plausible("dam_height", ">", 300.0, "坝高", "dam height", "超过 300 m，高于任何已建尾矿坝，请核对单位是否为米",
              "over 300 m, higher than any tailings dam built; check the unit (m)", "m", _T_ALIASES["dam_height"],
              basis=_BASIS),
)

_P_ALIASES = _pipelines.FIELD_ALIASES

#: Pipelines: diameter (mm) and pressure (MPa). Non-positive values are refused by the analysis itself
#: (:func:`riskmap.analysis.pipelines.normalise_pipelines`); the rules still name them.
PIPELINES = (
    Plausible("diam_mm", "<", 0.0, "管径", "diameter", *_NEGATIVE, "mm", _P_ALIASES["diam_mm"], basis=_BASIS),
    Plausible("diam_mm", "<", 25.0, "管径", "diameter", "小于 25 mm，不像输油气管道，是否按米填写？单位应为 mm",
              "under 25 mm, not a transmission line; given in metres? (the unit is mm)", "mm", _P_ALIASES["diam_mm"],
              basis=_BASIS),
    Plausible("diam_mm", ">", 1600.0, "管径", "diameter", "超过 1.6 m，大于任何输油气管道，国内最大为 1422 mm，请核对单位是否为 mm",
              "over 1.6 m, larger than any oil or gas transmission line (the largest: 1422 mm); check the unit (mm)",
              "mm", _P_ALIASES["diam_mm"], basis=_BASIS),
    Plausible("press_mpa", "<", 0.0, "压力", "pressure", *_NEGATIVE, "MPa", _P_ALIASES["press_mpa"], basis=_BASIS),
    Plausible("press_mpa", ">", 20.0, "压力", "pressure", "超过 20 MPa，高于任何输油气管道的设计压力，请核对单位是否为 MPa",
              "over 20 MPa, above any transmission line's design pressure; check the unit (MPa)", "MPa",
              _P_ALIASES["press_mpa"], basis=_BASIS),
)

#: Roads: the design speed (JTG D20-2017 §3.5: at most 120 km/h). The road input carries no radius or
#: grade attributes (both are computed from the geometry and the DEM).
ROADS = (
    Plausible("speed_kmh", "<", 0.0, "设计速度", "design speed", "负值，按道路等级取设计速度",
              "negative (the road class's speed is used)", "km/h", ("speed", "设计速度"), basis=_BASIS),
    Plausible("speed_kmh", ">", 120.0, "设计速度", "design speed", "超过 JTG D20-2017 最高设计速度 120 km/h",
              "over JTG D20-2017's highest design speed, 120 km/h", "km/h", ("speed", "设计速度"), basis=_BASIS),
)

#: Accidents: casualties cannot be negative.
ACCIDENTS = (
    Plausible("deaths", "<", 0.0, "死亡人数", "deaths", "负值，按 0 计", "negative (counted as 0)", "人",
              ("死亡", "死亡人数"), basis=_BASIS),
    Plausible("injuries", "<", 0.0, "受伤人数", "injuries", "负值，按 0 计", "negative (counted as 0)", "人",
              ("受伤", "受伤人数"), basis=_BASIS),
)

#: Headers that name a row, in the order tried; then ids.
NAME_FIELDS = ("name", "名称", "企业名称", "单位名称", "尾矿库名称", "管道名称", "道路名称", "NAME", "Name")
ID_FIELDS = ("id", "ID", "编号", "fid", "FID")


# ---------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------
def _key(name) -> str:
    """A header compared as the analyses compare it: NFKC, stripped, lower case, a unit suffix dropped."""
    text = unicodedata.normalize("NFKC", str(name)).strip().lower()
    return re.sub(r"[(（\[【].*?[)）\]】]$", "", text).strip()


def _column(frame, col) -> pd.Series:
    """``frame[col]`` as one Series (the first, should the header be repeated)."""
    values = frame[col]
    return values.iloc[:, 0] if values.ndim > 1 else values


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def find_column(frame, rule: Plausible):
    """The column of ``frame`` holding ``rule.column`` (itself, else the first alias found), or None."""
    if rule.column in frame.columns:
        return rule.column
    keys = {}
    for col in frame.columns:
        keys.setdefault(_key(col), col)
    return next((keys[_key(a)] for a in rule.aliases if _key(a) in keys), None)


def _numbers(values, unit: str) -> np.ndarray:
    """Values as floats; text with a unit ("500m", "−300米") read, anything else NaN."""
    series = pd.Series(values).reset_index(drop=True)
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return series.to_numpy(float, na_value=np.nan)
    text = series.astype(object).where(series.notna(), "").astype(str)
    text = text.map(lambda v: unicodedata.normalize("NFKC", v)).str.strip().str.replace("\u2212", "-", regex=False)
    if unit == "m":
        text = text.str.replace(r"\s*(m|米|公尺)$", "", regex=True, flags=re.I)
    return pd.to_numeric(text, errors="coerce").to_numpy(float, na_value=np.nan)


_NEGATIVE_AMOUNT = re.compile(r"[^;；、,，\n]*(?<![0-9A-Za-z.])-\s*(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(?:t|吨|噸|kg|公斤|千克)?",
                              re.I)


def _stock(values, rule: Plausible) -> tuple[np.ndarray, list]:
    """``(flagged, shown)`` of inventory texts: an entry below/above ``rule.bound`` tonnes."""
    texts = pd.Series(values).astype(object).where(pd.Series(values).notna(), "").astype(str)
    texts = texts.map(lambda v: unicodedata.normalize("NFKC", v).replace("\u2212", "-"))
    flagged = np.zeros(len(texts), bool)
    shown = [""] * len(texts)
    if rule.op == "<":  # negative entries (bound 0): parse_inventory never reads a sign ("-5 t" is unreadable)
        found = texts.str.extract(f"({_NEGATIVE_AMOUNT.pattern})", flags=re.I)[0]
        for i in np.flatnonzero(found.notna().to_numpy()):
            flagged[i], shown[i] = True, _short(" ".join(str(found.iat[i]).split()))
        return flagged, shown
    candidates = np.flatnonzero(texts.str.contains(r"\d", regex=True).to_numpy())
    for i in candidates:  # only rows holding a number are parsed
        entries, _problems = gb18218.parse_inventory(texts.iat[i])
        over = [(name, q) for name, q in entries if q > rule.bound]
        if over:
            flagged[i] = True
            shown[i] = "、".join(f"{_short(name, 20)} {_fmt(q)} t" for name, q in over[:3]) + (
                tr(f" 等 {len(over)} 项", f" and {len(over) - 3} more") if len(over) > 3 else "")
    return flagged, shown


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if 1e5 <= abs(value) < 1e12 else f"{value:g}"


def row_labels(frame) -> np.ndarray:
    """What names each row in a message: its name, else its id, else "第 N 行" (1-based); a name that
    several rows share gets its row number too."""
    n = len(frame)
    numbers = np.array([tr(f"第 {i + 1} 行", f"row {i + 1}") for i in range(n)], dtype=object)
    out = numbers.copy()
    for fields, prefix in ((ID_FIELDS, ("编号 ", "id ")), (NAME_FIELDS, ("", ""))):
        col = next((c for c in fields if c in frame.columns), None)
        if col is None:
            continue
        values = _column(frame, col)
        text = values.astype(object).where(values.notna(), "").astype(str).str.strip().to_numpy(object)
        given = text != ""
        out[given] = [tr(prefix[0], prefix[1]) + _short(t) for t in text[given]]
    shared = pd.Series(out).duplicated(keep=False).to_numpy() & (out != numbers)
    out[shared] = out[shared] + np.array([tr(f"（{v}）", f" ({v})") for v in numbers[shared]], dtype=object)
    return out


def implausible_rows(frame, rules) -> pd.DataFrame:
    """Every implausible value of ``frame`` under ``rules``.

    A row is flagged at most once per column (the first rule of the column it breaks), so a negative
    diameter is "负值", not also "under 25 mm".

    Parameters
    ----------
    frame : DataFrame or GeoDataFrame
        The input as read (original headers).
    rules : sequence of Plausible

    Returns
    -------
    DataFrame
        Columns ``row`` (0-based position), ``label`` (:func:`row_labels`), ``column`` (the rule's field),
        ``value`` (as shown), ``rule`` (the :class:`Plausible`), in row then rule order.
    """
    records = []
    taken: dict = {}
    for order, rule in enumerate(rules):
        col = find_column(frame, rule)
        if col is None:
            continue
        if rule.read == "stock":
            flagged, shown = _stock(_column(frame, col).to_numpy(object), rule)
        else:
            values = _numbers(_column(frame, col), rule.unit)
            with np.errstate(invalid="ignore"):
                flagged = values < rule.bound if rule.op == "<" else values > rule.bound
            flagged &= np.isfinite(values)
            shown = [f"{_fmt(v)} {rule.unit}".strip() if f else "" for v, f in zip(values, flagged)]
        done = taken.setdefault(rule.column, np.zeros(len(frame), bool))
        for i in np.flatnonzero(flagged & ~done):
            records.append((int(i), order, rule.column, shown[i], rule))
        done |= flagged
    if not records:
        return pd.DataFrame({"row": [], "label": [], "column": [], "value": [], "rule": []})
    records.sort(key=lambda r: (r[0], r[1]))
    rows = np.array([r[0] for r in records])
    labels = row_labels(frame)[rows]
    return pd.DataFrame({"row": rows, "label": labels, "column": [r[2] for r in records],
                         "value": [r[3] for r in records], "rule": [r[4] for r in records]})


def plausibility_warning(found: pd.DataFrame, layer_zh: str, layer_en: str, source=None,
                         max_rows: int = MAX_ROWS) -> str | None:
    """One warning line naming the implausible rows of one layer (None when there are none).

    ``企业图层（企业.xlsx）数值不合理，已照常计算，请核对：甲化工：外部安全防护距离 -300 m（负值…）；…；另有 3 行``
    """
    if found is None or not len(found):
        return None
    name = f"（{Path(str(source)).name}）" if source else ""
    name_en = f" ({Path(str(source)).name})" if source else ""
    parts_zh, parts_en = [], []
    rows = list(dict.fromkeys(found["row"].tolist()))
    for row in rows[:max_rows]:
        hits = found.loc[found["row"] == row]
        label = hits["label"].iat[0]
        parts_zh.append(f"{label}：" + "、".join(f"{r.label_zh} {v}（{r.reason_zh}）"
                                                for r, v in zip(hits["rule"], hits["value"])))
        parts_en.append(f"{label}: " + ", ".join(f"{r.label_en} {v} ({r.reason_en})"
                                                for r, v in zip(hits["rule"], hits["value"])))
    more = len(rows) - max_rows
    zh = f"{layer_zh}{name}数值不合理，已照常计算，请核对：" + "；".join(parts_zh) + (f"；另有 {more} 行" if more > 0 else "")
    en = (f"implausible values in the {layer_en} layer{name_en}; the run went on, check them: " + "; ".join(parts_en)
          + (f"; and {more} more rows" if more > 0 else ""))
    return tr(zh, en)


def check_plausibility(analysis, inputs: dict, sources: dict | None = None) -> list[str]:
    """The plausibility warnings of an analysis's inputs, one per input layer with implausible rows.

    Parameters
    ----------
    analysis : Analysis
        Its :class:`~riskmap.analysis.declare.Input` rows carry the rules (``plausible``).
    inputs : dict
        ``{role: GeoDataFrame | path | list | None}`` as :func:`~riskmap.analysis.result.run_analysis` takes.
    sources : dict, optional
        ``{role: file}`` named in the warning (else the layer's recorded source).

    Returns
    -------
    list of str
        Warnings in the UI language (empty when every value is plausible).
    """
    sources = sources or {}
    out = []
    for spec in analysis.inputs:
        frame = inputs.get(spec.role)
        if not spec.plausible or frame is None or not hasattr(frame, "columns") or not len(frame):
            continue
        found = implausible_rows(frame, spec.plausible)
        line = plausibility_warning(found, spec.label_zh, spec.label_en, sources.get(spec.role) or layer_source(frame))
        if line:
            out.append(line)
    return out


__all__ = ["ACCIDENTS", "MAX_ROWS", "PIPELINES", "QRA_PLANTS", "RELOCATION_PLANTS", "ROADS", "STOCK_RULES",
           "TAILINGS", "check_plausibility", "find_column", "implausible_rows", "plausibility_warning", "row_labels"]
