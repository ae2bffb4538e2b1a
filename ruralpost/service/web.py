"""The HTTP listener (`serve --http-listen`): the Connect door and the web console as one ASGI
application, served by uvicorn on the gRPC door's own event loop.

One loop for both doors: one rule set (a SIGHUP or ReloadRules reloads both), one store and
decision-log writer, one metrics registry, the callers' stream slots, and one pool for the work
that may wait. With `--workers N` each worker listens on the HTTP port too (SO_REUSEPORT), as it
does on the gRPC one. The limits below are ours, not the server's defaults (docs/http.md).
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import urllib.parse
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from ruralpost.limits import (
    BODY_IDLE_SECONDS,
    HEAD_SECONDS,
    KEEP_ALIVE_SECONDS,
    MAX_BODY_BYTES,
    MAX_CONNECTIONS,
    MAX_HEADER_BYTES,
    MAX_MESSAGE_BYTES,
)
from ruralpost.service.api.connect import Door, applications
from ruralpost.service.api.gate import Gate
from ruralpost.service.api.methods import Methods
from ruralpost.service.binding import bind
from ruralpost.service.config import Config, host_names
from ruralpost.service.console.app import Console

log = logging.getLogger(__name__)


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Every answer, whichever part of the door writes it.
SECURITY_HEADERS = ((b"referrer-policy", b"no-referrer"), (b"x-content-type-options", b"nosniff"))


# Names that always mean this machine: a page elsewhere cannot be served under them.
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})


def _host_only(host: str) -> str:
    """A Host header's name without its port, in lower case ("[::1]:8080" -> "[::1]")."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    name, sep, port = host.rpartition(":")
    return name if sep and port.isdigit() else host


class Hosts:
    """The Host names the door answers, so that a page of another site rebound to this address
    (DNS rebinding) is refused before anything runs, in every auth mode: the loopback names, the
    address the client connected to (the listen address, or each interface's of 0.0.0.0: an
    address cannot be rebound), and the names listed (`--http-allowed-hosts`, `*` for any)."""

    def __init__(self, listed: frozenset[str]) -> None:
        self.any = "*" in listed
        self.listed = listed - {"*"}

    def allows(self, host: str, server: tuple[str, int] | None) -> bool:
        name = _host_only(host)
        if self.any or name in LOOPBACK_HOSTS or name in self.listed:
            return bool(name)
        if server is None:
            return False
        own = server[0].lower()
        return name == (f"[{own}]" if ":" in own else own)

    def same_site(self, origin: str, host: str) -> bool:
        """Whether a request's Origin is the door's own page: the Host it was sent to, or a name
        listed by the operator (the page behind a proxy that forwards another Host)."""
        netloc = urllib.parse.urlsplit(origin).netloc.lower() if "://" in origin else ""
        return bool(netloc) and (netloc == host.strip().lower() or _host_only(netloc) in self.listed)


def _refusal(status: int, code: str, zh: str, en: str) -> tuple[Message, Message]:
    body = json.dumps({"error": {"code": code, "message": f"{zh} ({en})"}}, ensure_ascii=False).encode()
    start = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store"),
            (b"connection", b"close"),  # the body, if any, is never read
        ],
    }
    return start, {"type": "http.response.body", "body": body, "more_body": False}


class Router:
    """Connect paths to the Connect door; everything else to the console. A Host the door does
    not serve is answered 421 and a cross-site Origin 403, before anything else runs. Every answer
    carries the security headers."""

    def __init__(self, connect: ASGIApp, prefixes: tuple[str, ...], console: ASGIApp, hosts: Hosts) -> None:
        self.connect = connect
        self.prefixes = prefixes
        self.console = console
        self.hosts = hosts

    def _refused(self, scope: Scope) -> tuple[Message, Message] | None:
        headers = {k.lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
        host = headers.get(b"host", "")
        if not self.hosts.allows(host, scope.get("server")):
            log.warning("HTTP: refused Host %r from %s", host[:100], (scope.get("client") or ("?",))[0])
            return _refusal(
                421,
                "misdirected_request",
                f"本服务不接受主机名 {host[:100]!r}；请用服务的地址访问，或由管理员加入 --http-allowed-hosts",
                f"this service does not answer to Host {host[:100]!r}; use its address, or have it added to "
                "--http-allowed-hosts",
            )
        origin = headers.get(b"origin")
        if origin is not None and not self.hosts.same_site(origin, host):
            log.warning("HTTP: refused Origin %r from %s", origin[:100], (scope.get("client") or ("?",))[0])
            return _refusal(
                403,
                "permission_denied",
                "不接受来自另一个网站的请求",
                "requests from a page of another site are refused",
            )
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # no lifespan, no websockets
        refusal = self._refused(scope)
        if refusal is not None:
            start, body = refusal
            start["headers"] = [*start["headers"], *SECURITY_HEADERS]
            await send(start)
            await send(body)
            return

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", ())}
                extra = [h for h in SECURITY_HEADERS if h[0] not in names]
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        path: str = scope.get("path") or "/"
        app = self.connect if path.startswith(self.prefixes) else self.console
        await app(scope, receive, secured)


class _Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with a deadline for the request head: a client that trickles
    its headers (or sends none) is closed after HEAD_SECONDS instead of holding a connection.

    And with TCP_NODELAY on every connection: asyncio sets it only on sockets made with
    proto=IPPROTO_TCP, which a bound socket handed in need not be; without it an answer written
    as headers then body waits for the client's delayed ACK (40 ms a call on Linux)."""

    head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)  # type: ignore[arg-type]
        self._arm()

    def _arm(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
        self.head_timer = self.loop.call_later(HEAD_SECONDS, self._head_late)

    def _head_late(self) -> None:
        waiting = self.cycle is None or self.cycle.response_complete
        if waiting and not self.transport.is_closing():
            self.transport.close()

    def handle_events(self) -> None:
        super().handle_events()
        if self.cycle is not None and not self.cycle.response_complete and self.head_timer is not None:
            self.head_timer.cancel()  # a request has begun: BODY_IDLE_SECONDS applies now
            self.head_timer = None

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
        super().connection_lost(exc)


class HttpDoor:
    """uvicorn serving the bound socket on the gRPC door's loop. Stopping: no new connections,
    calls in flight get the grace period, then every connection closes."""

    def __init__(self, app: ASGIApp, sock: socket.socket, loop: asyncio.AbstractEventLoop, grace: float) -> None:
        self.port = int(sock.getsockname()[1])
        self.config = uvicorn.Config(
            app,
            http=_Protocol,
            lifespan="off",
            log_config=None,
            access_log=False,
            server_header=False,
            limit_concurrency=MAX_CONNECTIONS,
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
            h11_max_incomplete_event_size=MAX_HEADER_BYTES,
            timeout_graceful_shutdown=max(1, round(grace)),
        )
        self.server = uvicorn.Server(self.config)
        self.loop = loop
        self.serving = asyncio.run_coroutine_threadsafe(self.server.serve(sockets=[sock]), loop)
        asyncio.run_coroutine_threadsafe(self._started(), loop).result(timeout=30)

    async def _started(self) -> None:
        while not self.server.started:
            if self.serving.done():
                self.serving.result()  # raises what stopped it
            await asyncio.sleep(0.01)

    def stop(self, grace: float) -> None:
        """No new connections; calls in flight get `grace` seconds; then every connection closes."""
        self.config.timeout_graceful_shutdown = max(1, round(grace))
        self.loop.call_soon_threadsafe(setattr, self.server, "should_exit", True)
        self.serving.result(timeout=grace + 10)


def start(
    config: Config, methods: Methods, gate: Gate, loop: asyncio.AbstractEventLoop, reuse_port: bool = False
) -> HttpDoor:
    assert config.http_listen is not None
    # uvicorn's own start and stop lines would duplicate ours; its warnings (a full door) stay.
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    sock = bind(config.http_listen, "HTTP", join=reuse_port)
    sock.listen(256)
    services = applications(methods, gate, MAX_MESSAGE_BYTES)
    connect = Door(services, gate, MAX_BODY_BYTES, BODY_IDLE_SECONDS)
    console = Console(config, methods, gate, BODY_IDLE_SECONDS)
    hosts = Hosts(host_names(config.http_allowed_hosts))
    door = HttpDoor(Router(connect, tuple(services), console, hosts), sock, loop, config.grace_seconds)
    log.info("HTTP (Connect, gRPC-Web, console) on %s (port %d)", config.http_listen, door.port)
    if hosts.any:
        log.warning("HTTP: --http-allowed-hosts * answers any Host: a proxy in front must check it")
    return door
