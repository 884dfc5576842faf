#!/usr/bin/env bash
# Creates (once) and reuses the virtualenv the aiogram reference servers run in, installed
# from the pinned requirements.txt beside this script (through examples/common/setup-env.sh,
# which every example stack shares).
#
#   examples/aiogram/setup-venv.sh [VENV_DIR]
#
# VENV_DIR defaults to $TGBENCH_AIOGRAM_VENV, else ${CARGO_TARGET_DIR:-<repo>/target}/aiogram-venv.
# The interpreter is $TGBENCH_PYTHON, else python3 (3.10 to 3.14, as aiogram 3.31 requires).
# The venv is reused while requirements.txt and the interpreter are unchanged (a stamp file
# records both) and rebuilt otherwise. Concurrent runs wait for each other (flock).
#
# Output: progress on stderr; on success the venv's python path is the last line of stdout.
# Exit codes: 0 ready; 2 no suitable Python (the message says what is missing and how to get
# it); 3 the install from PyPI failed (network, or the index does not serve a pin).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${1:-${TGBENCH_AIOGRAM_VENV:-}}"
exec bash "$here/../common/setup-env.sh" python aiogram "$here/requirements.txt" \
    --python-range 3.10-3.14 --imports "aiogram aiohttp awslambdaric" ${venv:+--env-dir "$venv"}
