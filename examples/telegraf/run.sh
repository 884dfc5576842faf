#!/usr/bin/env bash
# Runs one of the telegraf servers, installing the Node.js modules first if needed (through
# examples/common/run-node.sh, shared by the Node.js stacks):
#
#   examples/telegraf/run.sh polling [ARGS...]   polling.js: every bot long-polls from one process
#   examples/telegraf/run.sh webhook [ARGS...]   webhook.js: one HTTP server, /webhook/<bot_id> for every bot
#
# The server replaces this shell (exec): the harness signals and measures node itself.
# Exit status 2 or 3 (from setup.sh) when the modules cannot be installed; the reason is on stderr.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec bash "$here/../common/run-node.sh" "$here" "$@"
