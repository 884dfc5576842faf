// A multi-tenant telegraf webhook server: one Node.js HTTP server, `POST /webhook/<bot_id>`
// for every bot in TGBENCH_TOKENS_FILE (examples/common/tgbench_sut.js: per-bot secret tokens
// checked in constant time, registration, /health), each bot's requests handed to telegraf's
// own `bot.webhookCallback(path, { secretToken })`. telegraf answers the webhook with a
// button press's answerCallbackQuery as the response body (`webhookReply`, on by default;
// echoes are sendMessage calls of their own). A bot's
// `Telegraf` is built on its first update (telegraf then calls getMe once).
//
// Usage (the tgbench harness sets the environment; see README.md):
//   node webhook.js [--register-concurrency N]
// Stops cleanly on SIGTERM or SIGINT.
"use strict";

const { Telegram } = require("telegraf");
const sut = require("../common/tgbench_sut");
const { makeBot } = require("./bots");

const NAME = "telegraf-webhook";

function handlerFor(env, token, secret) {
  const callback = makeBot(token, env.apiUrl, NAME).webhookCallback(`/webhook/${sut.botIdOf(token)}`, {
    secretToken: secret,
  });
  return (req, res) =>
    callback(req, res, () => {
      res.statusCode = 404;
      res.end();
    });
}

sut.webhookMain({
  name: NAME,
  handlerFor,
  register: (env, token, url, secret) =>
    new Telegram(token, { apiRoot: env.apiUrl }).setWebhook(url, {
      secret_token: secret,
      allowed_updates: sut.ALLOWED_UPDATES,
    }),
});
