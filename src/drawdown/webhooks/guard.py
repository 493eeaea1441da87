"""The SSRF guard: webhook URLs must be http(s) and must not resolve to loopback, private,
link-local, multicast or reserved addresses, unless the operator allows private targets
(``DRAWDOWN_WEBHOOK_ALLOW_PRIVATE=true``; tests do, since their receivers are on 127.0.0.1).
Checked when an endpoint is saved and again before every attempt (DNS may change)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

__all__ = ["UnsafeUrl", "check_url"]


class UnsafeUrl(ValueError):
    """The URL is not one drawdown will deliver to; the message says why."""


def _addresses(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnsafeUrl(f"host {host!r} does not resolve") from None
    return [ipaddress.ip_address(info[4][0]) for info in infos]


def _private(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def check_url(url: str, *, allow_private: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeUrl("must be an http:// or https:// URL")
    if not parts.hostname:
        raise UnsafeUrl("must name a host")
    if parts.username or parts.password:
        raise UnsafeUrl("must not carry credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeUrl("has an invalid port") from None
    if allow_private:
        return
    for address in _addresses(parts.hostname, port):
        if _private(address):
            raise UnsafeUrl(
                f"resolves to {address}, a private, loopback or link-local address "
                "(set DRAWDOWN_WEBHOOK_ALLOW_PRIVATE=true to allow it)"
            )
