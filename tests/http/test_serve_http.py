"""`ruralpost serve --http-listen` as people run it: the README's commands word for word (ports
moved to free ones), and pre-forked workers sharing the HTTP port with one console login good on
every worker."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.http.jsondoor import unary
from tests.support import ROOT, TOKENS, free_port

pytestmark = pytest.mark.slow  # `ruralpost serve` in subprocesses, workers

CLI = Path(sys.executable).parent / "ruralpost"


def readme_lines() -> tuple[str, str]:
    """The README's serve line with --http-listen, and its curl line."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    serve = next(line for line in text.splitlines() if line.startswith(".venv/bin/ruralpost serve --http-listen"))
    curl = next(line for line in text.splitlines() if line.startswith("curl ") and "CheckStation" in line)
    return serve, curl


@contextmanager
def serving(args: list[str], port: int) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5):
                    break
            except OSError:
                assert proc.poll() is None, proc.communicate()[0]
                assert time.monotonic() < deadline, "the HTTP door did not come up"
                time.sleep(0.2)
        yield proc
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def test_the_readme_serve_and_curl_lines(tmp_path: Path) -> None:
    serve, curl = readme_lines()
    http = free_port()
    args = shlex.split(serve.replace("127.0.0.1:8080", f"127.0.0.1:{http}"))
    args[0] = str(CLI)
    args += ["--listen", f"127.0.0.1:{free_port()}", "--db", str(tmp_path / "r.db")]
    args += ["--console-dir", str(tmp_path / "console")]
    with serving(args, http):
        with urllib.request.urlopen(f"http://127.0.0.1:{http}/", timeout=30) as page:
            assert "农村寄递物流核验控制台" in page.read().decode()
        call = shlex.split(curl.replace("127.0.0.1:8080", f"127.0.0.1:{http}"))
        if shutil.which("curl"):
            body = subprocess.run([*call, "-sS"], cwd=ROOT, capture_output=True, check=True, timeout=60).stdout
        else:
            data = (ROOT / call[call.index("-d") + 1].removeprefix("@")).read_bytes()
            request = urllib.request.Request(call[-1], data=data, headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=60) as r:
                body = r.read()
        verdict = json.loads(body)["verdict"]
        assert verdict["subjectId"] == "KJH-C-07" and verdict["outcome"] == "OUTCOME_PASS_WITH_WARNINGS"
    # the README's abridged answer names what the call returns
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert re.search(r'"outcome": "OUTCOME_PASS_WITH_WARNINGS"', text)


def test_workers_share_the_http_port_and_the_console_login(tmp_path: Path, auth_file: Path) -> None:
    http = free_port()
    args = [
        str(CLI),
        "serve",
        "--workers",
        "2",
        "--listen",
        f"127.0.0.1:{free_port()}",
        "--http-listen",
        f"127.0.0.1:{http}",
        "--db",
        str(tmp_path / "w.db"),
        "--auth-file",
        str(auth_file),
        "--console-dir",
        str(tmp_path / "console"),
    ]
    with serving(args, http) as proc:
        login = urllib.request.Request(
            f"http://127.0.0.1:{http}/console/api/login",
            data=json.dumps({"token": TOKENS["reader"]}).encode(),
            headers={"X-Ruralpost-Console": "1", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(login, timeout=30) as r:
            cookie = r.headers["Set-Cookie"].split(";", 1)[0]
        # A new connection each time: SO_REUSEPORT spreads 40 of them over both workers (all on one
        # has odds of 2^-39), and the login made on one is good on the other.
        for _ in range(40):
            me = urllib.request.Request(f"http://127.0.0.1:{http}/console/api/me", headers={"Cookie": cookie})
            with urllib.request.urlopen(me, timeout=30) as r:
                assert json.loads(r.read())["name"] == "fagai-reader"
            answer = unary(http, "RulesService/ListRules", {}, who="reader")
            assert answer.code == "ok"
        children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
        assert len(children) == 2
