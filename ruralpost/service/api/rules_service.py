"""RulesService over gRPC: the active rule set, for clients and officials to read (thin: the request -> `Methods`)."""

from __future__ import annotations

from typing import Any

from ruralpost.service.api.methods import Methods
from ruralpost.v1 import rules_pb2, rules_pb2_grpc


class RulesServicer(rules_pb2_grpc.RulesServiceServicer):
    def __init__(self, methods: Methods) -> None:
        self.methods = methods

    async def ListRules(self, request: rules_pb2.ListRulesRequest, context: Any) -> rules_pb2.ListRulesResponse:
        return await self.methods.list_rules(request)

    async def ReloadRules(self, request: rules_pb2.ReloadRulesRequest, context: Any) -> rules_pb2.ReloadRulesResponse:
        return await self.methods.reload_rules(request)
