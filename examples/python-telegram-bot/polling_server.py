"""A multi-tenant python-telegram-bot long-polling server: every bot in TGBENCH_TOKENS_FILE
polls from this one process and event loop, one ``Application`` per bot.

``Application.run_polling`` runs one bot and owns the event loop and the signals, so it cannot
run two bots in one process; this server does for every bot what ``run_polling`` does for one
(``initialize()``, ``updater.start_polling()``, ``start()``; then ``updater.stop()``,
``stop()``, ``shutdown()``), with python-telegram-bot's defaults: a 10 s ``getUpdates``
timeout, updates of a bot handled one at a time. ``main.py`` is the one-bot ``run_polling``
shape, and ``per_process.py`` runs it once per bot.

Two defaults changed, both what 2,000 bots in one process need (see README.md): the bots
share HTTP clients, two per group of 100 bots (``--bots-per-client``; see ``bots.py``), where
``--own-clients`` gives each bot python-telegram-bot's own two; and a bot whose start-up call
times out retries it (``--bootstrap-retries``, 3) instead of ending the process, as
``start_polling``'s default of no retries would.

Usage (the tgbench harness sets the environment; see README.md):
    python polling_server.py [--timeout SECONDS] [--pool N] [--bots-per-client N]
                             [--own-clients] [--start-concurrency N] [--bootstrap-retries N]
Stops cleanly on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys

from telegram.error import NetworkError
from telegram.ext import Application

from bots import BOTS_PER_CLIENT, application, grouped_requests
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
        help="connections of each shared client (default: its bots + 100)",
    )
    parser.add_argument(
        "--bots-per-client",
        type=int,
        default=int(os.environ.get("PTB_BOTS_PER_CLIENT", BOTS_PER_CLIENT)),
        metavar="N",
        help=f"bots sharing one pair of HTTP clients (default $PTB_BOTS_PER_CLIENT or "
        f"{BOTS_PER_CLIENT})",
    )
    parser.add_argument(
        "--bootstrap-retries",
        type=int,
        default=3,
        metavar="N",
        help="retries of a bot's start-up calls (getMe, deleteWebhook) that fail "
        "(default 3; python-telegram-bot's own default is 0; -1 retries forever)",
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
    if (args.pool is not None and args.pool < 1) or min(
        args.start_concurrency, args.bots_per_client
    ) < 1:
        parser.error("--pool, --bots-per-client and --start-concurrency must be at least 1")
    return args


async def serve(env: SutEnv, args: argparse.Namespace) -> None:
    bots = len(env.tokens)
    raise_open_files_limit(bots * (4 if args.own_clients else 1) + 256)
    if args.own_clients:
        requests = [None] * bots
    else:
        requests = grouped_requests(bots, args.bots_per_client, args.pool)
    apps = [application(t, env.api_url, r, updater=True) for t, r in zip(env.tokens, requests)]

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    gate = asyncio.Semaphore(args.start_concurrency)
    started: list[Application] = []

    t0 = loop.time()

    async def start(app: Application) -> None:
        async with gate:
            await initialize(app, args.bootstrap_retries)
            assert app.updater is not None
            await app.updater.start_polling(
                timeout=args.timeout,
                allowed_updates=ALLOWED_UPDATES,
                bootstrap_retries=args.bootstrap_retries,
            )
            await app.start()
            started.append(app)
            if len(started) % 500 == 0 and len(started) < len(apps):
                print(
                    f"ptb-polling: {len(started)} of {len(apps)} bots started "
                    f"in {loop.time() - t0:.0f} s",
                    file=sys.stderr,
                    flush=True,
                )

    starting = asyncio.ensure_future(asyncio.gather(*(start(app) for app in apps)))
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if starting.done():
            starting.result()
            clients = (
                "own clients per bot"
                if args.own_clients
                else f"clients shared by {args.bots_per_client} bots"
            )
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


async def initialize(app: Application, retries: int) -> None:
    """``app.initialize()`` (its ``getMe``), retried like ``start_polling``'s bootstrap:
    ``retries`` more times after a network error or time-out (forever when negative)."""
    attempt = 0
    while True:
        try:
            await app.initialize()
            return
        except NetworkError as err:  # TimedOut is a NetworkError
            if 0 <= retries <= attempt:
                raise
            attempt += 1
            print(f"ptb-polling: getMe failed ({err}); retry {attempt}", file=sys.stderr)
            await asyncio.sleep(1)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    return run_server("ptb-polling", webhook=False, serve=lambda env: serve(env, args))

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
