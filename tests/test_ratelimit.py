"""The in-memory rate limiter: sliding windows per hashed client and overall, nothing stored in clear."""

from __future__ import annotations

import pytest

from kindmap.errors import RateLimited
from kindmap.services.accounts.ratelimit import Limits, RateLimiter


def test_per_client_window_slides_and_retry_after_counts_down():
    now = [100.0]
    limiter = RateLimiter(Limits(per_client=2, total=10, window_s=60), clock=lambda: now[0])
    limiter.hit("a"), limiter.hit("a")
    with pytest.raises(RateLimited) as exc:
        limiter.hit("a")
    assert exc.value.retry_after == 60 and "from you" in exc.value.message
    limiter.hit("b")  # another client is not affected
    now[0] += 45
    with pytest.raises(RateLimited) as exc:
        limiter.hit("a")
    assert exc.value.retry_after == 15
    now[0] += 15
    limiter.hit("a")


def test_limiter_keeps_only_salted_hashes_and_forgets():
    now = [0.0]
    limiter = RateLimiter(Limits(per_client=1, total=10, window_s=10), clock=lambda: now[0])
    limiter.hit("192.0.2.7")
    state = repr(limiter.__dict__)
    assert "192.0.2.7" not in state
    assert limiter.client_key("192.0.2.7") != RateLimiter().client_key("192.0.2.7")  # salt differs per limiter
    now[0] = 11
    assert limiter.tracked_clients() == 0


