"""Provenance records: what went into an analysis result, so every number can be traced."""
from __future__ import annotations

import datetime as _dt
import getpass
import platform
from pathlib import Path

import pandas as pd

from riskmap import __version__


def provenance(analysis: str, inputs: dict, parameters: dict, standards: list[str] | None = None,
               notes: list[str] | None = None) -> dict:
    """A provenance record for an analysis run.

    Parameters
    ----------
    analysis : str
        Name of the analysis (e.g. ``"relocation"``).
    inputs : dict
        ``{role: path or description}`` of the inputs.
    parameters : dict
        Every parameter value actually used (defaults included).
    standards : list of str
        Standard editions and clauses applied (e.g. ``"GB 18218-2018 §4.3"``).
    notes : list of str
        Warnings worth keeping with the result (unknown chemicals, nodata cells ...).
    """
    return {
        "analysis": analysis,
        "inputs": {k: str(v) for k, v in inputs.items()},
        "parameters": dict(parameters),
        "standards": list(standards or []),
        "notes": list(notes or []),
        "software": f"riskmap {__version__}",
        "python": platform.python_version(),
        "user": _user(),
        "time": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
    }


def provenance_frame(record: dict) -> pd.DataFrame:
    """The record as a two-column table (项目 / 内容) for an Excel provenance sheet."""
    rows = [("分析 analysis", record["analysis"]), ("软件 software", record["software"]),
            ("时间 time", record["time"]), ("用户 user", record["user"])]
    rows += [(f"输入 input: {k}", v) for k, v in record["inputs"].items()]
    rows += [(f"参数 parameter: {k}", str(v)) for k, v in record["parameters"].items()]
    rows += [("标准 standard", s) for s in record["standards"]]
    rows += [("说明 note", n) for n in record["notes"]]
    return pd.DataFrame(rows, columns=["项目 item", "内容 value"])


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


def describe_input(value) -> str:
    """A short description of an input (path, or 'GeoDataFrame (n features)')."""
    if isinstance(value, (str, Path)):
        return str(value)
    if hasattr(value, "__len__") and hasattr(value, "crs"):
        return f"{type(value).__name__} ({len(value)} features, {value.crs})"
    return type(value).__name__
