#!/usr/bin/env bash
# Installs (once) and reuses the Node.js modules the telegraf servers run with, from the pinned
# package-lock.json beside this script (npm ci, through examples/common/setup-env.sh, which
# every example stack shares; see it for the rules).
#
#   examples/telegraf/setup.sh [DIR]
#
# DIR defaults to ${CARGO_TARGET_DIR:-<repo>/target}/telegraf-node; the modules go to DIR/node_modules.
# Needs Node.js 18 or later with npm.
# Output: progress on stderr; the node_modules folder as the last line of stdout (NODE_PATH).
# Exit codes: 0 ready; 2 no suitable Node.js (the message says how to get it); 3 npm failed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec bash "$here/../common/setup-env.sh" node telegraf "$here" ${1:+--env-dir "$1"}
