"""``riskmap gui``: open the desktop window (Qt is imported only when the command runs)."""
from __future__ import annotations

from riskmap.cli.common import add_sample_flag
from riskmap.errors import ParameterError
from riskmap.i18n import LANGUAGES, tr


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "gui", help="open the desktop map window (the Xinyang sample when no project is given)",
        description="Open the desktop map window on a project (.rmp), on data files, or on the bundled "
                    "Xinyang sample. With --screenshot, render the window headless, save it as PNG and exit.")
    p.add_argument("project", nargs="*", metavar="PROJECT",
                   help="project file (.rmp) and/or data files to add (default: the sample)")
    add_sample_flag(p)
    p.add_argument("--screenshot", metavar="OUT.png",
                   help="render the window, save it as PNG and exit (works with QT_QPA_PLATFORM=offscreen)")
    p.add_argument("--lang", choices=sorted(LANGUAGES), help="interface language (default: the saved one, 中文)")
    p.add_argument("--size", default=None, metavar="WxH", help="window size for --screenshot (default 1500x950)")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the map to render (--screenshot)")
    p.set_defaults(func=run_gui)


def _parse_size(text: str | None):
    if not text:
        return None
    try:
        w, h = (int(v) for v in text.lower().replace("×", "x").split("x"))
    except ValueError as exc:
        raise ParameterError(tr(f"--size 须写成 1500x950 的形式，不能是“{text}”",
                                f"--size must look like 1500x950, not {text!r}")) from exc
    if not (200 <= w <= 8000 and 200 <= h <= 8000):
        raise ParameterError(tr(f"--size {text} 超出范围，每边须为 200–8000 像素",
                                f"--size {text} is out of range; use 200–8000 pixels per side"))
    return w, h


def run_gui(args) -> int:
    size = _parse_size(args.size)
    from riskmap.app import run

    return run(args.project, sample=args.sample, screenshot=args.screenshot, lang=args.lang, size=size,
               timeout_s=args.timeout)
