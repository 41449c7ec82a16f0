"""Use cases of doctors, availability, slots and appointments. Plain async code over the
repositories; object-level authorization is decided here (what a caller may not see is
``NotFound``, exactly as if it did not exist)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from domain.appointments import Appointment, AppointmentKind, AppointmentStatus, check_transition
from domain.availability import Availability, Slot, slot_at, slots_between
from domain.clock import Clock
from domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from domain.family import acts_for
from domain.ids import UserId
from domain.text_consultations import DEFAULT_RESPONSE_HOURS, book_text, check_taken, is_overdue
from domain.users import Principal, Role, User
from server.http.problems import FieldError
from storage.follow_ups import FollowUp
from storage.mongo import Repositories
from storage.paging import After, Page

log = structlog.get_logger(__name__)

DEFAULT_SLOT_MINUTES = 30
DEFAULT_SLOT_RANGE = timedelta(days=7)
MAX_SLOT_RANGE = timedelta(days=62)


def _field(field: str, message: str) -> InvalidInput:
    return InvalidInput(
        message, details=[FieldError(field=field, message=message, type="value_error")]
    )


@dataclass(frozen=True, slots=True)
class AppointmentView:
    """An appointment with the people it names, as the API shows it."""

    appointment: Appointment
    patient: User | None
    doctor: User | None
    show_reason: bool
    # The follow-up gate's record of it (visit type, prior diagnosis, eligibility), if any.
    follow_up: FollowUp | None = None
    # A text consultation still unanswered past its response deadline.
    overdue: bool = False
    # The account that manages the patient (a family member's appointment), if any.
    holder: User | None = None


@dataclass(frozen=True, slots=True)
class SlotPage:
    slots: list[Slot]
    timezone: str
    next_start: datetime | None


@dataclass(frozen=True, slots=True)
class BookingLimits:
    """How many upcoming (booked or waiting) appointments one patient may hold: with one
    doctor, and in all. Without a bound one patient could book every slot of a doctor."""

    per_doctor: int = 5
    total: int = 10


@dataclass(frozen=True, slots=True)
class TextPolicy:
    """Whether the clinic takes text consultations, and within how many hours a doctor answers
    one (``TELEMED_TEXT_CONSULTATIONS``, ``TELEMED_TEXT_RESPONSE_HOURS``)."""

    enabled: bool = True
    response_hours: int = DEFAULT_RESPONSE_HOURS


def _managed_by(user: User | None) -> str | None:
    return user.managed_by if user is not None else None


def _holder(users: dict[UserId, User], patient: User | None) -> User | None:
    if patient is None or patient.managed_by is None:
        return None
    return users.get(patient.managed_by)


class AppointmentService:
    def __init__(
        self,
        repos: Repositories,
        *,
        clock: Clock,
        limits: BookingLimits | None = None,
        text: TextPolicy | None = None,
    ) -> None:
        self._repos = repos
        self._clock = clock
        self._limits = limits or BookingLimits()
        self.text = text or TextPolicy()
        # One booking per patient at a time in this process, so concurrent bookings of one
        # patient are counted one after another (between processes the count after the insert
        # still keeps at most the limit, and at the boundary may refuse both).
        self._patient_locks: dict[str, tuple[asyncio.Lock, list[int]]] = {}
        # Told of each booking and cancellation ("booked", "cancelled"), after it is stored:
        # the notification service sends the confirmation from here (it must not block).
        self._observers: list[Callable[[Appointment, str], None]] = []

    def observe(self, observer: Callable[[Appointment, str], None]) -> None:
        self._observers.append(observer)

    def _tell(self, appointment: Appointment, change: str) -> None:
        for observer in self._observers:
            try:
                observer(appointment, change)
            except Exception:  # an observer's bug must not undo a stored booking
                log.exception("appointment_observer_failed", change=change)

    # ------------------------------------------------------------------ doctors

    async def list_doctors(
        self, *, specialty: str | None, q: str | None, after: After | None, limit: int
    ) -> tuple[list[User], After | None]:
        doctors = await self._repos.users.list_doctors(
            specialty=specialty, q=q, limit=limit + 1, after=after.id if after else None
        )
        more = len(doctors) > limit
        doctors = doctors[:limit]
        return doctors, (After(value=None, id=doctors[-1].id) if more else None)

    async def doctor(self, doctor_id: str) -> User:
        user = await self._repos.users.get(doctor_id)
        if user is None or user.role is not Role.DOCTOR:
            raise NotFound("no such doctor")
        return user

    async def availability(self, doctor_id: str) -> Availability:
        doctor = await self.doctor(doctor_id)
        found = await self._repos.availability.get(doctor.id)
        if found is not None:
            return found
        return Availability(timezone=doctor.timezone, slot_minutes=DEFAULT_SLOT_MINUTES, weekly=())

    async def set_availability(
        self, principal: Principal, doctor_id: str, availability: Availability
    ) -> Availability:
        """A doctor sets their own availability; an admin may set any doctor's."""
        doctor = await self.doctor(doctor_id)
        if not principal.is_admin and principal.user_id != doctor.id:
            raise Forbidden("a doctor can only change their own availability")
        await self._repos.availability.put(doctor.id, availability, now=self._clock())
        return availability

    async def free_slots(
        self,
        doctor_id: str,
        *,
        since: datetime | None,
        until: datetime | None,
        after: datetime | None,
        limit: int,
    ) -> SlotPage:
        """Free, future slots of the doctor in ``[since, until)``, in time order."""
        now = self._clock()
        since = since or now
        until = until or since + DEFAULT_SLOT_RANGE
        if until <= since:
            raise _field("to", "must be later than from")
        if until - since > MAX_SLOT_RANGE:
            raise _field("to", f"at most {MAX_SLOT_RANGE.days} days after from")
        availability = await self.availability(doctor_id)
        begin = max(since, now)
        if after is not None:
            begin = max(begin, after + timedelta(microseconds=1))
        if begin >= until:
            return SlotPage([], availability.timezone, None)
        busy = await self._repos.appointments.busy_between(
            doctor_id, begin, until + timedelta(days=1)
        )
        free: list[Slot] = []
        for slot in slots_between(availability, begin, until):
            if any(slot.overlaps(b.start, b.end) for b in busy):
                continue
            free.append(slot)
            if len(free) > limit:
                break
        more = len(free) > limit
        free = free[:limit]
        return SlotPage(free, availability.timezone, free[-1].start if more else None)

    # ------------------------------------------------------------------ appointments

    async def book(
        self,
        principal: Principal,
        *,
        doctor_id: str,
        start: datetime | None,
        kind: AppointmentKind,
        reason: str,
        patient_id: str | None = None,
    ) -> AppointmentView:
        """Book a free slot, for the caller or a family member they manage (``patient_id``).
        404 for an unknown doctor (or a patient the caller does not act for), 422 for a time
        that is not one of the doctor's slots or is in the past, 409 when the slot is taken
        (the database's unique index decides between concurrent bookings). A text
        consultation takes no start: it goes on the doctor's text queue, asked now."""
        if not principal.is_patient:
            raise Forbidden("only patients book appointments")
        patient = await self.patient_for_booking(principal, patient_id)
        appointment = await self.book_for(
            patient, doctor_id=doctor_id, start=start, kind=kind, reason=reason
        )
        return await self._view(principal, appointment)

    def check_kind(self, kind: AppointmentKind) -> None:
        """A kind of booking this clinic takes (409 ``text_consultations_off``), before the
        booking's other checks."""
        if kind is AppointmentKind.TEXT:
            check_taken(enabled=self.text.enabled)

    async def patient_for_booking(self, principal: Principal, patient_id: str | None) -> str:
        """Whom a patient's booking is for: themselves, or a family member they manage; 404
        for anyone else (domain/family.py)."""
        if patient_id is None or patient_id == principal.user_id:
            return principal.user_id
        if not await self._repos.users.acts_for(principal.user_id, patient_id):
            raise NotFound("no such patient")
        return patient_id

    async def book_for(
        self,
        patient_id: str,
        *,
        doctor_id: str,
        start: datetime | None,
        kind: AppointmentKind,
        reason: str,
    ) -> Appointment:
        """Book a free slot for the patient (the caller has been authorized already), one
        booking of that patient at a time in this process."""
        lock, holders = self._patient_locks.setdefault(patient_id, (asyncio.Lock(), [0]))
        holders[0] += 1
        try:
            async with lock:
                booked = await self._book_for(
                    patient_id, doctor_id=doctor_id, start=start, kind=kind, reason=reason
                )
            self._tell(booked, "booked")
            return booked
        finally:
            holders[0] -= 1
            if holders[0] == 0:
                del self._patient_locks[patient_id]

    async def _book_for(
        self,
        patient_id: str,
        *,
        doctor_id: str,
        start: datetime | None,
        kind: AppointmentKind,
        reason: str,
    ) -> Appointment:
        """Book a free slot for the patient (the caller has been authorized already)."""
        doctor = await self.doctor(doctor_id)
        now = self._clock()
        if kind is AppointmentKind.TEXT:
            return await self._book_text(patient_id, doctor, start=start, reason=reason, now=now)
        if start is None:
            raise _field("start", "is required (only a text consultation has none)")
        if start < now:
            raise _field("start", "is in the past")
        availability = await self.availability(doctor.id)
        slot = slot_at(availability, start)
        if slot is None:
            raise _field("start", "is not one of this doctor's slots")
        if await self._repos.appointments.busy_between(doctor.id, slot.start, slot.end):
            raise Conflict("this slot is already taken")
        appointment = await self._repos.appointments.insert(
            patient_id=UserId(patient_id),
            doctor_id=doctor.id,
            start=slot.start,
            end=slot.end,
            kind=kind,
            reason=reason,
            now=now,
        )
        await self._within_limits(appointment)
        return appointment

    async def _book_text(
        self, patient_id: str, doctor: User, *, start: datetime | None, reason: str, now: datetime
    ) -> Appointment:
        """A text consultation on the doctor's queue, asked now."""
        if start is not None:
            raise _field("start", "a text consultation has no start time: it is asked now")
        if not reason.strip():
            raise _field("reason", "describe the problem for the doctor")
        booking = book_text(
            enabled=self.text.enabled, response_hours=self.text.response_hours, now=now
        )
        appointment = await self._repos.appointments.insert(
            patient_id=UserId(patient_id),
            doctor_id=doctor.id,
            start=booking.asked_at,
            end=booking.respond_by,
            kind=AppointmentKind.TEXT,
            reason=reason,
            now=now,
            respond_by=booking.respond_by,
        )
        await self._within_limits(appointment)
        return appointment

    async def _within_limits(self, appointment: Appointment) -> None:
        """Count the patient's upcoming bookings *after* inserting this one, and withdraw it
        when over a limit: each insert is visible to every later count, so concurrent bookings
        cannot all pass a check made before any of them exists (at the boundary both may be
        refused; never more than the limit kept)."""
        now = self._clock()
        repo = self._repos.appointments
        patient = appointment.patient_id
        checks = (
            (self._limits.per_doctor, appointment.doctor_id, "with this doctor"),
            (self._limits.total, None, "in all"),
        )
        for limit, doctor_id, scope in checks:
            if await repo.count_upcoming(patient, now, doctor_id=doctor_id) > limit:
                await repo.withdraw(appointment.id)
                raise Conflict(
                    f"you already have {limit} upcoming appointments {scope}; "
                    "cancel one to book another",
                    details={"reason": "booking_limit"},
                )

    async def list_appointments(
        self,
        principal: Principal,
        *,
        status: AppointmentStatus | None,
        since: datetime | None,
        until: datetime | None,
        after: After | None,
        limit: int,
        patient_id: str | None = None,
    ) -> tuple[list[AppointmentView], After | None]:
        """The caller's own appointments and those of the family members they manage; an
        admin's list holds everyone's. ``patient_id``: one patient's only."""
        if since is not None and until is not None and until <= since:
            raise _field("to", "must be later than from")
        managed: list[UserId] = []
        if principal.is_patient:  # and the family members the caller manages
            managed = await self._repos.users.managed_ids(principal.user_id)
        if patient_id is not None and not (
            principal.is_admin
            or (principal.is_patient and (patient_id == principal.user_id or patient_id in managed))
        ):
            raise NotFound("no such patient")
        page: Page[Appointment] = await self._repos.appointments.list_page(
            user_id=None if principal.is_admin else principal.user_id,
            status=status,
            since=since,
            until=until,
            after=after,
            limit=limit,
            also_patients=managed,
            patient_id=patient_id,
        )
        return await self._views(principal, page.items), page.next

    async def get(self, principal: Principal, appointment_id: str) -> AppointmentView:
        return await self._view(principal, await self._visible(principal, appointment_id))

    async def cancel(
        self, principal: Principal, appointment_id: str, *, reason: str | None
    ) -> AppointmentView:
        """Booked or waiting -> cancelled, by either participant or an admin; frees the slot."""
        appointment = await self._visible(principal, appointment_id)
        check_transition(appointment.status, AppointmentStatus.CANCELLED)
        extra: dict[str, object] = {"cancelled_by": principal.user_id}
        if reason:
            extra["cancel_reason"] = reason
        moved = await self._repos.appointments.transition(
            appointment.id, AppointmentStatus.CANCELLED, now=self._clock(), extra=extra
        )
        if moved is None:  # its status changed since we read it
            raise Conflict("the appointment changed meanwhile; reload it")
        self._tell(moved, "cancelled")
        return await self._view(principal, moved)

    async def mark_no_show(self, principal: Principal, appointment_id: str) -> AppointmentView:
        """Booked -> no_show, by the appointment's doctor (or an admin), once it has started."""
        appointment = await self._visible(principal, appointment_id)
        if not principal.is_admin and principal.user_id != appointment.doctor_id:
            raise Forbidden("only the doctor marks a patient as not shown")
        if appointment.kind is AppointmentKind.TEXT:
            raise Conflict("a text consultation has no appointed time to miss")
        check_transition(appointment.status, AppointmentStatus.NO_SHOW)
        if self._clock() < appointment.start:
            raise Conflict("the appointment has not started yet")
        moved = await self._repos.appointments.transition(
            appointment.id, AppointmentStatus.NO_SHOW, now=self._clock()
        )
        if moved is None:
            raise Conflict("the appointment changed meanwhile; reload it")
        return await self._view(principal, moved)

    # ------------------------------------------------------------------ helpers

    async def own(self, principal: Principal, appointment_id: str) -> Appointment:
        """One of the caller's own appointments (its patient's or its doctor's; an admin's view
        of everyone's is not their own)."""
        appointment = await self._repos.appointments.get(appointment_id)
        if appointment is None or not await self._repos.users.party_to(
            principal.user_id, appointment
        ):
            raise NotFound("no such appointment")
        return appointment

    async def _visible(self, principal: Principal, appointment_id: str) -> Appointment:
        appointment = await self._repos.appointments.get(appointment_id)
        if appointment is None or not (
            principal.is_admin or await self._repos.users.party_to(principal.user_id, appointment)
        ):
            raise NotFound("no such appointment")
        return appointment

    async def views(
        self, principal: Principal, appointments: list[Appointment]
    ) -> list[AppointmentView]:
        """These appointments as the caller sees them (authorized by the caller)."""
        return await self._views(principal, appointments)

    async def _view(self, principal: Principal, appointment: Appointment) -> AppointmentView:
        return (await self._views(principal, [appointment]))[0]

    async def _views(
        self, principal: Principal, appointments: list[Appointment]
    ) -> list[AppointmentView]:
        ids = sorted({uid for a in appointments for uid in a.participant_ids()})
        users: dict[UserId, User] = await self._repos.users.get_many(list(ids)) if ids else {}
        holder_ids = sorted(
            {u.managed_by for u in users.values() if u.managed_by is not None} - set(users)
        )
        if holder_ids:
            users = {**users, **await self._repos.users.get_many(list(holder_ids))}
        follow_ups = await self._repos.follow_ups.get_many([a.id for a in appointments])
        now = self._clock()
        return [
            AppointmentView(
                appointment=a,
                patient=users.get(a.patient_id),
                doctor=users.get(a.doctor_id),
                # The reason for a visit is clinical: participants (and a family member's
                # holder) see it, admins do not.
                show_reason=a.is_participant(principal.user_id)
                or acts_for(principal.user_id, a.patient_id, _managed_by(users.get(a.patient_id))),
                follow_up=follow_ups.get(a.id),
                overdue=is_overdue(a, now),
                holder=_holder(users, users.get(a.patient_id)),
            )
            for a in appointments
        ]
