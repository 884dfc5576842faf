"""The aiogram side of the tgbench SUT contract: the one shared HTTP session every bot of a
server uses. The contract itself (the ``TGBENCH_*`` environment, token masking, the ready
line) is ``tgbench_sut`` in examples/common/, shared by every Python example stack; it is
re-exported here so the servers import one module.
"""

from __future__ import annotations

import os
import ssl

import certifi
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from tgbench_sut import SutEnv, bot_id_of, mask, raise_open_files_limit, ready, run_server

__all__ = [
    "CONNECTION_MARGIN",
    "server_tls",
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
    session = AiohttpSession(api=api, limit=limit)
    ca_file = os.environ.get("TGBENCH_CA_FILE")
    if ca_file:
        # aiogram builds its TLS context from certifi's roots alone (cafile=certifi.where()),
        # so SSL_CERT_FILE does not reach it: the one stack here that cannot be told by the
        # environment. Its session offers no public way to add a CA; the connector's
        # settings are where aiogram keeps the context.
        context = ssl.create_default_context(cafile=certifi.where())
        context.load_verify_locations(cafile=ca_file)
        session._connector_init["ssl"] = context
    return session


def connection_limit(bots: int) -> int:
    return bots + CONNECTION_MARGIN


def server_tls() -> ssl.SSLContext | None:
    """The TLS context a webhook server serves with when tgbench runs over HTTPS: the
    certificate and key it issued (``TGBENCH_TLS_CERT``, ``TGBENCH_TLS_KEY``); None for
    plain HTTP."""
    cert, key = os.environ.get("TGBENCH_TLS_CERT"), os.environ.get("TGBENCH_TLS_KEY")
    if not (cert and key):
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context
