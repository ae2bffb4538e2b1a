"""Mistakes in rule packs and programme data: each is a RulebookError naming the file and the path
of the value, never a traceback; and the committed JSON Schema is the one the models give."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ruralpost.service.config import DEFAULT_RULES_DIR
from ruralpost.service.rulebook import schema
from ruralpost.service.rulebook.packs import RulebookError
from ruralpost.service.ruleset import load_ruleset

PROGRAMME = "programmes/jingle-2023.yaml"
RATES = "reference/jingle-2023/rates.yaml"
OPERATORS = "reference/jingle-2023/operators.yaml"
PRODUCTS = "reference/jingle-2023/products.yaml"
DIVISIONS = "reference/jingle-divisions-2023.csv"


def _break(root: Path, file: str, old: str, new: str) -> None:
    path = root / file
    text = path.read_text(encoding="utf-8")
    assert text.count(old) >= 1, f"{old!r} is not in {file}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _error(root: Path) -> str:
    with pytest.raises(RulebookError) as info:
        load_ruleset(root)
    return str(info.value)


# id: (file, text in it, its replacement, the error's line starts with, and then says)
MISTAKES = {
    "tier-of-no-station-kind": (
        RATES,
        "tier: VILLAGE_POINT,",
        "tier: VILLAGE,",
        f"{RATES}: rates[1].tier: ",
        "'TOWNSHIP_STATION' or 'VILLAGE_POINT'",
    ),
    "rates-step-back": (  # 方案 二 下行快件补贴不退坡
        RATES,
        "rate_fen: 50, status: provisional,",
        "rate_fen: 50, status: provisional, previous_year_fen: 60,",
        f"{RATES}: rates[1]: ",
        "rate_fen 50 fen (0.50元) is below the previous year's 60 fen (0.60元)",
    ),
    "fact-label-as-text": (
        "stations.yaml",
        "label: {zh: 面积, en: floor area}",
        "label: 面积",
        "stations.yaml: facts.area_m2.label: ",
        "must be a mapping (key: value, …), not text '面积'",
    ),
    "missing-rate-source": (
        RATES,
        "status: provisional, source: 占位标准：实施方案未规定金额，未查到公开标准}",
        "status: provisional}",
        f"{RATES}: rates[0].source: ",
        "Field required",
    ),
    "confirmed-rate-without-document": (
        RATES,
        "status: provisional,",
        "status: confirmed,",
        f"{RATES}: rates[0]: ",
        "a confirmed rate names the document that sets it",
    ),
    "unknown-key-in-rule": (
        "stations.yaml",
        "    field: station.fixed_premises\n",
        "    field: station.fixed_premises\n    colour: red\n",
        "stations.yaml: rules[3] (STN-PREMISES-FIXED).colour: ",
        "unknown keys",
    ),
    "wrong-severity": (
        "stations.yaml",
        "WARNING\n    basis: inferred\n    description: 站点宜收寄",
        "FATAL\n    basis: inferred\n    description: 站点宜收寄",
        "stations.yaml: rules[5] (STN-SERVICES-SEND).severity: ",
        "'INFO', 'WARNING' or 'ERROR' (got text 'FATAL')",
    ),
    "unknown-basis": (
        "stations.yaml",
        "basis: inferred\n    description: 站点宜收寄",
        "basis: guessed\n    description: 站点宜收寄",
        "stations.yaml: rules[5] (STN-SERVICES-SEND).basis: ",
        "'programme', 'national', 'inferred' or 'setting' (got text 'guessed')",
    ),
    "missing-basis": (
        "stations.yaml",
        "    basis: inferred\n    description: 站点宜收寄",
        "    description: 站点宜收寄",
        "stations.yaml: rules[5] (STN-SERVICES-SEND).basis: ",
        "Field required",
    ),
    "quoted-date": (
        PROGRAMME,
        "half: {date: 2023-06-30,",
        'half: {date: "2023-06-30",',
        f"{PROGRAMME}: milestones.half.date: ",
        "is quoted: write the date unquoted",
    ),
    "not-a-date": (
        "stations.yaml",
        'effective_from: "2015-09-01"',
        'effective_from: "2015-9-1"',
        "stations.yaml: rules[24] (STN-SAFETY-CCTV).effective_from: ",
        "not YYYY-MM-DD",
    ),
    "duplicate-id": (
        "stations.yaml",
        "- id: STN-COUNTY\n",
        "- id: STN-TOWNSHIP-UNKNOWN\n",
        "stations.yaml: rules[2] (STN-TOWNSHIP-UNKNOWN).id: ",
        "duplicate rule id STN-TOWNSHIP-UNKNOWN, first at stations.yaml: rules[0]",
    ),
    "duplicate-id-in-another-pack": (
        "hub.yaml",
        "- id: HUB-DEADLINE\n",
        "- id: HUB-BRANDS\n",
        "hub.yaml: rules[2] (HUB-BRANDS).id: ",
        "duplicate rule id",
    ),
    "id-form": (
        "stations.yaml",
        "- id: STN-COUNTY\n",
        "- id: stn county\n",
        "stations.yaml: rules[2] (stn county).id: ",
        "not of the form ABC-DEF",
    ),
    "unknown-citation-document": (
        "stations.yaml",
        "citation: {document: 附件2, clause: 任务分解表}",
        "citation: {document: 附件9, clause: 一}",
        "stations.yaml: rules[0] (STN-TOWNSHIP-UNKNOWN).citation.document: ",
        "'附件9' is not in the programme's documents",
    ),
    "unknown-parameter": (
        "stations.yaml",
        'expected: "${operator}（或其分支机构）"',
        'expected: "${operators}（或其分支机构）"',
        "stations.yaml: rules[6] (STN-OPERATOR).expected: ",
        "unknown programme parameter ${operators}",
    ),
    "unknown-parameter-in-text": (
        "subsidy.yaml",
        "description: 申报期须在本方案补贴年度内（${subsidy.period_from}",
        "description: 申报期须在本方案补贴年度内（${subsidy.period}",
        "subsidy.yaml: rules[1] (SUB-PERIOD).description: ",
        "unknown programme parameter ${subsidy.period}",
    ),
    "invalid-yaml": (
        "hub.yaml",
        "    when: {hub: true}\n    require: [",
        "    when: {hub: true\n    require: [",
        "hub.yaml: line ",
        "not valid YAML",
    ),
    "bad-template": (
        "stations.yaml",
        "remedy: 配置货架",
        "remedy: 配置{货架",
        "stations.yaml: rules[22] (STN-EQUIP-SHELVES).remedy: ",
        "bad template '配置{货架'",
    ),
    "bad-message-template": (
        "hub.yaml",
        'zh: "县级统仓共配参与的快递品牌{brand_count}个',
        'zh: "县级统仓共配参与的快递品牌{brand_count个',
        "hub.yaml: rules[0] (HUB-BRANDS).message.zh: ",
        "bad template",
    ),
    "does-not-compile": (
        "stations.yaml",
        "require: {$gte: {area_m2: 10}}",
        "require: {$between: {area_m2: 10}}",
        "stations.yaml: rules[19] (STN-AREA-TOWNSHIP): ",
        "a condition does not compile",
    ),
    "bad-waybill-pattern": (
        "subsidy.yaml",
        '{$mt: {waybill_chars: "[9A]+"}}',
        '{$mt: {waybill_chars: "[9A+"}}',
        "subsidy.yaml: rules[21] (SUB-WAYBILL): ",
        "a condition does not compile",
    ),
    "condition-shape": (
        "progress.yaml",
        "require: {townships_not_started: 0}",
        "require: {$or: {townships_not_started: 0}}",
        "progress.yaml: rules[2] (QTA-COUNTY-START).require: ",
        "$or: takes a list of conditions",
    ),
    "rate-fen-as-text": (
        RATES,
        "rate_fen: 30,",
        'rate_fen: "30",',
        f"{RATES}: rates[2].rate_fen: ",
        "valid integer (got text '30')",
    ),
    "negative-rate": (
        RATES,
        "rate_fen: 100,",
        "rate_fen: -100,",
        f"{RATES}: rates[0].rate_fen: ",
        "greater than or equal to 0",
    ),
    "missing-divisions-file": (
        PROGRAMME,
        "divisions: ../reference/jingle-divisions-2023.csv",
        "divisions: ../reference/gone.csv",
        f"{PROGRAMME}: divisions: ",
        "cannot read ../reference/gone.csv",
    ),
    "unquoted-code": (
        PROGRAMME,
        'county: {name: 静乐县, code: "140926"}',
        "county: {name: 静乐县, code: 140926}",
        f"{PROGRAMME}: county.code: ",
        "valid string (got a number 140926)",
    ),
    "unknown-claim-kind": (
        OPERATORS,
        "    kind: DOWNBOUND_PARCEL",
        "    kind: DOWNBOUND",
        f"{OPERATORS}: operators[1].kind: ",
        "'UPBOUND_AGRICULTURAL' or 'DOWNBOUND_PARCEL'",
    ),
    "name-in-two-entries": (
        PRODUCTS,
        "{name: 小米, aliases: [黄小米,",
        "{name: 小米, aliases: [藜麦米, 黄小米,",
        f"{PRODUCTS}: products: ",
        "'藜麦米' is a name of both '藜麦' and '小米'",
    ),
    "operator-twice-on-one-roster": (
        OPERATORS,
        "    kind: DOWNBOUND_PARCEL",
        "    kind: UPBOUND_AGRICULTURAL",
        f"{OPERATORS}: operators (UPBOUND_AGRICULTURAL): ",
        "is a name of both",
    ),
    "sign-text-placeholder": (
        PROGRAMME,
        'TOWNSHIP_STATION: "{township}快递综合服务站"',
        'TOWNSHIP_STATION: "{town}快递综合服务站"',
        f"{PROGRAMME}: sign_text.TOWNSHIP_STATION: ",
        "may name only {township} and {village}",
    ),
    "programme-id": (
        PROGRAMME,
        "programme: jingle-2023\n",
        "programme: jingle-2024\n",
        f"{PROGRAMME}: programme: ",
        "is not the file's name",
    ),
    "missing-id-form": (
        "stations.yaml",
        "kind: {missing_id: STN-KIND-MISSING,",
        "kind: {missing_id: STN-KIND-ABSENT,",
        "stations.yaml: facts.kind.missing_id: ",
        "end in -MISSING",
    ),
    "missing-id-is-a-rule-id": (
        "hub.yaml",
        "- id: HUB-BRANDS\n",
        "- id: HUB-MISSING\n",
        "hub.yaml: facts.hub.missing_id: ",
        "HUB-MISSING is both a missing-fact id and a rule id (at hub.yaml: rules[0] (HUB-MISSING))",
    ),
    "subject-form": (
        "progress.yaml",
        "subject: township\n",
        "subject: Township\n",
        "progress.yaml: subject: ",
        "should match pattern",
    ),
}


@pytest.mark.parametrize("mistake", MISTAKES)
def test_a_mistake_names_file_and_path(rules_copy: Path, mistake: str) -> None:
    file, old, new, starts, says = MISTAKES[mistake]
    _break(rules_copy, file, old, new)
    lines = _error(rules_copy).splitlines()
    assert lines[0].startswith(starts), lines[0]
    assert says in lines[0]
    assert len(lines) == 1, lines  # one mistake, one line


def test_every_problem_of_a_file_gets_a_line(rules_copy: Path) -> None:
    _break(rules_copy, PROGRAMME, "  period_from: ", "  period_froms: ")
    _break(rules_copy, PROGRAMME, "max_parcels: 200000", 'max_parcels: "200000"')
    assert _error(rules_copy).splitlines() == [
        f"{PROGRAMME}: subsidy.period_from: Field required (缺少此项)",
        f"{PROGRAMME}: subsidy.max_parcels: Input should be a valid integer (got text '200000')",
        f"{PROGRAMME}: subsidy.period_froms: unknown keys are not allowed (未知的键; misspelt?)",
    ]


def test_a_broken_division_list_names_its_line(rules_copy: Path) -> None:
    csv = rules_copy / DIVISIONS
    csv.write_text(csv.read_text(encoding="utf-8") + "140926999,缺列\n", encoding="utf-8")
    lines = _error(rules_copy).splitlines()
    assert lines[0].startswith(f"{DIVISIONS}: line "), lines
    csv.write_text("code,name,parent_code\n", encoding="utf-8")
    assert _error(rules_copy) == (
        f"{DIVISIONS}: line 1: the header lacks ['level'] (columns: code,name,level,parent_code)"
    )


def test_a_division_list_outside_the_rules_folder_is_refused(rules_copy: Path) -> None:
    shutil.copy(rules_copy / DIVISIONS, rules_copy.parent / "elsewhere.csv")
    _break(rules_copy, PROGRAMME, "divisions: ../reference/jingle-divisions-2023.csv", "divisions: ../../elsewhere.csv")
    assert _error(rules_copy).startswith(f"{PROGRAMME}: divisions: '../../elsewhere.csv' is outside the rules folder")


# Garbage of many kinds, in every file the loader reads: only RulebookError may come out, naming the file.
_PACK_GARBAGE: list[str | bytes] = [
    "",
    "just text\n",
    "- a\n- b\n",
    b"\xff\xfe not utf-8",
    "!!python/object/apply:os.system ['true']\n",
    "rules: &a [*a]\npack: x\nsubject: x\n",
    "[" * 3000 + "]" * 3000,
    "{1: 2, null: 3, 2023-01-01: 4}\n",
    "pack: x\nsubject: x\nrules: null\n",
    "pack: x\nsubject: x\nfacts: []\nrules: []\n",
    "pack: x\nsubject: x\nrules: [{id: X-A, effective_from: 2023-02-30}]\n",
]
_RULE = (
    "pack: x\nsubject: x\nrules:\n  - {{id: X-A, severity: ERROR, basis: programme, description: d, field: f,"
    " message: {{zh: z, en: e}}, remedy: r, citation: {{document: 方案, clause: c}}, {}}}\n"
)
_CONDITIONS = [
    "when: !!set {a, b}",
    "require: {$neq: 5}",
    "require: {$and: 5}",
    "require: {$iany: 5}",
    "require: {$iany: {services: []}}",
    "require: {$iany: {services: {}}}",
    "require: {$or: [{}]}",
    "require: {a: 2023-01-01 10:00:00}",
    "require: {$gte: {a: .inf}}",
    "require: {$gte: {a: .nan}}",
    "require: {a: 99999999999999999999999999}",
    "require: [[{a: 1}]]",
    "require: {a: !!binary aGk=}",
    "require: []",
    "when: {}",
    "require: {$mt: {a: '('}}",
    "severity_overrides: [{when: {a: 1}, severity: ERROR}, {when: [], severity: INFO}]",
    "reads: [1, 2]",
    "effective_from: 2024-01-01, effective_to: 2023-01-01",
]


@pytest.mark.parametrize("text", _PACK_GARBAGE + [_RULE.format(c) for c in _CONDITIONS])
def test_garbage_in_a_pack_is_a_rulebook_error(rules_copy: Path, text: str | bytes) -> None:
    garbage = rules_copy / "garbage.yaml"
    garbage.write_bytes(text if isinstance(text, bytes) else text.encode())
    try:
        load_ruleset(rules_copy)
    except RulebookError as e:
        assert str(e).startswith("garbage.yaml: "), e
    else:
        pytest.fail("a garbage pack loaded")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[]\n",
        "programme: jingle-2023\n",
        "\x00\x01",
        "key: [unclosed\n",
        "divisions: {a: b}\n",
    ],
)
def test_garbage_programme_data_is_a_rulebook_error(rules_copy: Path, text: str) -> None:
    (rules_copy / PROGRAMME).write_text(text, encoding="utf-8")
    assert _error(rules_copy).startswith(f"{PROGRAMME}: ")


@pytest.mark.parametrize("text", ["\xff\xfe\x00", "code,name,level,parent_code\n1,x\n", "a\n"])
def test_garbage_division_list_is_a_rulebook_error(rules_copy: Path, text: str) -> None:
    (rules_copy / DIVISIONS).write_bytes(text.encode("latin-1"))
    assert _error(rules_copy).startswith(f"{DIVISIONS}: ")


def test_missing_files_and_folders_are_rulebook_errors(tmp_path: Path, rules_copy: Path) -> None:
    assert _error(tmp_path / "nowhere").startswith(f"{PROGRAMME}: no programme data")
    (rules_copy / "folder.yaml").mkdir()
    assert _error(rules_copy).startswith("folder.yaml: cannot read")
    (rules_copy / "folder.yaml").rmdir()
    (rules_copy / DIVISIONS).unlink()
    (rules_copy / DIVISIONS).mkdir()
    assert _error(rules_copy).startswith(f"{PROGRAMME}: divisions: cannot read")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_pack_is_a_rulebook_error(rules_copy: Path) -> None:
    (rules_copy / "hub.yaml").chmod(0)
    assert _error(rules_copy).startswith("hub.yaml: cannot read: Permission denied")


def test_the_bundled_rules_load_and_say_where_each_rule_is() -> None:
    book = load_ruleset(DEFAULT_RULES_DIR).book
    assert book.rules["STN-AREA-TOWNSHIP"].source == "stations.yaml: rules[19] (STN-AREA-TOWNSHIP)"
    reference = load_ruleset(DEFAULT_RULES_DIR).reference
    platform = reference.platform("832")  # a name written as a bare number is its digits
    assert platform is not None and platform.name == "832平台"


@pytest.mark.parametrize("name", sorted(schema.SCHEMAS))
def test_the_committed_json_schema_is_what_the_models_give(name: str) -> None:
    committed = (DEFAULT_RULES_DIR / "schema" / name).read_text(encoding="utf-8")
    assert committed == schema.json_schema(schema.SCHEMAS[name]), "run: python -m ruralpost.service.rulebook.schema"


def test_rule_files_point_editors_at_the_schema() -> None:
    for path in sorted(DEFAULT_RULES_DIR.glob("*.yaml")):
        assert path.read_text(encoding="utf-8").startswith("# yaml-language-server: $schema=schema/pack.schema.json\n")
    programme = (DEFAULT_RULES_DIR / PROGRAMME).read_text(encoding="utf-8")
    assert programme.startswith("# yaml-language-server: $schema=../schema/programme.schema.json\n")


def test_previous_year_rates_at_or_below_this_years_load(rules_copy: Path) -> None:
    """方案 二 不退坡: equal or lower previous-year rates are no step back."""
    _break(
        rules_copy,
        RATES,
        "rate_fen: 50, status: provisional,",
        "rate_fen: 50, previous_year_fen: 50, status: provisional,",
    )
    _break(
        rules_copy,
        RATES,
        "rate_fen: 30, status: provisional,",
        "rate_fen: 30, previous_year_fen: 20, status: provisional,",
    )
    rate = load_ruleset(rules_copy).reference.rate("DOWNBOUND_PARCEL", "VILLAGE_POINT")
    assert rate is not None and (rate.rate_fen, rate.previous_year_fen) == (50, 50)
