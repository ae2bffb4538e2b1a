"""One row per item with its reasons, written as the items stream by: CSV or JSON.

CSV headers are 中文/English; JSON keys are English. The JSON document is written incrementally
(`{"items": [...], "summary": {...}}`), so a batch of any size never sits in memory.
"""

from __future__ import annotations

import csv
import json
from typing import Any, TextIO

from ruralpost.v1 import claim_pb2, common_pb2

from .labels import OUTCOME_ZH, SEVERITY_EN, claim_outcome_label
from .layout import column_for_field
from .summary import Item, Summary

STATION_CSV_HEADER = [
    "行号/row", "站点编号/station_id", "乡镇/township", "类型/kind", "结果/outcome", "结果说明/outcome_zh",
    "规则/rule_ids", "原因/reasons", "整改/remedies", "列/column", "问题/problem",
]
CLAIM_CSV_HEADER = [
    "申报编号/claim_id", "结果/outcome", "符合件数/eligible_pieces", "剔除件数/rejected_pieces",
    "核定金额（分）/approved_amount_fen", "规则/rule_ids", "原因/reasons", "已提交/committed", "问题/problem",
]


def reason_dict(r: common_pb2.Reason) -> dict[str, str]:
    return {"rule_id": r.rule_id, "severity": SEVERITY_EN.get(r.severity, ""), "message": r.message,
            "message_en": r.message_en, "field": r.field, "column": column_for_field(r.field),
            "expected": r.expected, "actual": r.actual, "remedy": r.remedy,
            "citation": f"{r.citation.document} {r.citation.clause}".strip()}


def item_dict(item: Item) -> dict[str, Any]:
    return {"row": item.row, "station_id": item.station_id, "township": item.township, "kind": item.kind,
            "outcome": item.outcome, "reasons": [reason_dict(r) for r in item.reasons],
            "column": item.column, "problem": item.problem}


class StationCsv:
    def __init__(self, out: TextIO) -> None:
        self.writer = csv.writer(out)
        self.writer.writerow(STATION_CSV_HEADER)

    def write(self, item: Item) -> None:
        self.writer.writerow([
            item.row, item.station_id, item.township, item.kind, item.outcome, OUTCOME_ZH[item.outcome],
            ";".join(r.rule_id for r in item.reasons), "；".join(r.message for r in item.reasons),
            "；".join(dict.fromkeys(r.remedy for r in item.reasons if r.remedy)), item.column, item.problem,
        ])

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


def claim_row(result: claim_pb2.EvaluateClaimResponse | None, claim_id: str, problem: str = "") -> list[Any]:
    if result is None:
        return [claim_id, "ERROR", "", "", "", "", "", "", problem]
    return [result.claim_id, claim_outcome_label(result.outcome), result.eligible_pieces,
            result.rejected_pieces, result.approved_amount_fen,
            ";".join(r.rule_id for r in result.reasons), "；".join(r.message for r in result.reasons),
            "true" if result.committed else "false", problem]


def write_claim_csv(out: TextIO, rows: list[list[Any]]) -> None:
    writer = csv.writer(out)
    writer.writerow(CLAIM_CSV_HEADER)
    writer.writerows(rows)
