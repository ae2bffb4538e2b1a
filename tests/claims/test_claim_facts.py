"""Claim facts: parcels group by the facts parcel rules read, so the engine runs a handful of times."""

from __future__ import annotations

import datetime as dt

from ruralpost.service.claims.evaluate import county_code_resolver, evaluate_claim, no_registry, township_code_resolver
from ruralpost.service.claims.facts import group_parcels, shipped_period, waybill_chars
from ruralpost.service.claims.period import Period
from ruralpost.service.config import DEFAULT_RULES_DIR
from ruralpost.service.ruleset import load_ruleset
from ruralpost.v1 import claim_pb2, common_pb2

RULESET = load_ruleset(DEFAULT_RULES_DIR)
PROGRAMME = RULESET.book.programme


def upbound(n: int) -> claim_pb2.Claim:
    categories, platforms = ["藜麦", "马铃薯", "胡麻油"], ["拼多多", "抖店"]
    return claim_pb2.Claim(
        claim_id="G-1",
        operator="山西壹公里信息科技有限公司",
        kind=claim_pb2.CLAIM_KIND_UPBOUND_AGRICULTURAL,
        period="2023-07",
        declared_pieces=n,
        requested_amount_fen=100 * n,
        parcels=[
            claim_pb2.Parcel(
                waybill=f"SF{i:010d}",
                shipped_on=f"2023-07-{1 + i % 31:02d}",
                product_category=categories[i % 3],
                platform=platforms[i % 2],
                origin_county="静乐县",
                destination_county=f"外县{i % 7}",
            )
            for i in range(n)
        ],
    )


def groups(claim: claim_pb2.Claim, paid: set[str] | None = None) -> list[list[int]]:
    g = group_parcels(
        claim,
        RULESET.reference,
        county_code_resolver(PROGRAMME),
        township_code_resolver(PROGRAMME),
        lambda ws: (paid or set()) & set(ws),
        {},
    )
    return g.members


def test_ten_thousand_parcels_make_a_handful_of_groups() -> None:
    claim = upbound(10_000)
    members = groups(claim)
    # 3 products and 2 platforms, all in the reference data's lists (the rules read their status,
    # not the names), destinations all outside, one date period, one length: one group
    assert len(members) == 1 and sum(len(m) for m in members) == 10_000
    result = evaluate_claim(RULESET, claim, Period.parse("2023-07"), lambda ws: set(), no_registry)
    assert result.response.eligible_pieces == 10_000 and result.response.approved_amount_fen == 1_000_000


def test_unlisted_names_group_apart_from_listed_ones() -> None:
    claim = upbound(30)
    claim.parcels[4].product_category = "松花粉"  # in no list: held for review
    claim.parcels[5].product_category = "手机壳"  # a reviewer's "not a farm product": rejected
    claim.parcels[6].platform = "某某团购群"  # in no list: held
    assert sorted(len(m) for m in groups(claim)) == [1, 1, 1, 27]
    r = evaluate_claim(RULESET, claim, Period.parse("2023-07"), lambda ws: set(), no_registry).response
    assert (r.eligible_pieces, r.rejected_pieces, r.held_pieces) == (27, 1, 2)
    assert [(h.index, h.rule_id) for h in r.held] == [(4, "SUB-UP-AGRI-REVIEW"), (6, "SUB-UP-PLATFORM-REVIEW")]
    assert "松花粉" in r.held[0].message and "某某团购群" in r.held[1].message
    assert r.held[0].severity == common_pb2.SEVERITY_WARNING
    assert r.approved_amount_fen == 2700 and r.reference_version == RULESET.reference.version


def test_paid_and_duplicate_waybills_split_their_group_only() -> None:
    claim = upbound(60)
    claim.parcels.append(claim_pb2.Parcel(**{f.name: v for f, v in claim.parcels[0].ListFields()}))
    members = groups(claim, paid={"SF0000000006"})
    assert len(members) == 3 and [len(m) for m in members if len(m) == 1] == [1, 1]
    assert sorted(i for m in members if len(m) == 1 for i in m) == [6, 60]


def test_waybill_chars_and_periods() -> None:
    assert [waybill_chars(w) for w in ("123", "ABC", "AB12", "AB-12", "运单1", "")] == ["9", "A", "9A", "9?A", "9?", ""]
    assert shipped_period("2023-07-31") == "2023-07"
    assert [shipped_period(s) for s in ("2023-02-29", "2023-7-01", "", "2023/07/01")] == ["", "", "", ""]
    feb = Period.parse("2024-02")
    assert (feb.first, feb.last, feb.number) == (dt.date(2024, 2, 1), dt.date(2024, 2, 29), 202402)
    assert Period.parse("2023-12").last == dt.date(2023, 12, 31)
