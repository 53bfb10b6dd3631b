"""The bundled "Xinyang demo" sample data, found through the package from any directory."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from riskmap.errors import DataFormatError
from riskmap.i18n import tr

#: Logical name -> path relative to the data directory.
SAMPLE_FILES = {
    "counties": "shapefiles/counties.shp",
    "townships": "shapefiles/townships.shp",
    "enterprises": "shapefiles/enterprises.shp",
    "sensitive": "shapefiles/sensitive.shp",
    "pipelines": "shapefiles/pipelines.shp",
    "tailings": "shapefiles/tailings.shp",
    "roads": "shapefiles/roads.shp",
    "water": "shapefiles/water.shp",
    "accidents": "shapefiles/accidents.shp",
    "population": "rasters/population.tif",
    "dem": "rasters/dem.tif",
}

#: Display order (bottom to top) and Chinese names of the sample layers.
SAMPLE_LAYER_NAMES = {
    "dem": "地形（DEM）",
    "population": "人口密度",
    "counties": "县区边界",
    "townships": "乡镇（街道）边界（示意）",
    "water": "水体",
    "roads": "道路",
    "pipelines": "油气管道",
    "tailings": "尾矿库",
    "accidents": "交通事故点",
    "sensitive": "敏感目标",
    "enterprises": "企业",
}

_SHAPEFILE_SIDECARS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


def data_dir() -> Path:
    """Directory holding the sample data (``RISKMAP_DATA`` overrides it)."""
    env = os.environ.get("RISKMAP_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "data"


def sample_path(name: str) -> Path:
    """Path of one sample data set by logical name (see :data:`SAMPLE_FILES`).

    Raises
    ------
    DataFormatError
        If the name is unknown or the file is not installed.
    """
    if name not in SAMPLE_FILES:
        raise DataFormatError(tr(f"没有名为“{name}”的示例数据，可选：{'、'.join(SAMPLE_FILES)}",
                                 f"no sample data set named {name!r}; choose one of {', '.join(SAMPLE_FILES)}"))
    path = data_dir() / SAMPLE_FILES[name]
    if not path.exists():
        raise DataFormatError(tr("示例数据文件缺失，请重新安装 riskmap 或运行 data/build_sample.py",
                                 "sample data file is missing; reinstall riskmap or run data/build_sample.py"), path)
    return path


def sample_paths() -> dict[str, Path]:
    """All sample data sets as ``{logical name: path}``."""
    return {name: sample_path(name) for name in SAMPLE_FILES}


def truth() -> dict:
    """Ground truth recorded by the sample builder (ids placed in dense towns, 头顶库, ...)."""
    import json

    path = data_dir() / "sample_truth.json"
    return json.loads(path.read_text(encoding="utf-8"))


def write_sample(out_dir: str | Path) -> list[Path]:
    """Copy the sample data set into ``out_dir`` (created if needed); return the files written."""
    out = Path(out_dir)
    written = []
    for rel in SAMPLE_FILES.values():
        src = data_dir() / rel
        dst_dir = out / Path(rel).parent
        dst_dir.mkdir(parents=True, exist_ok=True)
        sources = [src.with_suffix(ext) for ext in _SHAPEFILE_SIDECARS] if src.suffix == ".shp" else [src]
        for s in sources:
            if s.exists():
                written.append(Path(shutil.copy2(s, dst_dir / s.name)))
    return written
