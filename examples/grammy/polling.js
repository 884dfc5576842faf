// A multi-tenant grammY long-polling server: every bot in TGBENCH_TOKENS_FILE polls from this
// one Node.js process, each with grammY's built-in `bot.start()` (getMe, deleteWebhook, then
// getUpdates with grammY's 30 s timeout; a bot's updates handled one at a time).
//
// Usage (the tgbench harness sets the environment; see README.md):
//   node polling.js [--timeout SECONDS] [--start-concurrency N]
// Stops cleanly on SIGTERM or SIGINT (`bot.stop()` for every bot).
"use strict";

const { parseArgs } = require("util");
const sut = require("../common/tgbench_sut");
const { makeBot } = require("./bots");

const NAME = "grammy-polling";

async function main() {
  const { values } = parseArgs({
    options: {
      timeout: { type: "string", default: "30" },
      "start-concurrency": { type: "string", default: "100" },
    },
  });
  const timeout = Number(values.timeout);
  const concurrency = Number(values["start-concurrency"]);
  if (!Number.isInteger(timeout) || timeout < 0 || !(concurrency >= 1)) {
    throw new sut.ConfigError("--timeout must be a whole number of seconds, --start-concurrency at least 1");
  }
  const env = sut.sutEnv({ webhook: false });
  const bots = env.tokens.map((token) => makeBot(token, env.apiUrl, NAME));
  sut.onSignals(NAME, () => Promise.all(bots.map((bot) => (bot.isRunning() ? bot.stop() : undefined))));

  await sut.eachLimited(bots, concurrency, (bot) =>
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
