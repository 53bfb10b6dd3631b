"""Which attributes a meeting-map popup shows, under which names, and how (Qt-free).

A popup lists chosen fields, not every column: for an analysis result the declared result table's
columns (:mod:`riskmap.analysis.registry`: Chinese/English names, units, rounding, value labels),
for other layers the fields with an alias (``layer.aliases``) or a name the declarations know, plus
a readable (non-ASCII) header from an agency sheet. A raw English field name is never shown: a field
with neither alias nor declaration is left out. Numbers are rounded (declared digits, else about three
significant digits) and get their unit after the value.

Personal data are left out unless asked for (``include_personal=True``): fields whose name or alias
says contact person, phone, ID card or e-mail (:data:`PERSONAL_WORDS`, declared ``personal`` columns),
fields whose values are mostly phone numbers, 18-digit ID numbers or e-mail addresses
(:func:`looks_personal`), and, in the text fields kept, any phone number, ID number or e-mail address
inside a value is replaced by :data:`REDACTED`.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from riskmap.i18n import language, tr

#: Words of a field name or alias that mark personal data (matched as substrings, case-insensitive).
PERSONAL_WORDS = ("联系人", "负责人", "法人", "法定代表", "电话", "手机", "联系方式", "身份证", "证件号", "邮箱",
                  "电子邮件", "传真", "姓名", "住址")
#: English / pinyin tokens of a field name that mark personal data (whole tokens of a snake/camel name).
PERSONAL_TOKENS = ("contact", "contacts", "phone", "tel", "telephone", "mobile", "cell", "cellphone", "email",
                   "mail", "fax", "idcard", "idno", "sfz", "sfzh", "lxr", "lxdh", "fzr", "frdb", "legalrep",
                   "legal_rep", "id_card", "id_no", "id_number", "person", "owner_name", "manager_name")

_MOBILE = r"(?<![\d.])1[3-9]\d{9}(?!\d)"
_LANDLINE = r"(?<![\d.])0\d{2,3}-?\d{7,8}(?!\d)"
_ID18 = r"(?<![\dA-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![\dA-Za-z])"
_EMAIL = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
#: A phone number (Chinese mobile or landline), an 18-digit ID number or an e-mail address in a text.
PERSONAL_VALUE = re.compile("|".join((_MOBILE, _LANDLINE, _ID18, _EMAIL)))
#: What replaces a phone number, ID number or e-mail address inside a kept text value.
REDACTED = "＊＊＊"
#: Share of a column's non-empty values that must look personal for the whole field to be dropped.
PERSONAL_VALUE_SHARE = 0.3
#: At most this many fields in a popup of a layer that is not a declared analysis result.
MAX_INPUT_FIELDS = 12
#: Columns never shown (identifiers of the file formats).
_INTERNAL = {"fid", "ogc_fid", "objectid", "shape_length", "shape_area", "shape_leng"}


@dataclass
class PopupField:
    """One row of a layer's popups: the field, its label, unit, rounding and value labels."""

    field: str
    label: str
    unit: str = ""
    digits: int | None = None
    values: dict = field(default_factory=dict)  # {raw value: shown text}


def _tokens(name: str) -> list[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1_\2", str(name))
    return [t for t in re.split(r"[^a-z]+", spaced.lower()) if t]


def is_personal_name(name: str, alias: str | None = None) -> bool:
    """Whether a field's name or alias says it holds personal data (contact person, phone, ID, e-mail).

    >>> is_personal_name("lxdh"), is_personal_name("contactPhone"), is_personal_name("x", "联系人")
    (True, True, True)
    >>> is_personal_name("hotel_name"), is_personal_name("name", "企业名称")
    (False, False)
    """
    for text in (str(name), str(alias or "")):
        if any(word in text for word in PERSONAL_WORDS):
            return True
        tokens = _tokens(text)
        joined = "_".join(tokens)
        if any(t in PERSONAL_TOKENS for t in tokens) or any(
                "_" in t and re.search(rf"(^|_){t}(_|$)", joined) for t in PERSONAL_TOKENS):
            return True
        if re.fullmatch(r"id_?(card|no|num|number)", joined.replace("_", "")):
            return True
    return False


def looks_personal(values: pd.Series, share: float = PERSONAL_VALUE_SHARE) -> bool:
    """Whether at least ``share`` of a column's non-empty values are a phone number, an 18-digit ID number or an
    e-mail address (a number inside a longer text is redacted instead, :func:`redact`)."""
    values = values[values.notna()].iloc[:2000]
    text = _as_text(values)
    text = text[text != ""]
    if text.empty:
        return False
    sample = text.str.strip()
    hits = sample.map(lambda v: bool(PERSONAL_VALUE.fullmatch(v)))
    return bool(hits.mean() >= share)


def _as_text(values: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        arr = values.to_numpy(dtype=float, na_value=np.nan)
        out = np.full(len(arr), "", dtype=object)
        ok = np.isfinite(arr) & (np.abs(arr) < 1e18)
        integral = ok & (np.abs(arr - np.round(arr)) < 1e-9)
        out[integral] = [str(int(v)) for v in np.round(arr[integral])]
        out[ok & ~integral] = [repr(float(v)) for v in arr[ok & ~integral]]
        return pd.Series(out, index=values.index, dtype=object)
    return values.astype(object).where(values.notna(), "").astype(str)


def redact(text: str) -> str:
    """``text`` with every phone number, ID number and e-mail address replaced by :data:`REDACTED`."""
    return PERSONAL_VALUE.sub(REDACTED, text)


_UNIT_IN_ALIAS = re.compile(r"^(.*?)\s*[(（]\s*([^()（）]{1,12})\s*[)）]\s*$")
#: Units a bracket at the end of an alias may hold (anything else stays part of the name).
_UNIT_WORDS = ("m", "km", "mm", "cm", "m²", "km²", "m³", "万m³", "t", "kg", "MPa", "kPa", "km/h", "°", "%", "人",
               "人/km²", "ha", "公顷", "万元", "元", "年", "s", "h", "a", "/年", "m/s", "kW", "MW", "℃", "次", "处",
               "家", "个", "座", "条", "万人")


def split_unit(label: str) -> tuple[str, str]:
    """``"安全防护距离(m)"`` → ``("安全防护距离", "m")``; a label without a unit in brackets is kept whole."""
    m = _UNIT_IN_ALIAS.match(str(label))
    if m and m.group(1) and m.group(2).strip() in _UNIT_WORDS:
        return m.group(1).strip(), m.group(2).strip()
    return str(label), ""


def _declared_index():
    """``{field: Column}`` over every declared result table (first declaration wins)."""
    from riskmap.analysis.registry import ANALYSES

    index = {}
    for analysis in ANALYSES.values():
        for table in analysis.tables.values():
            for name, column in table.columns.items():
                index.setdefault(name, column)
    return index


def declared_columns(layer) -> dict:
    """The declared columns of the result table ``layer`` holds, ``{field: Column}`` in declared order.

    The table is found through the layer's provenance (the analysis that made it) as that analysis's declared
    table sharing most fields with the layer. Empty for input layers (no provenance).
    """
    from riskmap.analysis.registry import ANALYSES

    columns = [c for c in layer.gdf.columns if c != layer.gdf.geometry.name]
    record = getattr(layer, "provenance", None) or {}
    candidates = []
    if record.get("analysis") in ANALYSES:
        candidates = list(ANALYSES[record["analysis"]].tables.values())
    best, best_n = None, 0
    for table in candidates:
        n = sum(1 for f in table.columns if f in columns)
        if n > best_n:
            best, best_n = table, n
    if best is None or best_n < 2:
        return {}
    return {f: c for f, c in best.columns.items() if f in columns}


def _personal_label(name: str, values: pd.Series) -> str:
    """A readable label for a ticked personal field that has no alias (never its raw name)."""
    tokens = set(_tokens(name))
    sample = _as_text(values).iloc[:50].str.strip()
    if tokens & {"mail", "email"} or sample.str.contains("@").any():
        return tr("邮箱", "E-mail")
    if tokens & {"idcard", "idno", "sfz", "sfzh", "id"}:
        return tr("身份证号", "ID number")
    if tokens & {"phone", "tel", "telephone", "mobile", "cell", "cellphone", "lxdh", "fax"} or \
            sample.map(lambda v: bool(PERSONAL_VALUE.fullmatch(v))).any():
        return tr("联系电话", "Phone")
    return tr("联系人", "Contact")


def _known_values(name: str, lang: str) -> dict:
    """Value labels of a field over every declared table that has it (coded values such as ``trunk`` → 干线)."""
    from riskmap.analysis.registry import ANALYSES

    out = {}
    for analysis in ANALYSES.values():
        for table in analysis.tables.values():
            column = table.columns.get(name)
            if column is not None and column.values:
                for k, v in _value_labels(column, lang).items():
                    out.setdefault(k, v)
    return out


def _value_labels(column, lang: str) -> dict:
    return {k: (v[1] if lang == "en" else v[0]) if isinstance(v, (tuple, list)) else str(v)
            for k, v in (column.values or {}).items()}


def choose_fields(layer, include_personal: bool = False, lang: str | None = None) -> list[PopupField]:
    """The fields a layer's popups show, in order (the name field first).

    Parameters
    ----------
    layer : riskmap.layers.VectorLayer
        Its data, aliases, style (its label and classification fields) and provenance.
    include_personal : bool
        Keep fields of personal data (contact person, phone, ID, e-mail); default left out.
    lang : {"zh", "en"}, optional
        Language of the labels (default the interface language).

    Returns
    -------
    list of PopupField
    """
    lang = lang or language()
    gdf = layer.gdf
    geometry = gdf.geometry.name
    fields = [c for c in gdf.columns if c != geometry and str(c).lower() not in _INTERNAL
              and not str(c).startswith("_")]
    aliases = layer.aliases or {}
    declared = declared_columns(layer)
    known = _declared_index()
    chosen: list[PopupField] = []
    order = list(declared) if declared else fields
    for f in order:
        values = gdf[f]
        if values.isna().all() or (values.dtype == object and (values.astype(str).str.strip() == "").all()):
            continue
        column = declared.get(f) or (known.get(f) if f not in aliases else None)
        alias = aliases.get(f)
        if not include_personal and ((column is not None and column.personal) or is_personal_name(f, alias)
                                     or looks_personal(values)):
            continue
        if column is not None and (declared or alias is None or alias in (column.header("zh"), column.header("en"))):
            label, unit = (column.en if lang == "en" else column.zh), column.unit
            chosen.append(PopupField(f, label, unit, column.digits, _value_labels(column, lang)))
        elif include_personal and alias is None and (is_personal_name(f) or looks_personal(values)):
            chosen.append(PopupField(f, _personal_label(f, values)))
        elif alias or not str(f).isascii():  # an alias, or a readable header of an agency sheet (储量(吨)…)
            numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
            label, unit = split_unit(alias or str(f)) if numeric else (str(alias or f), "")
            chosen.append(PopupField(f, label, unit))
    if not declared:  # coded values of the kinds of data riskmap knows (河流, 国道, 学校…)
        from riskmap.exports.sample_project import VALUE_LABELS

        for pf in chosen:
            if not pf.values:
                pf.values = {**_known_values(pf.field, lang),
                             **(VALUE_LABELS.get(pf.field, {}) if lang != "en" else {})}
    style = layer.style
    for pf in chosen:  # the desktop's labels of the classified field's values
        if style.field == pf.field and style.labels:
            pf.values = {**pf.values, **{k: str(v) for k, v in style.labels.items()}}
    name = name_field(layer, [pf.field for pf in chosen])
    if name is not None:
        chosen.sort(key=lambda pf: pf.field != name)
    if not declared and len(chosen) > MAX_INPUT_FIELDS:
        chosen = chosen[:MAX_INPUT_FIELDS]
    return chosen


def name_field(layer, fields: list[str]) -> str | None:
    """The field naming a feature (tooltip, first popup row): the label field, ``name``/``名称``, else the first
    text field."""
    for candidate in (layer.style.label_field, "name", "名称", "NAME", "Name"):
        if candidate and candidate in fields:
            return candidate
    for f in fields:
        if pd.api.types.is_string_dtype(layer.gdf[f]) or layer.gdf[f].dtype == object:
            return f
    return None


def round_sensibly(arr: np.ndarray) -> np.ndarray:
    """Decimals per value for about three significant digits, none for 100 and above (array of int)."""
    a = np.abs(arr)
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.floor(np.log10(np.where(a > 0, a, 1.0)))
    return np.clip(2 - mag, 0, 6).astype(int)


def format_values(values: pd.Series, pf: PopupField, include_personal: bool = False) -> list[str]:
    """Display strings (HTML-escaped) of one field: value labels, rounding, unit; personal data redacted."""
    lang_yes, lang_no = tr("是", "yes"), tr("否", "no")
    labels = pf.values or {}
    n = len(values)
    out = np.full(n, "", dtype=object)
    present = values.notna().to_numpy()
    labelled = np.zeros(n, bool)
    if labels:
        raw = values.to_list()
        for i, v in enumerate(raw):
            if present[i]:
                try:
                    hit = labels.get(v, labels.get(str(v)))
                except TypeError:
                    hit = None
                if hit is None and isinstance(v, (float, np.floating)) and float(v).is_integer():
                    hit = labels.get(int(v), labels.get(str(int(v))))
                if hit is not None:
                    out[i] = str(hit)
                    labelled[i] = True
    rest = present & ~labelled
    if pd.api.types.is_datetime64_any_dtype(values):
        out[rest] = values[rest].dt.strftime("%Y-%m-%d").to_numpy()
    elif pd.api.types.is_bool_dtype(values):
        out[rest] = np.where(values[rest].to_numpy(dtype=bool), lang_yes, lang_no)
    elif pd.api.types.is_numeric_dtype(values):
        arr = values.to_numpy(dtype=float, na_value=np.nan)
        ok = rest & np.isfinite(arr)
        integral = np.abs(arr - np.round(arr)) < 1e-9
        if pf.digits is not None:
            digits = np.full(n, int(pf.digits))
        else:
            digits = np.where(integral, 0, round_sensibly(arr))
        unit = f" {pf.unit}" if pf.unit and pf.unit not in ("°", "%") else pf.unit
        for d in np.unique(digits[ok]):  # one vectorised format per number of decimals
            sel = ok & (digits == d)
            vals = arr[sel] if d > 0 else np.round(arr[sel]) + 0.0  # + 0.0: no "-0"
            out[sel] = np.char.add(np.char.mod(f"%.{int(d)}f", vals), unit)
    else:
        text = values[rest].astype(str).to_numpy()
        out[rest] = text
    result = [str(v) for v in out]
    if not include_personal:
        result = [redact(v) for v in result]
    return [html.escape(v, quote=True) for v in result]


__all__ = ["PERSONAL_VALUE", "PERSONAL_WORDS", "PopupField", "REDACTED", "choose_fields", "declared_columns",
           "format_values", "is_personal_name", "looks_personal", "name_field", "redact", "split_unit"]
