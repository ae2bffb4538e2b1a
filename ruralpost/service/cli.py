"""`ruralpost serve`: its options (defaults from `Config`, the only place they are set) and running it.

Only the option parsing is imported by the `ruralpost` command; the server is imported when
`serve` runs, so the client commands never load it.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from ruralpost.service.config import Config

_DEFAULT = Config()


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def _serve(args: argparse.Namespace) -> int:
    from ruralpost.service.api.auth import AuthFileError
    from ruralpost.service.config import ConfigError
    from ruralpost.service.rulebook.packs import RulebookError
    from ruralpost.service.server import serve
    from ruralpost.service.workers import serve_workers

    logging.getLogger().setLevel(args.log_level.upper())
    config = Config(
        listen=args.listen,
        db=args.db,
        rules_dir=Path(args.rules),
        threads=args.threads,
        grace_seconds=args.grace,
        auth_file=_path(args.auth_file),
        insecure=args.insecure,
        tls_cert=_path(args.tls_cert),
        tls_key=_path(args.tls_key),
        client_ca=_path(args.client_ca),
        max_streams_per_caller=args.max_streams_per_caller,
        max_stream_items=args.max_stream_items,
        metrics_port=args.metrics_port,
        http_listen=args.http_listen,
        http_threads=args.http_threads,
        console_dir=Path(args.console_dir),
    )
    if args.console_key_file:
        try:
            config.session_secret = Path(args.console_key_file).read_bytes()
        except OSError as e:
            print(f"ruralpost: --console-key-file: {e}", file=sys.stderr)
            return 2
        if len(config.session_secret) < 32:
            print("ruralpost: --console-key-file: at least 32 bytes of secret expected", file=sys.stderr)
            return 2
    try:
        if args.workers > 1:
            return serve_workers(config, args.workers)
        serve(config)
    except RulebookError as e:
        print(f"ruralpost: the rule set does not load: {e}", file=sys.stderr)
        return 2
    except (ConfigError, AuthFileError, OSError) as e:
        print(f"ruralpost: {e}", file=sys.stderr)
        return 2
    return 0


def add_serve(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Registers `serve` on `ruralpost`'s parser."""
    d = _DEFAULT
    s = sub.add_parser("serve", help="run the gRPC service (and, with --http-listen, the HTTP door and console)")
    s.add_argument("--listen", default=d.listen, help="HOST:PORT (default %(default)s)")
    s.add_argument("--db", default=d.db, help="SQLite file path or postgresql:// URL (default %(default)s)")
    s.add_argument("--rules", default=str(d.rules_dir), help="rule pack folder (default: bundled)")
    s.add_argument("--threads", type=int, default=d.threads, help="RPC worker threads (default %(default)s)")
    s.add_argument("--grace", type=float, default=d.grace_seconds, help="seconds to finish calls on stop")
    s.add_argument("--workers", type=int, default=1, help="pre-forked processes sharing the port (one core each)")
    s.add_argument("--auth-file", help="YAML list of callers {name, token_sha256, role, operator?}")
    s.add_argument(
        "--insecure",
        action="store_true",
        help="allow listening beyond loopback without --auth-file (trusted networks only)",
    )
    s.add_argument("--tls-cert", help="PEM certificate chain: serve TLS")
    s.add_argument("--tls-key", help="PEM private key for --tls-cert")
    s.add_argument("--client-ca", help="PEM CA: require client certificates signed by it (mTLS)")
    s.add_argument("--metrics-port", type=int, help="serve Prometheus metrics over HTTP on this port")
    s.add_argument(
        "--http-listen",
        help="HOST:PORT: also serve the API over HTTP (Connect protocol: JSON or protobuf; gRPC-Web) and "
        "the web console at / (off unless given)",
    )
    s.add_argument("--http-threads", type=int, default=d.http_threads, help="HTTP worker threads (default %(default)s)")
    s.add_argument(
        "--console-dir",
        default=str(d.console_dir),
        help="where the console keeps uploads and results for download (default %(default)s)",
    )
    s.add_argument(
        "--console-key-file",
        help="a secret (32+ bytes) that signs console logins, shared by replicas behind one load balancer "
        "(default: a new one per start, shared by --workers)",
    )
    s.add_argument(
        "--max-streams-per-caller",
        type=int,
        default=d.max_streams_per_caller,
        help="concurrent streams one caller may hold (default %(default)s)",
    )
    s.add_argument(
        "--max-stream-items",
        type=int,
        default=d.max_stream_items,
        help="items one stream may carry (default %(default)s)",
    )
    s.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="debug logs every call as a JSON line with its request id",
    )
    s.set_defaults(run=_serve)
