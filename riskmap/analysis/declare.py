"""Analyses declared once: parameters, inputs, result tables (the QGIS Processing idea).

Each analysis declares its parameters here, once: name, type, unit, default, range or
choices, Chinese and English label, help and *basis* (the standard and clause, or
:data:`RISKMAP_DEFAULT`). From that one declaration riskmap generates

- the parameter dataclass the analysis function takes (:meth:`ParamSet.dataclass`: its
  defaults are read from the declaration when an object is made, so they cannot drift),
- validation with one clear line per bad value, in the UI language (:meth:`ParamSet.check`),
- the CLI options and their help (:meth:`ParamSet.add_arguments`, :meth:`ParamSet.from_args`),
- the panel's form (``riskmap.ui.panels.form.ParamForm`` reads the same declaration),
- the provenance record of every value used with its basis (:meth:`ParamSet.record`).

Result tables are declared with :class:`Column` (label, unit, rounding, value labels), so the
Excel report, the layer aliases and the HTML popups share one set of headers.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Callable

from riskmap.errors import ParameterError
from riskmap.i18n import language, tr

#: Basis of a value that no standard fixes: riskmap's own documented choice.
RISKMAP_DEFAULT = "riskmap default"


@dataclass
class Param:
    """One declared parameter.

    Parameters
    ----------
    name : str
        Attribute of the parameter object (and, by default, the CLI option ``--name-with-dashes``).
    kind : {"float", "int", "bool", "choice", "str", "multi", "data"}
        ``multi`` is several of ``choices`` (or None for all); ``data`` a structured value
        (table, tuple) shown in the provenance but set only from code or a settings file.
    default : object
        The default value.
    label_zh, label_en : str
        Form and report label.
    unit : str
        Unit shown in forms, help and report headers ("m", "%", "人/km²").
    minimum, maximum : float, optional
        Inclusive range (``exclusive_minimum`` makes the lower bound exclusive).
    choices : tuple
        Allowed values of ``choice``/``multi``; ``choice_labels`` their ``(zh, en)`` labels.
    help_zh, help_en : str
        One-line help for the CLI and the form's tooltip.
    basis : str
        The standard and clause the default follows, or :data:`RISKMAP_DEFAULT`.
    cli : str or None or False
        CLI option (default derived from ``name``); False keeps it off the command line.
    invert_flag : bool
        For a bool whose CLI flag turns it *off*... reversed: the flag sets the value to ``not default``.
    form : bool
        Shown in the panel's form.
    nullable : bool
        None is allowed (meaning "off").
    step, decimals : float, int
        Spin-box step and decimals of the form.
    """

    name: str
    kind: str
    default: Any
    label_zh: str
    label_en: str
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    choices: tuple = ()
    choice_labels: dict = field(default_factory=dict)
    help_zh: str = ""
    help_en: str = ""
    basis: str = RISKMAP_DEFAULT
    cli: Any = None
    form: bool = True
    nullable: bool = False
    step: float | None = None
    decimals: int | None = None

    @property
    def label(self) -> str:
        return tr(self.label_zh, self.label_en)

    @property
    def help(self) -> str:
        return tr(self.help_zh or self.label_zh, self.help_en or self.label_en)

    @property
    def flag(self) -> str | None:
        if self.cli is False:
            return None
        return self.cli or "--" + self.name.replace("_", "-")

    def choice_label(self, value) -> str:
        zh_en = self.choice_labels.get(value)
        return tr(*zh_en) if zh_en else str(value)

    def range_text(self) -> str:
        lo = "" if self.minimum is None else f"{self.minimum:g}"
        hi = "" if self.maximum is None else f"{self.maximum:g}"
        unit = f" {self.unit}" if self.unit else ""
        if lo and hi:
            return f"{lo}–{hi}{unit}"
        if lo:
            return (f"> {lo}" if self.exclusive_minimum else f"≥ {lo}") + unit
        if hi:
            return f"≤ {hi}{unit}"
        return ""

    # -- checking ------------------------------------------------------------------------
    def convert(self, value):
        """``value`` as this parameter's type, or :class:`ParameterError` (one line, UI language)."""
        if value is None:
            if self.nullable:
                return None
            raise self._error(value)
        if self.kind in ("float", "int"):
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise self._error(value) from None
            if isinstance(value, bool) or not math.isfinite(number):
                raise self._error(value)
            if self.kind == "int":
                if number != int(number):
                    raise self._error(value)
                number = int(number)
            lo, hi = self.minimum, self.maximum
            if lo is not None and (number < lo or (self.exclusive_minimum and number <= lo)):
                raise self._error(value)
            if hi is not None and number > hi:
                raise self._error(value)
            return number
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "是", "on"):
                return True
            if text in ("0", "false", "no", "否", "off"):
                return False
            raise self._error(value)
        if self.kind == "choice":
            if value not in self.choices:
                raise self._error(value)
            return value
        if self.kind == "multi":
            values = tuple(value)
            bad = [v for v in values if v not in self.choices]
            if bad:
                raise self._error(bad)
            return values
        if self.kind == "str":
            return str(value)
        return value  # "data": checked by the analysis itself

    def _error(self, value) -> ParameterError:
        flag = f" ({self.flag})" if self.flag else ""
        if self.kind in ("choice", "multi"):
            allowed = "、".join(map(str, self.choices)) if language() == "zh" else ", ".join(map(str, self.choices))
            return ParameterError(tr(f"参数“{self.label_zh}”{flag}须为 {allowed} 之一，不是 {value!r}",
                                     f"parameter '{self.label_en}'{flag} must be one of {allowed}, not {value!r}"))
        if self.kind == "bool":
            return ParameterError(tr(f"参数“{self.label_zh}”{flag}须为是/否，不是 {value!r}",
                                     f"parameter '{self.label_en}'{flag} must be true or false, not {value!r}"))
        what_zh = "整数" if self.kind == "int" else "数值"
        what_en = "a whole number" if self.kind == "int" else "a number"
        rng = self.range_text()
        return ParameterError(tr(f"参数“{self.label_zh}”{flag}须为{what_zh}" + (f"（{rng}）" if rng else "")
                                 + f"，不是 {value!r}",
                                 f"parameter '{self.label_en}'{flag} must be {what_en}" + (f" ({rng})" if rng else "")
                                 + f", not {value!r}"))


class ParamSet:
    """The declared parameters of one analysis.

    Parameters
    ----------
    analysis : str
        Analysis name (``"relocation"``).
    params : list of Param
    """

    def __init__(self, analysis: str, params: list[Param]):
        self.analysis = analysis
        self.params = {p.name: p for p in params}
        if len(self.params) != len(params):
            raise ValueError(f"{analysis}: a parameter is declared twice")
        self.cls = None

    def __iter__(self):
        return iter(self.params.values())

    def __getitem__(self, name: str) -> Param:
        return self.params[name]

    def default(self, name: str):
        """The declared default of ``name`` (a fresh copy of mutable defaults)."""
        value = self.params[name].default
        if isinstance(value, dict):
            return dict(value)
        if isinstance(value, list):
            return list(value)
        return value

    def defaults(self) -> dict:
        return {name: self.default(name) for name in self.params}

    # -- the parameter class ----------------------------------------------------------------
    def dataclass(self, cls=None, *, frozen: bool = False):
        """Class decorator: make ``cls`` a dataclass whose fields are the declared parameters.

        The class body declares no defaults; each field's default is read from the declaration
        when an object is made (``default_factory``), so a changed declaration is the only change.
        The class may define ``check_more(self)`` for rules that tie several values together.
        """

        def wrap(klass):
            annotations = dict(getattr(klass, "__annotations__", {}))
            for p in self:
                annotations.setdefault(p.name, Any)
                setattr(klass, p.name, field(default_factory=lambda name=p.name: self.default(name)))
            klass.__annotations__ = annotations
            user_post_init = getattr(klass, "check_more", None)

            def __post_init__(obj):
                values = self.check(obj)
                for name, value in values.items():
                    object.__setattr__(obj, name, value)
                if user_post_init is not None:
                    user_post_init(obj)

            klass.__post_init__ = __post_init__
            klass.param_set = self

            def validate(obj):
                __post_init__(obj)
                return obj

            klass.validate = validate
            klass.to_dict = lambda obj: {p.name: getattr(obj, p.name) for p in self}
            out = dataclasses.dataclass(klass, frozen=frozen)
            self.cls = out
            return out

        return wrap(cls) if cls is not None else wrap

    def check(self, obj) -> dict:
        """Every declared value of ``obj`` converted and range-checked (ParameterError on the first bad one)."""
        return {p.name: p.convert(getattr(obj, p.name)) for p in self}

    def build(self, **values):
        """The parameter object from ``values`` (missing ones take their default), checked."""
        unknown = set(values) - set(self.params)
        if unknown:
            raise ParameterError(tr(f"未知参数：{', '.join(sorted(unknown))}",
                                    f"unknown parameter(s): {', '.join(sorted(unknown))}"))
        return self.cls(**values)

    # -- CLI ------------------------------------------------------------------------------
    def add_arguments(self, parser, title: str | None = None) -> None:
        """Add one option per declared parameter (help: label, unit, range, default and basis)."""
        group = parser.add_argument_group(title or tr("参数", "parameters"))
        for p in self:
            if p.flag is None or p.kind == "data":
                continue
            default_text = p.choice_label(p.default) if p.kind == "choice" else p.default
            basis = tr("依据", "basis") + f": {p.basis}"
            text = f"{p.help} [{tr('默认', 'default')} {default_text}{(' ' + p.unit) if p.unit else ''}; {basis}]"
            rng = p.range_text()
            if rng:
                text += f" ({tr('范围', 'range')} {rng})"
            text = text.replace("%", "%%")
            dest = f"param_{p.name}"
            if p.kind == "bool":
                action = "store_false" if p.default else "store_true"
                parser_group = group
                parser_group.add_argument(p.flag, dest=dest, action=action, default=None, help=text)
            elif p.kind == "multi":
                group.add_argument(p.flag, dest=dest, nargs="+", choices=list(p.choices), default=None,
                                   help=text, metavar=p.name.upper())
            elif p.kind == "choice":
                group.add_argument(p.flag, dest=dest, choices=list(p.choices), default=None, help=text)
            else:
                group.add_argument(p.flag, dest=dest, default=None, help=text, metavar=(p.unit or p.kind).upper()
                                   .replace("%", "PCT").replace("/", "_"))

    def from_args(self, args) -> dict:
        """The values given on the command line (options left out keep their declared default)."""
        values = {}
        for p in self:
            value = getattr(args, f"param_{p.name}", None)
            if value is not None:
                values[p.name] = p.convert(value)
        return values

    # -- provenance --------------------------------------------------------------------------
    def record(self, obj) -> dict:
        """``{name: {value, unit, basis, label_zh, label_en, default}}`` of every declared value."""
        out = {}
        for p in self:
            value = getattr(obj, p.name)
            out[p.name] = {"value": _plain(value), "unit": p.unit, "basis": p.basis, "label_zh": p.label_zh,
                           "label_en": p.label_en, "default": _plain(p.default)}
        return out

    def values_from_record(self, record: dict) -> dict:
        """Parameter values from a provenance record's ``parameters`` (for a re-run)."""
        values = {}
        for name, entry in record.items():
            if name in self.params:
                value = entry["value"] if isinstance(entry, dict) and "value" in entry else entry
                if self.params[name].kind == "multi" and value is not None:
                    value = tuple(value)
                if isinstance(self.params[name].default, tuple) and isinstance(value, list):
                    value = tuple(value)
                values[name] = value
        return values


def _plain(value):
    """A JSON-able copy of a parameter value."""
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            return value.item()
        except (AttributeError, ValueError):
            pass
    return value


# ---------------------------------------------------------------------------
# inputs and result tables
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Input:
    """One input of an analysis.

    ``kind`` is "vector" or "raster"; ``sample`` the bundled sample file used with ``--sample``;
    ``geometry`` the geometry kinds accepted ("point", "line", "polygon"); ``fields`` and
    ``words`` help the panel pick a fitting layer; ``multiple`` takes several files;
    ``plausible`` the :class:`Plausible` rules its rows are checked against (warnings, never errors).
    """

    role: str
    kind: str
    label_zh: str
    label_en: str
    required: bool = True
    sample: str | None = None
    geometry: tuple = ()
    fields: tuple = ()
    words: tuple = ()
    help_zh: str = ""
    help_en: str = ""
    multiple: bool = False
    cli: str | None = None
    plausible: tuple = ()

    @property
    def label(self) -> str:
        return tr(self.label_zh, self.label_en)

    @property
    def flag(self) -> str:
        return self.cli or "--" + self.role.replace("_", "-")


@dataclass(frozen=True)
class Plausible:
    """One plausibility rule of an input column: a row whose value passes ``bound`` is named in a warning.

    The run goes on (the value may be real); the warning names the layer, the row and the value
    (:func:`riskmap.analysis.plausibility.check_plausibility`).

    Parameters
    ----------
    column : str
        The field the analysis reads (``safe_dist``, ``diam_mm`` ...).
    op : {"<", ">"}
        A value below (``<``) or above (``>``) ``bound`` is implausible.
    bound : float
        The bound, in ``unit``.
    label_zh, label_en : str
        What the column holds, for the message.
    reason_zh, reason_en : str
        Why such a value is implausible (short, for the message).
    unit : str
        Unit of the column's values.
    aliases : tuple
        Other headers the analysis reads the column from (Chinese headers).
    read : {"number", "stock"}
        ``number``: the value as a number (text such as "500m" accepted); ``stock``: an inventory text
        (``液氯:30;液氨:15``) whose every entry, in tonnes, is compared.
    basis : str
        Where the bound comes from.
    """

    column: str
    op: str
    bound: float
    label_zh: str
    label_en: str
    reason_zh: str
    reason_en: str
    unit: str = ""
    aliases: tuple = ()
    read: str = "number"
    basis: str = RISKMAP_DEFAULT


@dataclass(frozen=True)
class Column:
    """A result column: label, unit, rounding and value labels for reports and popups."""

    zh: str
    en: str
    unit: str = ""
    digits: int | None = None
    values: dict = field(default_factory=dict)  # {value: (zh, en)}
    personal: bool = False

    def header(self, lang: str | None = None) -> str:
        lang = lang or language()
        text = self.en if lang == "en" else self.zh
        return f"{text}({self.unit})" if self.unit else text


@dataclass(frozen=True)
class Table:
    """A declared result table (a layer or a plain table) with its sheet name and columns."""

    name: str
    zh: str
    en: str
    columns: dict  # {field: Column}; fields not listed are left out of reports
    sort: tuple = ()  # ((field, ascending), ...)

    def title(self, lang: str | None = None) -> str:
        return self.en if (lang or language()) == "en" else self.zh

    def aliases(self, lang: str | None = None) -> dict:
        """``{field: header}`` for layer aliases (the attribute table and identify)."""
        return {f: c.header(lang) for f, c in self.columns.items()}


@dataclass
class Analysis:
    """An analysis declared once: inputs, parameters, result tables, standards and its runner.

    ``run(inputs, params, progress)`` takes ``{role: GeoDataFrame | path | None | list}`` and the
    parameter object and returns the native result; ``wrap(native, params)`` turns it into
    ``(layers, tables, summary_zh, summary_en, notes, standards)``.
    """

    name: str
    zh: str
    en: str
    inputs: list
    params: ParamSet
    tables: dict  # {name: Table}
    run: Callable
    wrap: Callable
    standards: Callable = lambda params: []  # noqa: E731

    @property
    def title(self) -> str:
        return tr(self.zh, self.en)

    def input(self, role: str) -> Input:
        for spec in self.inputs:
            if spec.role == role:
                return spec
        raise KeyError(role)


__all__ = ["Analysis", "Column", "Input", "Param", "ParamSet", "Plausible", "RISKMAP_DEFAULT", "Table"]
