"""The `ruralpost` command: `serve` runs the service; the other subcommands are its clients."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from ruralpost.clients.cli import add_commands
from ruralpost.service.rulebook import packs as rulebook
from ruralpost.service.ruleset import DEFAULT_RULES_DIR


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def _serve(args: argparse.Namespace) -> int:
    from ruralpost.service.api.auth import AuthFileError
    from ruralpost.service.server import Config, ConfigError, serve, serve_workers

    logging.getLogger().setLevel(args.log_level.upper())
    config = Config(
        listen=args.listen, db=args.db, rules_dir=Path(args.rules), threads=args.threads,
        grace_seconds=args.grace, auth_file=_path(args.auth_file), insecure=args.insecure,
        tls_cert=_path(args.tls_cert), tls_key=_path(args.tls_key), client_ca=_path(args.client_ca),
        max_streams_per_caller=args.max_streams_per_caller, max_stream_items=args.max_stream_items,
        metrics_port=args.metrics_port,
    )
    try:
        if args.workers > 1:
            return serve_workers(config, args.workers)
        serve(config)
    except rulebook.RulebookError as e:
        print(f"ruralpost: the rule set does not load: {e}", file=sys.stderr)
        return 2
    except (ConfigError, AuthFileError, OSError) as e:
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
    s.add_argument("--workers", type=int, default=1, help="pre-forked processes sharing the port (one core each)")
    s.add_argument("--auth-file", help="YAML list of callers {name, token_sha256, role, operator?}")
    s.add_argument("--insecure", action="store_true",
                   help="allow listening beyond loopback without --auth-file (trusted networks only)")
    s.add_argument("--tls-cert", help="PEM certificate chain: serve TLS")
    s.add_argument("--tls-key", help="PEM private key for --tls-cert")
    s.add_argument("--client-ca", help="PEM CA: require client certificates signed by it (mTLS)")
    s.add_argument("--metrics-port", type=int, help="serve Prometheus metrics over HTTP on this port")
    s.add_argument("--max-streams-per-caller", type=int, default=8, help="concurrent streams one caller may hold")
    s.add_argument("--max-stream-items", type=int, default=1_000_000, help="items one stream may carry")
    s.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"],
                   help="debug logs every call as a JSON line with its request id")
    s.set_defaults(run=_serve)
    add_commands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
