"""The contract: buf lint STANDARD clean, and the names docs/api.md fixes are there."""

from __future__ import annotations

from ruralpost import protogen
from ruralpost.v1 import claim_pb2, common_pb2, progress_pb2, rules_pb2, station_pb2


def test_buf_lint_standard_is_clean() -> None:
    assert protogen.lint() == 0


def test_services_and_methods_of_the_contract() -> None:
    methods = {
        (f.services_by_name[s].full_name, m.name)
        for f, s in (
            (station_pb2.DESCRIPTOR, "StationService"),
            (progress_pb2.DESCRIPTOR, "QuotaService"),
            (claim_pb2.DESCRIPTOR, "SubsidyService"),
            (rules_pb2.DESCRIPTOR, "RulesService"),
        )
        for m in f.services_by_name[s].methods
    }
    assert methods == {
        ("ruralpost.v1.StationService", "CheckStation"),
        ("ruralpost.v1.StationService", "CheckStations"),
        ("ruralpost.v1.StationService", "ResolveSignCode"),  # admins: the county's decision on a disputed code
        ("ruralpost.v1.QuotaService", "GetProgress"),
        ("ruralpost.v1.SubsidyService", "EvaluateClaim"),
        ("ruralpost.v1.SubsidyService", "EvaluateClaims"),
        ("ruralpost.v1.RulesService", "ListRules"),
        ("ruralpost.v1.RulesService", "ReloadRules"),  # an admin method added to the first contract
    }
    streaming = station_pb2.DESCRIPTOR.services_by_name["StationService"].methods_by_name["CheckStations"]
    assert streaming.client_streaming and streaming.server_streaming
    assert common_pb2.Outcome.Name(4) == "OUTCOME_INCOMPLETE"
    assert station_pb2.Station.DESCRIPTOR.fields_by_name["area_m2"].has_presence
