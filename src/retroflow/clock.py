"""The one current-time function: every default clock in retroflow and its plugins is this."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["utcnow"]


def utcnow() -> datetime:
    """The current time as an aware UTC datetime (what every ``clock``/``now`` defaults to,
    so a test that injects its own clock replaces all of them)."""
    return datetime.now(UTC)
