"""Listening ports for both doors: a port another process holds is refused, shared only among
our own pre-forked workers.

Linux lets sockets share a port when each sets SO_REUSEPORT (grpcio sets it by default), which
would let a second server start on a port in use and answer half the calls. So a port is first
bound without it, which fails while anyone holds the port; only then do our workers join it.
"""

from __future__ import annotations

import errno
import socket

from ruralpost.service.config import StartupError, host_port


class PortInUse(StartupError):
    """Another process listens on the port (or the address is not this machine's)."""

    def __init__(self, listen: str, door: str, reason: str) -> None:
        port = listen.rpartition(":")[2]
        if reason == "in use":
            super().__init__(
                f"端口 {port} 已被其他程序占用（{door}，{listen}）："
                f"请停掉占用它的程序（ss -ltnp 'sport = :{port}' 可查）或换一个端口",
                f"port {port} is in use by another process ({door}, {listen}): stop it "
                f"(ss -ltnp 'sport = :{port}' shows which) or choose another port",
            )
        else:
            super().__init__(
                f"无法在 {listen} 上监听（{door}）：{reason}；请检查主机地址是否属于本机",
                f"cannot listen on {listen} ({door}): {reason}; check that the host address is this machine's",
            )


def address(listen: str) -> str:
    """HOST:PORT as gRPC reads it (":PORT" becomes all interfaces, an IPv6 host in brackets)."""
    host, port = host_port(listen)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def with_port(listen: str, port: int) -> str:
    """The address with the port the kernel chose for port 0."""
    host, _ = host_port(listen)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def bind(listen: str, door: str, *, hold: bool = False, join: bool = False) -> socket.socket:
    """A socket bound to `listen` (not yet listening).

    Alone (the default) nobody may share the port. `hold`: the parent of pre-forked workers binds
    alone, then allows sharing, so its workers can `join` (SO_REUSEPORT set before binding)."""
    host, port = host_port(listen)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if join:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise PortInUse(listen, door, "in use" if e.errno == errno.EADDRINUSE else str(e.strerror)) from None
    if hold:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    return sock


def check_free(listen: str, door: str) -> None:
    """Refuses a port someone holds, before a library binds it itself (grpcio)."""
    bind(listen, door).close()
