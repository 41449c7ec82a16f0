"""One small error hierarchy for every layer.

Each error carries a stable machine ``code`` from the public contract. ``server`` maps them to
HTTP problem+json responses, ``signaling`` to Socket.IO ack errors.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error the application raises on purpose."""

    code = "error"
    status = 400
    title = "Bad request"

    def __init__(self, message: str | None = None, *, details: Any = None) -> None:
        super().__init__(message or self.title)
        self.message = message or self.title
        self.details = details


class InvalidInput(DomainError):
    code = "invalid_input"
    status = 422
    title = "Invalid input"


class MalformedRequest(DomainError):
    code = "malformed_request"
    status = 400
    title = "Malformed request"


class Unauthorized(DomainError):
    code = "unauthorized"
    status = 401
    title = "Unauthorized"


class Forbidden(DomainError):
    code = "forbidden"
    status = 403
    title = "Forbidden"


class NotFound(DomainError):
    code = "not_found"
    status = 404
    title = "Not found"


class Conflict(DomainError):
    code = "conflict"
    status = 409
    title = "Conflict"


class PayloadTooLarge(DomainError):
    code = "payload_too_large"
    status = 413
    title = "Payload too large"


class RateLimited(DomainError):
    code = "rate_limited"
    status = 429
    title = "Too many requests"

    def __init__(self, message: str | None = None, *, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SmsLimitReached(RateLimited):
    """The clinic's texts for the day (``TELEMED_SMS_DAILY_LIMIT``) are used up."""

    code = "sms_limit_reached"
    title = "Text message limit reached"


class Unavailable(DomainError):
    code = "unavailable"
    status = 503
    title = "Service unavailable"
