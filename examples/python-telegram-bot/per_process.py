"""The one-process-per-bot shape: one ``main.py`` (``Application.run_polling``) per bot in
TGBENCH_TOKENS_FILE, all children of this process, so the harness measures them as one tree.

Each child prints its own ready line; SIGTERM or SIGINT here is passed to every child, and
this process exits when they all have (status 0 if every child stopped cleanly). A child that
dies on its own ends the others too, with status 1: a platform would restart it, a benchmark
must not hide it.

Every child is a whole Python interpreter with python-telegram-bot loaded (~45 MiB resident
each), so this shape is for a few hundred bots at most.

Usage (the tgbench harness sets the environment; see README.md):
    python per_process.py [ARGS FOR main.py...]
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from tgbench_sut import ConfigError, SutEnv


def main(argv: list[str]) -> int:
    try:
        env = SutEnv.from_environ(webhook=False)
    except ConfigError as e:
        print(f"ptb-per-process: {e}", file=sys.stderr)
        return 2
    script = Path(__file__).with_name("main.py")
    children = [
        subprocess.Popen([sys.executable, str(script), "--index", str(i), *argv], stdin=subprocess.DEVNULL)
        for i in range(len(env.tokens))
    ]
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"ptb-per-process: {len(children)} bots, one main.py each", flush=True)
    died: int | None = None
    while any(child.poll() is None for child in children):
        if not stopping:
            died = next((i for i, c in enumerate(children) if c.poll() is not None), None)
            if died is not None:
                print(f"ptb-per-process: bot {died}'s process exited "
                      f"({children[died].returncode}); stopping the others",
                      file=sys.stderr, flush=True)
                stop(signal.SIGTERM, None)
        time.sleep(0.2)
    if died is not None:
        return 1
    return 0 if all(child.returncode == 0 for child in children) else 1

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
