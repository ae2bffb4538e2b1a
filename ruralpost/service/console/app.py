"""The web console's server side: the page, its static files, and a small JSON API for what a
browser cannot do through the Connect door alone (read a spreadsheet, write the user's own file
back, keep a dry-run claim for its confirmed commit, print a report, read and change the reference
data 基础数据 behind the console login).

Every decision goes through the same `Methods` and `gate.call` as the gRPC and Connect doors, with
the caller of the console login (roles, operator binding, stream slots, metrics, decision log
alike). Files are read and written by the clients' spreadsheet and report packages
(`clients.sheets`, `clients.reports`), so the console reads a spreadsheet exactly as `ruralpost
check` does.

The console is an ASGI application on the doors' event loop. Who calls is known from the cookie
before a body is read; reading and writing files runs on threads of the console's own (the loop
never waits on a disk or a spreadsheet parser).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import mimetypes
import tempfile
import time
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterable, Iterator, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from google.protobuf import json_format
from google.rpc import error_details_pb2

from ruralpost.clients.reports import html
from ruralpost.clients.reports.labels import OUTCOME_ZH, console_labels, hub_entries, townships_not_passing
from ruralpost.clients.reports.summary import Item, Summary
from ruralpost.clients.sheets import reference as reference_files
from ruralpost.clients.sheets.annotate import SPREADSHEETS, annotate, annotated_name
from ruralpost.clients.sheets.claims import CLAIM_FIELDS, read_claims
from ruralpost.clients.sheets.itemfile import StationCsv, StationJson, claim_dict, item_dict, proto_dict
from ruralpost.clients.sheets.layout import CellError, LayoutError
from ruralpost.clients.sheets.readers import ReadError, Rows, TooLarge, kind_of, open_rows
from ruralpost.clients.sheets.stations import StationBatch, StationRows
from ruralpost.service import private
from ruralpost.service.api.auth import (
    CHECK_STATIONS,
    EVALUATE_CLAIM,
    GET_PROGRESS,
    GET_REFERENCE,
    IMPORT_REFERENCE,
    LIST_REFERENCE,
    LIST_RULES,
    REPLACE_REFERENCE,
    ROLES,
    Caller,
)
from ruralpost.service.api.gate import Gate, Refused
from ruralpost.service.api.methods import Methods
from ruralpost.service.api.throttle import address
from ruralpost.service.config import Config
from ruralpost.service.console.jobs import Busy, Job, JobNotFound, Jobs
from ruralpost.service.console.sessions import SessionError, Sessions, cookie, cookie_value
from ruralpost.service.errors import FieldViolation, InvalidArgument, ResourceExhausted, ServiceError
from ruralpost.service.refdata.model import columns
from ruralpost.v1 import claim_pb2, progress_pb2, reference_pb2, rules_pb2, station_pb2

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
STATIC_FILES = frozenset({"console.css", "console.js"})
LABELS = console_labels()  # the words the page shows for codes, sent with /console/api/me
PROGRESS_EVERY = 0.2  # seconds between progress lines of a check
ITEMS_SHOWN = 2000  # items sent to the page; every row is in the downloads
COLUMNS = columns()  # the reference tables' keys, for 基础数据's editor
SPREADSHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DATA_SUFFIXES = (".json", ".xlsx")  # a reference-data upload: `ruralpost data export`'s JSON, or a sheet per table
PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"
# The console's POSTs carry this header: a page elsewhere cannot send it without CORS allowing it.
CSRF_HEADER = "x-ruralpost-console"
SMALL_BODY_BYTES = 4096  # a login (a token) or a commit (one flag) in a small JSON object; nothing larger is read
# A logged-in caller's upload over the limit is read and dropped up to this size before the 413,
# so that a client still sending hears the reason rather than a reset connection.
DRAIN_BYTES = 128 * 1024 * 1024

HTTP_STATUS = {
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "REQUEST_TIMEOUT": 408,
    "ALREADY_EXISTS": 409,
    "PAYLOAD_TOO_LARGE": 413,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "RESOURCE_EXHAUSTED": 429,
    "UNAVAILABLE": 503,
    "INTERNAL": 500,
}
CODE_WORDS = {
    "INVALID_ARGUMENT": "请求有误",
    "FAILED_PRECONDITION": "当前无法执行",
    "UNAUTHENTICATED": "未登录",
    "PERMISSION_DENIED": "无权操作",
    "ALREADY_EXISTS": "申报编号已使用",
    "RESOURCE_EXHAUSTED": "超出限制",
    "UNAVAILABLE": "服务暂时不可用，请稍后重试",
    "INTERNAL": "内部错误",
}

P = ParamSpec("P")
T = TypeVar("T")
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


@dataclass
class Request:
    """What the console reads of an HTTP request before its body."""

    method: str
    path: str
    query: str
    headers: dict[str, str]  # names in lower case
    peer: str
    receive: Receive
    scheme: str = "http"
    read: bool = False  # the whole body has been read

    @property
    def unread(self) -> bool:
        """A body is left unread: the connection cannot carry another request."""
        has_body = self.headers.get("content-length", "0") != "0" or "transfer-encoding" in self.headers
        return has_body and not self.read


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class ConsoleError(Exception):
    """An answer other than 200, with its message in Chinese and English."""

    def __init__(self, code: str, zh: str, en: str, **extra: Any) -> None:
        super().__init__(f"{zh} ({en})")
        self.code, self.zh, self.en, self.extra = code, zh, en, extra

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code.lower(), "message": f"{self.zh} ({self.en})", **self.extra}}


def _service_error(refused: Refused) -> ConsoleError:
    """A refusal of the shared code, as the console shows it: the code in words, the message, and
    every bad field."""
    if isinstance(refused.error, ConsoleError):
        return refused.error
    violations: list[dict[str, str]] = []
    for detail in refused.status.details:
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            violations += [{"field": v.field, "description": v.description} for v in bad.field_violations]
    code = refused.code
    return ConsoleError(code, CODE_WORDS.get(code, code), refused.status.message, violations=violations)


def _counted(error: Exception) -> Exception:
    """What the metrics count for a console refusal: too much is RESOURCE_EXHAUSTED, a file that
    cannot be read INVALID_ARGUMENT (any other error counts as itself)."""
    if not isinstance(error, ConsoleError):
        return error
    if error.code in ("PAYLOAD_TOO_LARGE", "RESOURCE_EXHAUSTED"):
        return ResourceExhausted(error.en)
    return InvalidArgument([FieldViolation("file", error.en)])


class _InProcess:
    """The console's door to `Methods.check_stations`, as a `StationBatch` reads its answers: called
    from a console thread, it runs the one stream loop on the event loop, the rows read on a
    thread as the loop asks for them."""

    def __init__(self, methods: Methods, loop: asyncio.AbstractEventLoop) -> None:
        self.methods, self.loop = methods, loop

    def check_stations(
        self, requests: Iterable[station_pb2.CheckStationsRequest]
    ) -> Iterator[station_pb2.CheckStationsResponse]:
        rows = iter(requests)

        async def feed() -> AsyncIterator[station_pb2.CheckStationsRequest]:
            while (request := await asyncio.to_thread(next, rows, None)) is not None:
                yield request

        answers = self.methods.check_stations(feed())

        async def step() -> station_pb2.CheckStationsResponse:
            return await anext(answers)

        async def close() -> None:
            await answers.aclose()  # type: ignore[attr-defined]

        try:
            while True:
                try:
                    yield asyncio.run_coroutine_threadsafe(step(), self.loop).result()
                except StopAsyncIteration:
                    return
        finally:
            closing = asyncio.run_coroutine_threadsafe(close(), self.loop)
            if not self._on_loop():  # a check given up is collected on the loop: it must not wait there
                closing.result()

    def _on_loop(self) -> bool:
        try:
            return asyncio.get_running_loop() is self.loop
        except RuntimeError:
            return False


def _reason(r: Any) -> dict[str, Any]:
    return {"clause": r.citation.clause, "document": r.citation.document}


def _item(item: Item) -> dict[str, Any]:
    """An item as the page shows it: the CSV/JSON file's fields, the outcome in words, and each
    reason's document and clause apart."""
    data = item_dict(item)
    data["outcome_zh"] = OUTCOME_ZH[item.outcome]
    for shown, reason in zip(data["reasons"], item.reasons, strict=True):
        shown.update(_reason(reason))
    return data


def _json(body: Any, status: int = 200, headers: Iterable[tuple[str, str]] = ()) -> Answer:
    data = json.dumps(body, ensure_ascii=False).encode()
    return Answer(
        status,
        [
            ("Content-Type", "application/json; charset=utf-8"),
            ("Content-Length", str(len(data))),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
            *headers,
        ],
        data,
    )


def _start(status: int, headers: Iterable[tuple[str, str]]) -> Message:
    return {
        "type": "http.response.start",
        "status": status,
        "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers],
    }


def _download_name(name: str) -> str:
    return f"attachment; filename*=UTF-8''{urllib.parse.quote(name)}"


class Console:
    def __init__(self, config: Config, methods: Methods, gate: Gate, idle_seconds: float = 30.0) -> None:
        self.config = config
        self.methods = methods
        self.gate = gate
        self.idle_seconds = idle_seconds
        self.sessions = Sessions(config.console_dir, config.session_seconds)
        self.jobs = Jobs(config.console_dir, config.console_job_hours)
        # Files (uploads, spreadsheets, reports) are read and written here, never on the loop.
        self.files = ThreadPoolExecutor(max_workers=config.http_threads, thread_name_prefix="console")

    async def _work(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`fn(*args)` on a console thread, in the caller's context (its current call)."""
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()
        return await loop.run_in_executor(self.files, lambda: context.run(fn, *args, **kwargs))

    # ---- ASGI

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        client = scope.get("client") or ("", "")
        request = Request(
            method=scope["method"],
            path=scope.get("path") or "/",
            query=scope.get("query_string", b"").decode("latin-1"),
            headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())},
            peer=f"{client[0]}:{client[1]}",
            receive=receive,
            scheme=scope.get("scheme", "http"),
        )
        try:
            answer = await self._route(request, send)
        except ConsoleError as e:
            answer = _json(e.body(), HTTP_STATUS.get(e.code, 400))
        except Refused as e:
            error = _service_error(e)
            answer = _json(error.body(), HTTP_STATUS.get(error.code, 400))
        except Exception:  # never a traceback to the page; the log has it
            log.exception("console: %s %s failed", request.method, request.path)
            error = ConsoleError("INTERNAL", "内部错误，请稍后重试或联系管理员", "internal error; see the service log")
            answer = _json(error.body(), HTTP_STATUS["INTERNAL"])
        if answer is None:
            return  # streamed already
        if request.unread:
            answer.headers.append(("Connection", "close"))
        await send(_start(answer.status, answer.headers))
        await send({"type": "http.response.body", "body": answer.body, "more_body": False})

    async def _route(self, request: Request, send: Send) -> Answer | None:
        path, method = request.path, request.method
        if path in ("/", "/index.html") and method in ("GET", "HEAD"):
            return self._static("index.html")
        if path.startswith("/console/static/") and method in ("GET", "HEAD"):
            return self._static(path.removeprefix("/console/static/"))
        if path.startswith("/console/api/"):
            return await self._api(request, send, path.removeprefix("/console/api/"))
        raise ConsoleError("NOT_FOUND", "没有这个页面", "no such page")

    def _static(self, name: str) -> Answer:
        if name != "index.html" and name not in STATIC_FILES:
            raise ConsoleError("NOT_FOUND", "没有这个文件", "no such file")
        data = (STATIC / name).read_bytes()
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return Answer(
            200,
            [
                ("Content-Type", f"{kind}; charset=utf-8"),
                ("Content-Length", str(len(data))),
                ("Content-Security-Policy", PAGE_CSP),
                ("X-Content-Type-Options", "nosniff"),
                ("Cache-Control", "no-cache"),
            ],
            data,
        )

    async def _api(self, request: Request, send: Send, route: str) -> Answer | None:
        method = request.method
        if method == "POST" and request.headers.get(CSRF_HEADER) != "1":
            raise ConsoleError("PERMISSION_DENIED", "请从控制台页面操作", "requests come from the console page only")
        if route == "login" and method == "POST":
            return await self._login(request)
        if route == "logout" and method == "POST":
            self.sessions.revoke(cookie_value(request.headers.get("cookie", "")))
            return _json({"ok": True}, headers=[("Set-Cookie", cookie("", self._secure(request)))])
        caller = self._caller(request)  # before any body is read
        if route == "me" and method == "GET":
            return _json(self._me(caller))
        if route == "check" and method == "POST":
            await self._check(request, send, caller)
            return None
        if route == "progress" and method == "POST":
            return await self._progress(request, caller)
        if route == "progress/report" and method == "GET":
            return await self._progress_report(request, caller)
        if route == "rules" and method == "GET":
            return await self._rules(request, caller)
        if route == "claim" and method == "POST":
            return await self._claim(request, caller)
        if route == "data" and method == "GET":
            return await self._data(request, caller)
        if route == "data/export" and method == "GET":
            return await self._data_export(request, caller)
        if route == "data/history" and method == "GET":
            return await self._data_history(request, caller)
        if route == "data/table" and method == "POST":
            return await self._data_table(request, caller)
        if route == "data/upload" and method == "POST":
            return await self._data_upload(request, caller)
        parts = route.split("/")
        if len(parts) == 3 and parts[0] == "claim" and parts[2] == "commit" and method == "POST":
            return await self._commit(request, caller, parts[1])
        if len(parts) == 3 and parts[0] == "jobs" and method == "GET":
            return await self._work(self._download, caller, parts[1], parts[2])
        raise ConsoleError("NOT_FOUND", "没有这个接口", "no such console call")

    # ---- who is calling

    def _caller(self, request: Request) -> Caller | None:
        """The logged-in caller (None when the server runs without an auth file: open access)."""
        authenticator = self.gate.authenticator
        if authenticator is None:
            return None
        value = cookie_value(request.headers.get("cookie", ""))
        if not value:
            raise ConsoleError("UNAUTHENTICATED", "请先登录", "please log in", session="missing")
        try:
            session = self.sessions.read(value)
        except SessionError as e:
            if e.expired:
                raise ConsoleError(
                    "UNAUTHENTICATED",
                    "登录已过期，请重新登录",
                    "the session has expired; log in again",
                    session="expired",
                ) from None
            raise ConsoleError(
                "UNAUTHENTICATED",
                "登录已失效，请重新登录",
                "the session is no longer valid; log in again",
                session="invalid",
            ) from None
        caller = authenticator.by_name(session.caller)
        if caller is None:
            raise ConsoleError("UNAUTHENTICATED", "令牌已不在名单中", "the token is no longer known", session="invalid")
        return caller

    def _me(self, caller: Caller | None) -> dict[str, Any]:
        if self.gate.authenticator is None:
            return {
                "auth": False,
                "name": "",
                "role": "admin",
                "operator": "",
                "may": self._may(None),
                "labels": LABELS,
            }
        assert caller is not None
        return {
            "auth": True,
            "name": caller.name,
            "role": caller.role,
            "operator": caller.operator,
            "may": self._may(caller),
            "labels": LABELS,
        }

    @staticmethod
    def _may(caller: Caller | None) -> dict[str, bool]:
        """Which tabs work for the caller (the server decides again on every call)."""
        allowed = ROLES["admin"] if caller is None else ROLES[caller.role]
        return {
            "check": CHECK_STATIONS in allowed,
            "progress": GET_PROGRESS in allowed,
            "claim": EVALUATE_CLAIM in allowed,
            "commit": caller is None or caller.role in ("approver", "admin"),
            "rules": LIST_RULES in allowed,
            "data": GET_REFERENCE in allowed,
            "data_edit": REPLACE_REFERENCE in allowed and IMPORT_REFERENCE in allowed,
        }

    async def _login(self, request: Request) -> Answer:
        authenticator = self.gate.authenticator
        if authenticator is None:
            return _json(self._me(None))
        data = await self._json_body(request, SMALL_BODY_BYTES)
        token = str(data.get("token", "")).strip()
        try:
            caller = authenticator.by_token(token, request.peer, "console login") if token else None
        except ResourceExhausted as e:
            raise ConsoleError("RESOURCE_EXHAUSTED", "登录失败次数太多", e.message) from None
        except ServiceError:
            caller = None
        if caller is None:
            raise ConsoleError("UNAUTHENTICATED", "令牌不正确", "unknown token")
        value, session = self.sessions.issue(caller.name)
        me = {**self._me(caller), "expires": session.expires}
        log.info("console login: %s (%s)", caller.name, caller.role)
        return _json(me, headers=[("Set-Cookie", cookie(value, self._secure(request)))])

    def _secure(self, request: Request) -> bool:
        """Cookies are `Secure` when the request came over TLS, or always with --cookie-secure (the
        door behind a proxy that ends TLS)."""
        return self.config.cookie_secure or request.scheme == "https"

    def _call(
        self,
        request: Request,
        caller: Caller | None,
        path: str,
        stream: bool = False,
        is_active: Callable[[], bool] = lambda: True,
    ) -> Any:
        """The call around a console request (`gate.call`): the role is checked before anything is
        read, and whatever ends it is counted (a file that cannot be read as INVALID_ARGUMENT)."""
        return self.gate.call(path, request.peer, caller=caller, stream=stream, counted=_counted, is_active=is_active)

    # ---- request bodies

    def _too_large(self, length: int, limit: int) -> ConsoleError:
        return ConsoleError(
            "PAYLOAD_TOO_LARGE",
            f"文件太大（{length / 2**20:.1f} MB），控制台一次最多接收 {limit / 2**20:.0f} MB；请拆分文件，"
            "或用命令行 ruralpost check / claim",
            f"the file is too large ({length / 2**20:.1f} MB); the console takes at most {limit / 2**20:.0f} MB: "
            "split it, or use the ruralpost command line",
        )

    async def _body(self, request: Request, limit: int | None = None) -> bytes:
        """The body, refused from its Content-Length before a byte is read when it is over `limit`
        (the upload limit unless less is given: then, a logged-in caller's body is read to the end
        and dropped, so that the client hears why); a client that stalls is cut off."""
        upload = limit is None
        limit = self.config.max_upload_bytes if limit is None else limit
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            if upload and int(declared) <= DRAIN_BYTES:
                async for _ in self._chunks(request):
                    pass
            raise self._too_large(int(declared), limit)
        chunks: list[bytes] = []
        size = 0
        async for chunk in self._chunks(request):
            size += len(chunk)
            if size > limit:
                raise self._too_large(size, limit)
            chunks.append(chunk)
        return b"".join(chunks)

    async def _chunks(self, request: Request) -> AsyncIterator[bytes]:
        """The pieces of the body as they arrive; a client that stalls is cut off."""
        while True:
            try:
                async with asyncio.timeout(self.idle_seconds):
                    message = await request.receive()
            except TimeoutError:
                raise ConsoleError("REQUEST_TIMEOUT", "上传中断", "the upload stopped; try again") from None
            if message["type"] != "http.request":
                raise ConsoleError("INVALID_ARGUMENT", "上传中断", "the client went away during the upload")
            yield message.get("body", b"")
            if not message.get("more_body", False):
                request.read = True
                return

    async def _json_body(self, request: Request, limit: int | None = None) -> dict[str, Any]:
        try:
            data = json.loads(await self._body(request, limit) or b"{}")
        except ValueError:
            raise ConsoleError("INVALID_ARGUMENT", "请求不是 JSON", "the request is not JSON") from None
        if not isinstance(data, dict):
            raise ConsoleError("INVALID_ARGUMENT", "请求不是 JSON 对象", "the request is not a JSON object")
        return data

    @staticmethod
    def _query(request: Request) -> dict[str, str]:
        return {k: v[0] for k, v in urllib.parse.parse_qs(request.query).items()}

    @staticmethod
    def _filename(request: Request) -> str:
        """The name the user's file had (X-Filename), without any folder."""
        name = urllib.parse.unquote(request.headers.get("x-filename", "")).strip() or "upload"
        return Path(name.replace("\\", "/")).name

    async def _upload(self, request: Request, owner: str, kind: str) -> tuple[Job, Path]:
        """The uploaded file saved into a new job folder, refused first when its type is not one
        the readers know or it is too large."""
        name = self._filename(request)
        try:
            suffix = kind_of(Path(name))
        except ReadError:
            raise ConsoleError(
                "UNSUPPORTED_MEDIA_TYPE",
                f"不支持的文件类型：{name}。请上传 .csv、.xlsx、.json、.jsonl（或制表符分隔的 .tsv/.txt）",
                f"unsupported file type: {name}; upload .csv, .xlsx, .json, .jsonl (or tab-separated .tsv/.txt)",
            ) from None
        data = await self._body(request)
        if not data:
            raise ConsoleError("INVALID_ARGUMENT", "文件是空的", "the file is empty")
        return await self._work(self._save, data, owner, kind, name, suffix)

    def _save(self, data: bytes, owner: str, kind: str, name: str, suffix: str) -> tuple[Job, Path]:
        job = self.jobs.create(owner, kind, name)
        path = job.path("upload" + suffix)
        private.write(path, data)
        return job, path

    @contextlib.asynccontextmanager
    async def _uploading(self, request: Request, caller: Caller | None, kind: str) -> AsyncIterator[tuple[Job, Path]]:
        """The uploaded file in its job folder while one of the caller's upload slots is held (by
        name, or by address without an auth file): one caller cannot hold every console thread. An
        upload refused before its results exist keeps nothing: its folder goes."""
        who = caller.name if caller else f"@{address(request.peer)}"
        try:
            self.jobs.take(who)
        except Busy:
            n = self.jobs.per_caller
            raise ConsoleError(
                "RESOURCE_EXHAUSTED",
                f"您已有 {n} 个文件正在处理，请等其中一个完成后再上传",
                f"you already have {n} uploads running: wait for one to finish",
            ) from None
        job: Job | None = None
        try:
            job, path = await self._upload(request, self._owner(caller), kind)
            yield job, path
        except BaseException:
            if job is not None:
                await self._work(self.jobs.remove, job)
            raise
        finally:
            self.jobs.give(who)

    @staticmethod
    def _owner(caller: Caller | None) -> str:
        return caller.name if caller else ""

    # ---- 站点核验

    async def _check(self, request: Request, send: Send, caller: Caller | None) -> None:
        query = self._query(request)
        as_of = query.get("as_of", "")
        register = query.get("register") == "1"
        started = False
        gone = asyncio.Event()
        try:
            async with (
                # before anything is read; the rows stop being checked once the client has gone
                self._call(request, caller, CHECK_STATIONS, stream=True, is_active=lambda: not gone.is_set()) as call,
                self._uploading(request, caller, "check") as (job, path),
                self._watching(request, gone),
            ):
                rows, stations = await self._work(self._station_rows, job, path)
                filename: str = job.meta["filename"]
                headers = [
                    ("Content-Type", "application/x-ndjson; charset=utf-8"),
                    ("Cache-Control", "no-store"),
                    ("X-Content-Type-Options", "nosniff"),
                    ("X-Request-Id", call.request_id),
                ]
                await send(_start(200, headers))
                started = True
                loop = asyncio.get_running_loop()
                work = self._run_check(job, path, filename, rows, stations, as_of, register, loop, gone.is_set)
                while not gone.is_set() and (line := await self._work(next, work, None)) is not None:
                    await send({"type": "http.response.body", "body": line, "more_body": True})
                if gone.is_set():
                    log.info("console: job %s: the client went away; checking stopped", job.id)
                    await self._work(work.close)
                    await self._work(self.jobs.remove, job)  # its id was never sent: nobody can fetch it
        except Refused as e:
            if not started:
                raise
            # the answer has begun: the error is its last line
            await send(
                {
                    "type": "http.response.body",
                    "body": self._line({"type": "error", **_service_error(e).body()}),
                    "more_body": True,
                }
            )
        finally:
            if started:
                await send({"type": "http.response.body", "body": b"", "more_body": False})

    @staticmethod
    @contextlib.asynccontextmanager
    async def _watching(request: Request, gone: asyncio.Event) -> AsyncIterator[None]:
        """Sets `gone` when the client goes away. Once the upload has been read, the server's
        `receive` has nothing more to say but that (uvicorn drops what is sent to a client that has
        gone without a word, so a failed send would never tell)."""

        async def watch() -> None:
            while (await request.receive())["type"] != "http.disconnect":
                pass
            gone.set()

        watcher = asyncio.ensure_future(watch())
        try:
            yield
        finally:
            watcher.cancel()

    def _station_rows(self, job: Job, path: Path) -> tuple[Rows, StationRows]:
        """The upload's rows, refused before a row is checked when reading it would cost too much:
        the readers' limits, the row count a file gives away, the row limit at the first row."""
        limit = self.config.max_station_rows
        try:
            rows = open_rows(path, max_rows=limit)
            stations = StationRows(rows)
        except TooLarge as e:
            raise ConsoleError("PAYLOAD_TOO_LARGE", job.shown(str(e)), "the file costs too much to read") from None
        except (ReadError, LayoutError) as e:
            shown = job.shown(str(e))
            raise ConsoleError("INVALID_ARGUMENT", f"无法读取文件：{shown}", "the file cannot be read") from None
        rows.peek()  # a file whose first row is past the limit (one row at 20,000,000) stops here
        if rows.stopped and not rows.count.read:
            raise ConsoleError(
                "PAYLOAD_TOO_LARGE",
                f"{rows.stopped}；请分批上传，或用命令行 ruralpost check",
                "split the file, or use ruralpost check",
            )
        if rows.total_hint is not None and rows.total_hint > limit:
            raise ConsoleError(
                "PAYLOAD_TOO_LARGE",
                f"文件约有 {rows.total_hint:,} 行，控制台一次最多核验 {limit:,} 行；"
                "请分批上传，或用命令行 ruralpost check",
                f"the file has about {rows.total_hint:,} rows; the console checks at most {limit:,} at a time: "
                "split it, or use ruralpost check",
            )
        return rows, stations

    def _run_check(
        self,
        job: Job,
        path: Path,
        filename: str,
        rows: Rows,
        stations: StationRows,
        as_of: str,
        register: bool,
        loop: asyncio.AbstractEventLoop,
        gone: Callable[[], bool],
    ) -> Generator[bytes, None, None]:
        summary = Summary(source=filename, detail_limit=1000)
        shown: list[dict[str, Any]] = []
        by_row: dict[int, Item] = {}
        last = time.monotonic()
        started = last
        yield self._line({"type": "progress", "done": 0, "total": rows.total_hint})
        with (
            job.path("results.csv").open("w", encoding="utf-8-sig", newline="") as csv_out,
            job.path("results.json").open("w", encoding="utf-8") as json_out,
        ):
            csv_writer, json_writer = StationCsv(csv_out), StationJson(json_out)
            batch = StationBatch(stations, as_of=as_of, register=register)
            for item in batch.items(_InProcess(self.methods, loop).check_stations(batch.requests())):
                summary.add(item)  # past the row limit the reader stopped, with a last row saying so
                csv_writer.write(item)
                json_writer.write(item)
                by_row[item.row] = item
                if len(shown) < ITEMS_SHOWN:
                    shown.append(_item(item))
                now = time.monotonic()
                if now - last >= PROGRESS_EVERY:
                    last = now
                    yield self._line({"type": "progress", "done": summary.total, "total": rows.total_hint})
            if gone():  # the client has gone: what was checked is in the decision log, nobody reads the rest
                return
            summary.seconds = time.monotonic() - started
            summary.file_read(rows.count, rows.encoding)
            json_writer.close(summary)
        job.path("report.html").write_text(html.check_report(summary), encoding="utf-8")
        downloads = {
            "csv": f"/console/api/jobs/{job.id}/results.csv",
            "json": f"/console/api/jobs/{job.id}/results.json",
            "report": f"/console/api/jobs/{job.id}/report.html",
        }
        problems: list[str] = []
        if path.suffix in SPREADSHEETS:
            try:
                annotate(path, job.path("annotated" + path.suffix), by_row)
                downloads["annotated"] = f"/console/api/jobs/{job.id}/annotated"
            except Exception as e:  # the rows are checked (and maybe registered): their results stand
                log.warning("console: job %s: no annotated file: %s", job.id, e)
                why = job.shown(str(e)) if isinstance(e, ReadError) else "无法生成带结果列的文件 (no annotated file)"
                problems.append(why)
        if rows.stopped:
            problems.append(rows.stopped)
        self.jobs.update(job, downloads=downloads)
        yield self._line(
            {
                "type": "done",
                "job": job.id,
                "summary": {**summary.as_dict(), "file_line": summary.file_line(), "shown": len(shown)},
                "items": shown,
                "downloads": downloads,
                "problems": problems,
            }
        )

    @staticmethod
    def _line(data: dict[str, Any]) -> bytes:
        return (json.dumps(data, ensure_ascii=False) + "\n").encode()

    def _download(self, caller: Caller | None, job_id: str, name: str) -> Answer:
        owner = self._owner(caller)
        try:
            job = self.jobs.open(job_id, owner, "check")
        except JobNotFound:
            raise ConsoleError(
                "NOT_FOUND",
                "结果已过期或不存在，请重新上传核验",
                "the results have expired or do not exist; check the file again",
            ) from None
        stem = Path(job.meta["filename"]).stem
        files = {
            "results.csv": ("results.csv", "text/csv; charset=utf-8", f"{stem}-核验结果.csv", True),
            "results.json": ("results.json", "application/json; charset=utf-8", f"{stem}-核验结果.json", True),
            "report.html": ("report.html", "text/html; charset=utf-8", f"{stem}-核验报告.html", False),
        }
        suffix = Path(job.meta["filename"]).suffix.lower()
        if suffix in SPREADSHEETS:
            kind = SPREADSHEET_TYPE if suffix == ".xlsx" else "text/csv"
            files["annotated"] = ("annotated" + suffix, kind, annotated_name(job.meta["filename"]), True)
        if name not in files:
            raise ConsoleError("NOT_FOUND", "没有这个文件", "no such file")
        stored, kind, shown_name, attachment = files[name]
        data = job.path(stored).read_bytes()
        headers = [("Content-Type", kind), ("Content-Length", str(len(data))), ("Cache-Control", "no-store")]
        if attachment:
            headers.append(("Content-Disposition", _download_name(shown_name)))
        else:
            headers.append(("Content-Security-Policy", REPORT_CSP))
        return Answer(200, headers, data)

    # ---- 进度

    async def _progress_of(
        self, request: Request, caller: Caller | None, as_of: str, hub: progress_pb2.CountyHub | None
    ) -> progress_pb2.ProgressReport:
        """The report through `Methods.get_progress`, which validates the hub as on every door."""
        async with self._call(request, caller, GET_PROGRESS):
            asked = progress_pb2.GetProgressRequest(as_of=as_of, hub=hub)
            return (await self.methods.get_progress(asked)).report

    @staticmethod
    def _hub(raw: Any) -> progress_pb2.CountyHub | None:
        """The hub of a progress request as `CountyHub` JSON (a JSON text in a query), None when
        not given; a value of the wrong shape is refused naming `hub`, its dates and lengths are
        the Methods' to judge."""
        if raw is None or raw == "":
            return None
        try:
            data = json.loads(raw) if isinstance(raw, str) else raw
            if not isinstance(data, dict):
                raise ValueError("a CountyHub is a JSON object")
            return json_format.ParseDict(data, progress_pb2.CountyHub())
        except (ValueError, json_format.ParseError) as e:
            raise ConsoleError(
                "INVALID_ARGUMENT",
                "县级共配中心信息有误",
                "the county hub is not valid",
                violations=[{"field": "hub", "description": str(e)}],
            ) from None

    async def _progress(self, request: Request, caller: Caller | None) -> Answer:
        data = await self._json_body(request)
        hub = self._hub(data.get("hub"))
        report = await self._progress_of(request, caller, str(data.get("as_of", "")), hub)
        return _json(
            {
                "report": proto_dict(report),
                "chart": html.progress_chart(report),
                "behind": townships_not_passing(report),
                "hub": [{"zh": zh, "en": en, "value": v} for zh, en, v in hub_entries(hub)] if hub else [],
            },
        )

    async def _progress_report(self, request: Request, caller: Caller | None) -> Answer:
        query = self._query(request)
        hub = self._hub(query.get("hub"))
        report = await self._progress_of(request, caller, query.get("as_of", ""), hub)
        data = html.progress_report(report, hub).encode()
        return Answer(
            200,
            [
                ("Content-Type", "text/html; charset=utf-8"),
                ("Content-Length", str(len(data))),
                ("Content-Security-Policy", REPORT_CSP),
                ("Cache-Control", "no-store"),
            ],
            data,
        )

    # ---- 规则

    async def _rules(self, request: Request, caller: Caller | None) -> Answer:
        async with self._call(request, caller, LIST_RULES):
            response = await self.methods.list_rules(rules_pb2.ListRulesRequest())
        return _json(proto_dict(response))

    # ---- 补贴

    async def _claim(self, request: Request, caller: Caller | None) -> Answer:
        query = self._query(request)
        fields: dict[str, Any] = {name: query[name] for name in CLAIM_FIELDS if query.get(name, "").strip()}
        async with (
            self._call(request, caller, EVALUATE_CLAIM),  # refused before anything is read
            self._uploading(request, caller, "claim") as (job, path),
        ):
            claim, found, bad_rows = await self._work(self._read_claim, job, path, fields)
            decision = await self.methods.decide_claim(claim_pb2.EvaluateClaimRequest(claim=claim, commit=False))
        return _json(
            {
                "job": job.id,
                "how": decision.how,
                "result": claim_dict(decision.response, found.parcel_rows),
                "claim": {
                    "claim_id": claim.claim_id,
                    "operator": claim.operator,
                    "period": claim.period,
                    "parcels": len(claim.parcels),
                },
                "bad_rows": bad_rows,
            },
        )

    def _read_claim(
        self, job: Job, path: Path, fields: dict[str, Any]
    ) -> tuple[claim_pb2.Claim, Any, list[dict[str, Any]]]:
        """The one claim of the uploaded file (kept for its commit), the file's rows, and its bad rows."""
        try:
            found = read_claims(path, fields)
        except (ReadError, LayoutError, CellError, ValueError) as e:
            shown = job.shown(str(e))
            raise ConsoleError("INVALID_ARGUMENT", f"无法读取申报：{shown}", "the claim cannot be read") from None
        readable = [c for _, c, _ in found.claims if c is not None]
        problems = [p for _, c, p in found.claims if c is None]
        if problems:
            raise ConsoleError("INVALID_ARGUMENT", f"无法读取申报：{'；'.join(problems)}", "the claim cannot be read")
        if len(readable) != 1:
            raise ConsoleError(
                "INVALID_ARGUMENT",
                f"文件里有 {len(readable)} 个申报，控制台一次评估一个；多个申报请用命令行 ruralpost claim",
                f"the file holds {len(readable)} claims; the console takes one at a time (use ruralpost claim)",
            )
        claim = readable[0]
        private.write(job.path("claim.pb"), claim.SerializeToString())
        bad_rows = [{"row": b.row, "column": b.column, "problem": b.problem} for b in found.bad_rows]
        self.jobs.update(job, parcel_rows=found.parcel_rows, bad_rows=bad_rows)
        return claim, found, bad_rows

    async def _commit(self, request: Request, caller: Caller | None, job_id: str) -> Answer:
        job, claim = await self._work(self._dry_run, caller, job_id)
        # the approver confirmed a dialog that said so when the amount rests on provisional rates
        accept = (await self._json_body(request, SMALL_BODY_BYTES)).get("accept_provisional_rates") is True
        async with self._call(request, caller, EVALUATE_CLAIM):
            decision = await self.methods.decide_claim(
                claim_pb2.EvaluateClaimRequest(claim=claim, commit=True, accept_provisional_rates=accept)
            )
        return _json(
            {
                "job": job.id,
                "how": decision.how,
                "result": claim_dict(decision.response, job.meta.get("parcel_rows", [])),
            },
        )

    def _dry_run(self, caller: Caller | None, job_id: str) -> tuple[Any, claim_pb2.Claim]:
        """The job of a claim's dry run and the claim it kept."""
        try:
            job = self.jobs.open(job_id, self._owner(caller), "claim")
            return job, claim_pb2.Claim.FromString(job.path("claim.pb").read_bytes())
        except (JobNotFound, OSError):
            raise ConsoleError(
                "NOT_FOUND",
                "试算已过期或不存在，请重新上传申报",
                "the dry run has expired or does not exist; upload the claim again",
            ) from None

    # ---- 基础数据 (the reference data: every role reads, admins change; the same Methods as the API)

    @staticmethod
    def _version(request: Request) -> int:
        """The version a read asks for (`version`; 0 or none: the newest)."""
        raw = Console._query(request).get("version", "").strip() or "0"
        if not raw.isdigit() or int(raw) > 2**31 - 1:
            raise ConsoleError(
                "INVALID_ARGUMENT",
                "版本号须为正整数",
                "the version is a whole number",
                violations=[{"field": "version", "description": raw[:64]}],
            )
        return int(raw)

    async def _data(self, request: Request, caller: Caller | None) -> Answer:
        """One version of the tables (the newest unless `version` says), with the editor's columns."""
        async with self._call(request, caller, GET_REFERENCE):
            asked = reference_pb2.GetReferenceDataRequest(version=self._version(request))
            answer = await self.methods.get_reference_data(asked)
        tables = json.loads(answer.data_json)
        tables.pop("version", None)
        info = proto_dict(answer.info)
        return _json({"programme": answer.programme, "info": info, "tables": tables, "columns": COLUMNS})

    async def _data_export(self, request: Request, caller: Caller | None) -> Answer:
        """A version as `ruralpost data export` writes it: `.json`, or `.xlsx` with a sheet per table."""
        async with self._call(request, caller, GET_REFERENCE):
            kind = self._query(request).get("format", "json")
            if kind not in ("json", "xlsx"):
                raise ConsoleError(
                    "INVALID_ARGUMENT",
                    "格式须为 json 或 xlsx",
                    "the format is json or xlsx",
                    violations=[{"field": "format", "description": kind[:64]}],
                )
            asked = reference_pb2.GetReferenceDataRequest(version=self._version(request))
            answer = await self.methods.get_reference_data(asked)
            data = await self._work(self._exported, json.loads(answer.data_json), kind)
        kinds = {"json": "application/json; charset=utf-8", "xlsx": SPREADSHEET_TYPE}
        return Answer(
            200,
            [
                ("Content-Type", kinds[kind]),
                ("Content-Length", str(len(data))),
                ("Cache-Control", "no-store"),
                ("X-Content-Type-Options", "nosniff"),
                ("Content-Disposition", _download_name(f"基础数据-第{answer.info.version}版.{kind}")),
            ],
            data,
        )

    def _exported(self, data: dict[str, Any], kind: str) -> bytes:
        with tempfile.TemporaryDirectory(prefix="data-", dir=private.folder(self.config.console_dir)) as folder:
            path = Path(folder) / f"data.{kind}"
            reference_files.write(data, path)
            return path.read_bytes()

    async def _data_history(self, request: Request, caller: Caller | None) -> Answer:
        async with self._call(request, caller, LIST_REFERENCE):
            answer = await self.methods.list_reference_versions(reference_pb2.ListReferenceVersionsRequest())
        return _json(proto_dict(answer))

    async def _data_table(self, request: Request, caller: Caller | None) -> Answer:
        """One table replaced whole, with a reason: `{table, entries: [...], reason}`. The role is
        checked before the body is read; the checks are the API's (ReplaceReferenceTable)."""
        async with self._call(request, caller, REPLACE_REFERENCE):
            data = await self._json_body(request)
            asked = reference_pb2.ReplaceReferenceTableRequest(
                table=str(data.get("table", "")),
                entries_json=json.dumps(data.get("entries"), ensure_ascii=False),
                reason=str(data.get("reason", "")),
            )
            answer = await self.methods.replace_reference_table(asked)
        return _json(proto_dict(answer))

    async def _data_upload(self, request: Request, caller: Caller | None) -> Answer:
        """A file of tables (`.json` as `ruralpost data export` writes it, or `.xlsx` with a sheet per
        table), read as `ruralpost data import` reads it, under the console's upload limits; the
        tables it holds replace the current ones whole (ImportReferenceData). Nothing is kept of it
        but the version it makes."""
        reason = self._query(request).get("reason", "").strip()
        async with self._call(request, caller, IMPORT_REFERENCE):  # the role before anything is read
            name = self._filename(request)
            if Path(name).suffix.lower() not in DATA_SUFFIXES:
                raise ConsoleError(
                    "UNSUPPORTED_MEDIA_TYPE",
                    f"不支持的文件类型：{name}。基础数据请上传 .xlsx（每张表一个工作表）"
                    "或 .json（ruralpost data export 导出的格式）",
                    f"unsupported file type: {name}; upload an .xlsx (a sheet per table) or a .json "
                    "(as ruralpost data export writes)",
                )
            if not reason:
                raise ConsoleError(
                    "INVALID_ARGUMENT",
                    "请说明修改原因",
                    "say why the data changes",
                    violations=[{"field": "reason", "description": "请说明修改原因 (say why the data changes)"}],
                )
            async with self._uploading(request, caller, "data") as (job, path):
                try:
                    tables = await self._work(self._read_reference, job, path)
                finally:
                    await self._work(self.jobs.remove, job)
            asked = reference_pb2.ImportReferenceDataRequest(
                data_json=json.dumps(tables, ensure_ascii=False), reason=reason
            )
            answer = await self.methods.import_reference_data(asked)
        return _json({**proto_dict(answer), "tables": [t for t in reference_files.TABLES if t in tables]})

    def _read_reference(self, job: Job, path: Path) -> dict[str, Any]:
        """The tables of the uploaded file, with the readers' limits (a workbook that would cost
        too much is refused before it is parsed, a sheet past the row limit too)."""
        try:
            return reference_files.read(path, max_rows=self.config.max_station_rows)
        except reference_files.ReferenceFileError as e:
            shown = job.shown(str(e)).replace(path.name, job.meta["filename"])
            if isinstance(e, reference_files.ReferenceTooLarge):
                raise ConsoleError("PAYLOAD_TOO_LARGE", shown, "the file costs too much to read") from None
            raise ConsoleError("INVALID_ARGUMENT", f"无法读取文件：{shown}", "the file cannot be read") from None
