"""Figure 1 and 6: the engine against a plain-Python evaluation of the same rules; RSS growth."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from ruralpost.service.config import DEFAULT_RULES_DIR
from ruralpost.service.engine import fields_of
from ruralpost.service.ruleset import RuleSet, load_ruleset
from tests.rules.reference_engine import compile_condition

from .stations import station_facts


class PlainRules:
    """The station rules as a plain-Python if-chain: scope, requirement, missing facts."""

    def __init__(self, ruleset: RuleSet) -> None:
        missable = set(ruleset.book.facts["station"])
        self.rules = []
        for rule in ruleset.book.rules_for("station"):
            when = compile_condition({"$and": list(rule.when)}) if rule.when else (lambda f: True)
            require = compile_condition({"$and": list(rule.require)}) if rule.require else None
            reads = sorted((fields_of(list(rule.require or ())) | set(rule.reads)) & missable)
            self.rules.append((rule.id, when, require, reads))

    def violations(self, fact: dict[str, Any]) -> list[str]:
        out = []
        for rid, when, require, reads in self.rules:
            if not when(fact):
                continue
            if any(r not in fact for r in reads):
                out.append(rid + "-MISSING")
            elif require is None or not require(fact):
                out.append(rid)
        return out


def _time_per_item(run: Callable[[dict[str, Any]], object], items: list[dict[str, Any]], repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        for item in items:
            run(item)
    return (time.perf_counter() - start) / (repeat * len(items))


def engine_figures(rounds: int = 7, repeat: int = 40) -> dict[str, float]:
    ruleset = load_ruleset(DEFAULT_RULES_DIR)
    items = station_facts(ruleset)
    plain = PlainRules(ruleset)
    engine_times, plain_times = [], []
    for _ in range(rounds):  # alternate, so drift hits both alike
        engine_times.append(_time_per_item(lambda f: ruleset.engine.evaluate("station", f), items, repeat))
        plain_times.append(_time_per_item(plain.violations, items, repeat))
    engine_us = statistics.median(engine_times) * 1e6
    plain_us = statistics.median(plain_times) * 1e6
    return {"engine_us": engine_us, "plain_us": plain_us, "engine_ratio": plain_us / engine_us}


def _rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def rss_growth(total: int = 1_000_000, early: int = 10_000) -> dict[str, float]:
    """RSS after `total` evaluations against RSS after `early` (run in its own process)."""
    ruleset = load_ruleset(DEFAULT_RULES_DIR)
    items = station_facts(ruleset)
    evaluate = ruleset.engine.evaluate
    n = len(items)
    for i in range(early):
        evaluate("station", items[i % n])
    rss_early = _rss_kib()
    for i in range(total - early):
        evaluate("station", items[i % n])
    rss_late = _rss_kib()
    return {"rss_early_kib": rss_early, "rss_late_kib": rss_late, "rss_growth": rss_late / rss_early}


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(rss_growth(int(sys.argv[1])) if len(sys.argv) > 1 else engine_figures()))
