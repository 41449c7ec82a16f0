"""Classifying driver errors without leaking driver types into the other layers."""

from __future__ import annotations

from pymongo.errors import (
    ConnectionFailure,
    DuplicateKeyError,
    PyMongoError,
    ServerSelectionTimeoutError,
)


def is_unavailable(exc: BaseException) -> bool:
    """True when the database could not be reached (as opposed to a bad query or a conflict)."""
    return isinstance(exc, ConnectionFailure | ServerSelectionTimeoutError) or (
        isinstance(exc, PyMongoError) and exc.has_error_label("RetryableWriteError")
    )


def is_duplicate_key(exc: BaseException) -> bool:
    return isinstance(exc, DuplicateKeyError)
