"""A scripted field session for the crash-recovery test (Qt-free), and a fork server that runs it.

:func:`step` applies edit ``k`` of a seeded script to a register and a project — created,
accepted and rejected candidates, edits of status/deadline/note/severity, new chainages,
splits, merges, deletions, undos, layers added and restyled. Everything it makes has
deterministic ids, so :func:`replay` (no journal, no files) is the independent oracle of the
state after the first ``k`` edits.

Run as a script it is a fork server: it imports riskmap once, then for each ``run DIR SEED N``
line on stdin forks a child that starts a journalled session in DIR and applies N edits,
printing ``done k`` (flushed) after each journalled edit (once the journal's writer thread wrote it), saving the project now and then and
at the end (a clean exit);
the server prints ``pid P`` first and ``exit P`` when the child is gone (the test kills it).
"""
from __future__ import annotations

import os
import sys

import geopandas as gpd
import numpy as np
import shapely

from riskmap import crs as crs_policy
from riskmap.analysis import register as reg
from riskmap.layers.style import Style
from riskmap.project import Project

METRIC = 4547
X0, Y0 = 500000.0, 3560000.0
ROAD_LENGTH = 5000.0
#: Saves happen after these edits (k % SAVE_EVERY == SAVE_AT).
SAVE_EVERY, SAVE_AT = 7, 3


def road():
    return shapely.LineString([(X0, Y0), (X0 + ROAD_LENGTH, Y0)])


def _map(x):
    lon, lat = crs_policy.transform_xy([x], [Y0 + 3.0], METRIC, 4490)
    return float(lon[0]), float(lat[0])


def _segment(seg_id, a, b, kind="sharp_bend", source="manual"):
    return reg.segment_on_road(road(), METRIC, _map(X0 + a), _map(X0 + b), road="X035鸡公山路", road_code="X035",
                               kind=kind, id=seg_id, source=source)


class Session:
    """A register bound to a project, and the stack of commands done (for undo steps)."""

    def __init__(self, project):
        self.project = project
        self.register = reg.HazardRegister().bind(project)
        self.done: list = []

    def run(self, command):
        command.do()
        self.done.append(command)


def step(session: Session, k: int, seed: int) -> None:
    """Apply edit ``k`` (1-based) of the script of ``seed``."""
    rng = np.random.default_rng([seed, k])
    r = session.register
    ids = r.ids()
    kind = int(rng.integers(0, 12))
    if k <= 2 or not ids:
        kind = 0
    if kind in (0, 1):
        a = float(rng.integers(0, 450)) * 10.0
        session.run(reg.CreateSegments(r, [_segment(f"s{k}", a, a + float(rng.integers(5, 40)) * 10.0)]))
    elif kind == 2:
        sid = ids[int(rng.integers(len(ids)))]
        field = ["status", "severity", "deadline", "note"][int(rng.integers(4))]
        value = {"status": list(reg.STATUSES)[int(rng.integers(4))], "severity": ["low", "medium", "high"][
            int(rng.integers(3))], "deadline": f"2027-0{int(rng.integers(1, 10))}-15",
                 "note": f"第{k}次现场核查：护栏<破损>&缺失"}[field]
        session.run(reg.EditSegment(r, sid, **{field: value}))
    elif kind == 3:
        seg = r.get(ids[int(rng.integers(len(ids)))])
        if seg.length_m > 20:
            session.run(reg.SplitSegment(r, seg.id, round((seg.start_m + seg.end_m) / 2, 1), new_id=f"p{k}"))
    elif kind == 4:
        segs = sorted(r, key=lambda s: s.start_m)
        pairs = [(x, y) for x, y in zip(segs, segs[1:]) if x.kind == y.kind and y.start_m <= x.end_m + 1.0]
        if pairs:
            x, y = pairs[int(rng.integers(len(pairs)))]
            session.run(reg.MergeSegments(r, x.id, y.id))
    elif kind == 5:
        session.run(reg.DeleteSegments(r, [ids[int(rng.integers(len(ids)))]]))
    elif kind == 6 and session.done:
        session.done.pop().undo()
    elif kind == 7:
        cands = [_segment(f"c{k}_{j}", 100.0 * j + 5, 100.0 * j + 60, kind="near_water", source="auto")
                 for j in range(3)]
        session.run(reg.SetCandidates(r, cands, detection={"analysis": "roads", "run": k}))
    elif kind == 8 and r.candidates:
        cid = list(r.candidates)[int(rng.integers(len(r.candidates)))]
        session.run((reg.AcceptCandidates if rng.random() < 0.6 else reg.RejectCandidates)(r, [cid]))
    elif kind == 9:
        seg = r.get(ids[int(rng.integers(len(ids)))])
        a = float(rng.integers(0, 450)) * 10.0
        session.run(reg.SetExtent(r, seg.id, a, a + 120.0, road(), METRIC))
    elif kind == 10:
        gdf = gpd.GeoDataFrame({"名称": [f"临时点{k}", "乙"], "值": [k, 2.5]},
                               geometry=shapely.points([[114.0 + k * 1e-3, 32.1], [114.1, 32.2]]), crs=4490)
        session.project.add_vector(gdf, f"图层{k}", layer_id=f"layer{k}")
    elif kind == 11 and len(session.project.layers):
        layer = list(session.project.layers)[int(rng.integers(len(session.project.layers)))]
        if rng.random() < 0.5:
            layer.style = Style(color=f"#{int(rng.integers(0, 0xFFFFFF)):06x}", width=float(rng.integers(1, 6)))
        else:  # the data of a layer replaced (an analysis re-run, the register layer after an edit)
            gdf = layer.gdf.copy()
            gdf["值"] = gdf["值"] + k
            layer.set_data(gdf)


def replay(n: int, seed: int) -> Session:
    """The oracle: the first ``n`` edits applied with no journal and no files."""
    session = Session(Project())
    for k in range(1, n + 1):
        step(session, k, seed)
    return session


def comparable(project) -> dict:
    """What must survive a crash: the register (minus clock times) and the layers (names, styles, data)."""
    data = reg.HazardRegister.from_project(project).to_dict()
    for store in ("segments", "candidates"):
        for s in data[store]:
            s.pop("created"), s.pop("updated")
    for h in data["history"]:
        h.pop("time")
    layers = [(layer.id, layer.name, layer.style.to_dict(),
               layer.gdf.drop(columns="geometry").to_dict("list"), shapely.to_wkt(layer.gdf.geometry.values).tolist())
              for layer in project.layers]
    return {"register": data, "layers": layers}


def session_child(directory: str, seed: int, n: int) -> None:
    """The journalled session (in a forked child): saved now and then and at the end."""
    from riskmap.journal import Journal

    os.environ["RISKMAP_RECOVERY_DIR"] = os.path.join(directory, "recovery")
    project = Project()
    path = os.path.join(directory, "field.rmp")
    journal = Journal.start(project)
    session = Session(project)
    for k in range(1, n + 1):
        step(session, k, seed)
        journal.flush()  # layer data is written by the journal's writer thread: done once it is durable
        sys.stdout.write(f"done {k}\n")
        sys.stdout.flush()
        if k % SAVE_EVERY == SAVE_AT:
            project.save(path)
    project.save(path)  # a clean exit: save, then the journal goes
    journal.close()


def serve() -> None:
    import contextlib
    import io
    import tempfile

    os.environ.setdefault("RISKMAP_USER", "测试员")
    with tempfile.TemporaryDirectory() as warm, contextlib.redirect_stdout(io.StringIO()):
        session_child(warm, 1, 12)  # import and warm up GDAL once, not in every child
    for line in sys.stdin:
        parts = line.split()
        if not parts or parts[0] != "run":
            break
        directory, seed, n = parts[1], int(parts[2]), int(parts[3])
        pid = os.fork()
        if pid == 0:
            try:
                session_child(directory, seed, n)
            finally:
                os._exit(0)
        sys.stdout.write(f"pid {pid}\n")
        sys.stdout.flush()
        os.waitpid(pid, 0)
        sys.stdout.write(f"exit {pid}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    serve()
