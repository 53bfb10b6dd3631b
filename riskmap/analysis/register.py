"""The road hazard register (隐患路段登记): segments tracked from identification to closure. Qt-free.

A :class:`HazardRegister` holds the registered segments and the automatic candidates awaiting
review. Every change is a command object with ``do()``/``undo()`` (:class:`CreateSegments`,
:class:`EditSegment`, :class:`SetExtent`, :class:`SplitSegment`, :class:`MergeSegments`, :class:`DeleteSegments`,
:class:`SetCandidates`, :class:`AcceptCandidates`, :class:`RejectCandidates`), so the GUI wraps
each in a ``QUndoCommand`` and the CLI or a script runs them directly; the register emits
``events.changed`` after each.

History: every command records rows in :attr:`HazardRegister.history` (time, user, segment,
action, old → new value) when it is done; its undo records the same rows as 撤销 rows with old
and new swapped (the history is append-only, an audit trail; a redo records them again). The
history is saved with the register and written to the 变更记录 sheet of the Excel register.

Status follows the treatment workflow: 排查 ``identified`` → 建档 ``filed`` → 整改中 ``rectifying``
→ 已销号 ``closed``. Any status may be set (corrections happen); the deadline is an ISO date.

Persistence: the register lives in the project file as JSON in ``project.extras["road_register"]``
(geometries as WKT in the map CRS, EPSG:4490), so ``Project.save``/``Project.load`` carry it
with no extra table and an older riskmap simply ignores it. :meth:`HazardRegister.bind` keeps
that entry current and marks the project modified on every change; when the project has an
autosave journal (:mod:`riskmap.journal`) each change is journalled before the command
returns. Exports: GeoPackage (layer ``hazard_register``), Excel (register, per-county
progress, 变更记录, provenance; Chinese headers) and KML/KMZ (:mod:`riskmap.kml`).
"""
from __future__ import annotations

import datetime as _dt
import getpass
import os
import re
import uuid
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import shapely

from riskmap import crs as crs_policy
from riskmap.analysis.linear import Stationing, km_post, km_range, parse_km_post, snap_points, substring
from riskmap.analysis.roads import ALIASES as SEGMENT_ALIASES
from riskmap.analysis.roads import KINDS, LEGACY_SEVERITIES, SEVERITIES
from riskmap.errors import ParameterError, ProjectError
from riskmap.i18n import tr
from riskmap.layers.events import EmitterGroup

#: Workflow statuses in order, with their Chinese names.
STATUSES = {"identified": "排查", "filed": "建档", "rectifying": "整改中", "closed": "已销号"}

#: Key of the register in ``Project.extras``.
EXTRAS_KEY = "road_register"

#: Format version of the JSON in the project.
FORMAT_VERSION = 1

#: Attribute values carried from the automatic analysis (kept in ``Segment.attrs``).
MEASURE_FIELDS = ("radius_m", "radius_limit_m", "deflection_deg", "grade_pct", "grade_limit_pct", "drop_m",
                  "water_dist_m", "accidents", "deaths", "injuries", "fatal", "equivalent", "speed_kmh")

#: Risk level of a new segment when none is given.
DEFAULT_SEVERITY = "较大风险"

_SEVERITY_RANK = {k: i for i, k in enumerate(SEVERITIES)}
_STATUS_RANK = {k: i for i, k in enumerate(STATUSES)}


def _now() -> str:
    return _dt.datetime.now().astimezone().isoformat(timespec="seconds")


#: Environment variable naming the user recorded in the register history (default: the login name).
USER_ENV = "RISKMAP_USER"

#: History actions with their Chinese names (the 变更记录 sheet and the history view).
HISTORY_ACTIONS = {"created": "新增", "accepted": "采纳", "rejected": "排除候选", "extent": "桩号范围",
                   "status": "状态", "severity": "风险等级", "kind": "类型", "deadline": "整改期限", "note": "说明",
                   "county": "县区", "road": "道路名称", "road_code": "路线编号", "attrs": "指标",
                   "split": "拆分", "merged": "合并", "deleted": "删除", "undo": "撤销"}

#: Columns of a history row, in order.
HISTORY_FIELDS = ("time", "user", "segment", "county", "road", "km", "action", "old", "new", "text")


def current_user() -> str:
    """The user name recorded in the history: ``$RISKMAP_USER`` or the login name."""
    name = os.environ.get(USER_ENV, "").strip()
    if name:
        return name
    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):  # no login name (some containers, services)
        return "unknown"


def _new_id() -> str:
    return uuid.uuid4().hex[:12]


def parse_deadline(value) -> str | None:
    """A deadline as ``YYYY-MM-DD`` (or None); raises :class:`ParameterError` if not a date."""
    if value is None or (isinstance(value, float) and np.isnan(value)) \
            or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, _dt.datetime):
        return value.date().isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    try:
        return _dt.date.fromisoformat(str(value).strip()[:10]).isoformat()
    except ValueError:
        raise ParameterError(tr(f"整改期限“{value}”不是日期，请写成 YYYY-MM-DD",
                                f"deadline {value!r} is not a date; write it as YYYY-MM-DD")) from None


@dataclass
class Segment:
    """One hazard segment of a road.

    Attributes
    ----------
    id : str
    road : str
        Road name (as shown to users).
    kind : str
        One of :data:`riskmap.analysis.roads.KINDS`.
    start_m, end_m : float
        Chainage along the road (m).
    geometry : shapely LineString
        The road between the chainages, in EPSG:4490.
    severity, status : str
        Keys of :data:`~riskmap.analysis.roads.SEVERITIES` (the four-level risk wording
        重大风险/较大风险/一般风险/低风险; the codes low/medium/high of older projects are read as
        一般/较大/重大风险) and :data:`STATUSES`.
    deadline : str or None
        Rectification deadline, ``YYYY-MM-DD``.
    note, county, road_code : str
    source : str
        ``"auto"`` (accepted candidate) or ``"manual"``.
    stationing : str
        The road's stationing (:meth:`~riskmap.analysis.linear.Stationing.to_text`, e.g.
        ``"K812+300；K815+200=K815+150"``; empty: K0+000 at the road's start, no 断链): the km-post
        labels follow it while ``start_m``/``end_m`` stay measured metres.
    attrs : dict
        Measurements from the analysis (radius_m, grade_pct, drop_m, water_dist_m, accidents …).
    """

    road: str
    kind: str
    start_m: float
    end_m: float
    geometry: object
    severity: str = DEFAULT_SEVERITY
    status: str = "identified"
    deadline: str | None = None
    note: str = ""
    county: str = ""
    road_code: str = ""
    source: str = "manual"
    stationing: str = ""
    attrs: dict = field(default_factory=dict)
    id: str = field(default_factory=_new_id)
    created: str = field(default_factory=_now)
    updated: str = field(default_factory=_now)

    def __post_init__(self):
        self.severity = LEGACY_SEVERITIES.get(self.severity, self.severity)
        validate_fields(kind=self.kind, severity=self.severity, status=self.status)
        self.deadline = parse_deadline(self.deadline)
        self.start_m, self.end_m = float(self.start_m), float(self.end_m)
        if not (np.isfinite(self.start_m) and np.isfinite(self.end_m)) or self.end_m < self.start_m:
            raise ParameterError(tr(f"路段桩号 {self.start_m}–{self.end_m} m 不是有效范围",
                                    f"segment chainage {self.start_m}–{self.end_m} m is not a valid range"))

    @property
    def stations(self) -> Stationing:
        """The road's :class:`~riskmap.analysis.linear.Stationing`."""
        return Stationing.from_text(self.stationing)

    @property
    def km_label(self) -> str:
        return self.stations.range_label(self.start_m, self.end_m)

    def km(self, m: float) -> str:
        """Km-post label of measured chainage ``m`` on this segment's road."""
        return self.stations.label(m)

    @property
    def length_m(self) -> float:
        return self.end_m - self.start_m

    def overdue(self, today: _dt.date | None = None) -> bool:
        """True when the deadline has passed and the segment is not closed."""
        if not self.deadline or self.status == "closed":
            return False
        return _dt.date.fromisoformat(self.deadline) < (today or _dt.date.today())

    def to_dict(self) -> dict:
        return {"id": self.id, "road": self.road, "road_code": self.road_code, "kind": self.kind,
                "start_m": round(self.start_m, 2), "end_m": round(self.end_m, 2), "severity": self.severity,
                "status": self.status, "deadline": self.deadline, "note": self.note, "county": self.county,
                "source": self.source, "stationing": self.stationing,
                "attrs": {k: _json_number(v) for k, v in self.attrs.items()},
                "created": self.created, "updated": self.updated,
                "wkt": shapely.to_wkt(self.geometry, rounding_precision=8) if self.geometry is not None else None}

    @classmethod
    def from_dict(cls, d: dict) -> "Segment":
        geom = shapely.from_wkt(d["wkt"]) if d.get("wkt") else None
        return cls(road=d.get("road", ""), kind=d["kind"], start_m=d["start_m"], end_m=d["end_m"], geometry=geom,
                   severity=d.get("severity", DEFAULT_SEVERITY), status=d.get("status", "identified"),
                   deadline=d.get("deadline"), note=d.get("note", ""), county=d.get("county", ""),
                   road_code=d.get("road_code", ""), source=d.get("source", "manual"),
                   stationing=d.get("stationing", "") or "",
                   attrs={k: (np.nan if v is None else v) for k, v in (d.get("attrs") or {}).items()},
                   id=d.get("id") or _new_id(), created=d.get("created") or _now(), updated=d.get("updated") or _now())

    def copy(self, **changes) -> "Segment":
        changes.setdefault("attrs", dict(self.attrs))
        return replace(self, **changes)


def _json_number(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return None if not np.isfinite(v) else round(float(v), 4)
    return v


def validate_fields(**values) -> None:
    """Check kind/severity/status values; raises :class:`ParameterError` naming the allowed ones."""
    allowed = {"kind": KINDS, "severity": SEVERITIES, "status": STATUSES}
    for name, value in values.items():
        if name in allowed and value not in allowed[name]:
            raise ParameterError(tr(f"{name} 的值“{value}”无效，可选：{'、'.join(allowed[name])}",
                                    f"{name} {value!r} is not one of {', '.join(allowed[name])}"))


class HazardRegister:
    """Registered hazard segments plus automatic candidates awaiting review.

    Events: ``changed(what=..., ids=[...])`` with ``what`` in ``segments``, ``candidates``.
    """

    crs = crs_policy.MAP_CRS

    def __init__(self, segments=(), candidates=(), detection: dict | None = None):
        self.segments: dict[str, Segment] = {s.id: s for s in segments}
        self.candidates: dict[str, Segment] = {s.id: s for s in candidates}
        #: Provenance record of the detection run that produced the candidates (None: none yet).
        self.detection: dict | None = detection
        #: Change history, oldest first: dicts with :data:`HISTORY_FIELDS` (append-only; an undo adds a 撤销 row).
        self.history: list[dict] = []
        #: Who the history names (None: :func:`current_user` at each change).
        self.user: str | None = None
        self.events = EmitterGroup("changed")
        self._project = None

    # -- access -----------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.segments)

    def __iter__(self):
        return iter(list(self.segments.values()))

    def __contains__(self, seg_id) -> bool:
        return seg_id in self.segments

    def get(self, seg_id: str) -> Segment:
        try:
            return self.segments[seg_id]
        except KeyError:
            raise ParameterError(tr(f"登记表中没有编号为 {seg_id} 的路段", f"no segment with id {seg_id!r} in the register")) \
                from None

    def ids(self) -> list[str]:
        return list(self.segments)

    # -- low-level edits used by the commands (each emits changed) ------------------
    def _insert(self, store: dict, seg: Segment, index: int | None) -> None:
        if index is None or index >= len(store):
            store[seg.id] = seg
            return
        items = list(store.items())
        items.insert(index, (seg.id, seg))
        store.clear()
        store.update(items)

    def _record(self, rows, undo_of: str | None = None) -> None:
        """Append history rows (``undo_of``: the text of the command undone, making 撤销 rows)."""
        now, user = _now(), self.user or current_user()
        for row in rows:
            row = dict(row, time=now, user=user)
            if undo_of is not None:
                row.update(action="undo", old=row["new"], new=row["old"],
                           text=f"撤销：{undo_of}（{HISTORY_ACTIONS.get(row['action'], row['action'])}）")
            self.history.append({k: row.get(k, "") for k in HISTORY_FIELDS})

    def history_frame(self, seg_id: str | None = None, county: str | None = None) -> pd.DataFrame:
        """The history (newest last) of one segment, of one county's segments, or of all (keys as columns)."""
        df = pd.DataFrame(self.history, columns=list(HISTORY_FIELDS))
        if seg_id is not None:
            df = df[df["segment"] == seg_id]
        if county is not None:
            counties = {s.id: s.county for s in self.segments.values()}
            counties.update({r["segment"]: r["county"] for r in self.history if r["segment"] not in counties})
            df = df[df["segment"].map(lambda i: counties.get(i, "")) == county]
        return df.reset_index(drop=True)

    def _emit(self, what: str, ids) -> None:
        if self._project is not None:
            self._project.extras[EXTRAS_KEY] = self.to_dict()
            self._project.modified = True
            journal = getattr(self._project, "journal", None)
            if journal is not None:  # durable before the command returns (riskmap.journal)
                journal.register_changed(self, what, ids)
        self.events.changed.emit(what=what, ids=list(ids))

    # -- tables ---------------------------------------------------------------------
    def to_gdf(self, which: str = "segments"):
        """The segments (or candidates) as a GeoDataFrame in EPSG:4490."""
        import geopandas as gpd

        store = self.segments if which == "segments" else self.candidates
        rows = []
        for s in store.values():
            row = {"id": s.id, "county": s.county, "road": s.road, "road_code": s.road_code, "kind": s.kind,
                   "kind_zh": KINDS[s.kind], "start_m": s.start_m, "end_m": s.end_m, "length_m": s.length_m,
                   "km_start": s.km(s.start_m), "km_end": s.km(s.end_m), "km_label": s.km_label,
                   "severity": s.severity, "severity_zh": SEVERITIES[s.severity], "status": s.status,
                   "status_zh": STATUSES[s.status], "deadline": s.deadline or "", "overdue": s.overdue(),
                   "note": s.note, "source": s.source, "stationing": s.stationing, "created": s.created,
                   "updated": s.updated}
            for k in MEASURE_FIELDS:
                row[k] = float(s.attrs.get(k, np.nan)) if s.attrs.get(k) is not None else np.nan
            row["geometry"] = s.geometry
            rows.append(row)
        columns = ["id", "county", "road", "road_code", "kind", "kind_zh", "start_m", "end_m", "length_m", "km_start",
                   "km_end", "km_label", "severity", "severity_zh", "status", "status_zh", "deadline", "overdue",
                   "note", "source", "stationing", "created", "updated", *MEASURE_FIELDS]
        df = pd.DataFrame(rows, columns=columns + ["geometry"])
        return gpd.GeoDataFrame(df[columns], geometry=gpd.GeoSeries(df["geometry"].tolist(), crs=self.crs),
                                crs=self.crs)

    def progress_summary(self, today: _dt.date | None = None) -> pd.DataFrame:
        """Per-county progress: segments of each kind, by status, closed share and overdue ones.

        Columns: county, one per kind, total, one per status, closed_pct, overdue; a last row
        ``合计`` (total) sums the counties. Segments without a county count under ``未分县``.
        """
        rows = []
        for s in self.segments.values():
            rows.append({"county": s.county or "未分县", "kind": s.kind, "status": s.status,
                         "overdue": s.overdue(today)})
        cols = ["county", *KINDS, "total", *STATUSES, "closed_pct", "overdue"]
        if not rows:
            return pd.DataFrame(columns=cols)
        df = pd.DataFrame(rows)
        kinds = pd.crosstab(df["county"], df["kind"]).reindex(columns=list(KINDS), fill_value=0)
        status = pd.crosstab(df["county"], df["status"]).reindex(columns=list(STATUSES), fill_value=0)
        out = kinds.join(status)
        out["total"] = kinds.sum(axis=1)
        out["overdue"] = df.groupby("county")["overdue"].sum().astype(int)
        out.loc["合计"] = out.sum(axis=0)
        out["closed_pct"] = (100.0 * out["closed"] / out["total"].where(out["total"] > 0)).round(1)
        out = out.reset_index().rename(columns={"index": "county"})
        return out[cols]

    # -- persistence --------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"format": "riskmap-road-register", "version": FORMAT_VERSION, "crs": "EPSG:4490",
                "segments": [s.to_dict() for s in self.segments.values()],
                "candidates": [s.to_dict() for s in self.candidates.values()],
                "detection": self.detection, "history": [dict(r) for r in self.history]}

    @classmethod
    def from_dict(cls, data: dict | None) -> "HazardRegister":
        if not data:
            return cls()
        if data.get("format") != "riskmap-road-register":
            raise ProjectError(tr("无法读取工程中的道路隐患登记（格式未知）",
                                  "the project's road register is not readable (unknown format)"))
        if int(data.get("version", 0)) > FORMAT_VERSION:
            raise ProjectError(tr("道路隐患登记由更新版本的 riskmap 保存，请升级 riskmap 后再打开",
                                  "the road register was saved by a newer riskmap; update riskmap to open it"))
        try:
            out = cls([Segment.from_dict(d) for d in data.get("segments", [])],
                      [Segment.from_dict(d) for d in data.get("candidates", [])], data.get("detection"))
            out.history = [{k: str(r.get(k, "") or "") for k in HISTORY_FIELDS} for r in data.get("history") or []]
            return out
        except (KeyError, TypeError, ValueError, shapely.errors.ShapelyError) as exc:
            raise ProjectError(tr(f"工程中的道路隐患登记已损坏（{exc}）", f"the project's road register is damaged ({exc})")) from exc

    @classmethod
    def from_project(cls, project) -> "HazardRegister":
        """The register stored in a project (empty if none)."""
        return cls.from_dict(project.extras.get(EXTRAS_KEY))

    def bind(self, project) -> "HazardRegister":
        """Keep ``project.extras`` up to date and mark the project modified on every change."""
        self._project = project
        project.extras[EXTRAS_KEY] = self.to_dict()
        journal = getattr(project, "journal", None)
        if journal is not None:
            journal.attach_register(self)
        return self


#: Chinese headers of the register table.
REGISTER_ALIASES = {
    **SEGMENT_ALIASES, "id": "编号", "road": "道路名称", "road_code": "路线编号", "kind_zh": "隐患类型",
    "severity_zh": "风险等级", "status_zh": "状态", "deadline": "整改期限", "overdue": "是否逾期", "source": "来源",
    "created": "登记时间", "updated": "更新时间",
}

#: Chinese headers of the progress summary.
SUMMARY_ALIASES = {"county": "县区", **KINDS, "total": "合计", **STATUSES, "closed_pct": "销号率(%)",
                   "overdue": "逾期"}


def register_excel_frame(gdf) -> pd.DataFrame:
    """The register table for Excel: Chinese headers and values."""
    df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).copy()
    df["overdue"] = df["overdue"].map({True: "是", False: ""})
    df["source"] = df["source"].map({"auto": "自动识别", "manual": "人工标注"}).fillna(df["source"])
    order = ["id", "county", "road", "road_code", "kind_zh", "km_label", "km_start", "km_end", "start_m", "end_m",
             "length_m", "severity_zh", "status_zh", "deadline", "overdue", "note", *MEASURE_FIELDS, "source",
             "stationing", "created", "updated"]
    df = df[order]
    for col in ("start_m", "end_m", "length_m"):
        df[col] = df[col].round(1)
    return df.rename(columns=REGISTER_ALIASES)


#: Chinese headers of the history (变更记录).
HISTORY_ALIASES = {"time": "时间", "user": "用户", "segment": "路段编号", "county": "县区", "road": "道路名称",
                   "km": "桩号", "action": "操作", "old": "原值", "new": "新值", "text": "说明"}


def history_excel_frame(register: "HazardRegister", en: bool = False) -> pd.DataFrame:
    """The register's history for Excel: one row per change, oldest first, Chinese headers and action names."""
    df = register.history_frame()
    if not en:
        df["action"] = df["action"].map(HISTORY_ACTIONS).fillna(df["action"])
        return df.rename(columns=HISTORY_ALIASES)
    return df


def summary_excel_frame(summary: pd.DataFrame) -> pd.DataFrame:
    return summary.rename(columns=SUMMARY_ALIASES)


# ---------------------------------------------------------------------------
# building segments
# ---------------------------------------------------------------------------
def segments_from_candidates(gdf) -> list[Segment]:
    """Segments (status ``identified``, source ``auto``) from :func:`detect_road_hazards` rows."""
    if gdf is None or len(gdf) == 0:
        return []
    geoms = crs_policy.transform_geometries(np.asarray(gdf.geometry.values, dtype=object), gdf.crs,
                                            crs_policy.MAP_CRS)
    out = []
    cols = set(gdf.columns)
    records = gdf.drop(columns=gdf.geometry.name).to_dict("records")
    for rec, geom in zip(records, geoms):
        attrs = {k: rec[k] for k in MEASURE_FIELDS if k in cols and rec[k] is not None and pd.notna(rec[k])}
        out.append(Segment(road=str(rec.get("name", "") or ""), road_code=str(rec.get("code", "") or ""),
                           kind=rec["kind"], start_m=rec["start_m"], end_m=rec["end_m"], geometry=geom,
                           severity=rec.get("severity") or DEFAULT_SEVERITY, note=str(rec.get("note", "") or ""),
                           county=str(rec.get("county", "") or ""), source="auto",
                           stationing=str(rec.get("stationing", "") or ""), attrs=attrs))
    return out


def segment_on_road(road_geom, road_crs, p1, p2, points_crs=crs_policy.MAP_CRS, *, road: str = "",
                    kind: str = "sharp_bend", **fields) -> Segment:
    """A manual segment between two points snapped onto a road.

    Parameters
    ----------
    road_geom : LineString or MultiLineString
        The road, in ``road_crs``.
    p1, p2 : (x, y)
        The clicked points in ``points_crs`` (the map CRS by default); order does not matter.
    road, kind, **fields
        Segment attributes (severity, status, note, county, road_code, deadline ...).
    """
    metric = crs_policy.metric_crs_for_bounds(shapely.bounds(road_geom), road_crs)
    line = crs_policy.transform_geometries(np.array([road_geom], dtype=object), road_crs, metric)[0]
    xs, ys = crs_policy.transform_xy([p1[0], p2[0]], [p1[1], p2[1]], points_crs, metric)
    snap = snap_points(shapely.points(np.column_stack([xs, ys])), np.array([line], dtype=object), np.inf)
    a, b = sorted(round(float(v), 3) for v in snap.chainage)  # chainage to the millimetre
    if b - a < 1.0:
        raise ParameterError(tr("两个点落在道路的同一位置，请点得远一些",
                                "the two points snap to the same place on the road; click farther apart"))
    piece = substring(line, a, b)
    geom = crs_policy.transform_geometries(np.array([piece], dtype=object), metric, crs_policy.MAP_CRS)[0]
    return Segment(road=road, kind=kind, start_m=a, end_m=b, geometry=geom, **fields)


def _metric_piece(geom, t0: float, t1: float):
    """Sub-line of a map-CRS geometry between two length fractions, measured in metres."""
    metric = crs_policy.metric_crs_for_bounds(shapely.bounds(geom), crs_policy.MAP_CRS)
    m = crs_policy.transform_geometries(np.array([geom], dtype=object), crs_policy.MAP_CRS, metric)[0]
    piece = substring(m, t0 * m.length, t1 * m.length)
    return crs_policy.transform_geometries(np.array([piece], dtype=object), metric, crs_policy.MAP_CRS)[0]


_RANGE_SEP = re.compile(r"\s*(?:–|—|－|~|～|至|到|-)\s*")


def parse_km_range(text: str, stations: Stationing | None = None) -> tuple[float, float]:
    """Chainages (m) of a typed range such as ``K12+300–K12+420`` (also ``-``, ``~``, ``至``; or metres).

    With ``stations`` (the road's :class:`~riskmap.analysis.linear.Stationing`: 起点桩号, 断链) the typed
    stations are converted to measured metres along the road.

    Raises :class:`ParameterError` (Chinese first) when it is not two km-posts, or the end is not after the start.
    """
    parts = [p for p in _RANGE_SEP.split(str(text).strip()) if p]
    if len(parts) != 2:
        raise ParameterError(tr(f"“{text}”不是桩号范围，请写成 K12+300–K12+420",
                                f"{text!r} is not a chainage range; write it like K12+300–K12+420"))
    try:
        a, b = (parse_km_post(p) for p in parts)
    except ParameterError:
        raise ParameterError(tr(f"“{text}”中的桩号无法识别，请写成 K12+300–K12+420",
                                f"{text!r}: write the chainages like K12+300–K12+420")) from None
    if b <= a:
        raise ParameterError(tr(f"终点桩号须大于起点桩号（{text}）", f"the end must be after the start ({text})"))
    if stations is not None and not stations.is_plain:
        a, b = stations.measure(a), stations.measure(b)
        if b <= a:
            raise ParameterError(tr(f"终点桩号须大于起点桩号（{text}）", f"the end must be after the start ({text})"))
    return a, b


def road_of_segment(seg: Segment, roads) -> int:
    """Index (position) of the road in ``roads`` (a GeoDataFrame) that ``seg`` lies on.

    Roads with the segment's code (else name) are preferred; the nearest one to the segment's
    middle (in metres) must be within 5 m. Raises :class:`ParameterError` when none is.
    """
    if seg.geometry is None or roads is None or len(roads) == 0:
        raise ParameterError(tr("找不到该路段所在的道路：请先选择道路图层", "the segment's road is not found; choose the road layer"))
    cols = set(roads.columns)
    pick = np.zeros(len(roads), dtype=bool)
    if seg.road_code and "code" in cols:
        pick = (roads["code"].astype(str) == seg.road_code).to_numpy()
    if not pick.any() and "name" in cols:
        pick = (roads["name"].astype(str) == seg.road).to_numpy()
    if not pick.any():
        pick[:] = True
    idx = np.flatnonzero(pick)
    metric = crs_policy.metric_crs_for_bounds(shapely.bounds(seg.geometry), crs_policy.MAP_CRS)
    mid = crs_policy.transform_geometries(np.array([shapely.line_interpolate_point(seg.geometry, 0.5, normalized=True)],
                                                   dtype=object), crs_policy.MAP_CRS, metric)[0]
    lines = crs_policy.transform_geometries(np.asarray(roads.geometry.values, dtype=object)[idx], roads.crs, metric)
    dist = shapely.distance(lines, mid)
    best = int(np.argmin(dist))
    if not dist[best] <= 5.0:
        raise ParameterError(tr("找不到该路段所在的道路（5 米内没有同名道路）", "no road of that name within 5 m of the segment"))
    return int(idx[best])


def road_piece(road_geom, road_crs, start_m: float, end_m: float):
    """The road between two chainages (m along the road in metres) in EPSG:4490; both must lie on the road."""
    metric = crs_policy.metric_crs_for_bounds(shapely.bounds(road_geom), road_crs)
    line = crs_policy.transform_geometries(np.array([road_geom], dtype=object), road_crs, metric)[0]
    a, b = float(start_m), float(end_m)
    if not (np.isfinite(a) and np.isfinite(b)) or b - a < 1.0:
        raise ParameterError(tr(f"桩号范围 {km_range(a, b)} 无效：终点须比起点至少大 1 米",
                                f"chainage range {km_range(a, b)} is invalid: the end must be at least 1 m past the "
                                "start"))
    if a < -0.5 or b > line.length + 0.5:
        raise ParameterError(tr(f"桩号 {km_range(a, b)} 超出道路范围（K0+000–{km_post(line.length)}），路段不能离开所在道路",
                                f"{km_range(a, b)} is off the road (K0+000–{km_post(line.length)}); a segment cannot "
                                "leave its road"))
    a, b = max(a, 0.0), min(b, line.length)
    piece = substring(line, a, b)
    return a, b, crs_policy.transform_geometries(np.array([piece], dtype=object), metric, crs_policy.MAP_CRS)[0]


def road_chainage(road_geom, road_crs, point, point_crs=crs_policy.MAP_CRS) -> float:
    """Chainage (m) along the road of a point snapped onto it (e.g. a dragged segment end)."""
    metric = crs_policy.metric_crs_for_bounds(shapely.bounds(road_geom), road_crs)
    line = crs_policy.transform_geometries(np.array([road_geom], dtype=object), road_crs, metric)[0]
    xs, ys = crs_policy.transform_xy([point[0]], [point[1]], point_crs, metric)
    snap = snap_points(shapely.points(np.column_stack([xs, ys])), np.array([line], dtype=object), np.inf)
    return round(float(snap.chainage[0]), 3)


# ---------------------------------------------------------------------------
# commands (do/undo); the GUI wraps each in a QUndoCommand
# ---------------------------------------------------------------------------
def _shown(name: str, value) -> str:
    """A field value as the history shows it (Chinese names of kinds, severities, statuses)."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    names = {"status": STATUSES, "severity": SEVERITIES, "kind": KINDS}.get(name)
    if names is not None:
        return names.get(value, str(value))
    if isinstance(value, dict):
        return "；".join(f"{k}={_json_number(v)}" for k, v in value.items())
    return str(value)


def _row(seg: Segment, action: str, old="", new="", text: str = "") -> dict:
    return {"segment": seg.id, "county": seg.county, "road": seg.road, "km": seg.km_label, "action": action,
            "old": old, "new": new, "text": text}


class Command:
    """Base of register commands: ``do()`` applies, ``undo()`` restores exactly; ``text`` describes it.

    ``rows`` are the history rows ``do()`` records (with time and user); ``undo()`` records them
    again as 撤销 rows with old and new swapped, so the history stays append-only (an audit trail:
    who changed what, and who took it back).
    """

    text = ""
    rows: list = []

    def do(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def undo(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class CreateSegments(Command):
    """Add segments to the register."""

    def __init__(self, register: HazardRegister, segments, text: str | None = None):
        self.register = register
        self.segments = list(segments)
        self.text = text or (f"新增隐患路段 {self.segments[0].km_label}" if len(self.segments) == 1
                             else f"新增隐患路段 {len(self.segments)} 处")
        self.rows = [_row(s, "created", "", s.km_label, self.text) for s in self.segments]

    def do(self):
        for s in self.segments:
            self.register._insert(self.register.segments, s, None)
        self.register._record(self.rows)
        self.register._emit("segments", [s.id for s in self.segments])

    def undo(self):
        for s in self.segments:
            self.register.segments.pop(s.id, None)
        self.register._record(self.rows, undo_of=self.text)
        self.register._emit("segments", [s.id for s in self.segments])


class EditSegment(Command):
    """Change fields of one segment (kind, severity, status, deadline, note, county, road, attrs)."""

    EDITABLE = ("kind", "severity", "status", "deadline", "note", "county", "road", "road_code", "attrs")

    def __init__(self, register: HazardRegister, seg_id: str, **changes):
        self.register = register
        self.seg_id = seg_id
        seg = register.get(seg_id)
        bad = set(changes) - set(self.EDITABLE)
        if bad:
            raise ParameterError(tr(f"不能修改 {'、'.join(sorted(bad))}；可修改：{'、'.join(self.EDITABLE)}",
                                    f"cannot edit {', '.join(sorted(bad))}; editable: {', '.join(self.EDITABLE)}"))
        if "severity" in changes:  # codes of riskmap before the four-level wording (scripts, old projects)
            changes["severity"] = LEGACY_SEVERITIES.get(changes["severity"], changes["severity"])
        validate_fields(**changes)
        if "deadline" in changes:
            changes["deadline"] = parse_deadline(changes["deadline"])
        self.changes = changes
        self.before = {k: (dict(v) if isinstance(v, dict) else v) for k, v in
                       ((k, getattr(seg, k)) for k in changes)}
        self.before_updated = seg.updated
        labels = {"status": "状态", "severity": "风险等级", "kind": "类型", "deadline": "整改期限", "note": "说明"}
        what = "、".join(labels.get(k, k) for k in changes)
        self.text = f"修改隐患路段 {seg.km_label} 的{what}"
        self.rows = [_row(seg, k, _shown(k, self.before[k]), _shown(k, v), self.text) for k, v in changes.items()]

    def do(self):
        seg = self.register.get(self.seg_id)
        for k, v in self.changes.items():
            setattr(seg, k, dict(v) if isinstance(v, dict) else v)
        seg.updated = _now()
        self.register._record(self.rows)
        self.register._emit("segments", [self.seg_id])

    def undo(self):
        seg = self.register.get(self.seg_id)
        for k, v in self.before.items():
            setattr(seg, k, dict(v) if isinstance(v, dict) else v)
        seg.updated = self.before_updated
        self.register._record(self.rows, undo_of=self.text)
        self.register._emit("segments", [self.seg_id])


class SplitSegment(Command):
    """Split a segment at a chainage into two; the first keeps the id."""

    def __init__(self, register: HazardRegister, seg_id: str, at_m: float, new_id: str | None = None):
        self.register = register
        seg = register.get(seg_id)
        at_m = float(at_m)
        if not (seg.start_m + 0.5 < at_m < seg.end_m - 0.5):
            raise ParameterError(tr(f"拆分点 {seg.km(at_m)} 不在路段 {seg.km_label} 之内",
                                    f"split point {seg.km(at_m)} is not inside the segment {seg.km_label}"))
        self.original = seg.copy()
        t = (at_m - seg.start_m) / seg.length_m
        now = _now()
        self.first = seg.copy(end_m=at_m, geometry=_metric_piece(seg.geometry, 0.0, t), updated=now)
        self.second = seg.copy(start_m=at_m, geometry=_metric_piece(seg.geometry, t, 1.0), id=new_id or _new_id(),
                               created=now, updated=now)
        self.index = list(register.segments).index(seg_id)
        self.text = f"在 {seg.km(at_m)} 处拆分隐患路段 {seg.km_label}"
        pieces = f"{self.first.km_label} + {self.second.km_label}"
        self.rows = [_row(seg, "split", seg.km_label, pieces, self.text),
                     _row(self.second, "split", seg.km_label, self.second.km_label, self.text)]

    def do(self):
        reg = self.register
        reg.segments[self.first.id] = self.first.copy()
        reg._insert(reg.segments, self.second.copy(), self.index + 1)
        reg._record(self.rows)
        reg._emit("segments", [self.first.id, self.second.id])

    def undo(self):
        reg = self.register
        reg.segments.pop(self.second.id, None)
        reg.segments[self.original.id] = self.original.copy()
        reg._record(self.rows, undo_of=self.text)
        reg._emit("segments", [self.first.id, self.second.id])


class MergeSegments(Command):
    """Merge two touching or overlapping segments of the same road and kind into the first.

    The merged segment keeps the higher severity, the least advanced status, the earliest
    deadline, both notes, the smaller radius/water distance and the larger grade/drop/counts.
    """

    def __init__(self, register: HazardRegister, first_id: str, second_id: str, tolerance_m: float = 1.0):
        self.register = register
        a, b = register.get(first_id), register.get(second_id)
        if first_id == second_id:
            raise ParameterError(tr("请选择两个不同的路段进行合并", "choose two different segments to merge"))
        if (a.road_code or a.road) != (b.road_code or b.road):
            raise ParameterError(tr("只能合并同一道路的路段", "only segments of the same road can be merged"))
        if a.kind != b.kind:
            raise ParameterError(tr("只能合并同一类型的路段", "only segments of the same kind can be merged"))
        if b.start_m > a.end_m + tolerance_m or a.start_m > b.end_m + tolerance_m:
            raise ParameterError(tr(f"路段 {a.km_label} 与 {b.km_label} 不相接；只能合并相邻或重叠的路段",
                                    f"segments {a.km_label} and {b.km_label} do not touch; only adjacent or "
                                    "overlapping segments can be merged"))
        merged_geom = shapely.line_merge(shapely.union(a.geometry, b.geometry))
        if merged_geom.geom_type != "LineString":
            merged_geom = shapely.line_merge(shapely.union(shapely.snap(a.geometry, b.geometry, 1e-6), b.geometry))
        attrs = dict(a.attrs)
        for k, v in b.attrs.items():
            if k not in attrs or attrs[k] is None or pd.isna(attrs[k]):
                attrs[k] = v
            elif v is not None and pd.notna(v):
                attrs[k] = min(attrs[k], v) if k in ("radius_m", "water_dist_m") else max(attrs[k], v)
        deadlines = [d for d in (a.deadline, b.deadline) if d]
        notes = [n for n in dict.fromkeys([a.note, b.note]) if n]
        self.merged = a.copy(start_m=min(a.start_m, b.start_m), end_m=max(a.end_m, b.end_m), geometry=merged_geom,
                             severity=max(a.severity, b.severity, key=_SEVERITY_RANK.get),
                             status=min(a.status, b.status, key=_STATUS_RANK.get),
                             deadline=min(deadlines) if deadlines else None, note="；".join(notes), attrs=attrs,
                             updated=_now())
        self.a, self.b = a.copy(), b.copy()
        self.b_index = list(register.segments).index(second_id)
        self.text = f"合并隐患路段 {a.km_label} 与 {b.km_label}"
        both = f"{a.km_label} + {b.km_label}"
        self.rows = [_row(a, "merged", both, self.merged.km_label, self.text),
                     _row(b, "merged", b.km_label, f"并入 {a.id}（{self.merged.km_label}）", self.text)]

    def do(self):
        reg = self.register
        reg.segments.pop(self.b.id, None)
        reg.segments[self.a.id] = self.merged.copy()
        reg._record(self.rows)
        reg._emit("segments", [self.a.id, self.b.id])

    def undo(self):
        reg = self.register
        reg.segments[self.a.id] = self.a.copy()
        reg._insert(reg.segments, self.b.copy(), self.b_index)
        reg._record(self.rows, undo_of=self.text)
        reg._emit("segments", [self.a.id, self.b.id])


class SetExtent(Command):
    """Move a segment's ends along its road to new chainages (typed 桩号 or a dragged end).

    The geometry is cut again from the road, so the segment cannot leave it (chainages
    outside the road raise :class:`ParameterError`).
    """

    def __init__(self, register: HazardRegister, seg_id: str, start_m: float, end_m: float, road_geom, road_crs):
        self.register = register
        self.seg_id = seg_id
        seg = register.get(seg_id)
        a, b, geom = road_piece(road_geom, road_crs, start_m, end_m)
        self.before = seg.copy()
        self.after = seg.copy(start_m=round(a, 3), end_m=round(b, 3), geometry=geom)
        self.text = f"修改隐患路段 {seg.km_label} 的桩号为 {self.after.km_label}"
        self.rows = [_row(seg, "extent", seg.km_label, self.after.km_label, self.text)]

    def do(self):
        self.register.segments[self.seg_id] = self.after.copy(updated=_now())
        self.register._record(self.rows)
        self.register._emit("segments", [self.seg_id])

    def undo(self):
        self.register.segments[self.seg_id] = self.before.copy()
        self.register._record(self.rows, undo_of=self.text)
        self.register._emit("segments", [self.seg_id])


class DeleteSegments(Command):
    """Remove segments from the register."""

    def __init__(self, register: HazardRegister, ids):
        self.register = register
        order = list(register.segments)
        self.removed = sorted(((order.index(i), register.get(i).copy()) for i in ids), key=lambda t: t[0])
        self.text = (f"删除隐患路段 {self.removed[0][1].km_label}" if len(self.removed) == 1
                     else f"删除隐患路段 {len(self.removed)} 处")
        self.rows = [_row(s, "deleted", s.km_label, "", self.text) for _, s in self.removed]

    def do(self):
        for _, s in self.removed:
            self.register.segments.pop(s.id, None)
        self.register._record(self.rows)
        self.register._emit("segments", [s.id for _, s in self.removed])

    def undo(self):
        for index, s in self.removed:
            self.register._insert(self.register.segments, s.copy(), index)
        self.register._record(self.rows, undo_of=self.text)
        self.register._emit("segments", [s.id for _, s in self.removed])


class SetCandidates(Command):
    """Replace the candidates awaiting review (after a detection run)."""

    def __init__(self, register: HazardRegister, candidates, detection: dict | None = None):
        self.register = register
        self.new = {s.id: s for s in candidates}
        self.old = dict(register.candidates)
        self.new_detection = detection if detection is not None else register.detection
        self.old_detection = register.detection
        self.text = f"自动识别候选隐患路段 {len(self.new)} 处"

    def do(self):
        self.register.candidates = dict(self.new)
        self.register.detection = self.new_detection
        self.register._emit("candidates", list(self.new))

    def undo(self):
        self.register.candidates = dict(self.old)
        self.register.detection = self.old_detection
        self.register._emit("candidates", list(self.old))


class _CandidatesCommand(Command):
    """A command on some candidates, kept with their places in the review list for undo."""

    verb = ""
    action = ""

    def __init__(self, register: HazardRegister, ids):
        self.register = register
        order = list(register.candidates)
        missing = [i for i in ids if i not in register.candidates]
        if missing:
            raise ParameterError(tr(f"没有编号为 {missing[0]} 的候选路段", f"no candidate with id {missing[0]!r}"))
        self.items = sorted(((order.index(i), register.candidates[i]) for i in ids), key=lambda t: t[0])
        self.text = f"{self.verb}候选隐患路段 {len(self.items)} 处"
        self.rows = [_row(s, self.action, "候选", s.km_label if self.action == "accepted" else "", self.text)
                     for _, s in self.items]


class AcceptCandidates(_CandidatesCommand):
    """Move candidates into the register (status ``identified``)."""

    verb = "采纳"
    action = "accepted"

    def do(self):
        reg = self.register
        for _, s in self.items:
            reg.candidates.pop(s.id, None)
            reg.segments[s.id] = s
        reg._record(self.rows)
        reg._emit("candidates", [s.id for _, s in self.items])
        reg._emit("segments", [s.id for _, s in self.items])

    def undo(self):
        reg = self.register
        for index, s in self.items:
            reg.segments.pop(s.id, None)
            reg._insert(reg.candidates, s, index)
        reg._record(self.rows, undo_of=self.text)
        reg._emit("candidates", [s.id for _, s in self.items])
        reg._emit("segments", [s.id for _, s in self.items])


class RejectCandidates(_CandidatesCommand):
    """Drop candidates from the review list."""

    verb = "排除"
    action = "rejected"

    def do(self):
        for _, s in self.items:
            self.register.candidates.pop(s.id, None)
        self.register._record(self.rows)
        self.register._emit("candidates", [s.id for _, s in self.items])

    def undo(self):
        for index, s in self.items:
            self.register._insert(self.register.candidates, s, index)
        self.register._record(self.rows, undo_of=self.text)
        self.register._emit("candidates", [s.id for _, s in self.items])
