"""What a user sees when a client command cannot start: one line in Chinese and English, exit 2.

A connection failure names the address and what to check (server running, gRPC port, no
http://); the retry log is there only with -v. Every file error names the file, in both languages.
"""

from __future__ import annotations

import logging
import shlex
from pathlib import Path

import pytest

from ruralpost.cli import main
from ruralpost.service.server import Running
from tests.support import EXAMPLES, free_port

ROOT = EXAMPLES.parent


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_nothing_listening_is_one_bilingual_line_without_retry_warnings(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    address = f"127.0.0.1:{free_port()}"
    caplog.set_level(logging.DEBUG)
    code, out, err = run(capsys, "rules", "--server", address, "--attempts", "3")
    assert code == 2 and out == ""
    line = one_line(err)
    assert line.startswith(f"ruralpost: 无法连接 {address}：请确认服务已启动")
    assert "gRPC 端口（不是 HTTP 端口" in line and "is the server running" in line and "http://" in line
    assert "UNAVAILABLE" not in line and "ipv4" not in line
    assert not [r for r in caplog.records if r.name.startswith("ruralpost.clients") and r.levelno >= logging.WARNING]

    # -v: each retry is logged, and gRPC's own text follows the line.
    caplog.clear()
    code, _, err = run(capsys, "rules", "--server", address, "--attempts", "3", "-v")
    assert code == 2 and "UNAVAILABLE" in err
    retries = [r for r in caplog.records if r.name == "ruralpost.clients.sdk.client" and r.levelno == logging.WARNING]
    assert len(retries) == 2


def test_http_prefix_and_unknown_host(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "rules", "--server", "http://127.0.0.1:50051", "--attempts", "1")
    assert code == 2
    assert "地址只写 主机:端口，不带 http://" in one_line(err) and "without http://" in err
    code, _, err = run(capsys, "rules", "--server", "no-such-host.invalid:50051", "--attempts", "1")
    assert code == 2
    line = one_line(err)
    assert "找不到这个主机名" in line and "host name is not found" in line and "no-such-host.invalid:50051" in line


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["progress", "--as-of", "2023-11-30", "--hub", "{tmp}/hub.json"], "hub.json: 文件不存在 no such file"),
        (["progress", "--as-of", "2023-11-30", "--hub", "{tmp}"], ": 这是文件夹，不是文件 a folder, not a file"),
        (["check", "{tmp}/stations.xlsx"], "stations.xlsx: 文件不存在 no such file"),
        (["claim", "{tmp}/claim.json"], "claim.json: 文件不存在 no such file"),
        (["check", "{tmp}/stations.pdf"], "不支持的文件类型 .pdf"),
        (["rules", "--out", "{tmp}/no/such/folder/rules.txt"], "rules.txt: 文件不存在 no such file"),
    ],
)
def test_file_errors_are_bilingual(
    server: Running, capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], expected: str
) -> None:
    args = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    code, out, err = run(capsys, *args, "--server", f"127.0.0.1:{server.port}")
    assert code == 2 and out == ""
    line = one_line(err)
    assert expected in line and "Errno" not in line


def test_the_readme_progress_line_runs_as_written(
    server: Running, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    line = next(line for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines() if "--hub" in line)
    argv = shlex.split(line.split("#")[0])
    assert argv[0] == ".venv/bin/ruralpost"
    (tmp_path / "examples").symlink_to(EXAMPLES)  # the README's paths, from a clone's root
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *argv[1:], "--server", f"127.0.0.1:{server.port}")
    assert code == 1, err  # an empty registry is behind; the hub itself passes
    assert "县级共配中心 County hub：通过" in out
    assert (tmp_path / "november.html").is_file()
