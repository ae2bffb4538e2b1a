"""ReferenceDataService through the JSON door: the same roles and checks as over gRPC."""

from __future__ import annotations

import json

from ruralpost.service.server import Running
from tests.http.jsondoor import unary

GET = "ReferenceDataService/GetReferenceData"
HISTORY = "ReferenceDataService/ListReferenceVersions"
REPLACE = "ReferenceDataService/ReplaceReferenceTable"


def test_read_by_every_role_changed_by_admins_over_json(http_secured: Running) -> None:
    port = http_secured.http_port
    current = unary(port, GET, {}, who="reader")
    assert current.code == "ok" and current.body["info"]["version"] == 1
    platforms = json.loads(current.body["dataJson"])["platforms"]
    assert all(p["name"] != "静乐好物小程序" for p in platforms)
    added = [*platforms, {"name": "静乐好物小程序", "aliases": []}]
    change = {"table": "platforms", "entriesJson": json.dumps(added, ensure_ascii=False), "reason": "工信局通知"}
    assert unary(port, REPLACE, change, who="op").code == "permission_denied"
    assert unary(port, REPLACE, change, who="reader").code == "permission_denied"
    bad = unary(port, REPLACE, {**change, "entriesJson": json.dumps([*platforms, platforms[0]])}, who="admin")
    assert bad.code == "invalid_argument" and "仍为第 1 版" in bad.violations()["entries_json"]
    done = unary(port, REPLACE, change, who="admin")
    assert done.code == "ok" and done.body["info"]["version"] == 2 and done.body["previousVersion"] == 1
    history = unary(port, HISTORY, {}, who="approver")
    assert [v["version"] for v in history.body["versions"]] == [2, 1]
    assert history.body["versions"][0]["author"] == "ops-admin"
