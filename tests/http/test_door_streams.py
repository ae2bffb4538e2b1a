"""Connect streams over the HTTP door: a body whose last envelope is cut off, or whose envelope
flags no request has, is the client's error (not a success that drops the item, not INTERNAL); a
client address holds at most --max-streams-per-caller streams without an auth file, however many
connections it opens; and a stream whose client hangs up stops working."""

from __future__ import annotations

import logging
import socket
import struct
import threading
import time
from pathlib import Path

import pytest

from ruralpost.service.server import Running, running
from tests.backends import decision_count
from tests.http.conftest import http_config
from tests.http.jsondoor import envelope, enveloped, stream
from tests.support import example

CHECKS = "StationService/CheckStations"


@pytest.mark.parametrize(
    ("tail", "missing"),
    [
        (struct.pack(">BI", 0, 100) + b'{"station": {', "87 bytes"),  # the message cut off
        (b"\x00\x00\x00", "2 bytes of its prefix"),  # the prefix cut off
    ],
)
def test_a_stream_whose_last_envelope_is_cut_off_is_an_error(http_server: Running, tail: bytes, missing: str) -> None:
    station = example("township-station.json")
    answer = enveloped(http_server.http_port, CHECKS, envelope(station) * 2 + tail)
    assert answer.status == 200
    assert len(answer.body) == 2 and all("verdict" in a for a in answer.body)  # the whole items are answered
    assert answer.code == "invalid_argument", answer.end
    assert "cut off" in answer.end["error"]["message"] and missing in answer.end["error"]["message"]


@pytest.mark.parametrize("flags", [0x01, 0x02, 0x80, 0xFF])
def test_envelope_flags_no_request_has_are_invalid_argument(http_server: Running, flags: int) -> None:
    station = example("township-station.json")
    bad = bytearray(envelope(station))
    bad[0] = flags
    answer = enveloped(http_server.http_port, CHECKS, envelope(station) + bytes(bad) + envelope(station))
    assert len(answer.body) == 1 and "verdict" in answer.body[0]
    assert answer.code == "invalid_argument", answer.end
    assert f"{flags:#04x}" in answer.end["error"]["message"]


def _open_stream(port: int, item: dict[str, object]) -> socket.socket:
    """A stream on a connection of its own whose first item is answered and whose body goes on
    (chunked, never ended): it holds a stream slot until the connection closes."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = (
        f"POST /ruralpost.v1.{CHECKS} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/connect+json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    first = envelope(item)
    s.sendall(head.encode() + f"{len(first):x}\r\n".encode() + first + b"\r\n")
    answer = b""
    while b"verdict" not in answer:
        chunk = s.recv(65536)
        assert chunk, answer
        answer += chunk
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    return s


def test_without_auth_one_address_holds_the_stream_limit_across_connections(tmp_path: Path) -> None:
    station = example("township-station.json")
    with running(http_config(tmp_path, max_streams_per_caller=2)) as r:
        port = r.http_port
        held = [_open_stream(port, station), _open_stream(port, station)]
        try:
            refused = stream(port, CHECKS, [station])
            assert refused.code == "resource_exhausted", refused.end
            assert "127.0.0.1 has 2 streams open" in refused.end["error"]["message"]
        finally:
            for s in held:
                s.close()
        deadline = time.monotonic() + 10
        while (answer := stream(port, CHECKS, [station])).code != "ok" and time.monotonic() < deadline:
            time.sleep(0.1)  # the slots come back once the server has seen the connections close
        assert answer.code == "ok" and len(answer.body) == 1


def _hang_up_after_the_first_answer(port: int, path: str, head: str, body: bytes, first: bytes, times: int = 1) -> None:
    """Sends the request, reads until `first` has come (`times` times), then closes the connection
    (a reset)."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        sending = threading.Thread(target=s.sendall, args=(f"POST {path} HTTP/1.1\r\n{head}".encode() + body,))
        sending.start()
        answer = b""
        while answer.count(first) < times:
            chunk = s.recv(65536)
            assert chunk, answer[:300]
            answer += chunk
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sending.join(timeout=30)


def _settled(r: Running) -> int:
    """The decisions logged once the server has stopped adding to them."""
    count = decision_count(r.runtime.store)
    while True:
        time.sleep(1)
        now = decision_count(r.runtime.store)
        if now == count:
            return count
        count = now


def test_a_stream_whose_client_hangs_up_stops_working(http_server: Running, caplog: pytest.LogCaptureFixture) -> None:
    # 700 small items in one body the server has whole at once: nothing more to read, much to do
    item = {"station": {"stationId": "S", "township": "康家会镇"}, "asOf": "2023-07-15"}
    path = f"/ruralpost.v1.{CHECKS}"
    for items in (700, 5000):  # and a body still being sent when the client hangs up
        before = decision_count(http_server.runtime.store)
        body = envelope(item) * items
        head = f"Host: 127.0.0.1\r\nContent-Type: application/connect+json\r\nContent-Length: {len(body)}\r\n\r\n"
        with caplog.at_level(logging.ERROR):
            _hang_up_after_the_first_answer(http_server.http_port, path, head, body, b"verdict")
            assert _settled(http_server) - before < items / 2
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # ended CANCELLED, not an error
    # the slot came back and the door serves on
    assert stream(http_server.http_port, CHECKS, [item]).code == "ok"
