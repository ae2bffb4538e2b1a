"""Server lifecycle: build, start, stop with grace; health checking and reflection."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import ssl
import threading
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection

from ruralpost.limits import MAX_MESSAGE_BYTES
from ruralpost.service import private
from ruralpost.service.api.auth import Authenticator, AuthFileError, load_callers
from ruralpost.service.api.interceptors import ServiceInterceptor
from ruralpost.service.api.methods import Methods
from ruralpost.service.api.metrics import serve_metrics
from ruralpost.service.api.offload import Offload
from ruralpost.service.api.quota_service import QuotaServicer
from ruralpost.service.api.reference_service import ReferenceDataServicer
from ruralpost.service.api.rules_service import RulesServicer
from ruralpost.service.api.station_service import StationServicer
from ruralpost.service.api.subsidy_service import SubsidyServicer
from ruralpost.service.binding import PortInUse, address, check_free
from ruralpost.service.config import Config, ConfigError, StartupError, host_port
from ruralpost.service.rulebook.packs import RulebookError
from ruralpost.service.runtime import ActiveRules, Runtime
from ruralpost.service.store import Store, StoreUnavailable, open_store
from ruralpost.service.store.outage import available
from ruralpost.service.web import HttpDoor
from ruralpost.service.web import start as start_http
from ruralpost.v1 import (
    claim_pb2,
    claim_pb2_grpc,
    progress_pb2,
    progress_pb2_grpc,
    reference_pb2,
    reference_pb2_grpc,
    rules_pb2,
    rules_pb2_grpc,
    station_pb2,
    station_pb2_grpc,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

SERVICE_NAMES = (
    station_pb2.DESCRIPTOR.services_by_name["StationService"].full_name,
    progress_pb2.DESCRIPTOR.services_by_name["QuotaService"].full_name,
    claim_pb2.DESCRIPTOR.services_by_name["SubsidyService"].full_name,
    rules_pb2.DESCRIPTOR.services_by_name["RulesService"].full_name,
    reference_pb2.DESCRIPTOR.services_by_name["ReferenceDataService"].full_name,
)


LOOPBACK_HOSTS = ("127.", "localhost", "::1")


class _Collected:
    """Stands in for a server while a generated `add_*_to_server` names its method handlers."""

    def __init__(self) -> None:
        self.handlers: dict[str, dict[str, Any]] = {}

    def add_generic_rpc_handlers(self, handlers: object) -> None:
        pass

    def add_registered_method_handlers(self, service: str, handlers: dict[str, Any]) -> None:
        self.handlers[service] = handlers


@dataclass
class Running:
    server: grpc.aio.Server
    port: int
    runtime: Runtime
    health: HealthServicer
    loop: asyncio.AbstractEventLoop  # both doors' event loop, in a thread of its own
    pool: ThreadPoolExecutor  # the work that may wait (see api/offload.py)
    http: HttpDoor | None = None  # the HTTP door and console, when --http-listen is given

    @property
    def http_port(self) -> int:
        assert self.http is not None, "the server runs without --http-listen"
        return self.http.port

    def on_loop(self, work: Coroutine[Any, Any, T]) -> T:
        """Runs a coroutine on the door's loop and waits for it (from any other thread)."""
        return asyncio.run_coroutine_threadsafe(work, self.loop).result()


def is_loopback(listen: str) -> bool:
    return host_port(listen)[0].startswith(LOOPBACK_HOSTS)


def check_exposure(config: Config) -> None:
    """Beyond loopback the service needs an auth file, unless the operator says the network is trusted
    (on either door: gRPC and HTTP)."""
    for listen in (config.listen, config.http_listen):
        if listen and not is_loopback(listen) and config.auth_file is None and not config.insecure:
            raise ConfigError(
                f"refusing to listen on {listen} without --auth-file (give --insecure to allow it on a trusted network)"
            )


def _credentials(config: Config) -> grpc.ServerCredentials | None:
    if not config.tls_cert and not config.tls_key:
        if config.client_ca:
            raise ConfigError("--client-ca needs --tls-cert and --tls-key", "--client-ca 须与 TLS 证书和私钥同给")
        return None
    if not (config.tls_cert and config.tls_key):
        raise ConfigError("TLS needs both --tls-cert and --tls-key", "TLS 须同时给出 --tls-cert 和 --tls-key")
    files = {"--tls-cert": config.tls_cert, "--tls-key": config.tls_key, "--client-ca": config.client_ca}
    pems = {flag: _read_pem(flag, path) for flag, path in files.items() if path is not None}
    _check_tls(config)
    ca = pems.get("--client-ca")
    return grpc.ssl_server_credentials(
        [(pems["--tls-key"], pems["--tls-cert"])], root_certificates=ca, require_client_auth=ca is not None
    )


def _unreadable(flag: str, path: object, e: OSError) -> StartupError:
    return StartupError(
        f"{flag} 读不了：{path}（{e.strerror}）；请检查路径和权限",
        f"{flag}: cannot read {path} ({e.strerror}); check the path and its permissions",
    )


def _read_pem(flag: str, path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise _unreadable(flag, path, e) from None


def _check_tls(config: Config) -> None:
    """The certificate, its key and the client CA as OpenSSL reads them, checked before gRPC gets
    them (gRPC would log OpenSSL's errors and fail to bind, as if the port were the problem)."""
    assert config.tls_cert and config.tls_key
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(config.tls_cert, config.tls_key)
    except ssl.SSLError as e:
        raise StartupError(
            f"TLS 证书或私钥无效（{config.tls_cert}，{config.tls_key}）：须为 PEM 格式、私钥与证书配对",
            f"the TLS certificate or key is not valid ({config.tls_cert}, {config.tls_key}): {e.reason or e}; "
            "give a PEM certificate chain and its own private key",
        ) from None
    if config.client_ca:
        try:
            context.load_verify_locations(cafile=config.client_ca)
        except ssl.SSLError as e:
            raise StartupError(
                f"--client-ca 不是有效的 PEM 格式 CA 证书：{config.client_ca}",
                f"--client-ca: {config.client_ca} is not a valid PEM CA certificate ({e.reason or e})",
            ) from None


def load_rules(config: Config) -> ActiveRules:
    """The rule folder's rule set, or one line saying why it does not load."""
    if not config.rules_dir.is_dir():
        raise StartupError(
            f"规则文件夹不存在或不是文件夹：{config.rules_dir}；请检查 --rules 的路径（不给则用自带的规则）",
            f"the rule folder does not exist or is not a folder: {config.rules_dir}; check --rules "
            "(without it the bundled rules serve)",
        )
    try:
        return ActiveRules(config.rules_dir)
    except RulebookError as e:
        raise StartupError(
            f"规则集无法加载，请改正规则文件夹（--rules {config.rules_dir}）",
            f"the rule set does not load: {e}",
        ) from None
    except OSError as e:
        raise _unreadable("--rules", e.filename or config.rules_dir, e) from None


def use_store(config: Config, rules: ActiveRules, store: Store) -> None:
    """The store's newest reference data for the rule set, or one line saying why it does not serve."""
    try:
        rules.use_store(store.reference)
    except RulebookError as e:
        raise StartupError(
            f"数据库中的基础数据不能与规则一起使用，请改正规则文件夹（--rules {config.rules_dir}）或基础数据",
            f"the reference data in the database does not serve with these rules: {e}",
        ) from None


def open_database(db: str) -> Store:
    """The store named by --db, or one line saying what to do when it cannot be opened."""
    try:
        private.database(db)  # owner-only before SQLite opens it
        with available():
            return open_store(db)
    except (StoreUnavailable, OSError) as e:
        cause = getattr(e.__cause__, "orig", None) or e
        detail = " ".join(str(cause).split())[:300]
        raise StartupError(
            "数据库打不开。PostgreSQL：请确认服务在运行、地址和用户正确，且数据库已建好"
            "（createdb 或 CREATE DATABASE）；SQLite：请确认文件夹可写",
            f"the database cannot be opened ({detail}); PostgreSQL: check that the server runs, the address and user, "
            "and that the database exists (createdb / CREATE DATABASE); SQLite: check that the folder is writable",
        ) from None


def _callers(config: Config) -> Authenticator | None:
    if config.auth_file is None:
        return None
    try:
        return Authenticator(load_callers(config.auth_file))
    except AuthFileError as e:
        raise StartupError(f"调用方文件（--auth-file）有误，请改正：{e}", f"--auth-file: {e}") from None


def build(config: Config, options: tuple[tuple[str, Any], ...] = (), reuse_port: bool = False) -> Running:
    """A started server with every service registered, and the HTTP door when configured; the
    caller stops it (see `running`). `reuse_port`: a pre-forked worker joins the ports its parent holds
    (see workers.py); otherwise a port another process holds is refused.

    Both doors run on one event loop in a thread of its own: the gRPC door is a grpc.aio server,
    the HTTP door an ASGI application under uvicorn (see api/methods.py for what runs on the loop
    and what on the pool of `config.threads` threads)."""
    check_exposure(config)
    authenticator = _callers(config)
    credentials = _credentials(config)
    if not reuse_port:  # alone on the ports: refuse one another process holds (grpcio would share it)
        check_free(config.listen, "gRPC")
        if config.http_listen:
            check_free(config.http_listen, "HTTP")
    rules = load_rules(config)
    store = open_database(config.db)
    try:
        use_store(config, rules, store)
    except BaseException:
        store.close()
        raise
    runtime = Runtime(rules=rules, store=store, max_stream_items=config.max_stream_items)
    interceptor = ServiceInterceptor(authenticator, config.max_streams_per_caller)
    loop = asyncio.new_event_loop()
    threading.Thread(target=_serve_loop, args=(loop,), name="doors-loop", daemon=True).start()
    pool = ThreadPoolExecutor(max_workers=config.threads, thread_name_prefix="rpc")
    methods = Methods(runtime, Offload(pool))

    async def bind() -> tuple[grpc.aio.Server, int, HealthServicer]:
        server = grpc.aio.server(
            interceptors=[interceptor],
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                ("grpc.so_reuseport", 1 if reuse_port else 0),
                *options,
            ],
        )
        services: list[tuple[Callable[[Any, Any], None], Any]] = [
            (station_pb2_grpc.add_StationServiceServicer_to_server, StationServicer(methods)),
            (rules_pb2_grpc.add_RulesServiceServicer_to_server, RulesServicer(methods)),
            (progress_pb2_grpc.add_QuotaServiceServicer_to_server, QuotaServicer(methods)),
            (claim_pb2_grpc.add_SubsidyServiceServicer_to_server, SubsidyServicer(methods)),
            (reference_pb2_grpc.add_ReferenceDataServiceServicer_to_server, ReferenceDataServicer(methods)),
        ]
        for add, servicer in services:
            collected = _Collected()
            add(servicer, collected)
            for service, handlers in collected.handlers.items():
                interceptor.check_handlers(service, handlers)  # a kind it does not wrap: no start
            add(servicer, server)
        if config.extra_handlers:
            server.add_generic_rpc_handlers(tuple(config.extra_handlers))
        health_servicer = HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
        if config.reflection:
            reflection.enable_server_reflection((*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
        try:
            if credentials is None:
                port = server.add_insecure_port(address(config.listen))
            else:
                port = server.add_secure_port(address(config.listen), credentials)
        except RuntimeError as e:  # grpcio: "Failed to bind to address"
            raise PortInUse(config.listen, "gRPC", str(e)) from None
        return server, port, health_servicer

    def abandon() -> None:
        loop.call_soon_threadsafe(loop.stop)
        pool.shutdown()
        runtime.store.close()

    try:
        server, port, health_servicer = asyncio.run_coroutine_threadsafe(bind(), loop).result()
        if port == 0:
            raise PortInUse(config.listen, "gRPC", "the address is not available")
        r = Running(server, port, runtime, health_servicer, loop, pool)
        if config.http_listen:
            r.http = start_http(config, methods, interceptor.gate, loop, reuse_port)
    except BaseException:
        abandon()
        raise
    r.on_loop(server.start())
    for name in ("", *SERVICE_NAMES):
        r.on_loop(health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING))
    log.info("listening on %s (port %d), rules %s", config.listen, port, runtime.rules.current.version)
    return r


def _serve_loop(loop: asyncio.AbstractEventLoop) -> None:
    """The doors' loop until `stop`, then closed: its selector and wake-up sockets go with it. A
    stream cut off by the stop is left as an unfinished async generator: it is finalised first
    (Python 3.13 warns of one never closed)."""
    try:
        loop.run_forever()
    finally:
        try:
            loop.run_until_complete(asyncio.wait_for(loop.shutdown_asyncgens(), 5))
        finally:
            loop.close()


def stop(running: Running, grace: float) -> None:
    """Health NOT_SERVING first (load balancers drain), then stop with a grace period."""

    async def drain() -> None:
        await running.health.enter_graceful_shutdown()
        await running.server.stop(grace)

    stopped = asyncio.run_coroutine_threadsafe(drain(), running.loop)
    if running.http is not None:
        running.http.stop(grace)
    stopped.result()
    running.loop.call_soon_threadsafe(running.loop.stop)
    running.pool.shutdown()
    running.runtime.store.close()


@contextlib.contextmanager
def running(config: Config) -> Iterator[Running]:
    """A server for the duration of a `with` block; tests start it on port 0."""
    r = build(config)
    try:
        yield r
    finally:
        stop(r, config.grace_seconds)


def reload_rules(r: Running, if_changed: bool = False) -> None:
    """Activates the rule folder's current contents if they load and pass their golden cases
    (SIGHUP); whatever goes wrong is logged and the old set stays. `if_changed`: a pre-forked
    worker leaves an unchanged folder alone."""
    try:
        if if_changed:
            reloaded = r.runtime.rules.reload_if_changed()
            if reloaded is None:
                log.info("rules unchanged: ruleset %s", r.runtime.rules.current.version)
                return
            ruleset, passed = reloaded
        else:
            ruleset, passed = r.runtime.rules.reload()
        log.info("rules reloaded: ruleset %s (%d golden cases passed)", ruleset.version, passed)
    except RulebookError as e:
        log.error("rules not reloaded, ruleset %s stays: %s", r.runtime.rules.current.version, e)
    except Exception:
        log.exception("rules not reloaded, ruleset %s stays", r.runtime.rules.current.version)


def serve(
    config: Config,
    options: tuple[tuple[str, Any], ...] = (),
    metrics: bool = True,
    reuse_port: bool = False,
    siblings: Callable[[], None] | None = None,
) -> None:
    """Runs until SIGINT or SIGTERM, then stops gracefully; SIGHUP reloads the rules.

    `siblings` (a pre-forked worker): after a ReloadRules, tells the other workers to reload."""
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    r = build(config, options, reuse_port)
    if config.metrics_listen and metrics:
        log.info("metrics on port %d (%s)", serve_metrics(config.metrics_listen), config.metrics_listen)
    r.runtime.on_reload = siblings
    signal.signal(
        signal.SIGHUP, lambda *_: threading.Thread(target=reload_rules, args=(r, siblings is not None)).start()
    )
    http = f", HTTP and console on {config.http_listen} (port {r.http.port})" if r.http else ""
    print(
        f"ruralpost serving on {config.listen} (port {r.port}){http}, db {config.db}, "
        f"ruleset {r.runtime.rules.current.version}",
        flush=True,
    )
    done.wait()
    log.info("stopping (grace %.1fs)", config.grace_seconds)
    stop(r, config.grace_seconds)
