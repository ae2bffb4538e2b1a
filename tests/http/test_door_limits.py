"""What the HTTP door refuses before it costs anything: a body is not read until the token holds, a
login reads a few KB at most, a client that trickles its request is cut off; and what every answer
carries (request ids we can log, security headers, `bearer` in any case) on both doors."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from ruralpost.service import web
from ruralpost.service.server import Running, build, running, stop
from ruralpost.v1 import rules_pb2, rules_pb2_grpc
from tests.http.conftest import http_config
from tests.http.jsondoor import unary
from tests.support import TOKENS, example

CHECK = "StationService/CheckStation"
RULES = "RulesService/ListRules"
BIG = 24 * 1024 * 1024


def _head(port: int, head: str, timeout: float = 5) -> tuple[bytes, float]:
    """Sends only the request head (no body, though Content-Length promises one); what comes back
    until the server closes the connection (or `timeout`), and how long that took."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        started = time.monotonic()
        s.sendall(head.encode())
        answer = b""
        try:
            while chunk := s.recv(65536):
                answer += chunk
        except (TimeoutError, ConnectionResetError):
            pass
        return answer, time.monotonic() - started


def test_a_large_body_without_a_token_is_refused_before_it_is_sent(http_secured: Running) -> None:
    port = http_secured.http_port
    head = (
        f"POST /ruralpost.v1.{CHECK} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\nContent-Length: {BIG}\r\n\r\n"
    )
    answer, took = _head(port, head)
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert took < 5
    # the same with a token that does not hold, and over gRPC-Web
    wrong = head.replace("Content-Type", "Authorization: Bearer not-a-token\r\nContent-Type")
    assert _head(port, wrong)[0].startswith(b"HTTP/1.1 401")
    web_head = head.replace("application/json", "application/grpc-web+proto")
    answer, _ = _head(port, web_head)
    assert answer.startswith(b"HTTP/1.1 200") and b"grpc-status: 16" in answer.lower(), answer
    # a reader may not check stations: refused from its headers too
    reader = head.replace("Content-Type", f"Authorization: Bearer {TOKENS['reader']}\r\nContent-Type")
    assert _head(port, reader)[0].startswith(b"HTTP/1.1 403")


def test_the_console_login_reads_a_few_kilobytes_at_most(http_secured: Running) -> None:
    head = (
        "POST /console/api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Ruralpost-Console: 1\r\n"
        f"Content-Type: application/json\r\nContent-Length: {BIG}\r\n\r\n"
    )
    answer, took = _head(http_secured.http_port, head)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert took < 5
    # a console call without a session is refused before its upload is read
    upload = head.replace("/console/api/login", "/console/api/check").replace("application/json", "text/csv")
    assert _head(http_secured.http_port, upload)[0].startswith(b"HTTP/1.1 401")


@pytest.fixture
def impatient(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Running]:
    monkeypatch.setattr(web, "HEAD_SECONDS", 1.0)
    monkeypatch.setattr(web, "BODY_IDLE_SECONDS", 1.0)
    with running(http_config(tmp_path, "i.db")) as r:
        yield r


def test_slow_clients_are_cut_off(impatient: Running) -> None:
    port = impatient.http_port
    # a request head that never ends: the connection is closed
    answer, took = _head(port, "POST /ruralpost.v1.RulesService/ListRules HTTP/1.1\r\nHost: 127.0.0.1\r\n", 10)
    assert answer == b"" and took < 5
    # a body that stops half way: answered with an error, not waited for
    head = (
        f"POST /ruralpost.v1.{RULES} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
    )
    answer, took = _head(port, head, 10)
    assert b"HTTP/1.1 " in answer and b" 200 " not in answer.split(b"\r\n")[0] and took < 5
    assert unary(port, RULES, {}).code == "ok"  # and the door still serves


def test_past_the_connection_limit_a_request_is_answered_503_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Our side of many slow connections: each holds a slot for HEAD_SECONDS at most, and past
    MAX_CONNECTIONS a new request is refused at once rather than queued; capping connections per
    client address is the proxy's (docs/security.md)."""
    monkeypatch.setattr(web, "MAX_CONNECTIONS", 4)
    with running(http_config(tmp_path, "c.db")) as r:
        port = r.http_port
        held = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(4)]
        try:
            for s in held:
                s.sendall(b"POST /ruralpost.v1.RulesService/ListRules HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            time.sleep(0.3)
            answer, took = _head(port, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert answer.startswith(b"HTTP/1.1 503"), answer[:200]
            assert took < 2
        finally:
            for s in held:
                s.close()
        time.sleep(0.3)
        assert unary(port, RULES, {}).code == "ok"


@pytest.mark.parametrize("given", ["x" * 65, "a b", "<script>", "id\u00e9"])
def test_a_client_request_id_we_cannot_log_safely_is_replaced(http_server: Running, given: str) -> None:
    headers = {"X-Request-Id": given.encode("utf-8").decode("latin-1")}
    answer = unary(http_server.http_port, RULES, {}, headers=headers)
    assert answer.code == "ok" and len(answer.headers["x-request-id"]) == 32 and answer.headers["x-request-id"] != given
    if given.isascii():  # gRPC clients send printable ASCII only
        with grpc.insecure_channel(f"127.0.0.1:{http_server.port}") as ch:
            stub = rules_pb2_grpc.RulesServiceStub(ch)
            _, call = stub.ListRules.with_call(rules_pb2.ListRulesRequest(), metadata=(("x-request-id", given),))
            assert len(dict(call.trailing_metadata())["x-request-id"]) == 32
    kept = unary(http_server.http_port, RULES, {}, headers={"X-Request-Id": "A-z_0.9" + "x" * 57})
    assert kept.headers["x-request-id"] == "A-z_0.9" + "x" * 57


def test_every_answer_carries_the_security_headers(http_server: Running) -> None:
    port = http_server.http_port
    answers = [
        unary(port, RULES, {}).headers,
        unary(port, CHECK, {"station": {"colour": "red"}}).headers,  # a Connect error
    ]
    for path in ("/", "/console/static/console.js", "/console/api/me", "/nowhere"):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as r:
                answers.append({k.lower(): v for k, v in r.headers.items()})
        except urllib.error.HTTPError as e:
            answers.append({k.lower(): v for k, v in e.headers.items()})
    for headers in answers:
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["x-content-type-options"] == "nosniff"


def test_bearer_in_any_case(http_secured: Running) -> None:
    station = example("village-point-partnered.json")
    token = TOKENS["admin"]
    for scheme in ("bearer", "BEARER", "Bearer"):
        answer = unary(http_secured.http_port, CHECK, station, headers={"Authorization": f"{scheme} {token}"})
        assert answer.code == "ok", answer.body
        with grpc.insecure_channel(f"127.0.0.1:{http_secured.port}") as ch:
            rules_pb2_grpc.RulesServiceStub(ch).ListRules(
                rules_pb2.ListRulesRequest(), metadata=(("authorization", f"{scheme} {token}"),)
            )
    assert json.loads(json.dumps(unary(http_secured.http_port, RULES, {}).body))["code"] == "unauthenticated"


def test_stop_lets_a_call_in_flight_finish_then_closes(tmp_path: Path) -> None:
    config = http_config(tmp_path, "g.db", grace_seconds=5)
    r = build(config)
    port = r.http_port
    body = b"{}"
    head = (
        f"POST /ruralpost.v1.{RULES} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head.encode() + body[:1])  # the call is in flight: its body half sent
        time.sleep(0.3)
        stopping = threading.Thread(target=stop, args=(r, config.grace_seconds))
        stopping.start()
        time.sleep(0.5)
        with pytest.raises(OSError):  # no new connections
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        s.sendall(body[1:])
        answer = b""
        while chunk := s.recv(65536):  # the answer, then the server closes the connection
            answer += chunk
        stopping.join(timeout=20)
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    assert b"rulesetVersion" in answer
    assert not stopping.is_alive()
