#!/usr/bin/env bash
# Runs one of the python-telegram-bot servers in the venv, setting the venv up first if needed
# (once; later calls reuse it in well under a second), so a scenario can name this script as
# its command on a machine that has only Python:
#
#   examples/python-telegram-bot/run.sh polling [ARGS...]      polling_server.py: every bot, one process
#   examples/python-telegram-bot/run.sh per-process [ARGS...]  per_process.py: one main.py per bot
#   examples/python-telegram-bot/run.sh main [ARGS...]         main.py: one bot, Application.run_polling
#   examples/python-telegram-bot/run.sh gunicorn [ARGS...]     Flask under Gunicorn (ARGS go to gunicorn,
#                                                              e.g. --workers 4, --worker-class gthread --threads 8)
#
# The server replaces this shell (exec): the harness signals and measures the server itself.
# Exit status 2 or 3 (from setup-venv.sh) when the venv cannot be set up; the reason is on stderr.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
usage() { echo "usage: $0 polling|per-process|main|gunicorn [ARGS...]" >&2; exit 64; }
[[ $# -ge 1 ]] || usage
server="$1"
shift
python="$("$here/setup-venv.sh" | tail -n 1)"
cd "$here"
case "$server" in
    polling) exec "$python" "$here/polling_server.py" "$@" ;;
    per-process) exec "$python" "$here/per_process.py" "$@" ;;
    main) exec "$python" "$here/main.py" "$@" ;;
    gunicorn) exec "$python" -m gunicorn --config "$here/gunicorn.conf.py" "$@" ;;
    *) usage ;;
esac
