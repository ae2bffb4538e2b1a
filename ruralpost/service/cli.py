"""`ruralpost serve`: its options (defaults from `Config`, the only place they are set) and running it.

Only the option parsing is imported by the `ruralpost` command; the server is imported when
`serve` runs, so the client commands never load it.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

from ruralpost.service.config import Config, ConfigError, host_port

_DEFAULT = Config()


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


# `pip install ruralpost` is the client; the server's dependencies come with the `server` extra.
NO_SERVER = (
    "ruralpost serve 需要服务端依赖（缺少 {name}）：pip install 'ruralpost[server]'\n"
    "ruralpost serve needs the server's dependencies ({name} is missing): pip install 'ruralpost[server]'\n"
    "(Python 3.13: durable_rules from the wheelhouse of scripts/build-durable-rules.sh, see README)"
)


def _host_port(value: str) -> str:
    """--metrics-listen is checked when the command line is read, not when the server starts."""
    try:
        host_port(value)
    except ConfigError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return value


def _loopback_port(value: str) -> str:
    """--metrics-port P, the older option, is --metrics-listen on loopback."""
    return _host_port(f"127.0.0.1:{value}")


def _serve(args: argparse.Namespace) -> int:
    """Under --workers with metrics, the workers count in files that the parent sums: their folder
    is set before prometheus_client is imported (it chooses memory or files then), removed at the end."""
    metrics_dir = tempfile.mkdtemp(prefix="ruralpost-metrics-") if args.workers > 1 and args.metrics_listen else None
    if metrics_dir:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        return _run(args)
    finally:
        if metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _run(args: argparse.Namespace) -> int:
    try:
        from ruralpost.service.api.auth import AuthFileError
        from ruralpost.service.rulebook.packs import RulebookError
        from ruralpost.service.server import serve
        from ruralpost.service.workers import serve_workers
    except ModuleNotFoundError as e:
        if e.name is None or e.name.split(".")[0] == "ruralpost":
            raise
        print(NO_SERVER.format(name=e.name), file=sys.stderr)
        return 2

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
        metrics_listen=args.metrics_listen,
        http_listen=args.http_listen,
        http_threads=args.http_threads,
        console_dir=Path(args.console_dir),
        cookie_secure=args.cookie_secure,
    )
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
    s.add_argument(
        "--threads",
        type=int,
        default=d.threads,
        help="threads for gRPC work that may wait: claims, registering, PostgreSQL, reloads (default %(default)s)",
    )
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
    m = s.add_mutually_exclusive_group()
    m.add_argument(
        "--metrics-listen",
        type=_host_port,
        metavar="HOST:PORT",
        help="serve Prometheus metrics over HTTP there (under --workers: the sum of all workers)",
    )
    m.add_argument(
        "--metrics-port",
        dest="metrics_listen",
        type=_loopback_port,
        metavar="PORT",
        help="the same as --metrics-listen 127.0.0.1:PORT",
    )
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
        "--cookie-secure",
        action="store_true",
        help="mark console cookies Secure although this door speaks plain HTTP (TLS ends at a proxy); "
        "over TLS they always are",
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
