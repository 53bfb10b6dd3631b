"""The layers of the code (docs/design-decisions.md, "Layer contracts") are checked, not only described.

``lint-imports`` reads the contracts in setup.cfg ([importlinter]): each layer imports only the layers below it, and
no PyQt5 outside riskmap.ui and riskmap.app. The rule "analyses import no io writers" is checked here by name,
because readers and writers share the module riskmap.io and import-linter checks modules.
"""
import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The writers of riskmap.io: an analysis returns frames and layers, the CLI/GUI/exports write them.
IO_WRITERS = {"write_layers", "write_excel", "atomic_path", "_write_shapefile_atomic"}

# Known exceptions, to be removed when report writing moves to riskmap/exports (in progress elsewhere):
# (module file, function) pairs where an analysis module still writes a file today.
KNOWN_WRITERS = {
    ("register.py", "export_gpkg"),
    ("register.py", "export_excel"),
    ("relocation.py", "write_report"),
}


def test_import_contracts_kept():
    exe = Path(sys.executable).with_name("lint-imports")
    assert exe.exists(), f"import-linter is a test dependency (pip install -e .[test]); {exe} not found"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([str(exe), "--no-cache"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "broken" in done.stdout and " 0 broken" in done.stdout, done.stdout


def _io_writer_uses(path: Path):
    """(function name, writer) for every use of a riskmap.io writer in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []

    def walk(node, func):
        for child in ast.iter_child_nodes(node):
            name = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) and func is None else func
            if isinstance(child, ast.ImportFrom) and child.module == "riskmap.io":
                found.extend((name, a.name) for a in child.names if a.name in IO_WRITERS or a.name == "*")
            elif isinstance(child, ast.Attribute) and child.attr in IO_WRITERS:
                found.append((name, child.attr))
            walk(child, name)

    walk(tree, None)
    return found


def test_analysis_imports_no_io_writers():
    offenders = []
    for path in sorted((ROOT / "riskmap" / "analysis").glob("*.py")):
        for func, writer in _io_writer_uses(path):
            if (path.name, func) not in KNOWN_WRITERS:
                offenders.append(f"{path.name}:{func or '<module>'} uses riskmap.io.{writer}")
    assert not offenders, "analyses return results; writing belongs to riskmap/exports, the CLI or the GUI:\n" + \
        "\n".join(offenders)


def test_writer_check_sees_writers(tmp_path):
    """The name check itself finds both spellings (guards against a check that can never fail)."""
    probe = tmp_path / "probe.py"
    probe.write_text("from riskmap import io\n"
                     "def a(p, s):\n    from riskmap.io import write_layers\n    return write_layers(p, s)\n"
                     "def b(p, s):\n    return io.write_excel(p, s)\n", encoding="utf-8")
    assert set(_io_writer_uses(probe)) == {("a", "write_layers"), ("b", "write_excel")}
