"""Pre-forked workers share the port, the registry and the ledger."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc

from ruralpost.v1 import claim_pb2, claim_pb2_grpc, station_pb2_grpc
from tests.support import free_port, station_request, upbound_claim


def test_workers_share_the_port_and_the_registry(tmp_path: Path) -> None:
    port = free_port()
    cli = Path(sys.executable).parent / "ruralpost"
    proc = subprocess.Popen(
        [str(cli), "serve", "--workers", "2", "--listen", f"127.0.0.1:{port}", "--db", str(tmp_path / "w.db")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
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
                        claim_pb2.EvaluateClaimRequest(claim=claim, commit=True), timeout=30
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
            proc.kill()
        proc.communicate()
