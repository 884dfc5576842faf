#!/usr/bin/env bash
# Runs one of the aiogram servers in the venv, setting the venv up first if needed (once;
# later calls reuse it in well under a second), so a scenario can name this script as its
# command on a machine that has only Python:
#
#   examples/aiogram/run.sh polling_server.py [ARGS...]
#   examples/aiogram/run.sh webhook_server.py [ARGS...]
#
# The server replaces this shell (exec): the harness signals and measures the server itself.
# Exit status 2 or 3 (from setup-venv.sh) when the venv cannot be set up; the reason is on stderr.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[[ $# -ge 1 ]] || { echo "usage: $0 polling_server.py|webhook_server.py [ARGS...]" >&2; exit 64; }
server="$1"
shift
python="$("$here/setup-venv.sh" | tail -n 1)"
cd "$here"
exec "$python" "$here/$server" "$@"
