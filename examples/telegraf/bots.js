// How both telegraf servers build a bot: pointed at the mock (`telegram.apiRoot`), with the
// bot logic's handlers (examples/common/tgbench_sut.js holds the texts) and an error handler.
//
// telegraf's own defaults are kept: with an http:// API root it uses Node's global agent
// (keep-alive, no socket limit); `webhookReply: true`, so in a webhook an answerCallbackQuery
// (one of the few methods telegraf allows there; not sendMessage) is sent as the body of the
// webhook's answer ({"method":"answerCallbackQuery",...}), not as an API call of its own.
"use strict";

const { Telegraf } = require("telegraf");
const { message } = require("telegraf/filters");
const { botIdOf, mask, pressedText, replyText } = require("../common/tgbench_sut");

function makeBot(token, apiUrl, name) {
  const bot = new Telegraf(token, { telegram: { apiRoot: apiUrl } });
  const botId = botIdOf(token);
  bot.on(message("text"), (ctx) =>
    ctx.reply(replyText(botId, ctx.message.text), {
      reply_parameters: { message_id: ctx.message.message_id },
    }),
  );
  bot.on("callback_query", (ctx) => ctx.answerCbQuery(pressedText(ctx.callbackQuery.data)));
  // telegraf's default error handler rethrows, which ends a polling bot's loop.
  bot.catch((err, ctx) => {
    process.stderr.write(`${name}: bot ${mask(token)}: update ${ctx.update.update_id}: ${err}\n`);
  });
  return bot;
}

module.exports = { makeBot };
