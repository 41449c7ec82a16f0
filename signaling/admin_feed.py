"""What each room change is told to: the admins' live rooms feed (namespace ``/admin``:
``rooms:snapshot`` first, then ``rooms:update``, ``rooms:screen``, ``rooms:removed``), the
room's participants (``consult:state``, ``screen:state``) and its doctor's other sockets, for
the clinic console (``consult:state``, ``consult:removed``)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import structlog

from domain.consultation import Room
from signaling.acks import Received
from signaling.events import ADMIN
from signaling.models import (
    Payload,
    admin_screen,
    guest_sids,
    guest_view,
    room_summary,
    room_view,
    screen_state,
)
from signaling.registry import Updated
from signaling.socket_rooms import ADMINS_ROOM, consult_room, user_room

log = structlog.get_logger(__name__)


class Emitter(Protocol):
    """The Socket.IO server's emit, and whether a socket has connected a namespace."""

    async def emit(
        self,
        event: str,
        data: Any = None,
        *,
        to: str | list[str] | None = None,
        room: str | None = None,
        skip_sid: str | list[str] | None = None,
        namespace: str | None = None,
    ) -> None: ...


class RoomFeed:
    def __init__(
        self,
        sio: Emitter,
        *,
        rooms: Callable[[], Awaitable[list[Room]]],
        connected: Callable[[str, str], bool],
        changed: Callable[[], None],
    ) -> None:
        """``connected(sid, namespace)``: whether the client was told it is connected;
        ``changed``: told of every change (the gauges)."""
        self._sio = sio
        self._rooms = rooms
        self._connected = connected
        self._changed = changed

    async def snapshot(self, conn: object, payload: Payload, _: Received) -> dict[str, Any]:
        """``rooms:snapshot`` asked again by an admin."""
        return {"rooms": [room_summary(r) for r in await self._rooms()]}

    async def send_snapshot_when_connected(self, sid: str) -> None:
        """An admin's first event: every room, then who shares a screen now."""
        # The connect handler runs before the client is told it is connected; wait for that,
        # so the snapshot is its first event.
        for _ in range(200):
            if self._connected(sid, ADMIN):
                break
            await asyncio.sleep(0.005)
        else:
            return
        try:
            rooms = await self._rooms()
        except Exception as exc:
            log.warning("snapshot_failed", error=repr(exc))
            return
        await self._sio.emit(
            "rooms:snapshot", {"rooms": [room_summary(r) for r in rooms]}, to=sid, namespace=ADMIN
        )
        for room in rooms:  # who shares a screen now (room_summary's shape is fixed)
            if room.screen.sharer is not None:
                await self._sio.emit("rooms:screen", admin_screen(room), to=sid, namespace=ADMIN)

    async def announce(self, update: Updated[Any], *, participants: bool) -> None:
        """Tell what changed (a change that changed nothing is not announced by the caller)."""
        self._changed()
        room = update.after
        if room is None:
            before = update.before
            assert before is not None
            gone = {"appointment_id": before.appointment_id, "rev": update.rev}
            await self._sio.emit("rooms:removed", gone, room=ADMINS_ROOM, namespace=ADMIN)
            # The clinic console drops it from the waiting list (consult:state never says so).
            await self._sio.emit("consult:removed", gone, room=user_room(before.doctor.id))
            return
        if participants:
            guests = guest_sids(room)
            await self._sio.emit(
                "consult:state",
                room_view(room),
                to=[consult_room(room.appointment_id), user_room(room.doctor.id)],
                skip_sid=guests or None,
            )
            if guests:  # what the waiting patient wrote is for the doctor, not for guests
                await self._sio.emit("consult:state", guest_view(room), to=guests)
        before = update.before
        if before is not None and before.screen != room.screen:
            await self._sio.emit(
                "screen:state", screen_state(room), room=consult_room(room.appointment_id)
            )
            if before.screen.sharer != room.screen.sharer:
                await self._sio.emit(
                    "rooms:screen", admin_screen(room), room=ADMINS_ROOM, namespace=ADMIN
                )
        await self._sio.emit("rooms:update", room_summary(room), room=ADMINS_ROOM, namespace=ADMIN)
