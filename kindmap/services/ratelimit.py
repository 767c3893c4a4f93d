"""In-memory sliding-window rate limits for anonymous submissions.

Clients are told apart by a salted hash of their address: the salt is random per process
and never stored, so the hashes cannot be turned back into addresses, and nothing about
the client is written to disk or the database. Restarting the process forgets everything.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from kindmap.errors import RateLimited


@dataclass(frozen=True)
class Limits:
    """Submissions allowed per client and in total, each within ``window_s`` seconds."""

    per_client: int = 5
    total: int = 200
    window_s: int = 600

    def describe(self) -> str:
        """The limits in plain English, for the API docs and error messages."""
        minutes = max(1, round(self.window_s / 60))
        return (f"{self.per_client} submissions per {minutes} minutes from one client, "
                f"and {self.total} per {minutes} minutes from everyone together")


class RateLimiter:
    """Counts events per hashed client key and overall; raises ``RateLimited`` past a limit."""

    def __init__(self, limits: Limits | None = None, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits or Limits()
        self._clock = clock
        self._salt = secrets.token_bytes(16)
        self._lock = threading.Lock()
        self._clients: dict[str, deque[float]] = {}
        self._all: deque[float] = deque()

    def client_key(self, address: str | None) -> str:
        """A salted, truncated SHA-256 of a client address (the address itself is never kept)."""
        return hashlib.sha256(self._salt + (address or "unknown").encode()).hexdigest()[:32]

    def hit(self, address: str | None) -> None:
        """Record one submission from ``address``, or raise ``RateLimited`` with seconds to wait."""
        key = self.client_key(address)
        now = self._clock()
        window = self.limits.window_s
        with self._lock:
            self._expire(now)
            mine = self._clients.setdefault(key, deque())
            for events, limit, whose in ((mine, self.limits.per_client, "from you"),
                                         (self._all, self.limits.total, "from everyone")):
                if len(events) >= limit:
                    wait = max(1, math.ceil(events[0] + window - now))
                    raise RateLimited(
                        f"Too many submissions {whose} in a short time. Please wait about "
                        f"{_minutes(wait)} and try again; what you wrote is kept.", retry_after=wait)
            mine.append(now)
            self._all.append(now)

    def reset(self) -> None:
        """Forget every count (a new salt too)."""
        with self._lock:
            self._clients.clear()
            self._all.clear()
            self._salt = secrets.token_bytes(16)

    def tracked_clients(self) -> int:
        """How many client hashes are currently held (for tests and health checks)."""
        with self._lock:
            self._expire(self._clock())
            return len(self._clients)

    def _expire(self, now: float) -> None:
        cutoff = now - self.limits.window_s
        while self._all and self._all[0] <= cutoff:
            self._all.popleft()
        for key in [k for k, v in self._clients.items() if not v or v[-1] <= cutoff]:
            del self._clients[key]  # nothing recent: drop the hash entirely
        for events in self._clients.values():
            while events and events[0] <= cutoff:
                events.popleft()


def _minutes(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} seconds"
    minutes = math.ceil(seconds / 60)
    return "1 minute" if minutes == 1 else f"{minutes} minutes"
