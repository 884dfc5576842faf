#!/usr/bin/env bash
# Runs one of the teloxide servers, building it first if needed (cargo; later calls find it
# up to date in about a second), so a scenario can name this script as its command:
#
#   examples/teloxide/run.sh polling [ARGS...]   every bot long-polls from one process
#   examples/teloxide/run.sh webhook [ARGS...]   one axum server, /webhook/<bot_id> for every bot
#
# The binary is the root package's example `teloxide` (see the root Cargo.toml), built with
# the cargo profile in $TELOXIDE_EXAMPLE_PROFILE (default release; `dev` for a debug build, as
# the end-to-end tests use) into ${CARGO_TARGET_DIR:-<repo>/target}. The first release build
# compiles teloxide and its dependencies (minutes).
#
# With $TELOXIDE_EXAMPLE_BIN set, that binary is run as it is, without cargo (the end-to-end
# tests pass the one `cargo test` built).
#
# The server replaces this shell (exec): the harness signals and measures the server itself.
# Exit status 2 when cargo is missing, 3 when the build fails; the reason is on stderr.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
case "${1:-}" in
    polling | webhook) ;;
    *) echo "usage: $0 polling|webhook [ARGS...]" >&2; exit 64 ;;
esac
if [[ -n "${TELOXIDE_EXAMPLE_BIN:-}" ]]; then
    exec "$TELOXIDE_EXAMPLE_BIN" "$@"
fi
profile="${TELOXIDE_EXAMPLE_PROFILE:-release}"
case "$profile" in
    dev) dir=debug ;;
    *) dir="$profile" ;;
esac
if ! command -v cargo >/dev/null 2>&1; then
    echo "teloxide: 'cargo' not found on PATH; install Rust (https://rustup.rs) to build the teloxide servers" >&2
    exit 2
fi
if ! (cd "$repo" && cargo build --quiet -p tgbench-tests --profile "$profile" --example teloxide >&2); then
    echo "teloxide: cargo build -p tgbench-tests --profile $profile --example teloxide failed (see above)" >&2
    exit 3
fi
exec "${CARGO_TARGET_DIR:-$repo/target}/$dir/examples/teloxide" "$@"
