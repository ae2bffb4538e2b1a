"""`ruralpost claim` end to end against a real server and its claim ledger (SQLite file): parcel
lists (CSV, XLSX) with the claim fields on the command line, JSON claims, JSON Lines through
EvaluateClaims; dry run, commit, idempotent repeat, ALREADY_EXISTS; table, CSV and JSON output."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

import openpyxl  # type: ignore[import-untyped, unused-ignore]
import pytest

from ruralpost.cli import main
from ruralpost.clients.sheets import template
from ruralpost.service.server import Running
from tests.backends import decisions
from tests.support import ROOT, register_examples

OPERATOR = "山西壹公里信息科技有限公司"
UPBOUND = ["--programme", "jingle-2023", "--operator", OPERATOR, "--kind", "上行", "--period", "2023-07"]
DOWNBOUND = [
    "--programme",
    "jingle-2023",
    "--operator",
    OPERATOR,
    "--kind",
    "DOWNBOUND_PARCEL",
    "--period",
    "2023-08",
    "--township",
    "康家会镇",
]
PARCEL_HEADER = template.headers("parcels", "en")
# waybill, shipped_on, product_category, platform, origin_county, destination_county,
# destination_township, destination_village, station_code, delivered_to_address, fee_charged_fen
GOOD_UPBOUND = [
    ["SF1402600000101", "2023-07-03", "藜麦", "拼多多", "静乐县", "太原市小店区", "", "", "", "", ""],
    ["YT7302600000102", "2023-07-08", "胡麻油", "淘宝", "静乐县", "北京市朝阳区", "", "", "", "", ""],
    ["JT0002600000103", "2023-07-12", "马铃薯", "京东", "静乐县", "广东省深圳市南山区", "", "", "", "", ""],
]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def claim(server: Running, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    return run(capsys, "claim", *argv, "--server", f"127.0.0.1:{server.port}")


def claim_json(server: Running, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code, out, _ = claim(server, capsys, *argv, "--format", "json")
    data: dict[str, Any] = json.loads(out)
    return code, data


def write_csv(path: Path, rows: list[list[Any]], header: list[str] = PARCEL_HEADER) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_parcel_csv_dry_run_commit_repeat_and_conflict(
    server: Running, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    parcels = write_csv(tmp_path / "parcels.csv", GOOD_UPBOUND)
    fields = ["--claim-id", "UP-2023-07-A", *UPBOUND, "--declared-pieces", "3", "--requested-amount-fen", "300"]

    code, out, err = claim(server, capsys, str(parcels), *fields)
    assert code == 0, err
    assert "补贴申报 Claim UP-2023-07-A：符合补贴条件 ELIGIBLE（试算 dry run，未提交）" in out
    assert "符合 eligible 3 件，剔除 rejected 0 件，核定金额 approved ¥3.00" in out
    assert err == ""

    code, dry = claim_json(server, capsys, str(parcels), *fields)
    [result] = dry["results"]
    assert code == 0
    assert (
        result["outcome"],
        result["eligible_pieces"],
        result["rejected_pieces"],
        result["approved_amount_fen"],
        result["committed"],
    ) == ("CLAIM_OUTCOME_ELIGIBLE", 3, 0, 300, False)
    assert [r["rule_id"] for r in result["reasons"]] == ["SUB-RATES-PROVISIONAL"]
    assert result["rejections"] == [] and result["tallies"] == []

    # The shipped rates are provisional: a commit is refused until the approver accepts them.
    code, refused = claim_json(server, capsys, str(parcels), *fields, "--commit")
    assert code != 0 and "FAILED_PRECONDITION" in json.dumps(refused, ensure_ascii=False)
    accept = ["--commit", "--accept-provisional-rates"]
    code, out, _ = claim(server, capsys, str(parcels), *fields, *accept, "--format", "json")
    assert code == 0
    committed = json.loads(out)
    assert committed["results"][0]["committed"] is True
    assert committed["results"][0]["approved_amount_fen"] == 300

    # The same claim again: the stored answer, unchanged (a retried commit cannot pay twice).
    code, again, _ = claim(server, capsys, str(parcels), *fields, *accept, "--format", "json")
    assert code == 0 and again == out
    code, out, _ = claim(server, capsys, str(parcels), *fields)  # a dry run too
    assert code == 0 and "符合补贴条件 ELIGIBLE（已提交 committed）" in out

    # Another claim listing the same waybills: all paid already, nothing approved.
    code, other = claim_json(server, capsys, str(parcels), *fields[:1], "UP-2023-07-B", *fields[2:])
    assert code == 1
    [result] = other["results"]
    assert (result["outcome"], result["eligible_pieces"], result["approved_amount_fen"]) == (
        "CLAIM_OUTCOME_INELIGIBLE",
        0,
        0,
    )
    assert [(j["row"], j["index"], j["rule_ids"]) for j in result["rejections"]] == [
        (2, 0, ["SUB-DUP-LEDGER"]),
        (3, 1, ["SUB-DUP-LEDGER"]),
        (4, 2, ["SUB-DUP-LEDGER"]),
    ]
    assert result["tallies"] == [{"rule_id": "SUB-DUP-LEDGER", "count": 3}]

    # The committed id with other contents is refused (ALREADY_EXISTS): exit 1, dry run or commit.
    changed = [*fields[:-1], "200"]
    for extra in ([], ["--commit"]):
        code, out, err = claim(server, capsys, str(parcels), *changed, *extra)
        assert code == 1, err
        assert "补贴申报 Claim UP-2023-07-A：无法评估 not evaluated ALREADY_EXISTS" in out
    code, refused = claim_json(server, capsys, str(parcels), *changed, "--commit")
    assert code == 1
    [entry] = refused["results"]
    assert entry["claim_id"] == "UP-2023-07-A" and entry["error"].startswith("ALREADY_EXISTS: ")
    methods = [r.method for r in decisions(server.runtime.store, limit=100)]
    assert methods.count("EvaluateClaim:commit") == 1


def test_downbound_parcels_with_bad_rows_as_csv_records(
    server: Running, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Fee in fen charged to the recipient, delivery to the address, bad rows named by row number."""
    register_examples(server.port)  # the stations C0031, C0032, XZ0004 of 康家会镇 (SUB-DOWN-STATION)
    rows = [
        ["ZTO780000200001", "2023-08-02", "", "", "", "", "康家会镇", "康家会村", "C0031", "是", "0"],  # 2 ok, 50
        ["ZTO780000200002", "2023-08-03", "", "", "", "", "康家会镇", "", "XZ0004", "是", ""],  # 3 ok, 30
        ["ZTO780000200003", "2023-08-04", "", "", "", "", "康家会镇", "", "C0032", "是", "3.00"],  # 4 yuan?
        ["ZTO780000200004", "2023-08-05", "", "", "", "", "康家会镇", "", "C0031", "", ""],  # 5 no report
        ["ZTO780000200005", "2023-08-06", "", "", "", "", "康家会镇", "", "C0032", "是", "200"],  # 6 fee
        ["ZTO780000200006", "八月七日", "", "", "", "", "康家会镇", "", "C0031", "是", ""],  # 7 date
        ["ZTO780000200007", "2023-08-08", "", "", "", "", "康家会镇", "", "XZ0004", "否", ""],  # 8 not home
    ]
    parcels = write_csv(tmp_path / "down.csv", rows, template.headers("parcels", "both"))
    out_file = tmp_path / "result.csv"
    code, out, err = claim(
        server,
        capsys,
        str(parcels),
        "--claim-id",
        "DN-2023-08-KJH",
        *DOWNBOUND,
        "--declared-pieces",
        "5",
        "--requested-amount-fen",
        "80",
        "--format",
        "csv",
        "--out",
        str(out_file),
    )
    assert code == 1
    assert "第4行被排除 row 4 left out" in err and "第7行被排除 row 7 left out" in err
    with out_file.open(encoding="utf-8-sig", newline="") as f:  # a BOM, for Excel
        records = list(csv.DictReader(f))
    by_kind: dict[str, list[dict[str, str]]] = {}
    for r in records:
        by_kind.setdefault(r["记录/record"], []).append(r)
    [summary] = by_kind["claim"]
    assert (
        summary["结果/outcome"],
        summary["符合件数/eligible_pieces"],
        summary["剔除件数/rejected_pieces"],
        summary["核定金额（分）/approved_amount_fen"],
        summary["已提交/committed"],
        summary["规则/rule_ids"],
    ) == ("部分符合 PARTIALLY ELIGIBLE", "2", "3", "80", "false", "SUB-RATES-PROVISIONAL")
    assert [(t["规则/rule_ids"], t["件数/count"]) for t in by_kind["tally"]] == [
        ("SUB-DOWN-ADDRESS", "2"),
        ("SUB-DOWN-FEE", "1"),
    ]
    assert [
        (j["行号/row"], j["序号（从0起）/index"], j["运单号/waybill"], j["规则/rule_ids"]) for j in by_kind["rejection"]
    ] == [
        ("5", "2", "ZTO780000200004", "SUB-DOWN-ADDRESS"),
        ("6", "3", "ZTO780000200005", "SUB-DOWN-FEE"),
        ("8", "4", "ZTO780000200007", "SUB-DOWN-ADDRESS"),
    ]
    assert [(b["行号/row"], b["列/column"]) for b in by_kind["bad_row"]] == [
        ("4", "向收件人收费（分）/fee_charged_fen"),
        ("7", "寄出日期/shipped_on"),
    ]
    assert "1元=100分" in by_kind["bad_row"][0]["问题/problem"]
    assert all(r["申报编号/claim_id"] == "DN-2023-08-KJH" for r in records)
    # The file has the records; the terminal gets the table, rejections by row.
    assert "部分符合 PARTIALLY ELIGIBLE（试算 dry run，未提交）" in out
    assert "核定金额 approved ¥0.80" in out
    table_rows = [line.split()[:4] for line in out.splitlines() if line.startswith("第")]
    assert table_rows == [
        ["第5行", "ZTO780000200004", "SUB-DOWN-ADDRESS", "快件未按址投递或未报投递结果"],
        ["第6行", "ZTO780000200005", "SUB-DOWN-FEE", "向收件人额外收费2.00元"],
        ["第8行", "ZTO780000200007", "SUB-DOWN-ADDRESS", "快件未按址投递或未报投递结果"],
    ]
    assert "■ 被排除的行 Rows left out — 2" in out


def test_xlsx_parcel_list_with_excel_cells(server: Running, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "parcels.xlsx"
    template.write("parcels", path, lang="zh")  # row 2 upbound example, row 3 a downbound one
    book = openpyxl.load_workbook(path)
    sheet = book.worksheets[0]
    header = [c.value for c in sheet[1]]
    sheet.cell(row=2, column=header.index("寄出日期") + 1, value=dt.datetime(2023, 7, 3))
    sheet.append([773000000123, dt.datetime(2023, 7, 9), "小米", "抖音", "静乐县", "上海市浦东新区"])  # row 4
    sheet.append(
        ["YT7000000005", "2023-07-10", "藜麦", "淘宝", "静乐县", "太原市", None, None, None, None, -300]
    )  # row 5
    book.save(path)
    code, data = claim_json(
        server,
        capsys,
        str(path),
        "--claim-id",
        "UP-XLSX-1",
        *UPBOUND,
        "--declared-pieces",
        "3",
        "--requested-amount-fen",
        "200",
    )
    assert code == 1
    [result] = data["results"]
    assert (result["outcome"], result["eligible_pieces"], result["rejected_pieces"], result["approved_amount_fen"]) == (
        "CLAIM_OUTCOME_PARTIALLY_ELIGIBLE",
        2,
        1,
        200,
    )
    assert [(j["row"], j["waybill"], j["rule_ids"]) for j in result["rejections"]] == [
        (3, "ZT7000000002", ["SUB-UP-AGRI", "SUB-UP-PLATFORM", "SUB-UP-OUTSIDE", "SUB-UP-ORIGIN"])
    ]
    # 3 declared, 3 listed; 200 fen is right: only the provisional rates are said
    assert [r["rule_id"] for r in result["reasons"]] == ["SUB-RATES-PROVISIONAL"]
    assert data["bad_rows"] == [
        {"row": 5, "column": "向收件人收费（分）", "problem": "列“向收件人收费（分）”的值“-300”不能为负数"}
    ]


def test_json_claim_file_and_overrides(server: Running, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    example = ROOT / "examples" / "claim-upbound.json"
    code, out, err = claim(server, capsys, str(example))
    assert code == 1 and err == ""
    assert "补贴申报 Claim SXYGL-UP-2023-07-0001：部分符合 PARTIALLY ELIGIBLE（试算 dry run，未提交）" in out
    assert "符合 eligible 3 件，剔除 rejected 2 件，核定金额 approved ¥3.00" in out
    assert "SUB-AMOUNT" in out and "申报金额5.00元与按件核算金额3.00元不一致" in out
    assert [line.split() for line in out.splitlines() if line.startswith("第")] == [
        ["第4件", "ZTO780260000004", "SUB-UP-AGRI", "品类“手机壳”未填写或经审核不属于农副产品"],
        ["第5件", "SF1402600000001", "SUB-DUP-CLAIM", "运单号“SF1402600000001”在本申报中重复出现"],
    ]

    code, data = claim_json(server, capsys, str(example), "--requested-amount-fen", "300")
    [result] = data["results"]
    assert code == 1  # still only partially eligible
    assert [r["rule_id"] for r in result["reasons"]] == ["SUB-RATES-PROVISIONAL"]
    assert result["approved_amount_fen"] == 300
    assert [(j["index"], j["rule_ids"]) for j in result["rejections"]] == [(3, ["SUB-UP-AGRI"]), (4, ["SUB-DUP-CLAIM"])]
    assert all("row" not in j for j in result["rejections"])
    assert result["tallies"] == [{"rule_id": "SUB-UP-AGRI", "count": 1}, {"rule_id": "SUB-DUP-CLAIM", "count": 1}]

    # A file asking to commit is not committed without --commit, and says so.
    request = json.loads(example.read_text(encoding="utf-8"))
    request["commit"] = True
    path = tmp_path / "commit.json"
    path.write_text(json.dumps(request, ensure_ascii=False), encoding="utf-8")
    code, out, err = claim(server, capsys, str(path), "--format", "json")
    assert code == 1 and "--commit" in err and json.loads(out)["results"][0]["committed"] is False
    assert not [r for r in decisions(server.runtime.store, limit=100) if r.method.endswith(":commit")]

    # A bad claim field on the command line is a usage error (exit 2); a claim the server refuses
    # as a whole (INVALID_ARGUMENT) is reported with its field (exit 1).
    code, out, err = claim(server, capsys, str(example), "--period", "2023-13")
    assert code == 2 and out == "" and "YYYY-MM" in err
    request["claim"]["programme"] = "another-2023"
    path.write_text(json.dumps(request, ensure_ascii=False), encoding="utf-8")
    code, data = claim_json(server, capsys, str(path))
    assert code == 1
    assert data["results"][0]["error"].startswith("INVALID_ARGUMENT: claim.programme")


def claims_jsonl(path: Path, *claims: dict[str, Any], broken_at: int | None = None) -> Path:
    lines = [json.dumps(c, ensure_ascii=False) for c in claims]
    if broken_at is not None:
        lines.insert(broken_at, "{not json")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_json_lines_of_claims_through_evaluate_claims(
    server: Running, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    register_examples(server.port)  # the downbound example's stations (SUB-DOWN-STATION)
    upbound = json.loads((ROOT / "examples" / "claim-upbound.json").read_text(encoding="utf-8"))
    downbound = json.loads((ROOT / "examples" / "claim-downbound.json").read_text(encoding="utf-8"))["claim"]
    eligible = {
        **upbound["claim"],
        "claimId": "UP-ELIGIBLE",
        "parcels": upbound["claim"]["parcels"][:3],
        "declaredPieces": 3,
        "requestedAmountFen": "300",
    }
    path = claims_jsonl(tmp_path / "claims.jsonl", upbound, eligible, downbound, broken_at=2)
    code, data = claim_json(server, capsys, str(path))
    assert code == 1
    results = data["results"]
    assert [r["claim_id"] for r in results] == [
        "SXYGL-UP-2023-07-0001",
        "UP-ELIGIBLE",
        "#3",
        "SXYGL-DN-2023-08-KJH-0001",
    ]
    assert [(r.get("outcome"), r.get("approved_amount_fen")) for r in results] == [
        ("CLAIM_OUTCOME_PARTIALLY_ELIGIBLE", 300),
        ("CLAIM_OUTCOME_ELIGIBLE", 300),
        (None, None),
        ("CLAIM_OUTCOME_PARTIALLY_ELIGIBLE", 130),
    ]
    assert results[2]["error"].startswith("第3行") and "JSON" in results[2]["error"]
    assert [(j["index"], j["rule_ids"]) for j in results[3]["rejections"]] == [(2, ["SUB-DOWN-FEE"])]
    streamed = [r.subject_id for r in decisions(server.runtime.store, limit=100) if r.method == "EvaluateClaims"]
    assert sorted(streamed) == sorted(["SXYGL-UP-2023-07-0001", "UP-ELIGIBLE", "SXYGL-DN-2023-08-KJH-0001"])

    # Only eligible claims: exit 0. Committing them in one stream pays the shared waybills once.
    only = claims_jsonl(tmp_path / "eligible.jsonl", eligible)
    assert claim(server, capsys, str(only))[0] == 0
    both = claims_jsonl(tmp_path / "both.jsonl", upbound, eligible)
    code, out, _ = claim(server, capsys, str(both), "--commit", "--accept-provisional-rates", "--format", "csv")
    assert code == 1
    records = list(csv.DictReader(out.splitlines()))
    claims = [
        (r["申报编号/claim_id"], r["结果/outcome"], r["核定金额（分）/approved_amount_fen"], r["已提交/committed"])
        for r in records
        if r["记录/record"] == "claim"
    ]
    assert claims == [
        ("SXYGL-UP-2023-07-0001", "部分符合 PARTIALLY ELIGIBLE", "300", "true"),
        ("UP-ELIGIBLE", "不符合 INELIGIBLE", "0", "true"),
    ]
    assert [
        (r["申报编号/claim_id"], r["规则/rule_ids"], r["件数/count"]) for r in records if r["记录/record"] == "tally"
    ] == [
        ("SXYGL-UP-2023-07-0001", "SUB-UP-AGRI", "1"),
        ("SXYGL-UP-2023-07-0001", "SUB-DUP-CLAIM", "1"),
        ("UP-ELIGIBLE", "SUB-DUP-LEDGER", "3"),
    ]

    # One --claim-id for several claims would merge them: a usage error.
    code, out, err = claim(server, capsys, str(both), "--claim-id", "X")
    assert code == 2 and out == "" and "--claim-id" in err


def test_claim_usage_and_connection_errors_exit_2(
    server: Running, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    parcels = write_csv(tmp_path / "parcels.csv", GOOD_UPBOUND)
    code, out, err = claim(server, capsys, str(parcels), "--claim-id", "K", *UPBOUND[:-4], "--kind", "横向")
    assert code == 2 and out == "" and "bad claim field" in err
    assert claim(server, capsys, str(tmp_path / "none.csv"))[0] == 2
    (tmp_path / "claim.doc").write_text("{}", encoding="utf-8")
    code, _, err = claim(server, capsys, str(tmp_path / "claim.doc"))
    assert code == 2 and ".json" in err
    people = write_csv(tmp_path / "people.csv", [["张三", "123"]], ["姓名", "电话"])
    code, _, err = claim(server, capsys, str(people), "--claim-id", "K")
    assert code == 2 and "没有可识别" in err
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, out, err = run(
        capsys,
        "claim",
        str(parcels),
        "--claim-id",
        "K",
        *UPBOUND,
        "--server",
        f"127.0.0.1:{port}",
        "--attempts",
        "1",
        "--timeout",
        "5",
    )
    assert code == 2 and out == "" and err.startswith(f"ruralpost: 无法连接 127.0.0.1:{port}：请确认服务已启动")
