"""`ruralpost serve` refusing to start: one line, Chinese then English, saying what to do; exit 2.

Each case runs the real command as an operator would, including a second server on a port a first
one holds (Linux would let the two share it: grpcio sets SO_REUSEPORT by default)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest

from tests.backends import pg_url
from tests.support import free_port

CLI = Path(sys.executable).parent / "ruralpost"
_LOGGED = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO) ruralpost\.")


def _refused(args: list[str], env: dict[str, str] | None = None) -> str:
    """The one line `serve` exits 2 with (it must exit, not serve)."""
    done = subprocess.run(
        [str(CLI), "serve", *args], capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})}
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    # the log lines of the start so far (the golden cases passed), then the one line that says why
    lines = [line for line in done.stderr.splitlines() if not _LOGGED.match(line)]
    assert len(lines) == 1, done.stderr
    zh, sep, en = lines[0].partition(" | ")
    assert sep and any("\u4e00" <= c <= "\u9fff" for c in zh) and en.isascii(), lines[0]
    return lines[0]


def _serving(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    """`serve` in a session of its own (its workers stop with it), its output in `log`."""
    with open(log, "w", encoding="utf-8") as out:
        return subprocess.Popen(
            [str(CLI), "serve", *args], stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def test_a_second_server_on_a_port_in_use_exits_2_naming_it(tmp_path: Path) -> None:
    """The first server runs with the default workers (they share their ports among themselves);
    a second one, alone or with workers, on its gRPC or its HTTP port, is refused."""
    port, http_port = free_port(), free_port()
    first = _serving(
        ["--listen", f"127.0.0.1:{port}", "--http-listen", f"127.0.0.1:{http_port}", "--db", str(tmp_path / "a.db")],
        tmp_path / "first.log",
    )
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            grpc.channel_ready_future(ch).result(timeout=60)
        cores = len(os.sched_getaffinity(0))  # the default: a worker per usable core (one: no children)
        children = subprocess.run(["pgrep", "-P", str(first.pid)], capture_output=True, text=True).stdout.split()
        assert len(children) == (cores if cores > 1 else 0)
        other = str(tmp_path / "b.db")
        for args, taken in [
            (["--workers", "1", "--listen", f"127.0.0.1:{port}"], port),
            (["--workers", "2", "--listen", f"127.0.0.1:{port}"], port),
            (["--workers", "1", "--listen", "127.0.0.1:0", "--http-listen", f"127.0.0.1:{http_port}"], http_port),
            (["--workers", "2", "--listen", "127.0.0.1:0", "--http-listen", f"127.0.0.1:{http_port}"], http_port),
        ]:
            line = _refused([*args, "--db", other])
            door = "gRPC" if taken == port else "HTTP"
            assert line.startswith(f"ruralpost: 端口 {taken} 已被其他程序占用（{door}，127.0.0.1:{taken}）"), line
            assert f"port {taken} is in use by another process ({door}" in line
        assert not Path(other).exists()  # refused before opening its database
        assert first.poll() is None
    finally:
        os.killpg(first.pid, signal.SIGTERM)
        first.wait(timeout=30)


def test_a_postgresql_database_that_does_not_exist(tmp_path: Path) -> None:
    url = pg_url().rsplit("/", 1)[0] + "/ruralpost_never_created"
    line = _refused(["--workers", "1", "--listen", "127.0.0.1:0", "--db", url])
    assert "数据库已建好（createdb 或 CREATE DATABASE）" in line
    assert 'database "ruralpost_never_created" does not exist' in line


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_postgresql_server_nobody_runs(workers: str) -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/test"
    line = _refused(["--workers", workers, "--listen", "127.0.0.1:0", "--db", url])
    assert line.startswith("ruralpost: 数据库打不开。PostgreSQL：请确认服务在运行")
    assert "Connection refused" in line and "the database cannot be opened" in line


def test_a_sqlite_folder_that_cannot_be_made(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder", encoding="utf-8")
    line = _refused(["--workers", "1", "--listen", "127.0.0.1:0", "--db", str(tmp_path / "file" / "r.db")])
    assert "SQLite：请确认文件夹可写" in line


def _pem(path: Path, kind: str) -> Path:
    path.write_text(f"-----BEGIN {kind}-----\nbm90IGEga2V5\n-----END {kind}-----\n", encoding="utf-8")
    return path


def test_a_certificate_that_is_not_one(tmp_path: Path) -> None:
    cert, key = _pem(tmp_path / "tls.crt", "CERTIFICATE"), _pem(tmp_path / "tls.key", "PRIVATE KEY")
    args = ["--workers", "1", "--listen", "127.0.0.1:0", "--db", str(tmp_path / "t.db")]
    line = _refused([*args, "--tls-cert", str(cert), "--tls-key", str(key)])
    assert line.startswith(f"ruralpost: TLS 证书或私钥无效（{cert}，{key}）")
    assert "the TLS certificate or key is not valid" in line


def test_a_certificate_file_that_is_missing(tmp_path: Path) -> None:
    key = _pem(tmp_path / "tls.key", "PRIVATE KEY")
    args = ["--workers", "1", "--listen", "127.0.0.1:0", "--db", str(tmp_path / "t.db")]
    line = _refused([*args, "--tls-cert", str(tmp_path / "none.crt"), "--tls-key", str(key)])
    assert f"--tls-cert: cannot read {tmp_path / 'none.crt'} (No such file or directory)" in line


@pytest.mark.parametrize("kind", ["missing", "a file"])
def test_a_rule_folder_that_is_not_one(tmp_path: Path, kind: str) -> None:
    rules = tmp_path / "rules"
    if kind == "a file":
        rules.write_text("", encoding="utf-8")
    line = _refused(["--listen", "127.0.0.1:0", "--db", str(tmp_path / "r.db"), "--rules", str(rules)])
    assert line.startswith(f"ruralpost: 规则文件夹不存在或不是文件夹：{rules}")


def test_a_rule_folder_that_cannot_be_read(tmp_path: Path, rules_copy: Path) -> None:
    """A pack the server cannot read (a folder where a file should be: unreadable even for root)."""
    pack = rules_copy / "stations.yaml"
    pack.unlink()
    pack.mkdir()
    line = _refused(["--listen", "127.0.0.1:0", "--db", str(tmp_path / "r.db"), "--rules", str(rules_copy)])
    assert "stations.yaml" in line and "--rules" in line


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        (["--workers", "0"], {}, "argument --workers: Input should be greater than or equal to 1"),
        ([], {"RURALPOST_WORKERS": "many"}, "--workers / RURALPOST_WORKERS: Input should be a valid integer"),
        (["--listen", "50051"], {}, "argument --listen: '50051' is not HOST:PORT"),
        ([], {"RURALPOST_LISTEN": "localhost"}, "--listen / RURALPOST_LISTEN: 'localhost' is not HOST:PORT"),
        ([], {"RURALPOST_GRACE": "soon"}, "--grace / RURALPOST_GRACE: Input should be a valid number"),
        (["--log-level", "loud"], {}, "argument --log-level: Input should be 'debug'"),
        (["--listen", "0.0.0.0:0"], {}, "refusing to listen on 0.0.0.0:0 without --auth-file"),
    ],
)
def test_a_bad_setting(tmp_path: Path, args: list[str], env: dict[str, str], says: str) -> None:
    line = _refused(["--db", str(tmp_path / "s.db"), *args], env)
    assert says in line


def test_an_auth_file_that_does_not_load(tmp_path: Path) -> None:
    auth = tmp_path / "callers.yaml"
    auth.write_text("{}", encoding="utf-8")
    line = _refused(
        ["--workers", "1", "--listen", "127.0.0.1:0", "--db", str(tmp_path / "a.db"), "--auth-file", str(auth)]
    )
    assert line.startswith("ruralpost: 调用方文件（--auth-file）有误") and "a non-empty list of callers" in line


def test_listen_port_0_with_workers_serves_on_the_port_the_parent_learnt(tmp_path: Path) -> None:
    """PORT 0 under workers: the parent binds and learns the port, the workers share it, and the
    ready line says the real port."""
    log = tmp_path / "serve.log"
    args = ["--workers", "2", "--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0", "--db", str(tmp_path / "z.db")]
    proc = _serving(args, log)
    try:
        deadline = time.monotonic() + 60
        while "workers on" not in log.read_text(encoding="utf-8") and time.monotonic() < deadline:
            time.sleep(0.1)
        first = next(line for line in log.read_text(encoding="utf-8").splitlines() if "workers on" in line)
        grpc_port = int(first.split("workers on 127.0.0.1:")[1].split(",")[0])
        http_port = int(first.split("HTTP and console on 127.0.0.1:")[1])
        assert grpc_port and http_port
        with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as ch:
            grpc.channel_ready_future(ch).result(timeout=60)
        while log.read_text(encoding="utf-8").count(f"serving on 127.0.0.1:{grpc_port} (port {grpc_port})") < 2:
            assert time.monotonic() < deadline, log.read_text(encoding="utf-8")
            time.sleep(0.1)
        assert f"HTTP and console on 127.0.0.1:{http_port} (port {http_port})" in log.read_text(encoding="utf-8")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
