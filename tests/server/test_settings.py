"""The settings model: flags generated from it, RURALPOST_* variables, precedence, docs kept current."""

from __future__ import annotations

import os
from pathlib import Path

import grpc
import pytest
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from ruralpost.cli import parser
from ruralpost.service import settings_docs
from ruralpost.service.config import Config, host_port, settings, usable_cores
from ruralpost.service.server import running


def test_the_settings_table_in_the_docs_is_current() -> None:
    docs = settings_docs.DOCS.read_text(encoding="utf-8")
    assert docs == settings_docs.rendered(docs), "run: python -m ruralpost.service.settings_docs"


def test_every_setting_has_a_flag_and_help() -> None:
    text = parser()._subparsers._group_actions[0].choices["serve"].format_help()  # type: ignore[union-attr]
    for flag in ["--listen", "--db", "--rules", "--workers", "--threads", "--grace", "--auth-file", "--insecure",
                 "--tls-cert", "--tls-key", "--client-ca", "--no-reflection", "--max-streams-per-caller",
                 "--max-stream-items", "--metrics-listen", "--metrics-port", "--http-listen", "--http-allowed-hosts",
                 "--http-threads", "--console-dir", "--console-job-hours", "--session-seconds", "--cookie-secure",
                 "--max-upload-bytes", "--max-station-rows", "--log-level"]:  # fmt: skip
        assert f"  {flag} " in text or f"  {flag}\n" in text, flag
    assert all(field.description for field in settings().values())


def _config(argv: list[str]) -> Config:
    args = parser().parse_args(["serve", *argv])
    return Config(**{k: v for k, v in vars(args).items() if k in Config.model_fields and v is not None})


def test_flags_win_over_the_environment_and_the_environment_over_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RURALPOST_DB", "postgresql://db.internal/ruralpost")
    monkeypatch.setenv("RURALPOST_GRACE", "12")
    monkeypatch.setenv("RURALPOST_WORKERS", "3")
    monkeypatch.setenv("RURALPOST_REFLECTION", "false")
    monkeypatch.setenv("RURALPOST_MAX_STATION_ROWS", "500")
    config = _config(["--grace", "2"])
    assert config.db == "postgresql://db.internal/ruralpost"
    assert (config.grace_seconds, config.workers, config.reflection, config.max_station_rows) == (2.0, 3, False, 500)
    assert _config(["--workers", "1"]).workers == 1
    monkeypatch.delenv("RURALPOST_WORKERS")
    monkeypatch.delenv("RURALPOST_REFLECTION")
    defaults = _config([])
    assert defaults.workers == usable_cores() == len(os.sched_getaffinity(0))
    assert defaults.reflection is True and defaults.log_level == "info" and defaults.listen == "127.0.0.1:50051"
    assert _config(["--no-reflection"]).reflection is False


@pytest.mark.parametrize(
    ("listen", "host", "port"),
    [(":8080", "0.0.0.0", 8080), ("127.0.0.1:0", "127.0.0.1", 0), ("[::1]:50051", "::1", 50051)],
)
def test_one_host_port_parser_for_every_address(listen: str, host: str, port: int) -> None:
    assert host_port(listen) == (host, port)
    assert _config(["--listen", listen, "--http-listen", listen]).http_listen == listen


def test_no_reflection_turns_server_reflection_off(tmp_path: Path) -> None:
    """Reflection (grpcurl without protos) is on by default; --no-reflection leaves it unregistered."""
    for on in (True, False):
        config = Config(listen="127.0.0.1:0", db=str(tmp_path / f"{on}.db"), reflection=on, grace_seconds=0)
        with running(config) as r, grpc.insecure_channel(f"127.0.0.1:{r.port}") as ch:
            stub = reflection_pb2_grpc.ServerReflectionStub(ch)
            ask = iter([reflection_pb2.ServerReflectionRequest(list_services="")])
            if on:
                assert next(stub.ServerReflectionInfo(ask)).list_services_response.service
            else:
                with pytest.raises(grpc.RpcError) as e:
                    next(stub.ServerReflectionInfo(ask))
                assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED
