#!/usr/bin/env bash
# Creates (once) and reuses the virtualenv the aiogram reference servers run in, installed
# from the pinned requirements.txt beside this script.
#
#   examples/aiogram/setup-venv.sh [VENV_DIR]
#
# VENV_DIR defaults to $TGBENCH_AIOGRAM_VENV, else ${CARGO_TARGET_DIR:-<repo>/target}/aiogram-venv.
# The interpreter is $TGBENCH_PYTHON, else python3 (3.10 to 3.14, as aiogram 3.31 requires).
# The venv is reused while requirements.txt and the interpreter are unchanged (a stamp file
# records both) and rebuilt otherwise. Concurrent runs wait for each other (flock).
#
# Output: progress on stderr; on success the venv's python path is the last line of stdout.
# Exit codes: 0 ready; 2 no suitable Python (the message says what is missing and how to get
# it); 3 the install from PyPI failed (network, or the index does not serve a pin).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
requirements="$here/requirements.txt"
venv="${1:-${TGBENCH_AIOGRAM_VENV:-${CARGO_TARGET_DIR:-$repo/target}/aiogram-venv}}"
python="${TGBENCH_PYTHON:-python3}"

say() { echo "setup-venv: $*" >&2; }
missing() {
    say "$1"
    say "install Python 3.10-3.14 with its venv module, for example:"
    say "  Debian/Ubuntu: apt-get install python3 python3-venv"
    say "  Fedora:        dnf install python3"
    say "  macOS:         brew install python@3.12"
    say "or point TGBENCH_PYTHON at a suitable interpreter (TGBENCH_PYTHON=/usr/bin/python3.12)."
    exit 2
}

command -v "$python" >/dev/null 2>&1 || missing "'$python' not found on PATH"
version="$("$python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null)" \
    || missing "'$python' does not run"
"$python" -c 'import sys; sys.exit(not ((3, 10) <= sys.version_info[:2] <= (3, 14)))' \
    || missing "'$python' is Python $version; aiogram 3.31 needs 3.10 to 3.14"
"$python" -c 'import venv, ensurepip' 2>/dev/null \
    || missing "'$python' (Python $version) lacks the venv/ensurepip modules"

stamp_want="$( (cat "$requirements"; echo "python=$(command -v "$python") $version") | cksum)"

mkdir -p "$(dirname "$venv")"
if command -v flock >/dev/null 2>&1; then
    exec 9>"$venv.lock"
    flock 9
fi

if [[ -x "$venv/bin/python" && -f "$venv/.tgbench-stamp" ]] \
    && [[ "$(cat "$venv/.tgbench-stamp")" == "$stamp_want" ]]; then
    say "reusing $venv"
    echo "$venv/bin/python"
    exit 0
fi

say "creating $venv with Python $version (once; reused until requirements.txt changes)"
rm -rf "$venv"
"$python" -m venv "$venv" || missing "'$python' -m venv failed (on Debian/Ubuntu: apt-get install python3-venv)"
if ! "$venv/bin/python" -m pip install --disable-pip-version-check --no-input -q -r "$requirements" >&2; then
    say "pip could not install $requirements from PyPI (no network, a proxy, or a pin the index"
    say "does not serve); fix that and run this script again"
    rm -rf "$venv"
    exit 3
fi
"$venv/bin/python" -c 'import aiogram, aiohttp' || { say "the installed venv cannot import aiogram"; rm -rf "$venv"; exit 3; }
echo "$stamp_want" >"$venv/.tgbench-stamp"
say "ready: $venv (aiogram $("$venv/bin/python" -c 'import aiogram; print(aiogram.__version__)'))"
echo "$venv/bin/python"
