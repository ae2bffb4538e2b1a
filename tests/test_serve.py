"""`ruralpost serve` as an operator runs it: health, reflection, graceful stop on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from ruralpost.v1 import rules_pb2, rules_pb2_grpc, station_pb2_grpc
from tests.support import free_port, station_request


def test_serve_answers_health_reflection_and_stops_gracefully(tmp_path: Path) -> None:
    port = free_port()
    db = tmp_path / "sub" / "ruralpost.db"
    cli = Path(sys.executable).parent / "ruralpost"
    proc = subprocess.Popen([str(cli), "serve", "--listen", f"127.0.0.1:{port}", "--db", str(db)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            grpc.channel_ready_future(ch).result(timeout=30)
            health = health_pb2_grpc.HealthStub(ch)
            status = health.Check(health_pb2.HealthCheckRequest(service="ruralpost.v1.StationService"))
            assert status.status == health_pb2.HealthCheckResponse.SERVING
            reflection = reflection_pb2_grpc.ServerReflectionStub(ch)
            answer = next(reflection.ServerReflectionInfo(iter([
                reflection_pb2.ServerReflectionRequest(list_services="")])))
            names = {s.name for s in answer.list_services_response.service}
            assert {"ruralpost.v1.StationService", "ruralpost.v1.SubsidyService", "ruralpost.v1.QuotaService",
                    "ruralpost.v1.RulesService", "grpc.health.v1.Health"} <= names
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


def test_serve_refuses_a_rule_folder_that_does_not_load(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    cli = Path(sys.executable).parent / "ruralpost"
    done = subprocess.run([str(cli), "serve", "--listen", "127.0.0.1:0", "--db", str(tmp_path / "x.db"),
                           "--rules", str(tmp_path / "rules")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "rule set does not load" in done.stderr


def test_sighup_reloads_the_rule_folder(tmp_path: Path, rules_copy: Path) -> None:
    port = free_port()
    cli = Path(sys.executable).parent / "ruralpost"
    proc = subprocess.Popen([str(cli), "serve", "--listen", f"127.0.0.1:{port}", "--db", str(tmp_path / "h.db"),
                             "--rules", str(rules_copy)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            grpc.channel_ready_future(ch).result(timeout=30)
            rules = rules_pb2_grpc.RulesServiceStub(ch)
            before = rules.ListRules(rules_pb2.ListRulesRequest()).ruleset_version
            pack = rules_copy / "stations.yaml"
            pack.write_text(pack.read_text(encoding="utf-8").replace("remedy: 配置货架", "remedy: 请配置货架"),
                            encoding="utf-8")
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
