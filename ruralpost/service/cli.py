"""`ruralpost serve`: its flags, generated from the settings model (service/config.py), and running it.

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
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

if TYPE_CHECKING:
    from ruralpost.service.config import Config

# `pip install ruralpost` is the client; the server's dependencies come with the `server` extra.
NO_SERVER = (
    "ruralpost serve 需要服务端依赖（缺少 {name}）：pip install 'ruralpost[server]'\n"
    "ruralpost serve needs the server's dependencies ({name} is missing): pip install 'ruralpost[server]'\n"
    "(Python 3.13: durable_rules from the wheelhouse of scripts/build-durable-rules.sh, see README)"
)
SUMMARY = "run the gRPC service (and, with --http-listen, the HTTP door and console)"


def _no_server(name: str) -> int:
    print(NO_SERVER.format(name=name), file=sys.stderr)
    return 2


def _serve(args: argparse.Namespace) -> int:
    """Under --workers with metrics, the workers count in files that the parent sums: their folder
    is set before prometheus_client is imported (it chooses memory or files then), removed at the end."""
    from pydantic import ValidationError

    from ruralpost.service.config import Config, invalid

    given = {name: value for name, value in vars(args).items() if name in Config.model_fields and value is not None}
    try:
        config = Config(**given)  # the flags given, then RURALPOST_* variables, then the defaults
    except ValidationError as e:  # a value from the environment (flags were checked when read)
        print(invalid(e).line(), file=sys.stderr)
        return 2
    summed = config.workers > 1 and config.metrics_listen
    metrics_dir = tempfile.mkdtemp(prefix="ruralpost-metrics-") if summed else None
    if metrics_dir:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        return _run(config)
    finally:
        if metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _run(config: Config) -> int:
    from ruralpost.service.config import StartupError

    try:
        from ruralpost.service.server import serve
        from ruralpost.service.workers import serve_workers
    except ModuleNotFoundError as e:
        if e.name is None or e.name.split(".")[0] == "ruralpost":
            raise
        return _no_server(e.name)

    logging.getLogger().setLevel(config.log_level.upper())
    try:
        if config.workers > 1:
            return serve_workers(config)
        serve(config)
        return 0
    except StartupError as e:
        print(e.line(), file=sys.stderr)
        return 2


def _one_line_error(message: str) -> NoReturn:
    """A refused flag in one line (no usage block), like every other start-up failure."""
    print(f"ruralpost serve: 参数有误，见 ruralpost serve --help | {message}", file=sys.stderr)
    sys.exit(2)


def _typed(name: str, field: Any) -> Any:
    """The flag's value checked as the model checks it (type, range, HOST:PORT) when it is read."""
    from pydantic import TypeAdapter, ValidationError

    kind: Any = Annotated[(field.annotation, *field.metadata)] if field.metadata else field.annotation
    adapter: TypeAdapter[Any] = TypeAdapter(kind)

    def check(value: str) -> Any:
        try:
            return adapter.validate_python(value) if value != "" else None
        except ValidationError as e:
            msg = str(e.errors()[0]["msg"]).removeprefix("Value error, ")
            raise argparse.ArgumentTypeError(msg) from None

    check.__name__ = name
    return check


def _on_loopback(check: Callable[[str], Any]) -> Callable[[str], Any]:
    """--metrics-port P, the older option, is --metrics-listen on loopback."""
    return lambda port: check(f"127.0.0.1:{port}")


def add_serve(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Registers `serve` on `ruralpost`'s parser: one flag per setting, default from the model,
    None unless given (so the environment fills what the command line leaves out)."""
    try:
        from ruralpost.service.config import env_name, flag, settings, shown_default
    except ModuleNotFoundError as e:  # the client alone: `serve` says what to install
        name = e.name or "pydantic_settings"
        s = sub.add_parser("serve", help=SUMMARY, add_help=False, prefix_chars="\0")  # any flags: all words
        s.add_argument("rest", nargs="*")
        s.set_defaults(run=lambda _args: _no_server(name))
        return
    s = sub.add_parser(
        "serve",
        help=SUMMARY,
        description=SUMMARY + ". Every flag can be set in the environment as RURALPOST_<FLAG> "
        "(for example RURALPOST_DB); flags win over the environment.",
    )
    setattr(s, "error", _one_line_error)  # noqa: B010 - this parser only, not the client commands'
    for name, field in settings().items():
        default = shown_default(name)
        help = (field.description or "") + (f" (default {default}; " if default else " (") + env_name(name) + ")"
        common: dict[str, Any] = {"dest": name, "default": None, "help": help.replace("%", "%%")}
        if field.annotation is bool:  # a switch: --insecure sets it, --no-reflection clears it
            on = field.get_default() is True
            s.add_argument(("--no-" if on else "--") + flag(name).removeprefix("--"), action="store_const",
                           const=not on, **common)  # fmt: skip
            continue
        target = s if name != "metrics_listen" else s.add_mutually_exclusive_group()
        check = _typed(name, field)
        target.add_argument(
            flag(name),
            type=check,
            choices=getattr(field.annotation, "__args__", None) if name == "log_level" else None,
            metavar="HOST:PORT" if name.endswith("listen") else flag(name).removeprefix("--").upper().replace("-", "_"),
            **common,
        )
        if name == "metrics_listen":  # the older spelling, kept for existing scripts
            target.add_argument(
                "--metrics-port",
                dest=name,
                type=_on_loopback(check),
                metavar="PORT",
                help="the same as --metrics-listen 127.0.0.1:PORT",
            )
    s.set_defaults(run=_serve)
