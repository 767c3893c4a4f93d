"""A cap on how deeply a JSON request body nests, checked before anything parses it.

Python's JSON decoder recurses once per level: 8,000 nested arrays raise ``RecursionError`` inside
whichever handler reads the body (a 500 from the public contribution form), and pydantic would
recurse again. No kindmap request needs more than a few levels, so a body nested deeper than
``MAX_DEPTH`` is answered 400 ``{"detail": ...}`` here, in the same shape as every other error.
This runs inside the body-size cap (``api/limits.py``), so it scans at most that many bytes, once.
"""

from __future__ import annotations

import json
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_DEPTH = 64
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FORM_TYPES = (b"application/x-www-form-urlencoded", b"multipart/form-data")  # not JSON, whatever they hold

# A JSON string (skipped whole, so brackets inside text do not count) or a bracket.
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
_OPEN = frozenset(b"[{")


def too_deep(body: bytes, *, limit: int = MAX_DEPTH) -> bool:
    """Whether ``body``, read as JSON, nests arrays/objects more than ``limit`` levels deep."""
    if body.count(b"[") + body.count(b"{") <= limit:  # the common case, at C speed
        return False
    depth = 0
    for token in _TOKEN.finditer(body):
        first = token.group()[0]
        if first in _OPEN:
            depth += 1
            if depth > limit:
                return True
        elif first != 0x22:  # a closing bracket (0x22 is the quote of a skipped string)
            depth -= 1
    return False


class JsonDepthLimit:
    """ASGI middleware: refuse request bodies that look like JSON and nest deeper than ``max_depth``."""

    def __init__(self, app: ASGIApp, *, max_depth: int = MAX_DEPTH) -> None:
        self.app = app
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        ctype = dict(scope.get("headers") or ()).get(b"content-type", b"").lower()
        if ctype.startswith(FORM_TYPES):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        body = bytearray()
        while True:  # bounded: the body-size cap runs outside this middleware
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            body.extend(message.get("body", b""))
            if not message.get("more_body", False):
                break
        if body.lstrip()[:1] in (b"[", b"{") and too_deep(bytes(body), limit=self.max_depth):
            await _refuse(send, f"the JSON in the request nests more than {self.max_depth} levels deep; "
                                "send a flatter document")
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


async def _refuse(send: Send, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": 400, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
