"""Issue 18 §2: no data file makes riskmap call the network.

The oracle is a local HTTP server that records every request; the hostile files name it. GDAL's
libcurl does not go through Python's sockets, so the server (not a socket patch) is what sees a
C-level fetch; Python-level connections are caught by a socket guard as well.
"""
from __future__ import annotations

import http.server
import socket
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from hostile import geojson_with_crs
from riskmap import io

ROOT = Path(__file__).resolve().parents[2]


class _Recorder(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.server.requests.append(self.path)
        self.send_response(404)
        self.end_headers()

    do_HEAD = do_GET

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def socket_guard(monkeypatch):
    """Any Python-level outgoing connection fails the test."""
    attempts = []

    def connect(self, address, *args, **kwargs):
        attempts.append(address)
        raise AssertionError(f"network connection attempted to {address}")

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect)
    monkeypatch.setattr(socket, "create_connection", lambda address, *a, **k: connect(None, address))
    yield attempts


def hostile_files(folder: Path, base: str) -> dict:
    """``{label: path}`` of files each of which names ``base`` (http://127.0.0.1:PORT) somewhere GDAL looks."""
    files = {}
    for kind in ("link", "name"):
        path = folder / f"crs_{kind}.geojson"
        path.write_text(geojson_with_crs(f"{base}/crs/{kind}", kind), encoding="utf-8")
        files[f"geojson crs {kind}"] = path
    vrt = folder / "remote.vrt"
    vrt.write_text(f'<OGRVRTDataSource><OGRVRTLayer name="r"><SrcDataSource>/vsicurl/{base}/vrt.geojson'
                   '</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>')
    files["vrt /vsicurl source"] = vrt
    kml = folder / "network_link.kml"
    kml.write_text('<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
                   f'<NetworkLink><Link><href>{base}/kml/link.kml</href></Link></NetworkLink>'
                   '<Placemark><name>甲</name><Point><coordinates>114.1,32.1</coordinates></Point></Placemark>'
                   '</Document></kml>', encoding="utf-8")
    files["kml NetworkLink"] = kml
    shp = folder / "prj_url.shp"
    gpd.GeoDataFrame({"name": ["甲"]}, geometry=[shapely.Point(114.1, 32.1)], crs=4490).to_file(shp)
    shp.with_suffix(".prj").write_text(f"{base}/prj")
    files["shapefile .prj url"] = shp
    gpkg = folder / "srs_url.gpkg"
    gpd.GeoDataFrame({"name": ["甲"]}, geometry=[shapely.Point(114.1, 32.1)], crs=4490).to_file(gpkg)
    with sqlite3.connect(gpkg) as con:
        con.execute("UPDATE gpkg_spatial_ref_sys SET definition = ?, organization = 'x', "
                    "organization_coordsys_id = 1 WHERE srs_id = 4490", (f"{base}/gpkg",))
    con.close()
    files["geopackage srs url"] = gpkg
    return files


def _read_all(files: dict) -> None:
    from riskmap.errors import RiskmapError

    for label, path in files.items():
        try:
            io.describe(path)
        except RiskmapError:
            pass  # refusing the file is fine; fetching its URL is not


def test_no_reader_fetches_a_url_named_in_a_file(tmp_path, server, socket_guard):
    base = f"http://127.0.0.1:{server.server_address[1]}"
    _read_all(hostile_files(tmp_path, base))
    assert server.requests == []
    assert socket_guard == []


def test_a_crs_url_given_by_the_user_is_not_fetched(server, socket_guard):
    from riskmap import crs as crs_policy
    from riskmap.errors import CRSError

    with pytest.raises(CRSError):
        crs_policy.parse_crs(f"http://127.0.0.1:{server.server_address[1]}/def/crs/EPSG/0/4490")
    assert server.requests == [] and socket_guard == []


def test_proj_network_is_off():
    import pyproj.network

    assert pyproj.network.is_network_enabled() is False


def test_riskmap_info_in_a_subprocess_requests_nothing(tmp_path, server):
    """The whole program, as a user runs it: every hostile file through ``riskmap info``."""
    base = f"http://127.0.0.1:{server.server_address[1]}"
    files = hostile_files(tmp_path, base)
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "NO_PROXY": "127.0.0.1",
           "no_proxy": "*"}
    for label, path in files.items():
        run = subprocess.run([sys.executable, "-m", "riskmap", "info", str(path)], env=env, capture_output=True,
                             text=True, timeout=60)
        assert run.returncode in (0, 2), (label, run.stderr)
        assert "Traceback" not in run.stderr, (label, run.stderr)
    assert server.requests == []
