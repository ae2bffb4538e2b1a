"""Claim request checks: only what makes a claim impossible to evaluate is INVALID_ARGUMENT."""

from __future__ import annotations

import re

from ruralpost.limits import MAX_ID, MAX_NAME, MAX_REPORTED_PARCELS
from ruralpost.service.claims.period import Period
from ruralpost.service.dates import MAX_YEAR, MIN_YEAR
from ruralpost.service.errors import Violations
from ruralpost.v1 import claim_pb2

_PERIOD = re.compile(r"^\d{4}-\d{2}$")


def validate_claim_request(has_claim: bool, claim: claim_pb2.Claim, programme_id: str, max_parcels: int) -> Period:
    """Checks an EvaluateClaim(s) item; returns its period.

    Only what makes the claim impossible to evaluate is refused here; a malformed parcel is a
    rejected parcel (SUB-WAYBILL, SUB-DATE, …), except a negative fee, which no data can mean.
    """
    v = Violations()
    if not has_claim:
        v.add("claim", "required")
        v.raise_if_any()
    if not claim.claim_id.strip():
        v.add("claim.claim_id", "required")
    v.string("claim.claim_id", claim.claim_id, MAX_ID)
    if claim.programme.strip() and claim.programme.strip() != programme_id:
        v.add("claim.programme", f"unknown programme {claim.programme[:40]!r}; this service runs {programme_id}")
    for name in ("operator", "township"):
        v.string(f"claim.{name}", getattr(claim, name), MAX_NAME)
    v.enum("claim.kind", claim.kind, claim_pb2.ClaimKind)
    period: Period | None = None
    if not claim.period:
        v.add("claim.period", "required, YYYY-MM")
    elif not _PERIOD.match(claim.period) or not 1 <= int(claim.period[5:]) <= 12:
        v.add("claim.period", f"not a month of the form YYYY-MM: {claim.period[:40]!r}")
    elif not MIN_YEAR <= int(claim.period[:4]) <= MAX_YEAR:
        v.add("claim.period", f"year {claim.period[:4]} outside {MIN_YEAR}-{MAX_YEAR}")
    else:
        period = Period.parse(claim.period)
    if claim.declared_pieces < 0:
        v.add("claim.declared_pieces", f"negative: {claim.declared_pieces}")
    if claim.requested_amount_fen < 0:
        v.add("claim.requested_amount_fen", f"negative: {claim.requested_amount_fen}")
    parcels = claim.parcels
    if len(parcels) > max_parcels:
        v.add("claim.parcels", f"{len(parcels)} parcels, more than the limit of {max_parcels} per claim")
    elif any(p.fee_charged_fen < 0 for p in parcels):
        negative = [i for i, p in enumerate(parcels) if p.fee_charged_fen < 0]
        for i in negative[:MAX_REPORTED_PARCELS]:
            v.add(f"claim.parcels[{i}].fee_charged_fen", f"negative: {parcels[i].fee_charged_fen}")
        if len(negative) > MAX_REPORTED_PARCELS:
            v.add("claim.parcels", f"{len(negative) - MAX_REPORTED_PARCELS} more parcels with a negative fee")
    v.raise_if_any()
    assert period is not None
    return period
