"""What the handlers of a participant and of an invited guest share: a socket taking its seat
(``consult:join``, ``guest:join``), the ``consult:admitted`` notice of an admission, and a
stored chat message told to the consultation (``chat:send``, the guests' transcript lines)."""

from __future__ import annotations

from typing import Any, Protocol

import structlog

from chat.models import message_payload
from domain.chat import ChatMessage
from domain.consultation import Room
from signaling.gateway import Connection
from signaling.ice import IceSource, ice_servers_for, ice_transport_policy
from signaling.models import guest_sids
from signaling.outbox import Outbox
from signaling.registry import Updated
from signaling.socket_rooms import consult_room

log = structlog.get_logger(__name__)


class RoomReader(Protocol):
    async def get(self, appointment_id: str) -> Room | None: ...


class MessageCounts(Protocol):
    """The consultation service's count of a room's messages (the admins' view)."""

    async def count_message(self, appointment_id: str, seq: int) -> Updated[None]: ...


async def take_seat(
    outbox: Outbox,
    rooms: RoomReader,
    conn: Connection,
    appointment_id: str,
    update: Updated[Any],
    replaced_sid: str | None,
) -> Room:
    """The socket took its seat (``update``): it is joined and in the consultation's Socket.IO
    room; a socket of the same person it replaced is told ``consult:closed``
    (``joined_elsewhere``) and leaves that room; the change is published. Returns the room for
    the ack: a change stored after this join and before the socket entered the Socket.IO room
    (the other participant joining at the same moment) was broadcast where this socket could
    not hear it yet, so the newest state, not only this join's."""
    conn.appointment_id = appointment_id
    conn.joins += 1
    await outbox.enter(conn.sid, consult_room(appointment_id))
    if replaced_sid is not None:
        await outbox.emit(
            "consult:closed",
            {"appointment_id": appointment_id, "reason": "joined_elsewhere"},
            to=replaced_sid,
        )
        await outbox.leave(replaced_sid, consult_room(appointment_id))
    await outbox.publish(update)
    room = update.after
    assert room is not None
    latest = await rooms.get(appointment_id)
    return latest if latest is not None and latest.rev > room.rev else room


def admitted(
    appointment_id: str, view: dict[str, Any], ice: IceSource | None, user_id: str
) -> dict[str, Any]:
    """``consult:admitted``: the room as the admitted one sees it (``view``), and their own
    TURN credentials."""
    return {
        "appointment_id": appointment_id,
        "room": view,
        "ice_servers": ice_servers_for(ice, user_id, admitted=True),
        "ice_transport_policy": ice_transport_policy(ice),
    }


async def tell_message(
    outbox: Outbox, counts: MessageCounts, room: Room, message: ChatMessage
) -> dict[str, Any]:
    """A message just stored in a video consultation's chat: ``chat:message`` to its sockets
    but its guests' (they are in the call, not the chat: clinical content), and the admins'
    count of its messages. Returns the message as sent."""
    payload = message_payload(message)
    await outbox.emit(
        "chat:message", payload, to=consult_room(room.appointment_id), skip=guest_sids(room)
    )
    try:
        update = await counts.count_message(room.appointment_id, message.seq)
        await outbox.publish(update, participants=False)
    except Exception as exc:  # only the admin count lags; the message is stored
        log.warning("message_count_not_updated", error=repr(exc))
    return payload
