"""The crypto bot's webhook shape: a Flask app, run by Gunicorn (``gunicorn.conf.py``), one
endpoint ``POST /webhook/<bot_id>`` for every bot in TGBENCH_TOKENS_FILE, and ``GET /health``.

A synchronous WSGI worker holds one request at a time (a gthread worker, one per thread), so
the update is handled inside the request, reply included, and the answer to Telegram is sent
only then: a slow handler holds its worker, and a worker that dies mid-request leaves the
update unanswered, so Telegram delivers it again.

- the per-bot secret token (``webhooks.secret_token``) is checked in constant time before
  anything else is done; an unknown bot is 404, a wrong secret 401;
- python-telegram-bot is asyncio, Flask is not: each worker process runs one event loop in a
  background thread and hands each update to it, waiting for the result;
- each bot's ``Application`` (its handlers; ``updater=None``) is built and initialized (one
  ``getMe``) on the worker's first update for that bot and kept in an LRU of
  ``PTB_LRU_SIZE`` (default 1024); all of a worker's bots share two HTTP clients;
- ``PTB_HANDLER_DELAY_MS`` (default 0) makes every update wait that long in the worker before
  it is handled, and says so on stderr: the slow handler of the worker-kill test.
"""

from __future__ import annotations

import asyncio
import hmac
import os
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

from flask import Flask, jsonify, request
from telegram import Update
from telegram.ext import Application

from bots import application, shared_requests
from tgbench_sut import SutEnv, bot_id_of, setup_logging
from webhooks import REGISTERED_VARIABLE, key_from_environ, secret_token

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
T = TypeVar("T")


class EventLoopThread:
    """One asyncio loop per worker process, in a daemon thread started on first use (after
    Gunicorn forked the worker: threads do not survive a fork)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="ptb-loop", daemon=True).start()
                self._loop = loop
        future: Future[T] = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        return future.result()


class Applications:
    """A worker's bots: an ``Application`` per bot, built and initialized on first use and
    kept in an LRU. Used from the event-loop thread only."""

    def __init__(self, env: SutEnv, capacity: int) -> None:
        self._env = env
        self._tokens = {bot_id_of(token): token for token in env.tokens}
        self._capacity = capacity
        self._requests = shared_requests(min(len(env.tokens), capacity))
        self._apps: OrderedDict[int, asyncio.Task[Application]] = OrderedDict()

    def __contains__(self, bot_id: int) -> bool:
        return bot_id in self._tokens

    async def get(self, bot_id: int) -> Application:
        task = self._apps.get(bot_id)
        if task is None or (task.done() and task.exception() is not None):
            task = asyncio.ensure_future(self._build(bot_id))
            self._apps[bot_id] = task
            if len(self._apps) > self._capacity:
                # Dropped, not shut down: the clients it used are shared.
                self._apps.popitem(last=False)
        else:
            self._apps.move_to_end(bot_id)
        return await task

    async def _build(self, bot_id: int) -> Application:
        app = application(self._tokens[bot_id], self._env.api_url, self._requests, updater=False)
        await app.initialize()
        return app

    async def handle(self, bot_id: int, data: dict[str, Any]) -> None:
        app = await self.get(bot_id)
        await app.process_update(Update.de_json(data, app.bot))


def create_app() -> Flask:
    setup_logging()
    env = SutEnv.from_environ(webhook=True)
    key = key_from_environ()
    secrets = {bot_id_of(t): secret_token(key, bot_id_of(t)).encode() for t in env.tokens}
    apps = Applications(env, int(os.environ.get("PTB_LRU_SIZE", "1024")))
    loop = EventLoopThread()
    delay_s = int(os.environ.get("PTB_HANDLER_DELAY_MS", "0")) / 1000
    flask = Flask(__name__)

    @flask.post("/webhook/<bot_id>")
    def webhook(bot_id: str) -> Any:
        expected = secrets.get(int(bot_id)) if bot_id.isdigit() else None
        if expected is None:
            return jsonify(error="unknown bot"), 404
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(given, expected):
            return jsonify(error="bad secret token"), 401
        data = request.get_json(force=True, silent=True)
        if not isinstance(data, dict):
            return jsonify(error="not a JSON update"), 400
        if delay_s:
            print(
                f"slow handler: update {data.get('update_id')} of bot {bot_id} "
                f"in pid {os.getpid()}, waiting {delay_s:g} s",
                file=sys.stderr,
                flush=True,
            )
            time.sleep(delay_s)
        loop.run(apps.handle(int(bot_id), data))
        return jsonify({})

    @flask.get("/health")
    def health() -> Any:
        registered = int(os.environ.get(REGISTERED_VARIABLE, "0"))
        ok = registered == len(env.tokens)
        body = {
            "status": "ok" if ok else "degraded",
            "bots": len(env.tokens),
            "webhooks_set": registered,
            "pid": os.getpid(),
        }
        return jsonify(body), 200 if ok else 503

    return flask


app = create_app()
