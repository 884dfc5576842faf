#!/usr/bin/env bash
# Creates (once) and reuses the virtualenv the python-telegram-bot servers run in, installed
# from the pinned requirements.txt beside this script (through examples/common/setup-env.sh,
# which every example stack shares; see it for the rules).
#
#   examples/python-telegram-bot/setup-venv.sh [VENV_DIR]
#
# VENV_DIR defaults to ${CARGO_TARGET_DIR:-<repo>/target}/python-telegram-bot-venv. The
# interpreter is $TGBENCH_PYTHON, else python3 (3.10 to 3.14).
# Output: progress on stderr; the venv's python as the last line of stdout.
# Exit codes: 0 ready; 2 no suitable Python (the message says how to get one); 3 pip failed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec bash "$here/../common/setup-env.sh" python python-telegram-bot "$here/requirements.txt" \
    --python-range 3.10-3.14 --imports "telegram flask gunicorn" ${1:+--env-dir "$1"}
