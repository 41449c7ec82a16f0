"""The room registry: every active consultation room, and which hub nodes are alive.

One interface, two stores: in memory for a single process, in Redis when several processes
serve (``signaling.redis_registry``). ``create_app`` picks one from the settings.

Rooms change only through :meth:`RoomRegistry.update`, which applies a pure function of the
current room atomically (in memory: no ``await`` between read and write; in Redis: an
optimistic WATCH/MULTI transaction, retried when another node changed the room meanwhile).
Every stored change bumps the room's ``rev``. A room opens at a revision taken from the
clock (microseconds since the epoch), not at 1: a room opened again for the same appointment
(the patient left and came back, a Redis that came back empty) then continues above every
revision of the room before it, so a client that keeps the newest view it saw (``rev``: newer
wins) takes the new room's views at once instead of ignoring them as older. Revisions stay
exact integers in JavaScript (below 2**53 until the year 2255); across nodes this assumes
clocks within the lifetime of a room of each other.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Generic, Protocol, TypeVar

from domain.consultation import Room

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

# Given the current room (None: no room), the new room (None: remove it; the same object:
# no change) and a result for the caller. It may raise a DomainError to refuse; nothing changes.
Change = Callable[[Room | None], tuple[Room | None, T]]


@dataclass(frozen=True, slots=True)
class Updated(Generic[T_co]):
    before: Room | None
    after: Room | None
    result: T_co
    changed: bool

    @property
    def removed(self) -> bool:
        return self.changed and self.before is not None and self.after is None

    @property
    def rev(self) -> int:
        """The revision of the new state (a removal also takes a revision)."""
        if self.after is not None:
            return self.after.rev
        return self.before.rev + 1 if self.before is not None else 0


def new_node_id() -> str:
    return uuid.uuid4().hex[:16]


def opening_rev() -> int:
    """The revision a new room opens at: microseconds since the epoch."""
    return time.time_ns() // 1000


def apply(before: Room | None, change: Change[T]) -> tuple[Room | None, T, bool]:
    """Run a change; stamp the new revision (the next one, or :func:`opening_rev` for a room
    that did not exist)."""
    after, result = change(before)
    if after is before:
        return before, result, False
    if after is not None:
        after = replace(after, rev=before.rev + 1 if before is not None else opening_rev())
    return after, result, True


class RoomRegistry(Protocol):
    node_id: str

    async def get(self, appointment_id: str) -> Room | None: ...

    def known(self, appointment_id: str) -> Room | None:
        """The room, when this node knows its current state without asking anyone; None when
        it must be read with :meth:`get` (the hot path of signals asks this first)."""

    async def update(self, appointment_id: str, change: Change[T]) -> Updated[T]: ...

    async def all(self) -> list[Room]: ...

    async def heartbeat(self) -> None:
        """Say this node is alive (called periodically)."""

    async def live_nodes(self, nodes: Iterable[str]) -> set[str]:
        """Which of these nodes are alive."""

    async def close(self) -> None: ...


class MemoryRoomRegistry:
    """One process: a dict. Changes are atomic because nothing awaits between read and write."""

    def __init__(self, node_id: str | None = None) -> None:
        self.node_id = node_id or new_node_id()
        self._rooms: dict[str, Room] = {}

    async def get(self, appointment_id: str) -> Room | None:
        return self._rooms.get(appointment_id)

    def known(self, appointment_id: str) -> Room | None:
        return self._rooms.get(appointment_id)

    async def update(self, appointment_id: str, change: Change[T]) -> Updated[T]:
        before = self._rooms.get(appointment_id)
        after, result, changed = apply(before, change)
        if changed:
            if after is None:
                self._rooms.pop(appointment_id, None)
            else:
                self._rooms[appointment_id] = after
        return Updated(before=before, after=after, result=result, changed=changed)

    async def all(self) -> list[Room]:
        return sorted(self._rooms.values(), key=lambda r: r.opened_at)

    async def heartbeat(self) -> None:
        return None

    async def live_nodes(self, nodes: Iterable[str]) -> set[str]:
        return {n for n in nodes if n == self.node_id}

    async def close(self) -> None:
        self._rooms.clear()
