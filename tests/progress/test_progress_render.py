"""The progress report as people read it, from a ProgressReport message (the contract's shape)."""

from __future__ import annotations

from ruralpost.clients.reports import html, table
from ruralpost.v1 import common_pb2, progress_pb2


def _report() -> progress_pb2.ProgressReport:
    lagging = common_pb2.Reason(
        rule_id="PRG-VILLAGE-POINTS",
        severity=common_pb2.SEVERITY_ERROR,
        message="康家会镇村级点备案2个，低于目标8个的<50%>",
        remedy="加快备案",
    )
    return progress_pb2.ProgressReport(
        programme="jingle-2023",
        as_of="2023-09-30",
        township_stations_done=2,
        township_stations_goal=12,
        village_points_filed=6,
        village_points_goal=48,
        required_fraction=0.5,
        townships=[
            progress_pb2.TownshipProgress(
                township="鹅城镇",
                township_stations_done=1,
                township_stations_target=1,
                village_points_filed=4,
                village_points_target=4,
                village_points_compliant=3,
                outcome=common_pb2.OUTCOME_PASS,
            ),
            progress_pb2.TownshipProgress(
                township="康家会镇",
                township_stations_done=0,
                township_stations_target=1,
                village_points_filed=2,
                village_points_target=8,
                village_points_compliant=1,
                outcome=common_pb2.OUTCOME_FAIL,
                reasons=[lagging],
            ),
        ],
        verdict=common_pb2.Verdict(outcome=common_pb2.OUTCOME_FAIL, reasons=[lagging]),
        hub=common_pb2.Verdict(outcome=common_pb2.OUTCOME_INCOMPLETE),
    )


def test_progress_table_and_html() -> None:
    report = _report()
    text = table.progress_report(report)
    assert "康家会镇" in text and "2/8" in text and "不通过" in text and "县级共配中心" in text
    page = html.progress_report(report)
    assert page.count('class="bar bar-filed"') == 2 and page.count('class="bar bar-compliant"') == 2
    assert 'width="480.0"' in page  # 鹅城镇 filed 4 of 4: the full bar
    assert "&lt;50%&gt;" in page and "<50%>" not in page
    assert "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
