#!/usr/bin/env bash
# Install the Label Studio server into its own virtual environment, .labelstudio-venv (gitignored), for the
# review integration tests (tests/integration/test_review_*.py). Kept apart from .venv: the server pins its
# own Django and SDK versions. Does nothing when the server is already installed there.
#
#   bash scripts/labelstudio.sh            # install (about 2 minutes on a fresh machine)
#   LABEL_STUDIO_VERSION=1.23.2 bash scripts/labelstudio.sh
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.labelstudio-venv
VERSION="${LABEL_STUDIO_VERSION:-1.23.2}"
if [ -x "$VENV/bin/label-studio" ] && "$VENV/bin/python" -c "import label_studio" 2>/dev/null; then
    echo "label-studio already installed in $VENV"
    exit 0
fi
python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check "label-studio==$VERSION"
echo "installed label-studio $VERSION in $VENV"
