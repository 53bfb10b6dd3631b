"""The ``riskmap`` command line.

Each sub-command lives in its own module in this package exposing
``register(subparsers)``, which adds a parser whose ``func(args) -> int`` runs it.
Errors a user can cause (:class:`~riskmap.errors.RiskmapError`) print one line and
exit 2; nothing here imports Qt (the ``gui`` command imports it lazily).
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys

from riskmap import __version__
from riskmap.errors import CancelledError, RiskmapError
from riskmap.errors import collect_library_warnings as _library_warnings
from riskmap.errors import fold_messages as _folded
from riskmap.i18n import tr

#: Sub-command modules, in the order ``--help`` lists them.
COMMANDS = (
    "riskmap.cli.data",
    "riskmap.cli.convert",
    "riskmap.cli.export_html",
    "riskmap.cli.gui",
    "riskmap.cli.printmap",
    "riskmap.cli.atlas",
    "riskmap.cli.report",
    "riskmap.cli.analyses",
)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every registered sub-command."""
    parser = argparse.ArgumentParser(
        prog="riskmap",
        description="riskmap — safety-production risk mapping (信阳市安全生产风险图). "
                    "Run a sub-command with --help for its options.",
    )
    parser.add_argument("--version", action="version", version=f"riskmap {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks for internal errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMANDS:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``riskmap`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    caught: list[str] = []
    try:
        with _library_warnings(caught, show=args.debug):
            code = int(args.func(args) or 0)
        if caught:
            print(f"riskmap: {tr('警告', 'warning')}: " + _folded(caught), file=sys.stderr)
        return code
    except CancelledError as exc:
        print(f"riskmap: cancelled: {exc}", file=sys.stderr)
        return 130
    except RiskmapError as exc:
        # the library's own words go after riskmap's line, folded into it (never printed before it)
        detail = f"（{tr('库提示', 'library said')}：{_folded(caught)}）" if caught else ""
        print(f"riskmap: error: {exc}{detail}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("riskmap: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: one line unless --debug
        if args.debug:
            raise
        print(f"riskmap: internal error: {type(exc).__name__}: {exc} (rerun with --debug for details)",
              file=sys.stderr)
        return 1


def run() -> None:
    """Entry point of the ``riskmap`` console script and ``python -m riskmap``: :func:`main`, then exit.

    Every file riskmap writes is closed (and renamed into place) before :func:`main` returns, so the
    process ends at once (``os._exit`` after flushing stdout and stderr) instead of tearing down the
    interpreter, which after a large run costs up to a second freeing what is about to vanish anyway.
    """
    code = main()
    if sys.argv[1:2] == ["gui"]:  # the window's settings and journal clean-up run at interpreter exit
        sys.exit(code)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    logging.shutdown()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
