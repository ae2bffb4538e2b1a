"""Claims from files: claims as JSON (one, a list, `{"claims": [...]}`, or JSON Lines), or a parcel
list with the claim's own fields given on the command line: CSV, tab-separated text, Excel, or JSON /
JSON Lines of parcel rows (flat columns or proto JSON, see shapes.py).

A parcel row that cannot be read is left out of the claim and reported with its row number; the
claim is still evaluated, so the report shows everything at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruralpost.clients.reports import words
from ruralpost.clients.reports.summary import Item
from ruralpost.clients.sheets import layout, shapes
from ruralpost.clients.sheets.readers import Count, NoRows, Rows, open_rows
from ruralpost.v1 import claim_pb2

CLAIM_FIELDS = (
    "claim_id",
    "programme",
    "operator",
    "kind",
    "period",
    "township",
    "declared_pieces",
    "requested_amount_fen",
)


# Keys that make a JSON object a claim (or a request holding one) rather than a parcel row.
CLAIM_KEYS = frozenset({"claim", *(n for fd in claim_pb2.Claim.DESCRIPTOR.fields for n in (fd.name, fd.json_name))})


@dataclass
class ClaimInput:
    """The claims of one file, and the rows that could not be read."""

    # (line or position, the claim or None when unreadable, what is wrong with it)
    claims: list[tuple[int, claim_pb2.Claim | None, str]] = field(default_factory=list)
    bad_rows: list[Item] = field(default_factory=list)
    commit: bool | None = None  # a request file's own `commit`, when it has one
    # A parcel list: the file row of each parcel of the claim, in order (a rejection's `index` is
    # the parcel's position in the claim; rows left out make it differ from the row number).
    parcel_rows: list[int] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)  # a parcel list's columns ignored
    count: Count | None = None  # a parcel list's rows: in the file, blank, read


def apply_fields(claim: claim_pb2.Claim, fields: Mapping[str, Any]) -> None:
    """Claim fields from the command line, over what the file says."""
    for name, value in fields.items():
        if value is None:
            continue
        if name == "kind":
            claim.kind = layout.parse_enum(words.CLAIM_KIND, str(value))  # type: ignore[assignment]
        elif name == "period":
            claim.period = layout.parse_period(value)
        elif name in ("declared_pieces", "requested_amount_fen"):
            setattr(claim, name, int(value))
        else:
            setattr(claim, name, str(value))


def _claim_from_json(data: dict[str, Any]) -> tuple[claim_pb2.Claim, bool | None]:
    if isinstance(data.get("claim"), dict):
        request = shapes.parse_proto(data, claim_pb2.EvaluateClaimRequest())
        return request.claim, request.commit if "commit" in data else None
    return shapes.parse_proto(data, claim_pb2.Claim()), None


def _claims(rows: Rows) -> ClaimInput:
    """Whole claims, one per JSON object (a line of JSON Lines, an entry of a JSON list)."""
    found = ClaimInput()
    for row in rows.rows:
        if row.problem:
            found.claims.append((row.number, None, f"第{row.number}行：{row.problem}"))
            continue
        try:
            claim, commit = _claim_from_json(row.cells)
        except ValueError as e:
            found.claims.append((row.number, None, f"第{row.number}行无法读取：{e}"))
            continue
        found.claims.append((row.number, claim, ""))
        found.commit = commit if commit is not None else found.commit
    return found


def _parcel_list(rows: Rows) -> ClaimInput:
    """One claim of the file's parcels, their row numbers, and the rows left out."""
    parser = shapes.parser_for(claim_pb2.Parcel, layout.PARCEL_COLUMNS, "快件", rows)
    parcels: list[claim_pb2.Parcel] = []
    numbers: list[int] = []
    bad: list[Item] = []
    for row in rows.rows:
        if row.problem:
            bad.append(Item(row=row.number, problem=f"{row.problem}{row.where}"))
            continue
        try:
            parcels.append(parser.parse(row.cells))
            numbers.append(row.number)
        except ValueError as e:
            column = e.column if isinstance(e, layout.FieldError) else ""
            bad.append(Item(row=row.number, column=column, problem=f"{e}{row.where}"))
    return ClaimInput(
        [(1, claim_pb2.Claim(parcels=parcels), "")],
        bad,
        parcel_rows=numbers,
        unknown_columns=parser.unknown_columns,
        count=rows.count,
    )


def read_claims(path: Path, fields: Mapping[str, Any]) -> ClaimInput:
    """The claims in `path`; for a parcel list, one claim made of `fields` and the parcels. A JSON
    file holds claims when its first readable object has a claim's key, parcel rows otherwise."""
    rows = open_rows(path, list_key="claims")
    first = rows.peek()
    if path.suffix.lower() in (".json", ".jsonl") and (first is None or CLAIM_KEYS & set(first.cells)):
        found = _claims(rows)
    else:
        found = _parcel_list(rows)
    if not rows.count.read:
        raise NoRows(path)
    if fields.get("claim_id") is not None and len(found.claims) > 1:
        raise ValueError(
            f"--claim-id 只能用于一个申报，{path.name} 有 {len(found.claims)} 个 "
            "(one id for several claims would make them one claim)"
        )
    for _, claim_or_none, _ in found.claims:
        if claim_or_none is not None:
            apply_fields(claim_or_none, fields)
    return found


def iter_requests(
    claims: list[claim_pb2.Claim], commit: bool, accept_provisional_rates: bool = False
) -> Iterator[claim_pb2.EvaluateClaimsRequest]:
    for claim in claims:
        yield claim_pb2.EvaluateClaimsRequest(
            claim=claim, commit=commit, accept_provisional_rates=accept_provisional_rates
        )
