"""uvicorn, hypercorn and granian side by side under the HTTP door's ASGI application: a Connect
JSON CheckStation and a no-op, calls/s and p99 with a small bounded load on loopback, one run.

    .venv/bin/python -m bench.asgi_servers [--seconds 5] [--clients 8]

uvicorn and hypercorn serve on an event loop of this process, as the service runs them (beside
grpc.aio); granian runs its own Rust runtime in a process of its own (it cannot share a loop).
The load comes from another process: `--clients` keep-alive connections, each one call at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STATION = (ROOT / "examples" / "village-point-partnered.json").read_bytes()
CHECK = "/ruralpost.v1.StationService/CheckStation"
NOOP = "/noop"


def app(tmp: str) -> Any:
    """The HTTP door's Connect door (no auth file, a fresh SQLite registry) and a no-op path."""
    from ruralpost.service.api.connect import Door, applications
    from ruralpost.service.api.gate import Gate
    from ruralpost.service.api.methods import Methods
    from ruralpost.service.api.offload import Offload
    from ruralpost.service.config import DEFAULT_RULES_DIR
    from ruralpost.service.runtime import ActiveRules, Runtime
    from ruralpost.service.store import open_store
    from ruralpost.service.web import BODY_IDLE_SECONDS, MAX_BODY_BYTES, MAX_MESSAGE_BYTES, Hosts, Router

    runtime = Runtime(rules=ActiveRules(DEFAULT_RULES_DIR), store=open_store(str(Path(tmp) / "bench.db")))
    gate = Gate(None)
    services = applications(Methods(runtime, Offload(ThreadPoolExecutor(4))), gate, MAX_MESSAGE_BYTES)
    connect = Door(services, gate, MAX_BODY_BYTES, BODY_IDLE_SECONDS)

    async def noop(scope: Any, receive: Any, send: Any) -> None:
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})

    return Router(connect, tuple(services), noop, Hosts(frozenset()))  # the no-op answers every other path


def granian_app() -> Any:
    """The application for granian's worker process (`--factory`)."""
    return app(tempfile.mkdtemp(prefix="bench-granian-"))


def load(port: int, path: str, seconds: float, clients: int) -> dict[str, float]:
    """Calls/s and latency percentiles of `clients` keep-alive connections for `seconds`."""
    body = STATION if path == CHECK else b""
    stop = time.monotonic() + seconds
    latencies: list[list[float]] = [[] for _ in range(clients)]

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            conn.request("POST", path, body, {"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            assert r.status == 200, r.status
            latencies[n].append(time.perf_counter() - t0)
        conn.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = sorted(x for row in latencies for x in row)
    return {
        "calls_per_s": round(len(every) / (time.monotonic() - started), 1),
        "p50_ms": round(statistics.median(every) * 1e3, 2),
        "p99_ms": round(every[int(len(every) * 0.99)] * 1e3, 2),
    }


def _loaded(port: int, seconds: float, clients: int) -> dict[str, Any]:
    """Both paths, measured from a process of their own."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.asgi_servers",
            "--load",
            str(port),
            "--seconds",
            str(seconds),
            "--clients",
            str(clients),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(json.loads(out))


def _socket() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(256)
    return sock


def on_loop(name: str, seconds: float, clients: int) -> dict[str, Any]:
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    sock = _socket()
    port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        application = app(tmp)
        if name == "uvicorn":
            import uvicorn

            from ruralpost.service.web import _Protocol

            config = uvicorn.Config(application, http=_Protocol, lifespan="off", log_config=None, access_log=False)
            server = uvicorn.Server(config)
            done = asyncio.run_coroutine_threadsafe(server.serve(sockets=[sock]), loop)
            while not server.started:
                time.sleep(0.05)
            stop = lambda: loop.call_soon_threadsafe(setattr, server, "should_exit", True)  # noqa: E731
        else:
            from hypercorn.asyncio import serve
            from hypercorn.config import Config

            config = Config()
            config.bind = [f"fd://{sock.fileno()}"]
            config.accesslog = None
            ended = asyncio.Event()
            done = asyncio.run_coroutine_threadsafe(
                serve(application, config, shutdown_trigger=ended.wait, mode="asgi"), loop
            )
            time.sleep(1)
            stop = lambda: loop.call_soon_threadsafe(ended.set)  # noqa: E731
        try:
            return _loaded(port, seconds, clients)
        finally:
            stop()
            done.result(timeout=30)


def granian(seconds: float, clients: int) -> dict[str, Any]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "asgi",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--runtime-threads",
        "1",
        "--no-ws",
        "--log-level",
        "warning",
        "bench.asgi_servers:granian_app",
    ]
    proc = subprocess.Popen(args, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        return _loaded(port, seconds, clients)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--load", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        load(args.load, CHECK, 1, args.clients)  # warm up: the engine's first evaluations, the caches
        print(json.dumps({p: load(args.load, p, args.seconds, args.clients) for p in (CHECK, NOOP)}))
        return
    figures = {
        "uvicorn": on_loop("uvicorn", args.seconds, args.clients),
        "hypercorn": on_loop("hypercorn", args.seconds, args.clients),
        "granian": granian(args.seconds, args.clients),
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
