"""Reloading a rule pack: the new set is active (new ruleset_version) only if its cases pass."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from ruralpost.service.config import Config
from ruralpost.service.rulebook.packs import RulebookError
from ruralpost.service.server import Running, running
from ruralpost.v1 import rules_pb2, rules_pb2_grpc, station_pb2_grpc
from tests.support import md, station_request


@pytest.fixture
def own_server(tmp_path: Path, rules_copy: Path) -> Iterator[Running]:
    config = Config(listen="127.0.0.1:0", db=str(tmp_path / "r.db"), rules_dir=rules_copy, grace_seconds=1)
    with running(config) as r:
        yield r


def _check(r: Running, **station: object) -> tuple[str, list[str]]:
    with grpc.insecure_channel(f"127.0.0.1:{r.port}") as ch:
        verdict = station_pb2_grpc.StationServiceStub(ch).CheckStation(station_request(**station)).verdict
    return verdict.ruleset_version, [r.message for r in verdict.reasons]


def test_reload_of_a_changed_message_changes_the_version(own_server: Running, rules_copy: Path) -> None:
    before, messages = _check(own_server, area_m2=8.0)
    assert messages[0].startswith("乡镇快递综合服务站面积8")
    pack = rules_copy / "stations.yaml"
    pack.write_text(
        pack.read_text(encoding="utf-8").replace(
            'zh: "乡镇快递综合服务站面积{area_m2}平方米', 'zh: "综合服务站面积仅{area_m2}平方米'
        ),
        encoding="utf-8",
    )
    own_server.runtime.rules.reload()
    after, messages = _check(own_server, area_m2=8.0)
    assert after != before
    assert messages[0].startswith("综合服务站面积仅8")


def test_a_rule_change_that_breaks_a_golden_case_is_refused(own_server: Running, rules_copy: Path) -> None:
    before, _ = _check(own_server, area_m2=9.9)
    pack = rules_copy / "stations.yaml"
    pack.write_text(
        pack.read_text(encoding="utf-8").replace("require: {$gte: {area_m2: 10}}", "require: {$gte: {area_m2: 9}}"),
        encoding="utf-8",
    )
    with pytest.raises(RulebookError, match="golden case"):
        own_server.runtime.rules.reload()
    version, messages = _check(own_server, area_m2=9.9)
    assert version == before and len(messages) == 1  # the old rule still fires


PROGRAMME = "programmes/jingle-2023.yaml"
RATES = "reference/jingle-2023/rates.yaml"


@pytest.mark.parametrize(
    ("file", "old", "new", "where"),
    [
        (
            "stations.yaml",
            None,
            "pack: stations\nsubject: station\nrules: [{id: bad}]\n",
            "stations.yaml: rules[0] (bad).id: ",
        ),
        (
            RATES,
            "rate_fen: 50, status: provisional,",
            "rate_fen: 50, status: provisional, previous_year_fen: 60,",
            f"{RATES}: rates[1]: rate_fen 50 fen (0.50元) is below the previous year's 60 fen",
        ),
        ("stations.yaml", "label: {zh: 面积, en: floor area}", "label: 面积", "stations.yaml: facts.area_m2.label: "),
        (
            PROGRAMME,
            "  roster_keepers:\n",
            "  roster_keeper:\n",
            f"{PROGRAMME}: subsidy.roster_keepers: Field required",
        ),
        (
            RATES,
            "status: provisional,",
            "status: confirmed,",
            f"{RATES}: rates[0]: a confirmed rate names the document",
        ),
        (
            "reference/jingle-2023/products.yaml",
            "{name: 腰果, aliases: []",
            "{name: 腰果, aliases: [薄皮核桃]",
            "reference/jingle-2023/products.yaml: products: '薄皮核桃' is a name of both '核桃' and '腰果'",
        ),
    ],
)
def test_a_rule_folder_that_does_not_load_is_refused(
    own_server: Running, rules_copy: Path, file: str, old: str | None, new: str, where: str
) -> None:
    """ReloadRules answers FAILED_PRECONDITION naming the file and the value; the old set stays."""
    before, _ = _check(own_server)
    path = rules_copy / file
    text = path.read_text(encoding="utf-8")
    assert old is None or old in text
    path.write_text(new if old is None else text.replace(old, new, 1), encoding="utf-8")
    with grpc.insecure_channel(f"127.0.0.1:{own_server.port}") as ch, pytest.raises(grpc.RpcError) as info:
        rules_pb2_grpc.RulesServiceStub(ch).ReloadRules(rules_pb2.ReloadRulesRequest())
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert where in (info.value.details() or "")
    with pytest.raises(RulebookError, match=re.escape(where)):
        own_server.runtime.rules.reload()
    assert _check(own_server)[0] == before


@pytest.mark.slow
def test_reload_over_grpc_by_an_admin(secured: Running, rules_copy: Path) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{secured.port}") as ch:
        rules = rules_pb2_grpc.RulesServiceStub(ch)
        before = secured.runtime.rules.current.version
        pack = rules_copy / "stations.yaml"
        pack.write_text(
            pack.read_text(encoding="utf-8").replace("remedy: 配置货架", "remedy: 请配置货架"), encoding="utf-8"
        )
        answer = rules.ReloadRules(rules_pb2.ReloadRulesRequest(), metadata=md("admin"))
        assert (answer.previous_version, answer.ruleset_version != before) == (before, True)
        assert answer.cases_passed > 70
        pack.write_text(
            pack.read_text(encoding="utf-8").replace("{$gte: {area_m2: 10}}", "{$gte: {area_m2: 1}}"), encoding="utf-8"
        )
        with pytest.raises(grpc.RpcError) as info:
            rules.ReloadRules(rules_pb2.ReloadRulesRequest(), metadata=md("admin"))
        assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "golden case" in (info.value.details() or "")
        assert secured.runtime.rules.current.version == answer.ruleset_version
