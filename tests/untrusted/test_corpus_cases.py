"""Issue 16 acceptance: riskmap's own collection of odd files (corpus_cases.py) through ``info`` and each analysis.

Every command must end with exit 0 or 2, never print a traceback, an internal error or a MemoryError, and on
exit 2 print exactly one line of riskmap's own; ``info`` must read or refuse each case as the case says.
The CLI runs in one subprocess (so a signal or a hang names the case that caused it).
"""
import json
import os
import subprocess
import sys
from pathlib import Path

from corpus_cases import CASES

from riskmap.analysis.registry import ANALYSES

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def test_every_odd_file_through_info_and_each_analysis(tmp_path):
    env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{HERE}", QT_QPA_PLATFORM="offscreen", RISKMAP_LANG="zh")
    run = subprocess.run([sys.executable, str(HERE / "corpus_cases.py"), str(tmp_path / "work")], env=env,
                         capture_output=True, text=True, timeout=280)
    records = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    started = [r for r in records if r.get("start")]
    done = [r for r in records if not r.get("start")]
    assert run.returncode == 0, (f"the corpus process died (exit {run.returncode}) during "
                                 f"{started[-1] if started else 'set-up'}: {run.stderr[-2000:]}")
    assert len(done) == len(started) == (1 + len(ANALYSES)) * len(CASES)
    for r in done:
        where = f"{r['case']} / {r['argv']}: {r['stderr'][-600:]}"
        assert r["code"] in (0, 2), where
        for bad in ("Traceback", "internal error", "内部错误", "MemoryError"):
            assert bad not in r["stderr"], where
        if r["code"] == 2:
            lines = r["stderr"].strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("riskmap: error: "), where
    info = {r["case"]: r for r in done if r["argv"] == "info"}
    for name, entry in CASES.items():
        r = info[name]
        assert r["code"] == (0 if entry.expect == "read" else 2), (name, r["stderr"])
        said = r["stdout"] + r["stderr"]
        for phrase in entry.says:
            assert phrase in said, (name, phrase, said[-800:])
    # the agency sheets are real plant lists: the relocation runs on them (not only refuses them)
    ran = {r["case"] for r in done if r["argv"] == "relocation" and r["code"] == 0}
    assert {"agency_title_rows.xlsx", "agency_title_rows_gbk.csv", "agency_aliases.xlsx"} <= ran
