"""Text-and-image consultations (图文问诊, appointment kind ``text``), as pure rules (no I/O;
the time is given).

A text consultation has no slot and no waiting room. The patient asks (the booking records
when: its ``start``) and it joins the doctor's *text queue*; the chat, with its documents and
images, is the consultation. The doctor owes a first answer by ``respond_by`` (the asking time
plus the clinic's response hours, fixed at booking so a later change of the setting does not
move a promise already made)::

    booked       (asked, on the doctor's queue; overdue once respond_by has passed)
      -> in_progress  (the doctor's first message answers it)
      -> completed    (the doctor ends it, with the same after-visit summary as a video visit)
    booked -> cancelled                 (withdrawn before the doctor answered)
    booked | in_progress -> video call  (the doctor turns it into a video consultation now:
                                         kind video, booked, starting now; the patient joins
                                         the waiting room as for any video visit)

Both participants write while it is open (booked or in progress) and read its transcript
always.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.appointments import Appointment, AppointmentKind, AppointmentStatus
from domain.errors import Conflict, NotFound
from domain.users import Role

S = AppointmentStatus

DEFAULT_RESPONSE_HOURS = 24
# Statuses in which both sides may write, and the doctor may turn it into a video call.
OPEN_STATUSES = frozenset({S.BOOKED, S.IN_PROGRESS})
# A text consultation's own moves (the video visit's table, domain/appointments.py, has no
# booked -> in_progress: a video patient passes through the waiting room first).
TEXT_TRANSITIONS: dict[AppointmentStatus, frozenset[AppointmentStatus]] = {
    S.BOOKED: frozenset({S.IN_PROGRESS, S.CANCELLED}),
    S.IN_PROGRESS: frozenset({S.COMPLETED}),
}


def text_sources_of(target: AppointmentStatus) -> frozenset[AppointmentStatus]:
    """Every status from which a text consultation may reach ``target``."""
    return frozenset(s for s, targets in TEXT_TRANSITIONS.items() if target in targets)


# A text consultation turned into a video call takes this long on the doctor's day when the
# doctor has no slot length of their own.
DEFAULT_VIDEO_MINUTES = 30


class TextConsultationsOff(Conflict):
    code = "text_consultations_off"
    title = "This clinic does not take text consultations"


class TextConsultationClosed(Conflict):
    code = "text_consultation_closed"
    title = "This text consultation is closed"


class NotAnswered(Conflict):
    code = "not_answered"
    title = "The doctor has not answered this text consultation yet"


@dataclass(frozen=True, slots=True)
class TextBooking:
    """Where a new text consultation sits: asked now, answered by ``respond_by``."""

    asked_at: datetime
    respond_by: datetime


def check_taken(*, enabled: bool) -> None:
    """:class:`TextConsultationsOff` when the clinic does not take text consultations (asked
    before anything else of a text booking, the follow-up rule's checks included)."""
    if not enabled:
        raise TextConsultationsOff("this clinic does not take text consultations")


def book_text(*, enabled: bool, response_hours: int, now: datetime) -> TextBooking:
    """A new text consultation's times; :class:`TextConsultationsOff` when the clinic does not
    take them."""
    check_taken(enabled=enabled)
    if response_hours < 1:
        raise ValueError("response_hours must be at least 1")
    return TextBooking(asked_at=now, respond_by=now + timedelta(hours=response_hours))


def is_text(appointment: Appointment) -> bool:
    return appointment.kind is AppointmentKind.TEXT


def is_overdue(appointment: Appointment, now: datetime) -> bool:
    """Still unanswered (booked) once its response deadline has passed."""
    return (
        is_text(appointment)
        and appointment.status is S.BOOKED
        and appointment.respond_by is not None
        and now >= appointment.respond_by
    )


def chat_role(appointment: Appointment, user_id: str) -> Role:
    """The role in which ``user_id`` writes in this text consultation. Not a participant or not
    a text consultation: :class:`NotFound` (as if it did not exist); no longer open:
    :class:`TextConsultationClosed`."""
    if not is_text(appointment) or not appointment.is_participant(user_id):
        raise NotFound("no such text consultation")
    if appointment.status not in OPEN_STATUSES:
        raise TextConsultationClosed(f"this text consultation is {appointment.status.value}")
    return Role.DOCTOR if user_id == appointment.doctor_id else Role.PATIENT


def status_after_message(appointment: Appointment, role: Role) -> AppointmentStatus | None:
    """The status a message moves the consultation to: the doctor's first answer starts it."""
    if is_text(appointment) and role is Role.DOCTOR and appointment.status is S.BOOKED:
        return S.IN_PROGRESS
    return None


def _doctors(appointment: Appointment, user_id: str) -> None:
    if not is_text(appointment) or not appointment.is_participant(user_id):
        raise NotFound("no such text consultation")
    if user_id != appointment.doctor_id:
        raise NotFound("no such text consultation")


def check_end(appointment: Appointment, user_id: str) -> None:
    """Its doctor ends an answered text consultation (in progress -> completed)."""
    _doctors(appointment, user_id)
    if appointment.status is S.BOOKED:
        raise NotAnswered("answer the patient before ending the consultation")
    if appointment.status is not S.IN_PROGRESS:
        raise TextConsultationClosed(f"this text consultation is {appointment.status.value}")


@dataclass(frozen=True, slots=True)
class VideoCall:
    """What a text consultation becomes when its doctor turns it into a video call."""

    start: datetime
    end: datetime
    converted_at: datetime
    sources: frozenset[AppointmentStatus]  # the statuses it may be converted from (CAS)


def to_video(appointment: Appointment, user_id: str, *, now: datetime, minutes: int) -> VideoCall:
    """Its doctor turns an open text consultation into a video consultation starting now."""
    _doctors(appointment, user_id)
    if appointment.status not in OPEN_STATUSES:
        raise TextConsultationClosed(f"this text consultation is {appointment.status.value}")
    if minutes < 1:
        raise ValueError("minutes must be at least 1")
    return VideoCall(
        start=now,
        end=now + timedelta(minutes=minutes),
        converted_at=now,
        sources=OPEN_STATUSES,
    )


@dataclass(frozen=True, slots=True)
class QueueEntry:
    appointment: Appointment
    overdue: bool


def queue(appointments: Iterable[Appointment], now: datetime) -> list[QueueEntry]:
    """A doctor's text queue: the open text consultations, the oldest question first."""
    open_ones = [a for a in appointments if is_text(a) and a.status in OPEN_STATUSES]
    open_ones.sort(key=lambda a: (a.start, a.id))
    return [QueueEntry(a, is_overdue(a, now)) for a in open_ones]


@dataclass(frozen=True, slots=True)
class QueueCounts:
    waiting: int  # asked and not answered yet (overdue ones included)
    overdue: int  # waiting past their response deadline
    in_progress: int  # answered, not ended


def counts(appointments: Iterable[Appointment], now: datetime) -> QueueCounts:
    waiting = overdue = in_progress = 0
    for a in appointments:
        if not is_text(a):
            continue
        if a.status is S.BOOKED:
            waiting += 1
            overdue += is_overdue(a, now)
        elif a.status is S.IN_PROGRESS:
            in_progress += 1
    return QueueCounts(waiting=waiting, overdue=overdue, in_progress=in_progress)
