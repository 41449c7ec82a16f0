"""Field types shared by the REST models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, PlainSerializer, WithJsonSchema

from domain.clock import iso_z

# Every time the API returns: ISO 8601 in UTC with a ``Z``, millisecond precision.
UtcDateTime = Annotated[
    datetime,
    PlainSerializer(iso_z, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization"),
]

# Every time the API accepts: ISO 8601 with an explicit offset (``Z`` or ``+08:00``).
Instant = AwareDatetime
