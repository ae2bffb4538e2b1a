"""The HTML report opened in headless Chromium: it renders offline, the chart is drawn, a screenshot
is taken. Chromium comes from Debian (`scripts/ensure-chromium.sh`); without it this test is skipped
with the reason, or fails when RURALPOST_REQUIRE_BROWSER=1 (as in CI, `.ci/run`)."""

from __future__ import annotations

import csv
import os
import shutil
import struct
import subprocess
import tempfile
import zlib
from collections import Counter
from pathlib import Path

import pytest

from ruralpost.cli import main
from ruralpost.clients.sheets import template
from ruralpost.service.server import Running

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
FAIL_RED = (0xC6, 0x28, 0x28)
PASS_GREEN = (0x2E, 0x7D, 0x32)
BAD_GREY = (0x61, 0x61, 0x61)
MISSING = "Chromium not installed: run scripts/ensure-chromium.sh (apt-get install chromium fonts-wqy-zenhei)"


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        if os.environ.get("RURALPOST_REQUIRE_BROWSER") == "1":
            pytest.fail(MISSING + " [RURALPOST_REQUIRE_BROWSER=1]", pytrace=False)
        pytest.skip(MISSING)
    return found


def browse(*args: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=120,
        )


def png_pixels(path: Path) -> tuple[int, int, Counter[tuple[int, int, int]]]:
    """Width, height and colour counts of an 8-bit RGB/RGBA PNG (what Chromium writes)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    width = height = channels = 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    previous = bytearray(stride)
    colours: Counter[tuple[int, int, int]] = Counter()
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        colours.update(tuple(line[i : i + 3]) for i in range(0, stride, channels))  # type: ignore[misc]
        previous = line
    return width, height, colours


@pytest.mark.slow
def test_html_report_renders_offline_with_its_chart(
    server: Running, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    chromium()  # skipped (or failed, in CI) up front when there is no browser
    header = template.headers("stations", "both")
    examples = template.examples("stations")
    townships = ["鹅城镇", "康家会镇", "丰润镇"]
    rows = []
    for i in range(30):
        row = list(examples[0])
        row[0], row[3], row[15] = f"H{i:03d}", townships[i % 3], f"XZ{2000 + i}"
        if i % 2 == 1:
            row[19] = "8"  # too small: FAIL
        if i == 29:
            row[19] = "<script>"  # a bad row, and markup that must come out escaped
        rows.append(row)
    source = tmp_path / "stations.csv"
    with source.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([header, *rows])
    report = tmp_path / "report.html"
    code = main(
        ["check", str(source), "--server", f"127.0.0.1:{server.port}", "--as-of", "2023-07-15", "--report", str(report)]
    )
    capsys.readouterr()
    assert code == 1
    html = report.read_text(encoding="utf-8")
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html and "<script>" not in html and "&lt;script&gt;" in html
    assert "各乡镇核验进度" in html and "STN-AREA-TOWNSHIP" in html
    assert "乡镇快递综合服务站面积8平方米" in html

    dom = browse("--dump-dom", report.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert '<svg id="township-chart"' in dom.stdout
    assert dom.stdout.count('class="bar bar-FAIL"') == 3 and dom.stdout.count('class="bar bar-PASS"') == 3

    shot = tmp_path / "report.png"
    done = browse("--window-size=1000,1200", f"--screenshot={shot}", report.as_uri())
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    width, height, colours = png_pixels(shot)
    assert (width, height) == (1000, 1200)
    # The chart's bars are drawn: solid areas of the FAIL, PASS and bad-row colours.
    assert colours[FAIL_RED] > 2000 and colours[PASS_GREEN] > 2000 and colours[BAD_GREY] > 100
