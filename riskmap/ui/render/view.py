"""The view a render covers (extent, size, DPI), fitting extents to images, cancellation."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from PyQt5.QtGui import QImage

from riskmap import crs as crs_policy

class RenderCancelled(Exception):
    """Raised inside a render when its snapshot was cancelled (a newer view superseded it)."""


# ---------------------------------------------------------------------------------------
# the view
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MapView:
    """What a render covers: ``extent`` (map CRS) drawn into ``width × height`` device pixels.

    ``dpi`` scales symbol sizes, line widths and fonts (styles are in pixels at 96 dpi).
    """

    extent: tuple
    width: int
    height: int
    dpi: float = 96.0
    map_crs: object = field(default=crs_policy.MAP_CRS, compare=False, hash=False)
    #: WKT of the map CRS and whether it is geographic, fixed on the creating (GUI) thread:
    #: workers use these and never touch a shared pyproj object (not thread-safe).
    crs_wkt: str = field(default="", compare=False, hash=False)
    geographic: bool = field(default=True, compare=False, hash=False)

    def __post_init__(self):
        if not self.crs_wkt:
            object.__setattr__(self, "crs_wkt", crs_policy.crs_wkt(self.map_crs))
            object.__setattr__(self, "geographic", crs_policy.is_geographic(self.crs_wkt))

    @property
    def scale(self) -> float:
        """Device pixels per style pixel (``dpi / 96``)."""
        return self.dpi / 96.0

    @property
    def sx(self) -> float:
        return self.width / max(self.extent[2] - self.extent[0], 1e-300)

    @property
    def sy(self) -> float:
        return self.height / max(self.extent[3] - self.extent[1], 1e-300)

    @property
    def key(self) -> tuple:
        """Hashable identity of the view for image caches."""
        return (tuple(round(v, 12) for v in self.extent), int(self.width), int(self.height), round(self.dpi, 3))

    def to_pixels(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """Map coordinates → device pixel coordinates (numpy, vectorised)."""
        minx, _, _, maxy = self.extent
        return (np.asarray(x, float) - minx) * self.sx, (maxy - np.asarray(y, float)) * self.sy


def aspect_factor(map_crs, lat: float, geographic: bool | None = None) -> float:
    """Map x units per pixel divided by y units per pixel for an undistorted look.

    In a geographic map CRS a degree of longitude is ``cos(lat)`` times shorter than a
    degree of latitude, so views are stretched by ``1 / cos(lat)`` in x (at Xinyang,
    32° N, 1.18); projected CRSs use 1.
    """
    if geographic is None:
        try:
            geographic = crs_policy.is_geographic(map_crs)
        except Exception:  # noqa: BLE001 - an unusual CRS object: draw it square
            geographic = False
    if not geographic or not np.isfinite(lat):
        return 1.0
    return 1.0 / math.cos(math.radians(min(abs(float(lat)), 80.0)))


def fit_extent(bbox, width: int, height: int, map_crs=crs_policy.MAP_CRS, aspect: float | None = None) -> tuple:
    """``bbox`` grown (about its centre) to the shape of a ``width × height`` image.

    ``aspect`` is x-units-per-pixel over y-units-per-pixel (default :func:`aspect_factor`
    at the box's centre latitude).
    """
    minx, miny, maxx, maxy = (float(v) for v in bbox)
    cx, cy = (minx + maxx) / 2.0, (miny + maxy) / 2.0
    if aspect is None:
        aspect = aspect_factor(map_crs, cy)
    w = max(maxx - minx, 1e-9)
    h = max(maxy - miny, 1e-9)
    res_y = max(w / aspect / max(width, 1), h / max(height, 1))
    half_w = res_y * aspect * width / 2.0
    half_h = res_y * height / 2.0
    return (cx - half_w, cy - half_h, cx + half_w, cy + half_h)



def new_image(view: MapView) -> QImage:
    img = QImage(max(1, int(view.width)), max(1, int(view.height)), QImage.Format_ARGB32_Premultiplied)
    img.fill(0)
    dpm = int(round(view.dpi / 0.0254))
    img.setDotsPerMeterX(dpm)
    img.setDotsPerMeterY(dpm)
    return img

