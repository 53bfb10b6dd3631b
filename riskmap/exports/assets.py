"""Leaflet, plugin and font assets inlined into self-contained HTML maps.

Nothing here is copied into the riskmap repository: every asset is read at export time
from an installed Python package.

- JavaScript and CSS come from the ``folium-offline`` distribution (import name
  ``offlinefolium``, MIT). It ships Leaflet 1.9.3 and folium's plugins as string constants
  keyed by their CDN address in ``offlinefolium/elements.py`` (CSS images are already
  ``data:`` URIs there). That module is read with :mod:`ast`, never imported: importing the
  package would compile several MB of modules, and reading literals executes no code.
- The Chinese font is a subset of Noto Sans CJK SC (SIL Open Font License) from the
  ``mplfonts`` package, cut with fontTools to just the characters a page uses, so that
  Chinese shows as real glyphs on a machine without CJK fonts.
"""
from __future__ import annotations

import ast
import base64
import hashlib
import importlib.util
import io
import os
import re
import threading
from functools import lru_cache
from pathlib import Path

from riskmap.errors import DataFormatError
from riskmap.i18n import tr

#: The Python distribution and import name that provide Leaflet and its plugins.
ASSET_DISTRIBUTION = "folium-offline"
ASSET_PACKAGE = "offlinefolium"

_LEAFLET = "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/"
_CLUSTER = "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/"

#: Asset bundles by feature: ordered lists of (kind, key in the package's asset table).
BUNDLES: dict[str, list[tuple[str, str]]] = {
    "leaflet": [("css", _LEAFLET + "leaflet.css"), ("js", _LEAFLET + "leaflet.js")],
    "markercluster": [("css", _CLUSTER + "MarkerCluster.css"), ("css", _CLUSTER + "MarkerCluster.Default.css"),
                      ("js", _CLUSTER + "leaflet.markercluster.js")],
    "heat": [("js", "https://cdn.jsdelivr.net/gh/python-visualization/folium@main/folium/templates/"
                    "leaflet_heat.min.js")],
    "measure": [("css", "https://cdn.jsdelivr.net/gh/ljagis/leaflet-measure@2.1.7/dist/leaflet-measure.min.css"),
                ("js", "https://cdn.jsdelivr.net/gh/ljagis/leaflet-measure@2.1.7/dist/leaflet-measure.min.js")],
    "fullscreen": [("css", "https://cdn.jsdelivr.net/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.css"),
                   ("js", "https://cdn.jsdelivr.net/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.min.js")],
    "groupedlayers": [
        ("css", "https://cdnjs.cloudflare.com/ajax/libs/leaflet-groupedlayercontrol/0.6.1/"
                "leaflet.groupedlayercontrol.min.css"),
        ("js", "https://cdnjs.cloudflare.com/ajax/libs/leaflet-groupedlayercontrol/0.6.1/"
               "leaflet.groupedlayercontrol.min.js")],
}

#: The Noto Sans CJK SC font file inside the mplfonts package.
CJK_FONT_FILE = "NotoSansCJKsc-Regular.otf"
#: CSS family name under which the embedded subset is declared.
CJK_FONT_FAMILY = "RiskmapCJK"

_CJK_RE = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\u3000-\u303f\u00b7\u2014-\u2027]")


def _package_dir(name: str, distribution: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise DataFormatError(tr(f"未安装 Python 包“{distribution}”（离线 HTML 导出所需的地图资源由它提供）："
                                 f"请运行 `pip install {distribution}`",
                                 f"the Python package {distribution!r} is not installed; it provides the map "
                                 f"assets for offline HTML export: run `pip install {distribution}`"))
    return Path(list(spec.submodule_search_locations)[0])


@lru_cache(maxsize=1)
def asset_table() -> dict[str, str]:
    """``{CDN address: file text}`` of every asset the installed ``folium-offline`` ships.

    Raises
    ------
    DataFormatError
        If the package is missing or its asset table cannot be read.
    """
    path = _package_dir(ASSET_PACKAGE, ASSET_DISTRIBUTION) / "elements.py"
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError, UnicodeDecodeError) as exc:
        raise DataFormatError(tr(f"无法读取地图资源（{exc}），请重新安装 {ASSET_DISTRIBUTION}",
                                 f"cannot read the map assets ({exc}); reinstall {ASSET_DISTRIBUTION}"), path) from exc
    table: dict[str, str] = {}
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
            continue
        target = node.targets[0]
        if (isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) and target.value.id == "_res"
                and isinstance(target.slice, ast.Constant) and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)):
            table[str(target.slice.value)] = node.value.value
    if not table:
        raise DataFormatError(tr(f"找不到地图资源，请重新安装 {ASSET_DISTRIBUTION}",
                                 f"no map assets found; reinstall {ASSET_DISTRIBUTION}"), path)
    return table


def asset_text(key: str) -> str:
    """Text of one asset by its key (CDN address) in :func:`asset_table`."""
    table = asset_table()
    if key not in table:
        raise DataFormatError(tr(f"已安装的 {ASSET_DISTRIBUTION} 缺少 {key.rsplit('/', 1)[-1]}，请安装 0.20 或更高版本",
                                 f"the installed {ASSET_DISTRIBUTION} lacks {key.rsplit('/', 1)[-1]}; "
                                 f"install version 0.20 or later"))
    return table[key]


def bundle(*names: str) -> tuple[list[str], list[str]]:
    """``(css_texts, js_texts)`` for the named bundles (see :data:`BUNDLES`), in load order.

    Texts are made safe to place inside ``<style>``/``<script>`` elements.
    """
    css, js = [], []
    for name in names:
        for kind, key in BUNDLES[name]:
            text = asset_text(key)
            if kind == "css":
                css.append(re.sub(r"</(style)", r"<\\/\1", text, flags=re.I))
            else:
                js.append(re.sub(r"</(script)", r"<\\/\1", text, flags=re.I))
    return css, js


def asset_versions() -> dict[str, str]:
    """Short description of the bundled libraries (for the page's provenance comment)."""
    return {name: ", ".join(key.rsplit("/", 1)[-1] for _kind, key in entries) for name, entries in BUNDLES.items()}


# ---------------------------------------------------------------------------
# Chinese font subset
# ---------------------------------------------------------------------------
def cjk_font_path() -> Path:
    """Path of Noto Sans CJK SC in the installed ``mplfonts`` package."""
    path = _package_dir("mplfonts", "mplfonts") / "fonts" / CJK_FONT_FILE
    if not path.exists():
        raise DataFormatError(tr(f"mplfonts 包缺少 {CJK_FONT_FILE}，请重新安装 mplfonts",
                                 f"the mplfonts package lacks {CJK_FONT_FILE}; reinstall mplfonts"), path)
    return path


def cjk_characters(text: str) -> str:
    """The distinct CJK (and full-width) characters of ``text``, sorted."""
    return "".join(sorted(set(_CJK_RE.findall(text))))


_font_lock = threading.Lock()


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "riskmap" / "fonts"


def font_subset_woff(chars: str) -> bytes:
    """A WOFF font with just ``chars`` from Noto Sans CJK SC (cached on disk by character set).

    Subsetting the 16 MB font takes a second or two; the result for a given set of
    characters is kept in the user's cache directory, so re-exporting a map is quick.
    """
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font_path = cjk_font_path()
    digest = hashlib.sha1((font_path.name + str(font_path.stat().st_size) + chars).encode("utf-8")).hexdigest()
    cache = _cache_dir() / f"{digest[:20]}.woff"
    with _font_lock:
        try:
            return cache.read_bytes()
        except OSError:
            pass
        options = subset.Options()
        options.flavor = "woff"
        options.layout_features = []
        options.name_IDs = [0, 1, 2, 3, 4, 5, 6]  # keep the copyright/licence-relevant names
        options.hinting = False
        options.notdef_outline = True
        options.glyph_names = False
        # skip the recalculations that run every CFF charstring of the 65k-glyph font (seconds);
        # the original font-wide bounds and averages are still valid for a subset
        options.recalc_bounds = False
        options.recalc_average_width = False
        options.recalc_max_context = False
        options.prune_unicode_ranges = False
        font = TTFont(str(font_path), lazy=True, recalcBBoxes=False)
        subsetter = subset.Subsetter(options)
        subsetter.populate(text=chars)
        subsetter.subset(font)
        out = io.BytesIO()
        font.flavor = "woff"
        font.save(out)
        data = out.getvalue()
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, cache)
        except OSError:
            pass  # a read-only home: just no cache
        return data


def font_face_css(text: str, family: str = CJK_FONT_FAMILY) -> str:
    """An ``@font-face`` rule embedding the CJK glyphs ``text`` needs ('' when it has none)."""
    chars = cjk_characters(text)
    if not chars:
        return ""
    data = base64.b64encode(font_subset_woff(chars)).decode("ascii")
    return (f'@font-face{{font-family:"{family}";font-style:normal;font-weight:400;font-display:block;'
            f'src:url(data:font/woff;base64,{data}) format("woff");}}')
