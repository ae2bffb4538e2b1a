"""Words people read for the service's codes: outcomes, severities, kinds (中文 first, English beside)."""

from __future__ import annotations

from ruralpost.v1 import claim_pb2, common_pb2, progress_pb2, station_pb2

# Outcome keys of a batch item: the verdict's outcome, or BAD_ROW when the row got no verdict.
PASS = "PASS"
PASS_WITH_WARNINGS = "PASS_WITH_WARNINGS"
FAIL = "FAIL"
INCOMPLETE = "INCOMPLETE"
BAD_ROW = "BAD_ROW"
OUTCOMES = (FAIL, INCOMPLETE, BAD_ROW, PASS_WITH_WARNINGS, PASS)  # worst first: the order of reports
PASSED = frozenset({PASS, PASS_WITH_WARNINGS})
OUTCOME_KEYS_CHART = (PASS, PASS_WITH_WARNINGS, INCOMPLETE, FAIL, BAD_ROW)  # good on the left

OUTCOME_ZH = {
    PASS: "通过",
    PASS_WITH_WARNINGS: "通过（有提醒）",
    FAIL: "不通过",
    INCOMPLETE: "资料不全",
    BAD_ROW: "无法核验（坏行）",
}
OUTCOME_EN = {
    PASS: "pass",
    PASS_WITH_WARNINGS: "pass with warnings",
    FAIL: "fail",
    INCOMPLETE: "incomplete",
    BAD_ROW: "bad row",
}
OUTCOME_COLOR = {
    PASS: "#2e7d32",
    PASS_WITH_WARNINGS: "#9ccc65",
    INCOMPLETE: "#f9a825",
    FAIL: "#c62828",
    BAD_ROW: "#616161",
}

SEVERITY_ZH: dict[int, str] = {
    common_pb2.SEVERITY_ERROR: "错误",
    common_pb2.SEVERITY_WARNING: "提醒",
    common_pb2.SEVERITY_INFO: "提示",
    common_pb2.SEVERITY_UNSPECIFIED: "",
}
SEVERITY_EN: dict[int, str] = {
    common_pb2.SEVERITY_ERROR: "ERROR",
    common_pb2.SEVERITY_WARNING: "WARNING",
    common_pb2.SEVERITY_INFO: "INFO",
    common_pb2.SEVERITY_UNSPECIFIED: "",
}

BASIS_ZH: dict[int, str] = {
    common_pb2.RULE_BASIS_PROGRAMME: "方案原文",
    common_pb2.RULE_BASIS_NATIONAL: "国家规定",
    common_pb2.RULE_BASIS_INFERRED: "据方案推定",
    common_pb2.RULE_BASIS_SETTING: "系统设定（待确认）",
    common_pb2.RULE_BASIS_UNSPECIFIED: "",
}
BASIS_EN: dict[int, str] = {
    common_pb2.RULE_BASIS_PROGRAMME: "programme",
    common_pb2.RULE_BASIS_NATIONAL: "national",
    common_pb2.RULE_BASIS_INFERRED: "inferred",
    common_pb2.RULE_BASIS_SETTING: "setting",
    common_pb2.RULE_BASIS_UNSPECIFIED: "",
}

KIND_ZH: dict[int, str] = {
    station_pb2.STATION_KIND_TOWNSHIP_STATION: "乡镇站",
    station_pb2.STATION_KIND_VILLAGE_POINT: "村级点",
}

CLAIM_OUTCOME_ZH: dict[int, str] = {
    claim_pb2.CLAIM_OUTCOME_ELIGIBLE: "符合补贴条件",
    claim_pb2.CLAIM_OUTCOME_PARTIALLY_ELIGIBLE: "部分符合",
    claim_pb2.CLAIM_OUTCOME_INELIGIBLE: "不符合",
    claim_pb2.CLAIM_OUTCOME_UNSPECIFIED: "未知",
}


def outcome_key(outcome: int) -> str:
    """The batch key of a verdict outcome ("OUTCOME_FAIL" -> "FAIL")."""
    return common_pb2.Outcome.Name(outcome).removeprefix("OUTCOME_")  # type: ignore[arg-type, unused-ignore]


def outcome_label(key: str) -> str:
    return f"{OUTCOME_ZH.get(key, key)} {key}"


def severity_label(severity: int) -> str:
    return f"{SEVERITY_ZH.get(severity, '')} {SEVERITY_EN.get(severity, '')}".strip()


def basis_label(basis: int) -> str:
    return f"{BASIS_ZH.get(basis, '')} {BASIS_EN.get(basis, '')}".strip()


def claim_outcome_label(outcome: int) -> str:
    name = claim_pb2.ClaimOutcome.Name(outcome).removeprefix("CLAIM_OUTCOME_")  # type: ignore[arg-type, unused-ignore]
    return f"{CLAIM_OUTCOME_ZH.get(outcome, '')} {name}"


def yuan(fen: int) -> str:
    """Money for people: fen as yuan with two decimals (¥1,234.50)."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


def townships_not_passing(report: progress_pb2.ProgressReport) -> list[str]:
    """The county verdict holds only the county rules: a township behind fails on its own."""
    return [t.township for t in report.townships if outcome_key(t.outcome) not in PASSED]
