// A multi-tenant grammY long-polling server: every bot in TGBENCH_TOKENS_FILE polls from this
// one Node.js process, each with grammY's built-in `bot.start()` (getMe, deleteWebhook, then
// getUpdates with grammY's 30 s timeout; a bot's updates handled one at a time).
//
// Usage (the tgbench harness sets the environment; see README.md):
//   node polling.js [--timeout SECONDS] [--start-concurrency N]
// Stops cleanly on SIGTERM or SIGINT (`bot.stop()` for every bot).
"use strict";

const sut = require("../common/tgbench_sut");
const { makeBot } = require("./bots");

const NAME = "grammy-polling";

async function main() {
  const options = sut.intOptions({ timeout: [30, 0], "start-concurrency": [100, 1] });
  const { timeout } = options;
  const env = sut.sutEnv({ webhook: false });
  const bots = env.tokens.map((token) => makeBot(token, env.apiUrl, NAME));
  sut.onSignals(NAME, () => Promise.all(bots.map((bot) => (bot.isRunning() ? bot.stop() : undefined))));

  await sut.eachLimited(bots, options["start-concurrency"], (bot) =>
    new Promise((resolve, reject) => {
      bot
        .start({ allowed_updates: sut.ALLOWED_UPDATES, timeout, onStart: () => resolve() })
        .catch((e) => {
          reject(e);
          process.stderr.write(`${NAME}: a bot stopped polling: ${e && e.stack ? e.stack : e}\n`);
        });
    }),
  );
  sut.ready(`${NAME} ready: ${bots.length} bots polling ${env.apiUrl} (timeout=${timeout} s)`);
}

main().catch((e) => sut.fail(NAME, e));
