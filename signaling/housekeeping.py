"""The hub's background loop and what it keeps in order.

Every tick (``tick_seconds``): expired tokens, slow clients (a socket whose unsent data is over
the limit). Every ``housekeeping_seconds``: the session check, then housekeeping proper: this
node's heartbeat in the registry, the sweep of rooms (seats of vanished sockets, expired and
cancelled consultations, nodes judged dead), seats this node's sockets lost without being told,
the gauges, and the jobs that follow (due reminders, overdue text consultations, recordings).
Between two runs the gauges are refreshed when a room changed. A job that fails (Redis down) is
logged and does not stop the others.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import structlog

from domain.clock import Clock
from domain.consultation import Room
from domain.ids import UserId
from signaling.consultations import Swept
from signaling.metrics import HubMetrics
from signaling.registry import Updated
from signaling.socket_rooms import consult_room

if TYPE_CHECKING:
    from signaling.hub import HubConfig

log = structlog.get_logger(__name__)


class Joined(Protocol):
    """What housekeeping reads (and writes) of a socket's record."""

    sid: str
    namespace: str
    appointment_id: str | None
    joins: int

    @property
    def user_id(self) -> UserId: ...


class Heartbeat(Protocol):
    async def heartbeat(self) -> None: ...


class Consultations(Protocol):
    """The consultation service: the registry's heartbeat, the sweep and the rooms."""

    @property
    def registry(self) -> Heartbeat: ...

    async def sweep(
        self, has_socket: Callable[[str], bool], *, judge_nodes: bool = True
    ) -> list[Swept]: ...

    async def rooms(self) -> list[Room]: ...


class SocketControl(Protocol):
    """The Socket.IO server, as housekeeping uses it."""

    async def leave_room(self, sid: str, room: str, namespace: str | None = None) -> None: ...

    async def emit_to(self, sid: str, event: str, data: Any, namespace: str = "/") -> None: ...

    async def disconnect(self, sid: str, namespace: str | None = None) -> None: ...

    def send_queue(self, sid: str, namespace: str) -> Any: ...


class TokenChecks(Protocol):
    """Sign-in enforcement (``signaling.sign_ins``)."""

    async def expire_tokens(self, now: datetime) -> None: ...

    async def check_sessions(self) -> None: ...


Finish = Callable[[Updated[Any], str, str], Awaitable[None]]
Publish = Callable[[Updated[Any]], Awaitable[None]]


class Gauges:
    """The rooms gauges (rooms active, patients waiting), refreshed when a room changed."""

    def __init__(self, metrics: HubMetrics, rooms: Callable[[], Awaitable[list[Room]]]) -> None:
        self._metrics = metrics
        self._rooms = rooms
        self.dirty = True

    def changed(self) -> None:
        self.dirty = True

    async def refresh(self) -> None:
        self.dirty = False
        rooms = await self._rooms()
        self._metrics.rooms_active.set(len(rooms))
        self._metrics.patients_waiting.set(sum(1 for r in rooms if r.patient_waiting))


class Housekeeping:
    def __init__(
        self,
        config: HubConfig,
        *,
        sockets: Mapping[str, Joined],
        sio: SocketControl,
        consult: Consultations,
        sign_ins: TokenChecks,
        gauges: Gauges,
        metrics: HubMetrics,
        finish: Finish,
        publish: Publish,
        jobs: Sequence[Callable[[], Awaitable[object]]],
        clock: Clock,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._sockets = sockets
        self._sio = sio
        self._consult = consult
        self._sign_ins = sign_ins
        self.gauges = gauges
        self._metrics = metrics
        self._finish = finish
        self._publish = publish
        self._jobs = jobs
        self._clock = clock
        self._monotonic = monotonic
        # Since when the registry answered without interruption; None while it does not.
        self._registry_ok_since: float | None = None

    def registry_answered(self) -> None:
        """The registry answered (at start): other nodes' heartbeats can be judged from now."""
        self._registry_ok_since = self._monotonic()

    async def run(self) -> None:
        """The background loop (until cancelled)."""
        last_housekeeping = float("-inf")
        while True:
            await asyncio.sleep(self._config.tick_seconds)
            try:
                await self._sign_ins.expire_tokens(self._clock())
                await self.drop_slow_clients()
                if self._monotonic() - last_housekeeping >= self._config.housekeeping_seconds:
                    last_housekeeping = self._monotonic()
                    await self._run_checked("session_check", self._sign_ins.check_sessions())
                    await self._run_checked("housekeeping", self.housekeeping())
                elif self.gauges.dirty:
                    await self.gauges.refresh()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("hub_housekeeping_failed", error=repr(exc))

    async def _run_checked(self, name: str, job: Awaitable[None]) -> None:
        """One housekeeping job; its failure (e.g. Redis down) does not stop the others."""
        try:
            await job
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if name == "housekeeping":
                self._registry_ok_since = None
            log.warning("hub_housekeeping_failed", job=name, error=repr(exc))

    async def housekeeping(self) -> None:
        consult = self._consult
        await consult.registry.heartbeat()
        now = self._monotonic()
        if self._registry_ok_since is None:
            self._registry_ok_since = now
        # Other nodes may have missed heartbeats only because the registry was unreachable: judge
        # them dead only after watching the registry for a whole node TTL again.
        judge = now - self._registry_ok_since >= self._config.node_ttl
        for swept in await consult.sweep(lambda sid: sid in self._sockets, judge_nodes=judge):
            if swept.ended == "expired":
                await self._finish(swept.update, "consult:ended", "expired")
            elif swept.ended is not None:  # e.g. cancelled over REST while the patient waited
                await self._finish(swept.update, "consult:closed", swept.ended)
            else:
                await self._publish(swept.update)
        await self.forget_lost_seats()
        await self.gauges.refresh()
        for job in self._jobs:
            await job()

    async def forget_lost_seats(self) -> None:
        """Sockets of this node that joined a consultation whose room no longer holds their
        seat, without their being told (Redis came back without its data; a seat taken by a
        new socket of the user on another node) leave its Socket.IO room, so its events stop
        reaching them; their next event there answers ``forbidden``. One whose user holds no
        seat there any more is told ``consult:seat_lost`` so that it joins again; one whose
        seat another socket of its user took was told ``consult:closed`` (``joined_elsewhere``)
        and must not take the seat back."""
        joined = [
            (conn, conn.appointment_id, conn.joins)
            for conn in self._sockets.values()
            if conn.appointment_id is not None
        ]
        if not joined:
            return
        # Read after the sockets were looked at: a join seen there is stored, so its seat is
        # in this read unless it went since. A socket that left or joined again meanwhile is
        # not this check's to judge.
        rooms: dict[str, Room] = {room.appointment_id: room for room in await self._consult.rooms()}
        for conn, appointment_id, joins in joined:
            room = rooms.get(appointment_id)
            if room is not None and room.holds(conn.sid):
                continue
            if conn.appointment_id != appointment_id or conn.joins != joins:
                continue
            conn.appointment_id = None
            await self._sio.leave_room(conn.sid, consult_room(appointment_id))
            # Replaced by another socket of its user, or a guest the doctor removed (told
            # consult:closed): not to be asked to join again.
            replaced = room is not None and (
                room.holds_participant(conn.user_id) or room.guest(conn.user_id) is not None
            )
            log.info("seat_lost", sid=conn.sid, appointment_id=appointment_id, replaced=replaced)
            if not replaced:
                await self._sio.emit_to(
                    conn.sid, "consult:seat_lost", {"appointment_id": appointment_id}
                )

    async def drop_slow_clients(self) -> None:
        """Disconnect sockets whose unsent outgoing data is over the limit (signaling/transport)."""
        limit = self._config.send_buffer_max_bytes
        for conn in list(self._sockets.values()):
            queue = self._sio.send_queue(conn.sid, conn.namespace)
            if queue is None or queue.queued <= limit:
                continue
            log.warning("slow_client_dropped", user_id=conn.user_id, queued=queue.queued)
            self._metrics.connections_refused.labels("slow_client").inc()
            queue.abort()
            await self._sio.disconnect(conn.sid, namespace=conn.namespace)
