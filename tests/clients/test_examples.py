"""The operator-system example against a real server: check before filing, register on a pass."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ruralpost.clients.examples import operator_check
from ruralpost.service.server import Running
from tests.backends import decisions
from tests.support import EXAMPLES, free_port


def test_operator_checks_then_registers_only_a_passing_station(
    server: Running, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = ["--server", f"127.0.0.1:{server.port}", "--register"]
    assert operator_check.main([str(EXAMPLES / "township-station.json"), *target]) == 0
    assert "已登记 registered" in capsys.readouterr().out

    # Another station showing the registered sign code fails, and is not registered.
    other = json.loads((EXAMPLES / "township-station.json").read_text(encoding="utf-8"))
    other["station"]["stationId"] = "KJH-XZ-99"
    path = tmp_path / "other.json"
    path.write_text(json.dumps(other, ensure_ascii=False), encoding="utf-8")
    assert operator_check.main([str(path), *target]) == 1
    out = capsys.readouterr().out
    assert "STN-SIGN-CODE-DUPLICATE" in out and "已登记" not in out


# ---- both examples as programs (a subprocess, as an operator's or the county's system runs them)

ROOT = EXAMPLES.parent


def program(module: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", f"ruralpost.clients.examples.{module}", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_operator_check_program(server: Running, tmp_path: Path) -> None:
    target = ["--server", f"127.0.0.1:{server.port}"]
    done = program("operator_check", str(EXAMPLES / "township-station.json"), *target)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].startswith("KJH-XZ-01: OUTCOME_PASS (rules ")
    assert "已登记" not in done.stdout  # no --register: checked only

    # A station too small for a township station: exit 1 with the rule, the reason and the remedy.
    small = json.loads((EXAMPLES / "township-station.json").read_text(encoding="utf-8"))
    small["station"]["areaM2"] = 8.5
    path = tmp_path / "small.json"
    path.write_text(json.dumps(small, ensure_ascii=False), encoding="utf-8")
    done = program("operator_check", str(path), *target, "--register")
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("KJH-XZ-01: OUTCOME_FAIL")
    assert lines[1].startswith("  [STN-AREA-TOWNSHIP] ") and "8.5" in lines[1]
    assert lines[2].strip().startswith("整改 remedy: ")
    assert "已登记" not in done.stdout
    assert decisions(server.runtime.store, limit=10)[0].outcome == "OUTCOME_FAIL"

    done = program("operator_check", str(EXAMPLES / "township-station.json"), *target, "--register")
    assert done.returncode == 0 and done.stdout.rstrip().endswith("已登记 registered")

    done = program("operator_check", str(EXAMPLES / "township-station.json"), "--server", f"127.0.0.1:{free_port()}")
    assert done.returncode == 2 and "UNAVAILABLE" in done.stderr and done.stdout == ""
    done = program("operator_check", str(tmp_path / "none.json"), *target)
    assert done.returncode == 2 and "none.json" in done.stderr


# The shipped rates are provisional: every answer that pays by them says so.
PROVISIONAL = (
    "  [SUB-RATES-PROVISIONAL] 核定金额3.00元所依据的补贴标准为暂定标准，尚未经正式文件确认："
    "上行农副产品每件1.00元，来源：占位标准：实施方案未规定金额，未查到公开标准（系统设定，待确认）"
)


@pytest.mark.slow
def test_subsidy_workflow_program(server: Running, tmp_path: Path) -> None:
    target = ["--server", f"127.0.0.1:{server.port}"]
    upbound = EXAMPLES / "claim-upbound.json"  # a request file: {"claim": …, "commit": false}

    # Step 1 only: a dry run, nothing recorded; partially eligible is exit 1.
    done = program("subsidy_workflow", str(upbound), *target)
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines() == [
        "SXYGL-UP-2023-07-0001: 部分符合 PARTIALLY ELIGIBLE; eligible 3, rejected 2, approved ¥3.00 (dry run)",
        "  [SUB-AMOUNT] 申报金额5.00元与按件核算金额3.00元不一致，按核算金额3.00元核定",
        PROVISIONAL,
        "  SUB-UP-AGRI: 1 parcels rejected",
        "  SUB-DUP-CLAIM: 1 parcels rejected",
    ]

    # An eligible claim (a bare Claim), approved: dry run, then committed; exit 0.
    claim = json.loads(upbound.read_text(encoding="utf-8"))["claim"]
    claim.update(
        claimId="SXYGL-UP-2023-07-0002", parcels=claim["parcels"][:3], declaredPieces=3, requestedAmountFen="300"
    )
    path = tmp_path / "claim.json"
    path.write_text(json.dumps(claim, ensure_ascii=False), encoding="utf-8")
    done = program("subsidy_workflow", str(path), *target, "--approve")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "SXYGL-UP-2023-07-0002: 符合补贴条件 ELIGIBLE; eligible 3, rejected 0, approved ¥3.00 (dry run)",
        PROVISIONAL,
        "SXYGL-UP-2023-07-0002: 符合补贴条件 ELIGIBLE; eligible 3, rejected 0, approved ¥3.00 (committed)",
        PROVISIONAL,
    ]
    # The workflow retried after a timeout: the stored answer, paid once.
    done = program("subsidy_workflow", str(path), *target, "--approve")
    assert done.returncode == 0
    assert (
        done.stdout.splitlines()
        == [
            "SXYGL-UP-2023-07-0002: 符合补贴条件 ELIGIBLE; eligible 3, rejected 0, approved ¥3.00 (committed)",
            PROVISIONAL,
        ]
        * 2
    )
    methods = [r.method for r in decisions(server.runtime.store, limit=20)]
    assert methods.count("EvaluateClaim:commit") == 1 and methods.count("EvaluateClaim:stored") == 2

    # Now the first claim's waybills 1-3 are paid (the 5th repeats the 1st): nothing is left to pay,
    # so the workflow stops after the dry run even when approved.
    done = program("subsidy_workflow", str(upbound), *target, "--approve")
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0] == "SXYGL-UP-2023-07-0001: 不符合 INELIGIBLE; eligible 0, rejected 5, approved ¥0.00 (dry run)"
    assert lines[2:] == [
        "  SUB-UP-AGRI: 1 parcels rejected",
        "  SUB-DUP-CLAIM: 1 parcels rejected",
        "  SUB-DUP-LEDGER: 4 parcels rejected",
    ]

    # The same id with other contents: refused.
    claim["requestedAmountFen"] = "200"
    path.write_text(json.dumps(claim, ensure_ascii=False), encoding="utf-8")
    done = program("subsidy_workflow", str(path), *target, "--approve")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("error: ALREADY_EXISTS: ")

    done = program("subsidy_workflow", str(path), "--server", f"127.0.0.1:{free_port()}")
    assert done.returncode == 2 and "UNAVAILABLE" in done.stderr
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    done = program("subsidy_workflow", str(tmp_path / "broken.json"), *target)
    assert done.returncode == 2 and "broken.json" in done.stderr
