"""The server's settings: each defined once here, with its default and help.

`ruralpost serve`'s flags are generated from this model (service/cli.py) and every setting is read
from the environment as RURALPOST_<NAME> too: flags win over the environment, the environment over
the defaults. docs/deploy.md's table of settings is generated from it (`settings_table`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, ValidationError
from pydantic.config import JsonDict
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

# The rule packs ship inside the package (package data), so an installed `ruralpost` finds them.
DEFAULT_RULES_DIR = Path(__file__).resolve().parents[1] / "rules"
ENV_PREFIX = "RURALPOST_"


class StartupError(Exception):
    """A foreseeable reason `serve` cannot start: one line, Chinese then English, saying what to do."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh, self.en = zh, en

    def line(self) -> str:
        return f"ruralpost: {self.zh} | {self.en}"


class ConfigError(StartupError, ValueError):
    """The server would start unsafe or cannot start as configured."""

    def __init__(self, en: str, zh: str = "设置有误，请改正后重启") -> None:
        super().__init__(zh, en)


def host_port(listen: str) -> tuple[str, int]:
    """HOST:PORT as the host to bind and the port: an IPv6 host in brackets, ":PORT" all interfaces
    (0.0.0.0). The one parser of addresses, for the gRPC door, the HTTP door and metrics."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535 or (host and not host.strip("[]")):
        raise ConfigError(f"{listen!r} is not HOST:PORT", f"{listen!r} 不是 主机:端口 的格式（例如 127.0.0.1:50051）")
    return host.removeprefix("[").removesuffix("]") or "0.0.0.0", int(port)


def _checked_address(listen: str) -> str:
    host_port(listen)
    return listen


HostPort = Annotated[str, AfterValidator(_checked_address)]

# A name as a Host header gives it: a DNS name, an IPv4 address, an IPv6 address in brackets, or *.
_HOST_NAME = re.compile(r"\*|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]")


def host_names(listed: str) -> frozenset[str]:
    """The names of a comma-separated list (`--http-allowed-hosts`), in lower case, without ports."""
    return frozenset(name.strip().lower() for name in listed.split(",") if name.strip())


def _checked_hosts(listed: str) -> str:
    for name in host_names(listed):
        if not _HOST_NAME.fullmatch(name):
            raise ConfigError(
                f"{name!r} is not a host name (a name, an address, [IPv6] or *; no port)",
                f"{name!r} 不是主机名（应为域名、地址、[IPv6] 或 *，不带端口）",
            )
    return listed


HostNames = Annotated[str, AfterValidator(_checked_hosts)]


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity: a container's or taskset's share), not the host's."""
    return len(os.sched_getaffinity(0))


def _setting(
    default: Any,
    help: str,
    *,
    flag: str | None = None,
    shown: str | None = None,
    default_factory: Any = None,
    **checks: Any,
) -> Any:
    """A setting: its help and, when it differs from the field's name, its flag (the environment
    variable follows the flag: --grace is RURALPOST_GRACE); `shown`, its default in words."""
    schema = {key: value for key, value in (("flag", flag), ("shown", shown)) if value}
    alias = ENV_PREFIX + flag.removeprefix("--").upper().replace("-", "_") if flag else None
    described: dict[str, Any] = {"description": help, "validation_alias": alias, "json_schema_extra": schema, **checks}
    if default_factory is not None:
        return Field(default_factory=default_factory, **described)
    return Field(default, **described)


NOT_A_SETTING: JsonDict = {"setting": False}


class _EnvOfSettings(EnvSettingsSource):
    """The environment, for settings only (not the fields a test or the server fills in itself)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        if (field.json_schema_extra or {}) == NOT_A_SETTING:
            return None, field_name, False
        return super().get_field_value(field, field_name)


class Config(BaseSettings):
    """How `ruralpost serve` runs; the defaults here are the only ones (the CLI shows them)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, populate_by_name=True, extra="forbid", arbitrary_types_allowed=True
    )

    listen: HostPort = _setting("127.0.0.1:50051", "HOST:PORT of the gRPC door (:PORT: all interfaces)")
    db: str = _setting("var/ruralpost.db", "SQLite file path or postgresql:// URL (the database must exist)")
    rules_dir: Path = _setting(DEFAULT_RULES_DIR, "rule pack folder", flag="--rules", shown="the bundled rules")
    workers: int = _setting(
        None,
        "pre-forked processes sharing the ports, one core each (--workers 1: one process)",
        default_factory=usable_cores,
        shown="the usable cores",
        ge=1,
    )
    threads: int = _setting(16, "threads for gRPC work that may wait: claims, registering, PostgreSQL, reloads")
    grace_seconds: float = _setting(5.0, "seconds to finish calls on stop", flag="--grace")
    auth_file: Path | None = _setting(None, "YAML list of callers {name, token_sha256, role, operator?}")
    insecure: bool = _setting(False, "allow listening beyond loopback without --auth-file (trusted networks only)")
    tls_cert: Path | None = _setting(None, "PEM certificate chain: serve TLS")
    tls_key: Path | None = _setting(None, "PEM private key for --tls-cert")
    client_ca: Path | None = _setting(None, "PEM CA: require client certificates signed by it (mTLS)")
    reflection: bool = _setting(True, "gRPC server reflection (--no-reflection turns it off)")
    max_streams_per_caller: int = _setting(
        8, "concurrent streams one caller may hold (per worker: see docs/deploy.md)", ge=1
    )
    max_stream_items: int = _setting(1_000_000, "items one stream may carry", ge=1)
    metrics_listen: HostPort | None = _setting(
        None, "HOST:PORT: serve Prometheus metrics over HTTP there (under --workers: the sum of all workers)"
    )
    http_listen: HostPort | None = _setting(
        None,
        "HOST:PORT: also serve the API over HTTP (Connect protocol: JSON or protobuf; gRPC-Web) and "
        "the web console at / (off unless given)",
    )
    http_allowed_hosts: HostNames = _setting(
        "",
        "comma-separated Host names the HTTP door answers besides loopback names and the address a "
        "client connected to (* any; others get 421)",
    )
    http_threads: int = _setting(8, "threads for the console's file work (reading uploads, writing results)", ge=1)
    console_dir: Path = _setting(Path("var/console"), "where the console keeps uploads and results for download")
    console_job_hours: float = _setting(24.0, "hours the console keeps a job's results for download", gt=0)
    session_seconds: float = _setting(
        8 * 3600.0, "seconds a console login lasts (a working day; 12 hours at most)", gt=0
    )
    cookie_secure: bool = _setting(
        False, "console cookies Secure even over plain HTTP (TLS ends at a proxy); always Secure over TLS"
    )
    max_upload_bytes: int = _setting(32 * 1024 * 1024, "largest file the console accepts, in bytes", ge=1)
    max_station_rows: int = _setting(20_000, "rows of one console upload (the CLI streams any number)", ge=1)
    log_level: Literal["debug", "info", "warning", "error"] = _setting(
        "info", "debug logs every call as a JSON line with its request id"
    )

    # Not settings: filled in by tests and benchmarks.
    # grpc.GenericRpcHandler objects outside the product API (the benchmark's no-op baselines)
    extra_handlers: list[Any] = Field(default_factory=list, json_schema_extra=NOT_A_SETTING)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments (the flags given), then the environment; no .env or secrets folder."""
        return init_settings, _EnvOfSettings(settings_cls)


def settings() -> dict[str, FieldInfo]:
    """The settings (not the fields tests and the server fill in), in the order they are defined."""
    return {name: f for name, f in Config.model_fields.items() if f.json_schema_extra != NOT_A_SETTING}


def _extra(name: str, key: str) -> str | None:
    extra = settings()[name].json_schema_extra
    value = extra.get(key) if isinstance(extra, dict) else None
    return str(value) if value is not None else None


def flag(name: str) -> str:
    """The flag of a setting as the command line spells it (a switch on by default: its --no- form)."""
    return _extra(name, "flag") or "--" + name.replace("_", "-")


def shown_default(name: str) -> str:
    """A setting's default as help and docs show it ("" when there is none)."""
    shown = _extra(name, "shown")
    if shown is not None:
        return shown
    default = Config.model_fields[name].get_default(call_default_factory=True)
    if isinstance(default, bool):
        return "on" if default else "off"
    return "" if default is None else str(default)


def env_name(name: str) -> str:
    return ENV_PREFIX + flag(name).removeprefix("--").upper().replace("-", "_")


def invalid(error: ValidationError) -> ConfigError:
    """A settings value pydantic refused, as one line naming the flag and its variable."""
    first = error.errors()[0]
    name = str(first["loc"][0]) if first["loc"] else ""
    name = next((n for n in settings() if env_name(n) == name), name)  # read under its variable's name
    where = f"{flag(name)} / {env_name(name)}" if name in settings() else name or "settings"
    msg = str(first["msg"]).removeprefix("Value error, ")
    got = first.get("input")
    value = f" (got {got!r})" if isinstance(got, (str, int, float)) else ""
    return ConfigError(f"{where}: {msg}{value}", f"设置 {where} 的值有误{value}，请改正后重启")
