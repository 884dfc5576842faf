#!/usr/bin/env bash
# Runs one of a Node.js example's servers, installing its modules first if needed (once;
# later calls reuse them in well under a second), so a scenario can name the example's run.sh
# as its command on a machine that has only Node.js:
#
#   examples/common/run-node.sh EXAMPLE_DIR polling|webhook [ARGS...]
#
# EXAMPLE_DIR holds setup.sh (which prints the node_modules folder) and polling.js/webhook.js.
# The server replaces this shell (exec): the harness signals and measures node itself.
# Exit status 2 or 3 (from setup.sh) when the modules cannot be installed; the reason is on stderr.
set -euo pipefail
[[ $# -ge 2 ]] || { echo "usage: $0 EXAMPLE_DIR polling|webhook [ARGS...]" >&2; exit 64; }
example="$(cd "$1" && pwd)"
case "$2" in
    polling | webhook) server="$2.js" ;;
    *) echo "usage: $(basename "$example")/run.sh polling|webhook [ARGS...]" >&2; exit 64 ;;
esac
shift 2
NODE_PATH="$("$example/setup.sh" | tail -n 1)"
export NODE_PATH
cd "$example"
exec node "$example/$server" "$@"
