"""Blank forms for operators: the station and parcel column layouts with worked example rows.

`ruralpost template stations --out 站点.xlsx` writes the header, two example rows (a township
station and a partnered village point) and, in Excel, a 填写说明 sheet explaining every column.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

from ruralpost.clients.sheets import layout
from ruralpost.clients.sheets.readers import write_table
from ruralpost.v1 import claim_pb2, station_pb2

EXAMPLE_STATIONS: list[dict[str, Any]] = [
    {
        "stationId": "KJH-XZ-01",
        "kind": "STATION_KIND_TOWNSHIP_STATION",
        "county": "静乐县",
        "township": "康家会镇",
        "operator": "山西壹公里信息科技有限公司",
        "mode": "OPERATION_MODE_SELF_OPERATED",
        "fixedPremises": True,
        "services": ["SERVICE_TYPE_SEND", "SERVICE_TYPE_RECEIVE", "SERVICE_TYPE_DELIVER"],
        "signage": {
            "present": True,
            "placement": "SIGN_PLACEMENT_ABOVE_DOOR",
            "unifiedDesign": True,
            "obstructed": False,
            "text": "康家会镇快递综合服务站",
            "code": "XZ0004",
        },
        "filedName": "康家会镇快递综合服务站",
        "hoursSignPosted": True,
        "businessHours": "08:30-18:00",
        "areaM2": 24.5,
        "equipment": [
            "EQUIPMENT_RECEPTION_DESK",
            "EQUIPMENT_SHELVES",
            "EQUIPMENT_BARCODE_SCANNER",
            "EQUIPMENT_VIDEO_SURVEILLANCE",
            "EQUIPMENT_FIRE_EXTINGUISHER",
        ],
        "cctvRetentionDays": 30,
        "zones": ["收寄区", "待取件区", "农产品上行区"],
        "dailyParcels": 150,
        "filing": {"filed": True, "recordNumber": "晋忻备2023-0104", "filedOn": "2023-05-10"},
        "openedOn": "2023-05-02",
    },
    {
        "stationId": "KJH-C-07",
        "kind": "STATION_KIND_VILLAGE_POINT",
        "county": "静乐县",
        "township": "康家会镇",
        "village": "康家会村",
        "operator": "山西壹公里信息科技有限公司",
        "mode": "OPERATION_MODE_PARTNERED",
        "fixedPremises": True,
        "services": ["SERVICE_TYPE_RECEIVE", "SERVICE_TYPE_DELIVER"],
        "signage": {
            "present": True,
            "placement": "SIGN_PLACEMENT_OUTER_WALL",
            "fixed": True,
            "text": "康家会村快递便民服务点",
            "code": "C0031",
        },
        "hoursSignPosted": True,
        "businessHours": "9:00-18:00",
        "areaM2": 4.5,
        "equipment": ["EQUIPMENT_RECEPTION_DESK", "EQUIPMENT_SHELVES", "EQUIPMENT_BARCODE_SCANNER"],
        "zones": ["收发区"],
        "filing": {"filed": False},
        "openedOn": "2023-07-01",
    },
]

EXAMPLE_PARCELS: list[dict[str, Any]] = [
    {
        "waybill": "YT7000000001",
        "shippedOn": "2023-07-03",
        "productCategory": "藜麦",
        "platform": "拼多多",
        "originCounty": "静乐县",
        "destinationCounty": "太原市小店区",
    },
    {
        "waybill": "ZT7000000002",
        "shippedOn": "2023-07-04",
        "originCounty": "忻州市忻府区",
        "destinationCounty": "静乐县",
        "destinationTownship": "康家会镇",
        "destinationVillage": "康家会村",
        "stationCode": "C0031",
        "deliveredToAddress": True,
    },
]

LAYOUTS = {"stations": layout.STATION_COLUMNS, "parcels": layout.PARCEL_COLUMNS}


def examples(what: str) -> list[list[object]]:
    columns = LAYOUTS[what]
    messages: list[Message]
    if what == "stations":
        messages = [json_format.ParseDict(d, station_pb2.Station()) for d in EXAMPLE_STATIONS]
    else:
        messages = [json_format.ParseDict(d, claim_pb2.Parcel()) for d in EXAMPLE_PARCELS]
    return [layout.to_row(m, columns) for m in messages]


def headers(what: str, lang: str) -> list[str]:
    columns = LAYOUTS[what]
    if lang == "zh":
        return [c.zh for c in columns]
    if lang == "en":
        return [c.key for c in columns]
    return [c.header for c in columns]


def notes(what: str) -> list[list[str]]:
    rows = [["中文列名", "English column", "填写说明 How to fill it in"]]
    rows += [[c.zh, c.key, c.note] for c in LAYOUTS[what]]
    rows += [[], ["空白单元格表示“未提供”，服务端会报“缺少”；是/否 也可写 true/false；多个值用分号 ; 分隔。"]]
    return rows


def write(what: str, path: Path, lang: str = "both", with_examples: bool = True) -> None:
    rows = examples(what) if with_examples else []
    write_table(path, headers(what, lang), rows, notes(what), sheet="站点" if what == "stations" else "快件")


def csv_text(what: str, lang: str = "both", with_examples: bool = True) -> str:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers(what, lang))
    writer.writerows(examples(what) if with_examples else [])
    return buffer.getvalue()
