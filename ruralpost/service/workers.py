"""Pre-forked workers: N processes sharing the ports (SO_REUSEPORT), one core each.

Rule evaluation holds the GIL, so one process uses one core; throughput grows with processes.
`serve` starts as many as the cores it may use (--workers); --workers 1 is one process.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading

from ruralpost.service.api.metrics import serve_metrics, worker_ended, workers_registry
from ruralpost.service.binding import bind, with_port
from ruralpost.service.config import Config
from ruralpost.service.server import check_exposure, load_rules, open_database, serve, use_store

log = logging.getLogger(__name__)


def _tell_parent() -> None:
    """A worker answered ReloadRules: the parent forwards SIGHUP to every worker (see `forward`)."""
    os.kill(os.getppid(), signal.SIGHUP)


def _held(listen: str, door: str) -> tuple[socket.socket, str]:
    """The parent binds the port alone (refusing one another process holds, learning the port of
    PORT 0), then keeps it, bound but not listening, for its workers to join."""
    sock = bind(listen, door, hold=True)
    return sock, with_port(listen, int(sock.getsockname()[1]))


def serve_workers(config: Config) -> int:
    """`config.workers` pre-forked worker processes sharing the ports (SO_REUSEPORT); one core each.

    The parent binds the ports (PORT 0: the kernel chooses, the workers use that port), checks the
    configuration and creates the schema once, forks before any gRPC
    object exists, forwards SIGTERM/SIGINT/SIGHUP to the workers (a worker that answered ReloadRules sends the
    parent SIGHUP, so every worker reloads) and restarts one that dies. It
    serves the metrics of all workers, summed (PROMETHEUS_MULTIPROC_DIR, see api/metrics.py).
    With --http-listen each worker serves the HTTP door on the shared HTTP port too; the console's
    session key comes from the parent's Config, so a login is good on every worker.
    """
    check_exposure(config)
    held: list[socket.socket] = []
    grpc_sock, listen = _held(config.listen, "gRPC")
    held.append(grpc_sock)
    http_listen = config.http_listen
    if http_listen:
        http_sock, http_listen = _held(http_listen, "HTTP")
        held.append(http_sock)
    config = config.model_copy(update={"listen": listen, "http_listen": http_listen})
    rules = load_rules(config)  # fail here, not in N workers, when the rules do not load or pass their cases
    store = open_database(config.db)  # migrate the schema once, before the workers open it
    try:
        use_store(config, rules, store)  # and store the package's reference data as version 1
    finally:
        store.close()
    if config.metrics_listen:
        port = serve_metrics(config.metrics_listen, workers_registry())
        log.info("metrics of all workers on port %d (%s)", port, config.metrics_listen)
    children: dict[int, int] = {}
    stopping = threading.Event()

    def spawn(slot: int) -> None:
        pid = os.fork()
        if pid == 0:
            try:
                for sock in held:
                    sock.close()  # the worker's own sockets join the port; the parent keeps holding it
                serve(config, metrics=False, reuse_port=True, siblings=_tell_parent)
            finally:
                os._exit(0)
        children[pid] = slot

    def forward(sig: int, _frame: object) -> None:
        if sig in (signal.SIGTERM, signal.SIGINT):
            stopping.set()
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, forward)
    for slot in range(config.workers):
        spawn(slot)
    http = f", HTTP and console on {config.http_listen}" if config.http_listen else ""
    print(f"ruralpost: {config.workers} workers on {config.listen}{http}", flush=True)
    status = 0
    while children:
        try:
            pid, code = os.wait()
        except ChildProcessError:
            break
        slot = children.pop(pid, -1)
        worker_ended(pid)
        if not stopping.is_set() and slot >= 0:
            log.error("worker %d (pid %d) ended with %d; starting a new one", slot, pid, code)
            spawn(slot)
        elif code:
            status = 1
    for sock in held:
        sock.close()
    return status
