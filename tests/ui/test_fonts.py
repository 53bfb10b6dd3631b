"""The CJK font registered with Qt has no radical aliases, so PDF text copies as drawn (风, not ⻛)."""
import pytest

from riskmap.ui.fonts import cjk_font_path, is_alias_code_point, write_unaliased_font


@pytest.mark.skipif(cjk_font_path() is None, reason="mplfonts not installed")
def test_unaliased_font_keeps_every_glyph_and_drops_only_shared_aliases(tmp_path):
    from fontTools.ttLib import TTFont

    source = cjk_font_path()
    target = tmp_path / "font.otf"
    dropped = write_unaliased_font(source, target)
    before = TTFont(str(source), lazy=True)["cmap"].getBestCmap()
    after = TTFont(str(target), lazy=True)["cmap"].getBestCmap()
    assert before[0x2EDB] == before[0x98CE]  # ⻛ and 风 share one glyph in the original
    assert 0x2EDB not in after and after[0x98CE] == before[0x98CE]
    assert dropped == len(set(before) - set(after)) > 100
    assert all(is_alias_code_point(cp) for cp in set(before) - set(after))
    assert set(before.values()) == set(after.values())  # no glyph lost its last code point
    glyph_cps = {}
    for cp, glyph in after.items():
        glyph_cps.setdefault(glyph, []).append(cp)
    # no glyph is reached both from an alias and from an ordinary code point (aliases of each other may stay)
    shared = [cps for cps in glyph_cps.values()
              if any(map(is_alias_code_point, cps)) and not all(map(is_alias_code_point, cps))]
    assert shared == []


def test_a_new_application_gets_the_font_again(tmp_path):
    """A headless print or atlas makes and drops its own application; the next one must load the font again."""
    import os
    import subprocess
    import sys

    script = (
        "import gc\n"
        "from PyQt5.QtGui import QFontDatabase, QGuiApplication\n"
        "from riskmap.ui.fonts import register_cjk_font\n"
        "app = QGuiApplication(['t']); fam = register_cjk_font(); del app; gc.collect()\n"
        "app = QGuiApplication(['t']); assert register_cjk_font() == fam\n"
        "print(fam in QFontDatabase().families())\n")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "RISKMAP_CACHE_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "True"
