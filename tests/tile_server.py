"""A local XYZ tile server for tests: generated PNG tiles on 127.0.0.1, some slow, some failing."""
from __future__ import annotations

import re
import struct
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

COLOURS = ((200, 60, 40), (40, 90, 200))


def png_bytes(rgb: np.ndarray) -> bytes:
    """An ``(h, w, 3)`` (RGB) or ``(h, w, 4)`` (RGBA) uint8 array as PNG (no Qt, so the server thread
    needs nothing)."""
    h, w = rgb.shape[:2]
    colour_type = 6 if rgb.shape[2] == 4 else 2
    raw = b"".join(b"\x00" + np.ascontiguousarray(rgb[r]).tobytes() for r in range(h))

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, colour_type, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def checker_tile(z: int, x: int, y: int) -> bytes:
    """A solid tile, red or blue by the parity of x + y."""
    rgb = np.empty((256, 256, 3), np.uint8)
    rgb[:] = COLOURS[(x + y) % 2]
    return png_bytes(rgb)


class TileServer:
    """``with TileServer() as server: server.url`` → ``http://127.0.0.1:PORT/{z}/{x}/{y}.png``.

    ``tile(z, x, y) -> bytes`` makes the tiles (``overlay`` those whose URL says ``overlay``); ``status(z, x, y) -> int`` may answer an error
    code; ``delay(z, x, y) -> seconds`` slows some. ``requests`` lists every (z, x, y) asked for.
    """

    def __init__(self, tile=checker_tile, status=None, delay=None, overlay=None):
        self.tile = tile
        self.overlay = overlay
        self.status = status or (lambda z, x, y: 200)
        self.delay = delay or (lambda z, x, y: 0.0)
        self.requests: list = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                m = re.match(r"^/(\d+)/(\d+)/(\d+)\.png", self.path)
                if not m:
                    self.send_error(400)
                    return
                z, x, y = (int(v) for v in m.groups())
                with server._lock:
                    server.requests.append((z, x, y))
                wait = server.delay(z, x, y)
                if wait:
                    time.sleep(wait)
                code = server.status(z, x, y)
                if code != 200:
                    self.send_error(code)
                    return
                make = server.overlay if "overlay" in self.path and server.overlay else server.tile
                body = make(z, x, y)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/{{z}}/{{x}}/{{y}}.png"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def stop(self) -> None:
        """Stop serving and close the port (later requests are refused)."""
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        try:
            self.stop()
        except OSError:
            pass
