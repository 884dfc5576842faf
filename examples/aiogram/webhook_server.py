"""A multi-tenant aiogram 3 webhook server on aiohttp: one endpoint ``POST /webhook/{bot_id}``
for every bot in TGBENCH_TOKENS_FILE, the platform design the tgbench claims describe.

- per-bot random secret tokens, given to Telegram with ``setWebhook(secret_token=...)`` and
  checked in constant time (``hmac.compare_digest``) before anything else is done;
- ``Bot`` instances built lazily on a bot's first update and kept in an LRU cache;
- every webhook registered at start (``TGBENCH_PUBLIC_URL/webhook/{bot_id}``) with bounded
  concurrency, after the listener is up so no delivery finds the port closed;
- updates handled in the background after an immediate ``200 {}`` (aiogram's default for its
  webhook handlers), the reply sent with a Bot API call;
- ``GET /health``: 503 while webhooks are being registered, 200 when every one is set.

Usage (the tgbench harness sets the environment; see README.md):
    python webhook_server.py [--lru-size N] [--register-concurrency N]
Stops cleanly on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import logging
import secrets
import signal
import sys
from collections import OrderedDict
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.webhook.aiohttp_server import BaseRequestHandler
from aiohttp import web

from logic import build_router
from sut import (
    SutEnv,
    bot_id_of,
    connection_limit,
    mask,
    raise_open_files_limit,
    ready,
    run_server,
    server_tls,
    shared_session,
)

log = logging.getLogger("aiogram-webhook")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
REGISTER_ATTEMPTS = 5
# aiohttp's default listen backlog is 128; a burst of deliveries to thousands of bots can
# overflow it, and a dropped SYN costs the update a one-second TCP retransmit.
LISTEN_BACKLOG = 1024


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--lru-size", type=int, default=1024, help="Bot instances kept (default 1024)"
    )
    parser.add_argument(
        "--register-concurrency",
        type=int,
        default=32,
        help="setWebhook calls in flight at start (default 32)",
    )
    args = parser.parse_args(argv)
    if args.lru_size < 1 or args.register_concurrency < 1:
        parser.error("--lru-size and --register-concurrency must be at least 1")
    return args


class BotCache:
    """Known bots by id; ``Bot`` instances created on first use and kept in an LRU. Evicting
    a bot only drops the object: every bot shares one HTTP session, so nothing to close."""

    def __init__(self, tokens: list[str], session: AiohttpSession, capacity: int) -> None:
        self._tokens = {bot_id_of(token): token for token in tokens}
        self._session = session
        self._capacity = capacity
        self._bots: OrderedDict[int, Bot] = OrderedDict()

    def __contains__(self, bot_id: int) -> bool:
        return bot_id in self._tokens

    def __len__(self) -> int:
        return len(self._bots)

    def get(self, bot_id: int) -> Bot:
        bot = self._bots.get(bot_id)
        if bot is not None:
            self._bots.move_to_end(bot_id)
            return bot
        bot = Bot(token=self._tokens[bot_id], session=self._session)
        self._bots[bot_id] = bot
        if len(self._bots) > self._capacity:
            self._bots.popitem(last=False)
        return bot


class BotIdRequestHandler(BaseRequestHandler):
    """aiogram's webhook request handler for ``/webhook/{bot_id}``: resolves the bot from the
    path, after checking the per-bot secret, so an unauthenticated request builds nothing."""

    def __init__(self, dispatcher: Dispatcher, cache: BotCache, secret_of: dict[int, str]) -> None:
        super().__init__(dispatcher=dispatcher, handle_in_background=True)
        self.cache = cache
        self.secret_of = secret_of

    async def resolve_bot(self, request: web.Request) -> Bot:
        raw_id = request.match_info["bot_id"]
        bot_id = int(raw_id) if raw_id.lstrip("-").isdigit() else None
        if bot_id is None or bot_id not in self.cache:
            raise web.HTTPNotFound(text="unknown bot")
        expected = self.secret_of[bot_id].encode()
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(given, expected):
            raise web.HTTPUnauthorized(text="bad secret token")
        return self.cache.get(bot_id)

    def verify_secret(self, telegram_secret_token: str, bot: Bot) -> bool:
        # Already checked in resolve_bot, before a Bot instance was built or fetched.
        return True

    async def close(self) -> None:
        # The shared session is closed once, by the server, after the runner stops.
        pass


class Registration:
    """setWebhook for every bot, bounded concurrency, retrying 429 and transient errors."""

    def __init__(
        self, env: SutEnv, session: AiohttpSession, secret_of: dict[int, str], allowed: list[str]
    ) -> None:
        self.env = env
        self.session = session
        self.secret_of = secret_of
        self.allowed = allowed
        self.done = False
        self.ok = 0
        self.failed: list[str] = []

    async def run(self, concurrency: int) -> None:
        gate = asyncio.Semaphore(concurrency)

        async def one(token: str) -> None:
            async with gate:
                if await self._register(token):
                    self.ok += 1
                else:
                    self.failed.append(token)

        await asyncio.gather(*(one(token) for token in self.env.tokens))
        self.done = True

    async def _register(self, token: str) -> bool:
        bot = Bot(token=token, session=self.session)
        bot_id = bot_id_of(token)
        url = self.env.webhook_url(bot_id)
        delay = 0.5
        for attempt in range(1, REGISTER_ATTEMPTS + 1):
            try:
                await bot.set_webhook(
                    url=url, secret_token=self.secret_of[bot_id], allowed_updates=self.allowed
                )
                return True
            except TelegramRetryAfter as e:
                await asyncio.sleep(e.retry_after)
            except (TelegramNetworkError, TelegramServerError) as e:
                log.warning("setWebhook for %s failed (attempt %d): %s", mask(token), attempt, e)
                await asyncio.sleep(delay)
                delay *= 2
            except Exception as e:  # noqa: BLE001 - a refusal (4xx) will not change on retry
                log.error("setWebhook for %s refused: %s", mask(token), e)
                return False
        return False


def build_app(
    handler: BotIdRequestHandler, registration: Registration, cache: BotCache
) -> web.Application:
    app = web.Application()
    handler.register(app, path="/webhook/{bot_id}")

    async def health(_: web.Request) -> web.Response:
        body: dict[str, Any] = {
            "status": "ok" if registration.done and not registration.failed else "starting",
            "bots": len(registration.env.tokens),
            "webhooks_set": registration.ok,
            "webhooks_failed": len(registration.failed),
            "bots_cached": len(cache),
        }
        if registration.done and registration.failed:
            body["status"] = "degraded"
        return web.json_response(body, status=200 if body["status"] == "ok" else 503)

    app.router.add_get("/health", health)
    return app


async def serve(env: SutEnv, lru_size: int, register_concurrency: int) -> None:
    raise_open_files_limit(2 * len(env.tokens) + 256)
    host, port = env.listen_host_port()
    session = shared_session(env.api_url, connection_limit(len(env.tokens)))
    dispatcher = Dispatcher()
    dispatcher.include_router(build_router())
    secret_of = {bot_id_of(token): secrets.token_urlsafe(32) for token in env.tokens}
    cache = BotCache(env.tokens, session, lru_size)
    handler = BotIdRequestHandler(dispatcher, cache, secret_of)
    registration = Registration(env, session, secret_of, dispatcher.resolve_used_update_types())

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    runner = web.AppRunner(
        build_app(handler, registration, cache), access_log=None, handle_signals=False
    )
    await runner.setup()
    try:
        await web.TCPSite(
            runner, host, port, backlog=LISTEN_BACKLOG, ssl_context=server_tls()
        ).start()
        registering = asyncio.create_task(registration.run(register_concurrency))
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({registering, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if registering.done():
            registering.result()
            failed = f", {len(registration.failed)} FAILED" if registration.failed else ""
            ready(
                f"aiogram-webhook ready: listening on {host}:{port}, "
                f"{registration.ok} of {len(env.tokens)} webhooks set{failed}"
            )
            await stopping
        else:
            registering.cancel()
    finally:
        await runner.cleanup()
        await session.close()


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    return run_server(
        "aiogram-webhook",
        webhook=True,
        serve=lambda env: serve(env, args.lru_size, args.register_concurrency),
    )

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
