"""What may reach the gateway at all, checked before any route runs, on every transport (the raw
``POST /v1/responses`` endpoint, Starlette's routes and WebSocket upgrades alike).

- ``Host`` must name the gateway (``server.allowed_hosts``; default: the loopback names and the bound
  address, any port). Anything else answers **400** ``invalid_host``, as Starlette's
  ``TrustedHostMiddleware`` and Django do: it defeats DNS rebinding, where a web page's own name resolves
  to 127.0.0.1 and the browser sends that name as ``Host``.
- A WebSocket upgrade with an ``Origin`` (browsers always send one) is refused with 403 before it is
  accepted unless that origin is in ``server.allowed_origins`` (default: none). SDKs send no ``Origin``.

The per-request cost is one header scan and a set lookup on bytes.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from .errors import InvalidRequestError

logger = logging.getLogger("gateway")

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
_WILDCARD_ADDRESSES = frozenset({"0.0.0.0", "::", ""})
_INVALID_HOST = InvalidRequestError(
    "this Host is not served here: add it to server.allowed_hosts if it names this gateway", code="invalid_host"
)


_KNOWN_HOSTS = 64
"""``Host`` values whose verdict is remembered (client-chosen: bounded)."""


def host_name(value: bytes) -> bytes:
    """The host of a ``Host`` header value, lowercased and without its port (``[::1]:8080`` -> ``[::1]``)."""
    value = value.strip().lower()
    if value.startswith(b"["):
        end = value.find(b"]")
        return value[: end + 1] if end != -1 else value
    return value.split(b":", 1)[0]


def default_allowed_hosts(bound: str) -> list[str]:
    """The loopback names plus the bound address (when it is one address, not a wildcard)."""
    hosts = list(LOOPBACK_HOSTS)
    if bound not in _WILDCARD_ADDRESSES:
        try:
            hosts.append(f"[{bound}]" if ipaddress.ip_address(bound).version == 6 else bound)
        except ValueError:  # a host name
            hosts.append(bound)
    return hosts


def is_loopback(bound: str) -> bool:
    """Whether the listen address only accepts connections from this machine."""
    if bound == "localhost":
        return True
    try:
        return ipaddress.ip_address(bound).is_loopback
    except ValueError:
        return False


class EdgeGuard:
    """Checks ``Host`` (HTTP and WebSocket) and a WebSocket's ``Origin``; built once at startup.

    ``allowed_hosts`` entries are names (any port), ``*.example.com`` for a domain's subdomains, or ``*``
    for any host. ``allowed_origins`` entries are whole origins (``https://app.example``) or ``*``.
    """

    def __init__(self, allowed_hosts: list[str], allowed_origins: list[str]) -> None:
        names = [host.strip().lower() for host in allowed_hosts]
        self.any_host = "*" in names
        self.hosts = frozenset(name.encode() for name in names if not name.startswith("*"))
        self.suffixes = tuple(name[1:].encode() for name in names if name.startswith("*."))
        origins = [origin.strip().rstrip("/").lower() for origin in allowed_origins]
        self.any_origin = "*" in origins
        self.origins = frozenset(origin.encode() for origin in origins)
        self._verdicts: dict[bytes, bool] = {}

    def host_allowed(self, headers: list[tuple[bytes, bytes]]) -> bool:
        """Whether the request's ``Host`` names this gateway (a missing ``Host`` does not). The verdicts on
        the first :data:`_KNOWN_HOSTS` values seen are kept (clients send one or two), so most requests
        cost a dictionary lookup."""
        if self.any_host:
            return True
        for name, value in headers:
            if name == b"host":
                verdict = self._verdicts.get(value)
                if verdict is None:
                    host = host_name(value)
                    verdict = host in self.hosts or (bool(self.suffixes) and host.endswith(self.suffixes))
                    if len(self._verdicts) < _KNOWN_HOSTS:
                        self._verdicts[value] = verdict
                return verdict
        return False

    def origin_allowed(self, headers: list[tuple[bytes, bytes]]) -> bool:
        """Whether a WebSocket upgrade may proceed: no ``Origin``, or an allowed one."""
        for name, value in headers:
            if name == b"origin":
                return self.any_origin or value.strip().rstrip(b"/").lower() in self.origins
        return True

    def upgrade_allowed(self, headers: list[tuple[bytes, bytes]]) -> bool:
        """Whether a WebSocket upgrade may be accepted (``Host`` and ``Origin``)."""
        return self.host_allowed(headers) and self.origin_allowed(headers)

    @staticmethod
    async def refuse_host(send: Any) -> None:
        """Answer an HTTP request whose ``Host`` is not served here (400 ``invalid_host``)."""
        logger.info("refused with 400 invalid_host: the Host header does not name this gateway")
        body = _INVALID_HOST.to_json()
        await send({"type": "http.response.start", "status": _INVALID_HOST.status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    async def refuse_upgrade(receive: Any, send: Any) -> None:
        """Refuse a WebSocket upgrade before accepting it (the server answers 403)."""
        logger.info("WebSocket upgrade refused: its Host or Origin is not allowed")
        await receive()  # websocket.connect
        await send({"type": "websocket.close", "code": 1008})
