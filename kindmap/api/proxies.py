"""Who the client is: the connecting address, or, behind trusted reverse proxies, the address
they forwarded.

``X-Forwarded-For`` is a header anyone can send, so it is believed only from the proxies named in
``KINDMAP_TRUSTED_PROXIES`` (none by default). Each proxy appends the address it saw, so the
chain is read from the right, skipping our own proxies; the first address that is not one of
them is the client (anything left of it was written by the client and is ignored). uvicorn gets
the same list (``api/server.py``), and the rule here is uvicorn's, so the two always agree.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedProxies:
    """The reverse proxies whose forwarded headers are believed (from the comma-separated setting)."""

    def __init__(self, setting: str) -> None:
        entries = [item.strip() for item in (setting or "").split(",") if item.strip()]
        # Settings checked the entries; a copy made without validation still fails loudly here.
        self.networks: tuple[Network, ...] = tuple(ipaddress.ip_network(item, strict=False) for item in entries)
        self.entries = [str(net) for net in self.networks]
        self.trusts = lru_cache(maxsize=4096)(self._trusts)

    def __bool__(self) -> bool:
        return bool(self.networks)

    def _trusts(self, host: str | None) -> bool:
        try:
            address = ipaddress.ip_address(host or "")
        except ValueError:
            return False  # unix sockets, test clients, garbage: never a proxy of ours
        return any(address in net for net in self.networks)

    def client(self, peer: str | None, forwarded_for: list[str]) -> str | None:
        """The client address: ``peer`` unless it is a trusted proxy that forwarded a chain."""
        if not self.trusts(peer):
            return peer
        chain = [_host(item) for value in forwarded_for for item in value.split(",")]
        chain = [host for host in chain if host]
        if not chain:
            return peer
        for host in reversed(chain):
            if not self.trusts(host):
                return host
        return chain[0]  # every hop is one of ours: the request began at one of our own hosts


def _host(item: str) -> str:
    """The address of one X-Forwarded-For entry, without any port (``[::1]:80``, ``1.2.3.4:80``)."""
    item = item.strip()
    if item.startswith("["):
        return item[1:item.find("]")] if "]" in item else item
    return item.rsplit(":", 1)[0] if item.count(":") == 1 else item


class ForwardedClient:
    """ASGI middleware: behind a trusted proxy, set the request's client address (and scheme, from
    ``X-Forwarded-Proto``) to what the proxy forwarded. Installed only when proxies are configured."""

    def __init__(self, app: ASGIApp, *, proxies: TrustedProxies) -> None:
        self.app = app
        self.proxies = proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            peer = scope.get("client")
            if peer and self.proxies.trusts(peer[0]):
                forwarded, proto = [], None
                for name, value in scope.get("headers") or ():
                    if name == b"x-forwarded-for":
                        forwarded.append(value.decode("latin-1"))
                    elif name == b"x-forwarded-proto":
                        proto = value.decode("latin-1").strip().lower()
                host = self.proxies.client(peer[0], forwarded)
                if host != peer[0]:
                    scope["client"] = (host, 0)
                if proto in ("http", "https") and scope["type"] == "http":
                    scope["scheme"] = proto
        await self.app(scope, receive, send)
