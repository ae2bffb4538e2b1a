"""The console's script shows a reason's values in the same words as the CLI and the HTML report:
its `shown` (console.js) gives what clients/labels.py `shown` gives for every text of every firing
golden case, with the words /console/api/me sends. Run in Node, without a browser."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from ruralpost.clients.reports.labels import console_labels, shown
from ruralpost.service.config import DEFAULT_RULES_DIR
from ruralpost.service.golden import cases
from ruralpost.service.ruleset import load_ruleset
from tests.clients.test_display_words import RAW

SCRIPT = Path(__file__).resolve().parents[2] / "ruralpost" / "service" / "console" / "static" / "console.js"
RUN = """
const fs = require("fs"), vm = require("vm");
const input = JSON.parse(fs.readFileSync(0, "utf8"));
const page = { addEventListener() {}, getElementById() { return null; } };
const context = vm.createContext({ document: page, console });
vm.runInContext(fs.readFileSync(input.script, "utf8") +
  "\\n;LABELS = " + JSON.stringify(input.labels) + ";\\nglobalThis.out = INPUT.map(shown);",
  Object.assign(context, { INPUT: input.texts }));
process.stdout.write(JSON.stringify(context.out));
"""


def golden_texts() -> list[str]:
    ruleset = load_ruleset(DEFAULT_RULES_DIR)
    texts: set[str] = {"true", "false", "DELIVER,RECEIVE", "含寄件（SEND）", "BARCODE_SCANNER,RECEPTION_DESK,SHELVES"}
    for case in cases.load_cases(DEFAULT_RULES_DIR):
        if case.rule_ids:
            for r in cases.RUNNERS[case.pack](ruleset, case).reasons:
                texts.update((r.message, r.actual, r.expected, r.remedy))
    return sorted(texts)


def test_the_console_shows_the_same_words_as_the_reports() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js not installed: the console script's words are checked in Node")
    texts = golden_texts()
    done = subprocess.run(
        [node, "-e", RUN],
        input=json.dumps({"script": str(SCRIPT), "labels": console_labels(), "texts": texts}),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    in_console = json.loads(done.stdout)
    assert len(in_console) == len(texts) > 100
    differ = {t: (c, shown(t)) for t, c in zip(texts, in_console, strict=True) if c != shown(t)}
    assert differ == {}
    assert [c for c in in_console if RAW.search(c)] == []
    assert in_console[texts.index("DELIVER,RECEIVE")] == "收件、投递"
