"""A participant's consent to record the call (``recording:consent``).

The rules and the recorder are the coordinator's (``signaling/recording.py``); this handler
gives it the consent from a seat of the room and publishes the change with its cause (who
changed the recording, and why it would stop). A ``false`` answer to the other participant's
request is a decline: that participant hears ``recording:declined``. A server without
recording refuses every consent (``recording_disabled``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from domain.consultation import Room
from domain.errors import Forbidden
from domain.recording import StopReason, Transition
from signaling.acks import Received
from signaling.gateway import Connection
from signaling.models import RecordingConsentIn
from signaling.outbox import Outbox
from signaling.recording import Cause, is_decline, recording_view
from signaling.registry import Updated
from signaling.socket_rooms import consult_room


class RecordingDisabled(Forbidden):
    code = "recording_disabled"
    title = "Recording is not enabled on this server"


class Consents(Protocol):
    """The recording coordinator's consent (``RecordingCoordinator.consent``)."""

    async def consent(
        self,
        room: Room,
        *,
        sid: str,
        given: bool,
        notice_version: str,
        client_ip: str | None,
        publish: Callable[[Updated[Any]], Awaitable[None]],
    ) -> Updated[Transition]: ...


class SeatRooms(Protocol):
    async def room_for(self, sid: str, appointment_id: str) -> Room: ...


class RecordingConsent:
    """``recordings`` None: recording is not enabled on this server."""

    def __init__(self, *, rooms: SeatRooms, recordings: Consents | None, outbox: Outbox) -> None:
        self._rooms = rooms
        self._recordings = recordings
        self._outbox = outbox

    async def consent(
        self, conn: Connection, payload: RecordingConsentIn, _: Received
    ) -> dict[str, Any]:
        conn.require_joined(payload.appointment_id)
        if self._recordings is None:
            raise RecordingDisabled("recording is not enabled on this server")
        room = await self._rooms.room_for(conn.sid, payload.appointment_id)
        seat = room.require_seat(conn.sid)
        cause = Cause(
            reason=StopReason.CONSENT_WITHDRAWN,
            actor_id=conn.user_id,
            actor_role=seat.role,
            client_ip=conn.address,
        )

        async def publish(update: Updated[Any]) -> None:
            await self._outbox.publish(update, cause=cause)

        update = await self._recordings.consent(
            room,
            sid=conn.sid,
            given=payload.consent,
            notice_version=payload.notice_version,
            client_ip=conn.address,
            publish=publish,
        )
        if is_decline(update.before, seat.user_id, payload.consent):
            await self._outbox.emit(
                "recording:declined",
                {"appointment_id": room.appointment_id, "by": seat.role.value},
                to=consult_room(room.appointment_id),
                skip=[conn.sid],
            )
        return {"recording": recording_view(update.after or room)}
