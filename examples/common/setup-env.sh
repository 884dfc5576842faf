#!/usr/bin/env bash
# Creates (once) and reuses the environment an example stack runs in: a Python virtualenv
# installed from a pinned requirements.txt, or Node.js modules installed with `npm ci` from a
# pinned package-lock.json. Every example's setup script calls this one, so the rules are the
# same for all of them:
#
#   setup-env.sh python NAME REQUIREMENTS [--python-range MIN-MAX] [--imports "MOD ..."] [--env-dir DIR]
#   setup-env.sh node   NAME EXAMPLE_DIR  [--env-dir DIR]
#
# - The environment goes to DIR, else ${CARGO_TARGET_DIR:-<repo>/target}/NAME-venv (Python)
#   or .../NAME-node (Node: package.json and package-lock.json are copied there and installed
#   with `npm ci`; run node with NODE_PATH set to the printed node_modules folder).
# - It is reused while its inputs are unchanged: a stamp file records the hash of the
#   requirements (or of package.json and the lock file) and the interpreter's path and
#   version; anything else rebuilds it from scratch. Concurrent runs wait for each other (flock).
# - Python: the interpreter is $TGBENCH_PYTHON, else python3; --python-range says which
#   versions the pins support. examples/common/ is put on the venv's sys.path (a .pth file),
#   so every example imports the shared `tgbench_sut` module.
#
# Output: progress on stderr; on success the last line of stdout is the venv's python, or
# the node_modules folder.
# Exit codes: 0 ready; 2 the toolchain is missing or too old (the message says how to get
# it); 3 the install from the registry failed (network, or a pin the registry does not serve);
# 64 bad usage.
set -euo pipefail

common="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$common/../.." && pwd)"

usage() { echo "usage: $0 python NAME REQUIREMENTS [--python-range MIN-MAX] [--imports \"MOD ...\"] [--env-dir DIR] | node NAME EXAMPLE_DIR [--env-dir DIR]" >&2; exit 64; }
[[ $# -ge 3 ]] || usage
kind="$1" name="$2" input="$3"
shift 3
python_range="3.10-3.14" imports="" env_dir=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --python-range) python_range="$2"; shift 2 ;;
        --imports) imports="$2"; shift 2 ;;
        --env-dir) env_dir="$2"; shift 2 ;;
        *) usage ;;
    esac
done

say() { echo "setup-env ($name): $*" >&2; }

# Holds the lock on "$env.lock" until this script exits.
lock() {
    mkdir -p "$(dirname "$1")"
    if command -v flock >/dev/null 2>&1; then
        exec 9>"$1.lock"
        flock 9
    fi
}

# Succeeds when "$1/.tgbench-stamp" holds "$2".
stamped() { [[ -f "$1/.tgbench-stamp" && "$(cat "$1/.tgbench-stamp")" == "$2" ]]; }

setup_python() {
    local requirements="$1" venv="${env_dir:-${CARGO_TARGET_DIR:-$repo/target}/$name-venv}"
    local python="${TGBENCH_PYTHON:-python3}" min="${python_range%-*}" max="${python_range#*-}"
    [[ -f "$requirements" ]] || { say "no $requirements"; exit 64; }
    missing() {
        say "$1"
        say "install Python $min-$max with its venv module, for example:"
        say "  Debian/Ubuntu: apt-get install python3 python3-venv"
        say "  Fedora:        dnf install python3"
        say "  macOS:         brew install python@3.12"
        say "or point TGBENCH_PYTHON at a suitable interpreter (TGBENCH_PYTHON=/usr/bin/python3.12)."
        exit 2
    }
    command -v "$python" >/dev/null 2>&1 || missing "'$python' not found on PATH"
    local version
    version="$("$python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null)" \
        || missing "'$python' does not run"
    "$python" - "$min" "$max" <<'EOF' || missing "'$python' is Python $version; the pinned $name stack needs $min to $max"
import sys
low, high = (tuple(int(p) for p in v.split(".")) for v in sys.argv[1:3])
sys.exit(not (low <= sys.version_info[:2] <= high))
EOF
    "$python" -c 'import venv, ensurepip' 2>/dev/null \
        || missing "'$python' (Python $version) lacks the venv/ensurepip modules"

    local want
    want="$( (cat "$requirements"; echo "python=$(command -v "$python") $version") | cksum)"
    lock "$venv"
    if [[ -x "$venv/bin/python" ]] && stamped "$venv" "$want"; then
        say "reusing $venv"
    else
        say "creating $venv with Python $version (once; reused until $(basename "$requirements") changes)"
        rm -rf "$venv"
        "$python" -m venv "$venv" \
            || missing "'$python' -m venv failed (on Debian/Ubuntu: apt-get install python3-venv)"
        if ! "$venv/bin/python" -m pip install --disable-pip-version-check --no-input -q \
            -r "$requirements" >&2; then
            say "pip could not install $requirements from PyPI (no network, a proxy, or a pin the"
            say "index does not serve); fix that and run this script again"
            rm -rf "$venv"
            exit 3
        fi
        if [[ -n "$imports" ]] && ! "$venv/bin/python" -c "import ${imports// /, }"; then
            say "the installed venv cannot import $imports"
            rm -rf "$venv"
            exit 3
        fi
        echo "$want" >"$venv/.tgbench-stamp"
        local first="${imports%% *}"
        say "ready: $venv${first:+ ($first $("$venv/bin/python" -c "import $first; print(getattr($first, '__version__', '?'))"))}"
    fi
    # examples/common on sys.path, written every time so a moved checkout still finds it.
    local site
    site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    echo "$common" >"$site/tgbench-examples.pth"
    echo "$venv/bin/python"
}

setup_node() {
    local example="$1" dir="${env_dir:-${CARGO_TARGET_DIR:-$repo/target}/$name-node}"
    [[ -f "$example/package.json" && -f "$example/package-lock.json" ]] \
        || { say "no package.json and package-lock.json in $example"; exit 64; }
    missing() {
        say "$1"
        say "install Node.js 18 or later with npm, for example:"
        say "  Debian/Ubuntu: apt-get install nodejs npm"
        say "  Fedora:        dnf install nodejs npm"
        say "  macOS:         brew install node"
        exit 2
    }
    command -v node >/dev/null 2>&1 || missing "'node' not found on PATH"
    command -v npm >/dev/null 2>&1 || missing "'npm' not found on PATH"
    local version
    version="$(node --version 2>/dev/null)" || missing "'node' does not run"
    [[ "${version#v}" =~ ^([0-9]+) ]] && (( BASH_REMATCH[1] >= 18 )) \
        || missing "Node.js $version is too old; the pinned $name stack needs 18 or later"

    local want
    want="$( (cat "$example/package.json" "$example/package-lock.json"; echo "node=$(command -v node) $version") | cksum)"
    lock "$dir"
    if [[ -d "$dir/node_modules" ]] && stamped "$dir" "$want"; then
        say "reusing $dir"
    else
        say "installing into $dir with Node.js $version (once; reused until package-lock.json changes)"
        rm -rf "$dir"
        mkdir -p "$dir"
        cp "$example/package.json" "$example/package-lock.json" "$dir/"
        if ! (cd "$dir" && npm ci --omit=dev --no-audit --no-fund --loglevel=error >&2); then
            say "npm ci could not install $example/package-lock.json from the npm registry (no"
            say "network, a proxy, or a pin the registry does not serve); fix that and run again"
            rm -rf "$dir"
            exit 3
        fi
        echo "$want" >"$dir/.tgbench-stamp"
        say "ready: $dir"
    fi
    echo "$dir/node_modules"
}

case "$kind" in
    python) setup_python "$input" ;;
    node) setup_node "$(cd "$input" && pwd)" ;;
    *) usage ;;
esac
