"""A small safe expression language for the field calculator.

User text is tokenised and parsed by a recursive-descent parser into AST classes of
this module, then evaluated over whole GeoDataFrame columns. Nothing here calls
``eval``/``exec``/``compile``. Field references are bare identifiers (Chinese names
allowed) or "double-quoted" names (QGIS convention); strings use single quotes.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyproj import Geod

from riskmap.errors import ParameterError
from riskmap.i18n import tr

_GEOD = Geod(ellps="WGS84")
_TOKEN = re.compile(r"""
 (?P<ws>\s+)|(?P<num>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+)|(?P<str>'(?:[^']|'')*')|(?P<qid>"(?:[^"]|"")*")
 |(?P<var>\$[A-Za-z_]+)|(?P<id>[^\W\d]\w*)|(?P<op><=|>=|<>|!=|==|\*\*|[-+*/%^(),<>=])""", re.X)
_KEYWORDS = {"and", "or", "not", "case", "when", "then", "else", "end", "null", "true", "false"}


def _err(zh, en, pos):
    return ParameterError(tr(f"表达式第 {pos + 1} 个字符处：{zh}", f"expression, at character {pos + 1}: {en}"))


def tokenize(text):
    """Split expression text into (kind, value, position) tokens.

    Parameters
    ----------
    text : str
        The expression.

    Returns
    -------
    list of tuple
        Tokens; anything outside the grammar raises ``ParameterError``.
    """
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise _err(f"不认识的字符“{text[pos]}”", f"unexpected character '{text[pos]}'", pos)
        kind = m.lastgroup
        val = m.group()
        if kind == "str":
            out.append(("str", val[1:-1].replace("''", "'"), pos))
        elif kind == "qid":
            out.append(("field", val[1:-1].replace('""', '"'), pos))
        elif kind == "id" and val.lower() in _KEYWORDS:
            out.append(("kw", val.lower(), pos))
        elif kind != "ws":
            out.append((kind, val, pos))
        pos = m.end()
    out.append(("end", "", len(text)))
    return out


@dataclass
class Literal:
    value: object


@dataclass
class Field:
    name: str
    pos: int


@dataclass
class Var:
    name: str
    pos: int


@dataclass
class Unary:
    op: str
    operand: object
    pos: int


@dataclass
class Binary:
    op: str
    left: object
    right: object
    pos: int


@dataclass
class Call:
    name: str
    args: list
    pos: int


@dataclass
class Case:
    whens: list
    default: object


_FUNCS = {"round": (1, 2), "abs": (1, 1), "sqrt": (1, 1), "min": (2, 2), "max": (2, 2), "upper": (1, 1),
          "lower": (1, 1), "length": (1, 1), "len": (1, 1), "concat": (1, 99), "substr": (2, 3),
          "to_int": (1, 1), "to_real": (1, 1), "to_string": (1, 1), "coalesce": (1, 99), "if": (3, 3)}
_VARS = {"$area", "$length", "$id"}


class _Parser:
    def __init__(self, text):
        self.toks = tokenize(text)
        self.i = 0

    def peek(self):
        return self.toks[self.i]

    def take(self, kind=None, value=None):
        tok = self.toks[self.i]
        if (kind and tok[0] != kind) or (value is not None and tok[1] != value):
            want = value or kind
            raise _err(f"此处应为“{want}”", f"expected '{want}'", tok[2])
        self.i += 1
        return tok

    def parse(self):
        node = self.or_()
        tok = self.peek()
        if tok[0] != "end":
            raise _err(f"多余的内容“{tok[1]}”", f"unexpected '{tok[1]}'", tok[2])
        return node

    def _keyword_chain(self, keyword, operand):
        """``operand (keyword operand)*``, left-associative (``or`` over ``and`` over ``not``)."""
        node = operand()
        while self.peek()[:2] == ("kw", keyword):
            pos = self.take()[2]
            node = Binary(keyword, node, operand(), pos)
        return node

    def or_(self):
        return self._keyword_chain("or", self.and_)

    def and_(self):
        return self._keyword_chain("and", self.not_)

    def not_(self):
        if self.peek()[:2] == ("kw", "not"):
            pos = self.take()[2]
            return Unary("not", self.not_(), pos)
        return self.cmp()

    def cmp(self):
        node = self.add()
        while self.peek()[0] == "op" and self.peek()[1] in ("<", ">", "<=", ">=", "=", "==", "<>", "!="):
            _, op, pos = self.take()
            node = Binary({"==": "=", "!=": "<>"}.get(op, op), node, self.add(), pos)
        return node

    def add(self):
        node = self.mul()
        while self.peek()[0] == "op" and self.peek()[1] in "+-":
            _, op, pos = self.take()
            node = Binary(op, node, self.mul(), pos)
        return node

    def mul(self):
        node = self.unary()
        while self.peek()[0] == "op" and self.peek()[1] in ("*", "/", "%"):
            _, op, pos = self.take()
            node = Binary(op, node, self.unary(), pos)
        return node

    def unary(self):
        if self.peek()[0] == "op" and self.peek()[1] in "+-":
            _, op, pos = self.take()
            return Unary(op, self.unary(), pos)
        return self.power()

    def power(self):
        node = self.atom()
        if self.peek()[0] == "op" and self.peek()[1] in ("^", "**"):
            pos = self.take()[2]
            node = Binary("^", node, self.unary(), pos)
        return node

    def atom(self):
        kind, val, pos = self.peek()
        if kind == "num":
            self.take()
            return Literal(float(val) if any(c in val for c in ".eE") else int(val))
        if kind == "str":
            self.take()
            return Literal(val)
        if kind == "field":
            self.take()
            return Field(val, pos)
        if kind == "var":
            self.take()
            if val.lower() not in _VARS:
                raise _err(f"未知变量“{val}”", f"unknown variable '{val}'", pos)
            return Var(val.lower(), pos)
        if kind == "kw" and val in ("null", "true", "false"):
            self.take()
            return Literal({"null": None, "true": True, "false": False}[val])
        if kind == "kw" and val == "case":
            self.take()
            whens = []
            while self.peek()[:2] == ("kw", "when"):
                self.take()
                cond = self.or_()
                self.take("kw", "then")
                whens.append((cond, self.or_()))
            if not whens:
                raise _err("CASE 后应为 WHEN", "expected WHEN after CASE", self.peek()[2])
            default = Literal(None)
            if self.peek()[:2] == ("kw", "else"):
                self.take()
                default = self.or_()
            self.take("kw", "end")
            return Case(whens, default)
        if kind == "id":
            self.take()
            if self.peek()[:2] == ("op", "("):
                name = val.lower()
                if name not in _FUNCS:
                    raise _err(f"未知函数“{val}”", f"unknown function '{val}'", pos)
                self.take()
                args = []
                if self.peek()[:2] != ("op", ")"):
                    args.append(self.or_())
                    while self.peek()[:2] == ("op", ","):
                        self.take()
                        args.append(self.or_())
                self.take("op", ")")
                lo, hi = _FUNCS[name]
                if not lo <= len(args) <= hi:
                    raise _err(f"函数 {name} 的参数个数不对", f"wrong number of arguments to {name}", pos)
                return Call(name, args, pos)
            return Field(val, pos)
        if kind == "op" and val == "(":
            self.take()
            node = self.or_()
            self.take("op", ")")
            return node
        raise _err(f"此处不能出现“{val or '结尾'}”", f"unexpected '{val or 'end'}'", pos)


def parse(text):
    """Parse expression text into an AST.

    Parameters
    ----------
    text : str
        The expression.

    Returns
    -------
    object
        The root AST node.
    """
    if not str(text).strip():
        raise ParameterError(tr("表达式为空", "the expression is empty"))
    return _Parser(str(text)).parse()


def _is_text(s):
    if pd.api.types.is_string_dtype(s.dtype) and s.dtype != object:
        return True
    return s.dtype == object and s.dropna().map(lambda v: isinstance(v, str)).any()


def _geodesic(gdf, kind):
    g = gdf.geometry
    if g.crs is not None and not g.crs.is_geographic:
        g = g.to_crs(4326)
    elif g.crs is None:
        raise ParameterError(tr("图层没有坐标系，无法计算 $area/$length", "the layer has no CRS for $area/$length"))
    out = []
    for geom in g:
        if geom is None or geom.is_empty:
            out.append(np.nan)
            continue
        area, perim = _GEOD.geometry_area_perimeter(geom)
        out.append(abs(area) if kind == "$area" else (_GEOD.geometry_length(geom)))
    return pd.Series(out, index=gdf.index, dtype=float)


class _Eval:
    def __init__(self, gdf):
        self.gdf = gdf
        self.n = len(gdf)

    def ser(self, v):
        if isinstance(v, pd.Series):
            return v
        return pd.Series([v] * self.n, index=self.gdf.index, dtype=object if v is None or isinstance(v, str) else None)

    def num(self, s, pos):
        if _is_text(s):
            raise _err("文本不能参与算术运算，请先用 to_real()", "text cannot be used in arithmetic; use to_real()", pos)
        return pd.to_numeric(s, errors="coerce").astype(float)

    def run(self, node):
        if isinstance(node, Literal):
            return self.ser(node.value)
        if isinstance(node, Field):
            if node.name not in self.gdf.columns or node.name == self.gdf.geometry.name:
                raise _err(f"没有字段“{node.name}”", f"no field '{node.name}'", node.pos)
            return self.gdf[node.name]
        if isinstance(node, Var):
            if node.name == "$id":  # the feature's number: its integer index (a layer's rows of a subset keep theirs)
                index = self.gdf.index
                ids = index.to_numpy() if pd.api.types.is_integer_dtype(index.dtype) else np.arange(self.n)
                return pd.Series(ids, index=index)
            return _geodesic(self.gdf, node.name)
        if isinstance(node, Unary):
            v = self.run(node.operand)
            if node.op == "not":
                return ~v.fillna(False).astype(bool)
            return -self.num(v, node.pos) if node.op == "-" else self.num(v, node.pos)
        if isinstance(node, Binary):
            a, b = self.run(node.left), self.run(node.right)
            op = node.op
            if op in ("and", "or"):
                a, b = a.fillna(False).astype(bool), b.fillna(False).astype(bool)
                return (a & b) if op == "and" else (a | b)
            if op in ("=", "<>", "<", ">", "<=", ">="):
                if _is_text(a) != _is_text(b):
                    raise _err("不能比较文本与数字", "cannot compare text with a number", node.pos)
                res = {"=": a.eq, "<>": a.ne, "<": a.lt, ">": a.gt, "<=": a.le, ">=": a.ge}[op](b)
                return res.where(a.notna() & b.notna(), False).astype(bool)
            if op == "+" and (_is_text(a) or _is_text(b)):
                if not (_is_text(a) and _is_text(b)):
                    raise _err("文本不能与数字相加，请用 concat() 或 to_string()",
                               "cannot add text and a number; use concat() or to_string()", node.pos)
                return a + b
            x, y = self.num(a, node.pos), self.num(b, node.pos)
            with np.errstate(all="ignore"):
                if op == "+":
                    return x + y
                if op == "-":
                    return x - y
                if op == "*":
                    return x * y
                if op == "^":
                    return x ** y
                y0 = y.where(y != 0)
                return x / y0 if op == "/" else np.fmod(x, y0)
        if isinstance(node, Case):
            out = self.run(node.default).astype(object)
            for cond, val in reversed(node.whens):
                c = self.run(cond).fillna(False).astype(bool)
                out = self.run(val).astype(object).where(c, out)
            return out
        if isinstance(node, Call):
            return self.call(node)
        raise AssertionError(node)

    def call(self, node):
        name, pos = node.name, node.pos
        if name == "if":
            c = self.run(node.args[0]).fillna(False).astype(bool)
            return self.run(node.args[1]).astype(object).where(c, self.run(node.args[2]).astype(object))
        args = [self.run(a) for a in node.args]
        if name == "coalesce":
            out = args[0].astype(object)
            for a in args[1:]:
                out = out.where(out.notna(), a.astype(object))
            return out
        if name in ("concat",):
            out = self.ser("")
            for a in args:
                out = out + a.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else _txt(v))
            return out
        if name == "to_string":
            return args[0].map(lambda v: None if pd.isna(v) else _txt(v))
        if name == "to_real":
            return pd.to_numeric(args[0], errors="coerce").astype(float)
        if name == "to_int":
            return np.trunc(pd.to_numeric(args[0], errors="coerce")).astype("Int64")
        if name in ("upper", "lower", "length", "len", "substr"):
            s = args[0].astype("string")
            if name == "upper":
                return s.str.upper().astype(object)
            if name == "lower":
                return s.str.lower().astype(object)
            if name in ("length", "len"):
                return s.str.len().astype("Int64").astype(object).where(s.notna(), None)
            start = self.num(args[1], pos).fillna(1).astype(int)
            if start.nunique() > 1 or (len(args) == 3 and self.num(args[2], pos).nunique() > 1):
                raise _err("substr 的位置参数须为常数", "substr positions must be constants", pos)
            b = int(start.iloc[0]) - 1 if self.n else 0
            e = b + int(self.num(args[2], pos).iloc[0]) if len(args) == 3 and self.n else None
            return s.str.slice(max(b, 0), e).astype(object)
        x = self.num(args[0], pos)
        with np.errstate(all="ignore"):
            if name == "abs":
                return x.abs()
            if name == "sqrt":
                return np.sqrt(x.where(x >= 0))
            if name == "round":
                nd = int(self.num(args[1], pos).iloc[0]) if len(args) == 2 and self.n else 0
                return x.round(nd)
            y = self.num(args[1], pos)
            return np.fmin(x, y) if name == "min" else np.fmax(x, y)


def _txt(v):
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def evaluate(text, gdf):
    """Evaluate an expression over every feature of a GeoDataFrame.

    Parameters
    ----------
    text : str
        The expression.
    gdf : geopandas.GeoDataFrame
        The features; fields are its columns.

    Returns
    -------
    pandas.Series
        One value per feature (null where undefined, e.g. division by zero).
    """
    return _Eval(gdf).run(parse(text))
