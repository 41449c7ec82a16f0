"""Cursor pagination for every list endpoint: ``?cursor=&limit=`` in, ``next_cursor`` out.

A cursor is opaque to clients: URL-safe base64 of a small JSON object naming the list it
belongs to and the position (sort value and id) of the last item served. A cursor that does
not decode, or that belongs to another list, is a 422 on the ``cursor`` field.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from domain.errors import InvalidInput
from server.http.problems import FieldError
from server.http.types import in_range
from storage.paging import After

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
_ID = re.compile(r"^[0-9a-f]{24}$")


class PageQuery(BaseModel):
    """Query parameters every list endpoint takes."""

    model_config = ConfigDict(extra="forbid")

    cursor: str | None = Field(
        default=None,
        min_length=1,
        max_length=512,
        # URL-safe base64, as encode_cursor writes it: a URL with the longest cursor stays far
        # below the HTTP parser's line limit (8190 bytes), past which no problem+json can answer.
        pattern=r"^[A-Za-z0-9_-]+={0,2}$",
        description="next_cursor of the previous page; omit for the first page",
    )
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="page size")


def _bad_cursor(message: str) -> InvalidInput:
    return InvalidInput(
        f"invalid cursor: {message}",
        details=[FieldError(field="cursor", message=message, type="invalid_cursor")],
    )


def encode_cursor(scope: str, after: After | None) -> str | None:
    if after is None:
        return None
    value: Any = after.value
    kind = "n"
    if isinstance(value, datetime):
        value, kind = value.isoformat(), "d"
    elif isinstance(value, str):
        kind = "s"
    raw = json.dumps({"s": scope, "k": kind, "v": value, "i": after.id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(scope: str, cursor: str | None) -> After | None:
    """The position a cursor names; :class:`InvalidInput` if it is not one of this list's."""
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error):
        raise _bad_cursor("not a cursor this server issued") from None
    if not isinstance(data, dict) or data.get("s") != scope:
        raise _bad_cursor("this cursor belongs to another list")
    ident, kind, value = data.get("i"), data.get("k"), data.get("v")
    if not isinstance(ident, str) or not (ident == "" or _ID.match(ident)):
        raise _bad_cursor("not a cursor this server issued")
    try:
        if kind == "d" and isinstance(value, str):
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is None:
                raise ValueError(value)
            in_range(moment)
            return After(value=moment, id=ident)
        if kind == "s" and isinstance(value, str):
            return After(value=value, id=ident)
        if kind == "n" and value is None:
            return After(value=None, id=ident)
    except ValueError:
        pass
    raise _bad_cursor("not a cursor this server issued")
