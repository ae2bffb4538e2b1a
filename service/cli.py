"""The `ruralpost` command: `serve` runs the service; the other subcommands are its clients."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from clients.cli import add_commands

from . import rulebook
from .ruleset import DEFAULT_RULES_DIR


def _serve(args: argparse.Namespace) -> int:
    from .server import Config, serve

    try:
        serve(Config(listen=args.listen, db=args.db, rules_dir=Path(args.rules), threads=args.threads,
                     grace_seconds=args.grace))
    except rulebook.RulebookError as e:
        print(f"ruralpost: the rule set does not load: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"ruralpost: {e}", file=sys.stderr)
        return 2
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ruralpost", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="run the gRPC service")
    s.add_argument("--listen", default="127.0.0.1:50051", help="HOST:PORT (default %(default)s)")
    s.add_argument("--db", default="var/ruralpost.db",
                   help="SQLite file path or postgresql:// URL (default %(default)s)")
    s.add_argument("--rules", default=str(DEFAULT_RULES_DIR), help="rule pack folder (default: bundled)")
    s.add_argument("--threads", type=int, default=16, help="RPC worker threads (default %(default)s)")
    s.add_argument("--grace", type=float, default=5.0, help="seconds to finish calls on stop")
    s.set_defaults(run=_serve)
    add_commands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
