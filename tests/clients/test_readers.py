"""Reading files as people save them: encodings found on the whole file (UTF-8 with or without BOM,
GB18030/GBK, UTF-16 "Unicode text"), CRLF, quoted line breaks, JSON in its shapes, and a count of
rows that proves nothing was dropped. Rows in either JSON shape (shapes.py) become the same message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from google.protobuf import json_format

from ruralpost.clients.sheets import layout, shapes, template
from ruralpost.clients.sheets.readers import ReadError, Row, Rows, open_rows
from ruralpost.v1 import claim_pb2, station_pb2


def read(path: Path, list_key: str = "stations") -> tuple[Rows, list[Row]]:
    rows = open_rows(path, list_key)
    return rows, list(rows.rows)


def assert_nothing_lost(rows: Rows, read_rows: list[Row]) -> None:
    assert rows.count.read == len(read_rows)
    assert rows.count.in_file == rows.count.read + rows.count.blank


# ---- encodings


def gbk_late_lines(n: int = 651, first_chinese_row: int = 600) -> list[str]:
    """A header and n-1 rows, ASCII up to the row before `first_chinese_row`."""
    lines = ["station_id,township,kind"]
    for row in range(2, n + 1):
        if row < first_chinese_row:
            lines.append(f"S{row:04d},Kangjiahui,TOWNSHIP_STATION")
        else:
            lines.append(f"S{row:04d},康家会镇,村级点")
    return lines


def test_gbk_whose_first_chinese_byte_is_at_row_600_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes(("\r\n".join(gbk_late_lines()) + "\r\n").encode("gbk"))
    data = path.read_bytes()
    first = next(i for i, b in enumerate(data) if b > 0x7F)
    assert data[:first].count(b"\n") + 1 == 600  # the case users hit
    rows, got = read(path)
    assert rows.encoding == "gb18030"
    assert [r.number for r in got] == list(range(2, 652))
    assert not any(r.problem for r in got)
    assert got[597].cells == {"station_id": "S0599", "township": "Kangjiahui", "kind": "TOWNSHIP_STATION"}
    assert got[598].cells == {"station_id": "S0600", "township": "康家会镇", "kind": "村级点"}
    assert got[-1].cells["station_id"] == "S0651"
    assert_nothing_lost(rows, got)
    assert rows.count.in_file == 650 and rows.count.blank == 0


def test_gbk_chinese_header_and_gbk_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes("站点编号,所在乡镇\nA,康家会镇\n".encode("gbk"))
    rows, got = read(path)
    assert rows.header == ["站点编号", "所在乡镇"] and got[0].cells["所在乡镇"] == "康家会镇"
    lines = tmp_path / "gbk.jsonl"
    lines.write_bytes('{"所在乡镇": "鹅城镇"}\n\n{"所在乡镇": "娑婆乡"}\n'.encode("gbk"))
    rows, got = read(lines)
    assert [(r.number, r.cells["所在乡镇"]) for r in got] == [(1, "鹅城镇"), (3, "娑婆乡")]
    assert (rows.count.in_file, rows.count.blank) == (3, 1)


def test_utf8_with_bom_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("站点编号,kind\r\nB1,乡镇站\r\n\r\n,,\r\nB2,村点".encode("utf-8-sig"))
    rows, got = read(path)
    assert rows.encoding == "utf-8-sig"
    assert rows.header == ["站点编号", "kind"]  # no BOM stuck to the first header
    assert [(r.number, r.cells) for r in got] == [
        (2, {"站点编号": "B1", "kind": "乡镇站"}),
        (5, {"站点编号": "B2", "kind": "村点"}),
    ]
    assert (rows.count.in_file, rows.count.blank, rows.count.read) == (4, 2, 2)


def test_utf16_unicode_text_is_tab_separated(tmp_path: Path) -> None:
    """Excel's "Unicode text": UTF-16LE with a BOM, tabs, CRLF, quotes around cells with tabs."""
    path = tmp_path / "stations.txt"
    path.write_bytes(
        '站点编号\t站点类型\t功能分区\r\nA1\t乡镇站\t"收寄区,待取件区"\r\nA2\t村点\t"收\t发"\r\n'.encode("utf-16")
    )
    assert path.read_bytes()[:2] == b"\xff\xfe"
    rows, got = read(path)
    assert rows.encoding == "utf-16" and rows.header == ["站点编号", "站点类型", "功能分区"]
    assert [r.cells for r in got] == [
        {"站点编号": "A1", "站点类型": "乡镇站", "功能分区": "收寄区,待取件区"},
        {"站点编号": "A2", "站点类型": "村点", "功能分区": "收\t发"},
    ]
    bare = tmp_path / "bare.tsv"  # no BOM: told by the NUL bytes
    bare.write_bytes("station_id\tkind\r\nA1\tTOWNSHIP_STATION\r\n".encode("utf-16-le"))
    rows, got = read(bare)
    assert rows.encoding == "utf-16-le" and got[0].cells == {"station_id": "A1", "kind": "TOWNSHIP_STATION"}


@pytest.mark.slow
def test_a_character_split_across_read_blocks(tmp_path: Path) -> None:
    """The whole-file pass reads 1 MiB blocks; a character cut at a block's end still decodes."""
    text = "station_id,township\n" + "康家会镇,康家会镇\n" * 60_000  # ~1.5 MB either way
    for encoding in ("utf-8", "gb18030"):
        path = tmp_path / f"{encoding}.csv"
        path.write_bytes(text.encode(encoding))
        rows, got = read(path)
        assert rows.encoding == encoding and len(got) == 60_000 and got[-1].number == 60_001
        assert_nothing_lost(rows, got)


def test_a_file_in_no_known_encoding_is_refused_with_where(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b"station_id,zones\nA,b\nC,\xff\xfe\n")
    with pytest.raises(ReadError) as caught:
        open_rows(path)
    message = str(caught.value)
    assert "无法识别文件的编码" in message and "UTF-8（第3行，字节偏移 23）" in message
    assert "GB18030/GBK（第3行" in message and "CSV UTF-8" in message
    # Far into the file: the offset and line are exact past the first 1 MiB block.
    good = ("station_id,township\n" + "康家会镇,康家会镇\n" * 100_000).encode("gb18030")
    cut = good.index(b"\n", 1_200_000) + 1
    (tmp_path / "late.csv").write_bytes(good[:cut] + b"\xff" + good[cut:])
    line = good[:cut].count(b"\n") + 1
    with pytest.raises(ReadError, match=rf"GB18030/GBK（第{line}行，字节偏移 {cut}）"):
        open_rows(tmp_path / "late.csv")


def test_utf8_then_gbk_in_one_file_is_refused_not_garbled(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes("station_id,township\nA,康家会镇\n".encode() + "B,康家会镇\n".encode("gbk"))
    with pytest.raises(ReadError, match="混用了两种编码：第3行之前是 UTF-8"):
        open_rows(path)
    cut = tmp_path / "cut.csv"  # UTF-8 cut short inside its last character
    cut.write_bytes("station_id,township\nA,康家会镇快递站\n".encode()[:-2])
    with pytest.raises(ReadError, match="第2行的一个字符中间结束"):
        open_rows(cut)


def test_not_text_files(tmp_path: Path) -> None:
    (tmp_path / "book.csv").write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(ReadError, match=r"扩展名改为 \.xlsx"):
        open_rows(tmp_path / "book.csv")
    (tmp_path / "old.csv").write_bytes(b"\xd0\xcf\x11\xe0" + bytes(100))
    with pytest.raises(ReadError, match=r"\.xls"):
        open_rows(tmp_path / "old.csv")
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(ReadError, match="空的"):
        open_rows(tmp_path / "empty.csv")
    with pytest.raises(ReadError, match=r"\.csv、\.tsv/\.txt.*\.json、\.jsonl 或 \.xlsx"):
        open_rows(tmp_path / "stations.doc")


# ---- rows and their numbers


def test_quoted_line_breaks_keep_spreadsheet_row_numbers(tmp_path: Path) -> None:
    """A cell with line breaks is one spreadsheet row; the rows after it keep the number Excel shows,
    and the text line they start on is kept for people reading the file in an editor."""
    path = tmp_path / "quoted.csv"
    path.write_bytes(b'station_id,zones\r\nQ1,"a\r\nb\r\nc"\r\nQ2,x\r\nQ3,"y\nz",extra\r\n')
    rows, got = read(path)
    assert [(r.number, r.line) for r in got] == [(2, 2), (3, 5), (4, 6)]
    assert got[0].cells["zones"] == "a\r\nb\r\nc" and got[1].cells == {"station_id": "Q2", "zones": "x"}
    assert got[2].problem == "这一行有3列，表头只有2列（this row has 3 columns, the header 2）"
    assert got[2].where == "（文本第6行 text line 6）" and got[0].where == ""
    assert_nothing_lost(rows, got)


def test_an_unclosed_quote_is_reported_not_swallowed(tmp_path: Path) -> None:
    path = tmp_path / "unclosed.csv"
    path.write_text('station_id,zones\nU1,x\nU2,"open\nU3,y\nU4,z\n', encoding="utf-8")
    got = read(path)[1]
    assert [r.number for r in got] == [2, 3]
    assert "引号没有闭合" in got[1].problem and "3 text lines from line 3" in got[1].problem
    closed = tmp_path / "closed.csv"  # a quoted break at the very end is fine
    closed.write_text('station_id,zones\nU1,"a\nb"', encoding="utf-8")
    assert [r.cells for r in read(closed)[1]] == [{"station_id": "U1", "zones": "a\nb"}]


def test_old_mac_line_ends(tmp_path: Path) -> None:
    path = tmp_path / "mac.csv"
    path.write_bytes(b"station_id,zones\rM1,x\rM2,y\r")
    got = read(path)[1]
    assert [(r.number, r.cells["station_id"], r.problem) for r in got] == [(2, "M1", ""), (3, "M2", "")]


def test_xlsx_counts_blank_rows(tmp_path: Path) -> None:
    import openpyxl  # type: ignore[import-untyped, unused-ignore]

    path = tmp_path / "s.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for values in (["station_id"], ["A"], [None], ["B"]):
        sheet.append(values)
    book.save(path)
    rows, got = read(path)
    assert [r.number for r in got] == [2, 4] and (rows.count.in_file, rows.count.blank) == (3, 1)


# ---- JSON


def test_json_array_object_and_list_key_numbered_by_line(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text('[\n  {"a": 1},\n  {"b": [1,\n 2]}, 3,\n\n  {"c": "x\\ny"}\n]\n', encoding="utf-8")
    got = read(path)[1]
    assert [(r.number, r.cells, r.problem) for r in got] == [
        (2, {"a": 1}, ""),
        (3, {"b": [1, 2]}, ""),
        (4, {}, "应为一个 JSON 对象 expected a JSON object"),
        (6, {"c": "x\ny"}, ""),
    ]
    wrapped = tmp_path / "b.json"
    wrapped.write_text('\n{"stations": [{"a": 1},\n {"b": 2}]}', encoding="utf-8")
    assert [r.number for r in read(wrapped)[1]] == [2, 3]
    assert [r.number for r in read(wrapped, list_key="claims")[1]] == [2]  # one object: itself
    one = tmp_path / "one.json"
    one.write_text('\n\n{"station": {"stationId": "X"}}', encoding="utf-8")
    assert [(r.number, r.cells) for r in read(one)[1]] == [(3, {"station": {"stationId": "X"}})]


def test_json_that_cannot_be_read(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"a": 1,\n "b": }', encoding="utf-8")
    with pytest.raises(ReadError, match="第2行第7个字符"):
        open_rows(path)
    path.write_text('{"stations": [], "asOf": "2023-07-15"}', encoding="utf-8")
    with pytest.raises(ReadError, match="asOf"):
        open_rows(path)


# ---- the two shapes of a JSON row


def station_parser() -> shapes.RowParser[station_pb2.Station]:
    return shapes.RowParser(station_pb2.Station, layout.STATION_COLUMNS, "站点", None)


def test_proto_json_rows_camel_or_snake_give_the_example_stations() -> None:
    parser = station_parser()
    for data in template.EXAMPLE_STATIONS:
        expected = json_format.ParseDict(data, station_pb2.Station())
        camel = json_format.MessageToDict(expected)
        snake = json_format.MessageToDict(expected, preserving_proto_field_name=True)
        assert parser.is_proto(camel) and parser.is_proto(snake)  # nested signage / filing
        assert parser.parse(camel) == expected and parser.parse(snake) == expected
    assert parser.unknown_columns == []


def test_enum_names_without_prefix_or_in_chinese() -> None:
    station = station_pb2.Station()
    shapes.parse_proto(
        {
            "kind": "VILLAGE_POINT",
            "mode": "合作开办",
            "services": ["SEND", "SERVICE_TYPE_DELIVER"],
            "signage": {"placement": "outer_wall"},
        },
        station,
    )
    assert station.kind == station_pb2.STATION_KIND_VILLAGE_POINT
    assert station.mode == station_pb2.OPERATION_MODE_PARTNERED
    assert list(station.services) == [station_pb2.SERVICE_TYPE_SEND, station_pb2.SERVICE_TYPE_DELIVER]
    assert station.signage.placement == station_pb2.SIGN_PLACEMENT_OUTER_WALL
    request = shapes.parse_proto(
        {"claim": {"kind": "DOWNBOUND_PARCEL", "parcels": [{"feeChargedFen": "300"}]}}, claim_pb2.EvaluateClaimRequest()
    )
    assert request.claim.kind == claim_pb2.CLAIM_KIND_DOWNBOUND_PARCEL
    assert request.claim.parcels[0].fee_charged_fen == 300


@pytest.mark.parametrize(
    ("data", "column", "words"),
    [
        (
            {"stationId": "X", "signage": {"colour": "红"}},
            "signage.colour",
            ["未知字段“signage.colour”", "unknown field"],
        ),
        ({"stationId": "X", "站点类型": "村点"}, "站点类型", ["未知字段“站点类型”"]),
        ({"kind": "HAMLET", "signage": {}}, "kind", ["不是可选值之一", "not a StationKind"]),
        ({"areaM2": "big"}, "areaM2", ["不是有效的 proto JSON", "big"]),
        ({"stationId": "X", "station_id": "Y"}, "station_id", ["同一个字段"]),
    ],
)
def test_a_proto_row_that_cannot_be_read_names_the_field(
    data: dict[str, object], column: str, words: list[str]
) -> None:
    parser = station_parser()
    assert parser.is_proto(data)
    with pytest.raises(layout.FieldError) as caught:
        parser.parse(data)
    assert caught.value.column == column
    assert all(w in str(caught.value) for w in words), str(caught.value)


def test_flat_json_rows_stay_flat() -> None:
    """Column names (Chinese, English, dotted) are the flat layout, with its looser cells."""
    parser = station_parser()
    row = {"站点编号": "F1", "kind": "乡镇站", "signage.code": "XZ0001", "area_m2": "24.5㎡", "备注": "x"}
    assert not parser.is_proto(row)
    station = parser.parse(row)
    assert (station.station_id, station.kind, station.signage.code, station.area_m2) == (
        "F1",
        station_pb2.STATION_KIND_TOWNSHIP_STATION,
        "XZ0001",
        24.5,
    )
    assert parser.unknown_columns == ["备注"]
    with pytest.raises(layout.LayoutError):  # a JSON row naming no known column
        parser.parse({"姓名": "张三"})


def test_proto_json_parcels() -> None:
    parser = shapes.RowParser(claim_pb2.Parcel, layout.PARCEL_COLUMNS, "快件", None)
    for data in template.EXAMPLE_PARCELS:
        expected = json_format.ParseDict(data, claim_pb2.Parcel())
        line = json.loads(json_format.MessageToJson(expected, indent=None))
        assert parser.is_proto(line) and parser.parse(line) == expected
    with pytest.raises(layout.FieldError, match="未知字段“fee”"):
        parser.parse({"waybill": "W1", "shippedOn": "2023-07-01", "fee": 3})
