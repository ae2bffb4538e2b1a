"""The console's 基础数据 API on a real server with an auth file: every role reads the reference data
(any version, and downloads it as `ruralpost data export` writes it); admins replace a table with a
reason or upload a workbook or JSON file; everyone else is refused (403) and nothing is stored; a
change that fails the checks is refused with the server's message and the old version stays; a
hostile workbook is refused as the station uploads are."""

from __future__ import annotations

import io
import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from ruralpost.clients.sheets import reference
from ruralpost.service.server import Running, running
from tests.clients.test_hostile_files import renumbered, rewritten
from tests.http.conftest import http_config
from tests.http.test_console_api import Browser, message

SONGHUAFEN = {"name": "松花粉", "aliases": ["松花粉末"], "class": "林产品采集品", "section": "02 林产品"}
STORED = {**SONGHUAFEN, "farm": True}  # as the version keeps it: with its defaults
TABLES = ["operators", "products", "platforms", "brands", "rates"]


def logged_in(server: Running, who: str) -> Browser:
    browser = Browser(server.http_port)
    browser.login(who)
    return browser


def shown(browser: Browser, version: int = 0) -> dict[str, Any]:
    status, body = browser.json("GET", f"/console/api/data{f'?version={version}' if version else ''}")
    assert status == 200, body
    return dict(body)


def versions(browser: Browser) -> list[int]:
    status, body = browser.json("GET", "/console/api/data/history")
    assert status == 200, body
    return [v["version"] for v in body["versions"]]


def replace(browser: Browser, table: str, entries: Any, reason: str = "工信局审核") -> tuple[int, Any]:
    return browser.json("POST", "/console/api/data/table", {"table": table, "entries": entries, "reason": reason})


def upload(browser: Browser, name: str, data: bytes, reason: str = "工信局审核：导入") -> tuple[int, Any]:
    status, raw = browser.upload("/console/api/data/upload", name, data, urllib.parse.urlencode({"reason": reason}))
    return status, json.loads(raw)


def test_every_role_reads_every_table_any_version_and_downloads_it(http_secured: Running) -> None:
    for who in ("reader", "op", "approver", "admin"):
        browser = logged_in(http_secured, who)
        status, me = browser.json("GET", "/console/api/me")
        assert me["may"]["data"] is True and me["may"]["data_edit"] is (who == "admin"), who
        current = shown(browser)
        assert current["info"]["version"] == 1 and current["info"]["author"] == "ruralpost"
        assert sorted(current["tables"]) == sorted(TABLES) and sorted(current["columns"]) == sorted(TABLES)
        products = {p["name"]: p for p in current["tables"]["products"]}
        assert "薄皮核桃" in products["核桃"]["aliases"] and len(products) > 150
        assert versions(browser) == [1]
    rates = {c["key"]: c for c in current["columns"]["rates"]}  # the editor's columns follow the model
    assert rates["rate_fen"]["kind"] == "fen" and rates["status"]["choices"] == ["provisional", "confirmed"]
    assert rates["previous_year_fen"]["nullable"] and rates["label"]["required"]

    reader = logged_in(http_secured, "reader")
    status, headers, data = reader.request("GET", "/console/api/data/export?format=xlsx")
    assert status == 200 and "attachment" in headers["Content-Disposition"]
    assert urllib.parse.quote("基础数据-第1版.xlsx") in headers["Content-Disposition"]
    assert openpyxl.load_workbook(io.BytesIO(data)).sheetnames == TABLES
    status, _, data = reader.request("GET", "/console/api/data/export?format=json&version=1")
    assert status == 200 and json.loads(data)["version"] == 1
    for bad in ("version=abc", "version=7", "format=pdf"):
        status, body = reader.json("GET", f"/console/api/data{'/export' if 'format' in bad else ''}?{bad}")
        assert status == 400 and body["error"]["violations"][0]["field"] in ("version", "format"), bad

    anonymous = Browser(http_secured.http_port)
    status, body = anonymous.json("GET", "/console/api/data")
    assert status == 401 and body["error"]["session"] == "missing"


def test_an_admin_replaces_a_table_with_a_reason_and_the_old_version_stays_readable(http_secured: Running) -> None:
    admin = logged_in(http_secured, "admin")
    before = shown(admin)
    products = before["tables"]["products"]
    status, answer = replace(admin, "products", [*products, SONGHUAFEN], "工信局审核：松花粉为林产品")
    assert status == 200, answer
    assert (answer["info"]["version"], answer["previous_version"]) == (2, 1) and answer["cases_passed"] > 100
    assert answer["info"]["author"] == "ops-admin" and answer["info"]["reason"] == "工信局审核：松花粉为林产品"

    reader = logged_in(http_secured, "reader")
    now = shown(reader)
    assert now["info"]["version"] == 2 and STORED in now["tables"]["products"]
    assert versions(reader) == [2, 1]
    status, history = reader.json("GET", "/console/api/data/history")
    newest = history["versions"][0]
    assert (newest["author"], newest["reason"]) == ("ops-admin", "工信局审核：松花粉为林产品")
    assert newest["created_at"].endswith("Z") and newest["content_hash"] == now["info"]["content_hash"]
    old = shown(reader, 1)  # read-only view of the version before
    assert old["info"]["content_hash"] == before["info"]["content_hash"]
    assert STORED not in old["tables"]["products"]
    assert http_secured.runtime.rules.current.reference.product("松花粉末") is not None  # and decisions use it


def test_only_admins_change_and_the_server_refuses_everyone_else(http_secured: Running) -> None:
    products = shown(logged_in(http_secured, "admin"))["tables"]["products"]
    exported = json.dumps({"products": [*products, SONGHUAFEN]}, ensure_ascii=False).encode()
    for who in ("reader", "op", "approver"):
        browser = logged_in(http_secured, who)
        status, body = replace(browser, "products", [*products, SONGHUAFEN])
        assert status == 403 and body["error"]["code"] == "permission_denied", who
        status, body = upload(browser, "data.json", exported)
        assert status == 403 and body["error"]["code"] == "permission_denied", who
    # the console's header is needed for a change too (a page elsewhere cannot send it)
    admin = logged_in(http_secured, "admin")
    body = json.dumps({"table": "products", "entries": [*products, SONGHUAFEN], "reason": "x"}).encode()
    status, _, _ = admin.request("POST", "/console/api/data/table", body, {"X-Ruralpost-Console": "0"})
    assert status == 403
    assert versions(admin) == [1] and http_secured.runtime.rules.reference_number == 1


def test_a_change_that_fails_its_checks_says_why_and_the_old_version_stays(http_secured: Running) -> None:
    admin = logged_in(http_secured, "admin")
    before = shown(admin)
    products, rates = before["tables"]["products"], before["tables"]["rates"]
    twice = [*products, {"name": "核桃仁", "aliases": ["核桃"]}]  # 核桃 is a name of another entry
    lower = [dict(r, previous_year_fen=r["rate_fen"] + 1) for r in rates]  # below last year's
    for table, entries, said in (
        ("products", twice, "核桃"),
        ("rates", lower, "previous year"),
        ("products", [dict(products[0], colour="红")], "colour"),
        ("products", {"name": "x"}, "entries_json"),
        ("fruit", [], "table"),
    ):
        status, body = replace(admin, table, entries)
        assert status == 400 and body["error"]["code"] == "invalid_argument", said
        text = json.dumps(body, ensure_ascii=False)
        assert said in text, text
    status, body = replace(admin, "products", [*products, SONGHUAFEN], reason=" ")
    assert status == 400 and body["error"]["violations"][0]["field"] == "reason"
    # well formed, but the golden cases fail with it: no platform is known any more
    status, body = replace(admin, "platforms", [])
    assert status == 400 and body["error"]["code"] == "failed_precondition"
    assert "仍为第 1 版" in message(json.dumps(body).encode()) and "黄金用例未通过" in body["error"]["message"]
    # nothing was stored; the version in use is the one before
    assert shown(admin) == before and versions(admin) == [1]
    assert http_secured.runtime.rules.current.reference.version == before["info"]["content_hash"]


def _with_product(exported: bytes, out: Path, product: dict[str, Any]) -> bytes:
    """The downloaded workbook with one more row on its products sheet, as a person would add it."""
    book = openpyxl.load_workbook(io.BytesIO(exported))
    sheet = book["products"]
    header = [c.value for c in sheet[1]]
    sheet.append([reference._cell(product.get(key)) for key in header])
    book.save(out)
    return out.read_bytes()


def test_an_admin_uploads_a_workbook_or_the_json_of_data_export(http_secured: Running, tmp_path: Path) -> None:
    admin = logged_in(http_secured, "admin")
    status, _, exported = admin.request("GET", "/console/api/data/export?format=xlsx")
    assert status == 200
    sheet = _with_product(exported, tmp_path / "基础数据.xlsx", SONGHUAFEN)
    status, answer = upload(admin, "基础数据.xlsx", sheet, "工信局审核：补入松花粉")
    assert status == 200, answer
    assert (answer["info"]["version"], answer["previous_version"]) == (2, 1) and answer["tables"] == TABLES
    assert STORED in shown(admin)["tables"]["products"]

    # the JSON form as `ruralpost data export` writes it: the tables it holds replace the current ones
    status, _, raw = admin.request("GET", "/console/api/data/export?format=json")
    data = json.loads(raw)
    assert data["version"] == 2
    added = {"name": "静乐好物小程序", "aliases": ["静乐好物"]}
    only_platforms = {"version": 2, "platforms": [*data["platforms"], added]}
    status, answer = upload(admin, "platforms.json", json.dumps(only_platforms, ensure_ascii=False).encode())
    assert status == 200 and answer["info"]["version"] == 3 and answer["tables"] == ["platforms"], answer
    now = shown(admin)
    assert {**added, "e_commerce": True} in now["tables"]["platforms"] and STORED in now["tables"][
        "products"
    ]  # the rest stays
    assert versions(admin) == [3, 2, 1]
    assert http_secured.runtime.rules.current.reference.platform("静乐好物") is not None

    # a file that is no reference data, or breaks a check: the reason, and version 3 stays
    duplicate = json.dumps({"products": [{"name": "苹果"}, {"name": "苹果"}]}).encode()
    for name, body, code, said in (
        ("data.csv", b"name\n", 415, "不支持的文件类型"),
        ("data.json", b"{not json", 400, "不是有效的 JSON"),
        ("data.json", b"[]", 400, "以表名为键的对象"),
        ("data.json", json.dumps({"fruit": []}).encode(), 400, "fruit"),
        ("data.json", duplicate, 400, "苹果"),
        ("data.xlsx", b"not a workbook", 400, "不是有效的 Excel 文件"),
    ):
        status, answer = upload(admin, name, body)
        text = json.dumps(answer, ensure_ascii=False)
        assert status == code and said in text, (name, text)
        assert "upload." not in text and str(tmp_path) not in text  # the user's file name, never the server's
    status, answer = upload(admin, "data.json", exported, reason="")
    assert status == 400 and answer["error"]["violations"][0]["field"] == "reason"
    assert versions(admin) == [3, 2, 1]
    console = tmp_path / "console"
    assert not [p for p in console.iterdir() if p.is_dir() and p.name != "sessions"]  # no upload is kept


def test_a_hostile_workbook_is_refused_as_station_uploads_are(http_secured: Running, tmp_path: Path) -> None:
    admin = logged_in(http_secured, "admin")
    status, _, exported = admin.request("GET", "/console/api/data/export?format=xlsx")
    source = tmp_path / "export.xlsx"
    source.write_bytes(exported)
    # the roster's last row numbered 20,000,000: stopped at the row limit, not read as blank rows
    far = rewritten(source, tmp_path / "far.xlsx", renumbered(source, 3, 20_000_000)).read_bytes()
    status, answer = upload(admin, "far.xlsx", far)
    assert status == 413 and "20,000" in answer["error"]["message"], answer
    # a part squeezed like a zip bomb: refused from the zip directory, before a byte is unzipped
    bomb = rewritten(source, tmp_path / "bomb.xlsx", extra={"xl/media/bomb.bin": b"\0" * (8 * 1024 * 1024)})
    status, answer = upload(admin, "bomb.xlsx", bomb.read_bytes())
    assert status == 413 and "xl/media/bomb.bin" in answer["error"]["message"], answer
    assert versions(admin) == [1]


@pytest.fixture
def small_uploads(tmp_path: Path, auth_file: Path) -> Iterator[Running]:
    config = http_config(tmp_path, "small.db", auth_file=auth_file, max_upload_bytes=32 * 1024)
    with running(config) as r:
        yield r


def test_an_upload_over_the_console_limit_is_refused(small_uploads: Running) -> None:
    admin = logged_in(small_uploads, "admin")
    status, _, exported = admin.request("GET", "/console/api/data/export?format=json")
    assert status == 200 and len(exported) > 32 * 1024  # the whole catalogue is larger than this server takes
    status, answer = upload(admin, "data.json", exported)
    assert status == 413 and "文件太大" in answer["error"]["message"]
    assert versions(admin) == [1]
