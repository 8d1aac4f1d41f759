"""The test suite's network guard: no connection, and no name lookup, off this machine.

``socket.socket.connect`` (which ``socket.create_connection``, urllib3 and botocore go through)
refuses any address that is not loopback or a local socket, and ``socket.getaddrinfo`` any name
but ``localhost`` (a DNS query leaves the machine too), so an escape fails the test that made it
instead of going unnoticed. The root ``conftest.py`` installs it in the pytest process (and so in
every xdist worker) and puts this folder on ``PYTHONPATH``, where Python started by a test (a
script, ``pytester``'s subprocess) imports it as ``sitecustomize`` before anything else.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

_CONNECT = socket.socket.connect
_CONNECT_EX = socket.socket.connect_ex
_GETADDRINFO = socket.getaddrinfo


class NetworkEscape(OSError):
    """A test tried to connect to a host off this machine."""


def _local(host: Any) -> bool:
    if host is None or host == "localhost":
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _check(sock: socket.socket, address: Any) -> None:
    if sock.family in (socket.AF_INET, socket.AF_INET6) and not _local(address[0]):
        raise NetworkEscape(f"test tried to connect to {address!r}: nothing may leave the machine")


def _getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if isinstance(host, bytes):
        host = host.decode()
    if not _local(host):
        raise NetworkEscape(f"test tried to resolve {host!r}: nothing may leave the machine")
    return _GETADDRINFO(host, *args, **kwargs)


def _connect(self: socket.socket, address: Any) -> None:
    _check(self, address)
    _CONNECT(self, address)


def _connect_ex(self: socket.socket, address: Any) -> int:
    _check(self, address)
    return _CONNECT_EX(self, address)


def install() -> None:
    """Patch ``socket`` (once: the conftest and ``sitecustomize`` may both ask)."""
    if getattr(socket.socket.connect, "network_guard", False):
        return
    _connect.network_guard = True  # type: ignore[attr-defined]
    socket.socket.connect = _connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = _getaddrinfo


install()
