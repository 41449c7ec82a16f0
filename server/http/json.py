"""Fast JSON for responses and request bodies (orjson)."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web
from pydantic import BaseModel


def dumps(value: Any) -> bytes:
    if isinstance(value, BaseModel):
        return value.__pydantic_serializer__.to_json(value, by_alias=True, exclude_none=False)
    return orjson.dumps(value, option=orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z)


def json_response(
    value: Any, *, status: int = 200, content_type: str = "application/json"
) -> web.Response:
    return web.Response(body=dumps(value), status=status, content_type=content_type)
