"""What the Flask webhook server's master and workers share: each bot's secret token, and
registering every bot's webhook with ``setWebhook``.

The Gunicorn master (``gunicorn.conf.py``) draws one random key at start and puts it in the
environment, which every worker inherits when it is forked; a bot's secret token is derived
from that key and the bot's id, so the master registers it and any worker can check it without
a table or a shared store. Workers compare the header with ``hmac.compare_digest``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
from datetime import timedelta

from telegram import Bot
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.request import HTTPXRequest

from bots import CONNECTION_MARGIN
from logic import ALLOWED_UPDATES
from tgbench_sut import SutEnv, bot_id_of, mask

log = logging.getLogger("ptb-webhooks")

# The environment variable holding the key the bots' secret tokens are derived from.
KEY_VARIABLE = "PTB_WEBHOOK_SECRET_KEY"
# The environment variable the master sets, before forking any worker, to the number of
# webhooks registered ("-1" if some failed): what /health reports.
REGISTERED_VARIABLE = "PTB_WEBHOOKS_SET"
REGISTER_ATTEMPTS = 5


def secret_token(key: str, bot_id: int) -> str:
    """Bot ``bot_id``'s ``secret_token`` (64 hex digits: within Telegram's 1-256 of A-Z a-z 0-9 _ -)."""
    return hmac.new(key.encode(), str(bot_id).encode(), hashlib.sha256).hexdigest()


def key_from_environ() -> str:
    key = os.environ.get(KEY_VARIABLE)
    if not key:
        raise RuntimeError(f"{KEY_VARIABLE} is not set: start the app with gunicorn.conf.py")
    return key


def register_all(env: SutEnv, key: str, concurrency: int = 32) -> tuple[int, list[str]]:
    """``setWebhook`` for every bot (``<public url>/webhook/<bot id>``, its secret token, the
    logic's update types), ``concurrency`` at a time, retrying 429s and network errors.
    Returns (how many were set, the tokens that failed)."""
    return asyncio.run(_register_all(env, key, concurrency))


async def _register_all(env: SutEnv, key: str, concurrency: int) -> tuple[int, list[str]]:
    api = env.api_url.rstrip("/")
    request = HTTPXRequest(connection_pool_size=concurrency + CONNECTION_MARGIN)
    gate = asyncio.Semaphore(concurrency)
    failed: list[str] = []

    async def one(token: str) -> None:
        # Both clients given: a Bot given only ``request`` still builds a getUpdates client of
        # its own (an httpx client and TLS context, ~0.85 MB and ~30 ms each), which for
        # 2,000 bots held 1.7 GB in the master (and so in every forked worker) and took a
        # minute to build.
        bot = Bot(
            token,
            base_url=f"{api}/bot{{token}}",
            request=request,
            get_updates_request=request,
        )
        bot_id = bot_id_of(token)
        delay = 0.5
        async with gate:
            for attempt in range(1, REGISTER_ATTEMPTS + 1):
                try:
                    await bot.set_webhook(
                        url=env.webhook_url(bot_id),
                        secret_token=secret_token(key, bot_id),
                        allowed_updates=ALLOWED_UPDATES,
                    )
                    return
                except RetryAfter as e:
                    wait = e.retry_after
                    await asyncio.sleep(
                        wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
                    )
                except (BadRequest, Forbidden, InvalidToken) as e:
                    log.error("setWebhook for %s refused: %s", mask(token), e)
                    break
                except NetworkError as e:
                    log.warning("setWebhook for %s failed (attempt %d): %s", mask(token), attempt, e)
                    await asyncio.sleep(delay)
                    delay *= 2
            failed.append(token)

    await request.initialize()
    try:
        await asyncio.gather(*(one(token) for token in env.tokens))
    finally:
        await request.shutdown()
    return len(env.tokens) - len(failed), failed
