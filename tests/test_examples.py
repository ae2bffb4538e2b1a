"""The operator-system example against a real server: check before filing, register on a pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clients.examples import operator_check
from service.server import Running

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_operator_checks_then_registers_only_a_passing_station(
        server: Running, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
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
