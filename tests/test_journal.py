"""Autosave journal and crash recovery: record framing, exact restore, clean exit, saves, and 50 SIGKILLs."""
import os
import contextlib
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from riskmap import journal as jn
from riskmap.analysis import register as reg
from riskmap.project import Project

from tests import journal_driver as drv

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def env(tmp_path, monkeypatch):
    monkeypatch.setenv(jn.RECOVERY_ENV, str(tmp_path / "recovery"))
    monkeypatch.setenv(reg.USER_ENV, "测试员")


def crash(journal):
    """What a kill does to a session: file handles and locks go, nothing is cleaned up."""
    journal._close_fd()
    journal.lock.release()


# -- framing ----------------------------------------------------------------------------
def test_records_are_length_and_crc_checked(tmp_path):
    records = [{"t": "reg", "n": i, "text": "修改“状态”\n<b>&</b>" * i} for i in range(5)]
    data = b"".join(jn.encode_record(r) for r in records)
    path = tmp_path / "j.jsonl"
    path.write_bytes(data)
    assert jn.read_records(path) == (records, False)
    ends = np.cumsum([len(jn.encode_record(r)) for r in records])
    rng = np.random.default_rng(7)
    for cut in rng.integers(1, len(data), 40):  # a torn tail at any byte keeps exactly the whole records before it
        path.write_bytes(data[:cut])
        whole = int(np.searchsorted(ends, cut, side="right"))
        got, torn = jn.read_records(path)
        assert got == records[:whole] and torn == (cut not in ends)
    damaged = bytearray(data)
    damaged[ends[1] + 12] ^= 0x01  # one bit in the third record's payload
    path.write_bytes(bytes(damaged))
    assert jn.read_records(path) == (records[:2], True)


# -- in-process sessions ------------------------------------------------------------------
def session_with_edits(tmp_path, n=12, seed=3, save=True):
    project = Project()
    if save:
        project.save(tmp_path / "p.rmp")
    journal = jn.Journal.start(project)
    session = drv.Session(project)
    for k in range(1, n + 1):
        drv.step(session, k, seed)
    return project, journal, session


def test_restore_is_exact_after_a_crash(tmp_path):
    project, journal, session = session_with_edits(tmp_path, n=30, seed=11)
    assert len(project.layers) >= 1 and len(session.register) >= 2  # the script made layers and segments
    crash(journal)
    (rec,) = jn.pending_recoveries()
    restored = rec.restore()
    assert restored.path == project.path and restored.modified
    assert reg.HazardRegister.from_project(restored).to_dict() == session.register.to_dict()  # times too
    assert drv.comparable(restored) == drv.comparable(project)
    lines = "\n".join(rec.summary_lines())
    assert str(project.path) in lines and "隐患登记修改" in lines and "图层" in lines


def test_unsaved_project_journal_lives_in_the_recovery_dir(tmp_path):
    project, journal, session = session_with_edits(tmp_path, n=8, save=False)
    assert journal.file.parent == tmp_path / "recovery" / "unsaved"
    crash(journal)
    (rec,) = jn.pending_recoveries()
    restored = rec.restore()
    assert restored.path is None
    assert drv.comparable(restored) == drv.comparable(project)


def test_clean_close_leaves_no_journal(tmp_path):
    project, journal, _ = session_with_edits(tmp_path)
    journal.close()
    assert jn.pending_recoveries() == [] and jn.recovery_for_project(project.path) == []
    assert not jn.journal_dir_for(project.path).exists()
    assert list((tmp_path / "recovery" / "sessions").iterdir()) == []


def test_a_live_session_is_not_offered(tmp_path):
    session_with_edits(tmp_path)
    assert jn.pending_recoveries() == []


def test_save_empties_the_journal(tmp_path):
    project, journal, session = session_with_edits(tmp_path)
    project.save()
    crash(journal)
    assert jn.pending_recoveries() == []  # nothing since the save


def test_after_a_save_only_later_edits_are_journalled_and_restored(tmp_path):
    project, journal, session = session_with_edits(tmp_path, n=10)
    project.save()
    before = len(jn.read_records(journal.file)[0])
    for k in range(11, 16):
        drv.step(session, k, 3)
    assert len(jn.read_records(journal.file)[0]) > before == 1  # header only after the save
    crash(journal)
    (rec,) = jn.pending_recoveries()
    assert drv.comparable(rec.restore()) == drv.comparable(project)


def test_first_save_moves_the_journal_beside_the_project(tmp_path):
    project, journal, session = session_with_edits(tmp_path, n=6, save=False)
    project.save(tmp_path / "new.rmp")
    assert journal.file.parent == jn.journal_dir_for(tmp_path / "new.rmp")
    assert not list((tmp_path / "recovery" / "unsaved").glob("*.jsonl"))
    drv.step(session, 7, 3)
    drv.step(session, 8, 3)
    crash(journal)
    (rec,) = jn.recovery_for_project(tmp_path / "new.rmp")
    assert drv.comparable(rec.restore()) == drv.comparable(project)


def test_journal_older_than_the_saved_file_is_discarded(tmp_path):
    project, journal, session = session_with_edits(tmp_path)
    crash(journal)
    other = Project.load(project.path)  # another session saved the file since
    other.save()
    assert jn.pending_recoveries() == []
    assert not journal.file.exists()


def test_discard_removes_journal_and_data(tmp_path):
    project, journal, session = session_with_edits(tmp_path, n=30, seed=11)
    crash(journal)
    (rec,) = jn.pending_recoveries()
    rec.discard()
    assert jn.pending_recoveries() == []
    assert not list(jn.journal_dir_for(project.path).glob("*")) if jn.journal_dir_for(project.path).exists() else True


def test_recovered_project_keeps_journalling(tmp_path):
    project, journal, session = session_with_edits(tmp_path, n=20, seed=11)
    crash(journal)
    (rec,) = jn.pending_recoveries()
    restored = rec.restore()
    journal2 = jn.Journal.start(restored, dirty=True)
    rec.discard()
    crash(journal2)  # a second crash before any new edit still brings the recovered state back
    (rec2,) = jn.pending_recoveries()
    assert drv.comparable(rec2.restore()) == drv.comparable(project)


# -- SIGKILL at random moments --------------------------------------------------------------
@pytest.mark.skipif(not hasattr(os, "fork"), reason="the fork server needs POSIX fork")
def test_sigkill_at_random_moments_recovers_the_last_completed_edit(tmp_path):
    """50 sessions killed at random moments: the state after restart is the replay of the edits done.

    "After restart" is the offered recovery, or the saved file when nothing is offered (killed
    just after a save). A kill can land after edit k+1 reached the journal but before the
    child printed ``done k+1`` (the record is in the file once ``write`` returns, even while
    ``fsync`` runs), so k+1 is accepted too — never anything else. The saved file opens every time.
    """
    n_edits, runs = 40, 50
    env = dict(os.environ, PYTHONPATH=str(ROOT), RISKMAP_USER="测试员", PYTHONUNBUFFERED="1")
    server = subprocess.Popen([sys.executable, "-c", "from tests.journal_driver import serve; serve()"], cwd=ROOT,
                              env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
    rng = np.random.default_rng(20261204)
    oracle: dict = {}

    def expected(seed, k):
        if (seed, k) not in oracle:
            oracle[(seed, k)] = drv.comparable(drv.replay(k, seed).project)
        return oracle[(seed, k)]

    def one_run(directory, seed, after, delay):
        """Run a session; kill it ``delay`` s after it printed ``done {after}`` (never when ``after`` is None)."""
        server.stdin.write(f"run {directory} {seed} {n_edits}\n")
        server.stdin.flush()
        pid = int(server.stdout.readline().split()[1])
        done, killed = 0, False
        line = "done 0\n" if after == 0 else server.stdout.readline()
        while line != f"exit {pid}\n":
            if line.startswith("done "):
                done = max(done, int(line.split()[1]))
                if after is not None and not killed and done >= after:
                    time.sleep(delay)
                    with contextlib.suppress(ProcessLookupError):  # it may have finished first
                        os.kill(pid, signal.SIGKILL)
                    killed = True
            line = server.stdout.readline()
            assert line, "the fork server died"
        return done

    try:
        assert one_run(tmp_path / "whole", 1, None, 0) == n_edits  # a whole session, not killed
        outcomes = []
        for i in range(runs):
            directory = tmp_path / f"run{i}"
            directory.mkdir()
            seed = int(rng.integers(1, 10_000))
            k = one_run(directory, seed, int(rng.integers(0, n_edits)), float(rng.uniform(0.0, 0.02)))
            path = directory / "field.rmp"
            saved = Project.load(path) if path.exists() else None  # never corrupted: it must open
            os.environ[jn.RECOVERY_ENV] = str(directory / "recovery")
            pending = jn.pending_recoveries()
            assert len(pending) <= 1
            if pending:
                state = drv.comparable(pending[0].restore())
            else:
                state = drv.comparable(saved if saved is not None else Project())
            # the kill may land after edit k+1 was made durable but before "done k+1" was printed
            match = next((j for j in (k, k + 1) if j <= n_edits and state == expected(seed, j)), None)
            assert match is not None, f"run {i} (seed {seed}): restored state is not the one after edit {k}"
            outcomes.append((k, match, bool(pending)))
        killed_mid = [o for o in outcomes if 0 < o[0] < n_edits]
        assert len(killed_mid) >= 35, outcomes  # the kills really landed inside the sessions
        assert sum(o[2] for o in outcomes) >= 20, outcomes  # and recovery did the work, not the last save
    finally:
        server.stdin.close()
        server.wait(10)


def test_recovery_keeps_integer_and_yes_no_fields_with_nulls(tmp_path):
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry import Point

    project = Project()
    project.save(tmp_path / "p.rmp")
    journal = jn.Journal.start(project)
    gdf = gpd.GeoDataFrame({"人数": pd.array([3, None], dtype="Int64"), "已整改": pd.array([True, None], dtype="boolean")},
                           geometry=[Point(114.0, 32.1), Point(114.1, 32.2)], crs="EPSG:4326")
    project.add_vector(gdf, "编辑过的图层", layer_id="edited")
    crash(journal)
    (rec,) = jn.pending_recoveries()
    got = rec.restore().layers.by_id("edited").gdf
    assert str(got["人数"].dtype) == "Int64" and str(got["已整改"].dtype) == "boolean"
    assert got["人数"].tolist()[0] == 3 and pd.isna(got["人数"].tolist()[1])
