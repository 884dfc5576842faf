#!/usr/bin/env bash
# The deploy step that registers each bot's webhook with the function URL and its secret
# (setWebhook url=FUNCTION_URL/webhook/BOT_ID, secret_token=SECRET). A secrets file that does
# not exist yet is made first: one random 32-character secret per bot, `BOT_ID SECRET` a line,
# to be packaged with the function (package.sh).
#
# Usage: set-webhooks.sh FUNCTION_URL TOKENS_FILE SECRETS_FILE [BOT_API_URL]
#   BOT_API_URL defaults to https://api.telegram.org (tests point it at mock-telegram).
set -euo pipefail
if [[ $# -lt 3 || $# -gt 4 ]]; then
    echo "usage: $0 FUNCTION_URL TOKENS_FILE SECRETS_FILE [BOT_API_URL]" >&2
    exit 2
fi
python3 - "$@" <<'PY'
import json, os, secrets, string, sys, urllib.request
function_url, tokens_file, secrets_file = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
api = (sys.argv[4] if len(sys.argv) > 4 else "https://api.telegram.org").rstrip("/")
tokens = [l.strip() for l in open(tokens_file) if l.strip() and not l.startswith("#")]
if not os.path.exists(secrets_file):
    alphabet = string.ascii_letters + string.digits
    with open(secrets_file, "w") as f:
        for token in tokens:
            f.write(f"{token.split(':')[0]} {''.join(secrets.choice(alphabet) for _ in range(32))}\n")
known = dict(l.split() for l in open(secrets_file) if l.strip() and not l.startswith("#"))
failed = 0
for token in tokens:
    bot_id = token.split(":")[0]
    body = json.dumps({"url": f"{function_url}/webhook/{bot_id}", "secret_token": known[bot_id],
                       "allowed_updates": ["message", "callback_query"]}).encode()
    request = urllib.request.Request(f"{api}/bot{token}/setWebhook", data=body,
                                     headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            ok = json.load(r).get("ok")
    except Exception as e:
        ok = False
        print(f"bot {bot_id}: {e}", file=sys.stderr)
    failed += not ok
print(f"{len(tokens) - failed} webhooks set, {failed} failed")
sys.exit(1 if failed else 0)
PY
