#!/usr/bin/env bash
# Runs one of the teloxide servers, building it first if needed (setup.sh: cargo, once; later
# calls find it up to date in about a second), so a scenario can name this script as its
# command:
#
#   examples/teloxide/run.sh polling [ARGS...]   every bot long-polls from one process
#   examples/teloxide/run.sh webhook [ARGS...]   one axum server, /webhook/<bot_id> for every bot
#
# setup.sh says which profile is built ($TELOXIDE_EXAMPLE_PROFILE, default release) and how
# $TELOXIDE_EXAMPLE_BIN runs a given binary as it is, without cargo (the end-to-end tests
# pass the one `cargo test` built).
#
# The server replaces this shell (exec): the harness signals and measures the server itself.
# Exit status 2 when cargo is missing, 3 when the build fails; the reason is on stderr.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
case "${1:-}" in
    polling | webhook) ;;
    *) echo "usage: $0 polling|webhook [ARGS...]" >&2; exit 64 ;;
esac
binary="$("$here/setup.sh" | tail -n 1)"
exec "$binary" "$@"
