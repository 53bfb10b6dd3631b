"""The model, analyses, I/O and CLI never import PyQt5 (DESIGN.md: no Qt below riskmap/ui)."""
import pkgutil
import subprocess
import sys
from pathlib import Path

import riskmap

ROOT = Path(riskmap.__file__).parent


def _non_ui_modules():
    names = []
    for info in pkgutil.walk_packages([str(ROOT)], prefix="riskmap."):
        if info.name.startswith("riskmap.ui") or info.name == "riskmap.app" or info.name.endswith("__main__"):
            continue
        names.append(info.name)
    return names


def test_non_ui_modules_do_not_import_pyqt5():
    modules = _non_ui_modules()
    assert "riskmap.io" in modules and "riskmap.layers" in modules and "riskmap.cli" in modules
    code = (
        "import importlib, sys\n"
        f"mods = {modules!r}\n"
        "for m in mods:\n"
        "    importlib.import_module(m)\n"
        "bad = sorted(k for k in sys.modules if k.startswith('PyQt5'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"PyQt5 imported by a non-UI module: {out.stdout}"


def test_no_static_pyqt5_import_outside_ui():
    offenders = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("ui/") or rel == "app.py":
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            if stripped.startswith(("import PyQt5", "from PyQt5")) and not line.startswith((" ", "\t")):
                offenders.append(f"{rel}: {stripped}")
    assert not offenders, offenders
