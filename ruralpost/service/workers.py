"""Pre-forked workers: N processes sharing the port (SO_REUSEPORT), one core each.

Rule evaluation holds the GIL, so one process uses one core; throughput grows with processes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading

from ruralpost.service.api.metrics import serve_metrics, worker_ended, workers_registry
from ruralpost.service.config import Config, ConfigError
from ruralpost.service.runtime import ActiveRules
from ruralpost.service.server import check_exposure, serve
from ruralpost.service.store import open_store

log = logging.getLogger(__name__)


def _tell_parent() -> None:
    """A worker answered ReloadRules: the parent forwards SIGHUP to every worker (see `forward`)."""
    os.kill(os.getppid(), signal.SIGHUP)


def serve_workers(config: Config, workers: int) -> int:
    """N pre-forked worker processes sharing the port (SO_REUSEPORT); one core each.

    The parent checks the configuration and creates the schema once, forks before any gRPC
    object exists, forwards SIGTERM/SIGINT/SIGHUP to the workers (a worker that answered ReloadRules sends the
    parent SIGHUP, so every worker reloads) and restarts one that dies. It
    serves the metrics of all workers, summed (PROMETHEUS_MULTIPROC_DIR, see api/metrics.py).
    With --http-listen each worker serves the HTTP door on the shared HTTP port too; the console's
    session key comes from the parent's Config, so a login is good on every worker.
    """
    check_exposure(config)
    if config.listen.endswith(":0") or (config.http_listen or "").endswith(":0"):
        raise ConfigError("--workers needs fixed ports: the workers share them")
    ActiveRules(config.rules_dir)  # fail here, not in N workers, when the rules do not load or pass their cases
    open_store(config.db).close()  # migrate the schema once, before the workers open it
    if config.metrics_listen:
        port = serve_metrics(config.metrics_listen, workers_registry())
        log.info("metrics of all workers on port %d (%s)", port, config.metrics_listen)
    children: dict[int, int] = {}
    stopping = threading.Event()

    def spawn(slot: int) -> None:
        pid = os.fork()
        if pid == 0:
            try:
                serve(config, (("grpc.so_reuseport", 1),), metrics=False, reuse_port=True, siblings=_tell_parent)
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
    for slot in range(workers):
        spawn(slot)
    print(f"ruralpost: {workers} workers on {config.listen}", flush=True)
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
    return status
