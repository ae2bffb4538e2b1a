"""RulesService: the active rule set, for clients and officials to read."""

from __future__ import annotations

import grpc

from ruralpost.service.errors import FailedPrecondition
from ruralpost.service.rulebook.packs import RulebookError
from ruralpost.service.runtime import Runtime
from ruralpost.service.verdicts import BASIS, SEVERITY, citation
from ruralpost.v1 import rules_pb2, rules_pb2_grpc


class RulesServicer(rules_pb2_grpc.RulesServiceServicer):
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def ListRules(
        self, request: rules_pb2.ListRulesRequest, context: grpc.ServicerContext
    ) -> rules_pb2.ListRulesResponse:
        book = self.runtime.rules.current.book
        subject = request.subject.strip()
        return rules_pb2.ListRulesResponse(
            rules=[
                rules_pb2.RuleInfo(
                    rule_id=r.id,
                    subject=r.subject,
                    severity=SEVERITY[r.severity],
                    description=r.description,
                    citation=citation(r),
                    effective_from=r.effective_from,
                    effective_to=r.effective_to,
                    basis=BASIS[r.basis],
                )
                for r in sorted(book.rules.values(), key=lambda r: r.order)
                if not subject or r.subject == subject
            ],
            ruleset_version=book.version,
        )

    def ReloadRules(
        self, request: rules_pb2.ReloadRulesRequest, context: grpc.ServicerContext
    ) -> rules_pb2.ReloadRulesResponse:
        previous = self.runtime.rules.current.version
        try:
            ruleset, passed = self.runtime.rules.reload()
        except RulebookError as e:
            raise FailedPrecondition(f"规则未重新加载，仍使用 {previous}: {e}") from None
        return rules_pb2.ReloadRulesResponse(
            ruleset_version=ruleset.version, previous_version=previous, cases_passed=passed
        )
