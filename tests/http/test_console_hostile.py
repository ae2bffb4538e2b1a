"""The console against hostile uploads: refused cheaply with a 4xx and the reason (never a 500),
the server's paths never shown, nothing kept on disk for a refused file, folders and the database
for the service's user only, and no caller holding more than its share of the HTTP threads."""

from __future__ import annotations

import csv
import io
import json
import stat
import time
from pathlib import Path

import pytest

from ruralpost.clients.sheets import template
from ruralpost.service.api.auth import token_sha256
from ruralpost.service.api.throttle import BURST
from ruralpost.service.config import Config
from ruralpost.service.console.jobs import Busy, Jobs
from ruralpost.service.server import Running, running
from tests.backends import decision_count
from tests.clients.test_hostile_files import renumbered, rewritten, workbook
from tests.http.test_console_api import Browser, lines, message
from tests.http.test_door_streams import _hang_up_after_the_first_answer, _settled
from tests.support import TOKENS


def test_hostile_uploads_are_refused_with_the_reason_and_leave_nothing(http_secured: Running, tmp_path: Path) -> None:
    console = tmp_path / "console"
    browser = Browser(http_secured.http_port)
    browser.login("admin")

    source = workbook(tmp_path, 1)
    far = rewritten(source, tmp_path / "far.xlsx", renumbered(source, 2, 20_000_000)).read_bytes()
    started = time.monotonic()
    status, raw = browser.upload("/console/api/check", "far.xlsx", far)
    assert time.monotonic() - started < 2
    assert status == 413 and "20,000" in message(raw) and "20,000,000" in message(raw)

    status, raw = browser.upload("/console/api/check", "renamed.xlsx", b"station_id,township\nS1,a\n")
    assert status == 400 and "CSV" in message(raw) and "not an Excel workbook" in message(raw)

    deep = b"[" * 100_000 + b"]" * 100_000
    status, raw = browser.upload("/console/api/check", "deep.json", deep)
    assert status == 400 and "nested too deeply" in message(raw)
    status, raw = browser.upload("/console/api/claim", "deep.json", deep)
    assert status == 400 and "nested too deeply" in message(raw)

    for answer in (message(raw),):
        assert str(tmp_path) not in answer and "/upload." not in answer and "deep.json" in answer
    assert not [p for p in console.iterdir() if p.is_dir() and p.name != "sessions"]  # refused uploads keep nothing
    assert decision_count(http_secured.runtime.store) == 0


def test_checked_rows_keep_their_results_when_the_rest_cannot_be_done(http_secured: Running, tmp_path: Path) -> None:
    """A cell over the csv module's 128 KiB: the rows are checked, the annotated copy cannot be
    made; the answer is the results with the reason, not a 500."""

    text = template.csv_text("stations", "both", True)
    header, first = text.splitlines()[:2]
    wide = f"{header}\n{first}\n{first.replace(',', ',' + 'x' * (200 * 1024), 1)}\n"
    browser = Browser(http_secured.http_port)
    browser.login("admin")
    status, raw = browser.upload("/console/api/check", "wide.csv", wide.encode(), "as_of=2023-07-15")
    done = lines(raw)[-1]
    assert status == 200 and done["type"] == "done", done
    assert done["summary"]["total"] == 2 and "annotated" not in done["downloads"]
    assert any("cannot add the verdict columns" in p for p in done["problems"])
    assert str(tmp_path) not in json.dumps(done, ensure_ascii=False)
    assert browser.request("GET", done["downloads"]["csv"])[0] == 200


def test_job_folders_and_the_database_are_owner_only(http_secured: Running, tmp_path: Path) -> None:

    browser = Browser(http_secured.http_port)
    browser.login("admin")
    rows = template.csv_text("stations", "both", True).encode("utf-8")
    status, raw = browser.upload("/console/api/check", "stations.csv", rows, "as_of=2023-07-15")
    assert status == 200 and lines(raw)[-1]["type"] == "done"
    console = tmp_path / "console"
    (job,) = [p for p in console.iterdir() if p.is_dir() and p.name != "sessions"]
    for folder in (console, job, console / "sessions"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for name in ("job.json", "upload.csv"):
        assert stat.S_IMODE((job / name).stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "hs.db").stat().st_mode) == 0o600


def test_one_caller_runs_two_uploads_at_once(tmp_path: Path) -> None:
    jobs = Jobs(tmp_path, 1)
    jobs.take("op")
    jobs.take("op")
    with pytest.raises(Busy):
        jobs.take("op")
    jobs.take("reader")  # another caller is not held up
    jobs.give("op")
    jobs.take("op")


def test_a_logout_ends_the_session_on_the_server(http_secured: Running) -> None:
    browser = Browser(http_secured.http_port)
    status, headers, _ = browser.request(
        "POST", "/console/api/login", json.dumps({"token": TOKENS["op"]}).encode(), {"Content-Type": "application/json"}
    )
    assert status == 200
    flags = [f.strip() for f in headers["Set-Cookie"].split(";")]
    assert {"HttpOnly", "SameSite=Strict", "Path=/"} <= set(flags) and "Secure" not in flags
    assert token_sha256(TOKENS["op"]) not in browser.cookie and TOKENS["op"] not in browser.cookie
    kept = browser.cookie
    assert browser.json("GET", "/console/api/me")[0] == 200
    assert browser.json("POST", "/console/api/logout", {})[0] == 200
    browser.cookie = kept  # the old cookie, replayed after the logout
    status, body = browser.json("GET", "/console/api/me")
    assert status == 401 and body["error"]["session"] == "invalid"


def test_cookies_are_secure_when_tls_ends_at_a_proxy(tmp_path: Path, auth_file: Path) -> None:
    config = Config(
        listen="127.0.0.1:0",
        http_listen="127.0.0.1:0",
        db=str(tmp_path / "s.db"),
        auth_file=auth_file,
        console_dir=tmp_path / "console",
        cookie_secure=True,
        grace_seconds=1,
    )
    with running(config) as server:
        browser = Browser(server.http_port)
        _, headers, _ = browser.request("POST", "/console/api/login", json.dumps({"token": TOKENS["reader"]}).encode())
        assert "Secure" in [f.strip() for f in headers["Set-Cookie"].split(";")]
        _, headers, _ = browser.request("POST", "/console/api/logout", b"{}")
        assert "Secure" in headers["Set-Cookie"] and "Max-Age=0" in headers["Set-Cookie"]


def test_wrong_console_logins_are_throttled(http_secured: Running) -> None:
    browser = Browser(http_secured.http_port)
    for _ in range(BURST):
        assert browser.json("POST", "/console/api/login", {"token": "guess"})[0] == 401
    status, body = browser.json("POST", "/console/api/login", {"token": TOKENS["reader"]})
    assert status == 429 and "try again" in body["error"]["message"]


def test_a_check_whose_client_hangs_up_stops_reading_and_checking(http_server: Running, tmp_path: Path) -> None:
    header = template.headers("stations", "both")
    example = list(template.examples("stations")[1])
    out = io.StringIO()
    csv.writer(out).writerows([header, *([f"H{i:05d}", *example[1:]] for i in range(20_000))])
    body = out.getvalue().encode()
    head = f"Host: 127.0.0.1\r\nX-Ruralpost-Console: 1\r\nX-Filename: many.csv\r\nContent-Length: {len(body)}\r\n\r\n"
    port = http_server.http_port
    # the first count of rows checked (after the line saying none yet), then the client is gone
    _hang_up_after_the_first_answer(port, "/console/api/check?as_of=2023-07-15", head, body, b'"progress"', 2)
    assert _settled(http_server) < 10_000  # 20,000 rows would take a while longer; the check stopped
    assert [p for p in (tmp_path / "console").iterdir() if p.is_dir() and p.name != "sessions"] == []
