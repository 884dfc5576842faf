"""A multi-tenant python-telegram-bot long-polling server: every bot in TGBENCH_TOKENS_FILE
polls from this one process and event loop, one ``Application`` per bot.

``Application.run_polling`` runs one bot and owns the event loop and the signals, so it cannot
run two bots in one process; this server does for every bot what ``run_polling`` does for one
(``initialize()``, ``updater.start_polling()``, ``start()``; then ``updater.stop()``,
``stop()``, ``shutdown()``), with python-telegram-bot's defaults: a 10 s ``getUpdates``
timeout, updates of a bot handled one at a time. ``main.py`` is the one-bot ``run_polling``
shape, and ``per_process.py`` runs it once per bot.

The one default changed: every bot shares two HTTP clients, sized for the process (see
``bots.py``); ``--own-clients`` gives each bot python-telegram-bot's own two instead.

Usage (the tgbench harness sets the environment; see README.md):
    python polling_server.py [--timeout SECONDS] [--pool N] [--own-clients]
                             [--start-concurrency N]
Stops cleanly on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from telegram.ext import Application

from bots import application, shared_requests
from logic import ALLOWED_UPDATES
from tgbench_sut import SutEnv, raise_open_files_limit, ready, run_server


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--timeout",
        type=int,
        default=10,
        metavar="SECONDS",
        help="getUpdates timeout (default 10, python-telegram-bot's own)",
    )
    parser.add_argument(
        "--pool",
        type=int,
        default=None,
        metavar="N",
        help="connections of each shared client (default: bots + 100)",
    )
    parser.add_argument(
        "--own-clients",
        action="store_true",
        help="two HTTP clients per bot (python-telegram-bot's default) instead of shared ones",
    )
    parser.add_argument(
        "--start-concurrency",
        type=int,
        default=100,
        metavar="N",
        help="bots starting (getMe, deleteWebhook) at once (default 100)",
    )
    args = parser.parse_args(argv)
    if (args.pool is not None and args.pool < 1) or args.start_concurrency < 1:
        parser.error("--pool and --start-concurrency must be at least 1")
    return args


async def serve(env: SutEnv, args: argparse.Namespace) -> None:
    raise_open_files_limit(len(env.tokens) * (4 if args.own_clients else 1) + 256)
    requests = None if args.own_clients else shared_requests(len(env.tokens), args.pool)
    apps = [application(t, env.api_url, requests, updater=True) for t in env.tokens]

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    gate = asyncio.Semaphore(args.start_concurrency)
    started: list[Application] = []

    async def start(app: Application) -> None:
        async with gate:
            await app.initialize()
            assert app.updater is not None
            await app.updater.start_polling(timeout=args.timeout, allowed_updates=ALLOWED_UPDATES)
            await app.start()
            started.append(app)

    starting = asyncio.ensure_future(asyncio.gather(*(start(app) for app in apps)))
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if starting.done():
            starting.result()
            clients = "own clients per bot" if args.own_clients else "shared clients"
            ready(
                f"ptb-polling ready: {len(apps)} bots polling {env.api_url} "
                f"(timeout={args.timeout} s, {clients})"
            )
            await stopping
        else:
            starting.cancel()
    finally:
        # Every poll first, then the applications, then the (shared) clients: a client closed
        # while another bot still polls through it would fail that bot's last call.
        await asyncio.gather(*(a.updater.stop() for a in started if a.updater.running))
        await asyncio.gather(*(a.stop() for a in started if a.running))
        await asyncio.gather(*(a.shutdown() for a in apps), return_exceptions=True)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    return run_server("ptb-polling", webhook=False, serve=lambda env: serve(env, args))

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
