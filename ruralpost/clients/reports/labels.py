"""Words people read for the service's codes: outcomes, severities, kinds (中文 first, English beside)."""

from __future__ import annotations

import re

from ruralpost.clients.reports import words
from ruralpost.v1 import claim_pb2, common_pb2, progress_pb2, station_pb2

# The text encodings a file is read in, as the reports and the read errors name them.
ENCODING_NAMES = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8（带 BOM）",
    "utf-16": "UTF-16",
    "utf-16-le": "UTF-16LE",
    "utf-16-be": "UTF-16BE",
    "gb18030": "GB18030/GBK",
}

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

# What a rule judges (ListRules' `subject`), in words.
SUBJECT_ZH: dict[str, str] = {
    "station": "站点",
    "station_reason": "站点（进度汇总）",
    "township": "乡镇",
    "county": "全县",
    "county_hub": "县级共配中心",
    "claim": "补贴申报",
    "claim_amount": "申报金额",
    "parcel": "快件",
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
    """通过（有提醒） PASS WITH WARNINGS: the Chinese, then the name in words, not an identifier."""
    return f"{OUTCOME_ZH.get(key, key)} {key.replace('_', ' ')}"


def severity_label(severity: int) -> str:
    return f"{SEVERITY_ZH.get(severity, '')} {SEVERITY_EN.get(severity, '')}".strip()


def claim_outcome_label(outcome: int) -> str:
    name = claim_pb2.ClaimOutcome.Name(outcome).removeprefix("CLAIM_OUTCOME_")  # type: ignore[arg-type, unused-ignore]
    return f"{CLAIM_OUTCOME_ZH.get(outcome, '')} {name.replace('_', ' ')}"


def yuan(fen: int) -> str:
    """Money for people: fen as yuan with two decimals (¥1,234.50)."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


def townships_not_passing(report: progress_pb2.ProgressReport) -> list[str]:
    """The county verdict holds only the county rules: a township behind fails on its own."""
    return [t.township for t in report.townships if outcome_key(t.outcome) not in PASSED]


def hub_entries(hub: progress_pb2.CountyHub) -> list[tuple[str, str, str]]:
    """The county hub as it was entered, (Chinese label, English label, value) per field, so a
    report says what its hub verdict judged; a yes/no not given reads （未填）, never 否."""

    def said(given: bool, value: bool) -> str:
        return "（未填）not given" if not given else "是 yes" if value else "否 no"

    return [
        ("名称", "name", hub.name.strip() or "（未填）not given"),
        ("参与快递品牌", "brands", "、".join(b.strip() for b in hub.brands if b.strip()) or "（未填）not given"),
        ("统一仓储", "unified warehousing", said(hub.HasField("unified_warehousing"), hub.unified_warehousing)),
        ("统一分拣", "sorting", said(hub.HasField("sorting"), hub.sorting)),
        ("统一配送", "delivery", said(hub.HasField("delivery"), hub.delivery)),
        ("建成日期", "established on", hub.established_on or "（未填）not given"),
    ]


def subject_label(subject: str) -> str:
    return SUBJECT_ZH.get(subject, subject)


# ---- values in reasons (actual, expected, messages) in the words people typed

# enum value name (no prefix) -> (the template's Chinese word, the number that orders a list)
_ENUMS = (
    words.KIND,
    words.MODE,
    words.PLACEMENT,
    words.SERVICE,
    words.EQUIPMENT,
    words.STATUS,
    words.CLAIM_KIND,
)
ENUM_WORDS: dict[str, tuple[str, int]] = {
    name: (spec.zh.get(number, name), number) for spec in _ENUMS for name, number in spec.names.items()
}
_PREFIXES = tuple(spec.prefix for spec in _ENUMS)
_TOKEN = r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*"
_PAREN = re.compile(rf"[（(]({_TOKEN}(?:\s*[/、,]\s*{_TOKEN})*)[）)]")
# A name stands alone between characters that are not ASCII word characters, as the console
# script's `\b` reads it: Python's Unicode `\b` would see none in 乡镇站TOWNSHIP_STATION的标准.
_EDGE = "(?<![A-Za-z0-9_])", "(?![A-Za-z0-9_])"
_LIST = re.compile(rf"{_EDGE[0]}{_TOKEN}(?:\s*[,;]\s*{_TOKEN})*{_EDGE[1]}")
_OPERATORS = ((">=", "≥"), ("<=", "≤"), ("!=", "≠"), ("==", "="))
_BOOLEAN = {"true": "是", "false": "否"}


def _word(token: str) -> tuple[str, int] | None:
    if token.endswith("_UNSPECIFIED"):
        return ("未填", 0)
    for prefix in _PREFIXES:
        if token.startswith(prefix):
            token = token.removeprefix(prefix)
            break
    return ENUM_WORDS.get(token)


def _words(tokens: str) -> list[str] | None:
    """The Chinese words of a list of enum names (in the enum's order), None if one is not an enum."""
    found = [_word(t) for t in re.split(r"\s*[,;/、]\s*", tokens.strip())]
    known = [w for w in found if w is not None]
    if len(known) < len(found):
        return None
    return [word for word, _ in sorted(known, key=lambda w: w[1])]


def shown(text: str) -> str:
    """A reason's value as an inspector reads it: enum names as the template's Chinese words
    (DELIVER,RECEIVE -> 收件、投递; 含寄件（SEND） -> 含寄件), true/false as 是/否, >= as ≥."""
    if text in _BOOLEAN:
        return _BOOLEAN[text]

    def paren(match: re.Match[str]) -> str:
        words = _words(match[1])
        if words is None:
            return match[0]
        said = "、".join(words)
        return "" if match.string[: match.start()].endswith(said) else f"（{said}）"

    def listed(match: re.Match[str]) -> str:
        words = _words(match[0])
        return match[0] if words is None else "、".join(words)

    text = _LIST.sub(listed, _PAREN.sub(paren, text))
    for operator, sign in _OPERATORS:
        text = text.replace(f"{operator} ", f"{sign} ").replace(operator, f"{sign} ")
    return text


def console_labels() -> dict[str, object]:
    """The same words for the web console's script (it renders reasons, subjects and bases)."""
    return {
        "enum_words": {name: list(word) for name, word in ENUM_WORDS.items()},
        "prefixes": list(_PREFIXES),
        "subjects": SUBJECT_ZH,
        "bases": {common_pb2.RuleBasis.Name(n): zh for n, zh in BASIS_ZH.items() if zh},  # type: ignore[arg-type, unused-ignore]
    }
