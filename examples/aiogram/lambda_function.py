"""The multi-tenant aiogram 3 bot as an AWS Lambda function, run by AWS's own runtime client
(``python -m awslambdaric lambda_function.handler``), reached through a function URL: the
same bot and checks as ``webhook_server.py`` and tgbench's Rust function
(functions/webhook-lambda), one invocation per Telegram webhook delivery.

At init (module level, outside the handler, as Lambda functions do): the configuration, one
shared HTTP session, a ``Bot`` for every bot of ``TGBENCH_TOKENS_FILE``, the ``Dispatcher``
with the bot logic (logic.py), and the event loop every invocation runs on. A bad
configuration fails the init, which the runtime client reports to the platform.

Each invocation gets a function URL event (payload format 2.0) and is checked in
``webhook-bot``'s order: the path ``/webhook/{bot_id}`` and the bot (unknown: 404), the
method (not POST: 405), that bot's secret in ``x-telegram-bot-api-secret-token``, compared in
constant time (wrong or missing: 401), the body size (over 1 MiB: 413), the JSON (not an
Update: 400). The update then goes to aiogram (``Dispatcher.feed_update``), whose handler
replies with a ``sendMessage`` call before the invocation returns ``{statusCode: 200}`` (a
frozen environment would not finish it). A failed Bot API call fails the invocation, so
Telegram delivers the update again.

Configuration (environment variables; relative paths are relative to ``LAMBDA_TASK_ROOT``,
the working directory):

- ``TGBENCH_API_URL``       the Bot API base URL (``https://api.telegram.org`` on AWS)
- ``TGBENCH_TOKENS_FILE``   the bots' tokens, one a line
- ``WEBHOOK_SECRETS_FILE``  each bot's webhook secret, ``BOT_ID SECRET`` a line (what the
  deploy step registered with ``setWebhook``)

Registering the webhooks is the deploy step's job (tgbench does it for a serverless SUT;
on AWS, functions/webhook-lambda/deploy/set-webhooks.sh), not the function's.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import os
import re
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from pydantic import ValidationError

from logic import build_router
from sut import SutEnv, bot_id_of, shared_session
from tgbench_sut import ConfigError, setup_logging

SECRETS_FILE = "WEBHOOK_SECRETS_FILE"
SECRET_HEADER = "x-telegram-bot-api-secret-token"
# The largest update webhook-bot accepts (impls/src/webhook.rs, MAX_BODY).
MAX_BODY = 1 << 20
# What Telegram accepts as a secret_token, and what the deploy step writes.
SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
# One invocation at a time per environment: a few connections are plenty.
CONNECTIONS = 8


def read_secrets(path: Path) -> dict[int, bytes]:
    """``BOT_ID SECRET`` a line (blank lines and ``#`` comments skipped), as the Rust
    function reads it (functions/webhook-lambda/src/secrets.rs)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{SECRETS_FILE}={path}: cannot read: {e}") from e
    secrets: dict[int, bytes] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) != 2 or not fields[0].lstrip("-").isdigit() or not SECRET.fullmatch(fields[1]):
            raise ConfigError(
                f"{path}:{number} (from {SECRETS_FILE}) is not `BOT_ID SECRET` "
                "with a secret of 1-256 of [A-Za-z0-9_-]"
            )
        secrets[int(fields[0])] = fields[1].encode()
    return secrets


def response(status: int, body: str = "") -> dict[str, Any]:
    return {"statusCode": status, "headers": {"content-type": "text/plain"}, "body": body}


class Function:
    """What every invocation of one execution environment shares."""

    def __init__(self, env: SutEnv, secrets: dict[int, bytes]) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.session = shared_session(env.api_url, CONNECTIONS)
        self.bots = {bot_id_of(t): Bot(token=t, session=self.session) for t in env.tokens}
        self.secrets = secrets
        self.dispatcher = Dispatcher()
        self.dispatcher.include_router(build_router())

    @classmethod
    def from_environ(cls) -> Function:
        env = SutEnv.from_environ(webhook=False)
        path = os.environ.get(SECRETS_FILE)
        if not path:
            raise ConfigError(f"{SECRETS_FILE} is not set: a file with one `BOT_ID SECRET` a line")
        return cls(env, read_secrets(Path(path)))

    def check(self, event: dict[str, Any]) -> tuple[Bot, Update] | dict[str, Any]:
        """The bot and its update, or the response refusing the request."""
        path = event.get("rawPath") or ""
        raw_id = path.removeprefix("/webhook/") if path.startswith("/webhook/") else ""
        bot = self.bots.get(int(raw_id)) if raw_id.lstrip("-").isdigit() else None
        if bot is None:
            return response(404, "no such bot")
        method = ((event.get("requestContext") or {}).get("http") or {}).get("method", "POST")
        if method.upper() != "POST":
            return response(405, "POST only")
        headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
        given = headers.get(SECRET_HEADER, "").encode("utf-8", "surrogateescape")
        expected = self.secrets.get(bot.id)
        if expected is None or not hmac.compare_digest(given, expected):
            return response(401, "wrong or missing secret token")
        body = event.get("body") or ""
        try:
            raw = base64.b64decode(body, validate=True) if event.get("isBase64Encoded") else body.encode()
        except (binascii.Error, ValueError):
            return response(400, "body is not an Update")
        if len(raw) > MAX_BODY:
            return response(413, "body over 1 MiB")
        try:
            update = Update.model_validate(json.loads(raw), context={"bot": bot})
        except (ValueError, ValidationError):
            return response(400, "body is not an Update")
        return bot, update

    def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        checked = self.check(event)
        if isinstance(checked, dict):
            return checked
        bot, update = checked
        self.loop.run_until_complete(self.dispatcher.feed_update(bot, update))
        return response(200)


setup_logging()
FUNCTION = Function.from_environ()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda handler (``lambda_function.handler``)."""
    return FUNCTION.handle(event)
