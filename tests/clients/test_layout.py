"""The station and parcel column layout: headers in either language, cells as people write them."""

from __future__ import annotations

import datetime as dt

import pytest
from google.protobuf import json_format

from ruralpost.clients.sheets import layout, template
from ruralpost.v1 import claim_pb2, station_pb2
from tests.support import ROOT


def _header(*names: str) -> layout.Header:
    return layout.resolve_header(names, layout.STATION_COLUMNS, "站点")


def test_template_rows_read_back_as_the_example_stations() -> None:
    for lang in ("both", "zh", "en"):
        names = template.headers("stations", lang)
        header = _header(*names)
        for row, data in zip(template.examples("stations"), template.EXAMPLE_STATIONS, strict=True):
            cells = {n: v for n, v in zip(names, row, strict=True)}
            expected = json_format.ParseDict(data, station_pb2.Station())
            assert layout.station_from_row(cells, header) == expected


def test_parcel_template_rows_read_back() -> None:
    names = template.headers("parcels", "zh")
    header = layout.resolve_header(names, layout.PARCEL_COLUMNS, "快件")
    for row, data in zip(template.examples("parcels"), template.EXAMPLE_PARCELS, strict=True):
        cells = {n: v for n, v in zip(names, row, strict=True)}
        assert layout.parcel_from_row(cells, header) == json_format.ParseDict(data, claim_pb2.Parcel())


def test_headers_in_chinese_english_aliases_and_combined_forms() -> None:
    header = _header("站点编号", "kind", "面积 （平方米）", "Signage.Code", "sign_present", "备案日期/filed_on", "备注")
    assert [c.key for c in header.columns.values()] == [
        "station_id",
        "kind",
        "area_m2",
        "signage.code",
        "signage.present",
        "filing.filed_on",
    ]
    assert header.unknown == ["备注"]
    with pytest.raises(layout.LayoutError, match="两次"):
        _header("station_id", "站点编号")
    with pytest.raises(layout.LayoutError, match="没有可识别"):
        _header("姓名", "电话")


def test_cells_as_people_write_them() -> None:
    header = _header(
        "kind",
        "mode",
        "services",
        "equipment",
        "fixed_premises",
        "area_m2",
        "cctv_retention_days",
        "opened_on",
        "filing.filed_on",
        "zones",
        "signage.placement",
    )
    station = layout.station_from_row(
        {
            "kind": "村点",
            "mode": "partnered",
            "services": "寄件；RECEIVE、SERVICE_TYPE_DELIVER",
            "equipment": "巴枪;货架",
            "fixed_premises": "否",
            "area_m2": "12.5㎡",
            "cctv_retention_days": 30.0,
            "opened_on": "2023/5/2",
            "filing.filed_on": dt.datetime(2023, 5, 10),
            "zones": "收寄区; 待取件区 ;",
            "signage.placement": "门外墙面",
        },
        header,
    )
    assert station.kind == station_pb2.STATION_KIND_VILLAGE_POINT
    assert station.mode == station_pb2.OPERATION_MODE_PARTNERED
    assert list(station.services) == [
        station_pb2.SERVICE_TYPE_SEND,
        station_pb2.SERVICE_TYPE_RECEIVE,
        station_pb2.SERVICE_TYPE_DELIVER,
    ]
    assert list(station.equipment) == [station_pb2.EQUIPMENT_BARCODE_SCANNER, station_pb2.EQUIPMENT_SHELVES]
    assert station.HasField("fixed_premises") and station.fixed_premises is False
    assert station.area_m2 == 12.5 and station.cctv_retention_days == 30
    assert station.opened_on == "2023-05-02" and station.filing.filed_on == "2023-05-10"
    assert list(station.zones) == ["收寄区", "待取件区"]
    assert station.signage.placement == station_pb2.SIGN_PLACEMENT_OUTER_WALL


def test_an_empty_cell_is_not_given_never_false() -> None:
    header = _header("station_id", "fixed_premises", "signage.present", "area_m2")
    station = layout.station_from_row(
        {"station_id": "S1", "fixed_premises": "", "signage.present": None, "area_m2": "  "}, header
    )
    assert not station.HasField("fixed_premises")
    assert not station.signage.HasField("present")
    assert not station.HasField("area_m2")


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("area_m2", "abc", "不是数字"),
        ("area_m2", "nan", "有限"),
        ("fixed_premises", "maybe", "是/否"),
        ("kind", "县城站", "可选值"),
        ("services", "寄件;飞行", "可选值"),
        ("cctv_retention_days", "30.5", "整数"),
        ("opened_on", "2023-02-30", "日期"),
    ],
)
def test_an_unreadable_cell_names_its_column(column: str, value: str, problem: str) -> None:
    with pytest.raises(layout.CellError) as caught:
        layout.station_from_row({column: value}, _header(column))
    assert caught.value.column == column
    assert problem in str(caught.value)


def test_a_reason_field_points_to_its_column() -> None:
    assert layout.column_for_field("station.signage.code") == "标识牌编号/signage.code"
    assert layout.column_for_field("station.services[1]") == "服务功能/services"
    assert layout.column_for_field("as_of") == "as_of"


def test_docs_list_every_column() -> None:
    """docs/clients.md is what operators read: it must name every column the layout knows."""

    docs = (ROOT / "docs" / "clients.md").read_text(encoding="utf-8")
    for c in (*layout.STATION_COLUMNS, *layout.PARCEL_COLUMNS):
        assert f"| `{c.key}` | {c.zh} |" in docs, c.key
