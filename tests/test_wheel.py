"""The wheel, as people install it: built from the files a clone has (stubs made at build time, the
rules as package data), installed into fresh venvs outside the checkout, run from other folders.

- with the `server` extra: `ruralpost serve` (default rules from the package) and `ruralpost check`
  of a CSV give real verdicts;
- alone, from binary or pure-Python wheels only (`--only-binary :all:`, so no compiler): no
  durable_rules, psycopg, SQLAlchemy; `serve` says what to install; `check` of a GBK file works
  against a server of the main venv.

About a minute (a wheel build and two venvs, from the warm pip cache); `-m "not wheel"` skips it.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import urllib.request
from pathlib import Path

import grpc
import pytest
from packaging.utils import canonicalize_name

from ruralpost.service.config import DEFAULT_RULES_DIR
from ruralpost.service.ruleset import load_ruleset
from ruralpost.service.server import Running
from ruralpost.service.store import migrate
from tests.support import ROOT, free_port

pytestmark = [pytest.mark.wheel, pytest.mark.slow]

AS_OF = "2023-07-15"
SERVER_ONLY = [
    *("durable-rules", "psycopg", "psycopg-binary", "sqlalchemy", "pydantic", "pydantic-settings", "pyyaml"),
    "prometheus-client",
    *("orjson", "connectrpc", "uvicorn", "h11"),  # the engine's JSON, the HTTP door
    *("alembic", "mako"),  # the schema's migrations
]
EXPECTED = [
    ("KJH-XZ-01", "PASS", []),
    ("KJH-C-07", "PASS_WITH_WARNINGS", ["STN-AREA-VILLAGE", "STN-FILING-PENDING"]),
    ("KJH-XZ-02", "FAIL", ["STN-AREA-TOWNSHIP"]),
]


def _env() -> dict[str, str]:
    """This process's environment without what would let a venv see the checkout."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}


def _run(*argv: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in argv], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=600)


def _ok(*argv: str | Path, cwd: Path | None = None) -> str:
    done = _run(*argv, cwd=cwd)
    assert done.returncode == 0, f"{argv}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _venv(path: Path, *requirements: str, pip_options: tuple[str, ...] = ()) -> Path:
    """A fresh venv with `requirements` installed by this venv's pip (no pip inside: faster)."""
    _ok(sys.executable, "-m", "venv", "--without-pip", path)
    python = path / "bin" / "python"
    _ok(
        sys.executable,
        "-m",
        "pip",
        "--python",
        python,
        "install",
        "--quiet",
        "-c",
        ROOT / "constraints.txt",
        *pip_options,
        *requirements,
    )
    return path / "bin"


def _installed(bin_dir: Path) -> set[str]:
    listed = _ok(sys.executable, "-m", "pip", "--python", bin_dir / "python", "list", "--format", "json")
    return {canonicalize_name(p["name"]) for p in json.loads(listed)}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of a clean clone: the tracked (and new, unignored) files only, no stubs, no venv."""
    clone = tmp_path_factory.mktemp("clone")
    listed = _ok("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT)
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():  # not a file deleted in the work tree
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            (clone / name).write_bytes(source.read_bytes())
    assert not (clone / "ruralpost" / "v1").exists()
    dist = tmp_path_factory.mktemp("dist")
    _ok(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", dist, clone)
    (built,) = dist.glob("ruralpost-*.whl")
    return built


@pytest.fixture(scope="module")
def wheelhouse() -> Path:
    """durable_rules for this Python, as `make setup` builds it (kept when already there)."""
    house = ROOT / "wheelhouse"
    _ok("sh", ROOT / "scripts" / "build-durable-rules.sh", sys.executable, house)
    return house


def stations_csv(path: Path, bin_dir: Path, encoding: str) -> Path:
    """The installed `ruralpost template stations`, plus a township station too small (FAIL), saved
    in `encoding` (GBK: as Excel or WPS save it on Chinese Windows)."""
    _ok(bin_dir / "ruralpost", "template", "stations", "--out", path, cwd=path.parent)
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    header, township = rows[0], rows[1]
    small = dict(zip(header, township, strict=True))
    small.update({"站点编号/station_id": "KJH-XZ-02", "标识牌编号/signage.code": "XZ0005"})
    small["面积（平方米）/area_m2"] = "8.5"
    out = io.StringIO()
    csv.writer(out).writerows([*rows, [small[h] for h in header]])
    path.write_bytes(out.getvalue().encode(encoding))
    return path


def check(bin_dir: Path, path: Path, port: int) -> tuple[int, dict[str, object]]:
    """`ruralpost check` as JSON from the file's own folder, its exit code and its report."""
    done = _run(
        bin_dir / "ruralpost",
        "check",
        path.name,
        "--server",
        f"127.0.0.1:{port}",
        "--as-of",
        AS_OF,
        "--format",
        "json",
        cwd=path.parent,
    )
    assert done.returncode in (0, 1), done.stderr
    report: dict[str, object] = json.loads(done.stdout)
    return done.returncode, report


def verdicts(report: dict[str, object]) -> list[tuple[str, str, list[str]]]:
    items = report["items"]
    assert isinstance(items, list)
    return [(i["station_id"], i["outcome"], sorted({r["rule_id"] for r in i["reasons"]})) for i in items]


def assert_expected(found: list[tuple[str, str, list[str]]]) -> None:
    """The three stations get their verdicts (the village point has more warnings than listed)."""
    assert [(s, o) for s, o, _ in found] == [(s, o) for s, o, _ in EXPECTED]
    for (_, _, rules), (_, _, expected) in zip(found, EXPECTED, strict=True):
        assert set(expected) <= set(rules)


def test_the_wheel_with_the_server_extra_serves_and_checks(tmp_path: Path, wheel: Path, wheelhouse: Path) -> None:
    bin_dir = _venv(tmp_path / "venv", f"{wheel}[server]", pip_options=("--find-links", str(wheelhouse)))
    where = _ok(bin_dir / "python", "-c", "import ruralpost.v1.station_pb2 as m; print(m.__file__)", cwd=tmp_path)
    assert Path(where.strip()).is_relative_to(tmp_path / "venv")  # the installed package, not the checkout
    _ok(bin_dir / "python", "-c", "import ruralpost.v1.station_connect", cwd=tmp_path)  # the HTTP door's stubs
    elsewhere = tmp_path / "county"
    elsewhere.mkdir()
    port, http_port = free_port(), free_port()
    server = subprocess.Popen(
        [
            str(bin_dir / "ruralpost"),
            "serve",
            "--listen",
            f"127.0.0.1:{port}",
            "--db",
            str(tmp_path / "db" / "r.db"),
            "--http-listen",
            f"127.0.0.1:{http_port}",
            "--console-dir",
            str(tmp_path / "console"),
        ],
        cwd=elsewhere,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            grpc.channel_ready_future(ch).result(timeout=60)
        code, report = check(bin_dir, stations_csv(elsewhere / "站点.csv", bin_dir, "utf-8-sig"), port)
        assert code == 1  # one station fails
        assert_expected(verdicts(report))
        # the rules it loaded by default are the package's, the same as the checkout's
        summary = report["summary"]
        assert isinstance(summary, dict) and summary["ruleset_version"] == load_ruleset(DEFAULT_RULES_DIR).version
        # the HTTP door and the console's page (package data) come with the server extra
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/", timeout=30) as page:
            assert page.status == 200 and "<html" in page.read().decode("utf-8").lower()
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
    finally:
        if server.poll() is None:
            server.kill()
        output = server.communicate()[0]
    assert "serving on" in output, output
    # the migrations came with the package: the new database is at their newest revision
    with contextlib.closing(sqlite3.connect(tmp_path / "db" / "r.db")) as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [(migrate.head(),)]


def test_the_client_alone_installs_without_a_compiler_and_checks_a_gbk_file(
    tmp_path: Path, wheel: Path, server: Running
) -> None:
    bin_dir = _venv(tmp_path / "venv", str(wheel), pip_options=("--only-binary", ":all:"))
    installed = _installed(bin_dir)
    assert "ruralpost" in installed
    assert installed.isdisjoint(SERVER_ONLY), installed & set(SERVER_ONLY)
    refused = _run(bin_dir / "ruralpost", "serve", "--db", tmp_path / "x.db", cwd=tmp_path)
    assert refused.returncode == 2
    assert "pip install 'ruralpost[server]'" in refused.stderr and "需要服务端依赖" in refused.stderr
    assert "Traceback" not in refused.stderr
    elsewhere = tmp_path / "clerk"
    elsewhere.mkdir()
    path = stations_csv(elsewhere / "站点.csv", bin_dir, "gbk")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")  # really GBK
    code, report = check(bin_dir, path, server.port)
    assert code == 1
    assert_expected(verdicts(report))
