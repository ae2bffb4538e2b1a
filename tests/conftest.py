"""Fixtures every test may use: a real server on a free port with a real SQLite file, a channel to it,
a copy of the rules to edit, an auth file and servers that require it, databases (backends.py)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import yaml

from ruralpost.service.api.auth import token_sha256
from ruralpost.service.config import DEFAULT_RULES_DIR, Config
from ruralpost.service.server import Running, running
from tests.backends import db, pg_db  # noqa: F401  (fixtures for every test module)
from tests.support import OPERATOR, TOKENS


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    """A copy of the bundled rule folder that a test may edit (reloads, broken packs)."""
    target = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, target)
    return target


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Running]:
    with running(Config(listen="127.0.0.1:0", db=str(tmp_path / "ruralpost.db"), grace_seconds=1)) as r:
        yield r


@pytest.fixture
def channel(server: Running) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as ch:
        yield ch


@pytest.fixture
def auth_file(tmp_path: Path) -> Path:
    entries = [
        {
            "name": "yigongli-system",
            "token_sha256": token_sha256(TOKENS["op"]),
            "role": "operator",
            "operator": OPERATOR,
        },
        {
            "name": "other-express",
            "token_sha256": token_sha256(TOKENS["other"]),
            "role": "operator",
            "operator": "某某快递有限公司",
        },
        {"name": "caizheng-approver", "token_sha256": token_sha256(TOKENS["approver"]), "role": "approver"},
        {"name": "fagai-reader", "token_sha256": token_sha256(TOKENS["reader"]), "role": "reader"},
        {"name": "ops-admin", "token_sha256": token_sha256(TOKENS["admin"]), "role": "admin"},
    ]
    path = tmp_path / "callers.yaml"
    path.write_text(yaml.safe_dump(entries, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def secured(tmp_path: Path, auth_file: Path, rules_copy: Path) -> Iterator[Running]:
    config = Config(
        listen="127.0.0.1:0",
        db=str(tmp_path / "s.db"),
        auth_file=auth_file,
        rules_dir=rules_copy,
        grace_seconds=1,
        max_stream_items=3,
    )
    with running(config) as r:
        yield r


@pytest.fixture
def secured_on(db: str, auth_file: Path) -> Iterator[Running]:  # noqa: F811 (db: the fixture of backends.py)
    """A server that requires the auth file, on each store (SQLite, and PostgreSQL where reachable)."""
    with running(Config(listen="127.0.0.1:0", db=db, auth_file=auth_file, grace_seconds=1)) as r:
        yield r
