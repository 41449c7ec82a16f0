"""RFC 9457 problem+json responses, for every error the server answers."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field

from chat.models import absent
from domain.errors import DomainError
from server.http.json import dumps

PROBLEM_TYPE_BASE = "https://telemed.invalid/problems/"

# aiohttp's own HTTP errors, mapped to the contract's codes.
_HTTP_CODES: dict[int, str] = {
    400: "malformed_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "rate_limited",
    503: "unavailable",
}


class FieldError(BaseModel):
    field: str = Field(description="Dotted path of the offending field, e.g. 'weekly.0.start'")
    message: str
    type: str


class Problem(BaseModel):
    """An RFC 9457 problem document with a stable machine ``code``."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    request_id: str | None = absent()
    errors: list[FieldError] | None = absent()
    reason: str | None = absent("why a sign-in is over (401): inactivity, signed_out, ...")


def problem_response(
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    request_id: str | None = None,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    reason: str | None = None,
) -> web.Response:
    body = Problem(
        type=PROBLEM_TYPE_BASE + code,
        title=title,
        status=status,
        detail=detail,
        code=code,
        request_id=request_id,
        errors=errors,
        reason=reason,
    )
    return web.Response(
        body=dumps(body.model_dump(exclude_none=True)),
        status=status,
        content_type="application/problem+json",
        headers=headers,
    )


def from_domain_error(exc: DomainError, request_id: str | None) -> web.Response:
    headers: dict[str, str] = {}
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        headers["Retry-After"] = str(max(1, round(retry_after)))
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="telemed"'
    errors = exc.details if isinstance(exc.details, list) else None
    reason = exc.details.get("reason") if isinstance(exc.details, dict) else None
    return problem_response(
        status=exc.status,
        code=exc.code,
        title=exc.title,
        detail=exc.message,
        request_id=request_id,
        errors=errors,
        headers=headers,
        reason=reason if exc.status in (401, 409) and isinstance(reason, str) else None,
    )


def from_http_exception(exc: web.HTTPException, request_id: str | None) -> web.Response:
    status = exc.status
    code = _HTTP_CODES.get(status, "error" if status < 500 else "internal_error")
    headers: dict[str, Any] = {}
    if "Allow" in exc.headers:
        headers["Allow"] = exc.headers["Allow"]
    detail = exc.text if exc.text and not exc.text.startswith(str(status)) else exc.reason
    if status == 413:
        detail = "The request body is larger than this server accepts."
    return problem_response(
        status=status,
        code=code,
        title=exc.reason,
        detail=detail,
        request_id=request_id,
        headers=headers,
    )
