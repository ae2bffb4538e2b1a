"""Every rule's firing golden case, rendered as an inspector reads it (the CLI's tables and the HTML
report): no raw enum name (SEND, BARCODE_SCANNER, PASS_WITH_WARNINGS, RULE_BASIS_…) and no bare
operator (>=, <=, !=) anywhere in the text."""

from __future__ import annotations

import re

import pytest
from google.protobuf import json_format

from ruralpost.clients.reports import html, table
from ruralpost.clients.reports.labels import ENUM_WORDS, outcome_key, shown
from ruralpost.clients.reports.summary import Item, Summary
from ruralpost.service.claims.evaluate import evaluate_claim
from ruralpost.service.claims.validate import validate_claim_request
from ruralpost.service.config import DEFAULT_RULES_DIR
from ruralpost.service.golden import cases
from ruralpost.service.ruleset import RuleSet, load_ruleset
from ruralpost.v1 import claim_pb2, common_pb2

# (not inside a rule id such as STN-SERVICES-SEND)
RAW = re.compile(
    r"(?<![\w-])[A-Z][A-Z0-9]*_[A-Z0-9_]+(?![\w-])"  # an identifier: PASS_WITH_WARNINGS, RULE_BASIS_SEED
    rf"|(?<![\w-])(?:{'|'.join(sorted(ENUM_WORDS))}|SEED|INFERRED)(?![\w-])"  # one word: SEND, SHELVES
    r"|>=|<=|!="
)
_MARKUP = re.compile(r"<style.*?</style>|<[^>]+>", re.DOTALL)


def visible(page: str) -> str:
    """The text of an HTML page as a reader sees it (not its tags and class names)."""
    return _MARKUP.sub(" ", page)


@pytest.fixture(scope="module")
def ruleset() -> RuleSet:
    return load_ruleset(DEFAULT_RULES_DIR)


def raw_names(text: str) -> list[str]:
    return sorted({m[0] for m in RAW.finditer(text)})


def test_the_display_words() -> None:
    assert shown("DELIVER,RECEIVE") == "收件、投递"
    assert shown("BARCODE_SCANNER,RECEPTION_DESK,SHELVES") == "接待台席、货架、巴枪"
    assert shown("含寄件（SEND）") == "含寄件"
    assert shown(">= 4（2023-06-30后）") == "≥ 4（2023-06-30后）"
    assert shown("true") == "是" and shown("XZ0004") == "XZ0004" and shown("YYYY-MM-DD") == "YYYY-MM-DD"
    # a name written against Chinese text is still a name (as the console's script reads it)
    assert shown("没有tier TOWNSHIP_STATION的标准") == "没有tier 乡镇快递综合服务站的标准"
    assert raw_names("通过（有提醒） PASS_WITH_WARNINGS; >= 10; SEND; RULE_BASIS_SEED") == [
        ">=",
        "PASS_WITH_WARNINGS",
        "RULE_BASIS_SEED",
        "SEND",
    ]


def test_every_firing_golden_case_reads_in_words(ruleset: RuleSet) -> None:
    found: dict[str, list[str]] = {}
    fired = 0
    for case in cases.load_cases(DEFAULT_RULES_DIR):
        if not case.rule_ids:
            continue
        result = cases.RUNNERS[case.pack](ruleset, case)
        reasons = list(result.reasons)
        texts = [table.reasons_table(reasons)]
        if reasons and result.outcome.startswith("OUTCOME_"):
            summary = Summary(source=case.name)
            outcome = outcome_key(common_pb2.Outcome.Value(result.outcome))
            summary.add(Item(row=2, station_id=case.name, township="康家会镇", outcome=outcome, reasons=reasons))
            texts += [table.stations_report(summary), visible(html.check_report(summary))]
        if case.pack == "subsidy":
            claim = json_format.ParseDict(case.input.get("claim") or {}, claim_pb2.Claim())
            programme = ruleset.book.programme
            assert programme.subsidy is not None
            period = validate_claim_request(True, claim, programme.id, programme.subsidy.max_parcels)
            paid = frozenset(str(w) for w in case.input.get("paid") or ())
            registry = cases._CaseRegistry([], cases._registered(ruleset, list(case.input.get("registry") or ())))
            response = evaluate_claim(
                ruleset,
                claim,
                period,
                lambda waybills, paid=paid: set(paid) & set(waybills),
                registry.stations_with_codes,
            ).response
            texts.append(table.claim_report(response))
        fired += 1
        raw = raw_names("\n".join(texts))
        if raw:
            found[f"{case.path.name}: {case.name}"] = raw
    assert fired > 60
    assert found == {}
