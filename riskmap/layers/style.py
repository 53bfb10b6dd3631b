"""Layer styles as plain data (JSON-serialisable): single, categorised, graduated, raster ramps."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from dataclasses import field as dc_field

import numpy as np

#: Named colour ramps (low → high) for graduated and raster styles.
RAMPS = {
    "population": ["#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026"],
    "terrain": ["#2b83ba", "#abdda4", "#ffffbf", "#e6c27a", "#c08a4a", "#8c5a3c", "#ffffff"],
    "reds": ["#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15"],
    "blues": ["#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"],
    "greys": ["#f7f7f7", "#cccccc", "#969696", "#636363", "#252525"],
    "viridis": ["#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"],
}

#: Colour-blind-safe qualitative palette for categories.
QUALITATIVE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
               "#bcbd22", "#17becf"]


@dataclass
class Style:
    """How a layer is drawn.

    ``mode`` is ``single``, ``categorized`` (``field`` + ``categories`` value → colour),
    ``graduated`` (``field`` + ascending ``breaks`` + ``colors``, one more colour than breaks)
    or ``raster`` (``ramp``, ``vmin``, ``vmax``, ``hillshade``).
    """

    mode: str = "single"
    color: str = "#3388ff"
    stroke: str = "#333333"
    width: float = 1.0
    size: float = 6.0
    fill_opacity: float = 0.35
    symbol: str = "circle"
    field: str | None = None
    categories: dict = dc_field(default_factory=dict)
    labels: dict = dc_field(default_factory=dict)
    breaks: list = dc_field(default_factory=list)
    colors: list = dc_field(default_factory=list)
    ramp: str = "population"
    vmin: float | None = None
    vmax: float | None = None
    log: bool = False
    hillshade: bool = False
    label_field: str | None = None
    dash: bool = False

    def to_dict(self) -> dict:
        """Plain dict for JSON."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Style":
        """Build from a dict, ignoring unknown keys (files from newer versions)."""
        known = {k: v for k, v in (data or {}).items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def colors_for(self, values) -> np.ndarray:
        """Hex colour per feature for ``values`` of :attr:`field` (array of str)."""
        n = len(values)
        if self.mode == "categorized" and self.field:
            keys = np.asarray(values, dtype=object).astype(str)
            out = np.full(n, self.color, dtype=object)
            for value, colour in self.categories.items():
                out[keys == str(value)] = colour
            return out
        if self.mode == "graduated" and self.field and self.colors:
            vals = np.asarray(values, dtype=float)
            idx = np.searchsorted(np.asarray(self.breaks, float), vals, side="right")
            idx = np.clip(idx, 0, len(self.colors) - 1)
            out = np.asarray(self.colors, dtype=object)[idx]
            out[~np.isfinite(vals)] = self.color
            return out
        return np.full(n, self.color, dtype=object)

    def legend(self) -> list[tuple[str, str]]:
        """``[(label, colour), ...]`` for a legend."""
        if self.mode == "categorized":
            return [(str(self.labels.get(k, k)), c) for k, c in self.categories.items()]
        if self.mode == "graduated" and self.colors:
            edges = ["–"] + [f"{b:g}" for b in self.breaks]
            out = []
            for i, colour in enumerate(self.colors):
                lo = edges[i] if i < len(edges) else ""
                hi = f"{self.breaks[i]:g}" if i < len(self.breaks) else "+"
                out.append((f"< {hi}" if i == 0 else (f"≥ {lo}" if hi == "+" else f"{lo} – {hi}"), colour))
            return out
        if self.mode == "raster":
            ramp = RAMPS.get(self.ramp, RAMPS["greys"])
            return [(f"{self.vmin:g}" if self.vmin is not None else "低", ramp[0]),
                    (f"{self.vmax:g}" if self.vmax is not None else "高", ramp[-1])]
        return []


def categorized(field_name: str, values, palette=None, labels=None, **kw) -> Style:
    """A categorised style giving each distinct value a palette colour."""
    palette = palette or QUALITATIVE
    uniques = [v for v in dict.fromkeys(str(v) for v in values if v is not None and str(v) != "nan")]
    cats = {v: palette[i % len(palette)] for i, v in enumerate(uniques)}
    return Style(mode="categorized", field=field_name, categories=cats, labels=dict(labels or {}), **kw)


def graduated(field_name: str, values, n_classes: int = 5, ramp: str = "reds", method: str = "quantile",
              **kw) -> Style:
    """A graduated style with ``n_classes`` quantile (or equal-interval) classes."""
    vals = np.asarray(values, dtype=float)
    vals = vals[np.isfinite(vals)]
    colors = hex_ramp(ramp, n_classes)
    if vals.size == 0:
        return Style(mode="graduated", field=field_name, breaks=[], colors=colors[:1], **kw)
    if method == "equal":
        breaks = np.linspace(vals.min(), vals.max(), n_classes + 1)[1:-1]
    else:
        breaks = np.quantile(vals, np.linspace(0, 1, n_classes + 1)[1:-1])
    breaks = [float(b) for b in np.unique(np.round(breaks, 6))]
    return Style(mode="graduated", field=field_name, breaks=breaks, colors=colors[:len(breaks) + 1], **kw)


def hex_ramp(name: str, n: int) -> list[str]:
    """``n`` colours interpolated along a named ramp."""
    stops = RAMPS.get(name, RAMPS["reds"])
    rgb = np.array([[int(s[i:i + 2], 16) for i in (1, 3, 5)] for s in stops], float)
    pos = np.linspace(0, len(stops) - 1, max(n, 1))
    out = []
    for p in pos:
        i = min(int(p), len(stops) - 2)
        t = p - i
        c = rgb[i] * (1 - t) + rgb[i + 1] * t
        out.append("#%02x%02x%02x" % tuple(int(round(v)) for v in c))
    return out


def ramp_lut(name: str, n: int = 256) -> np.ndarray:
    """An ``(n, 3)`` uint8 lookup table along a named ramp (for rasters)."""
    return np.array([[int(h[i:i + 2], 16) for i in (1, 3, 5)] for h in hex_ramp(name, n)], dtype=np.uint8)
