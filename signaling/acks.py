"""Socket.IO acknowledgements: ``{"ok": true, ...}`` or ``{"ok": false, "error": {"code",
"message", ...}}``, and the parsing of event payloads into models (errors become acks)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from domain.errors import DomainError, InvalidInput, PayloadTooLarge, RateLimited

M = TypeVar("M", bound=BaseModel)


class UnknownEvent(DomainError):
    code = "unknown_event"
    status = 404
    title = "Unknown event"


def ok(**fields: Any) -> dict[str, Any]:
    return {"ok": True, **fields}


def error(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message, **extra}}


def error_from(exc: DomainError) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if isinstance(exc, RateLimited):
        extra["retry_after"] = round(exc.retry_after, 3)
    if exc.details is not None:
        extra["details"] = _plain(exc.details)
    return error(exc.code, exc.message, **extra)


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def field_errors(exc: ValidationError) -> list[dict[str, str]]:
    """The offending fields, without echoing their values."""
    return [
        {
            "field": ".".join(str(part) for part in err["loc"]) or "payload",
            "message": err["msg"],
            "type": err["type"],
        }
        for err in exc.errors(include_url=False, include_input=False)
    ]


class Received(NamedTuple):
    """An event's payload as it came: the JSON object that validated, and its size encoded.
    (A named tuple: made for every event, it costs a third of a frozen dataclass.)"""

    raw: dict[str, Any]
    size: int


NOTHING = Received(raw={}, size=0)


def screen_event(
    args: tuple[Any, ...], *, max_bytes: int, accepts: Callable[[dict[str, Any]], bool]
) -> Received | None:
    """The payload as received, when it is one JSON object of at most ``max_bytes`` that
    ``accepts`` takes (a check that accepts only what the event's model accepts, without building
    the model); None otherwise, and :func:`parse_event` decides and words the error."""
    if len(args) != 1:
        return None
    raw = args[0]
    if type(raw) is not dict or not accepts(raw):
        return None
    try:
        size = len(orjson.dumps(raw))
    except TypeError:  # binary data: refused by parse_event
        return None
    return Received(raw, size) if size <= max_bytes else None


def parse_payload(model: type[M], args: tuple[Any, ...], *, max_bytes: int) -> M:
    """Exactly one JSON object, at most ``max_bytes`` encoded, valid for ``model``."""
    return parse_event(model, args, max_bytes=max_bytes)[0]


def parse_event(model: type[M], args: tuple[Any, ...], *, max_bytes: int) -> tuple[M, Received]:
    """:func:`parse_payload`, also returning what was received."""
    if len(args) == 0 and not any(f.is_required() for f in model.model_fields.values()):
        return model(), NOTHING
    if len(args) != 1:
        raise InvalidInput("send exactly one JSON object with the event")
    raw = args[0]
    try:
        size = len(orjson.dumps(raw))
    except TypeError:
        raise InvalidInput("the payload must be JSON (binary data is not accepted)") from None
    if size > max_bytes:
        raise PayloadTooLarge(f"this event's payload may be at most {max_bytes} bytes")
    if not isinstance(raw, dict):
        raise InvalidInput("the payload must be a JSON object")
    try:
        parsed = model.model_validate(raw)
    except ValidationError as exc:
        errors = field_errors(exc)
        names = ", ".join(e["field"] for e in errors[:5])
        raise InvalidInput(f"invalid payload: {names}", details=errors) from None
    return parsed, Received(raw=raw, size=size)
