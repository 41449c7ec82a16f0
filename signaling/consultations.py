"""Consultation use cases: join, admit, leave, end, close, disconnect, and the periodic sweep.

Each one reads the appointment (MongoDB, the source of truth for its status), moves its status
with the repository's compare-and-set ``transition`` when the room's rules say so, and changes
the room through the registry with a pure function of ``domain.consultation``. No sockets here:
the hub turns the results into events.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import structlog

from domain.appointments import FINAL_STATUSES, Appointment, AppointmentStatus
from domain.clock import Clock
from domain.consultation import (
    ConsultationOver,
    GuestJoined,
    GuestSeat,
    Joined,
    JoinWindow,
    NoRoom,
    NotStarted,
    Occupant,
    PatientNotWaiting,
    Proxy,
    Room,
    WaitingNote,
    status_on_join,
)
from domain.errors import Forbidden, NotFound
from domain.family import acts_for
from domain.ids import UserId
from domain.users import Role, User
from signaling.registry import RoomRegistry, Updated

log = structlog.get_logger(__name__)


class Appointments(Protocol):
    async def get(self, appointment_id: str) -> Appointment | None: ...

    async def get_many(self, appointment_ids: list[str]) -> dict[str, Appointment]: ...

    async def transition(
        self, appointment_id: str, target: AppointmentStatus, *, now: datetime
    ) -> Appointment | None: ...


class Users(Protocol):
    async def get_many(self, user_ids: list[str]) -> dict[UserId, User]: ...


class MessageCounter(Protocol):
    async def last_seq(self, appointment_id: str) -> int: ...


@dataclass(frozen=True, slots=True)
class Caller:
    """Who acts, through which socket (from the hub's own record of the connection)."""

    user_id: UserId
    name: str
    sid: str


@dataclass(frozen=True, slots=True)
class GuestCaller:
    """An invited guest, through which socket (from its checked guest session)."""

    guest_id: str
    appointment_id: str
    name: str
    kind: str
    sid: str


@dataclass(frozen=True, slots=True)
class Swept:
    update: Updated[None]
    # Why the room went: "expired" (its time ran out), or the appointment's final status when
    # it ended elsewhere (e.g. "cancelled" over REST); None: seats were only released.
    ended: str | None = None


def _proxy_of(caller: Caller, appointment: Appointment, patient: User | None) -> Proxy | None:
    """The caller as the holder of the appointment's patient (a family member they manage),
    or None when they are not (domain/family.py)."""
    if (
        patient is None
        or patient.managed_by is None
        or caller.user_id
        in (
            appointment.patient_id,
            appointment.doctor_id,
        )
    ):
        return None
    if not acts_for(caller.user_id, patient.id, patient.managed_by):
        return None
    return Proxy(user_id=caller.user_id, name=caller.name, relation=patient.relation)


class ConsultationService:
    def __init__(
        self,
        *,
        appointments: Appointments,
        users: Users,
        messages: MessageCounter,
        registry: RoomRegistry,
        window: JoinWindow,
        clock: Clock,
    ) -> None:
        self._appointments = appointments
        self._users = users
        self._messages = messages
        self.registry = registry
        self._window = window
        self._clock = clock

    @property
    def node_id(self) -> str:
        return self.registry.node_id

    # ------------------------------------------------------------------ reading

    async def room_for(self, sid: str, appointment_id: str) -> Room:
        """The room this socket holds a seat in; :class:`Forbidden` otherwise."""
        room = self.known_room_for(sid, appointment_id)
        if room is not None:
            return room
        room = await self.registry.get(appointment_id)
        if room is None or not room.holds(sid):
            raise Forbidden("join the consultation first")
        return room

    async def check_not_over(self, user_id: str, appointment_id: str) -> None:
        """:class:`ConsultationOver` when ``user_id`` is the doctor of an appointment that was
        cancelled or finished: the answer to the doctor's admission refused for want of a seat
        (the sweep closed the room, on this node or another). Anyone else learns nothing
        here."""
        appointment = await self._appointments.get(appointment_id)
        if (
            appointment is not None
            and appointment.doctor_id == user_id
            and appointment.status in FINAL_STATUSES
        ):
            raise ConsultationOver(f"this appointment is {appointment.status.value}")

    def known_room_for(self, sid: str, appointment_id: str) -> Room | None:
        """:meth:`room_for` without waiting, when the registry knows the room's current state;
        None when it must be read."""
        room = self.registry.known(appointment_id)
        if room is not None and not room.holds(sid):
            raise Forbidden("join the consultation first")
        return room

    async def rooms(self) -> list[Room]:
        return await self.registry.all()

    # ------------------------------------------------------------------ participants

    async def join(self, caller: Caller, appointment_id: str) -> Updated[Joined]:
        appointment = await self._appointments.get(appointment_id)
        if appointment is None:
            raise NotFound("no such appointment")
        # What a new room needs (the room may vanish before the change is applied, so always);
        # the patient's record also says who manages them.
        names = await self._users.get_many([appointment.doctor_id, appointment.patient_id])
        proxy = _proxy_of(caller, appointment, names.get(appointment.patient_id))
        if not appointment.is_participant(caller.user_id) and proxy is None:
            raise NotFound("no such appointment")
        role = Role.DOCTOR if caller.user_id == appointment.doctor_id else Role.PATIENT
        # The holder of a family member takes the patient's seat, on their behalf.
        seat_user = appointment.patient_id if proxy is not None else caller.user_id
        seat_name = _name(names, appointment.patient_id) if proxy is not None else caller.name
        now = self._clock()
        self._window.check(appointment, now)
        target = status_on_join(appointment, role)
        if target is not None:
            moved = await self._appointments.transition(appointment_id, target, now=now)
            if moved is None:  # it changed meanwhile (cancelled, or another tab): look again
                appointment = await self._require(appointment_id)
                self._window.check(appointment, now)
            else:
                appointment = moved

        message_count = await self._messages.last_seq(appointment_id)
        fresh = appointment

        def change(room: Room | None) -> tuple[Room | None, Joined]:
            if room is None:
                room = Room.open(
                    fresh,
                    doctor_name=_name(names, fresh.doctor_id),
                    patient_name=_name(names, fresh.patient_id),
                    window=self._window,
                    now=now,
                ).counted(message_count)
            return room.join(
                user_id=seat_user,
                name=seat_name,
                sid=caller.sid,
                node=self.node_id,
                status=fresh.status,
                now=now,
                proxy=proxy,
            )

        update = await self.registry.update(appointment_id, change)
        if update.before is None:
            # The room was just opened: make sure the consultation did not end meanwhile (a
            # doctor ending it on another node removes the room after completing it).
            latest = await self._require(appointment_id)
            if latest.status in FINAL_STATUSES:
                await self.registry.update(appointment_id, lambda r: (None, None))
                raise ConsultationOver(f"this appointment is {latest.status.value}")
        return update

    async def join_guest(self, guest: GuestCaller) -> Updated[GuestJoined]:
        """An invited guest (its session already checked: it is for this appointment) joins:
        the room opens if nobody is in it yet, and the guest waits for the doctor."""
        appointment = await self._require(guest.appointment_id)
        now = self._clock()
        self._window.check(appointment, now)
        names = await self._users.get_many([appointment.doctor_id, appointment.patient_id])
        message_count = await self._messages.last_seq(appointment.id)

        def change(room: Room | None) -> tuple[Room | None, GuestJoined]:
            if room is None:
                room = Room.open(
                    appointment,
                    doctor_name=_name(names, appointment.doctor_id),
                    patient_name=_name(names, appointment.patient_id),
                    window=self._window,
                    now=now,
                ).counted(message_count)
            return room.guest_join(
                guest_id=guest.guest_id,
                name=guest.name,
                kind=guest.kind,
                sid=guest.sid,
                node=self.node_id,
            )

        update = await self.registry.update(appointment.id, change)
        if update.before is None:  # opened just now: the consultation may have ended meanwhile
            latest = await self._require(appointment.id)
            if latest.status in FINAL_STATUSES:
                await self.registry.update(appointment.id, lambda r: (None, None))
                raise ConsultationOver(f"this appointment is {latest.status.value}")
        return update

    async def admit_guest(
        self, caller: Caller, appointment_id: str, guest_id: str
    ) -> Updated[GuestSeat]:
        def change(room: Room | None) -> tuple[Room | None, GuestSeat]:
            if room is None:
                raise Forbidden("join the consultation first")
            return room.admit_guest(caller.sid, guest_id)

        return await self.registry.update(appointment_id, change)

    async def remove_guest(
        self, caller: Caller, appointment_id: str, guest_id: str
    ) -> Updated[GuestSeat]:
        def change(room: Room | None) -> tuple[Room | None, GuestSeat]:
            if room is None:
                raise Forbidden("join the consultation first")
            return room.remove_guest(caller.sid, guest_id)

        return await self.registry.update(appointment_id, change)

    async def admit(self, caller: Caller, appointment_id: str) -> Updated[None]:
        room = await self.room_for(caller.sid, appointment_id)
        room.check_admit(caller.sid)
        now = self._clock()
        moved = await self._appointments.transition(
            appointment_id, AppointmentStatus.IN_PROGRESS, now=now
        )
        if moved is None:
            appointment = await self._require(appointment_id)
            if appointment.status in FINAL_STATUSES:  # e.g. cancelled meanwhile
                raise ConsultationOver(f"this appointment is {appointment.status.value}")
            if appointment.status is not AppointmentStatus.IN_PROGRESS:
                raise PatientNotWaiting(f"the appointment is {appointment.status.value}")
            now = appointment.started_at or now
        return await self.registry.update(
            appointment_id, lambda r: (r.started(now) if r is not None else None, None)
        )

    async def leave(self, caller: Caller, appointment_id: str) -> Updated[None]:
        def change(room: Room | None) -> tuple[Room | None, None]:
            if room is None:
                raise Forbidden("join the consultation first")
            return room.leave(caller.sid), None

        return await self.registry.update(appointment_id, change)

    async def share_screen(
        self, caller: Caller, appointment_id: str, sharing: bool
    ) -> Updated[None]:
        def change(room: Room | None) -> tuple[Room | None, None]:
            if room is None:
                raise Forbidden("join the consultation first")
            return room.share_screen(caller.sid, sharing), None

        return await self.registry.update(appointment_id, change)

    async def allow_screen(
        self, caller: Caller, appointment_id: str, allowed: bool
    ) -> Updated[None]:
        def change(room: Room | None) -> tuple[Room | None, None]:
            if room is None:
                raise Forbidden("join the consultation first")
            return room.allow_screen(caller.sid, allowed), None

        return await self.registry.update(appointment_id, change)

    async def end(self, caller: Caller, appointment_id: str) -> Updated[None]:
        room = await self.room_for(caller.sid, appointment_id)
        room.check_end(caller.sid)
        moved = await self._appointments.transition(
            appointment_id, AppointmentStatus.COMPLETED, now=self._clock()
        )
        if moved is None:
            appointment = await self._require(appointment_id)
            if appointment.status is not AppointmentStatus.COMPLETED:
                raise NotStarted(f"the appointment is {appointment.status.value}")
        return await self.registry.update(appointment_id, lambda r: (None, None))

    async def disconnect(self, sid: str, appointment_id: str) -> Updated[None]:
        return await self.registry.update(
            appointment_id, lambda r: (r.disconnect(sid) if r is not None else None, None)
        )

    async def note_waiting(self, sid: str, appointment_id: str, text: str) -> Updated[WaitingNote]:
        """The patient waiting on ``sid`` leaves the doctor a message, kept with the room."""
        now = self._clock()

        def change(room: Room | None) -> tuple[Room | None, WaitingNote]:
            if room is None:
                raise Forbidden("join the consultation first")
            return room.noted(sid, text, now)

        return await self.registry.update(appointment_id, change)

    async def count_message(self, appointment_id: str, seq: int) -> Updated[None]:
        return await self.registry.update(
            appointment_id, lambda r: (r.counted(seq) if r is not None else None, None)
        )

    # ------------------------------------------------------------------ admins

    async def close(self, appointment_id: str) -> Updated[None]:
        """An admin closes the room: it goes, and a consultation in progress is completed."""
        room = await self.registry.get(appointment_id)
        if room is None:
            raise NoRoom("no active consultation room for this appointment")
        await self._appointments.transition(
            appointment_id, AppointmentStatus.COMPLETED, now=self._clock()
        )
        update = await self.registry.update(appointment_id, lambda r: (None, None))
        if not update.changed:
            raise NoRoom("no active consultation room for this appointment")
        return update

    # ------------------------------------------------------------------ housekeeping

    async def sweep(
        self, has_socket: Callable[[str], bool], *, judge_nodes: bool = True
    ) -> list[Swept]:
        """Release seats held through dead hub nodes, or through sockets this node no longer
        has (``has_socket``), and end consultations nobody can come back to. With
        ``judge_nodes`` false (just after a registry outage) every other node counts as alive."""
        results: list[Swept] = []
        rooms = await self.registry.all()
        nodes = {s.node for r in rooms for s in r.seats if s.node is not None} - {self.node_id}
        # Only nodes seen in this read and found gone: a seat taken since then through a node
        # not judged here (a join racing the sweep) is not this sweep's to release.
        dead = nodes - await self.registry.live_nodes(nodes) if judge_nodes else set()

        def stale(seat: Occupant) -> bool:
            if seat.node == self.node_id:
                return seat.sid is not None and not has_socket(seat.sid)
            return seat.node in dead

        for room in rooms:
            # Only a room this read shows something to do in is written (in Redis each write is
            # a transaction of its own): a seat that went stale since is the next sweep's.
            if not room.stale_seats(stale) and not room.is_expired(self._clock()):
                continue
            update = await self.registry.update(
                room.appointment_id,
                lambda r: (r.release_where(stale) if r is not None else None, None),
            )
            if update.changed:
                results.append(Swept(update=update))
            now = self._clock()
            current = update.after
            if current is None or not current.is_expired(now):
                continue
            if current.status is AppointmentStatus.IN_PROGRESS:
                await self._appointments.transition(
                    room.appointment_id, AppointmentStatus.COMPLETED, now=now
                )
            update = await self.registry.update(room.appointment_id, _expire_at(now))
            if update.changed:
                log.info("consultation_expired", appointment_id=room.appointment_id)
                results.append(Swept(update=update, ended="expired"))
        results.extend(await self._drop_ended_elsewhere(rooms))
        return results

    async def _drop_ended_elsewhere(self, rooms: list[Room]) -> list[Swept]:
        """Rooms whose appointment was cancelled (or otherwise finished) outside the hub while
        someone waited in them: they go."""
        waiting: list[str] = [
            r.appointment_id for r in rooms if r.status is not AppointmentStatus.IN_PROGRESS
        ]
        appointments = await self._appointments.get_many(waiting)
        results: list[Swept] = []
        for appointment_id in waiting:
            appointment = appointments.get(appointment_id)
            if appointment is not None and appointment.status not in FINAL_STATUSES:
                continue
            update = await self.registry.update(
                appointment_id,
                lambda r: (
                    None if r is not None and r.status is not AppointmentStatus.IN_PROGRESS else r,
                    None,
                ),
            )
            if update.changed:
                reason = appointment.status.value if appointment is not None else "cancelled"
                log.info(
                    "consultation_ended_elsewhere", appointment_id=appointment_id, reason=reason
                )
                results.append(Swept(update=update, ended=reason))
        return results

    async def _require(self, appointment_id: str) -> Appointment:
        appointment = await self._appointments.get(appointment_id)
        if appointment is None:
            raise NotFound("no such appointment")
        return appointment


def _name(names: dict[UserId, User], user_id: UserId) -> str:
    user = names.get(user_id)
    return user.name if user is not None else ""


def _expire_at(now: datetime) -> Callable[[Room | None], tuple[Room | None, None]]:
    def expire(room: Room | None) -> tuple[Room | None, None]:
        return (None if room is not None and room.is_expired(now) else room), None

    return expire
