// How both grammY servers build a bot: pointed at the mock (`client.apiRoot`), with the bot
// logic's handlers (examples/common/tgbench_sut.js holds the texts) and an error handler.
//
// grammY's own defaults are kept: one shared keep-alive http.Agent per API root with no
// socket limit, updates of a bot handled one at a time by `bot.start()`.
"use strict";

const { Bot } = require("grammy");
const { mask, pressedText, replyText } = require("../common/tgbench_sut");

function makeBot(token, apiUrl, name) {
  const bot = new Bot(token, { client: { apiRoot: apiUrl } });
  bot.on("message:text", (ctx) =>
    ctx.reply(replyText(ctx.me.id, ctx.message.text), {
      reply_parameters: { message_id: ctx.message.message_id },
    }),
  );
  bot.on("callback_query", (ctx) => ctx.answerCallbackQuery({ text: pressedText(ctx.callbackQuery.data) }));
  // Without an error handler grammY stops a polling bot at its first failed reply.
  bot.catch((err) => {
    process.stderr.write(`${name}: bot ${mask(token)}: update ${err.ctx.update.update_id}: ${err.error}\n`);
  });
  return bot;
}

module.exports = { makeBot };
