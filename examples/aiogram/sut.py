"""The tgbench SUT contract for the aiogram servers: everything they are configured with comes
from the environment the harness sets (see docs/bring-your-own-bot.md).

- ``TGBENCH_API_URL``     base URL of the Bot API (the mock), e.g. ``http://127.0.0.1:8081``
- ``TGBENCH_TOKENS_FILE`` one bot token a line
- ``TGBENCH_LISTEN``      ``host:port`` the webhook server binds
- ``TGBENCH_PUBLIC_URL``  the URL base the webhook server registers with ``setWebhook``

Also here: the one shared HTTP session every bot of a server uses, and token masking for logs.
"""

from __future__ import annotations

import logging
import os
import resource
import sys
from dataclasses import dataclass
from pathlib import Path

from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

# Connections beyond one per bot: replies (sendMessage, answerCallbackQuery) in flight at
# the same time as every bot's long poll, and setWebhook calls at start.
CONNECTION_MARGIN = 100


class ConfigError(Exception):
    """The SUT environment is missing or wrong; the message says which variable and why."""


@dataclass(frozen=True)
class SutEnv:
    api_url: str
    tokens: list[str]
    listen: str | None
    public_url: str | None

    @classmethod
    def from_environ(cls, *, webhook: bool) -> SutEnv:
        env = os.environ
        api_url = _required(env, "TGBENCH_API_URL")
        tokens_file = Path(_required(env, "TGBENCH_TOKENS_FILE"))
        try:
            text = tokens_file.read_text(encoding="utf-8")
        except OSError as e:
            raise ConfigError(f"TGBENCH_TOKENS_FILE={tokens_file}: cannot read: {e}") from e
        tokens = [line.strip() for line in text.splitlines() if line.strip()]
        if not tokens:
            raise ConfigError(f"TGBENCH_TOKENS_FILE={tokens_file}: holds no token")
        for number, token in enumerate(tokens, start=1):
            bot_id, sep, _ = token.partition(":")
            if not sep or not bot_id.isdigit():
                raise ConfigError(
                    f"TGBENCH_TOKENS_FILE={tokens_file} line {number}: "
                    f"not a bot token ({mask(token)}); expected <bot_id>:<secret>"
                )
        listen = env.get("TGBENCH_LISTEN") or None
        public_url = env.get("TGBENCH_PUBLIC_URL") or None
        if webhook:
            listen = _required(env, "TGBENCH_LISTEN")
            public_url = _required(env, "TGBENCH_PUBLIC_URL")
        return cls(api_url=api_url, tokens=tokens, listen=listen, public_url=public_url)

    def listen_host_port(self) -> tuple[str, int]:
        assert self.listen is not None
        host, sep, port = self.listen.rpartition(":")
        if not sep or not port.isdigit():
            raise ConfigError(f"TGBENCH_LISTEN={self.listen}: expected host:port")
        return host.strip("[]"), int(port)


def _required(env: os._Environ[str], name: str) -> str:
    value = env.get(name)
    if not value:
        raise ConfigError(
            f"{name} is not set (the tgbench harness sets it; see docs/bring-your-own-bot.md)"
        )
    return value


def bot_id_of(token: str) -> int:
    return int(token.partition(":")[0])


def mask(token: str) -> str:
    """A token safe to log: the bot id and the first three characters of the secret."""
    bot_id, _, secret = token.partition(":")
    return f"{bot_id}:{secret[:3]}…"


def shared_session(api_url: str, limit: int) -> AiohttpSession:
    """One aiohttp session for every bot of this process, pointed at ``api_url``.

    aiogram's ``AiohttpSession`` defaults to ``limit=100`` connections in total. A long poll
    holds a connection for up to ``polling_timeout`` seconds, so with a shared default session
    the 101st bot's getUpdates (and every reply) queues inside aiohttp's connector until some
    poll ends: no error, no log line, just bots that silently wait. Pass
    ``connection_limit(bots)``: one connection per bot plus a margin for replies in flight.
    """
    api = TelegramAPIServer.from_base(api_url)
    return AiohttpSession(api=api, limit=limit)


def connection_limit(bots: int) -> int:
    return bots + CONNECTION_MARGIN


def raise_open_files_limit(needed: int) -> None:
    """Lift the soft open-files limit to the hard one when ``needed`` sockets would not fit
    (each bot holds a connection; Python's default soft limit is often 1,024)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def setup_logging() -> None:
    """Warnings and errors only, on stderr: aiogram logs every handled update at INFO, which at
    thousands of bots would cost more CPU than the bot logic being measured."""
    logging.basicConfig(
        level=logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def ready(line: str) -> None:
    """The one line a server prints when it is ready."""
    print(line, flush=True)
