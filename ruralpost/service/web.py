"""The HTTP listener (`serve --http-listen`): the Connect door and the web console in one WSGI
application, served by waitress threads inside the serving process, beside the gRPC server.

In the same process, both doors share one rule set (a SIGHUP or ReloadRules reloads both), one
store and decision-log writer, one metrics registry and the callers' stream slots. With
`--workers N` each worker listens on the HTTP port too (SO_REUSEPORT), as it does on the gRPC one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, MultiSocketServer, create_server

from ruralpost.limits import MAX_BODY_BYTES, MAX_MESSAGE_BYTES
from ruralpost.service.api.connect import applications
from ruralpost.service.api.gate import Gate
from ruralpost.service.api.methods import Methods
from ruralpost.service.binding import bind
from ruralpost.service.config import Config
from ruralpost.service.console.app import Console

log = logging.getLogger(__name__)


WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class Router:
    """Connect paths to their service's application; everything else to the console."""

    def __init__(self, services: dict[str, WSGIApp], console: WSGIApp) -> None:
        self.services = services
        self.console = console

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path: str = environ.get("PATH_INFO") or "/"
        for prefix, app in self.services.items():
            if path.startswith(prefix):
                return app(environ, start_response)
        return self.console(environ, start_response)


class HttpDoor:
    """waitress on its own loop thread. Every socket is opened and closed on that thread (closing
    one from another thread while the loop polls it is a race), so stopping is a request the loop
    carries out: no new connections, calls in flight get the grace period, then all closes."""

    def __init__(self, server: BaseWSGIServer | MultiSocketServer, port: int, grace: float) -> None:
        self.server: Any = server
        self.port = port
        self._grace = grace
        self._stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="http", daemon=True)
        self.thread.start()

    def _busy(self) -> bool:
        dispatcher = self.server.task_dispatcher
        channels = (c for c in self.server._map.values() if isinstance(c, HTTPChannel))
        return bool(
            dispatcher.active_count or dispatcher.queue or any(c.requests or c.total_outbufs_len for c in channels)
        )

    def _run(self) -> None:
        server, map_ = self.server, self.server._map
        while not self._stopping.is_set():
            wasyncore.loop(timeout=0.2, map=map_, use_poll=True, count=1)
        server.close()  # the listening socket
        deadline = time.monotonic() + self._grace
        while self._busy() and time.monotonic() < deadline:
            wasyncore.loop(timeout=0.1, map=map_, use_poll=True, count=1)
        server.task_dispatcher.shutdown(timeout=1)
        wasyncore.close_all(map_)

    def stop(self, grace: float) -> None:
        """No new connections; calls in flight get `grace` seconds; then every channel closes."""
        self._grace = grace
        self._stopping.set()
        self.thread.join(timeout=grace + 5)


def start(config: Config, methods: Methods, gate: Gate, reuse_port: bool = False) -> HttpDoor:
    assert config.http_listen is not None
    sock = bind(config.http_listen, "HTTP", join=reuse_port)
    sock.listen(256)
    services = applications(methods, gate, MAX_MESSAGE_BYTES)
    console = Console(config, methods, gate)
    server = create_server(
        Router(services, console),
        sockets=[sock],
        threads=config.http_threads,
        max_request_body_size=MAX_BODY_BYTES,
        ident="ruralpost",
        clear_untrusted_proxy_headers=True,
        channel_timeout=300,
    )
    port = int(sock.getsockname()[1])
    log.info("HTTP (Connect, gRPC-Web, console) on %s (port %d)", config.http_listen, port)
    return HttpDoor(server, port, config.grace_seconds)
