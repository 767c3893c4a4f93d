"""Run the app under uvicorn, with one or several worker processes.

With ``workers > 1`` uvicorn binds the listening socket itself as ``socket.socket(family)``,
whose protocol number is 0; asyncio only turns on ``TCP_NODELAY`` for sockets whose protocol
is ``IPPROTO_TCP``, so every accepted connection kept Nagle's algorithm. uvicorn writes the
headers and the body of a response separately, so each response then waited for the client's
delayed ACK: a flat ~40–48 ms per request (measured in benchmarks/bench_load.py). The protocol
classes below set ``TCP_NODELAY`` on every connection, whatever socket it came from.

They also cap the request line plus headers at ``MAX_HEAD_BYTES``: llhttp (httptools) has no limit
of its own and uvicorn sets none, so a 32 MB header was read and held whole. Past the cap the
server answers 431 and closes the connection before the application sees anything. h11 (the
fallback parser) is given the same cap through ``h11_max_incomplete_event_size`` (it answers 400).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol

try:  # httptools is the faster parser; h11 is the pure-Python fallback
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover - httptools is a dependency, but keep serving without it
    HttpToolsProtocol = None


def no_delay(transport: asyncio.BaseTransport) -> None:
    """Send small writes at once (no Nagle) on a TCP connection."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:  # the peer may already be gone
            pass


class NoDelayH11Protocol(H11Protocol):
    def connection_made(self, transport):  # type: ignore[override]
        no_delay(transport)
        super().connection_made(transport)


MAX_HEAD_BYTES = 16 * 1024  # as Node.js; far above real browsers' requests (cookies included)
_TOO_LARGE = json.dumps({"detail": f"the request's headers are over {MAX_HEAD_BYTES // 1024} KiB; send fewer "
                                   "or shorter headers (clear this site's cookies)"}).encode()
HEAD_TOO_LARGE = (b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
                  b"content-length: " + str(len(_TOO_LARGE)).encode() + b"\r\nconnection: close\r\n\r\n" + _TOO_LARGE)


if HttpToolsProtocol is not None:
    class NoDelayHttpToolsProtocol(HttpToolsProtocol):
        """httptools with ``TCP_NODELAY`` and at most ``MAX_HEAD_BYTES`` of request line and headers
        (counted as they arrive; bytes of a pipelined request that share a read with the previous
        one count from its next read, so a head is held to at most a read more than the cap)."""

        _in_head = True  # reading a request line and headers (not a body)
        _head_bytes = 0

        def connection_made(self, transport):  # type: ignore[override]
            no_delay(transport)
            super().connection_made(transport)

        def data_received(self, data: bytes) -> None:
            while data and not self.transport.is_closing():
                if not self._in_head:
                    super().data_received(data)
                    return
                room = MAX_HEAD_BYTES - self._head_bytes
                if room <= 0:
                    self._refuse_head()
                    return
                piece, data = data[:room], data[room:]  # never more than the cap allows into the parser
                self._head_bytes += len(piece)
                super().data_received(piece)

        def on_headers_complete(self) -> None:
            self._in_head = False
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._in_head, self._head_bytes = True, 0

        def _refuse_head(self) -> None:
            logging.getLogger("uvicorn.error").warning("Request headers over %d KiB refused.", MAX_HEAD_BYTES // 1024)
            self.transport.write(HEAD_TOO_LARGE)
            self.transport.close()

    HTTP_PROTOCOL: type[asyncio.Protocol] = NoDelayHttpToolsProtocol
else:  # pragma: no cover
    HTTP_PROTOCOL = NoDelayH11Protocol


def run(*, host: str, port: int, workers: int, demo: bool, settings=None, log_config: dict | None = None) -> None:
    """Serve until interrupted. One worker serves the app built here; several import
    ``kindmap.api.asgi:app`` in each worker process (settings come from the environment).

    Logging follows ``settings.log_format`` / ``log_level`` (``kindmap.logs.uvicorn_log_config``)
    unless ``log_config`` is given; uvicorn applies it in every worker process."""
    import uvicorn

    from kindmap.api.proxies import TrustedProxies
    from kindmap.config import get_settings
    from kindmap.logs import uvicorn_log_config

    # log_level=None: the levels come from log_config alone. access_log=False: uvicorn's access log
    # prints concrete paths and queries; kindmap.access (api/security.py) logs route templates.
    options = dict(host=host, port=port, access_log=False, log_level=None, http=HTTP_PROTOCOL, ws="none",
                   h11_max_incomplete_event_size=MAX_HEAD_BYTES, log_config=log_config or uvicorn_log_config(settings or get_settings()))
    # uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise, so anything on this host
    # could name its own client address and step round the rate limits: trust only the proxies named
    # in KINDMAP_TRUSTED_PROXIES (none by default), the same list the app reads (api/proxies.py).
    trusted = TrustedProxies((settings or get_settings()).trusted_proxies)
    options.update(proxy_headers=bool(trusted), forwarded_allow_ips=trusted.entries)
    if workers == 1:
        from kindmap.api.app import create_app

        uvicorn.run(create_app(settings, demo=demo, freeze_gc=True), **options)
    else:
        os.environ["KINDMAP_DEMO"] = "1" if demo else ""
        uvicorn.run("kindmap.api.asgi:app", workers=workers, **options)
