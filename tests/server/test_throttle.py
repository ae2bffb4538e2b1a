"""Guessing tokens is slow and seen: wrong bearer tokens and wrong console logins are throttled per
client address (a right token too, while throttled) and logged with the address, never the token;
an auth file naming two callers alike refuses the start."""

from __future__ import annotations

import logging
from pathlib import Path

import grpc
import pytest
import yaml

from ruralpost.service.api.auth import token_sha256
from ruralpost.service.api.throttle import BURST, EVERY, Throttle, address
from ruralpost.service.config import Config, StartupError
from ruralpost.service.errors import ResourceExhausted
from ruralpost.service.server import Running, build
from ruralpost.v1 import rules_pb2, rules_pb2_grpc
from tests.support import TOKENS, code, md


def test_wrong_bearer_tokens_are_throttled_and_logged(secured: Running, caplog: pytest.LogCaptureFixture) -> None:
    guess = "tok-guess-0123456789"
    with caplog.at_level(logging.WARNING), grpc.insecure_channel(f"127.0.0.1:{secured.port}") as ch:
        rules = rules_pb2_grpc.RulesServiceStub(ch)
        wrong = (("authorization", f"Bearer {guess}"),)
        for _ in range(BURST):
            assert code(lambda: rules.ListRules(rules_pb2.ListRulesRequest(), metadata=wrong)) == (
                grpc.StatusCode.UNAUTHENTICATED
            )
        assert code(lambda: rules.ListRules(rules_pb2.ListRulesRequest(), metadata=wrong)) == (
            grpc.StatusCode.RESOURCE_EXHAUSTED
        )
        # while throttled, the right token is refused as well: guessing gets no answer either way
        with pytest.raises(grpc.RpcError) as refused:
            rules.ListRules(rules_pb2.ListRulesRequest(), metadata=md("admin"))
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "127.0.0.1" in str(refused.value.details()) and "try again" in str(refused.value.details())
    logged = [r.getMessage() for r in caplog.records if r.name == "ruralpost.service.api.throttle"]
    assert sum("unknown token from 127.0.0.1" in m for m in logged) == BURST
    assert sum("refused for now" in m for m in logged) == 1
    assert not any(guess in m or TOKENS["admin"] in m for m in logged)


def test_the_bucket_refills_with_time() -> None:
    now = [0.0]
    throttle = Throttle(burst=2, every=10, clock=lambda: now[0])
    for _ in range(2):
        throttle.allow("ipv4:10.0.0.7:5000", "test")
        throttle.failed("ipv4:10.0.0.7:5001", "test")
    with pytest.raises(ResourceExhausted):
        throttle.allow("10.0.0.7:6000", "test")  # the same address, whatever the port and door
    throttle.allow("10.0.0.8", "test")  # another address is not held up
    now[0] = 10.0
    throttle.allow("10.0.0.7", "test")  # one failure earned back
    throttle.failed("10.0.0.7", "test")
    with pytest.raises(ResourceExhausted):
        throttle.allow("10.0.0.7", "test")
    assert EVERY * BURST <= 120  # a locked-out person waits minutes, not hours


def test_addresses_of_both_doors() -> None:
    assert address("ipv4:10.0.0.7:5123") == address("10.0.0.7:80") == address("10.0.0.7") == "10.0.0.7"
    assert address("ipv6:[::1]:5123") == address("[::1]:8080") == address("::1") == "::1"


def test_two_callers_of_one_name_refuse_the_start(tmp_path: Path) -> None:
    entries = [
        {"name": "county", "token_sha256": token_sha256("a"), "role": "reader"},
        {"name": "county", "token_sha256": token_sha256("b"), "role": "admin"},
    ]
    path = tmp_path / "auth.yaml"
    path.write_text(yaml.safe_dump(entries), encoding="utf-8")
    with pytest.raises(StartupError) as refused:
        build(Config(listen="127.0.0.1:0", db=str(tmp_path / "d.db"), auth_file=path))
    text = str(refused.value)
    assert "\n" not in text and "同名" in text and "caller names must be unique" in text and "county" in text
