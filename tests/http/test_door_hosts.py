"""Host and Origin: the HTTP door answers only the Host names it serves (a page of another site
rebound to 127.0.0.1 is refused before anything runs, with or without an auth file), and a
request from a page of another site (its Origin) is refused."""

from __future__ import annotations

import http.client
import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from ruralpost.service.config import Config
from ruralpost.service.server import Running, running
from ruralpost.service.web import Hosts
from tests.http.conftest import http_config
from tests.support import TOKENS

RELOAD = "/ruralpost.v1.RulesService/ReloadRules"
RULES = "/ruralpost.v1.RulesService/ListRules"


def _post(
    port: int, path: str, host: str, body: bytes = b"{}", headers: dict[str, str] | None = None, to: str = "127.0.0.1"
) -> tuple[int, bytes]:
    """A POST sent to `to`:`port` whose Host header says `host`."""
    connection = http.client.HTTPConnection(to, port, timeout=30)
    try:
        connection.putrequest("POST", path, skip_host=True, skip_accept_encoding=True)
        for name, value in {"Host": host, "Content-Type": "application/json", **(headers or {})}.items():
            connection.putheader(name, value)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def _refused_as_misdirected(status: int, body: bytes) -> None:
    assert status == 421, body
    message = json.loads(body)["error"]["message"]
    assert "主机名" in message and "Host" in message  # Chinese, then English


@pytest.mark.parametrize("server", ["http_server", "http_secured"])
def test_hosts_the_door_does_not_serve_are_refused_in_every_auth_mode(
    server: str, request: pytest.FixtureRequest
) -> None:
    r: Running = request.getfixturevalue(server)
    port = r.http_port
    admin = {"Authorization": f"Bearer {TOKENS['admin']}"}
    for host in ("127.0.0.1", f"127.0.0.1:{port}", "localhost", f"LOCALHOST:{port}", f"[::1]:{port}", "[::1]"):
        assert _post(port, RULES, host, headers=admin)[0] == 200, host
    for host in ("rebound.example", f"rebound.example:{port}", "127.0.0.1.rebound.example", "localhost.", ""):
        _refused_as_misdirected(*_post(port, RULES, host, headers=admin))
    # what a rebound page would do: reload the rules, commit a claim through the console
    _refused_as_misdirected(*_post(port, RELOAD, f"rebound.example:{port}", headers=admin))
    console = {"X-Ruralpost-Console": "1"}
    _refused_as_misdirected(*_post(port, "/console/api/claim/0123abcd/commit", "rebound.example", headers=console))
    _refused_as_misdirected(*_post(port, "/console/api/login", "rebound.example", headers=console))


def test_names_the_operator_lists_are_answered(tmp_path: Path) -> None:
    with running(http_config(tmp_path, http_allowed_hosts="posts.example.org, ruralpost.internal")) as r:
        port = r.http_port
        for host in ("posts.example.org", f"Posts.Example.org:{port}", "ruralpost.internal", "localhost"):
            assert _post(port, RULES, host)[0] == 200, host
        _refused_as_misdirected(*_post(port, RULES, "rebound.example"))
    with running(http_config(tmp_path, "any.db", http_allowed_hosts="*")) as r:
        assert _post(r.http_port, RULES, "rebound.example")[0] == 200


def test_beyond_loopback_the_address_a_client_connected_to_is_answered(tmp_path: Path) -> None:
    # 0.0.0.0 serves every interface: 127.0.0.2 stands for one the door did not name in advance
    config = Config(
        listen="127.0.0.1:0",
        http_listen="0.0.0.0:0",
        insecure=True,
        db=str(tmp_path / "w.db"),
        console_dir=tmp_path / "console",
        grace_seconds=1,
    )
    with running(config) as r:
        port = r.http_port
        assert _post(port, RULES, f"127.0.0.2:{port}", to="127.0.0.2")[0] == 200
        assert _post(port, RULES, "127.0.0.2", to="127.0.0.2")[0] == 200
        _refused_as_misdirected(*_post(port, RULES, "127.0.0.3", to="127.0.0.2"))
        _refused_as_misdirected(*_post(port, RULES, "rebound.example", to="127.0.0.2"))
    hosts = Hosts(frozenset())
    assert hosts.allows("[fd00::2]:8080", ("fd00::2", 8080)) and not hosts.allows("[fd00::3]", ("fd00::2", 8080))


@pytest.mark.parametrize("server", ["http_server", "http_secured"])
def test_a_request_from_a_page_of_another_site_is_refused(server: str, request: pytest.FixtureRequest) -> None:
    r: Running = request.getfixturevalue(server)
    port = r.http_port
    login = json.dumps({"token": TOKENS["admin"]}).encode()
    console = {"X-Ruralpost-Console": "1"}
    own = f"http://127.0.0.1:{port}"
    assert _post(port, "/console/api/login", f"127.0.0.1:{port}", login, {**console, "Origin": own})[0] == 200
    assert _post(port, "/console/api/login", f"127.0.0.1:{port}", login, console)[0] == 200  # no Origin: not a page
    for origin in ("http://rebound.example", f"http://127.0.0.1:{port + 1}", "null", f"https://evil.example{own}"):
        status, body = _post(port, "/console/api/login", f"127.0.0.1:{port}", login, {**console, "Origin": origin})
        assert status == 403, origin
        assert "另一个网站" in json.loads(body)["error"]["message"]
        assert _post(port, RELOAD, f"127.0.0.1:{port}", headers={"Origin": origin})[0] == 403


def test_the_allowed_hosts_setting_takes_names_only() -> None:
    assert Config(http_allowed_hosts="a.example, [fd00::2],10.0.0.7,*").http_allowed_hosts
    for bad in ("a.example:8080", "http://a.example", "a b", "a_b.example/"):
        with pytest.raises(ValidationError, match="not a host name"):
            Config(http_allowed_hosts=bad)
