"""Write one benchmark's results as a section of docs/benchmarks.md (other sections are kept)."""
from __future__ import annotations

import datetime as _dt
import os
import platform
import re
from pathlib import Path

REPORT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
HEADER = ("# Benchmarks\n\nRun on demand (`python -m benchmarks.<name>`); each section is rewritten by its own "
          "benchmark. Times are medians on the machine named in the section.\n")


def machine() -> str:
    """A one-line description of this machine."""
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def write_section(name: str, markdown: str) -> Path:
    """Replace (or append) the section ``name`` of docs/benchmarks.md with ``markdown``."""
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    text = REPORT.read_text(encoding="utf-8") if REPORT.exists() else HEADER
    stamp = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    block = (f"<!-- BEGIN {name} -->\n{markdown.strip()}\n\n_{stamp}, {machine()}_\n<!-- END {name} -->")
    pattern = re.compile(rf"<!-- BEGIN {re.escape(name)} -->.*?<!-- END {re.escape(name)} -->", re.S)
    text = pattern.sub(lambda _m: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    tmp = REPORT.with_suffix(".md.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, REPORT)
    return REPORT


def publish(name: str, lines: list[str], write: bool = True) -> str:
    """Print a section's markdown (``lines`` joined) and, when ``write``, replace it in docs/benchmarks.md."""
    text = "\n".join(lines)
    print(text)
    if write:
        print("wrote", write_section(name, text))
    return text
