"""The bot logic every aiogram reference server runs: the same behaviour, word for word, as
tgbench's Rust reference bots (impls/src/logic.rs), so both stacks do the same work.

- ``/start`` (also ``/start payload``, ``/start@name``) -> a welcome, as a reply to the message
- any other text    -> an echo of the text, as a reply to the message
  (``reply_parameters.message_id``, which is how the mock pairs a reply with its update)
- a callback_query  -> answerCallbackQuery ("You pressed <data>")
- anything else     -> nothing

One ``Router`` holds it; each server includes it in its own ``Dispatcher``.
"""

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message


def welcome(bot_id: int) -> str:
    return f"Welcome! I am bot {bot_id}. Send me any text and I will echo it."


def is_start(text: str) -> bool:
    return text == "/start" or text.startswith(("/start ", "/start@"))


def build_router() -> Router:
    """A fresh router with the handlers (a router can be attached to one parent only)."""
    router = Router(name="tgbench-logic")

    @router.message(F.text)
    async def on_text(message: Message) -> None:
        text = message.text or ""
        assert message.bot is not None
        await message.reply(welcome(message.bot.id) if is_start(text) else text)

    @router.callback_query()
    async def on_callback(query: CallbackQuery) -> None:
        await query.answer(text=f"You pressed {query.data}" if query.data is not None else None)

    return router
