"""`python -m bench.server PORT DB`: the product server plus the no-op baselines, in its own process."""

from __future__ import annotations

import sys
import threading

from ruralpost.service.config import Config
from ruralpost.service.server import build, stop

from .noop import handler


def main() -> None:
    port, db = sys.argv[1], sys.argv[2]
    running = build(Config(listen=f"127.0.0.1:{port}", db=db, extra_handlers=[handler()], grace_seconds=1))
    print(f"ready {running.port}", flush=True)
    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    done.wait()
    stop(running, 1)


if __name__ == "__main__":
    main()
