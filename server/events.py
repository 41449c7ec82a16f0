"""The events the REST modules push to people's open sockets through the hub (PROTOCOL.md):
their payloads as models, joined to the hub's own (``signaling/events.py``) in the AsyncAPI
document (``server/http/asyncapi.py``)."""

from __future__ import annotations

from pydantic import Field

from domain.notifications import Rule
from domain.orders import OrderStatus
from domain.records import PrescriptionStatus
from server.guests.models import InviteOut
from server.summaries.models import VisitSummaryOut
from signaling.events import Direction, Event, Out


class OrderUpdated(Out):
    order_id: str
    status: OrderStatus


class ReviewQueued(Out):
    prescription_id: str
    patient_id: str


class PrescriptionReviewed(Out):
    prescription_id: str
    patient_id: str
    status: PrescriptionStatus
    reason: str | None


class NotificationOut(Out):
    """What the notification service also shows on the patient's open pages: no clinical
    content, a time and a link (as its e-mails and texts)."""

    rule: Rule
    appointment_id: str
    start: str = Field(description="the appointment's start (ISO 8601, UTC)")
    url: str


class GuestInvite(Out):
    invite: InviteOut


class RunningLate(Out):
    appointment_id: str
    doctor_id: str
    doctor_name: str
    minutes: int | None  # null: not said
    message: str | None
    sent_at: str = Field(description="when the doctor sent it (ISO 8601, UTC)")


REST_EVENTS: tuple[Event, ...] = (
    Event(
        "guest:invite",
        Direction.FROM_HUB,
        GuestInvite,
        "A third participant's invitation was made, decided or revoked (both participants)",
    ),
    Event(
        "notification",
        Direction.FROM_HUB,
        NotificationOut,
        "A booking confirmed or cancelled, a visit soon, the doctor ready (the patient's pages)",
    ),
    Event(
        "summary:updated",
        Direction.FROM_HUB,
        VisitSummaryOut,
        "The after-visit summary was written (to both participants)",
    ),
    Event(
        "order:updated", Direction.FROM_HUB, OrderUpdated, "An order moved (patient, pharmacists)"
    ),
    Event(
        "pharmacy:review_queued",
        Direction.FROM_HUB,
        ReviewQueued,
        "A prescription waits for review (pharmacists)",
    ),
    Event(
        "prescription:reviewed",
        Direction.FROM_HUB,
        PrescriptionReviewed,
        "A pharmacist decided (doctor, patient, pharmacists)",
    ),
    Event(
        "consult:running_late",
        Direction.FROM_HUB,
        RunningLate,
        "The doctor is running late (to each waiting patient)",
    ),
)
