"""A small evaluator of the same durable_rules conditions, written independently in plain Python.

Two uses: the differential test (durable_rules coerces types and mis-compares long strings; this
evaluator does neither, so the two must agree on the facts we build), and the benchmark's
plain-Python baseline. Conditions are compiled once into closures, as an if-chain would be.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Fact = dict[str, Any]
Test = Callable[[Fact], bool]
_MISSING = object()
_LUA_CLASSES = {"d": r"\d", "a": "[A-Za-z]", "s": r"\s", "w": "[A-Za-z0-9]", "l": "[a-z]", "u": "[A-Z]"}
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "$lt": lambda a, b: a < b,
    "$lte": lambda a, b: a <= b,
    "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b,
    "$neq": lambda a, b: a != b,
}


def lua_to_regex(pattern: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "%" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            out.append(_LUA_CLASSES.get(nxt, re.escape(nxt)))
            i += 2
        elif c == "[":
            j = pattern.index("]", i)
            out.append(pattern[i : j + 1])
            i = j + 1
        else:
            out.append(re.escape(c))
            i += 1
    return re.compile("".join(out))


_ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "$mul": lambda a, b: a * b,
    "$add": lambda a, b: a + b,
    "$sub": lambda a, b: a - b,
    "$div": lambda a, b: a / b,
}


def _value(spec: Any) -> Callable[[Fact], Any]:
    if isinstance(spec, dict) and set(spec) == {"$m"}:
        name = spec["$m"]
        return lambda fact: fact.get(name, _MISSING)
    if isinstance(spec, dict) and len(spec) == 1 and next(iter(spec)) in _ARITHMETIC:
        ((op, operands),) = spec.items()
        left, right, apply = _value(operands["$l"]), _value(operands["$r"]), _ARITHMETIC[op]

        def arithmetic(fact: Fact) -> Any:
            a, b = left(fact), right(fact)
            return _MISSING if a is _MISSING or b is _MISSING else apply(a, b)

        return arithmetic
    return lambda fact: spec


def _item_test(cond: Any) -> Callable[[Any], bool]:
    """An array element test: `{"$i": v}` or `{"$op": {"$i": v}}`."""
    if set(cond) == {"$i"}:
        wanted = cond["$i"]
        return lambda item: bool(item == wanted)
    ((op, inner),) = cond.items()
    compare, operand = _COMPARE[op], inner["$i"]
    return lambda item: compare(item, operand)


def compile_condition(cond: dict[str, Any]) -> Test:
    tests: list[Test] = []
    for key, value in cond.items():
        if key == "$and":
            parts = [compile_condition(c) for c in value]
            tests.append(lambda f, parts=parts: all(p(f) for p in parts))
        elif key == "$or":
            parts = [compile_condition(c) for c in value]
            tests.append(lambda f, parts=parts: any(p(f) for p in parts))
        elif key in ("$ex", "$nex"):
            ((name, _),) = value.items()
            present = key == "$ex"
            tests.append(lambda f, n=name, p=present: (n in f) == p)
        elif key in _COMPARE:
            ((name, spec),) = value.items()
            get, compare = _value(spec), _COMPARE[key]

            def test(
                f: Fact, n: str = name, get: Callable[[Fact], Any] = get, compare: Callable[[Any, Any], bool] = compare
            ) -> bool:
                a, b = f.get(n, _MISSING), get(f)
                return a is not _MISSING and b is not _MISSING and compare(a, b)

            tests.append(test)
        elif key == "$mt":
            ((name, pattern),) = value.items()
            regex = lua_to_regex(pattern)
            tests.append(lambda f, n=name, r=regex: isinstance(f.get(n), str) and r.fullmatch(f[n]) is not None)
        elif key in ("$iany", "$iall"):
            ((name, inner),) = value.items()
            item, every = _item_test(inner), key == "$iall"

            def test_list(f: Fact, n: str = name, item: Callable[[Any], bool] = item, every: bool = every) -> bool:
                values = f.get(n)
                if not isinstance(values, list) or not values:
                    return False
                return all(map(item, values)) if every else any(map(item, values))

            tests.append(test_list)
        elif key.startswith("$"):
            raise ValueError(f"operator {key} not supported by the reference evaluator")
        else:
            get = _value(value)
            tests.append(lambda f, n=key, get=get: n in f and f[n] == get(f) and type(f[n]) is type(get(f)))
    return lambda f: all(t(f) for t in tests)


class ReferenceEngine:
    """Fires the same named rules as service.engine, from the same definitions."""

    def __init__(self, definitions: dict[str, Any]) -> None:
        self.rules = [(name, compile_condition(d["all"][0]["m"])) for name, d in definitions.items()]

    def fire(self, fact: Fact) -> set[str]:
        return {name for name, test in self.rules if test(fact)}
