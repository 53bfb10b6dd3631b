"""Issue 18 acceptance: no signal, hang, internal error or MemoryError on riskmap's corpus.

Two seeded, bounded runs of ``corpus_driver.py`` in a subprocess (a signal is seen as a signal, a hang as a
timeout naming the case that was running, and the address space is capped so that a runaway allocation is a
MemoryError rather than a swapping machine):

- ``fuzz``: generated files (odd geometries: empty, one-vertex, repeated, Z, wrong kind; odd values: NaN,
  ±1e308, text, JSON lists, 3000-character names; NaN/Infinity tokens, GBK CSVs) and byte mutations of small
  valid inputs, through ``riskmap info`` and ``riskmap roads`` / ``tailings`` / ``pipelines``;
- ``package``: the vector/raster/table test data installed packages ship (pyogrio's fixtures, geopandas'
  test data, numpy's and scipy's test tables) and package files renamed to formats riskmap reads, through
  ``riskmap info`` and, when readable, each analysis.

Rule for every command: exit 0, or exit 2 with exactly one line ``riskmap: error: …`` (a typed RiskmapError);
never a traceback, an internal error or a MemoryError; each command under 30 s.
"""
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
#: Address-space cap of the driver process (its peak virtual size is about 1.8 GB).
ADDRESS_SPACE = 6 << 30
PER_COMMAND_S = 30.0


def _cap_memory():
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def _drive(*args, timeout: float) -> list[dict]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
    try:
        run = subprocess.run([sys.executable, str(HERE / "corpus_driver.py"), *map(str, args)], env=env,
                             capture_output=True, text=True, timeout=timeout, preexec_fn=_cap_memory)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        started = [line for line in out.splitlines() if '"start": true' in line]
        pytest.fail(f"the corpus run hung (> {timeout} s) during {started[-1] if started else 'set-up'}")
    records = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    started = [r for r in records if r.get("start")]
    assert run.returncode == 0, (f"the corpus process died (exit {run.returncode}) during "
                                 f"{started[-1] if started else 'set-up'}: {run.stderr[-2000:]}")
    done = [r for r in records if "code" in r]
    assert len(done) == len(started), "a command never finished"
    return records


def _broken(done: list[dict]) -> list[dict]:
    def bad(r):
        err = r["stderr"]
        if r["code"] not in (0, 2) or any(w in err for w in ("Traceback", "internal error", "MemoryError")):
            return True
        if r["code"] == 2 and (err.strip().count("\n") or not err.startswith("riskmap: error: ")):
            return True
        return r["seconds"] > PER_COMMAND_S
    return [{k: r.get(k) for k in ("case", "role", "how", "target", "file", "argv", "code", "seconds", "stderr")}
            for r in done if bad(r)]


def test_generated_and_mutated_roads_tailings_pipelines_never_crash(tmp_path):
    records = _drive("fuzz", tmp_path, 18, 240, 25, timeout=240)
    done = [r for r in records if "code" in r]
    assert not _broken(done), _broken(done)[:5]
    assert len(done) >= 2 * 60, "too few cases ran"
    for role in ("roads", "tailings", "pipelines"):
        runs = [r for r in done if r["argv"] == role]
        for how in ("generated", "mutated"):
            codes = {r["code"] for r in runs if r["how"] == how}
            assert codes == {0, 2}, (role, how, codes)  # files that pass and files that are refused: not idle
    assert records[-1]["peak_rss_mb"] < 3000, records[-1]


def test_package_test_data_through_info_and_the_analyses(tmp_path):
    import geopandas

    site = Path(geopandas.__file__).resolve().parents[1]
    records = _drive("package", tmp_path, site, 40, timeout=240)
    files = records[0]["files"]
    done = [r for r in records if "code" in r]
    assert not _broken(done), _broken(done)[:5]
    infos = {r["file"] for r in done if r["argv"] == "info"}
    assert infos == set(files), "the time budget cut the corpus short"
    assert {"proj_db.gpkg", "icon.tif"} <= infos  # the renamed files
    if (site / "pyogrio" / "tests" / "fixtures").is_dir():
        assert "pyogrio/tests/fixtures/line_zm.gpkg" in infos
        analysed = {(r["file"], r["argv"]) for r in done if r["argv"] != "info"}
        assert ("pyogrio/tests/fixtures/line_zm.gpkg", "roads") in analysed
        codes = {r["code"] for r in done if r["argv"] == "roads"}
        assert codes == {0, 2}  # some package lines are roads riskmap analyses, polygons are refused
    assert records[-1]["peak_rss_mb"] < 3000, records[-1]
