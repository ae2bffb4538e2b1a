"""The programme's subsidy configuration (`subsidy:` in rules/programmes/<id>.yaml), checked at load.

Amounts are integer fen and, for 静乐县 2023, placeholders: the programme document gives none
(docs/subsidy.md). Names (operators, product categories, platforms) come with the spellings people
write, so the fact builder resolves them by one dictionary look-up. What a value may be is said
once, by `schema.SubsidyModel`; this class only shapes the checked values for the look-ups.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ruralpost.service.rulebook.schema import SubsidyModel, validated

UPBOUND = "UPBOUND_AGRICULTURAL"
DOWNBOUND = "DOWNBOUND_PARCEL"


@dataclass(frozen=True)
class Operator:
    name: str
    kinds: frozenset[str]
    approved_from: dt.date | None
    suspended_from: dt.date | None


@dataclass(frozen=True)
class Tier:
    id: str  # the kind of the registered station that handed the parcel over: VILLAGE_POINT, TOWNSHIP_STATION
    label: str
    rate_fen: int


def _lookup(names: Mapping[str, list[str] | None]) -> dict[str, str]:
    """canonical name -> [other spellings] as spelling -> canonical name (unambiguous: the schema)."""
    return {name.strip(): canonical for canonical, aliases in names.items() for name in (canonical, *(aliases or ()))}


class SubsidyConfig:
    """The `subsidy:` section of the programme data (rates are placeholders: see docs/subsidy.md)."""

    def __init__(self, raw: Mapping[str, Any] | SubsidyModel, company: Callable[[str], str] = str.strip) -> None:
        """`company` is the programme's spelling of a company (a branch is the company)."""
        self._company = company
        m = raw if isinstance(raw, SubsidyModel) else validated(SubsidyModel, raw, "subsidy")
        self.rates_are_placeholders = m.rates_are_placeholders
        self.rates_note = m.rates_note
        self.rates_label = m.rates_label
        self.upbound_rate_fen = m.upbound.rate_fen
        self.tiers = [Tier(tid, t.label, t.rate_fen) for tid, t in m.downbound.tiers.items()]
        self.max_recipient_fee_fen = m.downbound.max_recipient_fee_fen
        self.period_from = m.period_from
        self.period_to = m.period_to
        self.max_parcels = m.max_parcels
        self.operators: dict[str, Operator] = {}
        for o in m.operators:
            op = Operator(o.name, frozenset(o.kinds), o.approved_from, o.suspended_from)
            for name in (op.name, *o.aliases):
                self.operators[company(name)] = op
        self.categories = _lookup(m.product_categories)
        self.platforms = _lookup(m.platforms)

    def operator(self, name: str) -> Operator | None:
        return self.operators.get(self._company(name))

    def tier_of(self, station_kind: str) -> Tier | None:
        """The tier of parcels handed over by a registered station of this kind (never the code's shape)."""
        return next((t for t in self.tiers if t.id == station_kind), None)

    def rate_fen(self, kind: str, tier: str) -> int:
        """Subsidy per eligible piece: upbound flat, downbound by tier."""
        if kind == UPBOUND:
            return self.upbound_rate_fen
        found = self.tier_of(tier)
        return found.rate_fen if found else 0
