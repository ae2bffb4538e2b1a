"""Regression: a missing fact that a rule's scope (`when`) reads is reported, not read as "no".

`fields_of` did not walk the tuple a rule's `when` is stored as, so a station without `mode` had
no STN-MODE-MISSING: the self-operated and partnered sign rules silently did not apply.
"""

from __future__ import annotations

import grpc

from ruralpost.v1 import common_pb2, station_pb2_grpc
from tests.support import station_request


def test_station_without_mode_is_incomplete(channel: grpc.Channel) -> None:
    request = station_request()
    request.station.ClearField("mode")
    verdict = station_pb2_grpc.StationServiceStub(channel).CheckStation(request).verdict
    assert verdict.outcome == common_pb2.OUTCOME_INCOMPLETE
    assert [r.rule_id for r in verdict.reasons] == ["STN-MODE-MISSING"]
