"""Typed identifiers. Ids are opaque strings on the wire and in the database."""

from __future__ import annotations

from typing import NewType

from bson import ObjectId

UserId = NewType("UserId", str)
AppointmentId = NewType("AppointmentId", str)
SessionId = NewType("SessionId", str)
MessageId = NewType("MessageId", str)


def new_id() -> str:
    """A new unique id: 24 hex characters, ordered by creation time (an ObjectId's text form)."""
    return str(ObjectId())
