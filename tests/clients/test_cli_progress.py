"""`ruralpost progress` end to end: a registry filled by `ruralpost check --register`, the July and
November inspections, a station list instead of the registry, the county hub, the HTML chart."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format

from ruralpost.cli import main
from ruralpost.clients.sheets import layout, template
from ruralpost.service.golden import plans
from ruralpost.service.rulebook.programme import Programme
from ruralpost.service.server import Running

TOWNSHIPS = [
    "鹅城镇",
    "杜家村镇",
    "丰润镇",
    "康家会镇",
    "双路镇",
    "王村镇",
    "段家寨乡",
    "辛村乡",
    "神峪沟乡",
    "娘子神乡",
    "娑婆乡",
    "赤泥洼乡",
]
HUB = {
    "name": "静乐县统仓共配中心",
    "brands": ["中国邮政", "中通快递"],
    "unifiedWarehousing": True,
    "sorting": True,
    "delivery": True,
    "establishedOn": "2023-06-20",
}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def progress(server: Running, capsys: pytest.CaptureFixture[str], as_of: str, *argv: str) -> tuple[int, str, str]:
    return run(capsys, "progress", "--as-of", as_of, "--server", f"127.0.0.1:{server.port}", *argv)


def progress_json(
    server: Running, capsys: pytest.CaptureFixture[str], as_of: str, *argv: str
) -> tuple[int, dict[str, Any]]:
    code, out, err = progress(server, capsys, as_of, "--format", "json", *argv)
    assert err == "" or code != 0, err
    report: dict[str, Any] = json.loads(out)
    return code, report


def programme(server: Running) -> Programme:
    return server.runtime.rules.current.book.programme


def write_jsonl(path: Path, stations: list[Any]) -> Path:
    """Whole CheckStation requests, one a line (what an operator system exports)."""
    lines = [json.dumps({"station": json_format.MessageToDict(s)}, ensure_ascii=False) for s in stations]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_csv(path: Path, stations: list[Any]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(template.headers("stations", "both"))
        writer.writerows(layout.to_row(s, layout.STATION_COLUMNS) for s in stations)
    return path


def townships(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["township"]: t for t in report["townships"]}


def rule_ids(reasons: list[dict[str, Any]]) -> list[str]:
    return [r["rule_id"] for r in reasons]


def test_july_and_november_of_a_registry_filled_by_check_register(
    server: Running, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Nothing registered yet: every township is behind in July.
    code, empty = progress_json(server, capsys, "2023-07-31")
    assert code == 1
    assert empty["verdict"]["outcome"] == "OUTCOME_FAIL"
    assert rule_ids(empty["verdict"]["reasons"]) == ["QTA-COUNTY-PACE", "QTA-NOTE-52", "QTA-NOTE-JUNE"]
    assert (empty["township_stations_done"], empty["village_points_filed"]) == (0, 0)

    # 康家会镇 has 4 of its 8 points, every other township its target: 12 stations, 48 points.
    stations = plans.stations(programme(server), {"康家会镇": {"points": 4}})
    assert len(stations) == 60
    registry = write_jsonl(tmp_path / "registry.jsonl", stations)
    code, out, err = run(
        capsys, "check", str(registry), "--register", "--as-of", "2023-06-15", "--server", f"127.0.0.1:{server.port}"
    )
    assert code == 0, err
    assert "共 60 行 rows，通过 60，未通过 0" in out

    code, july = progress_json(server, capsys, "2023-07-31")
    assert code == 0
    assert july["verdict"]["outcome"] == "OUTCOME_PASS"
    assert (july["township_stations_done"], july["township_stations_goal"]) == (12, 12)
    assert (july["village_points_filed"], july["village_points_goal"]) == (48, 48)
    assert july["required_fraction"] == 0.5
    by_name = townships(july)
    assert list(by_name) == TOWNSHIPS
    kjh = by_name["康家会镇"]
    assert (kjh["village_points_filed"], kjh["village_points_target"], kjh["outcome"]) == (4, 8, "OUTCOME_PASS")
    assert [(r["rule_id"], r["severity"]) for r in kjh["reasons"]] == [("QTA-TOWNSHIP-POINTS", "SEVERITY_INFO")]
    assert all(t["outcome"] == "OUTCOME_PASS" for t in by_name.values())
    code, out, _ = progress(server, capsys, "2023-07-31")
    assert code == 0
    assert "截至 as of 2023-07-31：全县 county 通过 PASS\n" in out and "未通过的乡镇" not in out

    # November: the county goal of 48 is met, but 康家会镇 fails its own target of 8: exit 1.
    code, out, err = progress(server, capsys, "2023-11-30")
    assert code == 1, err
    # The county verdict alone passes; the headline names the township behind.
    assert "截至 as of 2023-11-30：全县 county 通过 PASS；未通过的乡镇 townships not passing：康家会镇\n" in out
    kjh_line = next(line for line in out.splitlines() if line.startswith("康家会镇"))
    assert "1/1" in kjh_line and "4/8" in kjh_line and "不通过" in kjh_line
    assert "要求比例 required 100%" in out

    code, november = progress_json(server, capsys, "2023-11-30")
    assert code == 1
    assert november["verdict"]["outcome"] == "OUTCOME_PASS"
    assert [t["township"] for t in november["townships"] if t["outcome"] != "OUTCOME_PASS"] == ["康家会镇"]
    assert [(r["rule_id"], r["severity"]) for r in townships(november)["康家会镇"]["reasons"]] == [
        ("QTA-TOWNSHIP-POINTS", "SEVERITY_ERROR")
    ]
    # Without --hub the server has no hub to judge (INCOMPLETE); that alone does not fail the run.
    assert november["hub"]["outcome"] == "OUTCOME_INCOMPLETE"
    assert rule_ids(november["hub"]["reasons"]) == ["HUB-MISSING"]


def test_november_with_hub_and_html_report(server: Running, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    stations = plans.stations(programme(server), {"康家会镇": {"points": 4}})
    registry = write_jsonl(tmp_path / "registry.jsonl", stations)
    assert (
        run(
            capsys,
            "check",
            str(registry),
            "--register",
            "--as-of",
            "2023-06-15",
            "--server",
            f"127.0.0.1:{server.port}",
        )[0]
        == 0
    )
    hub = tmp_path / "hub.json"
    hub.write_text(json.dumps(HUB, ensure_ascii=False), encoding="utf-8")
    page = tmp_path / "progress.html"
    code, out, err = progress(server, capsys, "2023-11-30", "--hub", str(hub), "--report", str(page))
    assert code == 1, err  # 康家会镇 4 of 8
    assert "县级共配中心 County hub：通过 PASS" in out
    html = page.read_text(encoding="utf-8")
    assert '<p class="behind">未通过的乡镇 Townships not passing：康家会镇</p>' in html
    chart = html[html.index('<svg id="township-chart"') : html.index("</svg>")]
    labels = re.findall(r'text-anchor="end">([^<]+)</text>', chart)
    assert labels == TOWNSHIPS
    filed = re.findall(r'class="bar bar-filed" x="120" y="(\d+)" width="([\d.]+)"', chart)
    assert [w for _, w in filed] == ["480.0"] * 3 + ["240.0"] + ["480.0"] * 8  # 康家会镇 4/8
    assert chart.count('stroke="#c62828"') == 12  # the required share (100%) in every row
    assert "4/8 · 乡镇站✔" in chart
    assert "http" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")

    # The hub with one brand only fails HUB-BRANDS: exit 1 with the hub in the JSON.
    hub.write_text(json.dumps({**HUB, "brands": ["中国邮政"]}, ensure_ascii=False), encoding="utf-8")
    code, report = progress_json(server, capsys, "2023-11-30", "--hub", str(hub))
    assert code == 1
    assert report["hub"]["outcome"] == "OUTCOME_FAIL" and rule_ids(report["hub"]["reasons"]) == ["HUB-BRANDS"]


def test_stations_file_replaces_the_registry(
    server: Running, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # The registry holds nothing; the file holds every township at its table target (64 stations).
    stations = plans.stations(programme(server), {})
    assert len(stations) == 64
    listing = write_csv(tmp_path / "stations.csv", stations)
    hub = tmp_path / "hub.json"
    hub.write_text(json.dumps(HUB, ensure_ascii=False), encoding="utf-8")
    code, report = progress_json(server, capsys, "2023-11-30", "--stations", str(listing), "--hub", str(hub))
    assert code == 0
    assert (report["township_stations_done"], report["village_points_filed"]) == (12, 52)
    assert all(t["outcome"] == "OUTCOME_PASS" for t in report["townships"])
    assert report["verdict"]["outcome"] == "OUTCOME_PASS" and report["hub"]["outcome"] == "OUTCOME_PASS"
    assert townships(report)["康家会镇"]["village_points_filed"] == 8

    # The registry itself is still empty.
    code, registry = progress_json(server, capsys, "2023-11-30")
    assert code == 1 and registry["village_points_filed"] == 0

    # A row that cannot be read is left out, named by its row number, and makes the exit code 1.
    with listing.open(encoding="utf-8") as f:
        rows = list(csv.reader(f))
    area = rows[0].index("面积（平方米）/area_m2")
    village_row = next(i for i, r in enumerate(rows) if r[1] == "村级快递便民服务点" and r[3] == "鹅城镇")
    rows[village_row][area] = "很大"
    with listing.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    code, out, err = progress(server, capsys, "2023-11-30", "--stations", str(listing), "--format", "json")
    assert code == 1
    assert f"第{village_row + 1}行被排除 row {village_row + 1} left out" in err and "很大" in err
    report = json.loads(out)
    ecz = townships(report)["鹅城镇"]
    assert (ecz["village_points_filed"], ecz["outcome"]) == (3, "OUTCOME_FAIL")  # 3 of 4 in November
    assert report["village_points_filed"] == 51


def test_progress_usage_and_connection_errors_exit_2(
    server: Running, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    hub = tmp_path / "hub.json"
    hub.write_text('{"brands": "中国邮政"', encoding="utf-8")
    code, out, err = progress(server, capsys, "2023-11-30", "--hub", str(hub))
    assert code == 2 and out == "" and "县级共配中心" in err
    code, _, err = progress(server, capsys, "2023-11-30", "--stations", str(tmp_path / "none.csv"))
    assert code == 2 and "none.csv" in err
    with pytest.raises(SystemExit) as caught:
        main(["progress", "--as-of", "30/11/2023", "--server", f"127.0.0.1:{server.port}"])
    assert caught.value.code == 2
    capsys.readouterr()
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, out, err = run(
        capsys,
        "progress",
        "--as-of",
        "2023-11-30",
        "--server",
        f"127.0.0.1:{port}",
        "--attempts",
        "1",
        "--timeout",
        "5",
    )
    assert (
        code == 2
        and out == ""
        and err
        == (
            f"ruralpost: 无法连接 127.0.0.1:{port}：请确认服务已启动，"
            "且这是 gRPC 端口（不是 HTTP 端口 --http-listen），地址不带 http://"
            f" — cannot connect to 127.0.0.1:{port}: is the server running, is this its gRPC port "
            "(not the HTTP one), and no http:// prefix?\n"
        )
    )
