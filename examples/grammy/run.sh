#!/usr/bin/env bash
# Runs one of the grammy servers, installing the Node.js modules first if needed (once; later
# calls reuse them in well under a second), so a scenario can name this script as its command
# on a machine that has only Node.js:
#
#   examples/grammy/run.sh polling [ARGS...]   polling.js: every bot long-polls from one process
#   examples/grammy/run.sh webhook [ARGS...]   webhook.js: one HTTP server, /webhook/<bot_id> for every bot
#
# The server replaces this shell (exec): the harness signals and measures node itself.
# Exit status 2 or 3 (from setup.sh) when the modules cannot be installed; the reason is on stderr.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
case "${1:-}" in
    polling | webhook) server="$1.js" ;;
    *) echo "usage: $0 polling|webhook [ARGS...]" >&2; exit 64 ;;
esac
shift
NODE_PATH="$("$here/setup.sh" | tail -n 1)"
export NODE_PATH
cd "$here"
exec node "$here/$server" "$@"
