"""The contract through the JSON door (Connect protocol over HTTP/1.1), against a real server: every
method of the four services, the same tokens and roles as gRPC, INVALID_ARGUMENT with its
google.rpc.BadRequest, streams with an error per bad item and the stream limit, the decision log
and the metrics. The client is tests/http/jsondoor.py: urllib and the protocol's few rules."""

from __future__ import annotations

import base64
import json
import shutil
import struct
import subprocess
import urllib.request
from typing import Any

import pytest
from google.protobuf import json_format

from ruralpost.service.api import metrics
from ruralpost.service.server import Running
from ruralpost.v1 import station_pb2
from tests.backends import decision_count, decisions
from tests.http.jsondoor import stream, unary
from tests.support import EXAMPLES, OPERATOR, example

CHECK = "StationService/CheckStation"
CHECKS = "StationService/CheckStations"
RESOLVE = "StationService/ResolveSignCode"
CLAIM = "SubsidyService/EvaluateClaim"
CLAIMS = "SubsidyService/EvaluateClaims"
PROGRESS = "QuotaService/GetProgress"
RULES = "RulesService/ListRules"
RELOAD = "RulesService/ReloadRules"


def test_the_readme_curl_call_answers(http_server: Running) -> None:
    """README: curl -H 'Content-Type: application/json' -d @examples/village-point-partnered.json
    http://127.0.0.1:8080/ruralpost.v1.StationService/CheckStation (on this test's port)."""
    url = f"http://127.0.0.1:{http_server.http_port}/ruralpost.v1.StationService/CheckStation"
    example_file = EXAMPLES / "village-point-partnered.json"
    curl = shutil.which("curl")
    if curl:
        done = subprocess.run(
            [curl, "-sS", "-H", "Content-Type: application/json", "-d", f"@{example_file}", url],
            capture_output=True,
            timeout=60,
            check=True,
        )
        body = done.stdout
    else:  # the same request without curl
        request = urllib.request.Request(
            url, data=example_file.read_bytes(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as r:
            body = r.read()
    verdict = json.loads(body)["verdict"]
    assert verdict["subjectId"] == "KJH-C-07"
    assert verdict["outcome"] == "OUTCOME_PASS_WITH_WARNINGS"
    area = next(r for r in verdict["reasons"] if r["ruleId"] == "STN-AREA-VILLAGE")
    assert area["severity"] == "SEVERITY_WARNING" and area["actual"] == "4.5" and area["expected"] == ">= 5"
    assert area["message"] == "村级快递便民服务点面积4.5平方米，适宜在5-10平方米左右"  # characters, not \\u escapes
    assert "村级快递便民服务点".encode() in body
    # the same answer as gRPC gives (proto JSON of the same message)
    grpc_shape = json_format.Parse(body, station_pb2.CheckStationResponse())
    assert grpc_shape.verdict.ruleset_version == http_server.runtime.rules.current.version


def test_every_method_answers(http_server: Running) -> None:
    port = http_server.http_port
    station = example("township-station.json")
    assert unary(port, CHECK, station).body["verdict"]["outcome"].startswith("OUTCOME_")

    answers = stream(port, CHECKS, [station, {**station, "register": True}, station])
    assert answers.status == 200 and answers.code == "ok"
    assert [a.get("index", "0") for a in answers.body] == ["0", "1", "2"]  # int64: a string in proto JSON
    assert all("verdict" in a for a in answers.body)

    claim = example("claim-upbound.json")
    result = unary(port, CLAIM, claim).body
    assert result["outcome"] == "CLAIM_OUTCOME_PARTIALLY_ELIGIBLE" and result["approvedAmountFen"] == "300"
    assert "committed" not in result  # a dry run

    other = json.loads(json.dumps(claim))
    other["claim"]["claimId"] = "SXYGL-UP-2023-07-0002"
    results = stream(port, CLAIMS, [claim, other])
    assert [r["result"]["claimId"] for r in results.body] == ["SXYGL-UP-2023-07-0001", "SXYGL-UP-2023-07-0002"]

    report = unary(port, PROGRESS, {"asOf": "2023-07-31"}).body["report"]
    assert report["asOf"] == "2023-07-31" and len(report["townships"]) == 12
    assert report["villagePointsGoal"] == 48

    rules = unary(port, RULES, {"subject": "county_hub"}).body
    assert rules["rules"] and {r["subject"] for r in rules["rules"]} == {"county_hub"}
    assert rules["rulesetVersion"] == http_server.runtime.rules.current.version

    reloaded = unary(port, RELOAD, {}).body
    assert reloaded["rulesetVersion"] == reloaded["previousVersion"] and reloaded["casesPassed"] > 0


def test_invalid_argument_names_every_bad_field(http_server: Running) -> None:
    answer = unary(http_server.http_port, CHECK, {"station": {"areaM2": -3}, "asOf": "2023-13-01"})
    assert answer.status == 400 and answer.code == "invalid_argument"
    assert set(answer.violations()) == {"station.area_m2", "as_of"}
    detail = answer.body["details"][0]
    assert detail["type"] == "google.rpc.BadRequest" and detail["debug"]["fieldViolations"]
    assert answer.headers["x-request-id"]

    no_claim = unary(http_server.http_port, CLAIM, {"commit": False})
    assert no_claim.code == "invalid_argument" and "claim" in no_claim.violations()
    # a JSON body that is not the message: refused by the protocol layer, naming the field
    unknown = unary(http_server.http_port, CHECK, {"station": {"colour": "red"}})
    assert unknown.code == "invalid_argument" and "colour" in unknown.body["message"]


def test_request_id_is_kept_or_made(http_server: Running) -> None:
    mine = unary(http_server.http_port, RULES, {}, headers={"X-Request-Id": "rid-42"})
    assert mine.headers["x-request-id"] == "rid-42"
    made = unary(http_server.http_port, RULES, {})
    assert len(made.headers["x-request-id"]) == 32


def test_tokens_roles_and_operator_scope(http_secured: Running) -> None:
    port = http_secured.http_port
    station = example("village-point-partnered.json")
    station["station"]["operator"] = OPERATOR
    assert unary(port, CHECK, station).code == "unauthenticated"
    assert unary(port, CHECK, station).status == 401
    assert unary(port, CHECK, station, who="nope").code == "unauthenticated"
    assert unary(port, CHECK, station, who="op").code == "ok"
    foreign = unary(port, CHECK, station, who="other")
    assert foreign.code == "permission_denied" and foreign.status == 403
    assert unary(port, RULES, {}, who="op").code == "permission_denied"
    assert unary(port, RULES, {}, who="reader").code == "ok"
    assert unary(port, CHECK, station, who="reader").code == "permission_denied"
    assert unary(port, PROGRESS, {"asOf": "2023-07-31"}, who="reader").code == "ok"
    assert unary(port, RELOAD, {}, who="reader").code == "permission_denied"
    assert unary(port, RELOAD, {}, who="admin").code == "ok"
    # in a stream, a foreign item gets its own error and the stream goes on
    foreign_item = {"station": {**station["station"], "operator": "某某快递有限公司"}}
    mixed = stream(port, CHECKS, [station, foreign_item], who="op")
    assert mixed.code == "ok"
    assert "verdict" in mixed.body[0] and mixed.body[1]["error"]["code"] == 7  # PERMISSION_DENIED
    callers = {row.caller for row in decisions(http_secured.runtime.store)}
    assert callers == {"yigongli-system", "fagai-reader"}  # refused calls decide nothing and log nothing


def test_commits_are_for_approvers_and_idempotent(http_secured: Running) -> None:
    port = http_secured.http_port
    claim = example("claim-upbound.json")
    commit = {**claim, "commit": True, "acceptProvisionalRates": True}
    assert unary(port, CLAIM, claim, who="op").code == "ok"  # an operator's dry run
    assert unary(port, CLAIM, commit, who="op").code == "permission_denied"
    first = unary(port, CLAIM, commit, who="approver")
    assert first.code == "ok" and first.body["committed"] is True
    again = unary(port, CLAIM, commit, who="approver")
    assert again.body == first.body  # the stored answer
    changed = json.loads(json.dumps(commit))
    changed["claim"]["declaredPieces"] = 6
    taken = unary(port, CLAIM, changed, who="admin")
    assert taken.code == "already_exists" and taken.status == 409
    methods = [row.method for row in decisions(http_secured.runtime.store)]
    assert "EvaluateClaim:commit" in methods and "EvaluateClaim:stored" in methods


def test_stream_limit_ends_the_stream(http_secured: Running) -> None:
    station = example("village-point-partnered.json")
    station["station"]["operator"] = OPERATOR
    answers = stream(http_secured.http_port, CHECKS, [station] * 5, who="op")
    assert len(answers.body) == 3  # max_stream_items=3 in this fixture
    assert answers.code == "resource_exhausted" and "3" in answers.end["error"]["message"]


def test_a_bad_stream_item_gets_its_own_error(http_server: Running) -> None:
    station = example("township-station.json")
    answers = stream(http_server.http_port, CHECKS, [station, {"asOf": "bad"}, station])
    assert answers.code == "ok"
    error = answers.body[1]["error"]
    assert error["code"] == 3 and error["details"][0]["@type"].endswith("google.rpc.BadRequest")
    assert "verdict" in answers.body[2]


def test_metrics_and_decision_log_count_the_http_calls(http_server: Running) -> None:
    def count(method: str, code: str) -> float:
        value = metrics.REQUESTS.labels(method, code)._value.get()
        return float(value)

    before_ok, before_bad = count("CheckStation", "OK"), count("CheckStation", "INVALID_ARGUMENT")
    logged = decision_count(http_server.runtime.store)
    unary(http_server.http_port, CHECK, example("township-station.json"))
    unary(http_server.http_port, CHECK, {})
    assert count("CheckStation", "OK") == before_ok + 1
    assert count("CheckStation", "INVALID_ARGUMENT") == before_bad + 1
    assert decision_count(http_server.runtime.store) == logged + 1
    [row] = decisions(http_server.runtime.store, limit=1)
    assert row.method == "CheckStation" and row.caller.startswith("127.0.0.1:")


def _grpc_web_frames(body: bytes) -> list[tuple[int, bytes]]:
    frames, at = [], 0
    while at < len(body):
        flags, length = struct.unpack(">BI", body[at : at + 5])
        frames.append((flags, body[at + 5 : at + 5 + length]))
        at += 5 + length
    return frames


def test_grpc_web_for_browsers(http_server: Running) -> None:
    """gRPC-Web (binary, trailers in the body) comes with the library, on the same paths."""
    request = station_pb2.CheckStationRequest()
    json_format.ParseDict(example("township-station.json"), request)
    data = request.SerializeToString()
    sent = urllib.request.Request(
        f"http://127.0.0.1:{http_server.http_port}/ruralpost.v1.StationService/CheckStation",
        data=struct.pack(">BI", 0, len(data)) + data,
        headers={"Content-Type": "application/grpc-web+proto", "X-Grpc-Web": "1"},
    )
    with urllib.request.urlopen(sent, timeout=60) as r:
        assert r.headers["Content-Type"].startswith("application/grpc-web")
        frames = _grpc_web_frames(r.read())
    (flags, message), (trailer_flags, trailers) = frames
    assert flags == 0 and trailer_flags == 0x80
    response = station_pb2.CheckStationResponse.FromString(message)
    assert response.verdict.subject_id == request.station.station_id
    assert b"grpc-status:0" in trailers.replace(b" ", b"")


def test_grpc_web_errors_carry_the_status_details(http_server: Running) -> None:
    sent = urllib.request.Request(
        f"http://127.0.0.1:{http_server.http_port}/ruralpost.v1.StationService/CheckStation",
        data=struct.pack(">BI", 0, 0),
        headers={"Content-Type": "application/grpc-web+proto"},
    )
    with urllib.request.urlopen(sent, timeout=60) as r:
        frames = _grpc_web_frames(r.read())
        headers: dict[str, Any] = dict(r.headers)
    text = b"".join(f for _, f in frames).decode() + json.dumps(headers)
    assert "grpc-status: 3" in text or "grpc-status:3" in text.replace(" ", "")
    details = next(line for line in text.splitlines() if line.lower().startswith("grpc-status-details-bin"))
    from google.rpc import error_details_pb2, status_pb2

    status = status_pb2.Status.FromString(base64.b64decode(details.split(":", 1)[1].strip() + "=="))
    bad = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad) and bad.field_violations[0].field == "station"


@pytest.mark.parametrize("listen", ["10.0.0.1:8080", "0.0.0.0:8080"])
def test_http_beyond_loopback_needs_an_auth_file(listen: str, tmp_path: Any) -> None:
    from ruralpost.service.config import Config, ConfigError
    from ruralpost.service.server import check_exposure

    with pytest.raises(ConfigError, match="auth-file"):
        check_exposure(Config(http_listen=listen, db=str(tmp_path / "x.db")))
    check_exposure(Config(http_listen=listen, insecure=True))


def test_an_admin_resolves_a_sign_code_dispute_over_the_json_door(http_secured: Running) -> None:
    port = http_secured.http_port
    ours = example("township-station.json")
    ours["register"] = True
    theirs = json.loads(json.dumps(ours))
    theirs["station"].update(operator="某某快递有限公司", stationId="MM-XZ-01")
    assert unary(port, CHECK, theirs, who="other").code == "ok"  # registered the code first
    disputed = unary(port, CHECK, ours, who="op").body["verdict"]
    assert disputed["outcome"] == "OUTCOME_PASS_WITH_WARNINGS"
    assert [r["ruleId"] for r in disputed["reasons"]] == ["STN-SIGN-CODE-DISPUTED"]
    assert "MM-XZ-01" not in json.dumps(disputed, ensure_ascii=False)
    resolve = {"county": "静乐县", "signCode": "XZ0004", "operator": OPERATOR, "reason": "县里核实"}
    for who in ("op", "other", "approver", "reader"):
        assert unary(port, RESOLVE, resolve, who=who).code == "permission_denied"
    answer = unary(port, RESOLVE, resolve, who="admin")
    assert answer.code == "ok" and answer.body["award"]["operator"] == OPERATOR
    assert answer.body["award"]["author"] == "ops-admin"
    assert unary(port, CHECK, ours, who="op").body["verdict"]["outcome"] == "OUTCOME_PASS"
    lost = unary(port, CHECK, theirs, who="other").body["verdict"]
    assert "STN-SIGN-CODE-AWARDED" in [r["ruleId"] for r in lost["reasons"]]
