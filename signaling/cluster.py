"""The cluster protocol: what hub nodes tell each other, and the bus that carries it.

A deployment with Redis runs several hub nodes; each holds some of the sockets, and the rooms
live in the Redis registry. The nodes tell each other three things, on the Socket.IO channel
(so that every node hears them in one order with the emits):

* :class:`RoomChanged`: a room's new revision was stored (after the registry stored it, before
  anyone is told). Each node's room cache (``RedisRoomRegistry``, the :class:`RoomCache`) drops
  what is older.
* :class:`Relay`: a signal for a socket of another node, sent to that node's channel alone; that
  node delivers it only if, as it knows the room, the sender still signals to that socket.
* :class:`SessionEnded`: a sign-in ended (logout, revocation); every node drops its sockets.

A node also probes the channel (``ROOM_PROBE``, to itself) after each subscription: until the
probe comes back it may have missed changes, and says so (:meth:`ClusterListener.listening`).

The wire format is one JSON object per message, ``method`` naming it and ``host_id`` the sending
node; it is fixed (nodes of two versions share the channel during a rolling deploy).

Two buses behind one interface (:class:`ClusterBus`), chosen in ``server/app.py``:
:class:`MemoryBus` for one process (nobody else to tell) and :class:`RedisBus` over the Socket.IO
Redis manager (``signaling/transport``, which publishes in call order and listens). The messages
are plain dataclasses, and a relay a plain dict: it is built once per signal and read as it
arrives, with no validation beyond the type checks that keep a malformed one from the hub.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NotRequired, Protocol, TypedDict, cast

import structlog

from signaling.tasks import cancel_and_wait

if TYPE_CHECKING:
    from signaling.transport import HubRedisManager

log = structlog.get_logger(__name__)

# The ``method`` of each message on the wire.
ROOM_CHANGED = "hub_room_changed"
ROOM_PROBE = "hub_room_probe"
RELAY = "hub_relay"
SESSION_ENDED = "hub_session_ended"
HUB_METHODS = (ROOM_CHANGED, ROOM_PROBE, RELAY, SESSION_ENDED)

# What a ``SESSION_ENDED`` message may carry: a session id as the database stores them, and a
# reason in the contract's words (lower case and underscores). Anything else is malformed.
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_END_REASON = re.compile(r"[a-z_]{1,32}")


@dataclass(frozen=True, slots=True)
class RoomChanged:
    appointment_id: str
    rev: int

    def wire(self, host_id: str) -> dict[str, Any]:
        return {"method": ROOM_CHANGED, "appointment_id": self.appointment_id, "rev": self.rev,
                "host_id": host_id}  # fmt: skip

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> RoomChanged:
        return cls(str(data["appointment_id"]), int(data["rev"]))


class Relay(TypedDict):
    """A signal for socket ``to`` of another node, from socket ``from_sid``, in consultation
    ``appointment_id``; ``signal`` is the ``rtc:signal`` payload as the peer receives it;
    ``target``, when the sender named one (a call with a guest), the participant it is for. A
    plain dict (the message as it goes on the wire, less ``method`` and ``host_id``, which the
    Redis manager adds): one is built per signal to another node, and read as it arrives."""

    appointment_id: str
    from_sid: str
    to: str
    signal: Any
    target: NotRequired[str]


def relay_from_wire(data: dict[str, Any]) -> Relay | None:
    """The relay as it arrived (no copy), or None if it lacks its addresses."""
    if not (
        isinstance(data.get("to"), str)
        and isinstance(data.get("appointment_id"), str)
        and isinstance(data.get("from_sid"), str)
        and isinstance(data.get("target", ""), str)
    ):
        return None
    return cast(Relay, data)


@dataclass(frozen=True, slots=True)
class SessionEnded:
    session_id: str
    reason: str

    def wire(self, host_id: str) -> dict[str, Any]:
        return {"method": SESSION_ENDED, "session_id": self.session_id, "reason": self.reason,
                "host_id": host_id}  # fmt: skip

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> SessionEnded | None:
        """None (logged) for a malformed one: a session id or reason out of their shapes."""
        session_id, reason = data.get("session_id"), data.get("reason")
        if not (
            isinstance(session_id, str)
            and isinstance(reason, str)
            and _SESSION_ID.fullmatch(session_id)
            and _END_REASON.fullmatch(reason)
        ):
            log.warning("hub_session_ended_malformed", host_id=str(data.get("host_id"))[:64])
            return None
        return cls(session_id, reason)


class RoomCache(Protocol):
    """A node's cache of the rooms (``RedisRoomRegistry``): exact while it hears every change."""

    def room_changed(self, appointment_id: str, rev: int) -> None: ...

    def listening(self, live: bool) -> None: ...


class ClusterListener(Protocol):
    """What a node does with what the other nodes tell it."""

    def room_changed(self, appointment_id: str, rev: int) -> None: ...

    def listening(self, live: bool) -> None:
        """Whether this node hears every message from now on (False: it may have missed some)."""
        ...

    # A signal another node relayed to a socket of this node.
    relayed: Callable[[Relay], Awaitable[None]]

    def session_ended(self, session_id: str, reason: str) -> None:
        """A sign-in ended on another node: this node's sockets of it go (nothing else)."""
        ...


class NodeListener:
    """A hub node's listener: room changes and whether the node hears them go to its room cache
    (a Redis registry; none in one process), relayed signals and ended sign-ins to the hub."""

    def __init__(
        self,
        cache: RoomCache | None,
        *,
        relayed: Callable[[Relay], Awaitable[None]],
        session_ended: Callable[[str, str], None],
    ) -> None:
        self._cache = cache
        # The hub's own, called directly (no wrapper coroutine per relayed signal).
        self.relayed = relayed
        self._session_ended = session_ended

    def room_changed(self, appointment_id: str, rev: int) -> None:
        if self._cache is not None:
            self._cache.room_changed(appointment_id, rev)

    def listening(self, live: bool) -> None:
        if self._cache is not None:
            self._cache.listening(live)

    def session_ended(self, session_id: str, reason: str) -> None:
        self._session_ended(session_id, reason)


class ClusterBus(Protocol):
    """How a node tells the others (and hears them)."""

    @property
    def shared(self) -> bool:
        """Whether other nodes may hold sockets (a signal's peer may be elsewhere)."""
        ...

    def serve(self, node_id: str, listener: ClusterListener) -> None:
        """Hear the messages for every node and for ``node_id``; before the bus is started."""
        ...

    async def room_changed(self, appointment_id: str, rev: int) -> None: ...

    async def relay(self, relay: Relay, *, node: str | None) -> None:
        """Send a signal to ``node`` (that of its target socket; every node if not known).
        Raises ``Unavailable`` when it could not be sent."""
        ...

    async def session_ended(self, session_id: str, reason: str) -> None:
        """Never raises: a node that misses it finds out at its next session check."""
        ...

    async def close(self) -> None: ...


class MemoryBus:
    """One process: there is no other node to tell or to hear."""

    shared = False

    def serve(self, node_id: str, listener: ClusterListener) -> None:
        return None

    async def room_changed(self, appointment_id: str, rev: int) -> None:
        return None

    async def relay(self, relay: Relay, *, node: str | None) -> None:
        raise RuntimeError("one process has no other node to relay to")

    async def session_ended(self, session_id: str, reason: str) -> None:
        return None

    async def close(self) -> None:
        return None


class RedisBus:
    """Several nodes: the messages go on the Socket.IO Redis channel (the manager publishes
    them in call order, a relay on its target node's own channel, and hears both)."""

    shared = True

    def __init__(self, manager: HubRedisManager) -> None:
        self.manager = manager

    def serve(self, node_id: str, listener: ClusterListener) -> None:
        self.manager.serve_node(node_id)
        self.manager.events = _Decoding(listener)

    async def room_changed(self, appointment_id: str, rev: int) -> None:
        await self.manager.publish_room_change(appointment_id, rev)

    async def relay(self, relay: Relay, *, node: str | None) -> None:
        await self.manager.publish_relay(relay, node=node)

    async def session_ended(self, session_id: str, reason: str) -> None:
        await self.manager.publish_session_ended(session_id, reason)

    async def close(self) -> None:
        """Stop listening and close the manager's connections (what was still to be published
        is not)."""
        thread = getattr(self.manager, "thread", None)
        if isinstance(thread, asyncio.Task):
            await cancel_and_wait(thread)
        await self.manager.close_connections()


class _Decoding:
    """The manager's ``RoomEvents``: relays arrive as their wire dicts and are read here once."""

    def __init__(self, listener: ClusterListener) -> None:
        self._listener = listener
        self._relayed = listener.relayed

    def room_changed(self, appointment_id: str, rev: int) -> None:
        self._listener.room_changed(appointment_id, rev)

    def listening(self, live: bool) -> None:
        self._listener.listening(live)

    async def relayed(self, message: dict[str, Any]) -> None:
        relay = relay_from_wire(message)
        if relay is not None:
            await self._relayed(relay)

    def session_ended(self, session_id: str, reason: str) -> None:
        self._listener.session_ended(session_id, reason)
