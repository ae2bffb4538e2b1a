"""Fired rules + rule metadata -> Reasons (messages with actual values, citation, remedy) -> Outcome."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ruralpost.service.engine import Firing
from ruralpost.service.rulebook.packs import FactSpec, Rule, Severity
from ruralpost.v1 import common_pb2

SEVERITY = {
    Severity.INFO: common_pb2.SEVERITY_INFO,
    Severity.WARNING: common_pb2.SEVERITY_WARNING,
    Severity.ERROR: common_pb2.SEVERITY_ERROR,
}
_RANK: dict[int, int] = {common_pb2.SEVERITY_ERROR: 0, common_pb2.SEVERITY_WARNING: 1, common_pb2.SEVERITY_INFO: 2}
BASIS = {
    "programme": common_pb2.RULE_BASIS_PROGRAMME,
    "national": common_pb2.RULE_BASIS_NATIONAL,
    "inferred": common_pb2.RULE_BASIS_INFERRED,
    "setting": common_pb2.RULE_BASIS_SETTING,
}
MISSING_SEVERITY = common_pb2.SEVERITY_WARNING
NOT_GIVEN = "（未填）"
# A reason from a `setting` rule says so, the one place that does it for every such rule: the
# number, format or list it applies is ours, not the programme's, until the county confirms it.
SETTING_MARK_ZH = "（系统设定，待确认）"
SETTING_MARK_EN = " (a setting, to be confirmed by the county)"


class Values(dict[str, str]):
    """Template values where an absent one reads （未填）; a subclass may make values as they are read."""

    def __missing__(self, key: str) -> str:
        return NOT_GIVEN


def fill(template: str, values: Mapping[str, str]) -> str:
    """A message template with the fact's values; an absent value reads （未填）."""
    return template.format_map(values if isinstance(values, Values) else Values(values))


def citation(rule: Rule) -> common_pb2.Citation:
    """Where an official finds the rule, and its basis (every reason carries it)."""
    return common_pb2.Citation(document=rule.citation_document, clause=rule.citation_clause, basis=BASIS[rule.basis])


def messages(rule: Rule, values: Mapping[str, str]) -> tuple[str, str]:
    """The rule's Chinese and English message with the values, marked when it is a setting."""
    setting = rule.basis == "setting"
    return (
        fill(rule.message_zh, values) + (SETTING_MARK_ZH if setting else ""),
        fill(rule.message_en, values) + (SETTING_MARK_EN if setting else ""),
    )


def reason(rule: Rule, severity: Severity, values: Mapping[str, str]) -> common_pb2.Reason:
    message, message_en = messages(rule, values)
    return common_pb2.Reason(
        rule_id=rule.id,
        severity=SEVERITY[severity],
        message=message,
        message_en=message_en,
        field=fill(rule.field, values),
        expected=fill(rule.expected, values),
        actual=fill(rule.actual, values),
        remedy=fill(rule.remedy, values),
        citation=citation(rule),
    )


def missing_reason(spec: FactSpec, rule: Rule, advisory: bool = False) -> common_pb2.Reason:
    """One reason per missing fact, naming the item as an inspector does (标识牌编号未填写); the
    request's field path stays in `field`. A fact only advice reads is 未填报 and blocks nothing."""
    if advisory:
        message = f"{spec.label_zh}未填报（仅涉及提醒项，不影响核查结论）"
        message_en = f"{spec.label_en} not given (only advice reads it; the verdict does not wait for it)"
    else:
        message = f"{spec.label_zh}未填写，无法核查"
        message_en = f"{spec.label_en} not given; {rule.id} cannot be decided"
    return common_pb2.Reason(
        rule_id=spec.missing_id,
        severity=MISSING_SEVERITY,
        message=message,
        message_en=message_en,
        field=spec.field,
        expected="已填写",
        actual=NOT_GIVEN,
        remedy=f"补填{spec.label_zh}",
        citation=citation(rule),
    )


def rank(severity: int, missing: bool, order: int) -> tuple[int, int, int]:
    """Where a reason stands: ERRORs, WARNINGs (a missing fact after the others), INFOs; then
    catalogue order."""
    return _RANK.get(severity, 3), int(missing), order


def reasons_for(firing: Firing, values: Callable[[], Mapping[str, str]]) -> list[common_pb2.Reason]:
    """Reasons in `rank` order. `values` is called only when something fired: display values
    cost more than the check."""
    if not firing.violations and not firing.missing:
        return []
    shown = values()
    shown = shown if isinstance(shown, Values) else Values(shown)  # wrapped once, not per template
    ranked = [
        (rank(SEVERITY[v.severity], False, v.rule.order), reason(v.rule, v.severity, shown)) for v in firing.violations
    ]
    ranked += [
        (rank(MISSING_SEVERITY, True, rule.order), missing_reason(spec, rule, spec.missing_id in firing.advisory))
        for spec, rule in firing.missing
    ]
    ranked.sort(key=lambda r: r[0])
    return [r[1] for r in ranked]


def sort_reasons(reasons: list[common_pb2.Reason], rules: Mapping[str, Rule]) -> list[common_pb2.Reason]:
    """Reasons gathered from several evaluations, in `rank` order (stable for equal ranks)."""
    return sorted(
        reasons, key=lambda r: rank(r.severity, False, rules[r.rule_id].order if r.rule_id in rules else len(rules))
    )


def outcome(reasons: list[common_pb2.Reason], incomplete: bool) -> common_pb2.Outcome.ValueType:
    """FAIL on any ERROR, else INCOMPLETE on a missing fact that more than advice needs, else
    PASS_WITH_WARNINGS on any WARNING (a missing fact that only advice reads is one), else PASS."""
    severities = {r.severity for r in reasons}
    if common_pb2.SEVERITY_ERROR in severities:
        return common_pb2.OUTCOME_FAIL
    if incomplete:
        return common_pb2.OUTCOME_INCOMPLETE
    if any(r.severity == common_pb2.SEVERITY_WARNING for r in reasons):  # a missing fact here is advice only
        return common_pb2.OUTCOME_PASS_WITH_WARNINGS
    return common_pb2.OUTCOME_PASS


def verdict(
    subject_id: str, firing: Firing, values: Callable[[], Mapping[str, str]], ruleset_version: str, as_of: str
) -> common_pb2.Verdict:
    reasons = reasons_for(firing, values)
    return common_pb2.Verdict(
        subject_id=subject_id,
        outcome=outcome(reasons, firing.incomplete),
        reasons=reasons,
        ruleset_version=ruleset_version,
        evaluated_as_of=as_of,
    )
