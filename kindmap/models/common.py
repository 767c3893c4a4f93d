"""Shared column helpers for the SQLModel tables."""

from __future__ import annotations

from datetime import datetime, timezone


def utcnow() -> datetime:
    """Timezone-aware now in UTC (SQLModel refuses naive datetimes)."""
    return datetime.now(timezone.utc)
