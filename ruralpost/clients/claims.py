"""Claims from files: a claim as JSON (one, a list, or JSON Lines), or a parcel list (CSV/XLSX)
with the claim's own fields given on the command line.

A parcel row that cannot be read is left out of the claim and reported with its row number; the
claim is still evaluated, so the report shows everything at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf import json_format

from ruralpost.clients import layout
from ruralpost.clients.readers import ReadError, open_rows
from ruralpost.clients.summary import Item
from ruralpost.v1 import claim_pb2

CLAIM_FIELDS = ("claim_id", "programme", "operator", "kind", "period", "township", "declared_pieces",
                "requested_amount_fen")


@dataclass
class ClaimInput:
    """The claims of one file, and the rows that could not be read."""

    # (line or position, the claim or None when unreadable, what is wrong with it)
    claims: list[tuple[int, claim_pb2.Claim | None, str]] = field(default_factory=list)
    bad_rows: list[Item] = field(default_factory=list)
    commit: bool | None = None          # a request file's own `commit`, when it has one
    # A parcel list: the file row of each parcel of the claim, in order (a rejection's `index` is
    # the parcel's position in the claim; rows left out make it differ from the row number).
    parcel_rows: list[int] = field(default_factory=list)


def apply_fields(claim: claim_pb2.Claim, fields: Mapping[str, Any]) -> None:
    """Claim fields from the command line, over what the file says."""
    for name, value in fields.items():
        if value is None:
            continue
        if name == "kind":
            claim.kind = layout.parse_enum(layout.CLAIM_KIND, str(value))  # type: ignore[assignment]
        elif name == "period":
            claim.period = layout.parse_period(value)
        elif name in ("declared_pieces", "requested_amount_fen"):
            setattr(claim, name, int(value))
        else:
            setattr(claim, name, str(value))


def _claim_from_json(data: Any) -> tuple[claim_pb2.Claim, bool | None]:
    if not isinstance(data, dict):
        raise ValueError("应为一个 JSON 对象")
    if isinstance(data.get("claim"), dict):
        request = json_format.ParseDict(data, claim_pb2.EvaluateClaimRequest())
        return request.claim, bool(request.commit) if "commit" in data else None
    return json_format.ParseDict(data, claim_pb2.Claim()), None


def read_json(path: Path) -> ClaimInput:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as e:
        raise ReadError(f"{path}: {e}") from None
    except json.JSONDecodeError as e:
        raise ReadError(f"{path}: 不是合法的 JSON（第{e.lineno}行）：{e.msg}") from None
    found = ClaimInput()
    for number, entry in enumerate(data if isinstance(data, list) else [data], start=1):
        try:
            claim, commit = _claim_from_json(entry)
            found.claims.append((number, claim, ""))
            found.commit = commit if commit is not None else found.commit
        except (ValueError, json_format.ParseError) as e:
            found.claims.append((number, None, f"第{number}个申报无法读取：{e}"))
    return found


def read_jsonl(path: Path) -> ClaimInput:
    found = ClaimInput()
    for row in open_rows(path).rows:
        if row.problem:
            found.claims.append((row.number, None, f"第{row.number}行：{row.problem}"))
            continue
        try:
            claim, _ = _claim_from_json(row.cells)
            found.claims.append((row.number, claim, ""))
        except (ValueError, json_format.ParseError) as e:
            found.claims.append((row.number, None, f"第{row.number}行无法读取：{e}"))
    return found


def read_parcels(path: Path) -> tuple[list[claim_pb2.Parcel], list[int], list[Item]]:
    """The parcels of a CSV/XLSX (or JSON Lines of flat rows), their row numbers, and the rows
    left out."""
    rows = open_rows(path)
    headers: dict[tuple[str, ...], layout.Header] = {}
    parcels: list[claim_pb2.Parcel] = []
    numbers: list[int] = []
    bad: list[Item] = []
    for row in rows.rows:
        if row.problem:
            bad.append(Item(row=row.number, problem=row.problem))
            continue
        names = tuple(rows.header) if rows.header is not None else tuple(row.cells)
        header = headers.get(names)
        if header is None:
            header = headers[names] = layout.resolve_header(names, layout.PARCEL_COLUMNS, "快件")
        try:
            parcels.append(layout.parcel_from_row(row.cells, header))
            numbers.append(row.number)
        except layout.CellError as e:
            bad.append(Item(row=row.number, station_id="", column=e.column, problem=str(e)))
    return parcels, numbers, bad


def read_claims(path: Path, fields: Mapping[str, Any]) -> ClaimInput:
    """The claims in `path`; for a parcel list, one claim made of `fields` and the parcels."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise ReadError(f"{path}: 文件不存在")
    if suffix == ".json":
        found = read_json(path)
    elif suffix == ".jsonl" and _looks_like_claims(path):
        found = read_jsonl(path)
    elif suffix in (".csv", ".xlsx", ".jsonl"):
        parcels, numbers, bad = read_parcels(path)
        claim = claim_pb2.Claim(parcels=parcels)
        found = ClaimInput([(1, claim, "")], bad, parcel_rows=numbers)
    else:
        raise ReadError(f"{path}: 不支持的文件类型 {suffix}，应为 .json、.jsonl、.csv 或 .xlsx")
    if fields.get("claim_id") is not None and len(found.claims) > 1:
        raise ValueError(f"--claim-id 只能用于一个申报，{path.name} 有 {len(found.claims)} 个 "
                         "(one id for several claims would make them one claim)")
    for _, claim_or_none, _ in found.claims:
        if claim_or_none is not None:
            apply_fields(claim_or_none, fields)
    return found


def _looks_like_claims(path: Path) -> bool:
    """JSON Lines of whole claims (a `claimId`/`claim_id` or `claim` key) rather than parcel rows."""
    with path.open(encoding="utf-8-sig") as f:
        for line in f:
            if line.strip():
                try:
                    first = json.loads(line)
                except json.JSONDecodeError:
                    return False
                keys = {"claim", "claimId", "claim_id", "parcels"}
                return isinstance(first, dict) and bool(keys & set(first))
    return False


def iter_requests(claims: list[claim_pb2.Claim], commit: bool) -> Iterator[claim_pb2.EvaluateClaimsRequest]:
    for claim in claims:
        yield claim_pb2.EvaluateClaimsRequest(claim=claim, commit=commit)
