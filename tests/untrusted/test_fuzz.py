"""Issue 18 §5: a bounded, seeded mutation fuzz over the readers and the analysis entry points.

Byte flips, truncations, duplications and insertions of small valid .geojson/.shp/.dbf/.shx/.tif files go
through ``riskmap info`` and ``riskmap relocation`` / ``pipelines`` in one subprocess (so that a signal
is seen as a signal, not as a dead test runner). Every case must end with exit 0 or 2 and, on 2, one
line of riskmap's own message; no case may print a traceback or an internal error. Bounded to ~45 s.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def test_mutated_files_never_crash_or_leak_a_traceback(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
    run = subprocess.run([sys.executable, str(HERE / "fuzz_driver.py"), str(tmp_path), "18", "400", "40"],
                         env=env, capture_output=True, text=True, timeout=240)
    records = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    started = [r for r in records if r.get("start")]
    done = [r for r in records if not r.get("start")]
    assert run.returncode == 0, (f"the fuzz process died (exit {run.returncode}) during "
                                 f"{started[-1] if started else 'set-up'}: {run.stderr[-2000:]}")
    assert len(done) == len(started) >= 60, "too few cases ran"
    bad = [r for r in done if r["code"] not in (0, 2) or "Traceback" in r["stderr"]
           or (r["code"] == 2 and r["stderr"].strip().count("\n") != 0)]
    assert not bad, bad[:5]
    assert sum(r["code"] == 2 for r in done) >= 10  # the mutations do break files (the fuzz is not idle)
