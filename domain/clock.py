"""The clock is injected everywhere time matters, so domain logic stays testable."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The real clock: an aware datetime in UTC, truncated to milliseconds (MongoDB's precision)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def iso_z(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, millisecond precision, as the contract requires."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def as_utc(value: datetime) -> datetime:
    """Datetimes read back from MongoDB are naive UTC unless the client is tz-aware; normalise."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
