"""An operator's dry run sees the ledger as its own, on a real server with an auth file: waybills
paid to another operator and claim ids another operator's committed claims hold are never told to
it, while its own are, and the approver who commits still sees the whole ledger (nothing is paid
twice)."""

from __future__ import annotations

import grpc

from ruralpost.service.server import Running
from ruralpost.v1 import claim_pb2, claim_pb2_grpc
from tests.support import OPERATOR, code, md, upbound_claim

RIVAL = "某某快递有限公司"  # the auth file's "other" operator
PAID_TWICE = "SUB-DUP-LEDGER"


def _rejected_as_paid(answer: claim_pb2.EvaluateClaimResponse) -> set[str]:
    """The waybills the answer says were paid already."""
    return {r.waybill for r in answer.rejections if PAID_TWICE in r.rule_ids}


def _commit(claim: claim_pb2.Claim) -> claim_pb2.EvaluateClaimRequest:
    return claim_pb2.EvaluateClaimRequest(claim=claim, commit=True, accept_provisional_rates=True)


def test_an_operators_dry_run_never_learns_waybills_paid_to_another_operator(secured_on: Running) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{secured_on.port}") as ch:
        subsidy = claim_pb2_grpc.SubsidyServiceStub(ch)
        paid = subsidy.EvaluateClaim(_commit(upbound_claim()), metadata=md("approver"))
        assert paid.committed and paid.eligible_pieces == 3
        waybills = {"SF1402600000001", "YT7302600000002", "JT0002600000003"}  # the eligible ones, now paid
        # the rival lists 壹公里's paid waybills: its dry run does not tell it they were paid
        rival_claim = upbound_claim(RIVAL, "MM-UP-2023-07-0001")
        rival = subsidy.EvaluateClaim(claim_pb2.EvaluateClaimRequest(claim=rival_claim), metadata=md("other"))
        assert _rejected_as_paid(rival) == set()
        assert PAID_TWICE not in [t.rule_id for t in rival.tallies]
        # the approver, who commits, sees the whole ledger: paying twice is still refused
        seen = subsidy.EvaluateClaim(claim_pb2.EvaluateClaimRequest(claim=rival_claim), metadata=md("approver"))
        assert _rejected_as_paid(seen) == waybills
        committed = subsidy.EvaluateClaim(_commit(rival_claim), metadata=md("approver"))
        assert _rejected_as_paid(committed) == waybills and committed.eligible_pieces == 0
        # an operator's own paid waybills are its own to see
        own = subsidy.EvaluateClaim(
            claim_pb2.EvaluateClaimRequest(claim=upbound_claim(claim_id="SXYGL-UP-2023-07-0002")), metadata=md("op")
        )
        assert _rejected_as_paid(own) == waybills and own.eligible_pieces == 0


def test_an_operator_never_learns_another_operators_claim_ids(secured_on: Running) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{secured_on.port}") as ch:
        subsidy = claim_pb2_grpc.SubsidyServiceStub(ch)
        assert subsidy.EvaluateClaim(_commit(upbound_claim(RIVAL, "SHARED-2023-07-0001")), metadata=md("approver"))
        mine = claim_pb2.EvaluateClaimRequest(claim=upbound_claim(OPERATOR, "SHARED-2023-07-0001"))
        # the operator's dry run under that id is a dry run like any other: no ALREADY_EXISTS
        dry = subsidy.EvaluateClaim(mine, metadata=md("op"))
        assert dry.claim_id == "SHARED-2023-07-0001" and dry.eligible_pieces == 3 and not dry.committed
        # the approver sees the id is taken, and a commit under it is refused
        assert code(lambda: subsidy.EvaluateClaim(mine, metadata=md("approver"))) == grpc.StatusCode.ALREADY_EXISTS
        # the operator's own committed claim under an id, with other contents: its own to be told
        subsidy.EvaluateClaim(_commit(upbound_claim(claim_id="SXYGL-UP-2023-07-0009")), metadata=md("approver"))
        changed = upbound_claim(claim_id="SXYGL-UP-2023-07-0009")
        changed.declared_pieces = 6
        reused = claim_pb2.EvaluateClaimRequest(claim=changed)
        assert code(lambda: subsidy.EvaluateClaim(reused, metadata=md("op"))) == grpc.StatusCode.ALREADY_EXISTS
