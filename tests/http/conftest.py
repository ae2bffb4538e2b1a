"""Servers with the HTTP door on a free port: open (no auth file) and secured (the auth file of
tests/conftest.py, three items per stream), each with its own SQLite file and console folder."""

from __future__ import annotations

import glob
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ruralpost.service.config import Config
from ruralpost.service.server import Running, running
from tests.http.browser import SCREENSHOTS, chromium_path, screenshot, sync_playwright


def http_config(tmp_path: Path, db: str = "h.db", **settings: Any) -> Config:
    """Both doors on free loopback ports, a SQLite file and a console folder of the test's own."""
    defaults: dict[str, Any] = {"grace_seconds": 1}
    return Config(
        listen="127.0.0.1:0",
        http_listen="127.0.0.1:0",
        db=str(tmp_path / db),
        console_dir=tmp_path / "console",
        **{**defaults, **settings},
    )


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[Running]:
    with running(http_config(tmp_path)) as r:
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


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keeps each phase's report on the test, so the page fixture knows the test failed."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def browser_context(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh Chromium context (downloads allowed). When the test ends, pass or fail, every page
    still open is kept as SCREENSHOTS/<test>-<n>.png (<test>-<n>-failed.png when it failed);
    the last run's shots of the test go first, so the folder shows one run."""
    executable = chromium_path()
    name = request.node.name
    for old in SCREENSHOTS.glob(f"{glob.escape(name)}-*.png"):
        old.unlink()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1280, "height": 1000}, accept_downloads=True, locale="zh-CN")
        context.set_default_timeout(30_000)
        try:
            yield context
        finally:
            report = getattr(request.node, "report_call", None)
            failed = "-failed" if report is None or report.failed else ""
            for n, page in enumerate(context.pages):
                screenshot(page, f"{name}-{n}{failed}")
            context.close()
            browser.close()
