"""Attribute fields of a vector layer: kinds, type-checked values, new field names (no Qt).

The attribute table's edit session and the field calculator use these rules; the layer's own
edit methods (:meth:`riskmap.layers.VectorLayer.set_values`, ``add_field``, ``delete_field``)
apply them. A field's *kind* is read from its pandas dtype: ``int``, ``float``, ``str``, ``bool``,
``date`` (any datetime64) or ``other`` (not editable as text).
"""
from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from riskmap.errors import ParameterError
from riskmap.i18n import tr

#: Kinds a new field can have, with their (Chinese, English) names.
NEW_FIELD_KINDS = {"int": ("整数", "Integer"), "float": ("小数", "Decimal"), "str": ("文本", "Text"),
                   "date": ("日期", "Date")}
#: Names no attribute field may take (case-insensitive): the geometry column and the GeoPackage feature id.
RESERVED_NAMES = ("geometry", "fid")
#: Longest field name accepted (GeoPackage/SQLite take more; Shapefile export shortens to 10).
MAX_NAME_LENGTH = 63

_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_DATE = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_DATE_ZH = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")
_TRUE = {"true", "t", "yes", "y", "1", "是", "真"}
_FALSE = {"false", "f", "no", "n", "0", "否", "假"}


class FieldValueError(ParameterError):
    """A value does not fit the type of its field (one line, in the UI language)."""


def kind_of(dtype) -> str:
    """The kind of a column dtype: ``int``, ``float``, ``str``, ``bool``, ``date`` or ``other``.

    Parameters
    ----------
    dtype : numpy or pandas dtype
        The column's dtype.

    Returns
    -------
    str
        The kind.
    """
    api = pd.api.types
    if api.is_bool_dtype(dtype):
        return "bool"
    if api.is_integer_dtype(dtype):
        return "int"
    if api.is_float_dtype(dtype):
        return "float"
    if api.is_datetime64_any_dtype(dtype):
        return "date"
    if api.is_string_dtype(dtype) or api.is_object_dtype(dtype):
        return "str"
    return "other"


def kind_label(kind: str) -> str:
    """The user-visible name of a kind (整数, 小数, 文本, 日期, 是/否)."""
    labels = dict(NEW_FIELD_KINDS, bool=("是/否", "Yes/No"), other=("其他", "Other"))
    return tr(*labels.get(kind, labels["other"]))


def is_null(value) -> bool:
    """True for None, NaN, NaT and pd.NA."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value)) if np.ndim(value) == 0 else False
    except (TypeError, ValueError):
        return False


def parse_text(text, dtype, field: str = ""):
    """The value typed as ``text`` for a column of ``dtype``, type-checked.

    Empty text is null (None). Integers must be whole numbers in the dtype's range, decimals
    plain numbers, dates ``2024-03-15`` (also ``2024/3/15``, ``2024年3月15日``, with an optional
    ``HH:MM[:SS]``), yes/no ``是/否``, ``true/false`` or ``1/0``.

    Parameters
    ----------
    text : str
        What the user typed.
    dtype : dtype
        The column's dtype.
    field : str
        The field's name (for the message).

    Returns
    -------
    object
        ``int``, ``float``, ``str``, ``bool``, ``pandas.Timestamp`` or None.

    Raises
    ------
    FieldValueError
        One line naming the field, its type and the value refused.
    """
    raw = "" if text is None else str(text)
    s = raw.strip()
    kind = kind_of(dtype)
    if kind == "str":
        return raw if s else None
    if not s:
        return None

    def refuse(zh_what, en_what):
        return FieldValueError(tr(f"字段“{field}”为{kind_label(kind)}类型，“{s}”{zh_what}；原值未改",
                                  f"field '{field}' holds {kind_label(kind).lower()} values; '{s}' {en_what}; "
                                  "the old value is kept"))

    if kind == "int":
        if not _INT.fullmatch(s):
            raise refuse("不是整数", "is not a whole number")
        value = int(s)
        info = np.iinfo(np.dtype(getattr(dtype, "numpy_dtype", dtype)))
        if not info.min <= value <= info.max:
            raise refuse(f"超出范围（{info.min}～{info.max}）", f"is out of range ({info.min} to {info.max})")
        return value
    if kind == "float":
        if not _FLOAT.fullmatch(s):
            raise refuse("不是数字", "is not a number")
        value = float(s)
        if not math.isfinite(value):
            raise refuse("超出范围", "is out of range")
        return value
    if kind == "bool":
        low = s.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise refuse("不是“是”或“否”", "is not yes or no")
    if kind == "date":
        m = _DATE.fullmatch(s) or _DATE_ZH.fullmatch(s)
        if not m:
            raise refuse("不是日期（格式：2024-03-15）", "is not a date (write 2024-03-15)")
        parts = [int(p) if p else 0 for p in m.groups()] + [0] * (6 - len(m.groups()))
        try:
            stamp = pd.Timestamp(*parts[:6])
        except ValueError:
            raise refuse("不是有效日期", "is not a valid date") from None
        tz = getattr(dtype, "tz", None)
        return stamp.tz_localize(tz) if tz is not None else stamp
    raise FieldValueError(tr(f"字段“{field}”的类型不能在表中编辑", f"field '{field}' cannot be edited in the table"))


def edit_text(value) -> str:
    """A value as the text an editor starts from (full precision; dates as ``2024-03-15``)."""
    if is_null(value):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return tr("是", "yes") if value else tr("否", "no")
    if isinstance(value, (float, np.floating)):
        return np.format_float_positional(float(value), trim="-")
    if isinstance(value, (np.datetime64, pd.Timestamp)):
        stamp = pd.Timestamp(value)
        return stamp.strftime("%Y-%m-%d") if stamp == stamp.normalize() else stamp.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, np.integer):
        return str(int(value))
    return str(value)


def check_new_name(name, existing) -> str:
    """A new field name, checked against the layer's columns.

    Refused: empty names, names longer than :data:`MAX_NAME_LENGTH`, :data:`RESERVED_NAMES`,
    and any name equal to an existing column ignoring case (GeoPackage, Shapefile and SQLite
    compare column names case-insensitively).

    Parameters
    ----------
    name : str
        The name typed.
    existing : iterable of str
        The layer's column names (geometry included).

    Returns
    -------
    str
        The name, without surrounding blanks.

    Raises
    ------
    ParameterError
        One line saying why.
    """
    name = str(name or "").strip()
    if not name:
        raise ParameterError(tr("请输入字段名", "enter a field name"))
    if len(name) > MAX_NAME_LENGTH:
        raise ParameterError(tr(f"字段名过长（最多 {MAX_NAME_LENGTH} 个字符）",
                                f"the field name is too long (at most {MAX_NAME_LENGTH} characters)"))
    if any(c in name for c in '"\n\r\t'):
        raise ParameterError(tr("字段名不能含双引号或换行", "a field name cannot hold double quotes or line breaks"))
    if name.lower() in RESERVED_NAMES:
        raise ParameterError(tr(f"“{name}”是保留名，请换一个字段名", f"'{name}' is reserved; choose another name"))
    clash = next((c for c in existing if str(c).lower() == name.lower()), None)
    if clash is not None:
        raise ParameterError(tr(f"已有字段“{clash}”（字段名不区分大小写），请换一个名称",
                                f"there is already a field '{clash}' (names ignore case); choose another name"))
    return name


def empty_column(kind: str, n: int) -> pd.Series:
    """A column of ``n`` nulls of a new field's kind (``int`` is nullable ``Int64``, ``date`` datetime64[ms])."""
    if kind == "int":
        return pd.Series(pd.array([pd.NA] * n, dtype="Int64"))
    if kind == "float":
        return pd.Series(np.full(n, np.nan))
    if kind == "str":
        return pd.Series([None] * n, dtype="str")
    if kind == "date":
        return pd.Series(np.full(n, np.datetime64("NaT"), dtype="datetime64[ms]"))
    raise ParameterError(tr(f"未知字段类型“{kind}”", f"unknown field type '{kind}'"))


def convert_values(values: pd.Series, kind: str, field: str = "") -> pd.Series:
    """Field-calculator results converted to the kind of their target field, or refused.

    Parameters
    ----------
    values : pandas.Series
        The results (one per feature).
    kind : str
        The target kind (:func:`kind_of`).
    field : str
        The target field (for the message).

    Returns
    -------
    pandas.Series
        Values of the kind (``int``: ``Int64``; ``date``: datetime64[ms]).

    Raises
    ------
    ParameterError
        When a non-null result has no value of that kind (text that is no number, 2.5 for an
        integer field); the message names the first such value.
    """
    values = pd.Series(values).reset_index(drop=True)
    null = values.isna().to_numpy()

    def refuse(bad, zh, en):
        v = values[bad].iloc[0]
        return ParameterError(tr(f"结果“{v}”{zh}，不能写入{kind_label(kind)}字段“{field}”",
                                 f"the result '{v}' {en}; it cannot go into the {kind_label(kind).lower()} "
                                 f"field '{field}'"))

    if kind in ("int", "float"):
        if pd.api.types.is_bool_dtype(values.dtype):
            values = values.astype(float)
        num = pd.to_numeric(values, errors="coerce").astype(float)
        bad = num.isna().to_numpy() & ~null
        if bad.any():
            raise refuse(bad, "不是数字", "is not a number")
        if kind == "float":
            return num
        arr = num.to_numpy()
        with np.errstate(invalid="ignore"):
            frac = np.isfinite(arr) & (arr != np.round(arr))
        if frac.any():
            raise refuse(frac, "不是整数（可用 round()）", "is not a whole number (use round())")
        return num.round().astype("Int64")
    if kind == "str":
        if pd.api.types.is_float_dtype(values.dtype):
            arr = values.to_numpy()
            whole = np.isfinite(arr) & (arr == np.round(arr)) & (np.abs(arr) < 1e15)
            text = values.astype("str")
            text[whole] = values[whole].astype(np.int64).astype("str")
            return text.where(~null, None).astype("str")
        return values.astype("str").where(~null, None).astype("str")
    if kind == "date":
        out = pd.to_datetime(values, errors="coerce")
        bad = out.isna().to_numpy() & ~null
        if bad.any():
            raise refuse(bad, "不是日期", "is not a date")
        return out.astype("datetime64[ms]")
    if kind == "bool":
        if pd.api.types.is_bool_dtype(values.dtype):
            return values.astype("boolean")
        raise refuse(~null, "不是“是/否”", "is not yes/no")
    raise ParameterError(tr(f"字段“{field}”的类型不能由计算器写入", f"field '{field}' cannot be written by the calculator"))


def put_values(column: pd.Series, positions, values, dtype=None) -> pd.Series:
    """A new column: ``column`` with ``values`` at ``positions`` (the original is not changed).

    An integer or yes/no column that receives a null becomes nullable (``Int64``, ``boolean``);
    ``dtype``, when given, is the dtype of the result (an undo puts the old dtype back).

    Parameters
    ----------
    column : pandas.Series
        The current column.
    positions : array of int
        Positional feature indices.
    values : array-like or scalar
        One value per position (already of the column's kind).
    dtype : dtype, optional
        Dtype of the returned column.

    Returns
    -------
    pandas.Series
        The new column.
    """
    positions = np.asarray(positions, dtype=np.int64)
    if np.ndim(values) == 0:
        values = [values] * len(positions)
    vals = values.reset_index(drop=True) if isinstance(values, pd.Series) else pd.Series(
        values if isinstance(values, (np.ndarray, pd.api.extensions.ExtensionArray)) else list(values),
        dtype=None if len(values) else object)
    if len(vals) != len(positions):
        raise ParameterError(tr(f"要素有 {len(positions)} 个，值却有 {len(vals)} 个",
                                f"{len(positions)} features but {len(vals)} values"))
    target = column.dtype
    kind = kind_of(target)
    if kind in ("int", "bool") and not isinstance(target, pd.api.extensions.ExtensionDtype) and vals.isna().any():
        target = pd.Int64Dtype() if kind == "int" else pd.BooleanDtype()
    new = column.astype(target) if target != column.dtype else column.copy()
    if len(positions):
        if new.dtype != object and vals.dtype != new.dtype:
            vals = vals.astype(object).where(vals.notna(), None).astype(new.dtype)
        new.iloc[positions] = vals.array
    if dtype is not None and new.dtype != dtype:
        new = new.astype(dtype)
    return new


def restore_nullable_fields(gdf, info):
    """Integer and yes/no fields holding nulls come back as float from OGR; make them ``Int64``/``boolean`` again.

    An edited or added integer field with empty cells keeps its type (and its type check in the
    attribute table) across save and reopen, and across crash recovery.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        The frame as read by pyogrio (changed in place and returned).
    info : dict
        ``pyogrio.read_info`` of the same layer (its declared field types).
    """
    for name, dtype in zip(info.get("fields", ()), info.get("dtypes", ())):
        if name not in gdf.columns or str(gdf[name].dtype) != "float64":
            continue
        if str(dtype).startswith(("int", "uint")):
            gdf[name] = gdf[name].astype("Int64")
        elif str(dtype) == "bool":
            gdf[name] = gdf[name].astype("boolean")
    return gdf
