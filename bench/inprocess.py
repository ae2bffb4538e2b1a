"""`python -m bench.inprocess [--variant TREE ...] [--alternations N]`: figure 8's in-process cost
(`inprocess_us_per_item`), this tree against other source trees in one run.

Each tree runs in a process of its own (its code first on the path), the trees alternating so that
the machine's drift hits all alike; the medians are printed, and this tree's ÷ each other's (the
in-process target: at most 0.5 against the tree before the work was halved). A
tree is a checkout of another commit (`git worktree add` or `git archive | tar -x`), its generated
stubs (`ruralpost/v1`) included.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

_ONE = (
    "import json, sys\n"
    "from bench.load import mix\n"
    "from bench.peer.figures import inprocess\n"
    "print(json.dumps(inprocess(mix(), rounds=int(sys.argv[1]), repeat=int(sys.argv[2]))))\n"
)
HERE = str(Path(__file__).resolve().parent.parent)


def measure(tree: str, rounds: int, repeat: int) -> float:
    """One tree's in-process CPU µs per check, in a fresh process."""
    env = {**os.environ, "PYTHONPATH": tree}
    out = subprocess.run(
        [sys.executable, "-c", _ONE, str(rounds), str(repeat)], cwd=tree, env=env, capture_output=True, text=True
    )
    if out.returncode:
        raise RuntimeError(f"{tree}: {out.stderr.strip()[-2000:]}")
    return float(json.loads(out.stdout.strip().splitlines()[-1])["inprocess_us_per_item"])


def compare(trees: list[str], alternations: int, rounds: int = 3, repeat: int = 10) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {t: [] for t in trees}
    for _ in range(alternations):
        for tree in trees:
            found[tree].append(measure(tree, rounds, repeat))
    return found


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.inprocess")
    p.add_argument("--variant", action="append", default=[], help="another source tree, repeatable")
    p.add_argument("--alternations", type=int, default=5)
    args = p.parse_args(argv)
    trees = [HERE, *(str(Path(v).resolve()) for v in args.variant)]
    print("\n".join(_lines(compare(trees, args.alternations))))
    return 0


def _lines(found: dict[str, list[float]]) -> list[str]:
    """Each tree's median and best run, its runs, and this tree's ÷ the other's of both. The best
    run is the steadier figure where the machine drifts between fast and slow spells."""
    ours, our_best = statistics.median(found[HERE]), min(found[HERE])
    out = []
    for tree, values in found.items():
        median, best = statistics.median(values), min(values)
        runs = ", ".join(f"{v:.0f}" for v in values)
        ratio = "" if tree == HERE else f"   this tree ÷ it: {ours / median:.2f} (best runs: {our_best / best:.2f})"
        name = "this tree" if tree == HERE else tree
        out.append(f"{name:40s} {median:6.0f} µs CPU per check, best {best:.0f} (runs: {runs}){ratio}")
    return out


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
