"""The durable_rules adapter: the only module that imports durable_rules.

Each YAML rule states a requirement within a scope; it is compiled into durable_rules rules
named `<id>|<part>` (see `_CompiledRule`) whose firing tells the violation, or the missing fact
that keeps the rule undecided. The low-level C module is called directly (docs/engine.md) with
a pool of long-lived sids, one per evaluation in flight, never shared.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import queue
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

import durable_rules_engine as dre
import orjson

from ruralpost.limits import MAX_ABS_NUMBER, MAX_FACT_FIELDS, MAX_RULES_PER_RULESET, MAX_SIDS, MAX_STRING_BYTES
from ruralpost.service.dates import day_number, parse_date
from ruralpost.service.rulebook.packs import FactSpec, Rule, Rulebook, RulebookError, Severity

_names = itertools.count()


class FactError(ValueError):
    """A fact the engine would mis-evaluate; validation should have refused it earlier."""


def _day_numbers(value: Any) -> int:
    """JSON hook: programme dates (YAML dates as `${...}` parameters) reach the engine as day numbers."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return day_number(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def fields_of(condition: Any) -> set[str]:
    """Fact names a durable_rules condition reads (dict keys, and `$m` references)."""
    found: set[str] = set()
    if isinstance(condition, dict):
        for key, value in condition.items():
            if key == "$m" and isinstance(value, str):
                found.add(value.split(".")[0])
            elif not key.startswith("$"):
                found.add(key.split(".")[0])
            found |= fields_of(value)
    elif isinstance(condition, (list, tuple)):  # a rule's `when` is a tuple of conditions
        for item in condition:
            found |= fields_of(item)
    return found


def _all(subject: str, conjuncts: Iterable[dict[str, Any]]) -> dict[str, Any]:
    # Every condition is anchored on the subject, so no rule can match the engine's own state.
    return {"all": [{"m": {"$and": [{"subject": subject}, *conjuncts]}}]}


class Violation(NamedTuple):
    rule: Rule
    severity: Severity


@dataclass(frozen=True)
class Firing:
    """What the rules decided about one fact: violations and the missing facts that matter."""

    violations: list[Violation]
    missing: list[tuple[FactSpec, Rule]]  # each missing fact with the first rule that needs it
    # missing-fact ids that only WARNING rules wait for: advice never blocks a verdict
    advisory: frozenset[str] = frozenset()

    @property
    def incomplete(self) -> bool:
        """A missing fact that a rule of more than advice (ERROR, or INFO that counting reads) needs."""
        return any(spec.missing_id not in self.advisory for spec, _ in self.missing)

    @property
    def missing_ids(self) -> frozenset[str]:
        """The ids of the missing-fact reasons this firing gives."""
        return frozenset(spec.missing_id for spec, _ in self.missing)


_NEGATED_OP = {"$lt": "$gte", "$gte": "$lt", "$lte": "$gt", "$gt": "$lte", "$ex": "$nex", "$nex": "$ex"}


def negate(condition: dict[str, Any]) -> dict[str, Any] | None:
    """The condition's negation in durable_rules syntax, or None where it has none ($mt).

    List facts are left out when empty, since `$iall` never matches an empty list.
    """
    parts: list[dict[str, Any]] = []
    for key, value in condition.items():
        if key in _NEGATED_OP:
            parts.append({_NEGATED_OP[key]: value})
        elif key == "$neq":
            parts.append(dict(value))
        elif key == "$iany" and len(value) == 1:
            # no element matches: every element fails, or the list is empty (facts omit empty lists)
            ((array, item),) = value.items()
            negated_item = {"$neq": item} if set(item) == {"$i"} else negate(item)
            if negated_item is None:
                return None
            parts.append({"$or": [{"$iall": {array: negated_item}}, {"$nex": {array: 1}}]})
        elif key in ("$and", "$or"):
            negated = [negate(c) for c in value]
            if any(n is None for n in negated):
                return None
            parts.append({"$or" if key == "$and" else "$and": negated})
        elif key.startswith("$"):
            return None
        else:
            parts.append({"$neq": {key: value}})
    return parts[0] if len(parts) == 1 else {"$or": parts}


class _CompiledRule:
    """One YAML rule as durable_rules rules, and how to read back what fired.

    Where the requirement can be negated, a single rule `v` matches the violation, so a
    passing fact fires nothing; otherwise `a` (applies) and `h` (holds) are compared.
    `m|F`, `q|F` and `w|F` match only when a missable fact F is absent.
    """

    def __init__(self, rule: Rule, missable: set[str]) -> None:
        self.rule = rule
        when = list(rule.when)
        if rule.effective_from:
            when.append({"$gte": {"as_of_day": day_number(parse_date(rule.effective_from))}})
        if rule.effective_to:
            when.append({"$lte": {"as_of_day": day_number(parse_date(rule.effective_to))}})
        self.when = when
        self.when_missable = sorted(fields_of(rule.when) & missable)
        self.require = list(rule.require or ())
        self.require_missable = sorted((fields_of(self.require) | set(rule.reads)) & missable)
        self.reads_only = set(rule.reads)
        negated = [negate(c) for c in self.require]
        self.violated: dict[str, Any] | None = None
        if rule.require is None:
            self.violated = {}
        elif all(n is not None for n in negated):
            self.violated = negated[0] if len(negated) == 1 else {"$or": negated}
        rid = rule.id
        self.a, self.h, self.v = f"{rid}|a", f"{rid}|h", f"{rid}|v"
        self.names = frozenset(self.definitions("-"))  # the engine rule names it can fire

    def definitions(self, subject: str) -> dict[str, Any]:
        rid, when, require = self.rule.id, self.when, self.require
        defs: dict[str, Any] = {}
        if self.violated is not None:
            guards = [{"$ex": {f: 1}} for f in self.require_missable if f not in self.reads_only]
            defs[self.v] = _all(subject, [*when, *guards, *([self.violated] if self.violated else [])])
        else:
            defs[self.a] = _all(subject, when)
            defs[self.h] = _all(subject, [*when, *require])
        for f in self.require_missable:
            rest = [] if f in self.reads_only else [c for c in require if f not in fields_of(c)]
            defs[f"{rid}|m|{f}"] = _all(subject, [*when, {"$nex": {f: 1}}])
            defs[f"{rid}|q|{f}"] = _all(subject, [*when, {"$nex": {f: 1}}, *rest])
        for f in self.when_missable:
            rest = [c for c in when if f not in fields_of(c)]
            defs[f"{rid}|w|{f}"] = _all(subject, [{"$nex": {f: 1}}, *rest])
        for i, (override_when, _) in enumerate(self.rule.severity_overrides):
            defs[f"{rid}|s|{i}"] = _all(subject, [*when, *override_when])
        return defs

    def decide(self, fired: set[str], missing: set[str]) -> tuple[Violation | None, list[str]]:
        """The violation (if decided) and the missing facts that keep the rule undecided."""
        rid = self.rule.id
        absent = [f for f in self.require_missable if f in missing and f"{rid}|m|{f}" in fired]
        if absent:  # the rule applies but reads an absent fact
            if len(absent) > 1 or f"{rid}|q|{absent[0]}" in fired:
                return None, absent
            violated = True  # the rest of the requirement fails whatever the absent fact says
        elif self.violated is not None:
            violated = self.v in fired
        else:
            violated = self.a in fired and self.h not in fired
        if not violated:
            return None, [f for f in self.when_missable if f in missing and f"{rid}|w|{f}" in fired]
        return Violation(self.rule, self.severity(fired)), []

    def severity(self, fired: set[str]) -> Severity:
        """The rule's severity for this fact: the first override whose condition matched, else its own."""
        for i, (_, override) in enumerate(self.rule.severity_overrides):
            if f"{self.rule.id}|s|{i}" in fired:
                return override
        return self.rule.severity


class _SidPool:
    """Long-lived sids, one per evaluation in flight; two evaluations never share one."""

    def __init__(self) -> None:
        self._free: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._count = 0
        self._lock = threading.Lock()

    def take(self) -> str:
        try:
            return self._free.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            if self._count < MAX_SIDS:
                self._count += 1
                return f"s{self._count}"
        return self._free.get()  # all sids busy: wait for one

    def give(self, sid: str) -> None:
        self._free.put(sid)


def check_fact(fact: dict[str, Any]) -> bool:
    """Guards the engine's limits: it would otherwise answer silently wrong or crash.

    Returns whether a float needs the engine's own notation (see `to_json`).
    """
    if len(fact) >= MAX_FACT_FIELDS:
        raise FactError(f"fact has {len(fact)} fields, the engine takes fewer than {MAX_FACT_FIELDS}")
    exponent = False
    for key, value in fact.items():
        kind = type(value)
        if kind is str:
            if len(value) * 4 > MAX_STRING_BYTES and len(value.encode()) > MAX_STRING_BYTES:
                raise FactError(f"fact field {key!r}: string too long for the engine")
        elif kind is float:
            if not math.isfinite(value) or abs(value) > MAX_ABS_NUMBER:
                raise FactError(f"fact field {key!r}: number {value!r} out of the engine's range")
            exponent = exponent or "e" in repr(value)
        elif kind is list:
            exponent = check_list(key, value) or exponent
        elif kind is dict:
            raise FactError(f"fact field {key!r}: facts are flat (scalars and lists of scalars)")
    if "id" in fact or "sid" in fact:
        raise FactError("fact fields 'id' and 'sid' are reserved by the engine")
    return exponent


def check_list(key: str, values: list[Any]) -> bool:
    """A list fact holds scalars within the same limits."""
    if all(type(item) is str and len(item) < 256 for item in values):
        return False  # the usual case: short names (equipment, services)
    exponent = False
    for item in values:
        if isinstance(item, (dict, list)):
            raise FactError(f"fact field {key!r}: facts are flat (scalars and lists of scalars)")
        exponent = check_fact({key: item}) or exponent
    return exponent


def _engine_float(x: float) -> str:
    text = repr(x)
    mantissa, _, exponent = text.partition("e")
    return f"{mantissa if '.' in mantissa else mantissa + '.0'}e{exponent}"


def to_json(fact: dict[str, Any], exponent: bool) -> str:
    """JSON the engine parses: it rejects exponent floats without a decimal point (1e-05)."""
    if not exponent:  # orjson: a fact is encoded twice per evaluation, json.dumps cost 30 µs a time
        return orjson.dumps(fact).decode()
    marks: dict[str, str] = {}

    def mark(value: Any) -> Any:
        if isinstance(value, float) and "e" in repr(value):
            token = f"\u0000float{len(marks)}\u0000"
            marks[json.dumps(token)] = _engine_float(value)
            return token
        return value

    text = json.dumps(
        {k: [mark(v) for v in value] if isinstance(value, list) else mark(value) for k, value in fact.items()},
        ensure_ascii=False,
    )
    for token, number in marks.items():
        text = text.replace(token, number)
    return text


def _action_rule(action: str) -> str:
    """The rule an action is for: the C module answers `{"<rule>":{"m":{...the fact...}}}`, one
    rule per action, and rule names hold no quote, so the name is read without parsing the fact."""
    return action[2 : action.index('"', 2)]


def _deduplicate(definitions: dict[str, Any]) -> tuple[dict[str, Any], dict[str, frozenset[str]]]:
    """One engine rule per distinct condition: rules of the same scope share their `m|F` and
    `w|F` parts, and each match is one action less (and fewer rulesets to assert into)."""
    by_condition: dict[str, list[str]] = {}
    for name, condition in definitions.items():
        key = json.dumps(condition, sort_keys=True, ensure_ascii=False, default=_day_numbers)
        by_condition.setdefault(key, []).append(name)
    unique: dict[str, Any] = {}
    aliases: dict[str, frozenset[str]] = {}
    for names in by_condition.values():
        unique[names[0]] = definitions[names[0]]
        aliases[names[0]] = frozenset(names)
    return unique, aliases


class _TooManyMatches(Exception):
    """durable_rules' error 303: more than 64 rules of one ruleset matched one fact, nothing fired."""


def _message(fact: dict[str, Any], reads: frozenset[str], exponent: bool, tail: str) -> str:
    """The fact as one ruleset is sent it: only the fields it reads, then the subject, id and sid,
    which are the same JSON every time (spliced in, not encoded)."""
    part = {k: v for k, v in fact.items() if k in reads}
    return to_json(part, exponent)[:-1] + ("," if part else "") + tail


class Engine:
    """Compiled rule set: evaluates flat facts to violations and missing facts."""

    def __init__(self, book: Rulebook) -> None:
        self.version = book.version
        self._compiled: dict[str, list[_CompiledRule]] = {}
        self._handles: dict[str, list[tuple[int, frozenset[str]]]] = {}
        # One ruleset of all a subject's rules, asked first when it has more than one (one assert
        # per fact); the rulesets of at most MAX_RULES_PER_RULESET answer a fact it cannot take.
        self._whole: dict[str, tuple[int, frozenset[str]]] = {}
        self._aliases: dict[str, dict[str, frozenset[str]]] = {}  # engine rule -> the parts it stands for
        self._missable: dict[str, dict[str, FactSpec]] = {}
        self._deciders: dict[str, dict[str, tuple[int, ...]]] = {}  # engine rule -> the rules it concerns
        self._tails: dict[str, str] = {}  # the JSON every message of the subject ends with, but the sid
        self._sids = _SidPool()
        subjects = sorted({r.subject for r in book.rules.values()})
        for subject in subjects:
            specs = book.facts.get(subject, {})
            self._missable[subject] = specs
            compiled = [_CompiledRule(r, set(specs)) for r in book.rules_for(subject)]
            self._compiled[subject] = compiled
            definitions: dict[str, Any] = {}
            for c in compiled:
                definitions.update(c.definitions(subject))
            unique, self._aliases[subject] = _deduplicate(definitions)
            self._handles[subject] = self._create(subject, unique)
            if len(self._handles[subject]) > 1:
                (self._whole[subject],) = self._create(subject, unique, len(unique))
            self._deciders[subject] = {
                name: tuple(i for i, c in enumerate(compiled) if not c.names.isdisjoint(parts))
                for name, parts in self._aliases[subject].items()
            }
            self._tails[subject] = orjson.dumps({"subject": subject, "id": "f"}).decode()[1:-1] + ',"sid":"'

    def _create(
        self, subject: str, definitions: dict[str, Any], size: int = MAX_RULES_PER_RULESET
    ) -> list[tuple[int, frozenset[str]]]:
        """Rulesets of at most `size` rules, each with the fact fields it reads.

        Each ruleset is sent only the fields it reads: every matched rule's action carries the
        whole fact back out of the C module, so a smaller fact is a cheaper evaluation.
        """
        names = list(definitions)
        handles = []
        for start in range(0, len(names), size):
            chunk = {n: definitions[n] for n in names[start : start + size]}
            reads = frozenset(fields_of(list(chunk.values())) - {"all", "m"})
            name = f"{subject}-{self.version}-{next(_names)}"
            try:
                handles.append(
                    (dre.create_ruleset(name, json.dumps(chunk, ensure_ascii=False, default=_day_numbers)), reads)
                )
            except Exception as e:  # the C module raises plain exceptions with an error code
                raise RulebookError(f"{self._culprit(subject, chunk)}: a condition does not compile: {e}") from None
        return handles

    def _culprit(self, subject: str, chunk: dict[str, Any]) -> str:
        """Where the rule is written whose condition the C module refused (`stations.yaml:
        rules[19] (STN-AREA-TOWNSHIP)`): each engine rule of the chunk is compiled alone."""
        for name, definition in chunk.items():
            try:
                dre.create_ruleset(
                    f"{subject}-probe-{next(_names)}",
                    json.dumps({name: definition}, ensure_ascii=False, default=_day_numbers),
                )
            except Exception:
                rid = name.split("|")[0]
                rule = next((c.rule for c in self._compiled[subject] if c.rule.id == rid), None)
                return (rule.source or rid) if rule else rid
        return f"rules of subject {subject}"

    @property
    def subjects(self) -> list[str]:
        return list(self._compiled)

    def engine_rule_count(self, subject: str) -> int:
        """Distinct durable_rules rules compiled for the subject."""
        return len(self._aliases[subject])

    def fire(self, subject: str, fact: dict[str, Any]) -> set[str]:
        """The names of the engine rules that matched the fact (low level; see evaluate)."""
        aliases = self._aliases[subject]
        fired: set[str] = set()
        for name in self._matched(subject, fact):
            fired |= aliases[name]
        return fired

    def _matched(self, subject: str, fact: dict[str, Any]) -> set[str]:
        """The distinct engine rules that matched (before their aliases are spread)."""
        exponent = check_fact(fact)
        sid = self._sids.take()
        tail = self._tails[subject] + sid + '"}'
        try:
            whole = self._whole.get(subject)
            if whole is not None:
                try:
                    return self._assert(whole[0], _message(fact, whole[1], exponent, tail))
                except _TooManyMatches:
                    pass  # the smaller rulesets each match at most as many as they hold
            matched: set[str] = set()
            for handle, reads in self._handles[subject]:
                matched |= self._assert(handle, _message(fact, reads, exponent, tail))
        finally:
            self._sids.give(sid)
        return matched

    @staticmethod
    def _assert(handle: int, message: str) -> set[str]:
        try:
            code, state = dre.assert_fact(handle, message)
        except Exception as e:  # the C module raises plain errors with a code
            if "error code: 303" not in str(e):
                raise
            dre.retract_fact(handle, message)  # nothing of it stays on the sid
            raise _TooManyMatches from None
        if code == 2:  # a leftover of an interrupted evaluation on this sid
            dre.retract_fact(handle, message)
            code, state = dre.assert_fact(handle, message)
        fired: set[str] = set()
        try:
            if code == 0:
                result = dre.start_action_for_state(handle, state)
                while result:
                    fired.add(_action_rule(result[1]))
                    following = dre.complete_and_start_action(handle, state)
                    result = (None, following) if following else None
            elif code != 1:
                raise RuntimeError(f"durable_rules assert_fact returned {code}")
        finally:
            dre.retract_fact(handle, message)
        return fired

    def evaluate(self, subject: str, fact: dict[str, Any]) -> Firing:
        """Violations in catalogue order and the missing facts applicable rules read."""
        if subject not in self._compiled:
            raise KeyError(f"no rules for subject {subject!r}")
        matched = self._matched(subject, fact)
        aliases, deciders, rules = self._aliases[subject], self._deciders[subject], self._compiled[subject]
        fired: set[str] = set()
        touched: set[int] = set()  # only rules one of whose engine rules matched have anything to decide
        for name in matched:
            fired |= aliases[name]
            touched.update(deciders[name])
        specs = self._missable[subject]
        missing = {name for name in specs if name not in fact}
        violations: list[Violation] = []
        needed: dict[str, tuple[FactSpec, Rule]] = {}
        blocking: set[str] = set()  # missing-fact ids that a rule other than a WARNING waits for
        for i in sorted(touched):  # catalogue order
            compiled = rules[i]
            violation, undecided = compiled.decide(fired, missing)
            if violation:
                violations.append(violation)
            for name in undecided:
                spec = specs[name]
                needed.setdefault(spec.missing_id, (spec, compiled.rule))
                if spec.counted or compiled.severity(fired) != "WARNING":
                    blocking.add(spec.missing_id)
        if not needed:
            return Firing(violations, [])
        order = {name: i for i, name in enumerate(specs)}
        ranked = sorted(needed.values(), key=lambda m: order[m[0].name])
        return Firing(violations, ranked, frozenset(needed) - blocking)
