"""Servers with the HTTP door on a free port: open (no auth file) and secured (the auth file of
tests/conftest.py, three items per stream), each with its own SQLite file and console folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ruralpost.service.config import Config
from ruralpost.service.server import Running, running


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[Running]:
    config = Config(
        listen="127.0.0.1:0",
        http_listen="127.0.0.1:0",
        db=str(tmp_path / "h.db"),
        console_dir=tmp_path / "console",
        grace_seconds=1,
    )
    with running(config) as r:
        yield r


@pytest.fixture
def http_secured(tmp_path: Path, auth_file: Path, rules_copy: Path) -> Iterator[Running]:
    config = Config(
        listen="127.0.0.1:0",
        http_listen="127.0.0.1:0",
        db=str(tmp_path / "hs.db"),
        auth_file=auth_file,
        rules_dir=rules_copy,
        console_dir=tmp_path / "console",
        grace_seconds=1,
        max_stream_items=3,
    )
    with running(config) as r:
        yield r
