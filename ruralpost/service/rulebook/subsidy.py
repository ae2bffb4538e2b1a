"""The programme's subsidy configuration (`subsidy:` in rules/programmes/<id>.yaml), checked at load.

Amounts are integer fen and, for 静乐县 2023, placeholders: the programme document gives none
(docs/subsidy.md). Names (operators, product categories, platforms) come with the spellings people
write, so the fact builder resolves them by one dictionary look-up.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

UPBOUND = "UPBOUND_AGRICULTURAL"
DOWNBOUND = "DOWNBOUND_PARCEL"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Operator:
    name: str
    kinds: frozenset[str]
    approved_from: dt.date | None
    suspended_from: dt.date | None


@dataclass(frozen=True)
class Tier:
    id: str
    label: str
    station_code: re.Pattern[str]
    rate_fen: int


def _fen(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{where}: money is a non-negative integer of fen, got {value!r}")
    return value


def _date(value: Any, where: str) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or not _DATE.match(value):
        raise ValueError(f"{where}: not a date YYYY-MM-DD: {value!r}")
    return dt.date.fromisoformat(value)


def _names(raw: Any, where: str) -> dict[str, str]:
    """canonical name -> [other spellings] as spelling -> canonical name."""
    if not isinstance(raw, dict) or not raw:
        raise ValueError(f"{where}: a mapping of canonical name -> other spellings")
    lookup: dict[str, str] = {}
    for canonical, aliases in raw.items():
        for name in (canonical, *(aliases or ())):
            name = str(name).strip()
            if lookup.get(name, canonical) != canonical:
                raise ValueError(f"{where}: {name!r} names both {lookup[name]} and {canonical}")
            lookup[name] = str(canonical)
    return lookup


class SubsidyConfig:
    """The `subsidy:` section of the programme data (rates are placeholders: see docs/subsidy.md)."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.rates_are_placeholders = bool(raw["rates_are_placeholders"])
        self.rates_note = str(raw["rates_note"])
        self.rates_label = str(raw["rates_label"])
        self.upbound_rate_fen = _fen(raw["upbound"]["rate_fen"], "subsidy.upbound.rate_fen")
        down = raw["downbound"]
        self.tiers = [
            Tier(str(tid), str(t["label"]), re.compile(str(t["station_code"])),
                 _fen(t["rate_fen"], f"subsidy.downbound.tiers.{tid}.rate_fen"))
            for tid, t in down["tiers"].items()
        ]
        self.max_recipient_fee_fen = _fen(down["max_recipient_fee_fen"],
                                          "subsidy.downbound.max_recipient_fee_fen")
        self.period_from = int(raw["period_from"])
        self.period_to = int(raw["period_to"])
        self.max_parcels = int(raw["max_parcels"])
        if self.max_parcels < 1:
            raise ValueError("subsidy.max_parcels must be positive")
        self.waybill_max_length = int(raw["waybill"]["max_length"])
        self.operators: dict[str, Operator] = {}
        for i, o in enumerate(raw["operators"]):
            kinds = frozenset(str(k) for k in o["kinds"])
            if not kinds <= {UPBOUND, DOWNBOUND}:
                raise ValueError(f"subsidy.operators[{i}].kinds: {sorted(kinds)}")
            op = Operator(str(o["name"]), kinds, _date(o.get("approved_from"), f"subsidy.operators[{i}]"),
                          _date(o.get("suspended_from"), f"subsidy.operators[{i}]"))
            for name in (op.name, *o.get("aliases", ())):
                self.operators[str(name).strip()] = op
        self.categories = _names(raw["product_categories"], "subsidy.product_categories")
        self.platforms = _names(raw["platforms"], "subsidy.platforms")

    def operator(self, name: str) -> Operator | None:
        return self.operators.get(name.strip())

    def tier_of(self, station_code: str) -> Tier | None:
        code = station_code.strip().upper()
        for tier in self.tiers:
            if tier.station_code.match(code):
                return tier
        return None

    def rate_fen(self, kind: str, tier: str) -> int:
        """Subsidy per eligible piece: upbound flat, downbound by tier."""
        if kind == UPBOUND:
            return self.upbound_rate_fen
        return next((t.rate_fen for t in self.tiers if t.id == tier), 0)
