"""Gunicorn settings for the Flask webhook server (flask_webhook.py), from the tgbench SUT
environment: bind TGBENCH_LISTEN; register every bot's webhook once, in the master, after the
socket is bound and before the first worker is forked; then print the ready line.

Worker settings come from the command line (they win over this file) or Gunicorn's own
environment variables: ``--workers N`` (default ``$WEB_CONCURRENCY``, else 1),
``--worker-class gthread --threads N``, ``--timeout S``. ``run.sh gunicorn ARGS...`` passes
ARGS to Gunicorn.
"""

import os
import secrets
import sys

from tgbench_sut import ConfigError, SutEnv, raise_open_files_limit, ready

try:
    _env = SutEnv.from_environ(webhook=True)
    _host, _port = _env.listen_host_port()
except ConfigError as e:
    print(f"ptb-gunicorn: {e}", file=sys.stderr)
    sys.exit(2)

wsgi_app = "flask_webhook:app"
bind = [f"[{_host}]:{_port}" if ":" in _host else f"{_host}:{_port}"]
# A burst of deliveries to thousands of bots waits here while every worker is busy.
backlog = 2048
# SIGTERM: workers finish the request in hand, for at most this long.
graceful_timeout = 5
# Warnings only: an access-log line per update would cost more than the bot logic.
loglevel = "warning"
accesslog = None
# Gunicorn 25+ opens a control socket at a fixed per-user path; two servers on one machine
# (parallel benchmarks, tests) would fight over it.
control_socket_disable = True

# The key every bot's secret token is derived from; the workers inherit it (webhooks.py).
os.environ.setdefault("PTB_WEBHOOK_SECRET_KEY", secrets.token_hex(32))


def when_ready(server):
    """In the master, the socket bound, no worker forked yet: register every webhook.
    Deliveries that arrive before the first worker is up wait in the listen backlog."""
    from webhooks import REGISTERED_VARIABLE, register_all

    raise_open_files_limit(2 * len(_env.tokens) + 256)
    ok, failed = register_all(_env, os.environ["PTB_WEBHOOK_SECRET_KEY"])
    # Read by /health in the workers, which are forked after this.
    os.environ[REGISTERED_VARIABLE] = str(ok)
    more = f", {len(failed)} FAILED" if failed else ""
    ready(
        f"ptb-gunicorn ready: listening on {bind[0]}, {ok} of {len(_env.tokens)} webhooks set"
        f"{more}; {server.cfg.workers} {server.cfg.worker_class_str} worker(s)"
        f" x {server.cfg.threads} thread(s)"
    )
