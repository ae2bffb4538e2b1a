"""A real browser for the console's tests: Playwright driving Debian's Chromium (Playwright's own
browser download is not needed). Without Chromium or Playwright the tests are skipped with the
reason, or fail when RURALPOST_REQUIRE_BROWSER=1 (as in CI, `.ci/run`)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT

MISSING = "Chromium not installed: run scripts/ensure-chromium.sh (apt-get install chromium fonts-wqy-zenhei)"
# Where every browser test leaves its screenshots (gitignored; CI keeps the folder as an artefact).
SCREENSHOTS = Path(os.environ.get("RURALPOST_SCREENSHOTS", ROOT / "artifacts" / "screenshots"))


def _missing(reason: str) -> None:
    if os.environ.get("RURALPOST_REQUIRE_BROWSER") == "1":
        pytest.fail(reason + " [RURALPOST_REQUIRE_BROWSER=1]", pytrace=False)
    pytest.skip(reason)


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        _missing(MISSING)
    assert found is not None
    return found


def sync_playwright() -> Any:
    """Playwright's entry point, or a skip (a fail under RURALPOST_REQUIRE_BROWSER=1) without it."""
    try:
        from playwright.sync_api import sync_playwright as start
    except ImportError:
        _missing("Playwright not installed: pip install -e '.[dev]'")
    return start()


def screenshot(page: Any, name: str) -> Path:
    """A full-page screenshot of `page` as SCREENSHOTS/<name>.png, for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
