"""In-memory rate limits: sliding windows for anonymous submissions and sign-in attempts, and
token buckets of cost units for costly public computations.

Clients are told apart by a salted hash of their address: the salt is random per process
and never stored, so the hashes cannot be turned back into addresses, and nothing about
the client is written to disk or the database. Restarting the process forgets everything.
"""

from __future__ import annotations

import hashlib
import ipaddress
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

    def client_key(self, address: str | None, bucket: str = "") -> str:
        """A salted, truncated SHA-256 of a client address and an optional bucket name (what the
        count is about, e.g. one place); the address itself is never kept."""
        return hashlib.sha256(self._salt + who(address).encode() + b"\0" + bucket.encode()).hexdigest()[:32]

    def hit(self, address: str | None, *, bucket: str = "", whose: str = "from you") -> None:
        """Record one submission from ``address`` (in ``bucket``), or raise ``RateLimited`` with
        seconds to wait; ``whose`` words the per-client refusal."""
        key = self.client_key(address, bucket)
        now = self._clock()
        window = self.limits.window_s
        with self._lock:
            self._expire(now)
            mine = self._clients.setdefault(key, deque())
            for events, limit, said in ((mine, self.limits.per_client, whose),
                                        (self._all, self.limits.total, "from everyone")):
                if len(events) >= limit:
                    wait = max(1, math.ceil(events[0] + window - now))
                    raise RateLimited(
                        f"Too many submissions {said} in a short time. Please wait about "
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


@dataclass(frozen=True)
class KindLimits:
    """Limits for one kind of contribution, each within ``window_s`` seconds: from one client
    about one thing (a place, or one suggested name), from one client in all, from everyone."""

    per_target: int
    per_client: int
    total: int
    window_s: int = 600

    def describe(self, about: str) -> str:
        """The limits in plain English, for the API docs."""
        minutes = max(1, round(self.window_s / 60))
        return (f"{self.per_target} per {minutes} minutes about {about} from one client, {self.per_client} per "
                f"{minutes} minutes from one client (a shared network counts as one), and {self.total} "
                f"per {minutes} minutes from everyone together")


class ContributionLimiter:
    """Per-kind limits for public contributions. Two counts per client and kind: one per target
    (so one household thanking its favourite place again and again is stopped there) and a wider
    one per client (a library's or community centre's wifi is one address shared by many people,
    so it must not be locked out by one of them). Kinds without limits of their own use ``default``.
    """

    def __init__(self, limits: dict[str, KindLimits], *, default: KindLimits | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = dict(limits)
        self.default = default or KindLimits(per_target=3, per_client=20, total=200)
        self._clock = clock
        self._client: dict[str, RateLimiter] = {}
        self._target: dict[str, RateLimiter] = {}
        self._lock = threading.Lock()

    @classmethod
    def uniform(cls, limits: KindLimits, *, clock: Callable[[], float] = time.monotonic) -> ContributionLimiter:
        """The same limits for every kind (tests, and deployments that want one rule)."""
        return cls({}, default=limits, clock=clock)

    def for_kind(self, kind: str) -> KindLimits:
        """The limits that apply to ``kind``."""
        return self.limits.get(kind, self.default)

    def _pair(self, kind: str) -> tuple[RateLimiter, RateLimiter]:
        with self._lock:
            if kind not in self._client:
                lim = self.for_kind(kind)
                self._client[kind] = RateLimiter(Limits(per_client=lim.per_client, total=lim.total,
                                                        window_s=lim.window_s), clock=self._clock)
                # Everyone's total is counted once, by the per-client limiter above.
                self._target[kind] = RateLimiter(Limits(per_client=lim.per_target, total=10**9,
                                                        window_s=lim.window_s), clock=self._clock)
            return self._client[kind], self._target[kind]

    def hit_client(self, address: str | None, kind: str) -> None:
        """Count one ``kind`` submission from ``address`` (before the body is read, so a client
        sending bad bodies is limited too)."""
        self._pair(kind)[0].hit(address, whose="from this network")

    def hit_target(self, address: str | None, kind: str, target: str) -> None:
        """Count one ``kind`` submission from ``address`` about ``target`` (a place, a name)."""
        self._pair(kind)[1].hit(address, bucket=target, whose="from you")

    def tracked_clients(self) -> int:
        """How many client hashes are currently held, over every kind."""
        with self._lock:
            limiters = list(self._client.values()) + list(self._target.values())
        return sum(limiter.tracked_clients() for limiter in limiters)

    def reset(self) -> None:
        """Forget every count."""
        with self._lock:
            self._client.clear()
            self._target.clear()


class CostBudget:
    """A token bucket of cost units per hashed client: at most ``capacity`` units, ``refill_per_min``
    given back each minute. ``spend`` raises ``RateLimited`` (with the seconds until enough is back)
    instead of going below zero. Keys are salted hashes, as in ``RateLimiter``."""

    def __init__(self, *, capacity: float, refill_per_min: float, what: str = "costly requests",
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(capacity)
        self.rate = refill_per_min / 60.0  # units per second
        self.what = what
        self._clock = clock
        self._salt = secrets.token_bytes(16)
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (units left, when counted)
        self._swept = clock()

    def spend(self, address: str | None, cost: float) -> None:
        """Take ``cost`` units from ``address``'s bucket, or raise ``RateLimited``."""
        # A request dearer than the whole budget could never pass; it empties the bucket instead.
        cost = min(float(cost), self.capacity)
        key = self._key(address)
        now = self._clock()
        with self._lock:
            self._sweep(now)
            left, at = self._buckets.get(key, (self.capacity, now))
            left = min(self.capacity, left + (now - at) * self.rate)
            if left < cost:
                self._buckets[key] = (left, now)
                wait = max(1, math.ceil((cost - left) / self.rate))
                raise RateLimited(
                    f"This device has asked for many {self.what} in a short time. Please wait about "
                    f"{_minutes(wait)} and try again; searching by distance still works meanwhile.",
                    retry_after=wait)
            self._buckets[key] = (left - cost, now)

    def refund(self, address: str | None, cost: float) -> None:
        """Give back what ``spend`` took, for a request that was refused before any work was done."""
        key = self._key(address)
        with self._lock:
            if key in self._buckets:
                left, at = self._buckets[key]
                self._buckets[key] = (min(self.capacity, left + min(float(cost), self.capacity)), at)

    def tracked_clients(self) -> int:
        """How many client hashes are currently held (for tests and health checks)."""
        with self._lock:
            self._sweep(self._clock(), force=True)
            return len(self._buckets)

    def _key(self, address: str | None) -> str:
        return hashlib.sha256(self._salt + who(address).encode()).hexdigest()[:32]

    def _sweep(self, now: float, *, force: bool = False) -> None:
        # A bucket untouched for ``full`` seconds is full again, the same as no bucket at all, so
        # it is dropped. Sweeping once per ``full`` seconds keeps memory to recent clients at O(1)
        # amortised cost per request.
        full = self.capacity / self.rate
        if not force and now - self._swept < full:
            return
        self._swept = now
        for key in [k for k, (_left, at) in self._buckets.items() if now - at >= full]:
            del self._buckets[key]


def who(address: str | None) -> str:
    """What one client is, for counting: its IPv4 address, or the /64 network of an IPv6 one.

    One IPv6 subscriber is usually given a whole /64 (2^64 addresses), so counting single IPv6
    addresses would give one person endless fresh limits. Anything else (an email for the
    per-account sign-in count, a test client's name) is counted as written."""
    if not address:
        return "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return address


def _minutes(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} seconds"
    minutes = math.ceil(seconds / 60)
    return "1 minute" if minutes == 1 else f"{minutes} minutes"
