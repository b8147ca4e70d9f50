#!/usr/bin/env bash
# The browser tests drive the system's Chromium (/usr/bin/chromium) through Playwright.
set -euo pipefail

if [[ -x /usr/bin/chromium ]]; then
    exit 0
fi
if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "Installing Chromium for the browser tests (apt-get)..."
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
else
    echo "Chromium is missing at /usr/bin/chromium: the browser tests cannot run." >&2
    echo "Install it, e.g. \`sudo apt-get install chromium\`, and run \`make test\` again." >&2
fi
