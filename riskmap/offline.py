"""Keep riskmap offline: no library it uses may call the network because of a data file.

Data files come from enterprises and other agencies; a GeoJSON whose ``crs`` is a link,
a VRT pointing at ``/vsicurl/`` or a PROJ grid lookup would otherwise make GDAL or PROJ
fetch a URL. :func:`apply` sets, before GDAL or PROJ are used:

- ``PROJ_NETWORK=OFF`` (and ``pyproj.network.set_network_enabled(False)`` in
  :mod:`riskmap.crs`): no PROJ CDN grid downloads;
- ``GDAL_HTTP_PROXY`` / ``GDAL_HTTPS_PROXY`` to a closed local port: GDAL has no switch
  that turns libcurl off, but every ``CPLHTTPFetch`` and ``/vsicurl/`` request then fails at
  once without resolving or contacting the host named in the file (``NO_PROXY`` is cleared
  so that no host escapes the proxy);
- ``GDAL_HTTP_MAX_RETRY=0``, ``GDAL_HTTP_TIMEOUT=1``: a refused request fails at once;
- ``CPL_VSIL_CURL_ALLOWED_EXTENSIONS`` set to an extension no file has: no ``/vsicurl/`` read.

GDAL reads these as configuration options from the environment on every call, so they
hold for both GDAL copies in the process (pyogrio's and rasterio's).
"""
from __future__ import annotations

import os

#: A local address nothing listens on (TCP port 1, "tcpmux", is never served).
DEAD_PROXY = "127.0.0.1:1"

SETTINGS = {
    "PROJ_NETWORK": "OFF",
    "GDAL_HTTP_PROXY": DEAD_PROXY,
    "GDAL_HTTPS_PROXY": DEAD_PROXY,
    "GDAL_HTTP_MAX_RETRY": "0",
    "GDAL_HTTP_TIMEOUT": "1",
    "GDAL_HTTP_CONNECTTIMEOUT": "1",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".riskmap-offline",
}


def apply() -> None:
    """Set the offline configuration in the environment (idempotent)."""
    for key, value in SETTINGS.items():
        os.environ[key] = value
    for key in ("NO_PROXY", "no_proxy"):
        os.environ.pop(key, None)
