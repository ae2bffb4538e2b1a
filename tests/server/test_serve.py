"""`ruralpost serve` as an operator runs it: health, reflection, graceful stop on SIGTERM."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from ruralpost.v1 import rules_pb2, rules_pb2_grpc, station_pb2_grpc
from tests.support import free_port, station_request

pytestmark = pytest.mark.slow  # `ruralpost serve` in subprocesses


def test_serve_answers_health_reflection_and_stops_gracefully(tmp_path: Path) -> None:
    port = free_port()
    db = tmp_path / "sub" / "ruralpost.db"
    cli = Path(sys.executable).parent / "ruralpost"
    proc = subprocess.Popen(
        [str(cli), "serve", "--listen", f"127.0.0.1:{port}", "--db", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            grpc.channel_ready_future(ch).result(timeout=30)
            health = health_pb2_grpc.HealthStub(ch)
            status = health.Check(health_pb2.HealthCheckRequest(service="ruralpost.v1.StationService"))
            assert status.status == health_pb2.HealthCheckResponse.SERVING
            reflection = reflection_pb2_grpc.ServerReflectionStub(ch)
            answer = next(
                reflection.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
            )
            names = {s.name for s in answer.list_services_response.service}
            assert {
                "ruralpost.v1.StationService",
                "ruralpost.v1.SubsidyService",
                "ruralpost.v1.QuotaService",
                "ruralpost.v1.RulesService",
                "grpc.health.v1.Health",
            } <= names
            verdict = station_pb2_grpc.StationServiceStub(ch).CheckStation(station_request()).verdict
            assert verdict.subject_id == "KJH-XZ-01"
        assert db.exists()  # the SQLite file and its folder are created
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert time.monotonic() - started < 20
    finally:
        if proc.poll() is None:
            proc.kill()
        output = proc.communicate()[0]
    assert "serving on" in output and "stopping" in output


PROGRAMME = "programmes/jingle-2023.yaml"
# 方案 二 下行快件补贴不退坡: a rate below the previous year's does not load
RATES = "reference/jingle-2023/rates.yaml"
STEP_BACK = (RATES, "rate_fen: 50, status: provisional,", "rate_fen: 50, status: provisional, previous_year_fen: 60,")
LABEL_AS_TEXT = ("stations.yaml", "label: {zh: 面积, en: floor area}", "label: 面积")
# loads, but the golden cases of STN-AREA-TOWNSHIP no longer hold: the start is refused as a reload is
FAILS_A_CASE = ("stations.yaml", "require: {$gte: {area_m2: 10}}", "require: {$gte: {area_m2: 9}}")
# a golden claim of 5 parcels is no valid request when a claim may hold 3
FEWER_PARCELS = (PROGRAMME, "  max_parcels: 200000\n", "  max_parcels: 3\n")


def _break(rules: Path, file: str, old: str, new: str) -> None:
    path = rules / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(
    ("mistake", "says"),
    [
        (None, f"{PROGRAMME}: no programme data"),
        (STEP_BACK, f"{RATES}: rates[1]: rate_fen 50 fen (0.50元) is below the previous year's 60 fen"),
        (LABEL_AS_TEXT, "stations.yaml: facts.area_m2.label: must be a mapping"),
        (FAILS_A_CASE, "黄金用例未通过，不启动 (the golden cases fail, not starting): 1 golden case problem(s): "),
        (
            FEWER_PARCELS,
            "黄金用例未通过，不启动 (the golden cases fail, not starting): cases: a golden case is no valid request "
            "under these rules: invalid request: claim.parcels",
        ),
    ],
)
def test_serve_refuses_a_rule_folder_that_does_not_load_or_fails_its_golden_cases(
    tmp_path: Path, rules_copy: Path, mistake: tuple[str, str, str] | None, says: str
) -> None:
    """Exit 2 with one line, Chinese then English, that names the file and the value, no traceback."""
    if mistake is None:
        shutil.rmtree(rules_copy)
        rules_copy.mkdir()
    else:
        _break(rules_copy, *mistake)
    cli = Path(sys.executable).parent / "ruralpost"
    done = subprocess.run(
        [str(cli), "serve", "--listen", "127.0.0.1:0", "--db", str(tmp_path / "x.db"), "--rules", str(rules_copy)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.startswith(
        f"ruralpost: 规则集无法加载，请改正规则文件夹（--rules {rules_copy}） | the rule set does not load: {says}"
    )
    assert len(done.stderr.splitlines()) == 1, done.stderr


def _wait_for(log: Path, text: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        output = log.read_text(encoding="utf-8")
        if text in output:
            return output
        time.sleep(0.2)
    raise AssertionError(f"{text!r} not logged:\n{log.read_text(encoding='utf-8')}")


def test_sighup_with_a_broken_rule_folder_logs_it_and_keeps_the_old_set(tmp_path: Path, rules_copy: Path) -> None:
    port = free_port()
    cli = Path(sys.executable).parent / "ruralpost"
    log = tmp_path / "serve.log"
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.Popen(
            [
                str(cli),
                "serve",
                "--listen",
                f"127.0.0.1:{port}",
                "--db",
                str(tmp_path / "b.db"),
                "--rules",
                str(rules_copy),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            grpc.channel_ready_future(ch).result(timeout=30)
            rules = rules_pb2_grpc.RulesServiceStub(ch)
            before = rules.ListRules(rules_pb2.ListRulesRequest()).ruleset_version
            for mistake in (STEP_BACK, LABEL_AS_TEXT):
                original = (rules_copy / mistake[0]).read_text(encoding="utf-8")
                _break(rules_copy, *mistake)
                proc.send_signal(signal.SIGHUP)
                output = _wait_for(log, f"rules not reloaded, ruleset {before} stays: {mistake[0]}: ")
                (rules_copy / mistake[0]).write_text(original, encoding="utf-8")
                assert rules.ListRules(rules_pb2.ListRulesRequest()).ruleset_version == before
                verdict = station_pb2_grpc.StationServiceStub(ch).CheckStation(station_request()).verdict
                assert verdict.ruleset_version == before
            assert "Traceback" not in output
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_sighup_reloads_the_rule_folder(tmp_path: Path, rules_copy: Path) -> None:
    port = free_port()
    cli = Path(sys.executable).parent / "ruralpost"
    proc = subprocess.Popen(
        [
            str(cli),
            "serve",
            "--listen",
            f"127.0.0.1:{port}",
            "--db",
            str(tmp_path / "h.db"),
            "--rules",
            str(rules_copy),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            grpc.channel_ready_future(ch).result(timeout=30)
            rules = rules_pb2_grpc.RulesServiceStub(ch)
            before = rules.ListRules(rules_pb2.ListRulesRequest()).ruleset_version
            pack = rules_copy / "stations.yaml"
            pack.write_text(
                pack.read_text(encoding="utf-8").replace("remedy: 配置货架", "remedy: 请配置货架"), encoding="utf-8"
            )
            proc.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 30
            after = before
            while after == before and time.monotonic() < deadline:
                time.sleep(0.2)
                after = rules.ListRules(rules_pb2.ListRulesRequest()).ruleset_version
            assert after != before
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        output = proc.communicate()[0]
    assert "rules reloaded" in output
