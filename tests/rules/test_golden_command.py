"""`python -m ruralpost.service.golden DIR`, as docs/operations.md tells an operator to run it
after changing the rates: the bundled folder passes; a rate change fails the cases stating amounts."""

from __future__ import annotations

from pathlib import Path

import pytest

from ruralpost.service.golden.__main__ import main


def test_the_bundled_rules_pass_and_a_changed_rate_names_the_cases_to_update(
    rules_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(rules_copy)]) == 0
    assert "golden cases pass" in capsys.readouterr().out
    rates = rules_copy / "reference" / "jingle-2023" / "rates.yaml"
    text = rates.read_text(encoding="utf-8")
    assert "label: 上行农副产品每件, rate_fen: 100," in text
    rates.write_text(
        text.replace("label: 上行农副产品每件, rate_fen: 100,", "label: 上行农副产品每件, rate_fen: 120,"), "utf-8"
    )
    assert main([str(rules_copy)]) == 1
    err = capsys.readouterr().err
    assert "golden cases fail" in err and "SUB-AMOUNT" in err
