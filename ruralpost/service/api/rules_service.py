"""RulesService over gRPC: the active rule set, for clients and officials to read (thin: the call -> `Methods`)."""

from __future__ import annotations

import grpc

from ruralpost.service.api.interceptors import call_from
from ruralpost.service.api.methods import Methods
from ruralpost.service.runtime import Runtime
from ruralpost.v1 import rules_pb2, rules_pb2_grpc


class RulesServicer(rules_pb2_grpc.RulesServiceServicer):
    def __init__(self, runtime: Runtime) -> None:
        self.methods = Methods(runtime)

    def ListRules(
        self, request: rules_pb2.ListRulesRequest, context: grpc.ServicerContext
    ) -> rules_pb2.ListRulesResponse:
        return self.methods.list_rules(request, call_from(context))

    def ReloadRules(
        self, request: rules_pb2.ReloadRulesRequest, context: grpc.ServicerContext
    ) -> rules_pb2.ReloadRulesResponse:
        return self.methods.reload_rules(request, call_from(context))
