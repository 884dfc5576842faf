// A multi-tenant grammY webhook server: one Node.js HTTP server, `POST /webhook/<bot_id>` for
// every bot in TGBENCH_TOKENS_FILE (examples/common/tgbench_sut.js: per-bot secret tokens
// checked in constant time, registration, /health), each bot's requests handed to grammY's
// own `webhookCallback(bot, "http")`, which handles the update before it answers Telegram.
// A bot's `Bot` is built on its first update (grammY then calls getMe once).
//
// Usage (the tgbench harness sets the environment; see README.md):
//   node webhook.js [--register-concurrency N]
// Stops cleanly on SIGTERM or SIGINT.
"use strict";

const { Api, webhookCallback } = require("grammy");
const sut = require("../common/tgbench_sut");
const { makeBot } = require("./bots");

const NAME = "grammy-webhook";

sut.webhookMain({
  name: NAME,
  handlerFor: (env, token, secret) =>
    webhookCallback(makeBot(token, env.apiUrl, NAME), "http", { secretToken: secret }),
  register: (env, token, url, secret) =>
    new Api(token, { apiRoot: env.apiUrl }).setWebhook(url, {
      secret_token: secret,
      allowed_updates: sut.ALLOWED_UPDATES,
    }),
});
