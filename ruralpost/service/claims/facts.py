"""Claim -> facts: the programme's subsidy configuration, the reference data, the parcel grouping.

The rules (rules/subsidy.yaml) decide; this module only resolves names against the reference data
(operator roster, product catalogue, platforms) and the programme (county, township), and computes
the cross-record facts (duplicate within the claim, already paid, the delivering station in the
county registry) the engine cannot. A product or platform resolves to a status: `listed`,
`refused` (a reviewer decided it is not a farm product / not an e-commerce platform), `unlisted`
(in no list: the rules hold the parcel for review) or `missing`. A claim's parcels repeat, so
parcels are grouped by the facts the parcel rules read and each group is evaluated once.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ruralpost.limits import MAX_CODE
from ruralpost.service.claims.period import Period
from ruralpost.service.dates import date_or_none, day_number
from ruralpost.service.refdata.lookup import ReferenceData
from ruralpost.service.refdata.model import Operator, Rate
from ruralpost.service.rulebook.subsidy import DOWNBOUND, UPBOUND, SubsidyConfig
from ruralpost.service.stations.opening import open_on
from ruralpost.service.store import RegisteredStation
from ruralpost.v1 import claim_pb2, station_pb2

Fact = dict[str, Any]

KIND_NAMES = {claim_pb2.CLAIM_KIND_UPBOUND_AGRICULTURAL: UPBOUND, claim_pb2.CLAIM_KIND_DOWNBOUND_PARCEL: DOWNBOUND}
KIND_ZH = {UPBOUND: "电商平台销往县域外农副产品（上行）", DOWNBOUND: "下行快件"}
KIND_EN = {UPBOUND: "upbound agricultural", DOWNBOUND: "downbound parcel"}
TIER_EN = {"VILLAGE_POINT": " handed over by a village point", "TOWNSHIP_STATION": " handed over by a township station"}
TIER_ZH = {"VILLAGE_POINT": "（村级快递便民服务点交付）", "TOWNSHIP_STATION": "（乡镇快递综合服务站交付）"}
SHOWN_CHARS = 64  # waybills and names echoed back are clipped: a malformed parcel may carry anything

# The facts each kind of parcel is judged on, in the order of the group key.
COMMON_FIELDS = ("shipped_period", "waybill_chars", "waybill_length", "dup_in_claim", "paid_before")
UPBOUND_FIELDS = (
    "product_status",
    "platform_status",
    "origin_county_code",
    "destination_county_code",
    "destination_given",
)
LISTED, REFUSED, UNLISTED, MISSING = "listed", "refused", "unlisted", "missing"
# station_registered: the code is on a current registration of the county; station_in_township: one
# of those stations is registered in the destination township; station_open:
# that one was open on the shipping date; tier: its kind (SUB-DOWN-STATION, docs/rules.md)
DOWNBOUND_FIELDS = (
    "destination_township_code",
    "station_registered",
    "station_in_township",
    "station_open",
    "tier",
    "delivered_to_address",
    "fee_charged_fen",
)

# sign code -> the county's stations whose current registration shows it (Store.stations_with_codes)
StationsByCode = Mapping[str, Sequence[RegisteredStation]]


def clip(text: str) -> str:
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


def roster_entry(claim: claim_pb2.Claim, reference: ReferenceData) -> Operator | None:
    """The operator's entry on the roster of the claim's kind (with no kind, SUB-KIND speaks: any)."""
    kind = KIND_NAMES.get(claim.kind, "")
    if kind:
        return reference.operator(claim.operator, kind)
    return next(iter(reference.on_any_roster(claim.operator)), None)


def claim_fact(
    claim: claim_pb2.Claim, period: Period, reference: ReferenceData, township_code: Callable[[str], str]
) -> Fact:
    """The claim as the claim-level rules see it."""
    kind = KIND_NAMES.get(claim.kind, "")
    op = roster_entry(claim, reference)
    fact: Fact = {
        "kind": kind,
        "operator": claim.operator.strip(),
        "operator_listed": op is not None,
        "operator_from_day": day_number(op.approved_from) if op and op.approved_from else 0,
        "period": period.text,
        "period_number": period.number,
        "period_first_day": day_number(period.first),
        "period_last_day": day_number(period.last),
        "as_of_day": day_number(period.last),
        "declared_pieces": int(claim.declared_pieces),
        "listed_pieces": len(claim.parcels),
    }
    if op and op.suspended_from:
        fact["operator_suspended_day"] = day_number(op.suspended_from)
    if claim.township.strip():
        fact["township"] = claim.township.strip()
        fact["township_code"] = township_code(claim.township)
    return fact


def claim_display(
    claim: claim_pb2.Claim, fact: Fact, config: SubsidyConfig, reference: ReferenceData
) -> dict[str, str]:
    """Values for claim-level message templates."""
    kind = fact["kind"]
    op = roster_entry(claim, reference)
    keeper = config.roster_keepers.get(kind) or "、".join(dict.fromkeys(config.roster_keepers.values()))
    if not claim.operator.strip():
        status, status_en = "未填写", "not given"
    elif op is None and kind and reference.on_any_roster(claim.operator):
        status, status_en = f"不在{keeper}的{KIND_ZH[kind]}运营企业名单内", f"not on {keeper}'s {KIND_EN[kind]} roster"
    elif op is None:
        status, status_en = f"不在{keeper}审核的运营企业名单内", f"not on the roster kept by {keeper}"
    elif op.suspended_from and fact["operator_suspended_day"] <= fact["period_last_day"]:
        status, status_en = f"自{op.suspended_from}起暂停资格", f"suspended from {op.suspended_from}"
    elif op.approved_from and fact["operator_from_day"] > fact["period_first_day"]:
        status, status_en = f"自{op.approved_from}起方获核定", f"approved only from {op.approved_from}"
    else:
        status, status_en = "资格有效", "approved"
    shown = {k: str(v) for k, v in fact.items()}
    shown.update(
        roster_keeper=keeper,
        operator=clip(claim.operator.strip()) or "（未填）",
        operator_status=status,
        operator_status_en=status_en,
        kind_zh=KIND_ZH.get(kind, "补贴"),
        kind_en=KIND_EN.get(kind, "subsidy"),
        kind_shown=claim_pb2.ClaimKind.Name(claim.kind)
        if claim.kind in KIND_NAMES or claim.kind == 0
        else str(claim.kind),
    )
    for key in ("requested_amount_fen", "computed_amount_fen"):
        if key in fact:
            shown[key.replace("amount_fen", "yuan")] = f"{fact[key] / 100:.2f}"
    return shown


def parcel_display(parcel: claim_pb2.Parcel, claim_period: str) -> dict[str, str]:
    """Values for parcel message templates: the parcel's own words, clipped."""
    return {
        "waybill": clip(parcel.waybill.strip()),
        "shipped_on": clip(parcel.shipped_on.strip()),
        "product_category": clip(parcel.product_category.strip()),
        "platform": clip(parcel.platform.strip()),
        "origin_county": clip(parcel.origin_county.strip()),
        "destination_county": clip(parcel.destination_county.strip()),
        "destination_township": clip(parcel.destination_township.strip()),
        "station_code": clip(parcel.station_code.strip()),
        "fee_charged_yuan": f"{parcel.fee_charged_fen / 100:.2f}",
        "claim_period": claim_period,
    }


def waybill_chars(waybill: str) -> str:
    """The classes of characters a waybill uses, sorted: 9 ASCII digit, A ASCII letter, ? other."""
    if waybill.isascii() and waybill.isalnum():
        return "9" if waybill.isdigit() else "A" if waybill.isalpha() else "9A"
    classes = {
        "9" if c.isascii() and c.isdigit() else "A" if c.isascii() and c.isalpha() else "?"
        for c in waybill[:SHOWN_CHARS]
    }
    return "".join(sorted(classes))


def shipped_period(shipped_on: str) -> str:
    """YYYY-MM of a YYYY-MM-DD date, or "" when it is not one."""
    return shipped_on[:7] if date_or_none(shipped_on) else ""


@dataclass
class ParcelGroups:
    """The claim's parcels grouped by the facts the parcel rules read.

    `keys[k]` is the group's fact values (COMMON_FIELDS + the kind's fields), `members[k]` the
    parcel indices in claim order; `waybills[i]` the normalised waybill of parcel i.
    """

    fields: tuple[str, ...]
    keys: list[tuple[Any, ...]]
    members: list[list[int]]
    waybills: list[str]

    def fact(self, k: int, constant: Fact) -> Fact:
        return {**constant, **dict(zip(self.fields, self.keys[k], strict=True))}


def station_codes(claim: claim_pb2.Claim) -> set[str]:
    """The delivering stations' codes a downbound claim names, as the registry holds them (trimmed,
    upper case; longer than any code is no code)."""
    codes = {p.station_code.strip().upper() for p in claim.parcels}
    return {c for c in codes if c and len(c) <= MAX_CODE}


@dataclass(frozen=True)
class _Registered:
    township_code: str
    kind: str
    station: station_pb2.Station


class _Resolver:
    """The parcel look-ups of one kind of claim; group_parcels caches them per distinct raw value."""

    def __init__(
        self,
        reference: ReferenceData,
        county_code: Callable[[str], str],
        township_code: Callable[[str], str],
        stations: StationsByCode,
    ) -> None:
        self.reference = reference
        self.county_code = county_code
        self.township_code = township_code
        self.stations = stations
        self._registered: dict[str, list[_Registered]] = {}

    def registered(self, code: str) -> list[_Registered]:
        """The current registrations showing the code, each decoded once per claim."""
        found = self._registered.get(code)
        if found is None:
            found = self._registered[code] = [
                _Registered(self.township_code(row.township), row.kind, station_pb2.Station.FromString(row.station))
                for row in self.stations.get(code, ())
            ]
        return found

    def upbound(self, raw: tuple[str, str, str, str]) -> tuple[Any, ...]:
        category, platform, origin, destination = (s.strip() for s in raw)
        product = self.reference.product(category) if category else None
        channel = self.reference.platform(platform) if platform else None
        return (
            MISSING if not category else UNLISTED if product is None else LISTED if product.farm else REFUSED,
            MISSING if not platform else UNLISTED if channel is None else LISTED if channel.e_commerce else REFUSED,
            self.county_code(origin),
            self.county_code(destination),
            bool(destination),
        )

    def downbound(self, raw: tuple[str, str, str, bool, int]) -> tuple[Any, ...]:
        township, station_code, shipped_on, delivered, fee = raw
        destination = self.township_code(township)
        code = station_code.strip().upper()
        registered = self.registered(code) if code and len(code) <= MAX_CODE else []
        # registered in the parcel's destination township (a kind without a rate is eligible all the
        # same: the missing rate is the reference data's, said by SUB-RATE-MISSING, not the station's)
        local = [r for r in registered if destination and r.township_code == destination]
        day = date_or_none(shipped_on)  # not a date: SUB-DATE rejects the parcel, whatever the station
        running = [r for r in local if day is None or open_on(r.station, day)]
        tier = running[0].kind if running else ""  # from the registered station's kind, not the code's shape
        return (destination, bool(registered), bool(local), bool(running), tier, delivered, fee)


def group_parcels(
    claim: claim_pb2.Claim,
    reference: ReferenceData,
    county_code: Callable[[str], str],
    township_code: Callable[[str], str],
    paid_among: Callable[[Collection[str]], set[str]],
    stations: StationsByCode,
) -> ParcelGroups:
    """Groups parcels by their facts. Hot path: plain attribute reads, cached look-ups. `stations`:
    the registry's stations for the codes the claim names (`station_codes`)."""
    kind = KIND_NAMES.get(claim.kind, "")
    resolver = _Resolver(reference, county_code, township_code, stations)
    fields = COMMON_FIELDS + (UPBOUND_FIELDS if kind == UPBOUND else DOWNBOUND_FIELDS if kind == DOWNBOUND else ())
    base_cache: dict[Any, tuple[Any, ...]] = {}
    period_cache: dict[str, str] = {}
    shape_cache: dict[str, str] = {}
    seen: set[str] = set()
    waybills: list[str] = []
    first_keys: dict[tuple[Any, ...], list[int]] = {}
    for i, p in enumerate(claim.parcels):
        waybill = p.waybill.strip().upper()  # SF123 and " sf123 " are one waybill
        waybills.append(waybill)
        duplicate = waybill in seen
        if not duplicate and waybill:
            seen.add(waybill)
        if waybill.isascii() and waybill.isalnum():  # common case, no cache needed
            chars = "9" if waybill.isdigit() else "A" if waybill.isalpha() else "9A"
        else:
            chars = shape_cache.get(waybill) or shape_cache.setdefault(waybill, waybill_chars(waybill))
        shipped_on = p.shipped_on
        period = period_cache.get(shipped_on)
        if period is None:
            period = period_cache[shipped_on] = shipped_period(shipped_on)
        if kind == UPBOUND:
            raw: Any = (p.product_category, p.platform, p.origin_county, p.destination_county)
            base = base_cache.get(raw)
            if base is None:
                base = base_cache[raw] = resolver.upbound(raw)
        elif kind == DOWNBOUND:
            raw = (p.destination_township, p.station_code, p.shipped_on, p.delivered_to_address, p.fee_charged_fen)
            base = base_cache.get(raw)
            if base is None:
                base = base_cache[raw] = resolver.downbound(raw)
        else:
            base = ()
        key = (period, chars, len(waybill), duplicate, base)
        members = first_keys.get(key)
        if members is None:
            first_keys[key] = [i]
        else:
            members.append(i)
    # Already paid in a committed claim: one ledger look-up for all the claim's waybills.
    paid = paid_among(seen) if seen else set()
    keys: list[tuple[Any, ...]] = []
    member_lists: list[list[int]] = []
    for (period, chars, length, duplicate, base), members in first_keys.items():
        split: tuple[tuple[bool, list[int]], ...] = ((False, members),)
        if paid:
            paid_members = [i for i in members if waybills[i] in paid]
            if paid_members:
                rest = [i for i in members if waybills[i] not in paid]
                split = ((True, paid_members), (False, rest)) if rest else ((True, paid_members),)
        for was_paid, group in split:
            keys.append((period, chars, length, duplicate, was_paid, *base))
            member_lists.append(group)
    return ParcelGroups(fields, keys, member_lists, waybills)


def rates_display(rates: Sequence[Rate]) -> dict[str, str]:
    """The rates an amount was computed by, for the provisional-rate reason."""
    return {
        # the source as a clause of its own, not in brackets: the message carries one caveat only
        "rates_zh": "；".join(f"{r.label}{r.rate_fen / 100:.2f}元，来源：{r.source}" for r in rates),
        "rates_en": "; ".join(
            f"{KIND_EN.get(r.kind, 'subsidy')}{TIER_EN.get(r.tier, '')} {r.rate_fen / 100:.2f} yuan a piece"
            for r in rates
        ),
    }


def missing_rates_display(missing: Sequence[tuple[str, str]]) -> dict[str, str]:
    """The rates a claim's eligible pieces lack (kind, tier), for SUB-RATE-MISSING: in words for
    the message, and as the rates table keys them for whoever adds them."""
    return {
        "missing_rates_zh": "；".join(f"{KIND_ZH.get(k, k)}{TIER_ZH.get(t, '')}每件的补贴标准" for k, t in missing),
        "missing_rates_en": "; ".join(f"the {KIND_EN.get(k, k)}{TIER_EN.get(t, '')} rate a piece" for k, t in missing),
        "missing_rates_keys": "；".join(f"kind {k}，tier {t or '空'}" for k, t in missing),
    }
