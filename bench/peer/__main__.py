"""`python -m bench.peer [--quick] [--rounds N] [--seconds S] [--workers N ...]`: figures 7 and 8 alone.

`--check` only checks agreement (Cerbos's DENYs against our violations on the 52 stations);
`--policy DIR` writes the generated policy there and exits (no Cerbos needed).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ruralpost.service.config import DEFAULT_RULES_DIR
from ruralpost.service.ruleset import load_ruleset

from ..load import mix
from . import agree, cerbos, figures
from .policy import write_policy


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.peer")
    p.add_argument("--quick", action="store_true", help="2 rounds of 2 s instead of 5 of 5 s")
    p.add_argument("--rounds", type=int)
    p.add_argument("--seconds", type=float)
    p.add_argument(
        "--workers",
        type=int,
        action="append",
        help="more of our servers with N workers (default: 1, beside the default serve)",
    )
    p.add_argument("--check", action="store_true", help="only the agreement check")
    p.add_argument("--policy", type=Path, metavar="DIR", help="write the generated policy to DIR and exit")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the figures as JSON")
    args = p.parse_args(argv)
    ruleset = load_ruleset(DEFAULT_RULES_DIR)
    if args.policy:
        print(write_policy(args.policy, ruleset.book.rules_for("station"), set(ruleset.book.facts["station"])))
        return 0
    try:
        if args.check:
            try:
                with agree.peer(ruleset) as peer:
                    found = agree.stations(ruleset, mix())
                    agree.check(peer, found)
            except cerbos.CerbosUnavailable as e:
                print(f"peer skipped: {e}")
                return 0
            print(f"Cerbos {cerbos.VERSION} agrees with our verdicts on all {len(found)} stations")
            return 0
        print(f"7-8. peer and cost: ruralpost vs Cerbos {cerbos.VERSION}, same client, same cores", flush=True)
        f = figures.run(args.quick, args.rounds, args.seconds, tuple(args.workers or (1,)))
    except agree.Disagreement as e:
        print(f"FAILED: {e}", file=sys.stderr)
        return 1
    figures.report(f)
    figures.report_cost(f)
    if args.json:
        args.json.write_text(json.dumps(f, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
