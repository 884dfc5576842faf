#!/usr/bin/env bash
# Packages webhook-lambda for AWS Lambda (runtime provided.al2023, handler bootstrap): a zip
# holding the release binary as `bootstrap` and, when given, the tokens and secrets files
# (the function reads them relative to LAMBDA_TASK_ROOT). Needs no network.
#
# Usage: package.sh OUT.zip [TOKENS_FILE SECRETS_FILE]
set -euo pipefail
if [[ $# -ne 1 && $# -ne 3 ]]; then
    echo "usage: $0 OUT.zip [TOKENS_FILE SECRETS_FILE]" >&2
    exit 2
fi
out=$(realpath -m "$1")
repo=$(cd "$(dirname "$0")/../../.." && pwd)
(cd "$repo" && cargo build --release --quiet -p tgbench-webhook-lambda --bin webhook-lambda)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp "$repo/target/release/webhook-lambda" "$stage/bootstrap"
if [[ $# -eq 3 ]]; then
    cp "$2" "$stage/tokens.txt"
    cp "$3" "$stage/secrets.txt"
fi
# zip with Unix modes (bootstrap must be executable), without needing the zip tool.
python3 - "$out" "$stage" <<'PY'
import os, sys, zipfile
out, stage = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for name in sorted(os.listdir(stage)):
        info = zipfile.ZipInfo(name)
        mode = 0o755 if name == "bootstrap" else 0o644
        info.external_attr = (0o100000 | mode) << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        with open(os.path.join(stage, name), "rb") as f:
            z.writestr(info, f.read())
PY
echo "$out: $(python3 -c 'import sys,zipfile; print(", ".join(zipfile.ZipFile(sys.argv[1]).namelist()))' "$out")"
