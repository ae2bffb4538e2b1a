"""The console's server side without a browser: logins and sessions, roles as over gRPC, and bad
input (a wrong file type, 50 MB, 100,000 rows, a malformed claim) refused with a message in
Chinese and English, before any work is done."""

from __future__ import annotations

import csv
import io
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ruralpost.clients.sheets import template
from ruralpost.clients.sheets.readers import write_table
from ruralpost.service.config import Config
from ruralpost.service.console.sessions import MAX_SECONDS, SessionError, Sessions
from ruralpost.service.server import Running, running
from tests.backends import decision_count
from tests.support import EXAMPLES, TOKENS


class Browser:
    """A urllib client that keeps the console's session cookie, as a browser would."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.cookie = ""

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        sent = {"X-Ruralpost-Console": "1", **(headers or {})}
        if self.cookie:
            sent["Cookie"] = self.cookie
        request = urllib.request.Request(self.base + path, data=body, headers=sent, method=method)
        try:
            with urllib.request.urlopen(request, timeout=60) as r:
                status, got, data = r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            status, got, data = e.code, dict(e.headers), e.read()
        cookie = got.get("Set-Cookie", "")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        return status, got, data

    def json(self, method: str, path: str, data: Any = None, **kw: Any) -> tuple[int, Any]:
        body = json.dumps(data).encode() if data is not None else None
        status, _, raw = self.request(method, path, body, {"Content-Type": "application/json", **kw})
        return status, json.loads(raw)

    def login(self, who: str) -> dict[str, Any]:
        status, me = self.json("POST", "/console/api/login", {"token": TOKENS[who]})
        assert status == 200, me
        return dict(me)

    def upload(self, path: str, name: str, data: bytes, query: str = "") -> tuple[int, bytes]:
        headers = {"X-Filename": urllib.parse.quote(name), "Content-Type": "application/octet-stream"}
        status, _, raw = self.request("POST", f"{path}?{query}", data, headers)
        return status, raw


def lines(raw: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in raw.decode().splitlines() if line.strip()]


def message(raw: bytes) -> str:
    return str(json.loads(raw)["error"]["message"])


def test_the_page_and_its_files_load_from_the_server_only(http_secured: Running) -> None:
    browser = Browser(http_secured.http_port)
    status, headers, page = browser.request("GET", "/")
    assert status == 200 and "农村寄递物流核验控制台" in page.decode()
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    for name in ("console.js", "console.css"):
        status, _, data = browser.request("GET", f"/console/static/{name}")
        assert status == 200 and data
    text = page.decode() + browser.request("GET", "/console/static/console.js")[2].decode()
    assert "http://" not in text and "https://" not in text  # nothing from elsewhere
    assert browser.request("GET", "/console/static/../app.py")[0] == 404


def test_logins_and_roles(http_secured: Running) -> None:
    browser = Browser(http_secured.http_port)
    status, body = browser.json("GET", "/console/api/me")
    assert status == 401 and body["error"]["session"] == "missing"
    status, body = browser.json("POST", "/console/api/login", {"token": "nope"})
    assert status == 401 and "令牌不正确" in body["error"]["message"] and "unknown token" in body["error"]["message"]
    me = browser.login("op")
    assert me["may"] == {
        "check": True,
        "progress": False,
        "claim": True,
        "commit": False,
        "rules": False,
        "data": True,
        "data_edit": False,
    }
    assert TOKENS["op"] not in browser.cookie  # the cookie names the token's hash, never the token
    status, body = browser.json("GET", "/console/api/rules")
    assert status == 403 and body["error"]["code"] == "permission_denied"
    status, body = browser.json("POST", "/console/api/progress", {"as_of": "2023-07-31"})
    assert status == 403
    reader = Browser(http_secured.http_port)
    assert reader.login("reader")["may"]["progress"]
    status, body = reader.json("POST", "/console/api/progress", {"as_of": "2023-13-01"})
    assert status == 400 and body["error"]["violations"][0]["field"] == "as_of"
    status, body = reader.json("POST", "/console/api/progress", {"as_of": "2023-07-31"})
    assert status == 200 and len(body["behind"]) == 12 and body["chart"].startswith("<svg")
    assert reader.upload("/console/api/check", "s.csv", b"a,b\n1,2\n")[0] == 403
    # another caller's results are not found, whoever asks
    op = Browser(http_secured.http_port)
    op.login("op")
    rows = template.csv_text("stations", "both", True).encode("utf-8")
    status, raw = op.upload("/console/api/check", "stations.csv", rows, "as_of=2023-07-15")
    answer = lines(raw)
    assert answer[0] == {"type": "progress", "done": 0, "total": 2}  # progress first, then as rows go
    done = answer[-1]
    assert done["type"] == "done", done
    assert op.request("GET", f"/console/api/jobs/{done['job']}/results.csv")[0] == 200
    assert reader.request("GET", f"/console/api/jobs/{done['job']}/results.csv")[0] == 404


def test_posts_need_the_console_header(http_secured: Running) -> None:
    browser = Browser(http_secured.http_port)
    request = urllib.request.Request(
        browser.base + "/console/api/login", data=json.dumps({"token": TOKENS["op"]}).encode(), method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 403, refused.value.read()


def test_operators_check_their_own_stations_only(http_secured: Running, tmp_path: Path) -> None:
    browser = Browser(http_secured.http_port)
    browser.login("other")
    rows = template.csv_text("stations", "both", True).encode("utf-8")
    status, raw = browser.upload("/console/api/check", "stations.csv", rows, "as_of=2023-07-15")
    done = lines(raw)[-1]
    assert status == 200 and done["type"] == "done"
    assert {i["outcome"] for i in done["items"]} == {"BAD_ROW"}  # each row refused: another operator's
    assert all("PERMISSION_DENIED" in i["problem"] or "acts for" in i["problem"] for i in done["items"])


@pytest.mark.slow
def test_bad_uploads_are_refused_with_a_reason(http_secured: Running, tmp_path: Path) -> None:
    browser = Browser(http_secured.http_port)
    browser.login("admin")
    status, raw = browser.upload("/console/api/check", "scan.pdf", b"%PDF-1.4")
    assert status == 415 and "不支持的文件类型" in message(raw) and "unsupported file type" in message(raw)
    status, raw = browser.upload("/console/api/check", "big.csv", b"x" * (50 * 1024 * 1024))
    assert status == 413 and "文件太大" in message(raw) and "too large" in message(raw)
    status, raw = browser.upload("/console/api/check", "empty.csv", b"")
    assert status == 400 and "空" in message(raw)

    header = template.headers("stations", "both")
    example = list(template.examples("stations")[0])
    big = tmp_path / "big.xlsx"
    write_table(big, header, [example] * 100_000)
    started = time.monotonic()
    status, raw = browser.upload("/console/api/check", "big.xlsx", big.read_bytes())
    assert (
        status == 413 and "100,000" in message(raw) and "20,000" in message(raw) and "ruralpost check" in message(raw)
    )
    assert time.monotonic() - started < 30  # refused before reading the rows
    assert decision_count(http_secured.runtime.store) == 0

    status, raw = browser.upload("/console/api/claim", "claim.json", b'{"claim": {"claimId": "X", "parcels": [')
    assert status == 400 and "无法读取申报" in message(raw) and "cannot be read" in message(raw)
    claim = json.loads((EXAMPLES / "claim-upbound.json").read_text(encoding="utf-8"))
    claim["claim"]["period"] = "2023-13"
    status, raw = browser.upload("/console/api/claim", "claim.json", json.dumps(claim).encode())
    body = json.loads(raw)
    assert status == 400 and body["error"]["code"] == "invalid_argument"
    assert "claim.period" in {v["field"] for v in body["error"]["violations"]}


def test_the_row_limit_also_holds_while_reading(tmp_path: Path, auth_file: Path) -> None:
    """A file whose size says nothing of its rows (JSON Lines): the check stops at the limit with
    the reason as the stream's last line, and what was checked is not lost from the count."""
    config = Config(
        listen="127.0.0.1:0",
        http_listen="127.0.0.1:0",
        db=str(tmp_path / "limit.db"),
        auth_file=auth_file,
        console_dir=tmp_path / "console",
        max_station_rows=5,
        grace_seconds=1,
    )
    request = (EXAMPLES / "township-station.json").read_text(encoding="utf-8")
    body = ("\n".join(json.dumps(json.loads(request)) for _ in range(8)) + "\n").encode()
    with running(config) as server:
        browser = Browser(server.http_port)
        browser.login("admin")
        status, raw = browser.upload("/console/api/check", "stations.jsonl", body)
    assert status == 413 and "8" in message(raw)  # JSON Lines: its lines are known before reading


@pytest.fixture
def short_sessions(tmp_path: Path, auth_file: Path) -> Iterator[Running]:
    config = Config(
        listen="127.0.0.1:0",
        http_listen="127.0.0.1:0",
        db=str(tmp_path / "short.db"),
        auth_file=auth_file,
        console_dir=tmp_path / "console",
        session_seconds=2,
        grace_seconds=1,
    )
    with running(config) as r:
        yield r


def test_an_expired_session_says_so(short_sessions: Running) -> None:
    browser = Browser(short_sessions.http_port)
    browser.login("reader")
    assert browser.json("GET", "/console/api/me")[0] == 200
    time.sleep(2.5)
    status, body = browser.json("GET", "/console/api/me")
    assert status == 401 and body["error"]["session"] == "expired"
    assert "登录已过期" in body["error"]["message"] and "expired" in body["error"]["message"]
    browser.cookie = browser.cookie[:-3] + "abc"  # tampered
    assert browser.json("GET", "/console/api/me")[1]["error"]["session"] == "invalid"


def test_sessions_end_and_are_shared_by_workers(tmp_path: Path) -> None:
    """Two Sessions on one folder are two pre-forked workers: a login made by one is good on the
    other, and its logout ends it on both."""
    sessions, other_worker = Sessions(tmp_path, 60), Sessions(tmp_path, 60)
    value, _ = sessions.issue("op", now=1000)
    assert other_worker.read(value, now=1059).caller == "op"
    with pytest.raises(SessionError) as ended:
        sessions.read(value, now=1061)
    assert ended.value.expired
    with pytest.raises(SessionError) as forged:
        other_worker.read(value[:-3] + "abc", now=1000)
    assert not forged.value.expired
    value, _ = sessions.issue("op", now=1000)
    other_worker.revoke(value)
    with pytest.raises(SessionError) as logged_out:
        sessions.read(value, now=1001)
    assert not logged_out.value.expired
    assert Sessions(tmp_path, 10**9).seconds == MAX_SECONDS  # no setting makes a login last longer


def test_without_an_auth_file_the_console_is_open_on_loopback(http_server: Running) -> None:
    browser = Browser(http_server.http_port)
    status, me = browser.json("GET", "/console/api/me")
    assert status == 200 and me["auth"] is False and all(me["may"].values())
    status, rules = browser.json("GET", "/console/api/rules")
    assert status == 200 and len(rules["rules"]) > 50


def test_the_hub_goes_with_the_progress_request_and_is_validated_as_on_every_door(http_server: Running) -> None:
    browser = Browser(http_server.http_port)
    hub = json.loads((EXAMPLES / "hub.json").read_text(encoding="utf-8"))
    status, body = browser.json("POST", "/console/api/progress", {"as_of": "2023-07-15"})
    assert status == 200 and body["hub"] == []
    assert [r["rule_id"] for r in body["report"]["hub"]["reasons"]] == ["HUB-MISSING"]
    status, body = browser.json("POST", "/console/api/progress", {"as_of": "2023-07-15", "hub": hub})
    assert status == 200 and body["report"]["hub"]["outcome"] == "OUTCOME_PASS", body["report"]["hub"]
    assert {"zh": "参与快递品牌", "en": "brands", "value": "中国邮政、中通快递"} in body["hub"]
    one_brand = {**hub, "brands": ["中国邮政", "EMS"]}
    status, body = browser.json("POST", "/console/api/progress", {"as_of": "2023-07-15", "hub": one_brand})
    assert [r["rule_id"] for r in body["report"]["hub"]["reasons"]] == ["HUB-BRANDS"]

    # bad values: the service's INVALID_ARGUMENT, every field named; the wrong shape names `hub`
    bad = {**hub, "establishedOn": "2023-06-31", "brands": ["邮" * 300]}
    status, body = browser.json("POST", "/console/api/progress", {"as_of": "2023-07-15", "hub": bad})
    assert status == 400 and body["error"]["code"] == "invalid_argument"
    fields = {v["field"] for v in body["error"]["violations"]}
    assert fields == {"hub.established_on", "hub.brands[0]"}
    for shape in ({"brands": "中国邮政、中通快递"}, {"sorting": "是"}, ["中国邮政"], {"colour": 1}):
        status, body = browser.json("POST", "/console/api/progress", {"as_of": "2023-07-15", "hub": shape})
        assert status == 400 and [v["field"] for v in body["error"]["violations"]] == ["hub"], shape
        assert "县级共配中心信息有误" in body["error"]["message"]

    # the printable report judges the hub it is given, and shows it as entered
    query = urllib.parse.urlencode({"as_of": "2023-07-15", "hub": json.dumps(one_brand, ensure_ascii=False)})
    status, _, page = browser.request("GET", f"/console/api/progress/report?{query}")
    text = page.decode()
    assert status == 200 and "HUB-BRANDS" in text and "中国邮政、EMS" in text and "HUB-MISSING" not in text
    status, _, page = browser.request("GET", "/console/api/progress/report?as_of=2023-07-15&hub=%7Bnope")
    assert status == 400 and "hub" in page.decode()


@pytest.mark.slow
def test_progress_lines_arrive_while_the_check_runs(http_server: Running) -> None:
    """Long work shows progress: the lines come as the rows are checked, not all at the end."""
    header = template.headers("stations", "both")
    example = list(template.examples("stations")[1])
    rows = [[f"P{i:05d}", *example[1:]] for i in range(1500)]
    out = io.StringIO()
    csv.writer(out).writerows([header, *rows])
    request = urllib.request.Request(
        f"http://127.0.0.1:{http_server.http_port}/console/api/check?as_of=2023-07-15",
        data=out.getvalue().encode(),
        headers={"X-Ruralpost-Console": "1", "X-Filename": "many.csv"},
    )
    seen: list[tuple[float, dict[str, Any]]] = []
    with urllib.request.urlopen(request, timeout=120) as r:
        for line in r:
            seen.append((time.monotonic(), json.loads(line)))
    progress = [(t, d) for t, d in seen if d["type"] == "progress" and d["done"]]
    done_at, done = seen[-1]
    assert done["type"] == "done" and done["summary"]["total"] == 1500
    assert len(progress) >= 2 and progress[0][1]["total"] == 1500
    assert done_at - progress[0][0] > 0.1  # the first count came well before the end


def test_the_console_gets_its_words_and_the_provisional_rates(http_server: Running) -> None:
    browser = Browser(http_server.http_port)
    status, me = browser.json("GET", "/console/api/me")
    assert status == 200
    labels = me["labels"]
    assert labels["enum_words"]["RECEIVE"] == ["收件", 2] and labels["enum_words"]["BARCODE_SCANNER"][0] == "巴枪"
    assert labels["subjects"]["county_hub"] == "县级共配中心"
    assert labels["bases"]["RULE_BASIS_INFERRED"] == "据方案推定"
    status, raw = browser.upload(
        "/console/api/claim", "claim-upbound.json", (EXAMPLES / "claim-upbound.json").read_bytes()
    )
    assert status == 200, raw
    answer = json.loads(raw)
    # the amount rests on provisional rates: the answer says so, and the commit confirmation with it
    assert any(r["rule_id"] == "SUB-RATES-PROVISIONAL" for r in answer["result"]["reasons"])
    rejected = answer["result"]["rejections"][0]
    assert rejected["reasons"][0]["message"].startswith("品类“手机壳”未填写或经审核不属于农副产品")
