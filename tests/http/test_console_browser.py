"""The web console in a real browser (Playwright driving Debian's Chromium) against a real server
with an auth file: what an inspector, an operator and an approver do, and what a wrong token or an
expired login gets. Every test leaves screenshots of its pages in artifacts/screenshots/
(tests/http/browser.py), for a person to look at and for CI to keep."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from google.protobuf import json_format

from ruralpost.clients.sheets import template
from ruralpost.clients.sheets.readers import write_table
from ruralpost.service.config import Config
from ruralpost.service.golden import cases, plans
from ruralpost.service.server import Running, running
from tests.backends import decisions
from tests.http.browser import screenshot
from tests.http.jsondoor import unary
from tests.support import EXAMPLES, TOKENS

pytestmark = pytest.mark.slow  # Chromium

AREA = 19  # the area column of the station template


def stations_xlsx(path: Path) -> Path:
    """The template's two example stations; the township station's 8 m² fails STN-AREA-TOWNSHIP."""
    header = template.headers("stations", "both")
    rows = [list(r) for r in template.examples("stations")[:2]]
    assert "area_m2" in header[AREA]
    rows[0][AREA] = "8"
    write_table(path, header, rows)
    return path


def open_console(context: Any, server: Running, who: str | None) -> Any:
    page = context.new_page()
    page.goto(f"http://127.0.0.1:{server.http_port}/")
    if who is not None:
        page.fill("#token", TOKENS[who])
        page.click("#login-form button[type=submit]")
        page.wait_for_selector("#tabs:not([hidden])")
    return page


def test_an_xlsx_with_a_failing_row_shows_fail_and_comes_back_with_verdict_columns(
    http_secured: Running, browser_context: Any, tmp_path: Path
) -> None:
    page = open_console(browser_context, http_secured, "op")
    assert page.is_visible("button[data-tab=check]") and not page.is_visible("button[data-tab=progress]")
    page.set_input_files("#check-file", str(stations_xlsx(tmp_path / "我的站点.xlsx")))
    page.fill("#check-as-of", "2023-07-15")
    page.click("#check-go")
    page.wait_for_selector("#check-result:not([hidden])")

    failing = page.locator("#check-items tr[data-row='2']")
    assert failing.get_attribute("data-outcome") == "FAIL"
    assert "不通过 FAIL" in failing.locator(".badge").inner_text()
    reason = failing.locator(".reason[data-rule='STN-AREA-TOWNSHIP']")
    text = reason.inner_text()
    assert "乡镇快递综合服务站面积8平方米" in text  # the message with the actual value
    assert "四(1)" in text and "≥ 10" in text and "8" in text  # clause, expected (in words), actual
    assert ">=" not in text
    assert "我的站点.xlsx" in page.inner_text("#check-file-name")  # results name their file
    assert "将营业面积扩大到10平方米以上" in text  # remedy
    assert page.locator("#check-items tr[data-row='3']").get_attribute("data-outcome") == "PASS_WITH_WARNINGS"

    with page.expect_download() as download:
        page.click("#download-annotated")
    assert download.value.suggested_filename == "我的站点-核验结果.xlsx"
    saved = tmp_path / "back.xlsx"
    download.value.save_as(saved)
    sheet = openpyxl.load_workbook(saved).worksheets[0]
    header = [c.value for c in sheet[1]]
    assert header[: len(template.headers("stations", "both"))] == template.headers("stations", "both")  # theirs
    outcome = header.index("核验结果/outcome")
    rules = header.index("规则/rule_ids")
    assert sheet.cell(row=2, column=outcome + 1).value == "不通过 FAIL"
    assert "STN-AREA-TOWNSHIP" in sheet.cell(row=2, column=rules + 1).value
    assert sheet.cell(row=3, column=outcome + 1).value == "通过（有提醒） PASS WITH WARNINGS"

    with page.expect_download() as download:
        page.click("#download-csv")
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8-sig"))))
    assert rows[0][0] == "行号/row" and rows[1][4] == "FAIL"

    with page.context.expect_page() as report_page:
        page.click("#download-report")
    report = report_page.value
    report.wait_for_load_state()
    assert "站点核验报告" in report.title() and "STN-AREA-TOWNSHIP" in report.content()


def test_registering_says_how_many_stations_were_registered(
    http_secured: Running, browser_context: Any, tmp_path: Path
) -> None:
    page = open_console(browser_context, http_secured, "admin")
    page.set_input_files("#check-file", str(stations_xlsx(tmp_path / "登记.xlsx")))
    page.fill("#check-as-of", "2023-07-15")
    page.check("#check-register")
    page.click("#check-go")
    page.wait_for_selector("#check-result:not([hidden])")
    assert "已登记到站点名册" in page.inner_text("#check-registered")
    assert page.inner_text("#check-registered b") == "2"
    assert len(http_secured.runtime.store.stations()) == 2
    assert "登记.xlsx" in page.inner_text("#check-file-name")


def test_the_july_progress_page_shows_the_townships_behind(http_secured: Running, browser_context: Any) -> None:
    programme = http_secured.runtime.rules.current.book.programme
    plan = {"杜家村镇": {"station": None, "points": 0}, "丰润镇": {"points": 1}}
    other = [{"kind": "village_point", "township": "康家会镇", "operator": "忻州某快递有限公司", "stationId": "X-1"}]
    for station in plans.stations(programme, plan, other):
        request = {"station": json_format.MessageToDict(station), "asOf": "2023-06-15", "register": True}
        assert unary(http_secured.http_port, "StationService/CheckStation", request, who="admin").code == "ok"
    page = open_console(browser_context, http_secured, "reader")
    assert not page.is_visible("button[data-tab=check]")  # a reader sees reports only
    page.click("button[data-tab=progress]")
    page.fill("#progress-as-of", "2023-07-31")
    page.click("#progress-form button[type=submit]")
    page.wait_for_selector("#progress-result:not([hidden])")
    behind = page.inner_text("#progress-behind")
    assert "杜家村镇" in behind and "丰润镇" in behind and "康家会镇" not in behind
    assert page.locator("#progress-townships tr[data-township='杜家村镇']").get_attribute("data-outcome") == "FAIL"
    assert page.locator("#progress-townships tr[data-township='康家会镇']").get_attribute("data-outcome") == "PASS"
    assert page.locator("#progress-chart svg#township-chart").count() == 1
    # each township's reasons are folded: the page starts short
    assert page.locator("#progress-townships details.fold").count() >= 2
    assert page.locator("#progress-townships details.fold[open]").count() == 0
    assert "QTA-NOTE-52" in page.inner_text("#progress-notes")  # the 52-against-48 note
    county = page.inner_text("#progress-county")
    assert "11/12" in county and "45/48" in county and "要求比例" in county
    excluded = page.inner_text("#progress-excluded")  # not counted, with why
    assert "QTA-EXCLUDED" in excluded and "X-1" in excluded and "忻州某快递有限公司" in excluded
    page.emulate_media(media="print")  # printable: the report without the controls
    assert page.is_hidden("#tabs") and page.is_hidden("#progress-form") and page.is_visible("#progress-townships")
    with page.context.expect_page() as printable:
        page.emulate_media(media="screen")
        page.click("#progress-print")
    printable.value.wait_for_load_state()
    assert "建设进度报告" in printable.value.title() and "杜家村镇" in printable.value.content()


HUB_SELECTS = {"unifiedWarehousing": "#hub-unified-warehousing", "sorting": "#hub-sorting", "delivery": "#hub-delivery"}


def enter_hub(page: Any, as_of: str, hub: dict[str, Any] | None) -> None:
    """Fills 进度's hub form as a person would (brands separated by 、) and shows the report."""
    hub = hub or {}
    page.fill("#progress-as-of", as_of)
    page.fill("#hub-name", hub.get("name") or "")
    page.fill("#hub-brands", "、".join(hub.get("brands") or []))
    for field, select in HUB_SELECTS.items():
        said = hub.get(field)
        page.select_option(select, "" if said is None else "true" if said else "false")
    page.fill("#hub-established-on", str(hub.get("establishedOn") or ""))
    with page.expect_response(lambda r: r.url.endswith("/console/api/progress")):
        page.click("#progress-form button[type=submit]")  # the spinner shows before the call is sent
    page.wait_for_selector("#progress-progress", state="hidden")  # and hides once the answer is shown
    assert page.is_hidden("#progress-error"), page.inner_text("#progress-error")


def printed(page: Any, shot: str) -> str:
    """The text of 进度's printable report, opened as a person would, kept as screenshot `shot`."""
    with page.context.expect_page() as printable:
        page.click("#progress-print")
    report = printable.value
    report.wait_for_load_state()
    screenshot(report, shot)
    text: str = report.inner_text("body")
    report.close()
    return text


def test_the_hub_entered_on_progress_is_judged_as_its_golden_cases_say(
    http_secured: Running, browser_context: Any
) -> None:
    """Every golden case of the hub pack, typed into the form: the outcome and the rules that
    fire on the page are the case's; the printable report judges the same hub."""
    hub_cases = [c for c in cases.load_cases(http_secured.runtime.rules.current.book.root) if c.pack == "hub"]
    assert len(hub_cases) >= 10
    page = open_console(browser_context, http_secured, "reader")
    page.click("button[data-tab=progress]")
    for case in hub_cases:
        hub = json.loads(json.dumps(case.input.get("hub"), default=str))  # YAML dates as YYYY-MM-DD
        enter_hub(page, str(case.input["as_of"]), hub)
        outcome = page.locator("#progress-hub-outcome .badge").get_attribute("data-outcome")
        fired = tuple(page.locator("#progress-hub .reason").evaluate_all("rs => rs.map(r => r.dataset.rule)"))
        assert ("OUTCOME_" + str(outcome), fired) == (case.outcome, case.rule_ids), case.name
        entered = page.inner_text("#progress-hub")
        if hub is None:
            assert "未填写县级共配中心" in entered
        else:
            assert "未填写县级共配中心" not in entered
            for brand in hub.get("brands") or []:
                assert brand in entered, case.name

    # two brands and a date, as the README's example hub: it passes, and the print says so
    enter_hub(page, "2023-07-15", json.loads((EXAMPLES / "hub.json").read_text(encoding="utf-8")))
    assert page.locator("#progress-hub-outcome .badge").get_attribute("data-outcome") == "PASS"
    screenshot(page, "hub-pass")
    text = printed(page, "hub-pass-report")
    assert "中国邮政、中通快递" in text and "2023-06-20" in text and "HUB-MISSING" not in text

    # one brand under two names, finished late: both rules fail, on the page and in the print
    enter_hub(page, "2023-07-15", {"brands": ["中国邮政", "EMS"], "establishedOn": "2023-07-10", "sorting": True})
    fired = page.locator("#progress-hub .reason").evaluate_all("rs => rs.map(r => r.dataset.rule)")
    assert {"HUB-BRANDS", "HUB-DEADLINE"} <= set(fired)
    assert page.locator("#progress-hub-outcome .badge").get_attribute("data-outcome") == "FAIL"
    assert "否" not in page.inner_text("#progress-hub dl.entered")  # not given is not "no"
    page.locator("#progress-hub .reason[data-rule='HUB-BRANDS']").scroll_into_view_if_needed()
    screenshot(page, "hub-fail")
    text = printed(page, "hub-fail-report")
    assert "HUB-BRANDS" in text and "HUB-DEADLINE" in text and "中国邮政、EMS" in text

    # a bad value is the service's INVALID_ARGUMENT with the field named, and the report stays
    page.fill("#hub-brands", "邮" * 300)
    page.click("#progress-form button[type=submit]")
    page.wait_for_selector("#progress-error:not([hidden])")
    assert "hub.brands[0]" in page.inner_text("#progress-error")
    assert page.is_visible("#progress-result")


def test_a_claim_dry_run_then_a_confirmed_commit_by_an_approver(http_secured: Running, browser_context: Any) -> None:
    operator = open_console(browser_context, http_secured, "op")
    operator.click("button[data-tab=claim]")
    operator.set_input_files("#claim-file", str(EXAMPLES / "claim-upbound.json"))
    operator.click("#claim-form button[type=submit]")
    operator.wait_for_selector("#claim-result:not([hidden])")
    assert "部分符合 PARTIALLY ELIGIBLE" in operator.inner_text("#claim-outcome")
    assert operator.is_hidden("#claim-commit-area")  # an operator dry-runs only
    operator.click("#logout")
    operator.wait_for_selector("#login:not([hidden])")
    operator.close()

    page = open_console(browser_context, http_secured, "approver")
    page.click("button[data-tab=claim]")
    page.set_input_files("#claim-file", str(EXAMPLES / "claim-upbound.json"))
    page.click("#claim-form button[type=submit]")
    page.wait_for_selector("#claim-result:not([hidden])")
    assert "¥3.00" in page.inner_text("#claim-summary") and "试算" in page.inner_text("#claim-summary")
    assert "品类“手机壳”未填写或经审核不属于农副产品（SUB-UP-AGRI）" in page.inner_text("#claim-rejections")
    page.click("#claim-commit")
    confirm = page.inner_text("#claim-confirm")
    assert "SXYGL-UP-2023-07-0001" in confirm and "¥3.00" in confirm and "不可撤销" in confirm
    assert "暂定补贴标准" in confirm and "accepts them" in confirm  # the rates are provisional
    assert not any(row.method.endswith(":commit") for row in decisions(http_secured.runtime.store))  # not yet
    page.click("#claim-confirm-yes")
    page.wait_for_selector("#claim-banner:not([hidden])")
    assert "已入账" in page.inner_text("#claim-banner")
    assert "已入账" in page.inner_text("#claim-summary") and page.is_hidden("#claim-commit-area")

    # the same claim again: the stored answer, nothing paid twice
    page.set_input_files("#claim-file", str(EXAMPLES / "claim-upbound.json"))
    page.click("#claim-form button[type=submit]")
    page.wait_for_selector("#claim-banner:has-text('存档')")
    assert "¥3.00" in page.inner_text("#claim-summary")
    methods = [row.method for row in decisions(http_secured.runtime.store)]
    assert methods.count("EvaluateClaim:commit") == 1 and "EvaluateClaim:stored" in methods


def test_the_rule_catalogue_is_searchable(http_secured: Running, browser_context: Any) -> None:
    page = open_console(browser_context, http_secured, "reader")
    page.click("button[data-tab=rules]")
    page.wait_for_selector("#rules-body tr[data-rule='STN-AREA-TOWNSHIP']")
    every = page.locator("#rules-body tr").count()
    assert every == len(http_secured.runtime.rules.current.book.rules)
    page.fill("#rules-search", "面积 四(1)")  # words of the description and the clause
    shown = sorted(page.locator("#rules-body tr").evaluate_all("rows => rows.map(r => r.dataset.rule)"))
    assert shown == ["STN-AREA-TOWNSHIP", "STN-AREA-VILLAGE", "STN-AREA-VOLUME"]  # rev. 2 added the last
    row = page.inner_text("#rules-body tr[data-rule='STN-AREA-TOWNSHIP']")
    assert "错误 ERROR" in row and "四(1)" in row and "方案附件3" in row
    assert "系统设定" in page.inner_text("#rules-body tr[data-rule='STN-AREA-VOLUME']")  # the basis column
    assert "站点" in row and "— ~ —" not in row and "station" not in row.split()
    assert f"3 / {every}" in page.inner_text("#rules-count")
    page.fill("#rules-search", "")
    hub = page.inner_text("#rules-body tr[data-rule='HUB-BRANDS']")
    assert "县级共配中心" in hub and "county_hub" not in hub
    assert (
        page.locator("#rules-body tr[data-rule='STN-SIGN-CODE-DUPLICATE'] td").first.evaluate(
            "td => getComputedStyle(td).whiteSpace"
        )
        == "nowrap"
    )  # rule ids do not break at hyphens
    assert f"{every} / {every}" in page.inner_text("#rules-count")  # the search emptied: every rule again


def test_a_wrong_token_is_refused(http_secured: Running, browser_context: Any) -> None:
    page = open_console(browser_context, http_secured, None)
    page.fill("#token", "not-a-token")
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#login-error:not([hidden])")
    assert "令牌不正确" in page.inner_text("#login-error") and "unknown token" in page.inner_text("#login-error")
    assert page.is_hidden("#tabs")


def test_bad_files_get_a_clear_message_and_nothing_else_is_lost(
    http_secured: Running, browser_context: Any, tmp_path: Path
) -> None:
    page = open_console(browser_context, http_secured, "op")
    page.set_input_files("#check-file", str(stations_xlsx(tmp_path / "ok.xlsx")))
    page.click("#check-go")
    page.wait_for_selector("#check-result:not([hidden])")
    page.set_input_files("#check-file", {"name": "scan.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4"})
    page.click("#check-go")
    error = page.inner_text("#check-error")
    assert "不支持的文件类型" in error and "unsupported file type" in error
    big = tmp_path / "huge.csv"
    with big.open("wb") as f:
        f.truncate(50 * 1024 * 1024)
    page.set_input_files("#check-file", str(big))
    page.click("#check-go")
    assert "文件太大" in page.inner_text("#check-error") and "too large" in page.inner_text("#check-error")
    assert page.is_visible("#check-result") and page.locator("#check-items tr").count() == 2  # still there
    # a file the readers cannot read: the server says why
    page.set_input_files(
        "#check-file", {"name": "stations.csv", "mimeType": "text/csv", "buffer": b"colour,size\nred,1\n"}
    )
    page.click("#check-go")
    page.wait_for_selector("#check-error:has-text('无法读取')")
    assert page.is_hidden("#check-result")  # the refused file does not show the last file's results


@pytest.fixture
def short_sessions(tmp_path: Path, auth_file: Path) -> Iterator[Running]:
    config = Config(
        listen="127.0.0.1:0",
        http_listen="127.0.0.1:0",
        db=str(tmp_path / "short.db"),
        auth_file=auth_file,
        console_dir=tmp_path / "console",
        session_seconds=5,
        grace_seconds=1,
    )
    with running(config) as r:
        yield r


def test_an_expired_login_asks_again_and_keeps_the_page(short_sessions: Running, browser_context: Any) -> None:
    page = open_console(browser_context, short_sessions, "reader")
    page.click("button[data-tab=progress]")
    page.fill("#progress-as-of", "2023-07-31")
    page.click("#progress-form button[type=submit]")
    page.wait_for_selector("#progress-result:not([hidden])")
    time.sleep(5.5)
    page.fill("#progress-as-of", "2023-11-30")
    page.click("#progress-form button[type=submit]")
    page.wait_for_selector("#login:not([hidden])")
    assert "登录已过期" in page.inner_text("#login-why") and "expired" in page.inner_text("#login-why")
    assert page.is_visible("#progress-result")  # the July report is still on the page
    assert page.input_value("#progress-as-of") == "2023-11-30"
    page.fill("#token", TOKENS["reader"])
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#login", state="hidden")
    page.click("#progress-form button[type=submit]")
    page.wait_for_selector("#progress-county:has-text('2023-11-30')")


def test_the_reference_data_page_searches_shows_history_and_admins_edit_and_upload(
    http_secured: Running, browser_context: Any, tmp_path: Path
) -> None:
    """基础数据: a reader searches the tables and cannot change them; an admin adds a platform in
    the editor, is told why a change with a duplicate name is refused (the version stays), uploads
    the downloaded workbook with a product added, and opens an older version read-only."""
    reader = open_console(browser_context, http_secured, "reader")
    reader.click("button[data-tab=data]")
    reader.wait_for_selector("#data-body tr")
    assert "第 1 版" in reader.inner_text("#data-version")
    reader.click("#data-tables button[data-table=products]")
    every = reader.locator("#data-body tr").count()
    assert every > 150
    reader.fill("#data-search", "薄皮")  # an alias: the entry it names is found
    assert reader.locator("#data-body tr").evaluate_all("rows => rows.map(r => r.dataset.name)") == ["核桃"]
    assert "薄皮核桃" in reader.inner_text("#data-body tr[data-name='核桃']")
    assert f"1 / {every}" in reader.inner_text("#data-count")
    assert reader.is_hidden("#data-edit-area") and reader.is_hidden("#data-upload-area")  # reading only
    assert "随程序包提供的第一版" in reader.inner_text("#data-history tr[data-version='1']")
    reader.click("#logout")
    reader.wait_for_selector("#login:not([hidden])")
    reader.close()

    page = open_console(browser_context, http_secured, "admin")
    page.click("button[data-tab=data]")
    page.wait_for_selector("#data-body tr")
    page.click("#data-tables button[data-table=platforms]")
    page.click("#data-edit")
    page.click("#data-add-row")
    added = page.locator("#data-body tr").last
    added.locator("input[data-key=name]").fill("静乐好物小程序")
    added.locator("input[data-key=aliases]").fill("静乐好物、好物小程序")
    page.fill("#data-reason", "工信局审核：县里的小程序商城")
    added.scroll_into_view_if_needed()
    screenshot(page, "data-page-editing")
    page.click("#data-save")
    page.wait_for_selector("#data-done:not([hidden])")
    assert "第 1 版 → 第 2 版" in page.inner_text("#data-done")
    assert "第 2 版" in page.inner_text("#data-version") and "县里的小程序商城" in page.inner_text("#data-version")
    newest = page.inner_text("#data-history tr[data-version='2']")
    assert "ops-admin" in newest and "工信局审核：县里的小程序商城" in newest
    page.fill("#data-search", "好物")
    assert page.locator("#data-body tr").evaluate_all("rows => rows.map(r => r.dataset.name)") == ["静乐好物小程序"]
    assert http_secured.runtime.rules.current.reference.platform("好物小程序") is not None

    # a name of another entry: the server's reason on the page, version 2 still in use, the edit kept
    page.fill("#data-search", "")
    page.click("#data-tables button[data-table=products]")
    page.click("#data-edit")
    page.click("#data-add-row")
    page.locator("#data-body tr").last.locator("input[data-key=name]").fill("核桃")
    page.fill("#data-reason", "重复的名称")
    page.click("#data-save")
    page.wait_for_selector("#data-error:not([hidden])")
    error = page.inner_text("#data-error")
    assert "仍为第 2 版" in error and "核桃" in error, error
    assert page.is_visible("#data-save-form") and "第 2 版" in page.inner_text("#data-version-number")
    page.click("#data-cancel")
    assert http_secured.runtime.rules.reference_number == 2

    # the downloaded workbook, a product added in it, uploaded with a reason
    with page.expect_download() as download:
        page.click("#data-export-xlsx")
    saved = tmp_path / "基础数据.xlsx"
    download.value.save_as(saved)
    book = openpyxl.load_workbook(saved)
    sheet = book["products"]
    header = [c.value for c in sheet[1]]
    row = {"name": "松花粉", "aliases": '["松花粉末"]', "class": "林产品采集品", "section": "02 林产品"}
    sheet.append([row.get(str(key), "") for key in header])
    book.save(saved)
    page.set_input_files("#data-file", str(saved))
    page.fill("#data-upload-reason", "工信局审核：松花粉为林产品")
    page.click("#data-upload-go")
    page.wait_for_selector("#data-done:has-text('第 3 版')")
    assert "基础数据.xlsx" in page.inner_text("#data-done") and "第 2 版 → 第 3 版" in page.inner_text("#data-done")
    page.click("#data-tables button[data-table=products]")
    page.fill("#data-search", "松花粉末")
    assert page.locator("#data-body tr").evaluate_all("rows => rows.map(r => r.dataset.name)") == ["松花粉"]
    page.fill("#data-search", "")
    page.click("#data-tables button[data-table=platforms]")
    page.locator("#data-body tr[data-name='静乐好物小程序']").scroll_into_view_if_needed()
    screenshot(page, "data-page")

    # an older version, read-only: no editing, not the later platform
    page.click("#data-history button[data-view='1']")
    page.wait_for_selector("#data-viewing:not([hidden])")
    assert "正在查看第 1 版" in page.inner_text("#data-viewing")
    assert page.is_hidden("#data-edit-area") and page.is_hidden("#data-upload-area")
    assert page.locator("#data-body tr[data-name='静乐好物小程序']").count() == 0
    screenshot(page, "data-page-version-1")
    page.click("#data-back")
    page.wait_for_selector("#data-viewing", state="hidden")
    assert page.locator("#data-body tr[data-name='静乐好物小程序']").count() == 1
