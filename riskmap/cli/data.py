"""``riskmap sample`` and ``riskmap info``."""
from __future__ import annotations

from pathlib import Path

from riskmap import io
from riskmap.sample import write_sample


def register(subparsers) -> None:
    p = subparsers.add_parser("sample", help="write the bundled Xinyang demo data set to a folder")
    p.add_argument("--out", required=True, help="output folder (created if needed)")
    p.set_defaults(func=run_sample)

    p = subparsers.add_parser("info", help="describe a data file: layers, CRS, features, fields, encoding, bbox")
    p.add_argument("file", help="vector or raster file")
    p.add_argument("--datum", choices=["wgs84", "gcj02", "bd09"],
                   help="datum of a table's lon/lat: wgs84, or gcj02 (AMap/Tencent) / bd09 (Baidu), shifted to WGS84")
    p.set_defaults(func=run_info)


def run_sample(args) -> int:
    written = write_sample(args.out)
    print(f"wrote {len(written)} files to {Path(args.out).resolve()}")
    return 0


def run_info(args) -> int:
    for entry in io.describe(args.file, datum=getattr(args, "datum", None)):
        print(f"[{entry['layer']}]")
        for key, value in entry.items():
            if key != "layer":
                print(f"  {key}: {value}")
    return 0
