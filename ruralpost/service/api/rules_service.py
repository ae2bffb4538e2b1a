"""RulesService over gRPC: the active rule set, for clients and officials to read (thin: the call -> `Methods`).

ListRules reads memory and runs on the event loop; ReloadRules runs the golden cases (seconds) on
the pool (see `offload.py`).
"""

from __future__ import annotations

from ruralpost.service.api.interceptors import Context, call_from
from ruralpost.service.api.methods import Methods
from ruralpost.service.api.offload import Offload
from ruralpost.service.runtime import Runtime
from ruralpost.v1 import rules_pb2, rules_pb2_grpc


class RulesServicer(rules_pb2_grpc.RulesServiceServicer):
    def __init__(self, runtime: Runtime, offload: Offload) -> None:
        self.methods = Methods(runtime)
        self.offload = offload

    async def ListRules(  # type: ignore[override]
        self, request: rules_pb2.ListRulesRequest, context: Context
    ) -> rules_pb2.ListRulesResponse:
        return self.methods.list_rules(request, call_from(context))

    async def ReloadRules(  # type: ignore[override]
        self, request: rules_pb2.ReloadRulesRequest, context: Context
    ) -> rules_pb2.ReloadRulesResponse:
        return await self.offload(self.methods.reload_rules, request, call_from(context))
