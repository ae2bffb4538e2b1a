"""Benchmark: evaluate and commit one 100,000-parcel claim through a real server, per backend.

    .venv/bin/python -m bench.claim_100k                 # SQLite, and PostgreSQL when reachable
    .venv/bin/python -m bench.claim_100k --runs 7 --pg postgresql://postgres@127.0.0.1:5432/test

Each run commits a fresh claim (new id, new waybills) to a real server on a free port over
loopback gRPC, so the ledger grows as in production. Printed: median seconds and parcels/s of
commit = true, of the dry run (commit = false, its baseline: the same work without the ledger
writes) and their ratio, plus the in-process split (evaluate vs. ledger commit) of one run.
`measure()` returns the same figures for `make bench`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import grpc
import psycopg

from ruralpost.service.claims import evaluate as claims
from ruralpost.service.claims.validate import validate_claim_request
from ruralpost.service.config import Config
from ruralpost.service.digest import digest as claim_digest
from ruralpost.service.server import running
from ruralpost.v1 import claim_pb2, claim_pb2_grpc
from tests.backends import pg_schema

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
OPERATOR = "山西壹公里信息科技有限公司"
CATEGORIES = ["藜麦", "小杂粮", "胡麻油", "马铃薯", "莜面", "荞麦"]
PLATFORMS = ["拼多多", "淘宝", "抖音", "京东", "快手"]
DESTINATIONS = ["太原市小店区", "北京市朝阳区", "广东省深圳市南山区", "上海市浦东新区", "忻州市忻府区"]


def make_claim(claim_id: str, parcels: int, tag: str) -> claim_pb2.Claim:
    """An upbound claim as an operator sends it: 92 % eligible, 8 % rejected for four different reasons."""
    items = []
    for i in range(parcels):
        p = claim_pb2.Parcel(
            waybill=f"SF{tag}{i:09d}",
            shipped_on=f"2023-07-{1 + i % 31:02d}",
            product_category=CATEGORIES[i % len(CATEGORIES)],
            platform=PLATFORMS[i % len(PLATFORMS)],
            origin_county="静乐县",
            destination_county=DESTINATIONS[i % len(DESTINATIONS)],
        )
        if i % 50 == 7:
            p.product_category = "手机壳"  # SUB-UP-AGRI
        elif i % 50 == 19:
            p.waybill = f"SF{tag}{i - 1:09d}"  # SUB-DUP-CLAIM
        elif i % 50 == 31:
            p.shipped_on = "2023-08-02"  # SUB-DATE
        elif i % 50 == 43:
            p.destination_county = "静乐县"  # SUB-UP-OUTSIDE
        items.append(p)
    return claim_pb2.Claim(
        claim_id=claim_id,
        programme="jingle-2023",
        operator=OPERATOR,
        kind=claim_pb2.CLAIM_KIND_UPBOUND_AGRICULTURAL,
        period="2023-07",
        declared_pieces=parcels,
        requested_amount_fen=100 * parcels,
        parcels=items,
    )


def measure(db: str, runs: int = 5, parcels: int = 100_000) -> dict[str, Any]:
    """Median seconds of EvaluateClaim(commit=true) and of the dry run, on a server over `db`."""
    tag = uuid.uuid4().hex[:6].upper()
    commits = [
        claim_pb2.EvaluateClaimRequest(
            claim=make_claim(f"B-{tag}-{r}", parcels, f"{tag}{r:02d}"), commit=True, accept_provisional_rates=True
        )
        for r in range(runs)
    ]
    dry = claim_pb2.EvaluateClaimRequest(claim=make_claim(f"B-{tag}-DRY", parcels, f"{tag}99"))
    with (
        running(Config(listen="127.0.0.1:0", db=db, grace_seconds=1)) as server,
        grpc.insecure_channel(
            f"127.0.0.1:{server.port}",
            options=[("grpc.max_send_message_length", 64 << 20), ("grpc.max_receive_message_length", 64 << 20)],
        ) as channel,
    ):
        stub = claim_pb2_grpc.SubsidyServiceStub(channel)
        stub.EvaluateClaim(dry)  # warm up: connection, rule set, caches
        commit_s, dry_s = [], []
        for request in commits:  # alternate the thing and its baseline (docs/performance.md)
            t0 = time.perf_counter()
            answer = stub.EvaluateClaim(request, timeout=120)
            commit_s.append(time.perf_counter() - t0)
            assert answer.committed and answer.eligible_pieces > 0.9 * parcels, answer.outcome
            t0 = time.perf_counter()
            stub.EvaluateClaim(dry, timeout=120)
            dry_s.append(time.perf_counter() - t0)
        split = _split(server.runtime, parcels, tag)
    median_commit, median_dry = statistics.median(commit_s), statistics.median(dry_s)
    return {
        "parcels": parcels,
        "runs": runs,
        "eligible": int(answer.eligible_pieces),
        "commit_s": median_commit,
        "commit_parcels_per_s": parcels / median_commit,
        "dry_run_s": median_dry,
        "dry_run_parcels_per_s": parcels / median_dry,
        "commit_vs_dry_run": median_commit / median_dry,
        **split,
    }


def _split(runtime: Any, parcels: int, tag: str) -> dict[str, float]:
    """One run in-process, step by step: digest, evaluate (with ledger look-up), ledger commit."""
    from ruralpost.service.store import ClaimRecord

    claim = make_claim(f"B-{tag}-SPLIT", parcels, f"{tag}SP")
    ruleset = runtime.rules.current
    config = claims.subsidy_config(ruleset.book.programme)
    t0 = time.perf_counter()
    period = validate_claim_request(True, claim, ruleset.book.programme.id, config.max_parcels)
    t1 = time.perf_counter()
    digest = claim_digest(claim)
    t2 = time.perf_counter()
    evaluation = claims.evaluate_claim(
        ruleset, claim, period, runtime.store.ledger.paid_among, runtime.store.stations_with_codes
    )
    t3 = time.perf_counter()
    response = evaluation.response
    runtime.store.ledger.commit(
        ClaimRecord(
            claim_id=claim.claim_id,
            digest=digest,
            programme="jingle-2023",
            operator=OPERATOR,
            kind="UPBOUND_AGRICULTURAL",
            period="2023-07",
            outcome="x",
            eligible_pieces=response.eligible_pieces,
            rejected_pieces=response.rejected_pieces,
            approved_amount_fen=response.approved_amount_fen,
            ruleset_version=response.ruleset_version,
            reference_version=response.reference_version,
            provisional_rates_accepted=True,
            response=response.SerializeToString(),
            waybills=evaluation.eligible_waybills,
        )
    )
    t4 = time.perf_counter()
    return {
        "split_validate_s": t1 - t0,
        "split_digest_s": t2 - t1,
        "split_evaluate_s": t3 - t2,
        "split_commit_s": t4 - t3,
    }


def report(name: str, r: dict[str, Any]) -> str:
    return (
        f"{name:<10} {r['parcels']:,} parcels ({r['eligible']:,} eligible), median of {r['runs']}: "
        f"commit {r['commit_s']:.3f} s = {r['commit_parcels_per_s']:,.0f} parcels/s; "
        f"dry run {r['dry_run_s']:.3f} s = {r['dry_run_parcels_per_s']:,.0f} parcels/s; "
        f"commit/dry run {r['commit_vs_dry_run']:.2f}x\n"
        f"{'':<10} in-process split of one commit: validate {r['split_validate_s']:.3f} s, "
        f"digest {r['split_digest_s']:.3f} s, evaluate {r['split_evaluate_s']:.3f} s, "
        f"ledger commit {r['split_commit_s']:.3f} s"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.claim_100k", description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--parcels", type=int, default=100_000)
    p.add_argument("--pg", default=PG_DEFAULT, help="PostgreSQL URL ('' to skip; default %(default)s)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        print(report("sqlite", measure(str(Path(tmp) / "bench.db"), args.runs, args.parcels)), flush=True)
    if args.pg:
        try:
            psycopg.connect(args.pg, connect_timeout=3).close()
        except psycopg.Error as e:
            print(f"postgresql skipped: not reachable at {args.pg} ({e})")
            return 0
        with pg_schema(args.pg) as url:
            print(report("postgresql", measure(url, args.runs, args.parcels)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
