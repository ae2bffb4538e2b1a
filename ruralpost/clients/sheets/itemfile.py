"""One row per item with its reasons, written as the items stream by: CSV or JSON.

CSV headers are 中文/English; JSON keys are English. The JSON document is written incrementally
(`{"items": [...], "summary": {...}}`), so a batch of any size never sits in memory.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any, TextIO

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from ruralpost.clients.reports.labels import OUTCOME_ZH, SEVERITY_EN, claim_outcome_label
from ruralpost.clients.reports.summary import Item, Summary
from ruralpost.clients.sheets import csvsafe
from ruralpost.clients.sheets.layout import column_for_field
from ruralpost.v1 import claim_pb2, common_pb2

STATION_CSV_HEADER = [
    "行号/row",
    "站点编号/station_id",
    "乡镇/township",
    "类型/kind",
    "结果/outcome",
    "结果说明/outcome_zh",
    "规则/rule_ids",
    "原因/reasons",
    "整改/remedies",
    "列/column",
    "问题/problem",
]
# Claims: one table, one row per record. `claim` rows carry the outcome, pieces, the approved amount
# and the claim-level reasons; `tally` rows the rejected parcels per rule; `rejection` rows each
# rejected parcel (file row for a parcel list, 0-based index in the claim, waybill, rules);
# `bad_row` rows the parcel rows left out of the claim. Filter the first column in Excel.
CLAIM_CSV_HEADER = [
    "记录/record",
    "申报编号/claim_id",
    "结果/outcome",
    "符合件数/eligible_pieces",
    "剔除件数/rejected_pieces",
    "核定金额（分）/approved_amount_fen",
    "已提交/committed",
    "规则/rule_ids",
    "件数/count",
    "行号/row",
    "序号（从0起）/index",
    "运单号/waybill",
    "原因/reasons",
    "列/column",
    "问题/problem",
]


def reason_dict(r: common_pb2.Reason) -> dict[str, str]:
    return {
        "rule_id": r.rule_id,
        "severity": SEVERITY_EN.get(r.severity, ""),
        "message": r.message,
        "message_en": r.message_en,
        "field": r.field,
        "column": column_for_field(r.field),
        "expected": r.expected,
        "actual": r.actual,
        "remedy": r.remedy,
        "citation": f"{r.citation.document} {r.citation.clause}".strip(),
    }


def item_dict(item: Item) -> dict[str, Any]:
    return {
        "row": item.row,
        "station_id": item.station_id,
        "township": item.township,
        "kind": item.kind,
        "outcome": item.outcome,
        "reasons": [reason_dict(r) for r in item.reasons],
        "column": item.column,
        "problem": item.problem,
    }


class StationCsv:
    def __init__(self, out: TextIO) -> None:
        self.writer = csvsafe.Writer(out)
        self.writer.writerow(STATION_CSV_HEADER)

    def write(self, item: Item) -> None:
        self.writer.writerow(
            [
                item.row,
                item.station_id,
                item.township,
                item.kind,
                item.outcome,
                OUTCOME_ZH[item.outcome],
                ";".join(r.rule_id for r in item.reasons),
                "；".join(r.message for r in item.reasons),
                "；".join(dict.fromkeys(r.remedy for r in item.reasons if r.remedy)),
                item.column,
                item.problem,
            ]
        )

    def close(self, summary: Summary) -> None:
        pass


class StationJson:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.first = True
        out.write('{"items": [')

    def write(self, item: Item) -> None:
        self.out.write("\n  " if self.first else ",\n  ")
        self.first = False
        self.out.write(json.dumps(item_dict(item), ensure_ascii=False))

    def close(self, summary: Summary) -> None:
        self.out.write('\n],\n"summary": ')
        self.out.write(json.dumps(summary.as_dict(), ensure_ascii=False, indent=2))
        self.out.write("}\n")


def claim_rows(
    result: claim_pb2.EvaluateClaimResponse | None, claim_id: str, problem: str = "", parcel_rows: Sequence[int] = ()
) -> Iterator[list[Any]]:
    """The CSV records of one claim: the claim, its tallies, its rejected parcels."""
    if result is None:
        yield ["claim", claim_id, "ERROR", "", "", "", "", "", "", "", "", "", "", "", problem]
        return
    yield [
        "claim",
        result.claim_id,
        claim_outcome_label(result.outcome),
        result.eligible_pieces,
        result.rejected_pieces,
        result.approved_amount_fen,
        "true" if result.committed else "false",
        ";".join(r.rule_id for r in result.reasons),
        "",
        "",
        "",
        "",
        "；".join(r.message for r in result.reasons),
        "",
        problem,
    ]
    for t in result.tallies:
        yield ["tally", result.claim_id, "", "", "", "", "", t.rule_id, t.count, "", "", "", "", "", ""]
    for j in result.rejections:
        yield [
            "rejection",
            result.claim_id,
            "",
            "",
            "",
            "",
            "",
            ";".join(j.rule_ids),
            "",
            parcel_row(j.index, parcel_rows) or "",
            j.index,
            j.waybill,
            "；".join(r.message for r in j.reasons),
            "",
            "",
        ]


def bad_row_record(claim_id: str, bad: Item) -> list[Any]:
    return ["bad_row", claim_id, "", "", "", "", "", "", "", bad.row, "", "", "", bad.column, bad.problem]


def parcel_row(index: int, parcel_rows: Sequence[int]) -> int | None:
    """The file row of the parcel at `index` of a parcel-list claim (None for a JSON claim)."""
    return parcel_rows[index] if 0 <= index < len(parcel_rows) else None


def claim_dict(result: claim_pb2.EvaluateClaimResponse, parcel_rows: Sequence[int] = ()) -> dict[str, Any]:
    """A claim result as plain JSON: every field (0 and false too), numbers as numbers, and for a
    parcel list each rejection's file `row`."""
    data = proto_dict(result)
    if parcel_rows:
        for rejection in data["rejections"]:
            rejection["row"] = parcel_row(rejection["index"], parcel_rows)
    return data


def proto_dict(message: Message) -> dict[str, Any]:
    """MessageToDict with every field and int64 as JSON numbers (proto JSON writes them as strings)."""
    data = json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    _int64_as_numbers(message.DESCRIPTOR, data)
    return data


_INT64 = (FieldDescriptor.CPPTYPE_INT64, FieldDescriptor.CPPTYPE_UINT64)


def _int64_as_numbers(descriptor: Any, data: dict[str, Any]) -> None:
    """`descriptor` is a message Descriptor (pure Python or upb: typed Any for both)."""
    for fd in descriptor.fields:
        if fd.name not in data:
            continue
        value = data[fd.name]
        values = value if isinstance(value, list) else [value]
        if fd.message_type is not None and not fd.message_type.GetOptions().map_entry:
            for v in values:
                if isinstance(v, dict):
                    _int64_as_numbers(fd.message_type, v)
        elif fd.cpp_type in _INT64:
            data[fd.name] = [int(v) for v in values] if isinstance(value, list) else int(value)
