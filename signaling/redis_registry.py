"""The room registry in Redis, shared by every hub node of a deployment.

Keys (``prefix`` names the deployment, so several can share one Redis):

* ``{prefix}:room:{appointment_id}``: the room as JSON; it also expires a day after its join
  window, so a room can never outlive a crash of every node by long;
* ``{prefix}:rooms``: the set of active appointment ids;
* ``{prefix}:node:{node_id}``: present while that hub node is alive (refreshed by its
  heartbeat, gone ``node_ttl`` seconds after the node stops).

A change is an optimistic transaction: WATCH the room, read it, compute the new room with the
pure change, then MULTI/EXEC; if another node changed the room in between, EXEC fails and the
change is computed again from the new state.

While Redis is unreachable, :meth:`RedisRoomRegistry.get` answers from the last state this node
saw of the rooms where it holds a seat, so a consultation whose participants are both on this
node goes on (signals, chat); every change still needs Redis (``unavailable`` until it is back).
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import RedisError, WatchError

from domain.appointments import AppointmentStatus
from domain.consultation import (
    GuestSeat,
    GuestState,
    Person,
    Proxy,
    Room,
    Seat,
    SeatState,
    WaitingNote,
)
from domain.errors import Unavailable
from domain.ids import AppointmentId, UserId
from domain.recording import CallConsent, RecordingState
from domain.screen_share import ScreenShare
from domain.users import Role
from signaling.registry import Change, Updated, apply, new_node_id

T = TypeVar("T")

MAX_ATTEMPTS = 100
# How long a room read or written stays known without another read, at most: announcements
# keep the cache exact; this bounds what one lost announcement could cost.
CACHE_SECONDS = 1.0
ROOM_KEEP = timedelta(days=1)


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def encode_room(room: Room) -> str:
    doc: dict[str, Any] = {
        "appointment_id": room.appointment_id,
        "doctor": [room.doctor.id, room.doctor.name],
        "patient": [room.patient.id, room.patient.name],
        "status": room.status.value,
        "opened_at": _time(room.opened_at),
        "closes_at": _time(room.closes_at),
        "waiting_since": _time(room.waiting_since),
        "started_at": _time(room.started_at),
        "message_count": room.message_count,
        "rev": room.rev,
        "seats": [
            {
                "user_id": s.user_id,
                "role": s.role.value,
                "name": s.name,
                "state": s.state.value,
                "sid": s.sid,
                "node": s.node,
                **(
                    {"proxy": [s.proxy.user_id, s.proxy.name, s.proxy.relation]}
                    if s.proxy is not None
                    else {}
                ),
            }
            for s in room.seats
        ],
    }
    if room.recording != RecordingState():
        doc["recording"] = {
            "consents": [[c.user_id, c.sid, c.notice_version] for c in room.recording.consents],
            "recording_id": room.recording.recording_id,
            "node": room.recording.node,
        }
    if room.waiting_note is not None:
        doc["waiting_note"] = [room.waiting_note.text, _time(room.waiting_note.sent_at)]
    if room.screen != ScreenShare():
        doc["screen"] = [room.screen.sharer, room.screen.patient_allowed]
    if room.guests:
        doc["guests"] = [
            [g.guest_id, g.name, g.kind, g.state.value, g.sid, g.node] for g in room.guests
        ]
    return json.dumps(doc, separators=(",", ":"))


def _decode_screen(doc: list[Any] | None) -> ScreenShare:
    if not doc:  # also rooms written before screen sharing existed
        return ScreenShare()
    sharer, allowed = doc
    return ScreenShare(sharer=UserId(sharer) if sharer else None, patient_allowed=bool(allowed))


def _decode_recording(doc: dict[str, Any] | None) -> RecordingState:
    if not doc:  # also rooms written before recording existed
        return RecordingState()
    return RecordingState(
        consents=tuple(CallConsent(UserId(u), s, v) for u, s, v in doc["consents"]),
        recording_id=doc["recording_id"],
        node=doc["node"],
    )


def decode_room(raw: str | bytes) -> Room:
    doc = json.loads(raw)
    opened_at = _parse_time(doc["opened_at"])
    closes_at = _parse_time(doc["closes_at"])
    assert opened_at is not None
    assert closes_at is not None
    return Room(
        appointment_id=AppointmentId(doc["appointment_id"]),
        doctor=Person(UserId(doc["doctor"][0]), doc["doctor"][1]),
        patient=Person(UserId(doc["patient"][0]), doc["patient"][1]),
        status=AppointmentStatus(doc["status"]),
        opened_at=opened_at,
        closes_at=closes_at,
        waiting_since=_parse_time(doc["waiting_since"]),
        started_at=_parse_time(doc["started_at"]),
        message_count=int(doc["message_count"]),
        rev=int(doc["rev"]),
        seats=tuple(
            Seat(
                user_id=UserId(s["user_id"]),
                role=Role(s["role"]),
                name=s["name"],
                state=SeatState(s["state"]),
                sid=s["sid"],
                node=s["node"],
                proxy=Proxy(UserId(s["proxy"][0]), s["proxy"][1], s["proxy"][2])
                if s.get("proxy")
                else None,
            )
            for s in doc["seats"]
        ),
        recording=_decode_recording(doc.get("recording")),
        waiting_note=_decode_note(doc.get("waiting_note")),
        screen=_decode_screen(doc.get("screen")),
        guests=tuple(  # absent in two-party rooms (and rooms written before guests existed)
            GuestSeat(guest_id, name, kind, GuestState(state), sid, node)
            for guest_id, name, kind, state, sid, node in doc.get("guests", ())
        ),
    )


def _decode_note(pair: list[str] | None) -> WaitingNote | None:
    if pair is None:  # also rooms written before notes were kept
        return None
    sent_at = _parse_time(pair[1])
    assert sent_at is not None
    return WaitingNote(text=pair[0], sent_at=sent_at)


class RedisRoomRegistry:
    def __init__(
        self,
        client: aioredis.Redis,
        *,
        prefix: str,
        node_ttl: int = 30,
        node_id: str | None = None,
    ) -> None:
        self._r = client
        self._prefix = prefix
        self._node_ttl = node_ttl
        self.node_id = node_id or new_node_id()
        # The last seen state of rooms where this node holds a seat (read during an outage).
        self._local: dict[str, Room] = {}
        # The rooms this node knows to be current (``known``), while it hears every change:
        # see "Two nodes" in docs/ARCHITECTURE.md.
        self._cache: dict[str, tuple[Room, float]] = {}
        self._floor: dict[str, int] = {}  # the newest revision announced, per room
        self._hearing = False
        self._epoch = 0  # grows each time this node starts or stops hearing every change
        self._notify: Callable[[str, int], Awaitable[None]] | None = None
        self._monotonic = time.monotonic

    # ------------------------------------------------------------------ the node's cache

    def announce_with(self, notify: Callable[[str, int], Awaitable[None]]) -> None:
        """Every stored change is announced with ``notify(appointment_id, rev)`` (the hub's
        Socket.IO channel); without it, nothing is cached."""
        self._notify = notify

    def listening(self, live: bool) -> None:
        """Whether this node hears every announced change from now on. When it stops, what it
        knew is forgotten, and so is any read that started before it hears again."""
        if not live:
            self._cache.clear()
            self._floor.clear()
        self._epoch += 1  # a read begun before now may be older than a change it missed
        self._hearing = live and self._notify is not None

    @property
    def hearing(self) -> bool:
        """Whether this node hears every announced change now (and so may use its cache)."""
        return self._hearing

    def room_changed(self, appointment_id: str, rev: int) -> None:
        """Some node stored revision ``rev`` of this room: an older state is not current."""
        if rev > self._floor.get(appointment_id, -1):
            self._floor[appointment_id] = rev
        cached = self._cache.get(appointment_id)
        if cached is not None and cached[0].rev < rev:
            del self._cache[appointment_id]

    def _remember(self, appointment_id: str, room: Room | None, epoch: int) -> None:
        """Keep a state read or written at ``epoch``, if it is still the newest known."""
        if not self._hearing or epoch != self._epoch:
            return
        if room is None:
            self._cache.pop(appointment_id, None)
        elif room.rev >= self._floor.get(appointment_id, -1):
            self._cache[appointment_id] = (room, self._monotonic())

    def known(self, appointment_id: str) -> Room | None:
        cached = self._cache.get(appointment_id)
        if cached is None or not self._hearing:
            return None
        room, at = cached
        if self._monotonic() - at > CACHE_SECONDS:  # bounds what a lost announcement costs
            del self._cache[appointment_id]
            return None
        return room

    def _seen(self, appointment_id: str, room: Room | None) -> None:
        if room is not None and any(s.node == self.node_id for s in room.occupants):
            self._local[appointment_id] = room
        else:
            self._local.pop(appointment_id, None)

    def _room_key(self, appointment_id: str) -> str:
        return f"{self._prefix}:room:{appointment_id}"

    @property
    def _index(self) -> str:
        return f"{self._prefix}:rooms"

    def _node_key(self, node_id: str) -> str:
        return f"{self._prefix}:node:{node_id}"

    async def get(self, appointment_id: str) -> Room | None:
        epoch = self._epoch
        try:
            raw = await self._r.get(self._room_key(appointment_id))
        except RedisError:
            known = self._local.get(appointment_id)
            if known is None:
                raise
            return known
        room = decode_room(raw) if raw is not None else None
        self._seen(appointment_id, room)
        self._remember(appointment_id, room, epoch)
        return room

    async def update(self, appointment_id: str, change: Change[T]) -> Updated[T]:
        key = self._room_key(appointment_id)
        epoch = self._epoch
        for _ in range(MAX_ATTEMPTS):
            async with self._r.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    before = decode_room(raw) if raw is not None else None
                    after, result, changed = apply(before, change)
                    if not changed:
                        self._seen(appointment_id, before)
                        return Updated(before=before, after=after, result=result, changed=False)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    if after is None:
                        pipe.delete(key)
                        pipe.srem(self._index, appointment_id)
                    else:
                        keep_until = after.closes_at + ROOM_KEEP
                        pipe.set(key, encode_room(after), exat=int(keep_until.timestamp()))
                        pipe.sadd(self._index, appointment_id)
                    await pipe.execute()
                except WatchError:
                    continue
                self._seen(appointment_id, after)
                update = Updated(before=before, after=after, result=result, changed=True)
                self.room_changed(appointment_id, update.rev)
                self._remember(appointment_id, after, epoch)
                if self._notify is not None:  # before anyone is told of the change
                    await self._notify(appointment_id, update.rev)
                return update
        raise Unavailable("the consultation could not be updated; try again")

    async def all(self) -> list[Room]:
        members = await self._r.smembers(self._index)
        ids = sorted(m.decode() if isinstance(m, bytes) else str(m) for m in members)
        if not ids:
            return []
        raws = await self._r.mget([self._room_key(i) for i in ids])
        rooms: list[Room] = []
        gone: list[str] = []
        for appointment_id, raw in zip(ids, raws, strict=True):
            if raw is None:
                gone.append(appointment_id)
            else:
                rooms.append(decode_room(raw))
        for appointment_id in gone:  # a room key that expired: forget it
            if not await self._r.exists(self._room_key(appointment_id)):
                await self._r.srem(self._index, appointment_id)
        for known in set(self._local) - {r.appointment_id for r in rooms}:
            self._local.pop(known, None)
        for room in rooms:
            self._seen(room.appointment_id, room)
        return sorted(rooms, key=lambda r: r.opened_at)

    async def heartbeat(self) -> None:
        await self._r.set(self._node_key(self.node_id), "1", ex=self._node_ttl)

    async def live_nodes(self, nodes: Iterable[str]) -> set[str]:
        wanted = sorted(set(nodes))
        if not wanted:
            return set()
        async with self._r.pipeline(transaction=False) as pipe:
            for node in wanted:
                pipe.exists(self._node_key(node))
            found = await pipe.execute()
        return {node for node, exists in zip(wanted, found, strict=True) if exists}

    async def close(self) -> None:
        await self._r.delete(self._node_key(self.node_id))
