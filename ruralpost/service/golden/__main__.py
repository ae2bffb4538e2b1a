"""`python -m ruralpost.service.golden [RULES_DIR]`: runs a rule folder's golden cases, as the
server does before it serves or reloads the folder; exit 0 when all pass, 1 with the problems."""

from __future__ import annotations

import sys
from pathlib import Path

from ruralpost.service.config import DEFAULT_RULES_DIR
from ruralpost.service.golden.cases import run_gate
from ruralpost.service.rulebook.schema import RulebookError
from ruralpost.service.ruleset import load_ruleset


def main(argv: list[str]) -> int:
    folder = Path(argv[0]) if argv else DEFAULT_RULES_DIR
    try:
        passed = run_gate(load_ruleset(folder), folder)
    except RulebookError as e:
        print(f"{folder}: 规则或黄金用例有问题 the rules or golden cases fail: {e}", file=sys.stderr)
        return 1
    print(f"{folder}: {passed} 个黄金用例全部通过 golden cases pass")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
