"""Appointments and their lifecycle, as a pure state machine (no I/O).

    booked -> waiting -> in_progress -> completed
    booked | waiting -> cancelled
    booked -> no_show

A text-and-image consultation (kind ``text``) has no slot and no waiting room; its own rules
(the doctor's queue, the response deadline, ending it, turning it into a video call) are in
``domain/text_consultations.py``.

The REST modules and the consultation hub both drive it; the repository applies a transition
only if the stored status is still one it may come from (compare-and-set), so two processes
cannot both move one appointment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain.errors import Conflict
from domain.ids import AppointmentId, UserId


class AppointmentStatus(StrEnum):
    BOOKED = "booked"
    WAITING = "waiting"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


class AppointmentKind(StrEnum):
    VIDEO = "video"
    IN_PERSON = "in_person"
    TEXT = "text"  # a text-and-image consultation: the chat is the consultation


S = AppointmentStatus

TRANSITIONS: dict[AppointmentStatus, frozenset[AppointmentStatus]] = {
    S.BOOKED: frozenset({S.WAITING, S.CANCELLED, S.NO_SHOW}),
    S.WAITING: frozenset({S.IN_PROGRESS, S.CANCELLED}),
    S.IN_PROGRESS: frozenset({S.COMPLETED}),
    S.COMPLETED: frozenset(),
    S.CANCELLED: frozenset(),
    S.NO_SHOW: frozenset(),
}

# Statuses that hold the doctor's slot (a cancelled appointment frees it).
ACTIVE_STATUSES = frozenset({S.BOOKED, S.WAITING, S.IN_PROGRESS, S.COMPLETED, S.NO_SHOW})
FINAL_STATUSES = frozenset({S.COMPLETED, S.CANCELLED, S.NO_SHOW})


def can_transition(current: AppointmentStatus, target: AppointmentStatus) -> bool:
    return target in TRANSITIONS[current]


def check_transition(current: AppointmentStatus, target: AppointmentStatus) -> None:
    """Raise :class:`Conflict` (HTTP 409) for an illegal transition."""
    if not can_transition(current, target):
        raise Conflict(f"an appointment that is {current.value} cannot become {target.value}")


def sources_of(target: AppointmentStatus) -> frozenset[AppointmentStatus]:
    """Every status from which ``target`` may be reached."""
    return frozenset(s for s, targets in TRANSITIONS.items() if target in targets)


@dataclass(frozen=True, slots=True)
class Appointment:
    id: AppointmentId
    patient_id: UserId
    doctor_id: UserId
    start: datetime
    end: datetime
    kind: AppointmentKind
    reason: str
    status: AppointmentStatus
    created_at: datetime
    updated_at: datetime
    waiting_since: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    cancelled_by: UserId | None = None
    cancel_reason: str | None = None
    # A text consultation: when the doctor should have answered by (fixed at booking).
    respond_by: datetime | None = None
    # When a text consultation was turned into a video call (its kind is then video).
    converted_at: datetime | None = None

    def participant_ids(self) -> tuple[UserId, UserId]:
        return (self.patient_id, self.doctor_id)

    def is_participant(self, user_id: str) -> bool:
        return user_id in (self.patient_id, self.doctor_id)
