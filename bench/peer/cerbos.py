"""Cerbos, the peer: installed from the npm registry into a cache outside the repository, started
on loopback ports with a disk store, and spoken to over gRPC with message types taken from its own
reflection service (no Cerbos protos or extra packages, so the pinned grpcio/protobuf stay as they are).

`CERBOS_BIN` names a binary to use instead; `RURALPOST_CACHE` (else `XDG_CACHE_HOME`, else ~/.cache)
holds the installed one.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import socket
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import descriptor_pool, message_factory
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

PACKAGE = "@cerbos/cerbos-linux-x64"
VERSION = "0.55.0"
SHA1 = "1258462ce4a0eef714196aa68f292d49c578dd01"  # the registry's `dist.shasum` of that tarball
SERVICE = "cerbos.svc.v1.CerbosService"
CHECK_RESOURCES = f"/{SERVICE}/CheckResources"


class CerbosUnavailable(RuntimeError):
    """The peer cannot run here (no npm, no registry, another platform); the message says why."""


def cache_dir() -> Path:
    root = os.environ.get("RURALPOST_CACHE") or os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "ruralpost" / f"cerbos-{VERSION}"


def cached_binary() -> Path | None:
    """The binary if it is already here (tests use this: they never download)."""
    named = os.environ.get("CERBOS_BIN")
    if named:
        return Path(named) if os.access(named, os.X_OK) else None
    path = cache_dir() / "cerbos"
    return path if os.access(path, os.X_OK) else None


def install(timeout: float = 600) -> Path:
    """The pinned Cerbos binary: from the cache, else `npm pack` of the pinned version (checksum checked)."""
    found = cached_binary()
    if found:
        return found
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        raise CerbosUnavailable(f"{PACKAGE} is built for linux-x64, this is {platform.system()}-{platform.machine()}")
    npm = shutil.which("npm")
    if not npm:
        raise CerbosUnavailable("npm is not installed")
    target = cache_dir()
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target) as tmp:
        try:
            done = subprocess.run(
                [
                    npm,
                    "pack",
                    f"{PACKAGE}@{VERSION}",
                    "--pack-destination",
                    tmp,
                    "--loglevel=error",
                    "--fetch-retries=1",
                ],
                capture_output=True,
                text=True,
                timeout=timeout,
                cwd=tmp,
            )
        except subprocess.TimeoutExpired:
            raise CerbosUnavailable(f"npm pack {PACKAGE}@{VERSION} took over {timeout:.0f} s") from None
        tarballs = list(Path(tmp).glob("*.tgz"))
        if done.returncode != 0 or len(tarballs) != 1:
            said = " / ".join((done.stderr or done.stdout).strip().splitlines()[:3])
            raise CerbosUnavailable(f"npm pack {PACKAGE}@{VERSION} failed: {said[:400]}")
        digest = hashlib.sha1(tarballs[0].read_bytes()).hexdigest()
        if digest != SHA1:
            raise CerbosUnavailable(f"{tarballs[0].name}: sha1 {digest}, expected {SHA1}")
        with tarfile.open(tarballs[0]) as tar:
            try:
                member = tar.extractfile("package/cerbos-linux-x64")
            except KeyError:
                member = None
            if member is None:
                raise CerbosUnavailable(f"{tarballs[0].name} has no package/cerbos-linux-x64")
            staged = Path(tmp) / "cerbos"
            staged.write_bytes(member.read())
        staged.chmod(0o755)
        staged.replace(target / "cerbos")  # atomic: a half-written binary is never found
    return target / "cerbos"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


CONFIG = """\
server:
  httpListenAddr: "127.0.0.1:{http}"
  grpcListenAddr: "127.0.0.1:{grpc}"
storage:
  driver: disk
  disk:
    directory: "{policies}"
    watchForChanges: false
audit:
  enabled: false
telemetry:
  disabled: true
"""


@dataclass
class Server:
    target: str
    pid: int
    log: Path


@contextmanager
def serve(binary: Path, policies: Path, ready_seconds: float = 60) -> Iterator[Server]:
    """A Cerbos PDP on free loopback ports over the policy folder; ready when gRPC health says SERVING."""
    with tempfile.TemporaryDirectory(prefix="cerbos-") as tmp:
        grpc_port, http_port = free_port(), free_port()
        config = Path(tmp) / "config.yaml"
        config.write_text(CONFIG.format(http=http_port, grpc=grpc_port, policies=policies), encoding="utf-8")
        log = Path(tmp) / "cerbos.log"
        env = {**os.environ, "CERBOS_NO_TELEMETRY": "1"}
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [str(binary), "server", f"--config={config}", "--debug-listen-addr=127.0.0.1:0", "--log-level=warn"],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=tmp,
            )
        try:
            target = f"127.0.0.1:{grpc_port}"
            _wait_ready(proc, target, log, ready_seconds)
            yield Server(target, proc.pid, log)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_ready(proc: subprocess.Popen[bytes], target: str, log: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    with grpc.insecure_channel(target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while True:
            if proc.poll() is not None:
                tail = log.read_text(encoding="utf-8", errors="replace")[-1500:]
                raise CerbosUnavailable(f"cerbos exited with {proc.returncode}:\n{tail}")
            try:
                answer = health.Check(health_pb2.HealthCheckRequest(service=SERVICE), timeout=1)
                if answer.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            if time.monotonic() > deadline:
                raise CerbosUnavailable(f"cerbos not serving on {target} after {seconds:.0f} s")
            time.sleep(0.1)


@dataclass
class Messages:
    """CheckResources request and response classes, built from the running server's reflection."""

    request: type[Message]
    response: type[Message]
    pool: descriptor_pool.DescriptorPool  # keeps the descriptors alive


def messages(target: str) -> Messages:
    with grpc.insecure_channel(target) as channel:
        pool = descriptor_pool.DescriptorPool(ProtoReflectionDescriptorDatabase(channel))
        method = pool.FindServiceByName(SERVICE).methods_by_name["CheckResources"]  # type: ignore[no-untyped-call, unused-ignore]
        # every file the two types need is fetched now, while the channel is open
        request = message_factory.GetMessageClass(method.input_type)
        response = message_factory.GetMessageClass(method.output_type)
    return Messages(request, response, pool)


def check_resources(target: str, payloads: list[bytes], response: type[Message]) -> list[Any]:
    """One CheckResources call per pre-serialised request, answers parsed (the agreement check)."""
    with grpc.insecure_channel(target) as channel:
        call = channel.unary_unary(CHECK_RESOURCES, request_serializer=None, response_deserializer=None)
        return [response.FromString(call(p, timeout=30)) for p in payloads]
