"""Incident notifications as a JSON POST to a configured URL, with a timeout and retries.

Retries follow connection errors, timeouts and 5xx answers, with doubling pauses; a 4xx answer
is the receiver refusing the message and is not retried. The URL is never logged in full (it
often carries a token), only its scheme and host.

**Where a webhook may point.** A URL from configuration must not turn Keel into a proxy to the
machine's own services (server-side request forgery). Unless ``allow_networks`` names them,
these destinations are refused: loopback (``127.0.0.0/8``, ``::1``), link-local
(``169.254.0.0/16``, ``fe80::/10``), the unspecified address (``0.0.0.0``, ``::``) and cloud
metadata services (``169.254.169.254``, ``fd00:ec2::254``, ``100.100.100.200``,
``metadata.google.internal``). The check is made on every address the host name resolves to at
send time, and the connection goes to the address that was checked (a name that resolves again
to something else in between, DNS rebinding, changes nothing); TLS still verifies the name.
Redirects are followed only when they keep the method (307, 308), at most three, and each
target is checked the same way; any other redirect is reported, not followed.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import orjson

from keel.errors import ConfigError, PolicyViolation

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

FIELD = "monitoring.notify.webhook"
METADATA_NAMES = frozenset({"metadata.google.internal", "metadata", "metadata.azure.internal"})
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
MAX_REDIRECTS = 3
HINT = "if this destination is intended, list its network in monitoring.notify.allow_networks"


class Refused(PolicyViolation):
    """A destination the webhook must not reach (the reason says which rule)."""


@dataclass(frozen=True)
class Delivery:
    delivered: bool
    attempts: int
    status: int | None
    error: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "delivered": self.delivered,
            "attempts": self.attempts,
            "status": self.status,
            "error": self.error,
        }


def forbidden(address: Address) -> str | None:
    """Why a webhook may not connect to ``address`` by default, or None."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_unspecified:
        return "the unspecified address"
    return None


def parse_networks(values: Sequence[str], path: str) -> tuple[Network, ...]:
    """``allow_networks`` as networks; a bad entry is a ``ConfigError`` naming it."""
    found = []
    for i, value in enumerate(values):
        try:
            found.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise ConfigError(
                f"expected an address or network such as 127.0.0.1/32, got {value!r}",
                path=f"{path}[{i}]",
            ) from None
    return tuple(found)


@dataclass(frozen=True)
class Webhook:
    url: str
    timeout_seconds: float = 5.0
    retries: int = 3
    pause_seconds: float = 0.5
    allow_networks: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError("must be an http(s) URL", path=FIELD)
        try:
            parts.port  # noqa: B018 - raises on a port out of range
        except ValueError:
            raise ConfigError("the port is not a number from 0 to 65535", path=FIELD) from None
        allowed = parse_networks(self.allow_networks, "monitoring.notify.allow_networks")
        try:  # a literal address or a metadata name is refused when the project opens
            _literal_check(parts.hostname, allowed)
        except Refused as refused:
            raise ConfigError(f"refused: {refused}", path=FIELD, hint=HINT) from None

    @property
    def shown(self) -> str:
        """The URL without path, query or credentials: safe for logs and audit details."""
        return _shown(self.url)

    def send(self, payload: dict[str, Any]) -> Delivery:
        """POST ``payload``; up to ``1 + retries`` attempts, each bounded by the timeout."""
        body = orjson.dumps(payload, default=str)
        error: str | None = None
        status: int | None = None
        pause = self.pause_seconds
        for attempt in range(1, self.retries + 2):
            try:
                status = self._post(body)
            except Refused as refused:  # a destination never becomes allowed by retrying
                return Delivery(False, attempt, None, f"refused: {refused}")
            except (TimeoutError, OSError, http.client.HTTPException) as failed:
                status, error = None, f"{type(failed).__name__}: {failed}"
            else:
                if 200 <= status < 300:
                    return Delivery(True, attempt, status, None)
                error = f"HTTP {status}"
                if 300 <= status < 400:
                    error += f": redirect not followed (only 307 and 308, at most {MAX_REDIRECTS})"
                if status < 500:
                    return Delivery(False, attempt, status, error)
            if attempt <= self.retries:
                time.sleep(pause)
                pause *= 2
        return Delivery(False, self.retries + 1, status, error)

    def _post(self, body: bytes) -> int:
        """One delivery attempt (following 307/308 redirects); the final status."""
        allowed = parse_networks(self.allow_networks, "monitoring.notify.allow_networks")
        url = self.url
        for _ in range(MAX_REDIRECTS + 1):
            status, location = _post_once(url, body, self.timeout_seconds, allowed)
            if status not in (307, 308) or not location:
                return status
            url = urljoin(url, location)
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise Refused(f"a redirect to a non-http(s) URL ({parts.scheme or 'none'})")
        return status


def shown_url(url: str) -> str:
    """``url`` without path, query or credentials: safe for logs and audit details."""
    try:
        return _shown(url)
    except ValueError:  # a port out of range
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.hostname}"


def _shown(url: str) -> str:
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def _literal_check(host: str, allowed: Sequence[Network]) -> None:
    """Refuse a metadata name, or a literal address that is forbidden and not allowed."""
    name = host.rstrip(".").lower()
    if name in METADATA_NAMES:
        raise Refused(f"{name} is a cloud metadata service")
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return
    _check_address(host, address, allowed)


def _check_address(host: str, address: Address, allowed: Sequence[Network]) -> None:
    why = forbidden(address)
    if why is not None and not any(address in network for network in allowed):
        shown = host if host == str(address) else f"{host} resolves to {address}, which"
        raise Refused(f"{shown} is {why}")


def _resolve(host: str, port: int, allowed: Sequence[Network]) -> list[Address]:
    """Every address ``host`` resolves to, each checked; refused if any one is forbidden."""
    _literal_check(host, allowed)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise OSError(f"cannot resolve {host}: {error.strerror}") from None
    addresses: list[Address] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        _check_address(host, address, allowed)
        if address not in addresses:
            addresses.append(address)
    return addresses


def _post_once(
    url: str, body: bytes, timeout: float, allowed: Sequence[Network]
) -> tuple[int, str | None]:
    """POST to ``url`` on an address checked first; the status and any ``Location``."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    addresses = _resolve(host, port, allowed)
    target = parts.path or "/"
    if parts.query:
        target += f"?{parts.query}"
    last: OSError | None = None
    for address in addresses:
        connection = _connection(host, port, str(address), secure, timeout)
        try:
            connection.request(
                "POST",
                target,
                body=body,
                headers={"content-type": "application/json", "user-agent": "keel-monitor"},
            )
            answer = connection.getresponse()
            answer.read(65536)
            return answer.status, answer.getheader("location")
        except OSError as error:
            last = error
        finally:
            connection.close()
    raise last or OSError(f"no address for {host}")


def _connection(
    host: str, port: int, address: str, secure: bool, timeout: float
) -> http.client.HTTPConnection:
    """A connection to ``address`` that speaks to ``host`` (Host header, TLS name)."""
    if secure:
        return _PinnedHTTPS(host, port, address, timeout)
    return _PinnedHTTP(host, port, address, timeout)


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self.address = address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]
