"""A batch's results, counted as they stream by: per outcome, per rule, per township.

Memory stays bounded whatever the batch size: counts, plus the first few rows per rule and the
first `detail_limit` items that did not pass (for the printed report; the CSV/JSON file has all).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ruralpost.clients.reports.labels import BAD_ROW, ENCODING_NAMES, OUTCOMES, PASSED
from ruralpost.limits import BAD_ROWS_KEPT, ROWS_PER_RULE
from ruralpost.v1 import common_pb2

if TYPE_CHECKING:  # the reports read no files: the spreadsheets package counts the rows
    from ruralpost.clients.sheets.readers import Count


@dataclass
class Item:
    """One row of the submission and what became of it."""

    row: int
    station_id: str = ""
    township: str = ""
    kind: str = ""  # 乡镇站 / 村级点 / ""
    outcome: str = BAD_ROW  # a key of labels.OUTCOMES
    reasons: list[common_pb2.Reason] = field(default_factory=list)
    column: str = ""  # bad rows: the column or request field at fault
    problem: str = ""  # bad rows: what is wrong with it
    ruleset_version: str = ""
    as_of: str = ""  # the date the rules were applied at

    @property
    def passed(self) -> bool:
        return self.outcome in PASSED


@dataclass
class RuleCount:
    """How often a rule fired within one outcome, with one example of its reason."""

    rule_id: str
    severity: int
    example: common_pb2.Reason
    count: int = 0
    rows: list[int] = field(default_factory=list)


@dataclass
class Summary:
    source: str = ""
    as_of: str = ""
    ruleset_version: str = ""
    detail_limit: int = 1000
    total: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    rules: dict[str, dict[str, RuleCount]] = field(default_factory=dict)  # outcome -> rule id -> count
    townships: dict[str, Counter[str]] = field(default_factory=dict)  # township -> outcome -> n
    bad_rows: list[Item] = field(default_factory=list)
    details: list[Item] = field(default_factory=list)  # first items not passing
    seconds: float = 0.0
    # What the reader saw (file_read): rows in the file against `total`, the rows reported.
    rows_in_file: int | None = None
    blank_rows: int = 0
    encoding: str = ""
    # About the file as a whole (missing columns, data without a header), shown above everything.
    notes: list[str] = field(default_factory=list)

    def file_read(self, count: Count, encoding: str) -> None:
        self.rows_in_file, self.blank_rows, self.encoding = count.in_file, count.blank, encoding
        for column, row in sorted(count.unnamed.items()):
            self.notes.append(
                f"第{column}列没有表头，但有数据（第{row}行起），这些数据没有核验"
                f" (column {column} has data from row {row} but no header: not checked)"
            )

    @property
    def rows_not_reported(self) -> int:
        """Rows of the file neither reported nor blank: 0 unless something was lost."""
        if self.rows_in_file is None:
            return 0
        return self.rows_in_file - self.blank_rows - self.total

    def file_line(self) -> str:
        """Rows in the file against rows read, and the encoding when it was not UTF-8; "" when
        there is nothing to say (every row reported, UTF-8 or Excel)."""
        notable = self.encoding not in ("", "utf-8", "utf-8-sig")
        if self.rows_in_file is None or (self.rows_in_file == self.total and not notable):
            return ""
        parts = [
            f"文件中共 {self.rows_in_file:,} 行数据 rows in the file（不含表头 header excluded），"
            f"读取 {self.total:,} 行 rows read"
        ]
        if self.blank_rows:
            parts.append(f"，空行 {self.blank_rows:,} 行已跳过 blank rows skipped")
        if self.rows_not_reported:
            parts.append(f"，{self.rows_not_reported:,} 行没有结果 rows NOT reported")
        if notable:
            parts.append(f"；编码 encoding {ENCODING_NAMES.get(self.encoding, self.encoding)}")
        return "".join(parts)

    def add(self, item: Item) -> None:
        self.total += 1
        if item.ruleset_version and not self.ruleset_version:
            self.ruleset_version, self.as_of = item.ruleset_version, item.as_of
        self.outcomes[item.outcome] += 1
        township = item.township or "（未填乡镇）"
        self.townships.setdefault(township, Counter())[item.outcome] += 1
        by_rule = self.rules.setdefault(item.outcome, {})
        for r in item.reasons:
            count = by_rule.get(r.rule_id)
            if count is None:
                count = by_rule[r.rule_id] = RuleCount(r.rule_id, r.severity, r)
            count.count += 1
            if len(count.rows) < ROWS_PER_RULE:
                count.rows.append(item.row)
        if item.outcome == BAD_ROW and len(self.bad_rows) < BAD_ROWS_KEPT:
            self.bad_rows.append(item)
        if not item.passed and len(self.details) < self.detail_limit:
            self.details.append(item)

    @property
    def passed(self) -> int:
        return sum(self.outcomes[o] for o in PASSED)

    @property
    def all_passed(self) -> bool:
        return self.passed == self.total

    @property
    def rate(self) -> float:
        return self.total / self.seconds if self.seconds > 0 else 0.0

    def ordered_outcomes(self) -> list[tuple[str, int]]:
        return [(o, self.outcomes[o]) for o in OUTCOMES if self.outcomes[o]]

    def ordered_rules(self, outcome: str) -> list[RuleCount]:
        """Most frequent first; ERRORs before WARNINGs at equal counts."""
        counts = self.rules.get(outcome, {}).values()
        return sorted(counts, key=lambda c: (-c.count, -c.severity, c.rule_id))

    def ordered_townships(self) -> list[tuple[str, Counter[str]]]:
        return sorted(self.townships.items(), key=lambda t: t[0])

    def township_counts(self) -> list[tuple[str, list[int]]]:
        """Per township: stations, passed, failed, incomplete, bad rows (the reports' table)."""
        return [
            (t, [sum(c.values()), sum(c[o] for o in PASSED), c["FAIL"], c["INCOMPLETE"], c[BAD_ROW]])
            for t, c in self.ordered_townships()
        ]

    def as_dict(self) -> dict[str, object]:
        """The machine-readable summary (the end of `--format json`)."""
        return {
            "source": self.source,
            "as_of": self.as_of,
            "ruleset_version": self.ruleset_version,
            "total": self.total,
            "passed": self.passed,
            "all_passed": self.all_passed,
            "rows_in_file": self.rows_in_file,
            "blank_rows": self.blank_rows,
            "encoding": self.encoding,
            "notes": self.notes,
            "outcomes": {o: n for o, n in self.ordered_outcomes()},
            "rules": {o: {c.rule_id: c.count for c in self.ordered_rules(o)} for o in OUTCOMES if self.rules.get(o)},
            "townships": {t: dict(c) for t, c in self.ordered_townships()},
            "seconds": round(self.seconds, 3),
        }
