// A multi-tenant telegraf long-polling server: every bot in TGBENCH_TOKENS_FILE polls from
// this one Node.js process. Each bot is started the way `bot.launch()` starts one (getMe,
// deleteWebhook, then telegraf's polling loop: getUpdates with a 50 s timeout, fixed in
// telegraf; the updates of one batch handled concurrently); `launch()` itself is not used
// because it resolves only when the bot stops, and the ready line needs every bot started.
//
// Usage (the tgbench harness sets the environment; see README.md):
//   node polling.js [--start-concurrency N]
// Stops cleanly on SIGTERM or SIGINT (`bot.stop()` for every bot).
"use strict";

const sut = require("../common/tgbench_sut");
const { makeBot } = require("./bots");

const NAME = "telegraf-polling";

async function main() {
  const options = sut.intOptions({ "start-concurrency": [100, 1] });
  const env = sut.sutEnv({ webhook: false });
  const bots = env.tokens.map((token) => makeBot(token, env.apiUrl, NAME));
  const loops = [];
  sut.onSignals(NAME, () => {
    for (const bot of bots) if (bot.polling) bot.stop("SIGTERM");
    return Promise.allSettled(loops);
  });

  await sut.eachLimited(bots, options["start-concurrency"], async (bot) => {
    bot.botInfo = await bot.telegram.getMe();
    await bot.telegram.deleteWebhook();
    loops.push(
      bot.startPolling(sut.ALLOWED_UPDATES).catch((e) => {
        process.stderr.write(`${NAME}: bot ${bot.botInfo.id} stopped polling: ${e && e.stack ? e.stack : e}\n`);
      }),
    );
  });
  sut.ready(`${NAME} ready: ${bots.length} bots polling ${env.apiUrl} (timeout=50 s, telegraf's)`);
}

main().catch((e) => sut.fail(NAME, e));
