"""The station rules as a Cerbos resource policy, generated from the loaded rule pack.

One action per rule id, ALLOWed when the rule does not fire, so the DENYed actions are the rules
that fire: the peer answers the same question as our engine, over the same flat fact
(`station_fact`, sent as `request.resource.attr`). Each rule's `when`, effective dates and
`require` are translated from durable_rules JSON syntax to CEL, never written by hand; a
requirement fails as the engine compiles it, through `engine.negate` where that has a form (so an
absent derived field, say `expected_sign_text` when the kind is missing, fails a `$neq` as it does
in durable_rules), else as applies-and-not-holds.

Missing facts are modelled, not avoided: as in `service.engine`, a rule fires when it applies
and its requirement does not hold with every fact it reads (`require` fields and `reads`) present;
with one of them absent it still fires when the rest of the requirement fails whatever the
absent fact says (the engine's `m|F`/`q|F` parts), and otherwise it does not fire (our engine
reports `*-MISSING` instead). So the comparison covers every station, complete or not.
Comparisons read a field only after `has()`: an absent field makes a test false, as the engine
and `tests/rules/reference_engine.py` read it. Numbers are written as doubles (attributes
arrive as `google.protobuf.Value`, whose numbers are doubles).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from ruralpost.service.dates import day_number, parse_date
from ruralpost.service.engine import fields_of, negate
from ruralpost.service.rulebook.packs import Rule

RESOURCE = "station"
ROLE = "checker"
ATTR = "R.attr"
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ARITHMETIC = {"$add": "+", "$sub": "-", "$mul": "*", "$div": "/"}
_OPS = {"$lt": "<", "$lte": "<=", "$gt": ">", "$gte": ">=", "$neq": "!="}
# durable_rules' `$mt` patterns (probed on 2.0.28): `%x` classes, `%` before punctuation for the
# character itself, `[...]` sets, `. * + ? | ( ) {n}` as in RE2; `^ $ - \\` are plain characters.
_CLASSES = {
    "d": r"\d",
    "a": "[A-Za-z]",
    "l": "[a-z]",
    "u": "[A-Z]",
    "s": r"\s",
    "w": "[A-Za-z0-9]",
    "x": "[0-9A-Fa-f]",
    "p": "[[:punct:]]",
}
_SET_CLASSES = {k: v[1:-1] if v.startswith("[") else v for k, v in _CLASSES.items()}  # inside [...]
_PLAIN = set("^$\\")  # operators in RE2, plain characters in durable_rules


class Untranslatable(ValueError):
    """A condition with no CEL translation here (an operator the station rules do not use)."""


def literal(value: Any) -> str:
    """A CEL literal: JSON text is valid CEL for strings; every number is a double."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(float(value))
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    raise Untranslatable(f"no CEL literal for {value!r}")


def attr(name: str) -> str:
    return f"{ATTR}.{name}" if _IDENT.fullmatch(name) else f"{ATTR}[{literal(name)}]"


def has(name: str) -> str:
    return f"has({ATTR}.{name})" if _IDENT.fullmatch(name) else f"({literal(name)} in {ATTR})"


def all_of(parts: list[str]) -> str:
    parts = [p for p in parts if p != "true"]
    if not parts:
        return "true"
    return parts[0] if len(parts) == 1 else "(" + " && ".join(parts) + ")"


def any_of(parts: list[str]) -> str:
    parts = [p for p in parts if p != "false"]
    if not parts:
        return "false"
    return parts[0] if len(parts) == 1 else "(" + " || ".join(parts) + ")"


def negated(expr: str) -> str:
    """`!expr`; an expression starting with `!` is always a negated atom (`!has(..)`, `!(..)`)."""
    if expr in ("true", "false"):
        return "false" if expr == "true" else "true"
    return expr[1:] if expr.startswith("!") else f"!{expr}"


def _escape(c: str, classes: dict[str, str], pattern: str) -> str:
    if c in classes:
        return classes[c]
    if c.isalnum():
        raise Untranslatable(f"$mt pattern {pattern!r}: %{c} is no class durable_rules knows")
    return "\\" + c


def lua_to_re2(pattern: str) -> str:
    """A `$mt` pattern as an RE2 whole-string match: `%d` -> `\\d`, sets kept, the rest as durable_rules reads it."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "%" and i + 1 < len(pattern):
            out.append(_escape(pattern[i + 1], _CLASSES, pattern))
            i += 2
        elif c == "[":
            end = pattern.find("]", i + 2)
            if end < 0:
                raise Untranslatable(f"$mt pattern {pattern!r}: unclosed set")
            inner = re.sub(r"%(.)", lambda m: _escape(m[1], _SET_CLASSES, pattern), pattern[i + 1 : end])
            out.append(f"[{inner}]")
            i = end + 1
        else:
            out.append("\\" + c if c in _PLAIN else c)
            i += 1
    return "^(?:" + "".join(out) + ")$"


def _operand(spec: Any) -> tuple[str, list[str]]:
    """The right-hand side of a test and the fields it reads: a literal, `{"$m": field}`, or
    arithmetic `{"$add|$sub|$mul|$div": {"$l": .., "$r": ..}}` over those (unused by the station rules)."""
    if not isinstance(spec, dict):
        return literal(spec), []
    if set(spec) == {"$m"} and isinstance(spec["$m"], str) and "." not in spec["$m"]:
        return attr(spec["$m"]), [spec["$m"]]
    if len(spec) == 1:
        ((op, sides),) = spec.items()
        if op in _ARITHMETIC and isinstance(sides, dict) and set(sides) == {"$l", "$r"}:
            left, right = _operand(sides["$l"]), _operand(sides["$r"])
            return f"({left[0]} {_ARITHMETIC[op]} {right[0]})", left[1] + right[1]
    raise Untranslatable(f"operand {spec!r}")


def _item(cond: Any) -> str:
    """An array element test (`{"$i": v}` or `{"$op": {"$i": v}}`) on the loop variable `x`."""
    if not isinstance(cond, dict) or len(cond) != 1:
        raise Untranslatable(f"array element test {cond!r}")
    ((key, value),) = cond.items()
    if key == "$i":
        return f"x == {literal(value)}"
    if key in _OPS and isinstance(value, dict) and set(value) == {"$i"}:
        return f"x {_OPS[key]} {literal(value['$i'])}"
    raise Untranslatable(f"array element test {cond!r}")


def cel(cond: dict[str, Any]) -> str:
    """One durable_rules condition (all its keys must hold) as a CEL boolean expression."""
    tests: list[str] = []
    for key, value in cond.items():
        if key in ("$and", "$or"):
            parts = [cel(c) for c in value]
            tests.append(all_of(parts) if key == "$and" else any_of(parts))
        elif key in ("$ex", "$nex"):
            ((name, _),) = value.items()
            tests.append(has(name) if key == "$ex" else negated(has(name)))
        elif key in _OPS:
            ((name, spec),) = value.items()
            rhs, refs = _operand(spec)
            tests.append(all_of([has(name), *map(has, refs), f"{attr(name)} {_OPS[key]} {rhs}"]))
        elif key == "$mt":
            ((name, pattern),) = value.items()
            tests.append(all_of([has(name), f"{attr(name)}.matches({literal(lua_to_re2(pattern))})"]))
        elif key in ("$iany", "$iall"):
            ((name, inner),) = value.items()
            macro = "exists" if key == "$iany" else "all"
            tests.append(all_of([has(name), f"size({attr(name)}) > 0", f"{attr(name)}.{macro}(x, {_item(inner)})"]))
        elif key.startswith("$"):
            raise Untranslatable(f"operator {key}")
        else:
            rhs, refs = _operand(value)
            tests.append(all_of([has(key), *map(has, refs), f"{attr(key)} == {rhs}"]))
    return all_of(tests)


def applies(rule: Rule) -> str:
    """The rule's scope and effective dates (`as_of_day`, a day number, is always in the fact)."""
    when = list(rule.when)
    if rule.effective_from:
        when.append({"$gte": {"as_of_day": day_number(parse_date(rule.effective_from))}})
    if rule.effective_to:
        when.append({"$lte": {"as_of_day": day_number(parse_date(rule.effective_to))}})
    return all_of([cel(c) for c in when])


def failed(require: list[dict[str, Any]]) -> str:
    """The requirement fails, as the engine compiles it: its `negate`d form where it has one (an
    absent field then fails that test too: `$neq` against a missing `$m` is false), else not-holds."""
    negations = [negate(c) for c in require]
    if all(n is not None for n in negations):
        return any_of([cel(n) for n in negations if n is not None])
    return negated(all_of([cel(c) for c in require]))


def fires(rule: Rule, missable: set[str]) -> str:
    """When the engine reports the rule as a violation (see the module docstring)."""
    scope = applies(rule)
    if rule.require is None:
        return scope
    require = list(rule.require)
    fails = failed(require)
    needed = sorted((fields_of(require) | set(rule.reads)) & missable)
    if not needed:
        return all_of([scope, fails])
    branches = [all_of([*map(has, needed), fails])]
    for absent in needed:
        if absent in rule.reads:
            continue  # the requirement depends on it beyond the fields it names: always *-MISSING
        rest = [c for c in require if absent not in fields_of(c)]
        if rest:  # the rest fails whatever the absent fact says
            others = [has(f) for f in needed if f != absent]
            branches.append(all_of([negated(has(absent)), *others, negated(all_of([cel(c) for c in rest]))]))
    return all_of([scope, any_of(branches)])


def policy(rules: list[Rule], missable: set[str]) -> dict[str, Any]:
    """The resource policy document: rule id -> ALLOW unless the rule fires."""
    return {
        "apiVersion": "api.cerbos.dev/v1",
        "description": "Generated by bench/peer/policy.py from rules/stations.yaml; do not edit.",
        "resourcePolicy": {
            "version": "default",
            "resource": RESOURCE,
            "rules": [
                {
                    "actions": [rule.id],
                    "effect": "EFFECT_ALLOW",
                    "roles": ["*"],
                    "condition": {"match": {"expr": negated(fires(rule, missable))}},
                }
                for rule in rules
            ],
        },
    }


def write_policy(folder: Path, rules: list[Rule], missable: set[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "station.yaml"
    text = yaml.safe_dump(policy(rules, missable), allow_unicode=True, sort_keys=False, width=1 << 20)
    path.write_text(text, encoding="utf-8")
    return path
