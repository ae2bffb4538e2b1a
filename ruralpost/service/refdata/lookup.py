"""The look-ups a claim's facts are built from, over one version of the reference data.

Names are matched as written, spacing ignored; an operator by its name or a branch's, per kind of
claim. Nothing here decides: the rules do (rules/subsidy.yaml).
"""

from __future__ import annotations

from ruralpost.service.refdata.model import Operator, Platform, Product, Rate, Tables, _compact


class ReferenceData:
    """One version of a programme's reference data, indexed for the fact builder."""

    def __init__(self, programme: str, tables: Tables, source: str) -> None:
        self.programme = programme
        self.tables = tables
        self.source = source  # where this version came from: the package's files, or the store
        self.version = tables.version()
        self._products = {_compact(n): p for p in tables.products for n in (p.name, *p.aliases)}
        self._platforms = {_compact(n): p for p in tables.platforms for n in (p.name, *p.aliases)}
        self._operators: dict[tuple[str, str], Operator] = {
            (_compact(n), o.kind): o for o in tables.operators for n in (o.name, *o.aliases)
        }
        self._rates: dict[tuple[str, str], Rate] = {(r.kind, r.tier): r for r in tables.rates}

    def product(self, name: str) -> Product | None:
        return self._products.get(_compact(name))

    def platform(self, name: str) -> Platform | None:
        return self._platforms.get(_compact(name))

    def operator(self, name: str, kind: str) -> Operator | None:
        """The roster entry of the operator (or a branch) for this kind of claim, if any."""
        return self._operators.get((_compact(name), kind))

    def on_any_roster(self, name: str) -> list[Operator]:
        return [o for (n, _), o in self._operators.items() if n == _compact(name)]

    def rate(self, kind: str, tier: str) -> Rate | None:
        return self._rates.get((kind, tier))
