#!/usr/bin/env bash
# One-stop set-up for a fresh Debian 12 machine (run as root, or with sudo available).
#   bash scripts/setup.sh run     # install everything, open riskmap on the bundled Xinyang sample
#   bash scripts/setup.sh test    # install everything (plus test tools), run the whole test suite
#   bash scripts/setup.sh deps    # only install
set -euo pipefail
cd "$(dirname "$0")/.."
action="${1:-run}"
shift || true

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# System libraries PyQt5's wheels need (X11/xcb for a real screen, GL, fontconfig, dbus),
# plus python3-venv; Chromium (HTML export) and poppler-utils (reading printed PDFs) only for the tests.
APT_PACKAGES="python3 python3-venv python3-pip libglib2.0-0 libgl1 libegl1 libfontconfig1 libdbus-1-3 \
 libxkbcommon-x11-0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-render-util0 libxcb-shape0 \
 libxcb-xinerama0 libxcb-xkb1 libxcb-randr0 libxcb-xfixes0 libxcb-cursor0"
if [ "$action" = "test" ]; then APT_PACKAGES="$APT_PACKAGES chromium poppler-utils"; fi

missing=""
for pkg in $APT_PACKAGES; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
if [ -n "$missing" ] && command -v apt-get >/dev/null; then
  echo "== installing system packages:$missing"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  "$PY" -m venv .venv
fi
extras="."
if [ "$action" = "test" ]; then extras=".[test]"; fi
echo "== installing riskmap and its Python dependencies into .venv"
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
.venv/bin/python -m pip install -q --disable-pip-version-check -e "$extras"

case "$action" in
  run)
    exec .venv/bin/riskmap gui --sample "$@" ;;
  test)
    export QT_QPA_PLATFORM=offscreen
    exec .venv/bin/python -m pytest -q "$@" ;;
  deps)
    echo "== done" ;;
  *)
    echo "usage: bash scripts/setup.sh run|test|deps" >&2; exit 2 ;;
esac
