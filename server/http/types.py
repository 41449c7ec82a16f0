"""Field types shared by the REST models."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, PlainSerializer, WithJsonSchema

from domain.clock import iso_z
from domain.text import text_problem

# Every time the API returns: ISO 8601 in UTC with a ``Z``, millisecond precision.
UtcDateTime = Annotated[
    datetime,
    PlainSerializer(iso_z, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization"),
]

# The times the API accepts lie in these years (UTC): far enough for any clinical date, and far
# from the ends of Python's and BSON's ranges, so a window computed from one (``from`` plus
# days) cannot overflow either.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)


def in_range(value: datetime) -> datetime:
    """``value`` in UTC; ``ValueError`` (a 422 naming the field) outside EARLIEST..LATEST."""
    try:
        utc = value.astimezone(UTC)
    except (OverflowError, ValueError):  # 9999-12-31T23:59:59-01:00 is past year 9999 in UTC
        raise ValueError("must be between the years 1900 and 2999") from None
    if not EARLIEST <= utc < LATEST:
        raise ValueError("must be between the years 1900 and 2999")
    return value


# Every time the API accepts: ISO 8601 with an explicit offset (``Z`` or ``+08:00``), within
# EARLIEST..LATEST.
Instant = Annotated[AwareDatetime, AfterValidator(in_range)]


def day_in_range(value: date) -> date:
    """``value``, or ``ValueError`` (a 422) outside the years EARLIEST..LATEST."""
    if not EARLIEST.date() <= value < LATEST.date():
        raise ValueError("must be between the years 1900 and 2999")
    return value


# Every calendar date the API accepts (``2026-03-02``), within the same years.
Day = Annotated[date, AfterValidator(day_in_range)]


def _line(value: str) -> str:
    problem = text_problem(value, multiline=False)
    if problem is not None:
        raise ValueError(problem)
    return value


def _lines(value: str) -> str:
    problem = text_problem(value, multiline=True)
    if problem is not None:
        raise ValueError(problem)
    return value


# Text shown to another person (:mod:`domain.text`): one line (names, specialties, drugs)...
DisplayLine = Annotated[str, AfterValidator(_line)]
# ...or free text that may have lines and tabs (a reason, a note).
DisplayText = Annotated[str, AfterValidator(_lines)]
