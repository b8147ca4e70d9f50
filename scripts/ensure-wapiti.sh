#!/usr/bin/env bash
# wapiti3, the scanner of tests/security/test_wapiti.py, in its own venv (var/tools/wapiti) from the
# pins in requirements-wapiti.txt: its dependencies clash with the project's. Reinstalled only when
# the pins change. Usage: scripts/ensure-wapiti.sh [python]
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON=${1:-$(command -v python3.11 || command -v python3)}
VENV=var/tools/wapiti
STAMP=$VENV/.installed

if [[ -f $STAMP ]] && cmp -s requirements-wapiti.txt "$STAMP"; then
    exit 0
fi
echo "Installing wapiti3 into $VENV (pinned by requirements-wapiti.txt)..."
rm -rf "$VENV"
mkdir -p "$(dirname "$VENV")"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-wapiti.txt
"$VENV/bin/wapiti" --version >/dev/null
cp requirements-wapiti.txt "$STAMP"
