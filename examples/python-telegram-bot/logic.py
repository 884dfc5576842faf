"""The bot logic every python-telegram-bot server runs: the same behaviour, word for word, as
tgbench's Rust reference bots (impls/src/logic.rs) and the aiogram servers
(examples/aiogram/logic.py), so every stack does the same work.

- ``/start`` (also ``/start payload``, ``/start@name``) -> a welcome, as a reply to the message
- any other text    -> an echo of the text, as a reply to the message
  (``reply_parameters.message_id``, which is how the mock pairs a reply with its update)
- a callback_query  -> answerCallbackQuery ("You pressed <data>")
- anything else     -> nothing

``add_handlers`` puts the two handlers on an ``Application``; each server builds its own.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters

# The update types the handlers use: given to getUpdates and setWebhook as allowed_updates.
ALLOWED_UPDATES = ["message", "callback_query"]


def welcome(bot_id: int) -> str:
    return f"Welcome! I am bot {bot_id}. Send me any text and I will echo it."


def is_start(text: str) -> bool:
    return text == "/start" or text.startswith(("/start ", "/start@"))


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None and message.text is not None
    text = message.text
    # do_quote=True: python-telegram-bot does not quote in private chats by default, and the
    # quote (reply_parameters) is what names the message answered.
    await message.reply_text(welcome(context.bot.id) if is_start(text) else text, do_quote=True)


async def on_callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer(text=f"You pressed {query.data}" if query.data is not None else None)


def add_handlers(app: Application) -> None:
    app.add_handler(MessageHandler(filters.TEXT, on_text))
    app.add_handler(CallbackQueryHandler(on_callback))
