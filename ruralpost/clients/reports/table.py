"""Terminal tables: what an official reads after a run, grouped by outcome and rule.

Column widths count a Chinese character as two cells, so the columns line up in a terminal.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from ruralpost.clients.reports.labels import (
    BAD_ROW,
    BASIS_ZH,
    OUTCOME_ZH,
    PASSED,
    claim_outcome_label,
    outcome_key,
    outcome_label,
    severity_label,
    shown,
    subject_label,
    townships_not_passing,
    yuan,
)
from ruralpost.clients.reports.summary import Summary
from ruralpost.limits import MAX_CELL
from ruralpost.v1 import claim_pb2, common_pb2, progress_pb2, rules_pb2


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def clip(text: str, limit: int = MAX_CELL) -> str:
    text = " ".join(text.split())
    if width(text) <= limit:
        return text
    out, used = [], 0
    for c in text:
        w = width(c)
        if used + w > limit - 1:
            break
        out.append(c)
        used += w
    return "".join(out) + "…"


def render(headers: Sequence[str], rows: Sequence[Sequence[object]], right: Sequence[int] = ()) -> str:
    """A plain table; `right` lists the columns aligned right (numbers)."""
    cells = [[clip(str(v)) for v in r] for r in rows]
    widths = [max([width(h), *(width(r[i]) for r in cells)]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        parts = []
        for i, v in enumerate(values):
            gap = " " * (widths[i] - width(v))
            parts.append(gap + v if i in right else v + gap)
        return "  ".join(parts).rstrip()

    rule = "  ".join("─" * w for w in widths)
    return "\n".join([line(list(headers)), rule, *(line(r) for r in cells)])


def _rows_list(rows: list[int], count: int) -> str:
    shown = ", ".join(map(str, rows))
    return shown + (" …" if count > len(rows) else "")


def stations_report(summary: Summary) -> str:
    """The summary of a station batch: outcomes, then per outcome the rules that fired."""
    s = summary
    out = [
        f"站点核验结果 Station check — {s.source}",
        *(f"！{note}" for note in s.notes),
        f"共 {s.total:,} 行 rows，通过 {s.passed:,}，未通过 {s.total - s.passed:,}；"
        f"核验日期 as of {s.as_of or '—'}，规则集 ruleset {s.ruleset_version or '—'}"
        + (f"，用时 {s.seconds:.1f} 秒（{s.rate:,.0f} 行/秒）" if s.seconds else ""),
    ]
    if s.file_line():
        out.append(s.file_line())
    out.append("")
    out.append(
        render(
            ["结果 Outcome", "数量 Count", "占比 Share"],
            [[outcome_label(o), f"{n:,}", f"{n / s.total:.1%}"] for o, n in s.ordered_outcomes()],
            right=(1, 2),
        )
        if s.total
        else "（文件中没有站点 no rows）"
    )
    for outcome, count in s.ordered_outcomes():
        if outcome in PASSED and not s.rules.get(outcome):
            continue
        if outcome == BAD_ROW:
            continue
        out += ["", f"■ {outcome_label(outcome)} — {count:,} 个站点 stations"]
        out.append(
            render(
                ["规则 Rule", "级别 Severity", "站点数 Count", "原因示例 Example reason", "行号 Rows"],
                [
                    [
                        c.rule_id,
                        severity_label(c.severity),
                        f"{c.count:,}",
                        shown(c.example.message),
                        _rows_list(c.rows, c.count),
                    ]
                    for c in s.ordered_rules(outcome)
                ],
                right=(2,),
            )
        )
    if s.outcomes[BAD_ROW]:
        out += ["", f"■ {outcome_label(BAD_ROW)} — {s.outcomes[BAD_ROW]:,} 行 rows"]
        out.append(
            render(
                ["行号 Row", "列/字段 Column", "问题 Problem"],
                [[b.row, b.column or "—", b.problem] for b in s.bad_rows],
                right=(0,),
            )
        )
        if s.outcomes[BAD_ROW] > len(s.bad_rows):
            out.append(f"（仅列出前 {len(s.bad_rows)} 行，完整列表见 --format csv/json）")
    if s.townships:
        out += ["", "■ 各乡镇 By township"]
        out.append(
            render(
                ["乡镇 Township", "站点 Stations", "通过 Passed", "不通过 Fail", "资料不全 Incomplete", "坏行 Bad"],
                [[t, *(f"{n:,}" for n in counts)] for t, counts in s.township_counts()],
                right=(1, 2, 3, 4, 5),
            )
        )
    return "\n".join(out) + "\n"


TERMINAL = 120  # columns of an ordinary terminal: the rules table fits in it


def rules_table(response: rules_pb2.ListRulesResponse) -> str:
    """The active rules in an ordinary terminal (TERMINAL columns): one line of short columns per
    rule, its description on the line below (the full text: `--format json`, the console)."""
    headers = ["规则 Rule", "对象 Subject", "级别 Severity", "依据 Basis", "条款 Citation", "有效期 Effective"]
    rows = [
        [
            r.rule_id,
            subject_label(r.subject),
            severity_label(r.severity),
            BASIS_ZH.get(r.basis, "").split("（")[0],
            clip(f"{r.citation.clause} {r.citation.document}".strip(), 19),
            f"{r.effective_from or '…'} ~ {r.effective_to or '…'}" if r.effective_from or r.effective_to else "",
        ]
        for r in response.rules
    ]
    lines = render(headers, rows).split("\n")
    out = lines[:2]
    for line, r in zip(lines[2:], response.rules, strict=True):
        out += [line, "    " + clip(shown(r.description), TERMINAL - 4)]
    head = f"规则 Rules — {len(rows)} 条，规则集 ruleset {response.ruleset_version}"
    return head + "\n\n" + "\n".join(out) + "\n"


def reasons_table(reasons: Sequence[common_pb2.Reason]) -> str:
    return render(
        ["规则 Rule", "级别 Severity", "原因 Reason", "整改 Remedy"],
        [[r.rule_id, severity_label(r.severity), shown(r.message), shown(r.remedy)] for r in reasons],
    )


def claim_report(result: claim_pb2.EvaluateClaimResponse, parcel_rows: Sequence[int] = ()) -> str:
    """One claim's answer; `parcel_rows` (a parcel list) turns a rejection's index into its row."""
    r = result
    out = [
        f"补贴申报 Claim {r.claim_id}：{claim_outcome_label(r.outcome)}"
        + ("（已提交 committed）" if r.committed else "（试算 dry run，未提交）"),
        f"符合 eligible {r.eligible_pieces:,} 件，剔除 rejected {r.rejected_pieces:,} 件，"
        f"核定金额 approved {yuan(r.approved_amount_fen)}；规则集 ruleset {r.ruleset_version}",
    ]
    if r.reasons:
        out += ["", "■ 申报层面的原因 Claim-level reasons", reasons_table(r.reasons)]
    if r.tallies:
        out += ["", "■ 剔除的快件（按规则）Rejected parcels by rule"]
        out.append(render(["规则 Rule", "件数 Parcels"], [[t.rule_id, f"{t.count:,}"] for t in r.tallies], right=(1,)))
    if r.rejections:
        shown = list(r.rejections[:20])
        out += ["", f"■ 剔除明细 Rejections（前 {len(shown)} / {len(r.rejections):,}）"]

        def where(index: int) -> str:
            if parcel_rows:
                return f"第{parcel_rows[index]}行" if 0 <= index < len(parcel_rows) else "?"
            return f"第{index + 1}件"

        out.append(
            render(
                ["位置 Where", "运单号 Waybill", "规则 Rules", "原因 Reason"],
                [[where(j.index), j.waybill, ", ".join(j.rule_ids), rejection_text(j)] for j in shown],
            )
        )
    return "\n".join(out) + "\n"


def rejection_text(j: claim_pb2.ParcelRejection) -> str:
    """Each rule's Chinese message; an older server sends only the ids."""
    return "；".join(shown(r.message) for r in j.reasons) or ", ".join(j.rule_ids)


def progress_report(report: progress_pb2.ProgressReport) -> str:
    p = report
    v = p.verdict
    behind = townships_not_passing(p)
    out = [
        f"建设进度 Progress — {p.programme}，截至 as of {p.as_of}：全县 county "
        f"{outcome_label(outcome_key(v.outcome))}"
        + (f"；未通过的乡镇 townships not passing：{'、'.join(behind)}" if behind else ""),
        f"乡镇站 township stations {p.township_stations_done}/{p.township_stations_goal}，"
        f"村级点 village points {p.village_points_filed}/{p.village_points_goal}"
        + (f"，要求比例 required {p.required_fraction:.0%}" if p.required_fraction else ""),
        "",
    ]
    out.append(
        render(
            [
                "乡镇 Township",
                "乡镇站 Stations",
                "村级点备案 Points filed",
                "合规 Compliant",
                "结果 Outcome",
                "原因 Reasons",
            ],
            [
                [
                    t.township,
                    f"{t.township_stations_done}/{t.township_stations_target}",
                    f"{t.village_points_filed}/{t.village_points_target}",
                    t.village_points_compliant,
                    OUTCOME_ZH.get(outcome_key(t.outcome), ""),
                    "；".join(shown(r.message) for r in t.reasons),
                ]
                for t in p.townships
            ],
            right=(1, 2, 3),
        )
    )
    if v.reasons:
        out += ["", "■ 全县 County", reasons_table(v.reasons)]
    if p.HasField("hub"):
        out += ["", f"■ 县级共配中心 County hub：{outcome_label(outcome_key(p.hub.outcome))}"]
        if p.hub.reasons:
            out.append(reasons_table(p.hub.reasons))
    return "\n".join(out) + "\n"
