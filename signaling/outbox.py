"""What a hub handler does besides answering its ack: the narrow outbox.

A handler of a client event (``signaling/handlers/``) maps (connection, event) to an ack it
returns, and to emits and effects it hands to an :class:`Outbox`:

- ``emit``: an event to one socket or to a Socket.IO room (``signaling/socket_rooms.py``), on
  every node, leaving out the sockets in ``skip``;
- ``enter`` / ``leave`` / ``close``: a socket into or out of a Socket.IO room, or a room
  emptied;
- ``publish``: a room change (``Updated``) told to the room's participants, the doctor's
  console and the admins, and followed by consented recording (``Hub._publish``).

The hub gives every handler one :class:`SocketOutbox` over its Socket.IO server; a unit test
gives it ``tests/support/fake_outbox.py``'s ``FakeOutbox``, which records what was sent, so a
rule of the hub is tested without a socket.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from signaling.recording import Cause
from signaling.registry import Updated


class Outbox(Protocol):
    async def emit(self, event: str, data: Any, *, to: str, skip: Sequence[str] = ()) -> None:
        """``event`` to ``to`` (a socket id or a Socket.IO room), but not to ``skip``."""
        ...

    async def enter(self, sid: str, room: str) -> None: ...

    async def leave(self, sid: str, room: str) -> None: ...

    async def close(self, room: str) -> None: ...

    async def publish(
        self, update: Updated[Any], *, participants: bool = True, cause: Cause | None = None
    ) -> None:
        """Tell who must hear of a room change (nothing when it did not change)."""
        ...


class SocketServer(Protocol):
    """The Socket.IO server's calls the outbox makes (python-socketio's ``AsyncServer``)."""

    async def emit(
        self,
        event: str,
        data: Any = None,
        *,
        to: str | None = None,
        skip_sid: str | list[str] | None = None,
    ) -> None: ...

    async def enter_room(self, sid: str, room: str) -> None: ...

    async def leave_room(self, sid: str, room: str) -> None: ...

    async def close_room(self, room: str) -> None: ...


Publish = Callable[..., Awaitable[None]]


class SocketOutbox:
    """The outbox over the hub's Socket.IO server (namespace ``/``) and its room-change
    publisher."""

    def __init__(self, sio: SocketServer, publish: Publish) -> None:
        self._sio = sio
        self._publish = publish

    async def emit(self, event: str, data: Any, *, to: str, skip: Sequence[str] = ()) -> None:
        if not skip:
            await self._sio.emit(event, data, to=to)
        elif len(skip) == 1:
            await self._sio.emit(event, data, to=to, skip_sid=skip[0])
        else:
            await self._sio.emit(event, data, to=to, skip_sid=list(skip))

    async def enter(self, sid: str, room: str) -> None:
        await self._sio.enter_room(sid, room)

    async def leave(self, sid: str, room: str) -> None:
        await self._sio.leave_room(sid, room)

    async def close(self, room: str) -> None:
        await self._sio.close_room(room)

    async def publish(
        self, update: Updated[Any], *, participants: bool = True, cause: Cause | None = None
    ) -> None:
        await self._publish(update, participants=participants, cause=cause)
