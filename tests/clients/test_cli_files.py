"""`ruralpost check` and `claim` end to end against a real server, with files as people save them:
GBK from Excel/WPS on Chinese Windows, UTF-16 "Unicode text", a BOM and CRLF, cells with line
breaks, the README's JSON examples, and stations or parcels in the proto's own JSON. The same
stations in any of these files get the same verdicts, and every row of the file is accounted for."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format

from ruralpost.cli import main
from ruralpost.clients.sheets import template
from ruralpost.service.server import Running
from ruralpost.v1 import claim_pb2, station_pb2
from tests.support import ROOT

AS_OF = "2023-07-15"
ENGLISH = template.headers("stations", "en")
# Names the rules do not know, so that the first 598 rows of a file can be pure ASCII.
ASCII = {
    "山西壹公里信息科技有限公司": "Yigongli Co",
    "康家会镇快递综合服务站": "Kangjiahui station",
    "康家会村快递便民服务点": "Kangjiahui point",
    "晋忻备2023-0104": "JX2023-0104",
    "静乐县": "Jingle",
    "康家会镇": "Kangjiahui",
    "康家会村": "Kangjiahui-cun",
    "农产品上行区": "farm",
    "待取件区": "pickup",
    "收寄区": "send",
    "收发区": "send-receive",
}
# What becomes of station i (see `station`), for stations in Chinese.
EXPECTED = {0: "PASS", 1: "PASS_WITH_WARNINGS", 2: "FAIL", 3: "INCOMPLETE", 4: "BAD_ROW"}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def check(server: Running, capsys: pytest.CaptureFixture[str], path: Path, *argv: str) -> tuple[int, str, str]:
    return run(capsys, "check", str(path), "--server", f"127.0.0.1:{server.port}", *argv)


def check_json(
    server: Running, capsys: pytest.CaptureFixture[str], path: Path, *argv: str
) -> tuple[int, dict[str, Any], str]:
    code, out, err = check(server, capsys, path, "--format", "json", *argv)
    data: dict[str, Any] = json.loads(out)
    return code, data, err


def verdicts(data: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    return [(i["station_id"], i["outcome"], [r["rule_id"] for r in i["reasons"]]) for i in data["items"]]


def station(i: int, chinese: bool = True) -> station_pb2.Station:
    """The template's examples, varied by i % 5: a township station (PASS), a village point (PASS
    with warnings), a township station too small (FAIL), a village point not saying whether its
    premises are fixed (INCOMPLETE); 4 is written with an unreadable area (BAD_ROW, see `flat`)."""
    kind = i % 5
    s = json_format.ParseDict(template.EXAMPLE_STATIONS[kind % 2 if kind < 4 else 0], station_pb2.Station())
    s.station_id = f"S{i:04d}"
    township = s.kind == station_pb2.STATION_KIND_TOWNSHIP_STATION
    s.signage.code = f"XZ{1000 + i:04d}" if township else f"C{5000 + i:04d}"
    if kind == 2:
        s.area_m2 = 8.5
    if kind == 3:
        s.ClearField("fixed_premises")
    if chinese:
        return s
    text = json_format.MessageToJson(s, ensure_ascii=False)
    for word, ascii_word in ASCII.items():
        text = text.replace(word, ascii_word)
    return json_format.Parse(text, station_pb2.Station())


def flat(s: station_pb2.Station, unreadable_area: bool = False) -> list[str]:
    """The station as a row under ENGLISH headers (full enum names, true/false, `;` lists)."""
    cells: dict[str, Any] = {}
    for key, value in json_format.MessageToDict(s, preserving_proto_field_name=True).items():
        if isinstance(value, dict):
            cells.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            cells[key] = value
    if unreadable_area:
        cells["area_m2"] = "abc"
    row = []
    for key in ENGLISH:
        value = cells.get(key, "")
        row.append(";".join(value) if isinstance(value, list) else str(value))
    return row


def table_text(rows: list[list[str]], header: list[str] = ENGLISH, delimiter: str = ",") -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")  # as Excel writes
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


# ---- encodings


def test_gbk_with_its_first_chinese_byte_at_row_600_checks_every_row(
    server: Running, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The file users sent: 651 rows, ASCII until row 600. Every one of the 650 stations gets its
    verdict, the same as from the file saved as UTF-8; none is dropped or renumbered."""
    rows = [flat(station(i, chinese=i + 2 >= 600), unreadable_area=i % 5 == 4) for i in range(650)]
    text = table_text(rows)
    gbk, utf8 = tmp_path / "gbk.csv", tmp_path / "utf8.csv"
    gbk.write_bytes(text.encode("gbk"))
    utf8.write_bytes(text.encode("utf-8"))
    data = gbk.read_bytes()
    assert data[: next(i for i, b in enumerate(data) if b > 0x7F)].count(b"\n") + 1 == 600

    code, got, err = check_json(server, capsys, gbk, "--as-of", AS_OF)
    assert code == 1 and err == ""
    items = got["items"]
    assert [i["row"] for i in items] == list(range(2, 652))
    summary = got["summary"]
    assert (summary["total"], summary["rows_in_file"], summary["blank_rows"], summary["encoding"]) == (
        650,
        650,
        0,
        "gb18030",
    )
    for i, item in enumerate(items):
        assert item["station_id"] == f"S{i:04d}"
        if i % 5 == 4:
            assert item["outcome"] == "BAD_ROW" and item["column"] == "area_m2", item
        elif i + 2 >= 600:
            assert item["outcome"] == EXPECTED[i % 5], item
            assert item["township"] == "康家会镇"
    assert [r["rule_id"] for r in items[602]["reasons"]] == ["STN-AREA-TOWNSHIP"]  # i = 602: too small
    # The same stations saved as UTF-8: the same answers, item for item.
    assert check_json(server, capsys, utf8, "--as-of", AS_OF)[1]["items"] == items

    code, out, _ = check(server, capsys, gbk, "--as-of", AS_OF)
    assert "共 650 行 rows" in out and "编码 encoding GB18030/GBK" in out and "NOT" not in out


def test_utf16_unicode_text_bom_and_crlf_give_the_same_verdicts(
    server: Running, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Excel's "Unicode text" (UTF-16LE, BOM, tabs), "CSV UTF-8" (BOM) with blank rows at the end
    as Excel leaves them, and plain UTF-8 with LF, all with Chinese headers and cells."""
    header = template.headers("stations", "both")
    stations = [station(i) for i in range(20)]
    rows = [flat(s, unreadable_area=i % 5 == 4) for i, s in enumerate(stations)]
    plain = tmp_path / "plain.csv"
    plain.write_text(table_text(rows, header).replace("\r\n", "\n"), encoding="utf-8")
    code, reference, _ = check_json(server, capsys, plain, "--as-of", AS_OF)
    assert [i["outcome"] for i in reference["items"]] == [EXPECTED[i % 5] for i in range(20)]

    unicode_text = tmp_path / "stations.txt"
    unicode_text.write_bytes(table_text(rows, header, delimiter="\t").encode("utf-16"))
    assert unicode_text.read_bytes()[:4] == b"\xff\xfe\xd9\x7a"  # BOM, 站 in UTF-16LE
    bom = tmp_path / "bom.csv"
    bom.write_bytes(table_text([*rows, [""] * len(header), [""] * len(header)], header).encode("utf-8-sig"))
    for path, encoding, blank in ((unicode_text, "utf-16", 0), (bom, "utf-8-sig", 2)):
        code, got, err = check_json(server, capsys, path, "--as-of", AS_OF)
        assert code == 1 and err == "", path  # no header left unknown (a BOM in it)
        assert got["items"] == reference["items"], path
        s = got["summary"]
        assert (s["total"], s["rows_in_file"], s["blank_rows"], s["encoding"]) == (20, 20 + blank, blank, encoding)
    code, out, _ = check(server, capsys, bom, "--as-of", AS_OF)
    assert (
        "文件中共 22 行数据 rows in the file（不含表头 header excluded），读取 20 行 rows read，"
        "空行 2 行已跳过 blank rows skipped" in out
    )


def test_line_breaks_in_cells_keep_the_row_numbers(
    server: Running, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Zones written one per line in the cell (Alt+Enter in Excel): each such row spans three text
    lines, and a bad row after them is still named by its spreadsheet row, its text line beside."""
    stations = [station(i) for i in range(4)]
    rows = [flat(s) for s in stations]
    zones = ENGLISH.index("zones")
    rows[0][zones] = rows[0][zones].replace(";", "\n")  # 收寄区\n待取件区\n农产品上行区
    rows[1][zones] = "收发区\n收寄区\n待取件区"
    rows[2][ENGLISH.index("area_m2")] = "四平方米"  # row 4, text line 8
    path = tmp_path / "breaks.csv"
    path.write_text(table_text(rows), encoding="utf-8")
    assert path.read_text(encoding="utf-8").splitlines()[7].startswith("S0002,")
    code, got, _ = check_json(server, capsys, path, "--as-of", AS_OF)
    items = got["items"]
    assert code == 1
    assert [(i["row"], i["station_id"], i["outcome"]) for i in items] == [
        (2, "S0000", "PASS"),
        (3, "S0001", "PASS_WITH_WARNINGS"),
        (4, "S0002", "BAD_ROW"),
        (5, "S0003", "INCOMPLETE"),
    ]
    assert items[2]["column"] == "area_m2"
    assert items[2]["problem"] == "列“area_m2”的值“四平方米”不是数字（文本第8行 text line 8）"
    assert "STN-ZONES" not in [r["rule_id"] for r in items[1]["reasons"]]  # three zones, read as three


def test_a_file_in_no_known_encoding_is_a_usage_error(
    server: Running, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "latin.csv"
    text = table_text([flat(station(i, chinese=False)) for i in range(3)])
    path.write_bytes(text.encode("ascii") + b"S9,\xff\xfe\r\n")
    code, out, err = check(server, capsys, path)
    assert code == 2 and out == ""
    assert "无法识别文件的编码：不是 UTF-8（第5行" in err and "GB18030/GBK（第5行" in err and "CSV UTF-8" in err


# ---- JSON


def test_readme_examples_through_check(server: Running, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The README's requests answer as grpcurl answers them: at their own date, 2023-07-15."""
    village = ROOT / "examples" / "village-point-partnered.json"
    code, got, err = check_json(server, capsys, village)
    assert code == 0 and err == ""
    [item] = got["items"]
    assert (item["row"], item["station_id"], item["outcome"]) == (1, "KJH-C-07", "PASS_WITH_WARNINGS")
    assert "STN-AREA-VILLAGE" in [r["rule_id"] for r in item["reasons"]]
    assert got["summary"]["as_of"] == AS_OF
    township = ROOT / "examples" / "township-station.json"
    code, got, _ = check_json(server, capsys, township)
    assert code == 0 and verdicts(got) == [("KJH-XZ-01", "PASS", [])]
    code, got, _ = check_json(server, capsys, township, "--as-of", "2023-08-01")  # the command line wins
    assert got["summary"]["as_of"] == "2023-08-01"

    # Both in one file: a list, or {"stations": [...]}; a request asking to register is not registered.
    requests = [json.loads(p.read_text(encoding="utf-8")) for p in (village, township)]
    requests[1]["register"] = True
    for name, content in (("list.json", requests), ("wrapped.json", {"stations": requests})):
        path = tmp_path / name
        path.write_text(json.dumps(content, ensure_ascii=False, indent=2), encoding="utf-8")
        code, got, err = check_json(server, capsys, path)
        assert [v[:2] for v in verdicts(got)] == [("KJH-C-07", "PASS_WITH_WARNINGS"), ("KJH-XZ-01", "PASS")]
        assert "register" in err and "--register" in err
    other = {**requests[1], "station": {**requests[1]["station"], "stationId": "KJH-XZ-99"}, "register": False}
    path = tmp_path / "other.json"
    path.write_text(json.dumps(other, ensure_ascii=False), encoding="utf-8")
    assert verdicts(check_json(server, capsys, path)[1]) == [("KJH-XZ-99", "PASS", [])]  # XZ0004 not taken


def test_proto_json_lines_give_the_verdicts_of_the_flat_csv(
    server: Running, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Stations as json_format writes them (camelCase, nested signage and filing), one per line,
    or snake_case in a JSON array: the same verdicts as the same stations in a flat CSV."""
    stations = [station(i) for i in range(20) if i % 5 != 4]
    flat_csv = tmp_path / "flat.csv"
    flat_csv.write_text(table_text([flat(s) for s in stations]), encoding="utf-8")
    code, reference, _ = check_json(server, capsys, flat_csv, "--as-of", AS_OF)
    assert [v[1] for v in verdicts(reference)] == [EXPECTED[i % 5] for i in range(20) if i % 5 != 4]

    lines = tmp_path / "stations.jsonl"
    lines.write_text(
        "".join(json_format.MessageToJson(s, indent=None, ensure_ascii=False) + "\n" for s in stations),
        encoding="utf-8",
    )
    assert '"signage": {' in lines.read_text(encoding="utf-8") and '"stationId"' in lines.read_text(encoding="utf-8")
    array = tmp_path / "stations.json"
    array.write_text(
        json.dumps(
            [json_format.MessageToDict(s, preserving_proto_field_name=True) for s in stations],
            ensure_ascii=False,
            indent=2,
        ),
        encoding="utf-8",
    )
    for path in (lines, array):
        code, got, err = check_json(server, capsys, path, "--as-of", AS_OF)
        assert err == "", err  # no "ignored unknown columns: signage, filing"
        assert verdicts(got) == verdicts(reference), path
    assert [i["row"] for i in check_json(server, capsys, lines, "--as-of", AS_OF)[1]["items"]] == list(range(1, 17))

    # A key the proto does not have is a bad row naming it; enum names without prefix are fine.
    odd = [json.loads(json_format.MessageToJson(stations[0], indent=None)) for _ in range(2)]
    odd[0]["signage"]["colour"] = "红"
    odd[1].update(
        stationId="S-SHORT", kind="TOWNSHIP_STATION", mode="SELF_OPERATED", services=["SEND", "RECEIVE", "DELIVER"]
    )
    odd[1]["signage"].update(placement="ABOVE_DOOR", code="XZ0999")
    path = tmp_path / "odd.jsonl"
    path.write_text("\n".join(json.dumps(o, ensure_ascii=False) for o in odd) + "\n", encoding="utf-8")
    code, got, err = check_json(server, capsys, path, "--as-of", AS_OF)
    bad, short = got["items"]
    assert code == 1
    assert (bad["row"], bad["station_id"], bad["outcome"], bad["column"]) == (1, "S0000", "BAD_ROW", "signage.colour")
    assert bad["problem"].startswith("未知字段“signage.colour”") and "unknown field" in bad["problem"]
    assert (short["station_id"], short["outcome"]) == ("S-SHORT", "PASS")
    assert err == ""


# ---- parcels for `claim`

UPBOUND = [
    "--programme",
    "jingle-2023",
    "--operator",
    "山西壹公里信息科技有限公司",
    "--kind",
    "上行",
    "--period",
    "2023-07",
    "--declared-pieces",
    "4",
    "--requested-amount-fen",
    "300",
]


def claim_json(server: Running, capsys: pytest.CaptureFixture[str], path: Path, *argv: str) -> dict[str, Any]:
    code, out, err = run(capsys, "claim", str(path), "--server", f"127.0.0.1:{server.port}", "--format", "json", *argv)
    assert code in (0, 1), err
    data: dict[str, Any] = json.loads(out)
    return data


def test_parcels_in_proto_json_gbk_and_claims_in_json(
    server: Running, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    example = json.loads((ROOT / "examples" / "claim-upbound.json").read_text(encoding="utf-8"))
    parcels = [json_format.ParseDict(p, claim_pb2.Parcel()) for p in example["claim"]["parcels"][:4]]
    header = template.headers("parcels", "zh")
    csv_path = tmp_path / "parcels.csv"
    columns = template.LAYOUTS["parcels"]
    rows = [[str(c.get(p)) for c in columns] for p in parcels]
    csv_path.write_bytes(table_text([*rows, [""] * len(header)], header).encode("gbk"))  # and a blank row
    reference = claim_json(server, capsys, csv_path, "--claim-id", "P-CSV", *UPBOUND)
    assert (reference["rows_in_file"], reference["blank_rows"]) == (5, 1)
    [result] = reference["results"]
    assert (result["outcome"], result["eligible_pieces"], result["rejected_pieces"]) == (
        "CLAIM_OUTCOME_PARTIALLY_ELIGIBLE",
        3,
        1,
    )
    assert [(j["row"], j["rule_ids"]) for j in result["rejections"]] == [(5, ["SUB-UP-AGRI"])]

    lines = tmp_path / "parcels.jsonl"
    lines.write_text(
        "".join(json_format.MessageToJson(p, indent=None, ensure_ascii=False) + "\n" for p in parcels), encoding="utf-8"
    )
    array = tmp_path / "parcels.json"
    array.write_text(
        "[\n" + ",\n".join(json.dumps(json_format.MessageToDict(p), ensure_ascii=False) for p in parcels) + "\n]\n",
        encoding="utf-8",
    )
    for path, rows in ((lines, [4]), (array, [5])):
        data = claim_json(server, capsys, path, "--claim-id", f"P-{path.suffix}", *UPBOUND)
        [got] = data["results"]
        assert (got["outcome"], got["eligible_pieces"], got["approved_amount_fen"]) == (
            result["outcome"],
            3,
            result["approved_amount_fen"],
        )
        assert [(j["row"], j["waybill"]) for j in got["rejections"]] == [
            (r, "ZTO780260000004") for r in rows
        ]  # its line in the file
        assert data["bad_rows"] == []

    # A parcel key the proto lacks: that row is left out, named; the claim is still evaluated.
    odd = tmp_path / "odd.jsonl"
    odd.write_text(lines.read_text(encoding="utf-8").replace('"platform"', '"shop"', 1), encoding="utf-8")
    data = claim_json(server, capsys, odd, "--claim-id", "P-ODD", *UPBOUND, "--declared-pieces", "3")
    assert [(b["row"], b["column"]) for b in data["bad_rows"]] == [(1, "shop")]
    assert data["results"][0]["eligible_pieces"] == 2

    # Claims in JSON: {"claims": [...]}, kinds without their prefix.
    first = {**example["claim"], "claimId": "C-1", "kind": "UPBOUND_AGRICULTURAL"}
    second = {
        **example["claim"],
        "claimId": "C-2",
        "parcels": example["claim"]["parcels"][:3],
        "declaredPieces": 3,
        "requestedAmountFen": "300",
    }
    path = tmp_path / "claims.json"
    path.write_text(json.dumps({"claims": [first, second]}, ensure_ascii=False), encoding="utf-8")
    data = claim_json(server, capsys, path)
    assert [(r["claim_id"], r["outcome"]) for r in data["results"]] == [
        ("C-1", "CLAIM_OUTCOME_PARTIALLY_ELIGIBLE"),
        ("C-2", "CLAIM_OUTCOME_ELIGIBLE"),
    ]
