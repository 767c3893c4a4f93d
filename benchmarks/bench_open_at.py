"""Benchmark: "which places are open at T?" for 10⁵ places.

Compares kindmap.hours.HoursIndex (parse each distinct string once, gather from a
5-minute slot bitmap) with calling opening-hours-py's ``is_open`` per place.

Run:  python benchmarks/bench_open_at.py [--places 100000] [--distinct 500] [--calls 2000]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import time
from datetime import datetime, timedelta

import numpy as np
import opening_hours

from kindmap.hours import HoursIndex

DAYS = ["Mo-Fr", "Mo-Sa", "Mo-Su", "Tu-Sa", "Mo-Th", "We-Su", "Sa", "Su", "Mo,We,Fr", "Tu,Th"]
EXTRA = [
    "24/7",
    "Mo-Fr 09:00-17:00; PH off",
    "Apr-Sep: Mo-Su 08:00-20:00; Oct-Mar: Mo-Su 08:00-16:00",
    "Fr 22:00-02:00",
    "sunrise-sunset",
    "Mo-Fr 09:00-17:00 unknown",
    "whenever",
]


def realistic_strings(n: int, rng: random.Random) -> list[str]:
    """Distinct OSM-style strings: day ranges, split days, lunch breaks, odd minutes (as in Rutland)."""
    out: dict[str, None] = dict.fromkeys(EXTRA)
    while len(out) < n:
        days = rng.choice(DAYS)
        open_h, close_h = rng.randint(6, 10), rng.randint(15, 22)
        # Most values use quarter hours; about one in five has odd minutes (mixed slots).
        m1 = rng.choice([0, 0, 0, 15, 30, 45, rng.randint(0, 59)])
        m2 = rng.choice([0, 0, 0, 15, 30, 45, rng.randint(0, 59)])
        rule = f"{days} {open_h:02d}:{m1:02d}-{close_h:02d}:{m2:02d}"
        if rng.random() < 0.2:
            rule = f"{days} {open_h:02d}:{m1:02d}-12:30,13:30-{close_h:02d}:{m2:02d}"
        if rng.random() < 0.4:
            rule += f"; Sa {rng.randint(8, 10):02d}:00-{rng.randint(12, 17):02d}:00"
        if rng.random() < 0.3:
            rule += "; Su off"
        if rng.random() < 0.15:
            rule += "; PH off"
        out[rule] = None
    return list(out)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--places", type=int, default=100_000)
    parser.add_argument("--distinct", type=int, default=500)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--naive-places", type=int, default=100_000)
    args = parser.parse_args()

    rng = random.Random(42)
    strings = realistic_strings(args.distinct, rng)
    weights = [1 / (k + 1) for k in range(len(strings))]  # a few strings are very common
    hours: list[str | None] = rng.choices(strings, weights=weights, k=args.places)
    for k in rng.sample(range(args.places), args.places // 5):
        hours[k] = None  # most OSM places have no opening_hours

    print(f"platform: {platform.platform()}")
    print(f"python:   {platform.python_version()} ({platform.python_implementation()})")
    print(f"cpu:      {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs")
    print(f"numpy {np.__version__}; places {args.places:,}; distinct strings {len(strings)}")

    t0 = time.perf_counter()
    index = HoursIndex(hours, start=datetime(2024, 3, 4))
    build_s = time.perf_counter() - t0
    bitmap_bytes = index._open_bits.nbytes * 3
    print(f"\nbuild HoursIndex (parse distinct + 8-week 5-min bitmap): {build_s * 1000:.0f} ms, "
          f"bitmap {bitmap_bytes / 1e6:.1f} MB")

    times = [datetime(2024, 3, 4) + timedelta(minutes=rng.randrange(56 * 1440)) for _ in range(args.calls)]
    index.open_at(times[0])  # warm up
    samples = []
    for when in times:
        t = time.perf_counter()
        index.open_at(when)
        samples.append(time.perf_counter() - t)
    ms = [s * 1000 for s in samples]
    print(f"open_at inside horizon ({args.calls} calls): median {statistics.median(ms):.3f} ms, "
          f"p99 {percentile(ms, 99):.3f} ms, max {max(ms):.3f} ms")

    outside = [datetime(2025, 1, 6) + timedelta(minutes=rng.randrange(7 * 1440)) for _ in range(50)]
    samples = []
    for when in outside:
        t = time.perf_counter()
        index.open_at(when)
        samples.append((time.perf_counter() - t) * 1000)
    print(f"open_at outside horizon (50 calls, direct evaluation per distinct string): "
          f"median {statistics.median(samples):.2f} ms, p99 {percentile(samples, 99):.2f} ms")

    # The naive approach: parse and evaluate per place (parsing cached per string to be fair).
    naive_hours = hours[: args.naive_places]
    t = time.perf_counter()
    parsed = {}
    objects = []
    for text in naive_hours:
        if text not in parsed:
            try:
                parsed[text] = opening_hours.OpeningHours(text) if text else None
            except opening_hours.ParserError:
                parsed[text] = None
        objects.append(parsed[text])
    parse_s = time.perf_counter() - t
    naive_ms = []
    for when in times[:5]:
        t = time.perf_counter()
        [oh is not None and oh.is_open(when) for oh in objects]
        naive_ms.append((time.perf_counter() - t) * 1000)
    print(f"naive per-place OpeningHours.is_open loop over {len(objects):,} places: "
          f"median {statistics.median(naive_ms):.0f} ms per instant (parse {parse_s * 1000:.0f} ms)")

    check = times[: min(200, len(times))]
    for when in check:
        got = index.open_at(when)[: len(objects)]
        want = np.array([oh is not None and oh.is_open(when) for oh in objects[:2000]])
        assert (got[:2000] == want).all(), when
    print(f"agreement check: index == is_open for 2,000 places at {len(check)} instants")


if __name__ == "__main__":
    main()
