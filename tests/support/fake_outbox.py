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
        self.sent.append(Sent(event, data, to, tuple(skip)))

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
        """What was emitted to one socket: to its id, or to a room it is in now."""
        return [
            s
            for s in self.sent
            if sid not in s.skip and (s.to == sid or sid in self.rooms.get(s.to, set()))
        ]
