"""The web console's server side: the page, its static files, and a small JSON API for what a
browser cannot do through the Connect door alone (read a spreadsheet, write the user's own file
back, keep a dry-run claim for its confirmed commit, print a report).

Every decision goes through the same `Methods` and `Gate` as the gRPC and Connect doors, with the
caller of the console login (roles, operator binding, stream slots, metrics, decision log alike).
Files are read and written by the clients' own modules (readers, layout, batch, claims, itemfile,
html, annotate), so the console reads a spreadsheet exactly as `ruralpost check` does.
"""

from __future__ import annotations

import contextlib
import json
import logging
import mimetypes
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, NoReturn

from ruralpost.clients import html
from ruralpost.clients.annotate import SPREADSHEETS, annotate, annotated_name
from ruralpost.clients.batch import StationRows, check_rows
from ruralpost.clients.claims import CLAIM_FIELDS, read_claims
from ruralpost.clients.itemfile import StationCsv, StationJson, claim_dict, item_dict, proto_dict
from ruralpost.clients.labels import OUTCOME_ZH, townships_not_passing
from ruralpost.clients.layout import CellError, LayoutError
from ruralpost.clients.readers import ReadError, Rows, kind_of, open_rows
from ruralpost.clients.summary import Item, Summary
from ruralpost.service.api import status
from ruralpost.service.api.auth import (
    CHECK_STATIONS,
    EVALUATE_CLAIM,
    GET_PROGRESS,
    LIST_RULES,
    ROLES,
    Caller,
)
from ruralpost.service.api.call import Call
from ruralpost.service.api.gate import Gate
from ruralpost.service.api.methods import Methods
from ruralpost.service.config import Config
from ruralpost.service.console.jobs import JobNotFound, Jobs
from ruralpost.service.console.sessions import COOKIE, SessionError, Sessions, cookie_value
from ruralpost.service.errors import FieldViolation, InvalidArgument, ResourceExhausted, ServiceError
from ruralpost.v1 import claim_pb2, progress_pb2, rules_pb2, station_pb2

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
STATIC_FILES = frozenset({"console.css", "console.js"})
PROGRESS_EVERY = 0.2  # seconds between progress lines of a check
ITEMS_SHOWN = 2000  # items sent to the page; every row is in the downloads
PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"
# The console's POSTs carry this header: a page elsewhere cannot send it without CORS allowing it.
CSRF_HEADER = "HTTP_X_RURALPOST_CONSOLE"

HTTP_STATUS = {
    "INVALID_ARGUMENT": "400 Bad Request",
    "FAILED_PRECONDITION": "400 Bad Request",
    "UNAUTHENTICATED": "401 Unauthorized",
    "PERMISSION_DENIED": "403 Forbidden",
    "NOT_FOUND": "404 Not Found",
    "ALREADY_EXISTS": "409 Conflict",
    "PAYLOAD_TOO_LARGE": "413 Payload Too Large",
    "UNSUPPORTED_MEDIA_TYPE": "415 Unsupported Media Type",
    "RESOURCE_EXHAUSTED": "429 Too Many Requests",
    "UNAVAILABLE": "503 Service Unavailable",
    "INTERNAL": "500 Internal Server Error",
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

Environ = dict[str, Any]
StartResponse = Callable[..., Any]


class ConsoleError(Exception):
    """An answer other than 200, with its message in Chinese and English."""

    def __init__(self, code: str, zh: str, en: str, **extra: Any) -> None:
        super().__init__(f"{zh} ({en})")
        self.code, self.zh, self.en, self.extra = code, zh, en, extra

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code.lower(), "message": f"{self.zh} ({self.en})", **self.extra}}


def _service_error(error: BaseException, request_id: str) -> ConsoleError:
    """A refusal of the shared code, as the console shows it: the code in words, the message, and
    every bad field."""
    found = status.status_of(error, request_id)
    code = status.code_of(error).name
    violations: list[dict[str, str]] = []
    for detail in found.details:
        from google.rpc import error_details_pb2

        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            violations += [{"field": v.field, "description": v.description} for v in bad.field_violations]
    return ConsoleError(code, CODE_WORDS.get(code, code), found.message, violations=violations)


def _counted(error: ConsoleError) -> ServiceError:
    """What the metrics count for a console refusal: too much is RESOURCE_EXHAUSTED, a file that
    cannot be read INVALID_ARGUMENT."""
    if error.code in ("PAYLOAD_TOO_LARGE", "RESOURCE_EXHAUSTED"):
        return ResourceExhausted(error.en)
    return InvalidArgument([FieldViolation("file", error.en)])


class _InProcess:
    """The console's door to `Methods.check_stations`, shaped as check_rows wants a client."""

    def __init__(self, methods: Methods, call: Call) -> None:
        self.methods, self.call = methods, call

    def check_stations(
        self, requests: Iterable[station_pb2.CheckStationsRequest]
    ) -> Iterator[station_pb2.CheckStationsResponse]:
        return self.methods.check_stations(requests, self.call)


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


def _json(
    start_response: StartResponse, body: Any, status_line: str = "200 OK", headers: Iterable[Any] = ()
) -> list[bytes]:
    data = json.dumps(body, ensure_ascii=False).encode()
    start_response(
        status_line,
        [
            ("Content-Type", "application/json; charset=utf-8"),
            ("Content-Length", str(len(data))),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
            *headers,
        ],
    )
    return [data]


def _download_name(name: str) -> str:
    return f"attachment; filename*=UTF-8''{urllib.parse.quote(name)}"


class Console:
    def __init__(self, config: Config, methods: Methods, gate: Gate) -> None:
        self.config = config
        self.methods = methods
        self.gate = gate
        self.sessions = Sessions(config.session_secret, config.session_seconds)
        self.jobs = Jobs(config.console_dir, config.console_job_hours)

    # ---- WSGI

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path: str = environ.get("PATH_INFO") or "/"
        method: str = environ.get("REQUEST_METHOD", "GET")
        try:
            if path in ("/", "/index.html") and method in ("GET", "HEAD"):
                return self._static(start_response, "index.html")
            if path.startswith("/console/static/") and method in ("GET", "HEAD"):
                return self._static(start_response, path.removeprefix("/console/static/"))
            if path.startswith("/console/api/"):
                return self._api(environ, start_response, method, path.removeprefix("/console/api/"))
            raise ConsoleError("NOT_FOUND", "没有这个页面", "no such page")
        except ConsoleError as e:
            return _json(start_response, e.body(), HTTP_STATUS.get(e.code, "400 Bad Request"))
        except Exception:  # never a traceback to the page; the log has it
            log.exception("console: %s %s failed", method, path)
            error = ConsoleError("INTERNAL", "内部错误，请稍后重试或联系管理员", "internal error; see the service log")
            return _json(start_response, error.body(), HTTP_STATUS["INTERNAL"])

    def _static(self, start_response: StartResponse, name: str) -> list[bytes]:
        if name != "index.html" and name not in STATIC_FILES:
            raise ConsoleError("NOT_FOUND", "没有这个文件", "no such file")
        data = (STATIC / name).read_bytes()
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        start_response(
            "200 OK",
            [
                ("Content-Type", f"{kind}; charset=utf-8"),
                ("Content-Length", str(len(data))),
                ("Content-Security-Policy", PAGE_CSP),
                ("X-Content-Type-Options", "nosniff"),
                ("Cache-Control", "no-cache"),
            ],
        )
        return [data]

    def _api(self, environ: Environ, start_response: StartResponse, method: str, route: str) -> Iterable[bytes]:
        if method == "POST" and environ.get(CSRF_HEADER) != "1":
            raise ConsoleError("PERMISSION_DENIED", "请从控制台页面操作", "requests come from the console page only")
        if route == "login" and method == "POST":
            return self._login(environ, start_response)
        if route == "logout" and method == "POST":
            expired = f"{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"
            return _json(start_response, {"ok": True}, headers=[("Set-Cookie", expired)])
        caller = self._caller(environ)
        if route == "me" and method == "GET":
            return _json(start_response, self._me(caller))
        if route == "check" and method == "POST":
            return self._check(environ, start_response, caller)
        if route == "progress" and method == "POST":
            return self._progress(environ, start_response, caller)
        if route == "progress/report" and method == "GET":
            return self._progress_report(environ, start_response, caller)
        if route == "rules" and method == "GET":
            return self._rules(environ, start_response, caller)
        if route == "claim" and method == "POST":
            return self._claim(environ, start_response, caller)
        parts = route.split("/")
        if len(parts) == 3 and parts[0] == "claim" and parts[2] == "commit" and method == "POST":
            return self._commit(environ, start_response, caller, parts[1])
        if len(parts) == 3 and parts[0] == "jobs" and method == "GET":
            return self._download(start_response, caller, parts[1], parts[2])
        raise ConsoleError("NOT_FOUND", "没有这个接口", "no such console call")

    # ---- who is calling

    def _caller(self, environ: Environ) -> Caller | None:
        """The logged-in caller (None when the server runs without an auth file: open access)."""
        authenticator = self.gate.authenticator
        if authenticator is None:
            return None
        value = cookie_value(environ.get("HTTP_COOKIE", ""))
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
        caller = authenticator.by_digest(session.digest)
        if caller is None:
            raise ConsoleError("UNAUTHENTICATED", "令牌已不在名单中", "the token is no longer known", session="invalid")
        return caller

    def _me(self, caller: Caller | None) -> dict[str, Any]:
        if self.gate.authenticator is None:
            return {"auth": False, "name": "", "role": "admin", "operator": "", "may": self._may(None)}
        assert caller is not None
        return {
            "auth": True,
            "name": caller.name,
            "role": caller.role,
            "operator": caller.operator,
            "may": self._may(caller),
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
        }

    def _login(self, environ: Environ, start_response: StartResponse) -> list[bytes]:
        authenticator = self.gate.authenticator
        if authenticator is None:
            return _json(start_response, self._me(None))
        data = self._json_body(environ)
        token = str(data.get("token", "")).strip()
        try:
            caller = authenticator.by_token(token) if token else None
        except ServiceError:
            caller = None
        if caller is None:
            raise ConsoleError("UNAUTHENTICATED", "令牌不正确", "unknown token")
        value, session = self.sessions.issue(authenticator.digest_of(caller))
        cookie = f"{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict"
        me = {**self._me(caller), "expires": session.expires}
        log.info("console login: %s (%s)", caller.name, caller.role)
        return _json(start_response, me, headers=[("Set-Cookie", cookie)])

    def _open(self, environ: Environ, caller: Caller | None, path: str) -> Call:
        """A call of `path` through the gate, refused as over gRPC (and counted and logged alike)."""
        peer = f"{environ.get('REMOTE_ADDR', '')}:{environ.get('REMOTE_PORT', '')}"
        call, error = self.gate.open(path, peer, caller=caller)
        if error is not None:
            self._fail(call, error)
        return call

    def _fail(self, call: Call, error: BaseException) -> NoReturn:
        self.gate.finish(call, error)
        raise _service_error(error, call.request_id) from None

    @contextlib.contextmanager
    def _call(self, environ: Environ, caller: Caller | None, path: str) -> Iterator[Call]:
        """The call around a console request: the role is checked before anything is read, and
        whatever ends it is counted (a file that cannot be read as INVALID_ARGUMENT)."""
        call = self._open(environ, caller, path)
        try:
            yield call
        except ConsoleError as e:
            self.gate.finish(call, _counted(e))
            raise
        except Exception as e:
            self._fail(call, e)
        self.gate.finish(call, None)

    # ---- request bodies

    def _body(self, environ: Environ) -> bytes:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        limit = self.config.max_upload_bytes
        if length > limit:
            raise ConsoleError(
                "PAYLOAD_TOO_LARGE",
                f"文件太大（{length / 2**20:.1f} MB），控制台一次最多接收 {limit / 2**20:.0f} MB；请拆分文件，"
                "或用命令行 ruralpost check / claim",
                f"the file is too large ({length / 2**20:.1f} MB); the console takes at most {limit / 2**20:.0f} MB: "
                "split it, or use the ruralpost command line",
            )
        data: bytes = environ["wsgi.input"].read(length) if length else b""
        return data

    def _json_body(self, environ: Environ) -> dict[str, Any]:
        try:
            data = json.loads(self._body(environ) or b"{}")
        except ValueError:
            raise ConsoleError("INVALID_ARGUMENT", "请求不是 JSON", "the request is not JSON") from None
        if not isinstance(data, dict):
            raise ConsoleError("INVALID_ARGUMENT", "请求不是 JSON 对象", "the request is not a JSON object")
        return data

    @staticmethod
    def _query(environ: Environ) -> dict[str, str]:
        return {k: v[0] for k, v in urllib.parse.parse_qs(environ.get("QUERY_STRING", "")).items()}

    def _upload(self, environ: Environ, owner: str, kind: str) -> tuple[Any, Path]:
        """The uploaded file saved into a new job folder, refused first when its type is not one
        the readers know or it is too large."""
        name = urllib.parse.unquote(environ.get("HTTP_X_FILENAME", "")).strip() or "upload"
        name = Path(name.replace("\\", "/")).name
        try:
            suffix = kind_of(Path(name))
        except ReadError:
            raise ConsoleError(
                "UNSUPPORTED_MEDIA_TYPE",
                f"不支持的文件类型：{name}。请上传 .csv、.xlsx、.json、.jsonl（或制表符分隔的 .tsv/.txt）",
                f"unsupported file type: {name}; upload .csv, .xlsx, .json, .jsonl (or tab-separated .tsv/.txt)",
            ) from None
        data = self._body(environ)
        if not data:
            raise ConsoleError("INVALID_ARGUMENT", "文件是空的", "the file is empty")
        job = self.jobs.create(owner, kind, name)
        path = job.path("upload" + suffix)
        path.write_bytes(data)
        return job, path

    @staticmethod
    def _owner(caller: Caller | None) -> str:
        return caller.name if caller else ""

    # ---- 站点核验

    def _check(self, environ: Environ, start_response: StartResponse, caller: Caller | None) -> Iterable[bytes]:
        query = self._query(environ)
        as_of = query.get("as_of", "")
        register = query.get("register") == "1"
        call = self._open(environ, caller, CHECK_STATIONS)  # refused before anything is read
        try:
            job, path = self._upload(environ, self._owner(caller), "check")
            rows, stations = self._station_rows(path)
            slot = self.gate.take_slot(call)
        except ConsoleError as e:
            self.gate.finish(call, _counted(e))
            raise
        except ServiceError as e:
            self._fail(call, e)
        filename: str = job.meta["filename"]

        def lines() -> Iterator[bytes]:
            try:
                yield from self._run_check(job, path, filename, rows, stations, call, as_of, register)
                self.gate.finish(call, None)
            except Exception as e:  # the answer has begun: the error is its last line
                self.gate.finish(call, _counted(e) if isinstance(e, ConsoleError) else e)
                shown = e if isinstance(e, ConsoleError) else _service_error(e, call.request_id)
                yield self._line({"type": "error", **shown.body()})
            finally:
                self.gate.give_slot(slot)

        start_response(
            "200 OK",
            [
                ("Content-Type", "application/x-ndjson; charset=utf-8"),
                ("Cache-Control", "no-store"),
                ("X-Content-Type-Options", "nosniff"),
                ("X-Request-Id", call.request_id),
            ],
        )
        return lines()

    def _station_rows(self, path: Path) -> tuple[Rows, StationRows]:
        try:
            rows = open_rows(path)
            stations = StationRows(rows)
        except (ReadError, LayoutError) as e:
            raise ConsoleError("INVALID_ARGUMENT", f"无法读取文件：{e}", "the file cannot be read") from None
        limit = self.config.max_station_rows
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
        job: Any,
        path: Path,
        filename: str,
        rows: Rows,
        stations: StationRows,
        call: Call,
        as_of: str,
        register: bool,
    ) -> Iterator[bytes]:
        summary = Summary(source=filename, detail_limit=1000)
        shown: list[dict[str, Any]] = []
        by_row: dict[int, Item] = {}
        limit = self.config.max_station_rows
        last = time.monotonic()
        started = last
        yield self._line({"type": "progress", "done": 0, "total": rows.total_hint})
        with (
            job.path("results.csv").open("w", encoding="utf-8-sig", newline="") as csv_out,
            job.path("results.json").open("w", encoding="utf-8") as json_out,
        ):
            csv_writer, json_writer = StationCsv(csv_out), StationJson(json_out)
            for item in check_rows(_InProcess(self.methods, call), stations, as_of=as_of, register=register):
                if summary.total >= limit:
                    raise ConsoleError(
                        "PAYLOAD_TOO_LARGE",
                        f"超过 {limit:,} 行，后面的行没有核验；请分批上传，或用命令行 ruralpost check",
                        f"more than {limit:,} rows: the rest were not checked; split the file or use ruralpost check",
                    )
                summary.add(item)
                csv_writer.write(item)
                json_writer.write(item)
                by_row[item.row] = item
                if len(shown) < ITEMS_SHOWN:
                    shown.append(_item(item))
                now = time.monotonic()
                if now - last >= PROGRESS_EVERY:
                    last = now
                    yield self._line({"type": "progress", "done": summary.total, "total": rows.total_hint})
            summary.seconds = time.monotonic() - started
            summary.file_read(rows.count, rows.encoding)
            json_writer.close(summary)
        job.path("report.html").write_text(html.check_report(summary), encoding="utf-8")
        downloads = {
            "csv": f"/console/api/jobs/{job.id}/results.csv",
            "json": f"/console/api/jobs/{job.id}/results.json",
            "report": f"/console/api/jobs/{job.id}/report.html",
        }
        if path.suffix in SPREADSHEETS:
            annotate(path, job.path("annotated" + path.suffix), by_row)
            downloads["annotated"] = f"/console/api/jobs/{job.id}/annotated"
        self.jobs.update(job, downloads=downloads)
        yield self._line(
            {
                "type": "done",
                "job": job.id,
                "summary": {**summary.as_dict(), "file_line": summary.file_line(), "shown": len(shown)},
                "items": shown,
                "downloads": downloads,
            }
        )

    @staticmethod
    def _line(data: dict[str, Any]) -> bytes:
        return (json.dumps(data, ensure_ascii=False) + "\n").encode()

    def _download(self, start_response: StartResponse, caller: Caller | None, job_id: str, name: str) -> list[bytes]:
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
            kind = (
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" if suffix == ".xlsx" else "text/csv"
            )
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
        start_response("200 OK", headers)
        return [data]

    # ---- 进度

    def _progress_of(self, environ: Environ, caller: Caller | None, as_of: str) -> progress_pb2.ProgressReport:
        with self._call(environ, caller, GET_PROGRESS) as call:
            return self.methods.get_progress(progress_pb2.GetProgressRequest(as_of=as_of), call).report

    def _progress(self, environ: Environ, start_response: StartResponse, caller: Caller | None) -> list[bytes]:
        data = self._json_body(environ)
        report = self._progress_of(environ, caller, str(data.get("as_of", "")))
        return _json(
            start_response,
            {
                "report": proto_dict(report),
                "chart": html.progress_chart(report),
                "behind": townships_not_passing(report),
            },
        )

    def _progress_report(self, environ: Environ, start_response: StartResponse, caller: Caller | None) -> list[bytes]:
        report = self._progress_of(environ, caller, self._query(environ).get("as_of", ""))
        data = html.progress_report(report).encode()
        start_response(
            "200 OK",
            [
                ("Content-Type", "text/html; charset=utf-8"),
                ("Content-Length", str(len(data))),
                ("Content-Security-Policy", REPORT_CSP),
                ("Cache-Control", "no-store"),
            ],
        )
        return [data]

    # ---- 规则

    def _rules(self, environ: Environ, start_response: StartResponse, caller: Caller | None) -> list[bytes]:
        with self._call(environ, caller, LIST_RULES) as call:
            response = self.methods.list_rules(rules_pb2.ListRulesRequest(), call)
        return _json(start_response, proto_dict(response))

    # ---- 补贴

    def _claim(self, environ: Environ, start_response: StartResponse, caller: Caller | None) -> list[bytes]:
        query = self._query(environ)
        fields: dict[str, Any] = {name: query[name] for name in CLAIM_FIELDS if query.get(name, "").strip()}
        with self._call(environ, caller, EVALUATE_CLAIM) as call:  # refused before anything is read
            job, path = self._upload(environ, self._owner(caller), "claim")
            try:
                found = read_claims(path, fields)
            except (ReadError, LayoutError, CellError, ValueError) as e:
                raise ConsoleError("INVALID_ARGUMENT", f"无法读取申报：{e}", "the claim cannot be read") from None
            readable = [c for _, c, _ in found.claims if c is not None]
            problems = [p for _, c, p in found.claims if c is None]
            if problems:
                raise ConsoleError(
                    "INVALID_ARGUMENT", f"无法读取申报：{'；'.join(problems)}", "the claim cannot be read"
                )
            if len(readable) != 1:
                raise ConsoleError(
                    "INVALID_ARGUMENT",
                    f"文件里有 {len(readable)} 个申报，控制台一次评估一个；多个申报请用命令行 ruralpost claim",
                    f"the file holds {len(readable)} claims; the console takes one at a time (use ruralpost claim)",
                )
            claim = readable[0]
            job.path("claim.pb").write_bytes(claim.SerializeToString())
            bad_rows = [{"row": b.row, "column": b.column, "problem": b.problem} for b in found.bad_rows]
            self.jobs.update(job, parcel_rows=found.parcel_rows, bad_rows=bad_rows)
            decision = self.methods.decide_claim(claim_pb2.EvaluateClaimRequest(claim=claim, commit=False), call)
        return _json(
            start_response,
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

    def _commit(
        self, environ: Environ, start_response: StartResponse, caller: Caller | None, job_id: str
    ) -> list[bytes]:
        try:
            job = self.jobs.open(job_id, self._owner(caller), "claim")
            claim = claim_pb2.Claim.FromString(job.path("claim.pb").read_bytes())
        except (JobNotFound, OSError):
            raise ConsoleError(
                "NOT_FOUND",
                "试算已过期或不存在，请重新上传申报",
                "the dry run has expired or does not exist; upload the claim again",
            ) from None
        # the approver confirmed a dialog that said so when the amount rests on provisional rates
        accept = self._json_body(environ).get("accept_provisional_rates") is True
        with self._call(environ, caller, EVALUATE_CLAIM) as call:
            decision = self.methods.decide_claim(
                claim_pb2.EvaluateClaimRequest(claim=claim, commit=True, accept_provisional_rates=accept), call
            )
        return _json(
            start_response,
            {
                "job": job.id,
                "how": decision.how,
                "result": claim_dict(decision.response, job.meta.get("parcel_rows", [])),
            },
        )
