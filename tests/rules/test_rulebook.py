"""Load-time checks of rule packs: a broken pack never becomes the active rule set."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ruralpost.service.config import DEFAULT_RULES_DIR
from ruralpost.service.rulebook import packs as rulebook
from ruralpost.service.ruleset import load_ruleset


def _copy_with(tmp_path: Path, old: str, new: str) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, target)
    pack = target / "stations.yaml"
    text = pack.read_text(encoding="utf-8")
    assert old in text
    pack.write_text(text.replace(old, new, 1), encoding="utf-8")
    return target


@pytest.mark.parametrize(
    ("old", "new", "error"),
    [
        ("- id: STN-COUNTY\n", "- id: STN-TOWNSHIP-UNKNOWN\n", "duplicate rule id"),
        ("- id: STN-COUNTY\n", "- id: stn county\n", "not of the form"),
        (
            "    severity: WARNING\n    basis: inferred\n    description: 站点宜收寄",
            "    severity: FATAL\n    basis: inferred\n    description: 站点宜收寄",
            "severity",
        ),
        (
            "citation: {document: 附件2, clause: 任务分解表}",
            "citation: {document: 附件9, clause: 一}",
            "not in the programme's documents",
        ),
        (
            'expected: "${operator}（或其分支机构）"',
            'expected: "${operators}（或其分支机构）"',
            "unknown programme parameter",
        ),
        ("    field: station.fixed_premises\n", "    field: station.fixed_premises\n    colour: red\n", "unknown keys"),
        ("require: {$gte: {area_m2: 10}}", "require: {$between: {area_m2: 10}}", "does not compile"),
        ('effective_from: "2015-09-01"', 'effective_from: "2015-9-1"', "not YYYY-MM-DD"),
        ("remedy: 配置货架", "remedy: 配置{货架", "bad template"),
    ],
)
def test_broken_packs_are_refused_with_where(tmp_path: Path, old: str, new: str, error: str) -> None:
    with pytest.raises(rulebook.RulebookError, match=error):
        load_ruleset(_copy_with(tmp_path, old, new))


def test_version_is_a_content_hash(tmp_path: Path) -> None:
    same = _copy_with(tmp_path, "remedy: 配置货架", "remedy: 配置货架")
    assert load_ruleset(same).version == load_ruleset(DEFAULT_RULES_DIR).version
    (same / "reference" / "jingle-divisions-2023.csv").write_text("code,name,level,parent_code\n")
    assert load_ruleset(same).version != load_ruleset(DEFAULT_RULES_DIR).version


def test_every_station_rule_of_the_catalogue_is_there() -> None:
    """The station rule ids of the catalogue (docs/rules.md): clients key on them."""
    catalogue = [
        "STN-TOWNSHIP-UNKNOWN",
        "STN-VILLAGE-UNKNOWN",
        "STN-COUNTY",
        "STN-PREMISES-FIXED",
        "STN-SERVICES",
        "STN-SERVICES-SEND",
        "STN-OPERATOR",
        "STN-SIGN-DOOR",
        "STN-SIGN-UNIFIED",
        "STN-SIGN-OBSTRUCTED",
        "STN-SIGN-ABOVE-DOOR",
        "STN-SIGN-FILED-NAME",
        "STN-SIGN-MARKING",
        "STN-SIGN-TEXT",
        "STN-SIGN-WALL-FIXED",
        "STN-SIGN-CODE-FORMAT",
        "STN-SIGN-CODE-DUPLICATE",
        "STN-HOURS-SIGN",
        "STN-HOURS-TEXT",
        "STN-AREA-TOWNSHIP",
        "STN-AREA-VILLAGE",
        "STN-EQUIP-DESK",
        "STN-EQUIP-SHELVES",
        "STN-EQUIP-SCANNER",
        "STN-SAFETY-CCTV",
        "STN-SAFETY-RETENTION",
        "STN-SAFETY-FIRE",
        "STN-ZONES",
        "STN-FILING-OVERDUE",
        "STN-FILING-PENDING",
        "STN-FILING-RECORD",
        # revision 2
        "STN-CLOSED",
        "STN-FILING-CHANGE",
        "STN-AREA-VOLUME",
        # revision 3
        "STN-NOT-YET-OPEN",
        "STN-SIGN-FILED-NAME-PARTNERED",
        # sign codes belong to their operator
        "STN-SIGN-CODE-DISPUTED",
        "STN-SIGN-CODE-AWARDED",
    ]
    book = rulebook.load(DEFAULT_RULES_DIR)
    station_rules = [r.id for r in book.rules_for("station")]
    assert sorted(station_rules) == sorted(catalogue)
    severities = {r.id: r.severity for r in book.rules_for("station")}
    warnings = {
        "STN-SERVICES-SEND",
        "STN-OPERATOR",
        "STN-SIGN-ABOVE-DOOR",
        "STN-HOURS-TEXT",
        "STN-AREA-VILLAGE",
        "STN-ZONES",
        "STN-FILING-PENDING",
        "STN-AREA-VOLUME",
        "STN-SIGN-FILED-NAME-PARTNERED",
        "STN-SIGN-CODE-DISPUTED",  # a dispute between operators never blocks the check
    }
    assert {rid for rid, sev in severities.items() if sev == "WARNING"} == warnings
