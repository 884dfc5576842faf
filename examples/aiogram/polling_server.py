"""A multi-tenant aiogram 3 long-polling server: every bot in TGBENCH_TOKENS_FILE polls from
this one process, the way ``Dispatcher.start_polling(*bots)`` runs them, with aiogram's
defaults (``polling_timeout=10`` in aiogram 3's ``start_polling``, handlers run as tasks,
aiogram's backoff on errors).

The one default changed is the shared session's connection limit (see ``sut.shared_session``):
aiogram's 100 would leave every bot past the 100th waiting silently for a connection.

Usage (the tgbench harness sets the environment; see README.md):
    python polling_server.py [--polling-timeout SECONDS] [--connection-limit N]
Stops cleanly on SIGTERM or SIGINT (aiogram's own signal handling).
"""

from __future__ import annotations

import argparse
import sys

from aiogram import Bot, Dispatcher

from logic import build_router
from sut import (
    SutEnv,
    connection_limit,
    raise_open_files_limit,
    ready,
    run_server,
    shared_session,
)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--polling-timeout",
        type=int,
        default=None,
        metavar="SECONDS",
        help="getUpdates timeout; default: aiogram's own (10 s in aiogram 3's start_polling)",
    )
    parser.add_argument(
        "--connection-limit",
        type=int,
        default=None,
        metavar="N",
        help="the shared session's connection limit; default: bots + 100 "
        "(100 reproduces aiogram's default and its silent queueing past the 100th bot)",
    )
    args = parser.parse_args(argv)
    if args.connection_limit is not None and args.connection_limit < 1:
        parser.error("--connection-limit must be at least 1")
    return args


async def serve(env: SutEnv, polling_timeout: int | None, limit: int | None) -> None:
    raise_open_files_limit(len(env.tokens) + 256)
    limit = limit if limit is not None else connection_limit(len(env.tokens))
    session = shared_session(env.api_url, limit)
    bots = [Bot(token=token, session=session) for token in env.tokens]
    dispatcher = Dispatcher()
    dispatcher.include_router(build_router())

    @dispatcher.startup()
    async def announce() -> None:
        timeout = polling_timeout if polling_timeout is not None else "aiogram default"
        ready(
            f"aiogram-polling ready: {len(bots)} bots polling {env.api_url} "
            f"(polling_timeout={timeout}, connection limit {limit})"
        )

    options = {} if polling_timeout is None else {"polling_timeout": polling_timeout}
    # handle_signals=True (aiogram's default): SIGTERM/SIGINT stop every poll, run shutdown
    # hooks and close the session (close_bot_session=True).
    await dispatcher.start_polling(*bots, **options)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    return run_server(
        "aiogram-polling",
        webhook=False,
        serve=lambda env: serve(env, args.polling_timeout, args.connection_limit),
    )

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
