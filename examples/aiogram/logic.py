"""The bot logic every aiogram reference server runs: the same behaviour as tgbench's Rust
reference bots (impls/), so the two stacks are measured doing the same work.

- ``/start``        -> a welcome message
- any other text    -> an echo of the text, sent as a reply to the message
- a callback_query  -> answerCallbackQuery

One ``Router`` holds it; each server includes it in its own ``Dispatcher``.
"""

from aiogram import F, Router
from aiogram.filters import CommandStart
from aiogram.types import CallbackQuery, Message

WELCOME = "Welcome! Send me any text and I will echo it back."


def build_router() -> Router:
    """A fresh router with the three handlers (a router can be attached to one parent only)."""
    router = Router(name="tgbench-logic")

    @router.message(CommandStart())
    async def on_start(message: Message) -> None:
        await message.answer(WELCOME)

    @router.message(F.text)
    async def on_text(message: Message) -> None:
        await message.reply(message.text or "")

    @router.callback_query()
    async def on_callback(query: CallbackQuery) -> None:
        await query.answer()

    return router
