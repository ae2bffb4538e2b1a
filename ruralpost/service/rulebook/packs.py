"""Loads and checks the rule packs and programme data in `rules/`; gives the set its version.

A rule pack is YAML: per rule its id, severity, scope (`when`), requirement (`require`), texts,
citation and effective period. Everything is checked at load against the schema (`schema.py`)
and across files (unique ids, known citations, parameters), so a broken pack never becomes the
active rule set. Loading raises only RulebookError, one line per problem naming file and path.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from ruralpost.service.rulebook.programme import Programme
from ruralpost.service.rulebook.schema import PackModel, RulebookError, RuleModel, path_of, validated, yuan

__all__ = ["FactSpec", "Rule", "Rulebook", "RulebookError", "Severity", "content_hash", "fill_params", "load"]

# `${path}`, or `${path|yuan}`: an amount in fen shown in yuan (50 -> 0.50), for texts in 元
_PARAM = re.compile(r"\$\{([A-Za-z0-9_.]+)(\|yuan)?\}")


class Severity(StrEnum):
    """A rule's severity as the packs spell it (schema.py checks the spelling)."""

    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


@dataclass(frozen=True)
class FactSpec:
    """A fact that a request may leave out, and the reason that says so."""

    name: str
    missing_id: str
    field: str
    label_zh: str
    label_en: str
    counted: bool = False  # the progress count reads it: its absence blocks even when only advice reads it


@dataclass(frozen=True)
class Rule:
    id: str
    subject: str
    severity: Severity
    basis: str  # programme | national | inferred | setting (docs/rules.md)
    description: str
    when: tuple[dict[str, Any], ...]
    require: tuple[dict[str, Any], ...] | None  # None: the rule fires whenever it applies
    reads: tuple[str, ...]  # missable facts the requirement depends on beyond those it names
    severity_overrides: tuple[tuple[tuple[dict[str, Any], ...], Severity], ...]
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
    source: str = ""  # where it is written, for messages: `stations.yaml: rules[19] (STN-AREA-TOWNSHIP)`


@dataclass
class Rulebook:
    """The active rule set: programme, rules and their content hash."""

    root: Path
    programme: Programme
    version: str
    rules: dict[str, Rule] = field(default_factory=dict)
    facts: dict[str, dict[str, FactSpec]] = field(default_factory=dict)  # subject -> specs
    # The reason ids that say "a fact is missing" (each fact's `missing_id`), never a rule's id.
    missing_ids: frozenset[str] = frozenset()

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
    """Replaces `${path}` by programme values: a whole-string parameter keeps its type.

    `where` is the value's place (`stations.yaml: rules[6] (STN-OPERATOR)`); it grows with the
    path inside the value, so an unknown parameter is reported where it is written.
    """
    if isinstance(value, str):
        whole = _PARAM.fullmatch(value)
        try:
            if whole and not whole.group(2):
                return _lookup(params, whole.group(1))
            return _PARAM.sub(lambda m: _param_text(_lookup(params, m.group(1)), m.group(2), m.group(1)), value)
        except KeyError as e:
            raise RulebookError(f"{where}: unknown programme parameter ${{{e.args[0]}}}") from None
        except ValueError as e:
            raise RulebookError(f"{where}: {e}") from None
    if isinstance(value, list):
        return [fill_params(v, params, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: fill_params(v, params, f"{where}.{k}") for k, v in value.items()}
    return value


def _param_text(value: Any, how: str | None, path: str) -> str:
    if not how:
        return str(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"${{{path}|yuan}}: {value!r} is not an amount in fen")
    return yuan(value)


def _yaml_problem(e: yaml.YAMLError) -> str:
    """PyYAML's several lines as one: where, then what."""
    if isinstance(e, yaml.MarkedYAMLError):
        mark = e.problem_mark or e.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        what = "; ".join(str(p) for p in (e.context, e.problem) if p)
        return f"{where}not valid YAML: {what}"
    return f"not valid YAML: {' '.join(str(e).split())}"


def _read_yaml(path: Path, source: str) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise RulebookError(f"{source}: {_yaml_problem(e)}") from None
    except UnicodeDecodeError as e:
        raise RulebookError(f"{source}: not UTF-8 text: {e}") from None
    except OSError as e:
        raise RulebookError(f"{source}: cannot read: {e.strerror or e}") from None
    except (ValueError, TypeError, ArithmeticError) as e:  # e.g. an unquoted 2023-02-30
        raise RulebookError(f"{source}: a value YAML cannot read: {e}") from None


@contextlib.contextmanager
def _about(source: str) -> Iterator[None]:
    """Whatever goes wrong while a file is read becomes a RulebookError that names the file:
    the checks name the path of the value, this is the net under them."""
    try:
        yield
    except RulebookError:
        raise
    except RecursionError:
        raise RulebookError(f"{source}: nested too deeply, or a YAML alias (*name) inside itself") from None
    except (
        OSError,
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        AttributeError,
        ArithmeticError,
        re.error,
        yaml.YAMLError,
    ) as e:
        raise RulebookError(f"{source}: {type(e).__name__}: {' '.join(str(e).split())}") from None


def _filled(raw: Any, params: dict[str, Any], source: str) -> Any:
    """The pack with programme parameters filled into its rules (other values stay as written)."""
    if not isinstance(raw, dict) or not isinstance(raw.get("rules"), list):
        return raw
    rules = raw["rules"]
    return {
        **raw,
        "rules": [fill_params(r, params, f"{source}: {path_of(('rules', i), raw)}") for i, r in enumerate(rules)],
    }


def _rule(m: RuleModel, subject: str, order: int, documents: dict[str, str], source: str) -> Rule:
    return Rule(
        id=m.id,
        subject=m.subject or subject,
        severity=Severity(m.severity),
        basis=m.basis,
        description=m.description,
        when=tuple(m.when),
        require=None if m.require is None else tuple(m.require),
        reads=tuple(m.reads),
        severity_overrides=tuple((tuple(o.when), Severity(o.severity)) for o in m.severity_overrides),
        field=m.field,
        expected=m.expected,
        actual=m.actual,
        message_zh=m.message.zh,
        message_en=m.message.en,
        remedy=m.remedy,
        citation_document=documents[m.citation.document],
        citation_clause=m.citation.clause,
        effective_from=m.effective_from.isoformat() if m.effective_from else "",
        effective_to=m.effective_to.isoformat() if m.effective_to else "",
        order=order,
        source=source,
    )


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
    """Loads `root` (the `rules/` folder): the programme, every `*.yaml` pack at its top level.

    Raises RulebookError, and nothing else, when anything in the folder is not valid.
    """
    with _about(str(root)):
        return _load(root.resolve(), programme_id)


def _load(root: Path, programme_id: str) -> Rulebook:
    source = f"programmes/{programme_id}.yaml"
    programme_path = root / source
    if not programme_path.is_file():
        raise RulebookError(f"{source}: no programme data (no such file in {root})")
    with _about(source):
        data = _read_yaml(programme_path, source)
        programme = Programme.read(data, programme_path.parent, source)
        if programme.id != programme_id:
            raise RulebookError(f"{source}: programme: {programme.id!r} is not the file's name {programme_id!r}")
        if not programme.divisions_path.is_relative_to(root):
            raise RulebookError(f"{source}: divisions: {programme.model.divisions!r} is outside the rules folder")
    documents = programme.model.documents
    for path in programme.reference_paths:
        if not path.is_relative_to(root):
            raise RulebookError(f"{source}: {path.name} is outside the rules folder")
    hashed = [programme_path, programme.divisions_path, *programme.reference_paths]
    rules: dict[str, Rule] = {}
    facts: dict[str, dict[str, FactSpec]] = {}
    missing_ids: dict[str, str] = {}  # missing-fact id -> where it is declared
    for path in sorted(root.glob("*.yaml")):
        name = path.name
        with _about(name):
            raw = _read_yaml(path, name)
            pack = validated(PackModel, _filled(raw, data, name), name, {"documents": documents})
            pack_facts = {}
            for fact, spec in pack.facts.items():
                pack_facts[fact] = FactSpec(
                    fact, spec.missing_id, spec.field, spec.label.zh, spec.label.en, spec.counted
                )
                missing_ids.setdefault(spec.missing_id, f"{name}: facts.{fact}.missing_id")
            for i, m in enumerate(pack.rules):
                where = f"{name}: {path_of(('rules', i), raw)}"
                if m.id in rules:
                    raise RulebookError(f"{where}.id: duplicate rule id {m.id}, first at {rules[m.id].source}")
                rule = _rule(m, pack.subject, len(rules), documents, where)
                rules[rule.id] = rule
                facts.setdefault(rule.subject, {}).update(pack_facts)
            hashed.append(path)
    if not rules:
        raise RulebookError(f"no rules found in {root} (no *.yaml rule pack at its top level)")
    for missing_id, where in missing_ids.items():
        if missing_id in rules:
            raise RulebookError(
                f"{where}: {missing_id} is both a missing-fact id and a rule id (at {rules[missing_id].source})"
            )
    return Rulebook(root, programme, content_hash(hashed, root.parent), rules, facts, frozenset(missing_ids))
