"""The tgbench SUT contract for the Python example stacks (aiogram, python-telegram-bot):
everything a server is configured with comes from the environment the harness sets
(docs/contracts.md, "The SUT contract").

- ``TGBENCH_API_URL``     base URL of the Bot API (the mock), e.g. ``http://127.0.0.1:8081``
- ``TGBENCH_TOKENS_FILE`` one bot token a line
- ``TGBENCH_LISTEN``      ``host:port`` the webhook server binds
- ``TGBENCH_PUBLIC_URL``  the URL base the webhook server registers with ``setWebhook``

Also here: token masking for logs, the open-files limit, quiet logging, the ready line, and
``run_server``, the ``main`` of an asyncio server.
Every example's venv has this folder on ``sys.path`` (examples/common/setup-env.sh writes a
``.pth`` file), so a server imports it as ``tgbench_sut``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import resource
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any


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

    def webhook_url(self, bot_id: int) -> str:
        """Where bot ``bot_id``'s updates are to be POSTed: ``<public url>/webhook/<bot id>``."""
        assert self.public_url is not None
        return f"{self.public_url.rstrip('/')}/webhook/{bot_id}"


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


def raise_open_files_limit(needed: int) -> None:
    """Lift the soft open-files limit to the hard one when ``needed`` sockets would not fit
    (each bot holds a connection; Python's default soft limit is often 1,024)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def setup_logging() -> None:
    """Warnings and errors only, on stderr: the frameworks log every handled update at INFO,
    which at thousands of bots would cost more CPU than the bot logic being measured."""
    logging.basicConfig(
        level=logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def ready(line: str) -> None:
    """The one line a server prints when it is ready."""
    print(line, flush=True)


def run_server(
    name: str, *, webhook: bool, serve: Callable[[SutEnv], Coroutine[Any, Any, None]]
) -> int:
    """An asyncio server's ``main``: quiet logging; the environment (exit status 2, with the
    reason on stderr, when it is wrong); ``serve(env)`` in a fresh event loop until it
    returns (on SIGTERM or SIGINT); then ``<name> stopped``. Returns the exit status."""
    setup_logging()
    try:
        env = SutEnv.from_environ(webhook=webhook)
        if webhook:
            env.listen_host_port()
    except ConfigError as e:
        print(f"{name}: {e}", file=sys.stderr)
        return 2
    asyncio.run(serve(env))
    print(f"{name} stopped", flush=True)
    return 0
