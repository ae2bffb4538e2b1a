"""Loads and checks the rule packs and programme data in `rules/`; gives the set its version.

A rule pack is YAML: per rule its id, severity, scope (`when`), requirement (`require`), texts,
citation and effective period. Everything is checked at load (schema, unique ids, known
citations, parameters, templates), so a broken pack never becomes the active rule set.
"""

from __future__ import annotations

import hashlib
import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ruralpost.service.rulebook.programme import Programme

SEVERITIES = ("INFO", "WARNING", "ERROR")
_PARAM = re.compile(r"\$\{([A-Za-z0-9_.]+)\}")
_RULE_KEYS = {
    "id", "subject", "severity", "description", "when", "require", "reads", "severity_overrides",
    "field", "expected", "actual", "message", "remedy", "citation", "effective_from", "effective_to",
}
_REQUIRED_RULE_KEYS = {"id", "severity", "description", "field", "message", "remedy", "citation"}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class RulebookError(ValueError):
    """A rule pack or the programme data is not valid; the message says where."""


@dataclass(frozen=True)
class FactSpec:
    """A fact that a request may leave out, and the reason that says so."""

    name: str
    missing_id: str
    field: str
    label_zh: str
    label_en: str


@dataclass(frozen=True)
class Rule:
    id: str
    subject: str
    severity: str
    description: str
    when: tuple[dict[str, Any], ...]
    require: tuple[dict[str, Any], ...] | None  # None: the rule fires whenever it applies
    reads: tuple[str, ...]  # missable facts the requirement depends on beyond those it names
    severity_overrides: tuple[tuple[tuple[dict[str, Any], ...], str], ...]
    field: str
    expected: str
    actual: str
    message_zh: str
    message_en: str
    remedy: str
    citation_document: str
    citation_clause: str
    effective_from: str
    effective_to: str
    order: int


@dataclass
class Pack:
    name: str
    path: Path
    facts: dict[str, FactSpec]
    rules: list[Rule]


@dataclass
class Rulebook:
    """The active rule set: programme, packs and their content hash."""

    root: Path
    programme: Programme
    packs: list[Pack]
    version: str
    rules: dict[str, Rule] = field(default_factory=dict)
    facts: dict[str, dict[str, FactSpec]] = field(default_factory=dict)  # subject -> specs

    def rules_for(self, subject: str) -> list[Rule]:
        return [r for r in self.rules.values() if r.subject == subject]


def _lookup(data: dict[str, Any], path: str) -> Any:
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            raise KeyError(path)
        value = value[part]
    return value


def fill_params(value: Any, params: dict[str, Any], where: str) -> Any:
    """Replaces `${path}` by programme values: a whole-string parameter keeps its type."""
    if isinstance(value, str):
        whole = _PARAM.fullmatch(value)
        try:
            if whole:
                return _lookup(params, whole.group(1))
            return _PARAM.sub(lambda m: str(_lookup(params, m.group(1))), value)
        except KeyError as e:
            raise RulebookError(f"{where}: unknown programme parameter ${{{e.args[0]}}}") from None
    if isinstance(value, list):
        return [fill_params(v, params, where) for v in value]
    if isinstance(value, dict):
        return {k: fill_params(v, params, where) for k, v in value.items()}
    return value


def _conjuncts(value: Any, where: str) -> tuple[dict[str, Any], ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    for item in items:
        if not isinstance(item, dict) or not item:
            raise RulebookError(f"{where}: a condition must be a non-empty mapping, got {item!r}")
    return tuple(items)


def _check_template(text: str, where: str) -> None:
    try:
        list(string.Formatter().parse(text))
    except ValueError as e:
        raise RulebookError(f"{where}: bad template {text!r}: {e}") from None


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RulebookError(f"{where}: must be a non-empty string")
    _check_template(value, where)
    return value


def _load_yaml(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return yaml.safe_load(f)
    except yaml.YAMLError as e:
        raise RulebookError(f"{path.name}: not valid YAML: {e}") from None


def _parse_rule(raw: Any, pack: str, subject: str, order: int, documents: dict[str, str],
                params: dict[str, Any]) -> Rule:
    where = f"{pack}: rule #{order}"
    if not isinstance(raw, dict):
        raise RulebookError(f"{where}: must be a mapping")
    rid = raw.get("id")
    if not isinstance(rid, str) or not re.fullmatch(r"[A-Z]+(-[A-Z0-9]+)+", rid):
        raise RulebookError(f"{where}: id {rid!r} is not of the form ABC-DEF")
    where = f"{pack}: {rid}"
    unknown = set(raw) - _RULE_KEYS
    if unknown:
        raise RulebookError(f"{where}: unknown keys {sorted(unknown)}")
    missing = _REQUIRED_RULE_KEYS - set(raw)
    if missing:
        raise RulebookError(f"{where}: missing keys {sorted(missing)}")
    raw = fill_params(raw, params, where)
    severity = raw["severity"]
    if severity not in SEVERITIES:
        raise RulebookError(f"{where}: severity {severity!r} is not one of {SEVERITIES}")
    citation = raw["citation"]
    if not isinstance(citation, dict) or not citation.get("document") or not citation.get("clause"):
        raise RulebookError(f"{where}: citation needs document and clause")
    if citation["document"] not in documents:
        raise RulebookError(f"{where}: citation document {citation['document']!r} is not in the "
                            f"programme's documents {sorted(documents)}")
    message = raw["message"]
    if not isinstance(message, dict):
        raise RulebookError(f"{where}: message needs zh and en")
    overrides = []
    for i, o in enumerate(raw.get("severity_overrides") or ()):
        if not isinstance(o, dict) or o.get("severity") not in SEVERITIES or "when" not in o:
            raise RulebookError(f"{where}: severity_overrides[{i}] needs when and severity")
        overrides.append((_conjuncts(o["when"], where), str(o["severity"])))
    dates = {}
    for key in ("effective_from", "effective_to"):
        value = str(raw.get(key) or "")
        if value and not _DATE.match(value):
            raise RulebookError(f"{where}: {key} {value!r} is not YYYY-MM-DD")
        dates[key] = value
    reads = raw.get("reads") or []
    if not isinstance(reads, list) or not all(isinstance(r, str) for r in reads):
        raise RulebookError(f"{where}: reads must be a list of fact names")
    return Rule(
        id=rid,
        subject=str(raw.get("subject") or subject),
        severity=severity,
        description=_text(raw["description"], f"{where}.description"),
        when=_conjuncts(raw.get("when"), f"{where}.when"),
        require=_conjuncts(raw["require"], f"{where}.require") if "require" in raw else None,
        reads=tuple(reads),
        severity_overrides=tuple(overrides),
        field=_text(raw["field"], f"{where}.field"),
        expected=str(raw.get("expected", "")),
        actual=str(raw.get("actual", "")),
        message_zh=_text(message.get("zh"), f"{where}.message.zh"),
        message_en=_text(message.get("en"), f"{where}.message.en"),
        remedy=_text(raw["remedy"], f"{where}.remedy"),
        citation_document=documents[citation["document"]],
        citation_clause=str(citation["clause"]),
        effective_from=dates["effective_from"],
        effective_to=dates["effective_to"],
        order=order,
    )


def _parse_facts(raw: Any, pack: str) -> dict[str, FactSpec]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise RulebookError(f"{pack}: facts must be a mapping")
    specs = {}
    for name, spec in raw.items():
        if not isinstance(spec, dict) or not {"missing_id", "field", "label"} <= set(spec):
            raise RulebookError(f"{pack}: fact {name} needs missing_id, field and label")
        if not str(spec["missing_id"]).endswith("-MISSING"):
            raise RulebookError(f"{pack}: fact {name}: missing_id must end in -MISSING")
        specs[name] = FactSpec(name, spec["missing_id"], spec["field"],
                               spec["label"]["zh"], spec["label"]["en"])
    return specs


def content_hash(paths: list[Path], root: Path) -> str:
    """A short sha256 over the files' relative names and bytes, in name order."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def load(root: Path, programme_id: str = "jingle-2023") -> Rulebook:
    """Loads `root` (the `rules/` folder): the programme, every `*.yaml` pack at its top level."""
    root = root.resolve()
    programme_path = root / "programmes" / f"{programme_id}.yaml"
    if not programme_path.is_file():
        raise RulebookError(f"no programme data at programmes/{programme_id}.yaml")
    data = _load_yaml(programme_path)
    if not isinstance(data, dict):
        raise RulebookError(f"{programme_path.name}: must be a mapping")
    try:
        programme = Programme(data, programme_path.parent)
    except (KeyError, TypeError, ValueError, OSError) as e:
        raise RulebookError(f"{programme_path.name}: {type(e).__name__}: {e}") from None
    documents = dict(data.get("documents") or {})
    hashed = [programme_path, (programme_path.parent / data["divisions"]).resolve()]
    packs: list[Pack] = []
    rules: dict[str, Rule] = {}
    facts: dict[str, dict[str, FactSpec]] = {}
    for path in sorted(root.glob("*.yaml")):
        raw = _load_yaml(path)
        if not isinstance(raw, dict) or "rules" not in raw or "subject" not in raw:
            raise RulebookError(f"{path.name}: a pack needs pack, subject and rules")
        name = str(raw.get("pack") or path.stem)
        pack_facts = _parse_facts(raw.get("facts"), name)
        pack_rules = []
        for raw_rule in raw["rules"] or []:
            rule = _parse_rule(raw_rule, name, str(raw["subject"]), len(rules), documents, data)
            if rule.id in rules:
                raise RulebookError(f"{name}: duplicate rule id {rule.id}")
            rules[rule.id] = rule
            pack_rules.append(rule)
            facts.setdefault(rule.subject, {}).update(pack_facts)
        packs.append(Pack(name, path, pack_facts, pack_rules))
        hashed.append(path)
    if not rules:
        raise RulebookError(f"no rules found in {root}")
    for specs in facts.values():
        for spec in specs.values():
            if spec.missing_id in rules:
                raise RulebookError(f"{spec.missing_id} is both a rule id and a missing-fact id")
    book = Rulebook(root, programme, packs, content_hash(hashed, root.parent), rules, facts)
    return book
