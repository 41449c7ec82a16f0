"""A hub outbox (``signaling/outbox.py``) that records instead of sending: the unit tests of the
hub's handlers read what a handler emitted, which sockets it moved between Socket.IO rooms and
which room changes it published."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from signaling.recording import Cause
from signaling.registry import Updated


@dataclass(frozen=True, slots=True)
class Sent:
    event: str
    data: Any
    to: str
    skip: tuple[str, ...] = ()
    # The sockets it reached: ``to`` itself, or the room's sockets when it was sent, less skip.
    reached: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Published:
    update: Updated[Any]
    participants: bool
    cause: Cause | None


@dataclass
class FakeOutbox:
    sent: list[Sent] = field(default_factory=list)
    published: list[Published] = field(default_factory=list)
    # Socket.IO room -> the sockets in it, as the handlers left them.
    rooms: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    async def emit(self, event: str, data: Any, *, to: str, skip: Sequence[str] = ()) -> None:
        members = self.rooms.get(to, {to})
        self.sent.append(Sent(event, data, to, tuple(skip), frozenset(members - set(skip))))

    async def enter(self, sid: str, room: str) -> None:
        self.rooms[room].add(sid)

    async def leave(self, sid: str, room: str) -> None:
        self.rooms[room].discard(sid)

    async def close(self, room: str) -> None:
        self.rooms.pop(room, None)

    async def publish(
        self, update: Updated[Any], *, participants: bool = True, cause: Cause | None = None
    ) -> None:
        if update.changed:
            self.published.append(Published(update, participants, cause))

    def events(self, name: str) -> list[Sent]:
        """What was emitted of one event, in order."""
        return [s for s in self.sent if s.event == name]

    def reached(self, sid: str) -> list[Sent]:
        """What one socket was sent: to its id, or to a room it was in at the time."""
        return [s for s in self.sent if sid in s.reached]
