"""Screen sharing at the hub (``screen:share``, ``screen:allow``; domain/screen_share.py).

The media goes peer to peer as the sharer's video; the room only says who shares, and whether
the doctor lets the patient share. Each change is published as a room change (``consult:state``
to the participants, the admins' feed); the ack carries ``screen:state``'s payload.
"""

from __future__ import annotations

from typing import Any, Protocol

from domain.errors import Forbidden
from signaling.acks import Received
from signaling.consultations import Caller
from signaling.gateway import Connection
from signaling.models import ScreenAllowIn, ScreenShareIn, screen_state
from signaling.outbox import Outbox
from signaling.registry import Updated


class ScreenRooms(Protocol):
    """The consultation service's screen-sharing changes (atomic with the seats)."""

    async def share_screen(
        self, caller: Caller, appointment_id: str, sharing: bool
    ) -> Updated[None]: ...

    async def allow_screen(
        self, caller: Caller, appointment_id: str, allowed: bool
    ) -> Updated[None]: ...


class Screen:
    def __init__(self, *, rooms: ScreenRooms, outbox: Outbox) -> None:
        self._rooms = rooms
        self._outbox = outbox

    async def share(self, conn: Connection, payload: ScreenShareIn, _: Received) -> dict[str, Any]:
        """The sender starts or stops sharing their screen: the doctor once admitted, the
        patient while allowed, one at a time."""
        conn.require_joined(payload.appointment_id)
        update = await self._rooms.share_screen(
            conn.caller(), payload.appointment_id, payload.sharing
        )
        return await self._changed(update)

    async def allow(self, conn: Connection, payload: ScreenAllowIn, _: Received) -> dict[str, Any]:
        """The doctor lets the patient share, or takes it back (which stops their share)."""
        conn.require_joined(payload.appointment_id)
        update = await self._rooms.allow_screen(
            conn.caller(), payload.appointment_id, payload.allowed
        )
        return await self._changed(update)

    async def _changed(self, update: Updated[None]) -> dict[str, Any]:
        room = update.after
        if room is None:
            raise Forbidden("this consultation is closed")
        await self._outbox.publish(update)
        return {"screen_share": screen_state(room)}
