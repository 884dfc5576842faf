"""One bot, the way a single-bot python-telegram-bot ``main.py`` runs it:
``Application.builder()...build()``, the handlers, ``run_polling()``, every setting at
python-telegram-bot's default (10 s ``getUpdates`` timeout, its own two HTTP clients).
``run_polling`` owns the event loop and stops on SIGINT, SIGTERM or SIGABRT.

The bot is line ``--index`` (default 0) of TGBENCH_TOKENS_FILE. ``per_process.py`` runs one
of these per bot: the one-process-per-bot shape.

Usage (the tgbench harness sets the environment; see README.md):
    python main.py [--index N] [--timeout SECONDS]
"""

from __future__ import annotations

import argparse
import sys

from bots import application
from logic import ALLOWED_UPDATES
from tgbench_sut import ConfigError, SutEnv, mask, ready, setup_logging


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=int, default=0, help="which line of the tokens file")
    parser.add_argument("--timeout", type=int, default=10, help="getUpdates timeout (default 10)")
    args = parser.parse_args(argv)
    setup_logging()
    try:
        env = SutEnv.from_environ(webhook=False)
        if not 0 <= args.index < len(env.tokens):
            raise ConfigError(f"--index {args.index}: the tokens file has {len(env.tokens)} bots")
    except ConfigError as e:
        print(f"ptb-main: {e}", file=sys.stderr)
        return 2
    token = env.tokens[args.index]
    app = application(token, env.api_url, None, updater=True)

    async def announce(_: object) -> None:
        ready(f"ptb-main ready: bot {mask(token)} polling {env.api_url}")

    app.post_init = announce
    app.run_polling(timeout=args.timeout, allowed_updates=ALLOWED_UPDATES)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
