"""The brand table of the reference data (rules/reference/jingle-2023/brands.yaml, its first
version): every name of a brand maps to that brand, no name maps to two, and every national express
brand is there."""

from __future__ import annotations

from ruralpost.service.config import DEFAULT_RULES_DIR
from ruralpost.service.ruleset import load_ruleset

RULESET = load_ruleset(DEFAULT_RULES_DIR)
PROGRAMME = RULESET.book.programme
TABLE: dict[str, list[str]] = {b.name: list(b.aliases) for b in RULESET.reference.tables.brands}
NATIONAL = ["中国邮政", "顺丰", "中通", "圆通", "申通", "韵达", "极兔", "京东", "德邦", "百世", "丹鸟"]


def test_every_national_express_brand_is_in_the_table() -> None:
    assert set(NATIONAL) <= set(TABLE)


def test_every_name_of_a_brand_maps_to_that_brand() -> None:
    for brand, names in TABLE.items():
        for name in (brand, *names):
            assert RULESET.brand_of(name) == brand, (brand, name)


def test_no_name_maps_to_two_brands() -> None:
    """Two names that read the same once normalised (case, width, spacing, branch words) are one name."""
    seen: dict[str, str] = {}
    for brand, names in TABLE.items():
        for name in (brand, *names):
            key = PROGRAMME.brand_key(name)
            assert seen.setdefault(key, brand) == brand, f"{name!r} names both {seen[key]} and {brand}"


def test_names_as_written_reach_their_brand() -> None:
    written = {
        "中通快递股份有限公司": "中通",
        "ｚｔｏ": "中通",
        "sto express": "申通",
        "中国邮政集团有限公司山西省静乐县分公司": "中国邮政",
        "中通快递静乐分公司": "中通",
        "J&T": "极兔",
        "顺丰速运有限公司": "顺丰",
    }
    assert {name: RULESET.brand_of(name) for name in written} == written


def test_a_company_in_no_brand_is_in_no_brand() -> None:
    assert RULESET.brand_of("静乐县某某物流有限公司") is None


def test_the_hub_reason_says_a_company_in_no_brand_counts_as_itself() -> None:
    import datetime as dt

    from ruralpost.service.progress.report import hub_verdict
    from ruralpost.v1 import progress_pb2

    ruleset = load_ruleset(DEFAULT_RULES_DIR)
    hub = progress_pb2.CountyHub(name="hub", brands=["中通快递股份有限公司", "ZTO", "静乐县某某物流有限公司"])
    hub.unified_warehousing = hub.sorting = hub.delivery = True
    hub.established_on = "2023-06-20"
    passing = hub_verdict(ruleset, hub, dt.date(2023, 7, 15))
    assert [r.rule_id for r in passing.reasons] == []
    del hub.brands[2]
    (reason,) = hub_verdict(ruleset, hub, dt.date(2023, 7, 15)).reasons
    assert reason.rule_id == "HUB-BRANDS" and "1个（中通）" in reason.message
    hub.brands[:] = ["静乐县某某物流有限公司"]
    (reason,) = hub_verdict(ruleset, hub, dt.date(2023, 7, 15)).reasons
    assert "静乐县某某物流有限公司（品牌表未列，按一个品牌计）" in reason.message
