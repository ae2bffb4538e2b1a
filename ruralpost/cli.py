"""The `ruralpost` command: `serve` runs the service; check, claim, progress, rules, template, data
and signcode are its clients, and never load the server."""

from __future__ import annotations

import argparse
import logging
import sys

from ruralpost.clients.cli.commands import add_commands
from ruralpost.service.cli import add_serve


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ruralpost", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    add_serve(sub)
    add_commands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
