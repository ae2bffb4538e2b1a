"""Subsidy workflow: dry-run a claim, show the official what would be paid, commit after approval.

    python -m ruralpost.clients.examples.subsidy_workflow claim.json --server 127.0.0.1:50051 [--approve]

`claim.json` is a Claim in proto JSON, or a request like `examples/claim-upbound.json`.
Exit 0: the claim is ELIGIBLE (and, with --approve, committed); 1: partially eligible,
ineligible or refused (ALREADY_EXISTS, INVALID_ARGUMENT); 2: the service could not be reached
or the file could not be read.

Step 1 evaluates the claim without recording anything (`commit=False`). Step 2, only when the
official approves (here: `--approve`, in a real workflow the approval task), evaluates it again
with `commit=True`: the eligible waybills are recorded as paid. The official approved what the dry
run showed, the SUB-RATES-PROVISIONAL warning included, so step 2 also accepts provisional rates
(`accept_provisional_rates`; without it such a commit is refused). Committing is idempotent per
claim id, so a workflow that retries step 2 after a timeout cannot pay twice; the same id with
different contents is refused (ALREADY_EXISTS).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from google.protobuf import json_format

from ruralpost.clients import ClientOptions, RuralpostClient, RuralpostError
from ruralpost.clients.reports.labels import claim_outcome_label, yuan
from ruralpost.v1 import claim_pb2


def load_claim(path: Path) -> claim_pb2.Claim:
    """A Claim in proto JSON, or a request like `examples/claim-upbound.json` (`{"claim": …}`;
    its `commit` is ignored: committing is this workflow's step 2)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict) and "claim" in data:
        return json_format.ParseDict(data, claim_pb2.EvaluateClaimRequest()).claim
    return json_format.ParseDict(data, claim_pb2.Claim())


def summarize(result: claim_pb2.EvaluateClaimResponse) -> str:
    lines = [
        f"{result.claim_id}: {claim_outcome_label(result.outcome)}; eligible {result.eligible_pieces}, "
        f"rejected {result.rejected_pieces}, approved {yuan(result.approved_amount_fen)}"
        + (" (committed)" if result.committed else " (dry run)")
    ]
    lines += [f"  [{r.rule_id}] {r.message}" for r in result.reasons]
    lines += [f"  {t.rule_id}: {t.count} parcels rejected" for t in result.tallies]
    return "\n".join(lines)


def run(client: RuralpostClient, claim: claim_pb2.Claim, approved: bool) -> claim_pb2.EvaluateClaimResponse:
    dry = client.evaluate_claim(claim, commit=False)
    print(summarize(dry))
    if dry.outcome == claim_pb2.CLAIM_OUTCOME_INELIGIBLE or not approved:
        return dry
    # The rules or the paid-waybill ledger may have changed since the dry run: the committed
    # answer is the one that counts, and it is what the workflow stores.
    committed = client.evaluate_claim(claim, commit=True, accept_provisional_rates=True)
    print(summarize(committed))
    return committed


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("claim", type=Path, help='a Claim in proto JSON (or {"claim": …})')
    p.add_argument("--server", default="127.0.0.1:50051")
    p.add_argument("--token")
    p.add_argument("--approve", action="store_true", help="the official approved: commit the claim")
    args = p.parse_args(argv)
    try:
        claim = load_claim(args.claim)
    except (OSError, ValueError, json_format.ParseError) as e:
        print(f"error: {args.claim}: {e}", file=sys.stderr)
        return 2
    try:
        with RuralpostClient(ClientOptions(target=args.server, token=args.token, timeout=120)) as client:
            result = run(client, claim, args.approve)
    except RuralpostError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2 if e.is_connection else 1
    return 0 if result.outcome == claim_pb2.CLAIM_OUTCOME_ELIGIBLE else 1


if __name__ == "__main__":
    sys.exit(main())
