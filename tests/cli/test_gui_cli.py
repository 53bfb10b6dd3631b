"""``riskmap gui``: arguments, headless screenshot of the sample window, errors without tracebacks."""
import os
import subprocess
import sys

import numpy as np
import pytest

from riskmap.cli import build_parser

pytestmark = pytest.mark.gui


def run_cli(*args, tmp_path, timeout=180):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", RISKMAP_SETTINGS=str(tmp_path / "settings.ini"))
    return subprocess.run([sys.executable, "-m", "riskmap.cli", *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


def test_gui_is_a_registered_command():
    args = build_parser().parse_args(["gui", "a.rmp", "--screenshot", "out.png", "--lang", "en"])
    assert args.command == "gui" and args.project == ["a.rmp"] and args.screenshot == "out.png"
    assert args.lang == "en"
    args = build_parser().parse_args(["gui"])
    assert args.project == [] and not args.sample  # no project → the sample


def test_parser_does_not_import_qt():
    code = "import sys, riskmap.cli as c; c.build_parser(); print(any(m.startswith('PyQt5') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_missing_project_is_one_line_and_exit_2(tmp_path):
    result = run_cli("gui", str(tmp_path / "nope.rmp"), "--screenshot", str(tmp_path / "x.png"), tmp_path=tmp_path)
    assert result.returncode == 2
    assert "nope.rmp" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.png").exists()


def test_bad_size_is_exit_2(tmp_path):
    result = run_cli("gui", "--screenshot", str(tmp_path / "x.png"), "--size", "big", tmp_path=tmp_path)
    assert result.returncode == 2 and "--size" in result.stderr and "Traceback" not in result.stderr




def _colour_share(rgb, hex_colour, tol=30):
    target = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)])
    return float(np.mean(np.all(np.abs(rgb.astype(int) - target) <= tol, axis=-1)))


@pytest.mark.slow
def test_sample_screenshot_shows_the_map(tmp_path):
    from PyQt5.QtGui import QImage

    out = tmp_path / "gui.png"
    result = run_cli("gui", "--sample", "--screenshot", str(out), "--size", "1200x800", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "wrote" in result.stdout and out.exists()
    image = QImage(str(out)).convertToFormat(QImage.Format_RGB888)
    assert (image.width(), image.height()) == (1200, 800)
    ptr = image.constBits()
    ptr.setsize(image.sizeInBytes())
    rgb = np.frombuffer(ptr, np.uint8).reshape(image.height(), image.bytesPerLine())[:, :image.width() * 3]
    rgb = rgb.reshape(image.height(), image.width(), 3)
    assert rgb.std() > 20  # not blank
    assert len(np.unique(rgb.reshape(-1, 3), axis=0)) > 500  # a map, not a few flat panels
    # overlays of the sample in their style colours
    from riskmap.exports.sample_project import SAMPLE_STYLES

    for what, colour in (("hazchem enterprises", SAMPLE_STYLES["enterprises"][1].categories["hazchem"]),
                         ("expressways", SAMPLE_STYLES["roads"][1].categories["expressway"]),
                         ("oil pipelines", SAMPLE_STYLES["pipelines"][1].categories["oil"]),
                         ("water", SAMPLE_STYLES["water"][1].color)):
        assert _colour_share(rgb, colour) > 0.0002, what
