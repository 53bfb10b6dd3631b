"""Helpers shared by the sub-commands: input resolution, --sample, output messages."""
from __future__ import annotations

import argparse
from pathlib import Path

from riskmap.errors import ParameterError
from riskmap.i18n import tr
from riskmap.sample import sample_path


def add_sample_flag(parser: argparse.ArgumentParser) -> None:
    """Add ``--sample``: inputs not given default to the bundled Xinyang demo data."""
    parser.add_argument("--sample", action="store_true",
                        help="use the bundled Xinyang demo data for every input not given")


def resolve_input(args, attr: str, sample_name: str, required: bool = True) -> Path | None:
    """The path given for ``--attr``, else the sample file when ``--sample``, else an error."""
    value = getattr(args, attr, None)
    if value:
        return Path(value)
    if getattr(args, "sample", False):
        return sample_path(sample_name)
    if required:
        flag = "--" + attr.replace("_", "-")
        raise ParameterError(tr(f"须给出 {flag}（或用 --sample 使用示例数据）",
                                f"{flag} is required (or use --sample for the demo data)"))
    return None


def report_written(path, what: str = "wrote") -> None:
    """Print where an output was written."""
    print(f"{what} {path}")


def require_geopackage(path) -> Path:
    """``--out`` as a Path; a one-line error unless it names a GeoPackage (results have several layers)."""
    path = Path(path)
    if path.suffix.lower() != ".gpkg":
        raise ParameterError(tr(f"--out 须为 GeoPackage（.gpkg）：结果有多个图层，不能是“{path.name}”",
                                "--out must be a GeoPackage (.gpkg): the result has several layers, "
                                f"not {path.name!r}"))
    return path
