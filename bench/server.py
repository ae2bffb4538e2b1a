"""`python -m bench.server PORT DB [THREADS [WORKERS]]`: the product server plus the no-op baselines,
in its own process; stops when its standard input closes. THREADS and WORKERS 0 (or left out) are
`serve`'s defaults, so the benchmark's default server is the one users start."""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from ruralpost.service.config import Config
from ruralpost.service.server import build, stop

from .noop import handler


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ready_when_listening(port: int) -> None:
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    time.sleep(0.5)  # every worker up
    print(f"ready {port}", flush=True)


def _timed_checks() -> Callable[[], str]:
    """BENCH_TIMED: each station check (`Methods._check`) timed by this thread's CPU clock, so that
    `bench.load --timed` can tell the check's own cost in the server from serving it."""
    from ruralpost.service.api.methods import Methods

    check = Methods._check
    spent = [0, 0]  # ns, checks

    def timed(self: Methods, *args: Any, **kwargs: Any) -> Any:
        t0 = time.thread_time_ns()
        try:
            return check(self, *args, **kwargs)
        finally:
            spent[0] += time.thread_time_ns() - t0
            spent[1] += 1

    Methods._check = timed  # type: ignore[method-assign]
    return lambda: f"timed {spent[0]} {spent[1]}"


def main() -> None:
    port, db = sys.argv[1], sys.argv[2]
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    workers = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    config = Config(listen=f"127.0.0.1:{port}", db=db, extra_handlers=[handler()], grace_seconds=1)
    if workers:  # the worker count under test, else `serve`'s default (the usable cores)
        config.workers = workers
    if threads:  # the thread count under test (A/B), else the server's default
        config.threads = threads
    if config.workers > 1:
        from ruralpost.service.workers import serve_workers

        config.listen = f"127.0.0.1:{_free_port()}"
        threading.Thread(
            target=_ready_when_listening, args=(int(config.listen.rsplit(":", 1)[1]),), daemon=True
        ).start()
        threading.Thread(target=lambda: (sys.stdin.read(), os.kill(os.getpid(), signal.SIGTERM)), daemon=True).start()
        serve_workers(config)
        return
    report = _timed_checks() if os.environ.get("BENCH_TIMED") else None
    running = build(config)
    print(f"ready {running.port}", flush=True)
    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    done.wait()
    stop(running, 1)
    if report is not None:
        print(report(), flush=True)


if __name__ == "__main__":
    main()
