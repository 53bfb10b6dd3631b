"""One result type for every analysis, with a provenance record that survives files.

:func:`run_analysis` runs a declared :class:`~riskmap.analysis.declare.Analysis` on its inputs
and returns an :class:`AnalysisResult`: result layers, tables, a summary line and the
provenance (inputs with the sha256 of each file, every parameter with its basis, the
standards applied, software version, user and time). The window, the CLI, ``riskmap rerun``
and the tests all go through it.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import shapely

from riskmap.analysis.fields import layer_source
from riskmap.errors import DataFormatError, GeometryTypeError
from riskmap.analysis.outfields import rename_notes, separate_input_fields
from riskmap.analysis.plausibility import check_plausibility
from riskmap.analysis.provenance import describe_input, provenance
from riskmap.i18n import tr

#: Companion files hashed with a shapefile (its data is spread over them).
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


@dataclass
class AnalysisResult:
    """What every analysis returns.

    Attributes
    ----------
    analysis : str
        The declared analysis name.
    layers : dict
        ``{name: GeoDataFrame}`` result layers (written to the GeoPackage).
    tables : dict
        ``{name: DataFrame}`` result tables without geometry.
    summary_zh, summary_en : str
        One summary line in each language.
    provenance : dict
        See :func:`analysis_provenance`.
    native : object
        The analysis function's own result (for what-if tools that update it in place).
    """

    analysis: str
    layers: dict
    tables: dict
    summary_zh: str
    summary_en: str
    provenance: dict
    native: object = None
    extras: dict = field(default_factory=dict)

    @property
    def summary(self) -> str:
        return tr(self.summary_zh, self.summary_en)


def file_sha256(path) -> str | None:
    """sha256 of a file's bytes (a shapefile: of its .shp/.shx/.dbf/.prj/.cpg in that order); None if absent."""
    path = Path(path)
    parts = [path]
    if path.suffix.lower() == ".shp":
        parts = [path.with_suffix(ext) for ext in SHAPEFILE_PARTS]
        parts = [p for p in parts if p.exists()] or [path]
    if not all(p.is_file() for p in parts):
        return None
    digest = hashlib.sha256()
    for part in parts:
        if len(parts) > 1:
            digest.update(part.suffix.lower().encode())
        with open(part, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def input_record(value, source=None, options: dict | None = None) -> dict:
    """``{path, sha256, description, options}`` of one input (a path, a layer or None)."""
    if value is None and source is None:
        return {"path": None, "sha256": None, "description": "—", "options": {}}
    if isinstance(value, (list, tuple)):
        return {"path": None, "sha256": None, "description": f"{len(value)} layers",
                "items": [input_record(v) for v in value], "options": dict(options or {})}
    path = source
    if path is None:
        path = value if isinstance(value, (str, Path)) else layer_source(value)
    path = str(Path(path).resolve()) if path and Path(str(path)).exists() else (str(path) if path else None)
    return {"path": path, "sha256": file_sha256(path) if path else None,
            "description": describe_input(value) if value is not None else str(path),
            "options": {k: v for k, v in (options or {}).items() if v is not None}}


def analysis_provenance(analysis, inputs: dict, params, native_record: dict | None = None) -> dict:
    """The provenance record of one run.

    Keys: ``analysis``, ``title_zh``/``title_en``, ``inputs`` ({role: :func:`input_record`}),
    ``parameters`` (:meth:`ParamSet.record`: value, unit, basis, labels of every declared
    parameter), ``derived`` (values the run computed, e.g. the metric CRS), ``standards``,
    ``notes``, ``software``, ``python``, ``user``, ``time``; ``attachments`` when the analysis gives
    large structured records (the four-colour rule table and the provenance of the runs it made).
    """
    native_record = native_record or {}
    declared = analysis.params.record(params)
    derived = {k: v for k, v in (native_record.get("parameters") or {}).items() if k not in declared}
    base = provenance(analysis.name, {}, {}, native_record.get("standards") or analysis.standards(params),
                      native_record.get("notes"))
    base.update({"title_zh": analysis.zh, "title_en": analysis.en, "inputs": inputs, "parameters": declared,
                 "derived": _jsonable(derived)})
    if native_record.get("attachments"):  # large structured records (rule tables, upstream runs), kept whole
        base["attachments"] = _jsonable(native_record["attachments"])
    return base


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "item"):
        try:
            return value.item()
        except (AttributeError, ValueError):
            pass
    return str(value)


def run_analysis(analysis, inputs: dict, params=None, *, progress=None, sources: dict | None = None,
                 options: dict | None = None) -> AnalysisResult:
    """Run a declared analysis.

    Parameters
    ----------
    analysis : Analysis
        From :data:`riskmap.analysis.registry.ANALYSES`.
    inputs : dict
        ``{role: GeoDataFrame | raster path | list | None}``.
    params : object, optional
        The analysis's parameter object (default: every declared default).
    progress : callable, optional
        ``progress(fraction, message)``.
    sources : dict, optional
        ``{role: file path}`` where a layer's own source is not recorded on it (the window).
    options : dict, optional
        ``{role: {option: value}}`` how each input was read (layer name, coordinate offset).
    """
    params = params if params is not None else analysis.params.build()
    sources = sources or {}
    options = options or {}
    inputs = without_empty_parts(inputs)
    check_input_geometries(analysis, inputs, sources)
    # warnings, never errors: partial population coverage, implausible values per row (issue 18 §9)
    warned = list(check_population_coverage(analysis, inputs, sources)) + check_plausibility(analysis, inputs, sources)
    try:
        native = analysis.run(inputs, params, progress)
    except shapely.errors.GEOSException as exc:  # a geometry GEOS cannot process; never a crash of the window
        said = " ".join(str(exc).split())[:120]  # GEOS ends its messages with a newline: keep the error one line
        raise DataFormatError(tr(f"几何运算失败（{said}）；请检查输入图层的几何是否有效",
                                 f"a geometry operation failed ({said}); check the input layers' geometries")) from exc
    layers, tables, summary_zh, summary_en, record = analysis.wrap(native, params)
    renamed = separate_input_fields(layers, analysis.tables, inputs)
    if renamed:
        record = dict(record or {})
        record["notes"] = list(record.get("notes") or []) + rename_notes(renamed)
    in_records = {spec.role: input_record(inputs.get(spec.role), sources.get(spec.role), options.get(spec.role))
                  for spec in analysis.inputs}
    prov = analysis_provenance(analysis, in_records, params, record)
    prov["summary_zh"], prov["summary_en"] = summary_zh, summary_en
    prov["notes"] = list(warned) + list(prov.get("notes") or [])
    prov["warnings"] = list(warned)
    prov["results_sha256"] = layers_digest(layers)
    prov["results_digest_scheme"] = DIGEST_SCHEME
    prov["renamed_fields"] = renamed
    read_notes = input_warnings(analysis, inputs)  # what the readers said: header row, dropped rows, datum
    prov["warnings"], prov["notes"] = read_notes + prov["warnings"], read_notes + prov["notes"]
    return AnalysisResult(analysis.name, layers, tables, summary_zh, summary_en, prov, native,
                          extras={"renamed_fields": renamed})


#: shapely geometry type → the kind an :class:`~riskmap.analysis.declare.Input` declares.
GEOMETRY_KINDS = {"Point": "point", "MultiPoint": "point", "LineString": "line", "MultiLineString": "line",
                  "LinearRing": "line", "Polygon": "polygon", "MultiPolygon": "polygon"}
#: shapely.get_type_id → geometry type name.
_TYPE_NAMES = ("Point", "LineString", "LinearRing", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon",
               "GeometryCollection")
_KIND_LABELS = {"point": ("点", "points"), "line": ("线", "lines"), "polygon": ("面", "polygons")}


def without_empty_parts(inputs: dict) -> dict:
    """The inputs with empty parts dropped from multi-part geometries.

    The readers drop them already (:func:`riskmap.io.drop_empty_parts`); this covers layers made in code.
    """
    from riskmap.io import drop_empty_parts

    out = {}
    for role, value in inputs.items():
        if hasattr(value, "geometry") and hasattr(value, "columns"):
            value = drop_empty_parts(value)
        elif isinstance(value, list):
            value = [drop_empty_parts(v) if hasattr(v, "geometry") and hasattr(v, "columns") else v for v in value]
        out[role] = value
    return out


def input_warnings(analysis, inputs: dict) -> list:
    """What the readers said about each input layer (header row taken, rows dropped, datum), as ``标签：text``."""
    out = []
    for spec in analysis.inputs:
        value = inputs.get(spec.role)
        for layer in value if isinstance(value, (list, tuple)) else [value]:
            meta = (getattr(layer, "attrs", None) or {}).get("riskmap") if not isinstance(layer, (str, Path)) else None
            for text in (meta or {}).get("warnings") or []:
                out.append(tr(f"{spec.label_zh}：{text}", f"{spec.label_en}: {text}"))
    return out


def check_input_geometries(analysis, inputs: dict, sources: dict | None = None) -> None:
    """Refuse a vector input holding geometries of a kind its role does not take.

    Each :class:`~riskmap.analysis.declare.Input` declares the kinds it accepts
    (``geometry=("point", "polygon")`` for plants); a plants file of lines, or pipelines
    given as points, is refused here with the layer's name instead of reaching the
    analysis (where it gave silently wrong results or crashed in GEOS).

    Raises
    ------
    GeometryTypeError
        Naming the layer, the kinds found (with counts) and the kinds wanted.
    """
    import numpy as np

    sources = sources or {}
    for spec in analysis.inputs:
        value = inputs.get(spec.role)
        if spec.kind != "vector" or not spec.geometry or value is None:
            continue
        for gdf in (value if isinstance(value, (list, tuple)) else [value]):
            types = np.asarray(shapely.get_type_id(gdf.geometry.values))
            present = types[types >= 0]
            found = {}
            for type_id, count in zip(*np.unique(present, return_counts=True)):
                kind = GEOMETRY_KINDS.get(_TYPE_NAMES[type_id], "collection")
                found[kind] = found.get(kind, 0) + int(count)
            wrong = {k: n for k, n in found.items() if k not in spec.geometry}
            if not wrong:
                continue
            source = sources.get(spec.role) or layer_source(gdf) or None
            labels = {k: _KIND_LABELS.get(k, ("几何集合", "geometry collections")) for k in wrong}
            got_zh = "、".join(f"{labels[k][0]} {n} 个" for k, n in wrong.items())
            got_en = ", ".join(f"{n} {labels[k][1]}" for k, n in wrong.items())
            want_zh = "或".join(_KIND_LABELS[k][0] for k in spec.geometry)
            want_en = " or ".join(_KIND_LABELS[k][1] for k in spec.geometry)
            raise GeometryTypeError(tr(f"输入“{spec.label_zh}”含{got_zh}，此项只接受{want_zh}；请选择正确的图层",
                                       f"the {spec.label_en} layer holds {got_en}; it takes only {want_en} — "
                                       "choose the right layer"), source)


#: Roles whose features the population raster must cover (the first vector input of each analysis).
POPULATION_ROLE = "population"


def check_population_coverage(analysis, inputs: dict, sources: dict | None = None) -> list[str]:
    """Refuse a population raster that covers none of the features of the analysis's first input.

    A raster elsewhere (another county, a wrong CRS) otherwise gives 0 persons everywhere and
    results that look valid. Partial coverage is allowed and returned as a warning with the fraction.

    Returns
    -------
    list of str
        Warnings for the provenance notes (empty when every feature is covered).

    Raises
    ------
    DataFormatError
        "人口栅格未覆盖任何企业" (naming the raster) when no feature touches the raster's extent.
    """
    from pathlib import Path as _Path

    import numpy as np
    from pyproj import CRS

    raster = inputs.get(POPULATION_ROLE)
    main = analysis.inputs[0]
    features = inputs.get(main.role)
    if raster is None or features is None or main.kind != "vector" or isinstance(features, (list, tuple)) \
            or not isinstance(raster, (str, _Path)):
        return []
    from riskmap.io import open_raster

    with open_raster(raster) as ds:
        bounds, crs = ds.bounds, CRS.from_user_input(ds.crs.to_wkt())
    geoms = features.to_crs(crs).geometry.values
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not present.any():
        return []
    inside = shapely.intersects(geoms[present], shapely.box(*bounds))
    fraction = float(np.mean(inside))
    what_zh = {"plants": "企业", "pipelines": "管道", "tailings": "尾矿库"}.get(main.role, main.label_zh)
    what_en = {"plants": "plants", "pipelines": "pipelines", "tailings": "tailings ponds"}.get(main.role, main.role)
    if fraction == 0:
        raise DataFormatError(tr(f"人口栅格未覆盖任何{what_zh}（{int(present.sum())} 个均在栅格范围外）；"
                                 "请检查栅格的范围与坐标系，或换用覆盖研究区的人口栅格",
                                 f"the population raster covers none of the {what_en} (all {int(present.sum())} "
                                 "outside its extent); check its extent and CRS, or use one covering the area"),
                              sources.get(POPULATION_ROLE) if sources else raster)
    if fraction < 1:
        outside = int((~inside).sum())
        return [tr(f"人口栅格仅覆盖 {fraction:.0%} 的{what_zh}：{outside} 个在栅格范围外，其人口按 0 计",
                   f"the population raster covers only {fraction:.0%} of the {what_en}: {outside} lie outside "
                   "its extent and count 0 persons")]
    return []


#: Rows hashed at a time by :func:`layers_digest`.
DIGEST_CHUNK_ROWS = 20_000
#: How :func:`layers_digest` hashes, recorded beside the digests (``results_digest_scheme``). 1 (records
#: without the key): every value as text. 2: each column by its own values (``pandas.util.hash_pandas_object``;
#: object columns as text), ~3× faster on a 5,000-plant relocation.
DIGEST_SCHEME = 2


def layers_digest(layers: dict, scheme: int = DIGEST_SCHEME) -> dict:
    """``{layer: sha256}`` of every result layer's columns, values and geometry (WKB), for ``riskmap rerun``
    to say whether a re-run gave the same numbers.

    Parameters
    ----------
    layers : dict
        ``{name: DataFrame or GeoDataFrame}``.
    scheme : int
        :data:`DIGEST_SCHEME`, or the scheme a record was made with (1: values as text), so that a re-run
        is compared the way its record was hashed.
    """
    import pandas as pd
    import shapely

    out = {}
    for name, frame in layers.items():
        digest = hashlib.sha256()
        geometry = getattr(frame, "geometry", None) if hasattr(frame, "geometry") else None
        columns = [c for c in frame.columns if geometry is None or c != frame.geometry.name]
        if scheme == 1:
            digest.update(repr(columns).encode())
        else:
            digest.update(repr([(c, str(frame[c].dtype)) for c in columns]).encode())
        if len(frame):
            if scheme == 1:
                # the values as text, aligned on the labels 0 … n−1 (as recorded by earlier versions); with
                # those labels, rows in chunks (a row's hash does not depend on the others): bounded memory
                step = DIGEST_CHUNK_ROWS if frame.index.equals(pd.RangeIndex(len(frame))) else len(frame)
                for lo in range(0, len(frame), step):
                    part = frame.iloc[lo:lo + step]
                    values = pd.DataFrame({c: part[c].astype(str) for c in columns}, index=range(lo, lo + len(part)))
                    digest.update(pd.util.hash_pandas_object(values, index=False).to_numpy().tobytes())
            else:
                for c in columns:
                    col = frame[c]
                    if col.dtype == object:  # anything (dicts, lists, mixed): its text
                        col = col.astype(str)
                    digest.update(pd.util.hash_pandas_object(col, index=False).to_numpy().tobytes())
            if geometry is not None:
                geoms = frame.geometry.to_numpy()
                for lo in range(0, len(geoms), DIGEST_CHUNK_ROWS):
                    # one update per chunk: the same bytes, so the same digest, as one per geometry
                    digest.update(b"".join(wkb if wkb is not None else b"-"
                                           for wkb in shapely.to_wkb(geoms[lo:lo + DIGEST_CHUNK_ROWS])))
        out[name] = digest.hexdigest()
    return out


def provenance_line(record: dict, lang: str | None = None) -> str:
    """One line saying where a result came from, for the HTML footer and the print.

    ``搬迁评估（riskmap 0.4，2026-12-03T10:00+08:00）：输入 企业.shp [sha256 1a2b3c4d]、…；依据 GB 18218-2018、…``
    """
    from riskmap.i18n import language

    en = (lang or language()) == "en"
    title = record.get("title_en" if en else "title_zh") or record.get("analysis", "?")
    inputs = []
    for role, rec in (record.get("inputs") or {}).items():
        if not isinstance(rec, dict) or ("items" in rec and not rec["items"]) or (
                rec.get("path") is None and not rec.get("items") and rec.get("description") in (None, "—")):
            continue
        items = rec.get("items") or [rec]
        for item in items:
            name = Path(str(item.get("path"))).name if item.get("path") else str(item.get("description") or role)
            digest = item.get("sha256")
            inputs.append(f"{name} [sha256 {digest[:8]}]" if digest else name)
    standards = [_standard_number(s) for s in (record.get("standards") or [])]
    head = f"{title} ({record.get('software', 'riskmap')}, {record.get('time', '')})" if en else \
        f"{title}（{record.get('software', 'riskmap')}，{record.get('time', '')}）"
    parts = [head + (": " if en else "：") + ("inputs " if en else "输入 ") + (", " if en else "、").join(inputs)
             if inputs else head]
    if standards:
        parts.append(("basis " if en else "依据 ") + (", " if en else "、").join(dict.fromkeys(standards)))
    if record.get("what_if"):
        parts.append("with what-if edits" if en else "含假设分析修改")
    return ("; " if en else "；").join(parts)


def _standard_number(text) -> str:
    """``GB 18218-2018`` from a full citation (the citation's first words when it has no number)."""
    import re

    match = re.match(r"\s*((?:GB|AQ|JTG|SY|CJJ)(?:/T)?\s*[\d.]+-\d{4})", str(text))
    return match.group(1) if match else str(text).split(" ")[0][:24]


def layers_provenance(layers) -> list[dict]:
    """The distinct provenance records of ``layers`` (one per analysis run), in layer order."""
    seen, out = set(), []
    for layer in layers:
        record = getattr(layer, "provenance", None)
        if not isinstance(record, dict):
            continue
        key = (record.get("analysis"), record.get("time"), record.get("summary_zh"))
        if key not in seen:
            seen.add(key)
            out.append(record)
    return out


__all__ = ["AnalysisResult", "analysis_provenance", "file_sha256", "input_record", "layers_digest", "layers_provenance",
           "provenance_line", "run_analysis"]
