"""The consultation room as a pure state machine (no I/O; time is passed in).

A room exists while somebody is in an appointment's consultation. It has two seats, the
appointment's doctor and patient. Each seat is ``waiting`` (the patient, before being
admitted), ``admitted`` or ``left``, and is held by at most one socket (``sid`` on hub node
``node``); a seat without a socket is disconnected.

    doctor joins              -> admitted at once
    patient joins             -> waiting, or admitted at once when the consultation is in progress
    patient writes (waiting)  -> the room keeps the latest message for the doctor
    doctor admits the patient -> the appointment goes in_progress, the patient is admitted
    doctor ends               -> the appointment is completed, the room goes
    an admin closes the room  -> the room goes (an appointment in progress is completed)
    drop / leave              -> the seat is released; the consultation goes on, and its
                                 participants may come back until it ends

A third participant (domain.guests: an interpreter, a family member, a colleague) holds a
guest seat of its own, beside the two: it joins with its guest session and waits, the doctor
admits or removes it, and it leaves or drops as the others do. The two seats' rules do not
change with guests present; a room without guests is exactly the two-party room.

    guest joins               -> waiting (admitted again at once after a drop, once admitted)
    doctor admits the guest   -> admitted (into the call: it signals to each peer by id)
    doctor removes the guest  -> removed: its socket goes, it cannot come back

A room whose consultation has not started is dropped as soon as nobody is connected to it;
one in progress stays (the doctor may drop and rejoin) until it is ended, closed, or expires
(nobody connected and the join window over).

Every method returns a new ``Room``: the registry applies them atomically (compare-and-set),
so the same rules hold with one process or many.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from domain.appointments import FINAL_STATUSES, Appointment, AppointmentKind, AppointmentStatus
from domain.clock import iso_z
from domain.errors import Conflict, Forbidden, NotFound
from domain.ids import AppointmentId, UserId
from domain.recording import Present, RecordingState
from domain.screen_share import ScreenShare
from domain.users import Role


class SeatState(StrEnum):
    WAITING = "waiting"
    ADMITTED = "admitted"
    LEFT = "left"


# ----------------------------------------------------------------------------- errors


class TooEarly(Conflict):
    code = "too_early"
    title = "The consultation is not open yet"

    def __init__(self, opens_at: datetime) -> None:
        super().__init__(
            f"the consultation opens at {iso_z(opens_at)}", details={"opens_at": iso_z(opens_at)}
        )
        self.opens_at = opens_at


class ConsultationOver(Conflict):
    code = "consultation_over"
    title = "The consultation is over"


class NotVideo(Conflict):
    code = "not_video"
    title = "This appointment is not a video consultation"


class InAnotherConsultation(Conflict):
    code = "in_another_consultation"
    title = "This connection is already in another consultation"


class PatientNotWaiting(Conflict):
    code = "patient_not_waiting"
    title = "No patient is waiting"


class NotStarted(Conflict):
    code = "not_started"
    title = "The consultation has not started"


class NotWaiting(Conflict):
    code = "not_waiting"
    title = "Only a patient in the waiting room sends this"


class GuestNotWaiting(Conflict):
    code = "guest_not_waiting"
    title = "That guest is not waiting to be admitted"


class GuestRemoved(Forbidden):
    code = "guest_removed"
    title = "The doctor removed you from this consultation"


class RoomFull(Conflict):
    code = "room_full"
    title = "The call already has as many guests as it takes"


# How many guests may be in the call at once: every browser sends its media to every other
# one (a mesh), so each more participant costs each one an upload.
MAX_ADMITTED_GUESTS = 2


class NoRoom(NotFound):
    """No active consultation room for that appointment."""


# ----------------------------------------------------------------------------- join window


@dataclass(frozen=True, slots=True)
class JoinWindow:
    """An appointment can be joined from ``early`` before its start until it is completed,
    cancelled, or its end plus ``grace`` has passed. A consultation already in progress stays
    joinable (the doctor may drop and come back) until it ends."""

    early: timedelta
    grace: timedelta

    def opens_at(self, appointment: Appointment) -> datetime:
        return appointment.start - self.early

    def closes_at(self, appointment: Appointment) -> datetime:
        return appointment.end + self.grace

    def check(self, appointment: Appointment, now: datetime) -> None:
        if appointment.kind is not AppointmentKind.VIDEO:
            raise NotVideo(
                "this is a text consultation: open its chat, not a video room"
                if appointment.kind is AppointmentKind.TEXT
                else "this appointment is in person, not by video"
            )
        if appointment.status in FINAL_STATUSES:
            raise ConsultationOver(f"this appointment is {appointment.status.value}")
        if appointment.status is AppointmentStatus.IN_PROGRESS:
            return
        if now < self.opens_at(appointment):
            raise TooEarly(self.opens_at(appointment))
        if now > self.closes_at(appointment):
            raise ConsultationOver("the time for this consultation has passed")


def status_on_join(appointment: Appointment, role: Role) -> AppointmentStatus | None:
    """The appointment status a join produces: a patient arriving for a booked appointment
    puts it in the waiting room. (Admitting produces ``in_progress``, ending ``completed``.)"""
    if role is Role.PATIENT and appointment.status is AppointmentStatus.BOOKED:
        return AppointmentStatus.WAITING
    return None


# ----------------------------------------------------------------------------- the room


@dataclass(frozen=True, slots=True)
class Person:
    id: UserId
    name: str


@dataclass(frozen=True, slots=True)
class Proxy:
    """Who holds a patient's seat on the patient's behalf: the account that manages them
    (domain/family.py), and what the patient is to that account."""

    user_id: UserId
    name: str
    relation: str | None


@dataclass(frozen=True, slots=True)
class Seat:
    user_id: UserId
    role: Role
    name: str
    state: SeatState
    sid: str | None = None  # the socket holding the seat; None: disconnected
    node: str | None = None  # the hub node that socket is connected to
    # The patient's seat taken by their holder (a family member's consultation): the seat
    # stays the patient's (``user_id``), held by this account's socket.
    proxy: Proxy | None = None

    @property
    def connected(self) -> bool:
        return self.sid is not None

    def released(self, state: SeatState | None = None) -> Seat:
        return replace(self, sid=None, node=None, state=state or self.state)


class GuestState(StrEnum):
    WAITING = "waiting"
    ADMITTED = "admitted"
    LEFT = "left"
    REMOVED = "removed"  # by the doctor: it may not come back


@dataclass(frozen=True, slots=True)
class GuestSeat:
    """An invited guest's seat (``guest_id`` is its invitation's id; domain.guests)."""

    guest_id: str
    name: str
    kind: str  # domain.guests.GuestKind's value
    state: GuestState
    sid: str | None = None
    node: str | None = None

    @property
    def connected(self) -> bool:
        return self.sid is not None

    @property
    def in_call(self) -> bool:
        return self.state is GuestState.ADMITTED and self.sid is not None

    def released(self, state: GuestState | None = None) -> GuestSeat:
        return replace(self, sid=None, node=None, state=state or self.state)


# Whoever holds a socket in a room: one of the two seats, or a guest's.
Occupant = Seat | GuestSeat


@dataclass(frozen=True, slots=True)
class GuestJoined:
    state: GuestState
    replaced_sid: str | None = None


@dataclass(frozen=True, slots=True)
class WaitingNote:
    """What the waiting patient last told the doctor ("I'm here, my connection is weak"): kept
    with the room until the patient is admitted, so a console opened later shows it too."""

    text: str
    sent_at: datetime


@dataclass(frozen=True, slots=True)
class Joined:
    """What a join did: the seat's state, and the socket it took the seat from (a reload or a
    second tab of the same user), which the hub tells and removes."""

    role: Role
    state: SeatState
    replaced_sid: str | None = None


@dataclass(frozen=True, slots=True)
class Room:
    appointment_id: AppointmentId
    doctor: Person
    patient: Person
    status: AppointmentStatus  # mirrors the appointment: booked, waiting or in_progress
    opened_at: datetime
    closes_at: datetime  # end of the join window
    waiting_since: datetime | None = None
    started_at: datetime | None = None
    message_count: int = 0
    seats: tuple[Seat, ...] = ()  # doctor first, then patient
    rev: int = 0  # bumped by the registry on every stored change
    # Consents to recording and the recording running (domain.recording); the recorder is a
    # hidden participant: it holds no seat.
    recording: RecordingState = field(default_factory=RecordingState)
    waiting_note: WaitingNote | None = None  # the waiting patient's latest message
    # Who shares their screen, and whether the doctor lets the patient (domain.screen_share).
    screen: ScreenShare = field(default_factory=ScreenShare)
    # Invited guests (a third participant), in the order they first joined; empty in a
    # two-party consultation.
    guests: tuple[GuestSeat, ...] = ()

    @classmethod
    def open(
        cls,
        appointment: Appointment,
        *,
        doctor_name: str,
        patient_name: str,
        window: JoinWindow,
        now: datetime,
    ) -> Room:
        return cls(
            appointment_id=appointment.id,
            doctor=Person(appointment.doctor_id, doctor_name),
            patient=Person(appointment.patient_id, patient_name),
            status=appointment.status,
            opened_at=now,
            closes_at=window.closes_at(appointment),
            waiting_since=appointment.waiting_since,
            started_at=appointment.started_at,
        )

    # ------------------------------------------------------------------ reading

    def role_of(self, user_id: str) -> Role | None:
        if user_id == self.doctor.id:
            return Role.DOCTOR
        if user_id == self.patient.id:
            return Role.PATIENT
        return None

    def seat_of_user(self, user_id: str) -> Seat | None:
        for seat in self.seats:  # a loop, not a generator: this is on every signal's path
            if seat.user_id == user_id:
                return seat
        return None

    def seat_of_sid(self, sid: str) -> Seat | None:
        for seat in self.seats:
            if seat.sid == sid:
                return seat
        return None

    def require_seat(self, sid: str) -> Seat:
        """The seat this socket holds; :class:`Forbidden` when it holds none."""
        seat = self.seat_of_sid(sid)
        if seat is None:
            raise Forbidden("join the consultation first")
        return seat

    def other_seat(self, seat: Seat) -> Seat | None:
        for other in self.seats:
            if other.user_id != seat.user_id:
                return other
        return None

    @property
    def present(self) -> Present:
        """The (user, socket) of every admitted, connected seat: who is in the call."""
        return frozenset(
            (s.user_id, s.sid)
            for s in self.seats
            if s.state is SeatState.ADMITTED and s.sid is not None
        )

    @property
    def anyone_connected(self) -> bool:
        return any(s.connected for s in self.seats) or any(g.connected for g in self.guests)

    @property
    def patient_waiting(self) -> bool:
        seat = self.seat_of_user(self.patient.id)
        return seat is not None and seat.state is SeatState.WAITING and seat.connected

    def guest(self, guest_id: str) -> GuestSeat | None:
        for guest in self.guests:
            if guest.guest_id == guest_id:
                return guest
        return None

    def guest_of_sid(self, sid: str) -> GuestSeat | None:
        for guest in self.guests:
            if guest.sid == sid:
                return guest
        return None

    @property
    def occupants(self) -> tuple[Occupant, ...]:
        """Every seat, the two and the guests'."""
        return (*self.seats, *self.guests)

    def node_of_sid(self, sid: str) -> str | None:
        """The hub node holding this socket's seat (a guest's too)."""
        seat: Occupant | None = self.seat_of_sid(sid) or self.guest_of_sid(sid)
        return seat.node if seat is not None else None

    def holds(self, sid: str) -> bool:
        """Whether this socket holds a seat here, a guest's too."""
        return self.seat_of_sid(sid) is not None or self.guest_of_sid(sid) is not None

    def holds_participant(self, participant_id: str) -> bool:
        """Whether a participant (a user's seat or a guest, by id) has a place in this room."""
        if self.seat_of_user(participant_id) is not None:
            return True
        guest = self.guest(participant_id)
        return guest is not None and guest.state is not GuestState.REMOVED

    def is_expired(self, now: datetime) -> bool:
        """Nobody is connected and the join window is over: nobody can come back."""
        return not self.anyone_connected and now > self.closes_at

    def relay_target(self, sid: str) -> tuple[Seat, Seat | None]:
        """For a signal from ``sid``: the sender's seat and the seat to deliver to (``None``
        when the other participant is not admitted and connected). Only an admitted
        participant may signal."""
        seat = self.require_seat(sid)
        if seat.state is not SeatState.ADMITTED:
            raise Forbidden("you have not been admitted to this consultation yet")
        peer = self.other_seat(seat)
        if peer is None or peer.state is not SeatState.ADMITTED or not peer.connected:
            return seat, None
        return seat, peer

    def relay_to(self, sid: str, target: str) -> tuple[str, str | None]:
        """For a signal from ``sid`` to one participant (``target``: a user's or a guest's id,
        for a call of three): the sender's participant id and the socket to deliver to
        (``None`` while the target is not in the call). Only someone in the call signals, and
        only to a participant of this room (:class:`Forbidden` otherwise)."""
        sender_id = self._in_call_id(sid)
        if target == sender_id:
            raise Forbidden("a signal goes to another participant")
        seat = self.seat_of_user(target)
        if seat is not None:
            in_call = seat.state is SeatState.ADMITTED and seat.connected
            return sender_id, seat.sid if in_call else None
        guest = self.guest(target)
        if guest is None or guest.state is GuestState.REMOVED:
            raise Forbidden("no such participant in this consultation")
        return sender_id, guest.sid if guest.in_call else None

    def _in_call_id(self, sid: str) -> str:
        seat = self.seat_of_sid(sid)
        if seat is not None:
            if seat.state is not SeatState.ADMITTED:
                raise Forbidden("you have not been admitted to this consultation yet")
            return seat.user_id
        guest = self.guest_of_sid(sid)
        if guest is None:
            raise Forbidden("join the consultation first")
        if guest.state is not GuestState.ADMITTED:
            raise Forbidden("you have not been admitted to this consultation yet")
        return guest.guest_id

    # ------------------------------------------------------------------ changes

    def join(
        self,
        *,
        user_id: UserId,
        name: str,
        sid: str,
        node: str,
        status: AppointmentStatus,
        now: datetime,
        proxy: Proxy | None = None,
    ) -> tuple[Room, Joined]:
        """``status`` is the appointment's status as just read (a room in progress never goes
        back). ``proxy``: the patient's holder takes the patient's seat (``user_id`` is the
        patient's)."""
        role = self.role_of(user_id)
        if role is None:
            raise NotFound("no such appointment")
        room = self
        if self.status is not AppointmentStatus.IN_PROGRESS and status is not self.status:
            room = replace(self, status=status)
        if role is Role.DOCTOR or room.status is AppointmentStatus.IN_PROGRESS:
            state = SeatState.ADMITTED
        else:
            state = SeatState.WAITING
        previous = self.seat_of_user(user_id)
        replaced = previous.sid if previous is not None and previous.sid != sid else None
        room = room._with_seat(Seat(user_id, role, name, state, sid, node, proxy))
        if state is SeatState.WAITING and room.waiting_since is None:
            room = replace(room, waiting_since=now)
        return room, Joined(role=role, state=state, replaced_sid=replaced)

    def check_admit(self, sid: str) -> None:
        seat = self.require_seat(sid)
        if seat.role is not Role.DOCTOR:
            raise Forbidden("only the doctor may admit the patient")
        if not self.patient_waiting:
            raise PatientNotWaiting("the patient is not in the waiting room")

    def noted(self, sid: str, text: str, now: datetime) -> tuple[Room, WaitingNote]:
        """The patient, waiting on this socket, leaves the doctor a message (the latest one
        replaces the one before)."""
        seat = self.require_seat(sid)
        if seat.role is not Role.PATIENT:
            raise Forbidden("only the patient writes from the waiting room")
        if seat.state is not SeatState.WAITING:
            raise NotWaiting("the patient is not in the waiting room")
        note = WaitingNote(text=text, sent_at=now)
        return replace(self, waiting_note=note), note

    def started(self, now: datetime) -> Room:
        """The consultation began: in progress, and a waiting patient is admitted (what they
        wrote while waiting has been read: it goes)."""
        seats = tuple(
            replace(s, state=SeatState.ADMITTED)
            if s.role is Role.PATIENT and s.state is SeatState.WAITING
            else s
            for s in self.seats
        )
        return replace(
            self,
            status=AppointmentStatus.IN_PROGRESS,
            started_at=self.started_at or now,
            seats=seats,
            waiting_note=None,
        )

    def check_end(self, sid: str) -> None:
        seat = self.require_seat(sid)
        if seat.role is not Role.DOCTOR:
            raise Forbidden("only the doctor may end the consultation")
        if self.status is not AppointmentStatus.IN_PROGRESS:
            raise NotStarted("the consultation has not started; admit the patient first")

    def leave(self, sid: str) -> Room | None:
        """The socket leaves on purpose; ``None`` when the room should go."""
        guest = self.guest_of_sid(sid)
        if guest is not None:
            return self._with_guest(guest.released(GuestState.LEFT))._settled()
        seat = self.require_seat(sid)
        return self._with_seat(seat.released(SeatState.LEFT))._settled()

    def disconnect(self, sid: str) -> Room | None:
        """The socket went away. A socket that no longer holds a seat changes nothing."""
        seat = self.seat_of_sid(sid)
        if seat is None:
            guest = self.guest_of_sid(sid)
            if guest is None:
                return self
            return self._with_guest(guest.released())._settled()
        return self._with_seat(seat.released())._settled()

    def stale_seats(self, stale: Callable[[Occupant], bool]) -> list[Occupant]:
        """The connected seats (guests' too) that ``stale`` judges gone."""
        return [s for s in self.occupants if s.connected and stale(s)]

    def release_where(self, stale: Callable[[Occupant], bool]) -> Room | None:
        """Release the seats whose socket is gone without saying so (its hub node died, or the
        node no longer has it); ``None`` when the room should go."""
        gone = self.stale_seats(stale)
        if not gone:
            return self
        room = self
        for seat in gone:
            if isinstance(seat, GuestSeat):
                room = room._with_guest(seat.released())
            else:
                room = room._with_seat(seat.released())
        return room._settled()

    def counted(self, seq: int) -> Room:
        if seq <= self.message_count:
            return self
        return replace(self, message_count=seq)

    def share_screen(self, sid: str, sharing: bool) -> Room:
        """The participant on ``sid`` starts or stops sharing their screen; only someone in
        the call (admitted, connected) starts."""
        seat = self.require_seat(sid)
        if not sharing:
            screen = self.screen.stop(seat.user_id)
        elif seat.state is not SeatState.ADMITTED:
            raise Forbidden("you have not been admitted to this consultation yet")
        else:
            screen = self.screen.start(seat.user_id, seat.role)
        return self if screen == self.screen else replace(self, screen=screen)

    def allow_screen(self, sid: str, allowed: bool) -> Room:
        """The doctor lets the patient share their screen, or takes it back."""
        seat = self.require_seat(sid)
        screen = self.screen.allow(seat.role, allowed, self.patient.id)
        return self if screen == self.screen else replace(self, screen=screen)

    # ------------------------------------------------------------------ guests

    def guest_join(
        self, *, guest_id: str, name: str, kind: str, sid: str, node: str
    ) -> tuple[Room, GuestJoined]:
        """The invited guest joins on ``sid``: it waits for the doctor, or is back in the call
        at once when it was admitted and dropped (a reload). A removed guest stays out."""
        previous = self.guest(guest_id)
        if previous is not None and previous.state is GuestState.REMOVED:
            raise GuestRemoved("the doctor removed you from this consultation")
        back = previous is not None and previous.state is GuestState.ADMITTED
        state = GuestState.ADMITTED if back else GuestState.WAITING
        replaced = previous.sid if previous is not None and previous.sid != sid else None
        seat = GuestSeat(guest_id, name, kind, state, sid, node)
        return self._with_guest(seat), GuestJoined(state=state, replaced_sid=replaced)

    def _doctor_acts(self, sid: str, what: str) -> None:
        seat = self.require_seat(sid)
        if seat.role is not Role.DOCTOR:
            raise Forbidden(f"only the doctor may {what} a guest")

    def admit_guest(self, sid: str, guest_id: str) -> tuple[Room, GuestSeat]:
        """The doctor lets a waiting guest into the call."""
        self._doctor_acts(sid, "admit")
        guest = self.guest(guest_id)
        if guest is None or guest.state is GuestState.REMOVED:
            raise NotFound("no such guest in this consultation")
        if guest.state is not GuestState.WAITING or not guest.connected:
            raise GuestNotWaiting("that guest is not waiting to be admitted")
        if sum(1 for g in self.guests if g.state is GuestState.ADMITTED) >= MAX_ADMITTED_GUESTS:
            raise RoomFull(f"a call takes at most {MAX_ADMITTED_GUESTS} guests")
        admitted = replace(guest, state=GuestState.ADMITTED)
        return self._with_guest(admitted), admitted

    def remove_guest(self, sid: str, guest_id: str) -> tuple[Room, GuestSeat]:
        """The doctor removes a guest (waiting or in the call); returns the guest as it was
        (its socket, to be told and sent away)."""
        self._doctor_acts(sid, "remove")
        guest = self.guest(guest_id)
        if guest is None or guest.state is GuestState.REMOVED:
            raise NotFound("no such guest in this consultation")
        return self._with_guest(guest.released(GuestState.REMOVED)), guest

    def _with_guest(self, guest: GuestSeat) -> Room:
        if self.guest(guest.guest_id) is None:
            return replace(self, guests=(*self.guests, guest))
        return replace(
            self,
            guests=tuple(guest if g.guest_id == guest.guest_id else g for g in self.guests),
        )

    def _with_seat(self, seat: Seat) -> Room:
        others = [s for s in self.seats if s.user_id != seat.user_id]
        ordered = sorted([*others, seat], key=lambda s: 0 if s.role is Role.DOCTOR else 1)
        room = replace(self, seats=tuple(ordered))
        if self.screen.sharer == seat.user_id and (
            seat.state is not SeatState.ADMITTED or seat.sid != self._sid_of(seat.user_id)
        ):
            # The sharer left, dropped or was replaced by another socket (a reload): the screen
            # that socket shared is gone.
            room = replace(room, screen=self.screen.without(seat.user_id))
        return room

    def _sid_of(self, user_id: str) -> str | None:
        seat = self.seat_of_user(user_id)
        return seat.sid if seat is not None else None

    def _settled(self) -> Room | None:
        if not self.anyone_connected and self.status is not AppointmentStatus.IN_PROGRESS:
            return None
        return self
