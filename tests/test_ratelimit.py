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




def test_contribution_limits_per_kind_and_per_place_keep_a_shared_network_open():
    from kindmap.services.accounts.ratelimit import ContributionLimiter, KindLimits

    now = [0.0]
    limiter = ContributionLimiter({"kindness_note": KindLimits(per_target=3, per_client=30, total=300),
                                   "problem_report": KindLimits(per_target=3, per_client=20, total=200)},
                                  clock=lambda: now[0])
    library_wifi = "198.51.100.9"
    # One household thanks its favourite place again and again: stopped about that place only.
    for _ in range(3):
        limiter.hit_client(library_wifi, "kindness_note")
        limiter.hit_target(library_wifi, "kindness_note", "place/1")
    limiter.hit_client(library_wifi, "kindness_note")
    with pytest.raises(RateLimited) as exc:
        limiter.hit_target(library_wifi, "kindness_note", "place/1")
    assert "from you" in exc.value.message and exc.value.retry_after == 600
    # The rest of the library's wifi still thanks other places, and still reports problems.
    for place in range(2, 28):  # 3 + 1 + 26 = 30 notes from this network
        limiter.hit_client(library_wifi, "kindness_note")
        limiter.hit_target(library_wifi, "kindness_note", f"place/{place}")
    limiter.hit_client(library_wifi, "problem_report")
    limiter.hit_target(library_wifi, "problem_report", "place/1")
    # The network as a whole has a wider cap (30 notes per 10 minutes here).
    with pytest.raises(RateLimited) as exc:
        limiter.hit_client(library_wifi, "kindness_note")
    assert "from this network" in exc.value.message
    limiter.hit_client("203.0.113.1", "kindness_note")  # another network is not affected
    assert "198.51.100.9" not in repr(limiter.__dict__) + "".join(repr(v.__dict__) for v in limiter._target.values())
    now[0] = 601
    limiter.hit_client(library_wifi, "kindness_note")
    limiter.hit_target(library_wifi, "kindness_note", "place/1")
    # An unknown (new) kind gets the default limits, counted on its own.
    assert limiter.for_kind("photo").per_client == 20
    limiter.hit_client(library_wifi, "photo")
