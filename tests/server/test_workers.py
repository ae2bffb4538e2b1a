"""Pre-forked workers share the port, the registry and the ledger; the parent serves their metrics."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import grpc
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from ruralpost.v1 import claim_pb2, claim_pb2_grpc, rules_pb2, rules_pb2_grpc, station_pb2_grpc
from tests.support import free_port, station_request, upbound_claim

pytestmark = pytest.mark.slow  # pre-forked workers in subprocesses


def test_workers_share_the_port_and_the_registry(tmp_path: Path) -> None:
    port = free_port()
    cli = Path(sys.executable).parent / "ruralpost"
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(  # its own session: on failure the workers go with it, no pipe left open
        [str(cli), "serve", "--workers", "2", "--listen", f"127.0.0.1:{port}", "--db", str(tmp_path / "w.db")],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        time.sleep(0.5)
        codes = [f"XZ{n:04d}" for n in range(1, 41)]
        # separate channels spread the calls over both workers (each connection lands on one)
        for i, code in enumerate(codes):
            with grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.use_local_subchannel_pool", 1)]) as ch:
                grpc.channel_ready_future(ch).result(timeout=30)
                req = station_request(station_id=f"S{i:02d}", signage={"code": code})
                req.register = True
                assert station_pb2_grpc.StationServiceStub(ch).CheckStation(req).verdict.outcome == 1
        duplicates = 0
        for i, code in enumerate(codes):
            with grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.use_local_subchannel_pool", 1)]) as ch:
                req = station_request(station_id=f"T{i:02d}", signage={"code": code})
                reasons = station_pb2_grpc.StationServiceStub(ch).CheckStation(req).verdict.reasons
                duplicates += [r.rule_id for r in reasons] == ["STN-SIGN-CODE-DUPLICATE"]
        assert duplicates == len(codes)  # every worker sees what the others registered
        # the ledger too: claims sharing waybills, committed concurrently over separate connections
        claims = [upbound_claim(claim_id=f"W-{k}") for k in range(6)]  # the same 5 parcels each
        answers: list[claim_pb2.EvaluateClaimResponse] = []

        def commit(claim: claim_pb2.Claim) -> None:
            with grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.use_local_subchannel_pool", 1)]) as ch:
                answers.append(
                    claim_pb2_grpc.SubsidyServiceStub(ch).EvaluateClaim(
                        claim_pb2.EvaluateClaimRequest(claim=claim, commit=True, accept_provisional_rates=True),
                        timeout=30,
                    )
                )

        threads = [threading.Thread(target=commit, args=(c,)) for c in claims]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(a.eligible_pieces for a in answers) == [0, 0, 0, 0, 0, 3]  # paid once, whoever won
        children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
        assert len(children) == 2
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        log.close()


def _checks(port: int, count: int, first: int) -> None:
    """`count` CheckStation calls, each on its own connection (the kernel picks a worker per connection)."""
    for i in range(first, first + count):
        with grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.use_local_subchannel_pool", 1)]) as ch:
            grpc.channel_ready_future(ch).result(timeout=30)
            station_pb2_grpc.StationServiceStub(ch).CheckStation(station_request(station_id=f"M{i:03d}"), timeout=30)


def _counted(registry: CollectorRegistry) -> float:
    return registry.get_sample_value("ruralpost_requests_total", {"method": "CheckStation", "code": "OK"}) or 0.0


def _per_process(folder: Path, scratch: Path) -> dict[int, float]:
    """CheckStation calls counted by each process, read from its own file in the metrics folder."""
    counted: dict[int, float] = {}
    for file in folder.glob("counter_*.db"):
        alone = scratch / file.stem
        alone.mkdir(exist_ok=True)
        shutil.copy(file, alone / file.name)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(alone))  # type: ignore[no-untyped-call]
        counted[int(file.stem.removeprefix("counter_"))] = _counted(registry)
    return counted


def _scraped(metrics_port: int) -> float:
    """CheckStation calls in what the parent serves on --metrics-listen."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).read().decode()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "ruralpost_requests_total" and sample.labels == {"method": "CheckStation", "code": "OK"}
    )


def _workers(parent: int) -> set[int]:
    return {int(p) for p in subprocess.run(["pgrep", "-P", str(parent)], capture_output=True, text=True).stdout.split()}


def test_the_parent_serves_the_metrics_of_every_worker(tmp_path: Path) -> None:
    """Each worker counts the calls it served in its own file (PROMETHEUS_MULTIPROC_DIR, made under
    TMPDIR); the parent's /metrics is their sum, and keeps a dead worker's calls."""
    port, metrics_port = free_port(), free_port()
    tmp, scratch = tmp_path / "tmp", tmp_path / "scratch"
    tmp.mkdir()
    scratch.mkdir()
    cli = Path(sys.executable).parent / "ruralpost"
    with open(tmp_path / "serve.log", "w", encoding="utf-8") as log:  # a file: no pipe held open by workers
        proc = subprocess.Popen(
            [str(cli), "serve", "--workers", "2", "--listen", f"127.0.0.1:{port}", "--db", str(tmp_path / "m.db"),
             "--metrics-listen", f"127.0.0.1:{metrics_port}"],
            env={**os.environ, "TMPDIR": str(tmp)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        calls = 0
        while calls < 200:  # until both workers have served some (the second may start a little later)
            _checks(port, 20, calls)
            calls += 20
            (folder,) = tmp.glob("ruralpost-metrics-*")
            counted = _per_process(folder, scratch)
            if len([n for n in counted.values() if n]) == 2:
                break
        workers = _workers(proc.pid)
        assert {pid for pid, n in counted.items() if n} == workers and len(workers) == 2, (counted, workers)
        assert sum(counted.values()) == calls
        assert _scraped(metrics_port) == calls
        # a worker killed: the parent starts another; the dead one's calls stay in the sum
        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while (len(_workers(proc.pid) - {victim}) < 2) and time.monotonic() < deadline:
            time.sleep(0.1)
        _checks(port, 10, calls)
        assert _scraped(metrics_port) == calls + 10
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert not folder.exists()  # the parent removes the workers' files on its way out
    finally:
        if proc.poll() is None:
            for pid in [*_workers(proc.pid), proc.pid]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            proc.wait(timeout=30)


def _worker_of(channel: grpc.Channel) -> tuple[str, str]:
    """(the answering worker, its ruleset version): a worker's request ids share a random prefix."""
    response, call = rules_pb2_grpc.RulesServiceStub(channel).ListRules.with_call(rules_pb2.ListRulesRequest())
    request_id = dict(call.trailing_metadata() or ())["x-request-id"]
    return str(request_id)[:16], response.ruleset_version


def test_reload_rules_on_one_worker_reloads_every_worker(tmp_path: Path, rules_copy: Path) -> None:
    port = free_port()
    cli = Path(sys.executable).parent / "ruralpost"
    with open(tmp_path / "serve.log", "w", encoding="utf-8") as log:
        proc = subprocess.Popen(
            [str(cli), "serve", "--workers", "2", "--listen", f"127.0.0.1:{port}", "--db", str(tmp_path / "r.db"),
             "--rules", str(rules_copy)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    channels: dict[str, grpc.Channel] = {}
    try:
        deadline = time.monotonic() + 60
        while len(channels) < 2 and time.monotonic() < deadline:  # a channel on each worker
            ch = grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.use_local_subchannel_pool", 1)])
            try:
                worker, before = _worker_of(ch)
            except grpc.RpcError:
                ch.close()
                time.sleep(0.2)
                continue
            if worker in channels:
                ch.close()
            else:
                channels[worker] = ch
        assert len(channels) == 2, "no connection reached the second worker"
        pack = rules_copy / "stations.yaml"
        pack.write_text(
            pack.read_text(encoding="utf-8").replace(
                'zh: "乡镇快递综合服务站面积{area_m2}平方米', 'zh: "综合服务站面积仅{area_m2}平方米'
            ),
            encoding="utf-8",
        )
        first, other = channels.values()
        reloaded = rules_pb2_grpc.RulesServiceStub(first).ReloadRules(rules_pb2.ReloadRulesRequest(), timeout=120)
        assert reloaded.previous_version == before and reloaded.ruleset_version != before
        deadline = time.monotonic() + 120  # the other worker loads the folder and runs the golden cases
        while _worker_of(other)[1] != reloaded.ruleset_version and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _worker_of(other)[1] == reloaded.ruleset_version
        assert _worker_of(first)[1] == reloaded.ruleset_version
    finally:
        for ch in channels.values():
            ch.close()
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
