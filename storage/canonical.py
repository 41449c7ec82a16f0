"""The canonical JSON of a stored document: RFC 8785, the JSON Canonicalization Scheme (JCS).

The audit chain hashes each entry as these bytes, so the same entry read back from MongoDB
(or from a backup) always gives the same hash. JCS itself (`rfc8785`, Trail of Bits) fixes the
rest: object keys sorted by their UTF-16 code units, no whitespace, strings as UTF-8 with only
the mandatory escapes (so NFC and NFD spellings of a text stay different bytes, and a character
outside the BMP is its four UTF-8 bytes, never a surrogate escape), and numbers as ECMAScript
prints an IEEE 754 double (``1.0`` is ``1``, ``-0.0`` is ``0``, ``1e21`` is ``1e+21``).

What JSON lacks is fixed here, once:

* a datetime is the string ``YYYY-MM-DDTHH:MM:SS.mmmZ``: UTC, milliseconds, because BSON keeps
  milliseconds (:func:`stored_datetime` truncates before storing, so what is hashed is what is
  stored); a naive datetime is taken as UTC (PyMongo without ``tz_aware`` returns them);
* an integer outside JSON's exact range (beyond +-(2**53 - 1)), NaN, infinities, bytes and any
  other type are refused (:class:`CanonicalizationError`): they could not come back from the
  encoding as the same value, so they never enter a hashed document;
* tuples are arrays (BSON stores them as arrays); keys must be strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import rfc8785

CanonicalizationError = rfc8785.CanonicalizationError


def stored_datetime(value: datetime) -> datetime:
    """``value`` as BSON keeps it: UTC, aware, truncated to milliseconds."""
    utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return utc.replace(microsecond=utc.microsecond // 1000 * 1000)


def canonical_datetime(value: datetime) -> str:
    at = stored_datetime(value)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def storable(value: Any) -> Any:
    """``value`` with every datetime as it will be stored (see :func:`stored_datetime`)."""
    if isinstance(value, datetime):
        return stored_datetime(value)
    if isinstance(value, Mapping):
        return {key: storable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [storable(item) for item in value]
    return value


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, datetime):
        return canonical_datetime(value)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalizationError(f"object keys must be strings, not {type(key)}")
            out[key] = _jsonable(item)
        return out
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    raise CanonicalizationError(f"unsupported type: {type(value)}")


def canonical_json(document: Mapping[str, Any]) -> bytes:
    """The RFC 8785 bytes of ``document`` (datetimes as above)."""
    return rfc8785.dumps(_jsonable(document))
