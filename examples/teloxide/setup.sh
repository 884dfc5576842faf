#!/usr/bin/env bash
# Builds (once; later calls find it up to date in about a second) the teloxide servers: the
# root package's example `teloxide` (see the root Cargo.toml), with the cargo profile in
# $TELOXIDE_EXAMPLE_PROFILE (default release; `dev` for a debug build, as the end-to-end tests
# use) into ${CARGO_TARGET_DIR:-<repo>/target}. The first release build compiles teloxide and
# its dependencies (minutes). With $TELOXIDE_EXAMPLE_BIN set, that binary is used as it is.
#
#   examples/teloxide/setup.sh
#
# Output: cargo's messages on stderr; the binary's path as the last line of stdout.
# Exit codes: 0 ready; 2 cargo is missing; 3 the build failed (the reason is on stderr).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
if [[ -n "${TELOXIDE_EXAMPLE_BIN:-}" ]]; then
    echo "$TELOXIDE_EXAMPLE_BIN"
    exit 0
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
# -p tgbench-tests: the example's own package's features, not the whole workspace's.
if ! (cd "$repo" && cargo build --quiet -p tgbench-tests --profile "$profile" --example teloxide >&2); then
    echo "teloxide: cargo build -p tgbench-tests --profile $profile --example teloxide failed (see above)" >&2
    exit 3
fi
echo "${CARGO_TARGET_DIR:-$repo/target}/$dir/examples/teloxide"
