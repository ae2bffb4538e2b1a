"""The reference data of one programme as a typed model, and the checks a version must pass.

The offices own this data and change it through the year (docs/subsidy.md): 工信局 the upbound
roster, products, platforms and rates, 供销社/邮政公司 the downbound roster. Each table is a list
of objects, the same in the YAML shipped in the package and in the JSON form a version is kept and
exchanged in. A version is checked before it counts: the schema, no name in two entries of a
table (aliases included), no rate below the previous year's (方案 二 不退坡).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from ruralpost.service.rulebook.schema import (
    SCHEMA_DIR,
    ClaimKind,
    Day,
    Fen,
    Spelling,
    Text,
    _Strict,
    json_schema,
    yuan,
)

UPBOUND_TIER = ""  # upbound pays one rate per piece; downbound tiers are station kinds
RateStatus = Literal["provisional", "confirmed"]
TierId = Literal["", "TOWNSHIP_STATION", "VILLAGE_POINT"]


class Operator(_Strict):
    """One entry of an office's roster: an operator approved for one kind of claim."""

    name: Text
    aliases: list[Spelling] = Field(default_factory=list, description="branches and other names it claims under")
    kind: ClaimKind
    decided_by: Text = Field(description="the office that keeps the roster of this kind (附件1 二)")
    approved_from: Day | None = None
    suspended_from: Day | None = None
    note: str = ""


class Product(_Strict):
    """A product as the catalogue files it, with the names sellers write for it."""

    model_config = ConfigDict(populate_by_name=True)

    name: Spelling
    aliases: list[Spelling] = Field(default_factory=list)
    class_: str = Field("", alias="class", description="the class of the classification, in words")
    section: str = Field("", description="the section of the classification: code and name (01 农业产品)")
    farm: bool = Field(True, description="false: a reviewer decided it is not a farm product (SUB-UP-AGRI)")


class Platform(_Strict):
    name: Spelling
    aliases: list[Spelling] = Field(default_factory=list)
    e_commerce: bool = Field(True, description="false: a reviewer decided it is not an e-commerce platform")


class Brand(_Strict):
    name: Spelling
    aliases: list[Spelling] = Field(default_factory=list)


class Rate(_Strict):
    """A subsidy rate per eligible piece; `confirmed` only with the document that sets it."""

    kind: ClaimKind
    tier: TierId = Field(description='"" upbound; downbound: the kind of the registered station that handed over')
    label: Text
    rate_fen: Fen
    status: RateStatus
    source: Text = Field(description="where the figure comes from")
    document: str = Field("", description="the document that sets a confirmed rate")
    previous_year_fen: Fen | None = Field(None, description="方案 二 不退坡: the previous year's rate of this tier")

    @model_validator(mode="after")
    def _confirmed_by_a_document(self) -> Rate:
        if self.status == "confirmed" and not self.document.strip():
            raise ValueError("a confirmed rate names the document that sets it (document)")
        if self.previous_year_fen is not None and self.rate_fen < self.previous_year_fen:
            raise ValueError(
                f"rate_fen {self.rate_fen} fen ({yuan(self.rate_fen)}元) is below the previous year's "
                f"{self.previous_year_fen} fen ({yuan(self.previous_year_fen)}元)："
                "方案 二 要求下行快件补贴不退坡 (rates may not step back)"
            )
        return self


def _compact(name: str) -> str:
    return "".join(name.split())


def _clashes(table: str, entries: Iterable[tuple[str, list[str]]]) -> list[str]:
    """Names (aliases included, spacing ignored) that two entries of one table both claim."""
    owner: dict[str, tuple[int, str]] = {}
    found = []
    for index, (name, aliases) in enumerate(entries):
        for written in {_compact(n): n for n in (name, *aliases)}.values():
            first = owner.setdefault(_compact(written), (index, name))
            if first[0] != index:
                found.append(f"{table}: {written!r} is a name of both {first[1]!r} and {name!r}")
    return found


class Tables(_Strict):
    """Every table of one programme's reference data."""

    model_config = ConfigDict(title="ruralpost reference data")

    operators: list[Operator] = Field(default_factory=list)
    products: list[Product] = Field(default_factory=list)
    platforms: list[Platform] = Field(default_factory=list)
    brands: list[Brand] = Field(default_factory=list)
    rates: list[Rate] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_entry_per_name(self) -> Tables:
        clashes: list[str] = []
        for kind in ("UPBOUND_AGRICULTURAL", "DOWNBOUND_PARCEL"):  # one roster per kind of claim
            clashes += _clashes(f"operators ({kind})", ((o.name, o.aliases) for o in self.operators if o.kind == kind))
        clashes += _clashes("products", ((p.name, p.aliases) for p in self.products))
        clashes += _clashes("platforms", ((p.name, p.aliases) for p in self.platforms))
        clashes += _clashes("brands", ((b.name, b.aliases) for b in self.brands))
        seen: set[tuple[str, str]] = set()
        for r in self.rates:
            if (r.kind, r.tier) in seen:
                clashes.append(f"rates: {r.kind} tier {r.tier or '(upbound)'!r} has two rates")
            seen.add((r.kind, r.tier))
        if clashes:
            raise ValueError("; ".join(clashes))
        return self

    def version(self) -> str:
        """A content hash: equal tables, equal version, whichever file or store they came from."""
        text = json.dumps(self.model_dump(mode="json", by_alias=True), ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def columns() -> dict[str, list[dict[str, Any]]]:
    """Each table's keys as an editor shows them, from the model itself: the key, the kind of value
    (text, list, bool, fen, date, choice), the values a choice may take, and whether it is required
    or may be left out. The console's table editor is built from this, so it follows the model."""
    schema = Tables.model_json_schema(by_alias=True)
    found: dict[str, list[dict[str, Any]]] = {}
    for table, prop in schema["properties"].items():
        entry = schema["$defs"][prop["items"]["$ref"].rsplit("/", 1)[-1]]
        required = set(entry.get("required", ()))
        found[table] = []
        for key, field in entry["properties"].items():
            forms = field.get("anyOf", [field])
            typed = next((f for f in forms if f.get("type") != "null"), field)
            types = typed.get("type")
            kind = (
                "choice" if "enum" in typed
                else "list" if types == "array"
                else "bool" if types == "boolean"
                else "fen" if types == "integer"
                else "date" if typed.get("format") == "date"
                else "text"
            )  # fmt: skip
            found[table].append(
                {
                    "key": key,
                    "kind": kind,
                    "choices": list(typed.get("enum", [])),
                    "required": key in required,
                    "nullable": len(forms) > 1,  # left out when empty (its default applies)
                    "default": field.get("default"),
                }
            )
    return found


def main() -> int:
    """Writes rules/schema/reference.schema.json from the model (run after changing it)."""
    path = SCHEMA_DIR / "reference.schema.json"
    path.write_text(json_schema(Tables), encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
