"""The aiogram side of the tgbench SUT contract: the one shared HTTP session every bot of a
server uses. The contract itself (the ``TGBENCH_*`` environment, token masking, the ready
line) is ``tgbench_sut`` in examples/common/, shared by every Python example stack; it is
re-exported here so the servers import one module.
"""

from __future__ import annotations

from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from tgbench_sut import SutEnv, bot_id_of, mask, raise_open_files_limit, ready, run_server

__all__ = [
    "CONNECTION_MARGIN",
    "SutEnv",
    "bot_id_of",
    "connection_limit",
    "mask",
    "raise_open_files_limit",
    "ready",
    "run_server",
    "shared_session",
]

# Connections beyond one per bot: replies (sendMessage, answerCallbackQuery) in flight at
# the same time as every bot's long poll, and setWebhook calls at start.
CONNECTION_MARGIN = 100


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
