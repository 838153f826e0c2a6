#!/usr/bin/env bash
# Install what the browser test of the review (tests/integration/test_review_browser.py, full tier) needs:
# Debian's chromium package and Playwright's Python package in .venv. Playwright's own browser download is not
# used: the test drives /usr/bin/chromium. Skips what is already installed.
#
#   bash scripts/browser.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/chromium ]; then
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -q
    $SUDO apt-get install -y -q chromium
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -c "import playwright" 2>/dev/null || .venv/bin/pip install -q --disable-pip-version-check playwright
echo "browser test ready: /usr/bin/chromium and playwright in .venv"
