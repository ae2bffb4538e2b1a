"""The July or November inspection report (方案 四(五)) from a running ruralpost server.

    .venv/bin/python examples/inspection_report.py --as-of 2023-07-31 [--target 127.0.0.1:50051]

Counts come from the registry (stations registered with CheckStation register=true); pass
--hub-json to have the county hub judged as well.
"""

from __future__ import annotations

import argparse
import json

import grpc
from google.protobuf import json_format

from ruralpost.v1 import common_pb2, progress_pb2, progress_pb2_grpc

SEVERITY = {common_pb2.SEVERITY_ERROR: "错误", common_pb2.SEVERITY_WARNING: "警告", common_pb2.SEVERITY_INFO: "提示"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="127.0.0.1:50051")
    parser.add_argument("--as-of", required=True, help="YYYY-MM-DD, e.g. 2023-07-31 or 2023-11-30")
    parser.add_argument("--hub-json", help='the county hub, e.g. \'{"brands": ["中国邮政", "中通"], ...}\'')
    args = parser.parse_args()
    request = progress_pb2.GetProgressRequest(programme="jingle-2023", as_of=args.as_of)
    if args.hub_json:
        json_format.ParseDict(json.loads(args.hub_json), request.hub)
    with grpc.insecure_channel(args.target) as channel:
        report = progress_pb2_grpc.QuotaServiceStub(channel).GetProgress(request, timeout=10).report
    print(f"{report.programme} 截至 {report.as_of}（进度要求 {report.required_fraction:.0%}）")
    print(f"{'乡镇':<6}{'综合服务站':>8}{'村级点备案':>8}{'达标':>6}  结论")
    for t in report.townships:
        print(
            f"{t.township:<6}{t.township_stations_done:>6}/{t.township_stations_target}"
            f"{t.village_points_filed:>8}/{t.village_points_target}{t.village_points_compliant:>6}"
            f"  {common_pb2.Outcome.Name(t.outcome).removeprefix('OUTCOME_')}"
        )
        for r in t.reasons:
            print(f"      [{SEVERITY[r.severity]}] {r.message}")
    print(
        f"全县：综合服务站 {report.township_stations_done}/{report.township_stations_goal}，"
        f"村级点备案 {report.village_points_filed}/{report.village_points_goal}，"
        f"结论 {common_pb2.Outcome.Name(report.verdict.outcome).removeprefix('OUTCOME_')}"
    )
    for r in report.verdict.reasons:
        print(f"      [{SEVERITY[r.severity]}] {r.message}")
    print(f"县级统仓共配：{common_pb2.Outcome.Name(report.hub.outcome).removeprefix('OUTCOME_')}")
    for r in report.hub.reasons:
        print(f"      [{SEVERITY[r.severity]}] {r.message}")


if __name__ == "__main__":
    main()
