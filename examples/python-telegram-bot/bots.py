"""How every python-telegram-bot server here builds a bot's ``Application``: pointed at the
mock (``TGBENCH_API_URL``), with the bot logic's handlers, and, in the multi-tenant servers,
sharing two HTTP clients among all the bots of the process.

python-telegram-bot gives each ``Application`` two ``HTTPXRequest`` objects of its own: one
for ``getUpdates`` (a pool of 1 connection) and one for every other call (a pool of 256).
Each is an ``httpx.AsyncClient`` with its own connection pool and TLS context, so 2,000 bots
would mean 4,000 clients. The multi-tenant servers instead share one of each, sized for the
process: ``getUpdates`` holds one connection per bot for the whole polling timeout, so its
pool must have room for every bot (httpx waits ``pool_timeout``, 1 s by default, then raises
``PoolTimeout``, which python-telegram-bot reports as ``TimedOut`` and retries).

Not one pair for every bot, though: httpcore 1.0.9's pool re-checks every connection against
every other one each time a request starts or ends (``_assign_requests_to_connections``: a
``len([...])`` over the connections inside the loop over them), so the cost of one call grows
with the square of the connections held. At 2,000 bots on one pair, each call scanned ~4
million entries: the event loop fell behind, connects timed out (5 s) and a bot's start
failed. The bots are split into groups of ``BOTS_PER_CLIENT`` (100) sharing a pair each.
"""

from __future__ import annotations

from telegram.ext import Application, ApplicationBuilder
from telegram.request import HTTPXRequest

from logic import add_handlers

# Connections beyond one per bot: replies in flight while every bot's poll is held, and the
# getMe/deleteWebhook/setWebhook calls at start.
CONNECTION_MARGIN = 100


# Bots sharing one pair of clients in the polling server (see above: a pool's cost per call
# grows with the square of its connections).
BOTS_PER_CLIENT = 100


def shared_requests(bots: int, pool: int | None = None) -> tuple[HTTPXRequest, HTTPXRequest]:
    """(calls, getUpdates) clients for ``bots`` bots; ``pool`` connections each (default: one
    per bot plus a margin)."""
    size = pool if pool is not None else bots + CONNECTION_MARGIN
    return HTTPXRequest(connection_pool_size=size), HTTPXRequest(connection_pool_size=size)


def grouped_requests(
    bots: int, per_client: int, pool: int | None = None
) -> list[tuple[HTTPXRequest, HTTPXRequest]]:
    """One client pair per bot: bot ``i`` shares the pair of group ``i // per_client`` with
    the other bots of its group."""
    pairs = [
        shared_requests(min(per_client, bots - start), pool)
        for start in range(0, bots, per_client)
    ]
    return [pairs[i // per_client] for i in range(bots)]


def builder(token: str, api_url: str) -> ApplicationBuilder:
    """An ``ApplicationBuilder`` for ``token`` whose bot calls ``<api_url>/bot<token>/<method>``."""
    api = api_url.rstrip("/")
    return (
        Application.builder()
        .token(token)
        .base_url(f"{api}/bot{{token}}")
        .base_file_url(f"{api}/file/bot{{token}}")
    )


def application(
    token: str,
    api_url: str,
    requests: tuple[HTTPXRequest, HTTPXRequest] | None,
    *,
    updater: bool,
) -> Application:
    """A bot's ``Application`` with the logic's handlers; ``requests`` shared clients, or
    ``None`` for python-telegram-bot's own per-bot ones; ``updater=False`` for webhooks."""
    b = builder(token, api_url)
    if requests is not None:
        b = b.request(requests[0]).get_updates_request(requests[1])
    if not updater:
        b = b.updater(None)
    app = b.build()
    add_handlers(app)
    return app
