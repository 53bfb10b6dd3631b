"""Tile fetching, the disk cache and MBTiles packages (riskmap.layers.tile_store), no Qt."""
import sqlite3

import pytest
from tile_server import TileServer

from riskmap.errors import CancelledError, DataFormatError
from riskmap.layers import tiles
from riskmap.layers.tile_store import (MBTiles, TileCache, TileFetchError, cache_dir, cache_key, download_package,
                                       estimate_package, fetch_tile)


def test_fetch_classifies_failures():
    codes = {1: 200, 2: 404, 3: 500, 4: 403}
    with TileServer(status=lambda z, x, y: codes[x], delay=lambda z, x, y: 2.0 if x == 5 else 0) as server:
        p = tiles.custom_provider(server.url)
        assert fetch_tile(p, 3, 1, 1).startswith(b"\x89PNG")
        for x, kind in ((2, "missing"), (3, "server"), (4, "key")):
            with pytest.raises(TileFetchError) as info:
                fetch_tile(p, 3, x, 1)
            assert info.value.kind == kind
        codes[5] = 200
        with pytest.raises(TileFetchError) as info:
            fetch_tile(p, 3, 5, 1, timeout=0.3)
        assert info.value.kind == "timeout"
        url = server.url
    with pytest.raises(TileFetchError) as info:
        fetch_tile(tiles.custom_provider(url), 3, 1, 1)
    assert info.value.kind == "offline"


def test_cache_lru_eviction_and_staleness(tmp_path):
    cache = TileCache(tmp_path / "c.sqlite", limit_bytes=10_000, max_age_days=1)
    for x in range(4):
        cache.put(5, x, 0, bytes([x]) * 2_000)
    assert cache.get(5, 0, 0) == (bytes([0]) * 2_000, False)  # tile 0 is now the most recently used
    cache.put(5, 9, 0, b"z" * 3_000)  # 11 kB > 10 kB: evict down to 9 kB, least recently used first
    assert (5, 1, 0) not in cache and (5, 0, 0) in cache and (5, 9, 0) in cache
    assert cache.total_bytes <= 9_000
    cache.put(5, 7, 7, b"old", fetched=0.0)
    assert cache.get(5, 7, 7) == (b"old", True)
    cache.close()
    again = TileCache(tmp_path / "c.sqlite", limit_bytes=10_000)
    assert again.total_bytes == sum(len(again.get(5, x, y)[0]) for x, y in ((0, 0), (9, 0), (7, 7), (2, 0), (3, 0))
                                    if (5, x, y) in again)


def test_cache_folder_per_provider(monkeypatch, tmp_path):
    monkeypatch.setenv("RISKMAP_TILE_CACHE", str(tmp_path / "t"))
    assert cache_dir() == tmp_path / "t"
    a = tiles.custom_provider("https://a.example/{z}/{x}/{y}.png")
    b = tiles.custom_provider("https://b.example/{z}/{x}/{y}.png")
    assert cache_key(a) != cache_key(b) and cache_key(tiles.PROVIDERS["osm"]) == "osm"
    key = tiles.PROVIDERS["tianditu_vec"]
    assert cache_key(key.with_key("secret")) == "tianditu_vec"
    assert TileCache.for_provider(a).path.parent.parent == tmp_path / "t"


def test_mbtiles_spec_tables_and_tms_rows(tmp_path):
    path = tmp_path / "p.mbtiles"
    package = MBTiles(path, "w")
    package.put(3, 2, 1, b"tile")
    package.set_metadata({"name": "x", "format": "png"})
    package.close()
    db = sqlite3.connect(path)
    assert db.execute("SELECT zoom_level, tile_column, tile_row FROM tiles").fetchall() == [(3, 2, 6)]
    assert dict(db.execute("SELECT name, value FROM metadata")) == {"name": "x", "format": "png"}
    db.close()
    package = MBTiles(path)
    assert package.get(3, 2, 1) == b"tile" and package.get(3, 2, 6) is None and package.zooms() == (3, 3)
    with pytest.raises(DataFormatError):
        MBTiles(tmp_path / "missing.mbtiles")
    (tmp_path / "bad.mbtiles").write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(DataFormatError):
        MBTiles(tmp_path / "bad.mbtiles")


def test_download_package_estimate_cache_and_cancel(tmp_path):
    box = (114.0, 32.0, 114.2, 32.2)
    with TileServer() as server:
        p = tiles.custom_provider(server.url)
        cache = TileCache(tmp_path / "c.sqlite")
        count, size = estimate_package(p, box, [8, 9, 10], cache)
        assert count == tiles.count_tiles(box, [8, 9, 10]) and size == count * 20_000
        seen = []
        result = download_package(p, box, [8, 9, 10], tmp_path / "a.mbtiles", cache,
                                  progress=lambda f, m: seen.append(f))
        assert result["tiles"] == count and server.count() == count and seen[-1] == 1.0
        assert estimate_package(p, box, [8], cache)[1] == pytest.approx(
            tiles.count_tiles(box, [8]) * cache.average_size())
        download_package(p, box, [8, 9, 10], tmp_path / "b.mbtiles", cache)
        assert server.count() == count  # the second package comes from the cache

        def cancel(f, m):
            if f > 0.3:
                raise CancelledError("cancelled")
        with pytest.raises(CancelledError):
            download_package(p, box, [8, 9, 10, 11], tmp_path / "c.mbtiles", cache, progress=cancel)
        assert not (tmp_path / "c.mbtiles").exists() and not (tmp_path / "c.mbtiles.part").exists()


def test_gcj_package_keeps_its_datum_and_covers_the_shifted_ground(tmp_path):
    from riskmap.layers.tile_store import open_package

    asked = []

    def fetch(z, x, y):
        asked.append((z, x, y))
        return b"\x89PNG fake"

    p = tiles.custom_provider("https://example.invalid/{z}/{x}/{y}.png", datum="gcj02")
    box = (114.0, 32.0, 114.004, 32.004)  # smaller than the GCJ-02 shift (~0.006°)
    download_package(p, box, [16], tmp_path / "g.mbtiles", fetch=fetch)
    package, provider = open_package(tmp_path / "g.mbtiles")
    assert provider.kind == "mbtiles" and provider.datum == "gcj02" and provider.min_zoom == provider.max_zoom == 16
    assert len(asked) > tiles.count_tiles(box, [16])  # grown to where the GCJ-02 tiles draw this ground
    package.close()


def test_download_without_network_stops_at_once_with_one_clear_line(tmp_path):
    from riskmap.i18n import set_language

    with TileServer() as server:
        url = server.url
    set_language("zh")
    with pytest.raises(TileFetchError) as info:
        download_package(tiles.custom_provider(url), (114.0, 32.0, 114.2, 32.2), [8, 9, 10], tmp_path / "x.mbtiles")
    assert info.value.kind == "offline" and "无法连接瓦片服务器" in str(info.value) and "\n" not in str(info.value)
    assert not list(tmp_path.glob("x.mbtiles*"))
