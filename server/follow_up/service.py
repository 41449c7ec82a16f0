"""Use cases of the follow-up gate (PROTOCOL.md, "Online care only for follow-up visits"):
the rules are ``domain/follow_up.py``; this adds the storage and the appointment's access."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from domain.appointments import Appointment, AppointmentKind, AppointmentStatus
from domain.clock import Clock
from domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from domain.follow_up import (
    CONSENT_TEXT,
    CONSENT_VERSION,
    PENDING,
    EligibilityStatus,
    PriorDiagnosis,
    Referral,
    Urgency,
    VisitType,
    check_booking,
    check_referral,
    decide,
    held_visit_type,
)
from domain.ids import new_id
from domain.users import Principal
from server.appointments.service import AppointmentService
from storage.follow_ups import FollowUp
from storage.mongo import Repositories


@dataclass(frozen=True, slots=True)
class Booking:
    """What the gate decided about a booking before it is made."""

    visit_type: VisitType | None
    prior: PriorDiagnosis | None
    eligibility_pending: bool


class FollowUpService:
    def __init__(
        self,
        repos: Repositories,
        appointments: AppointmentService,
        *,
        gate: bool,
        clock: Clock,
    ) -> None:
        self._repos = repos
        self._appointments = appointments
        self.gate = gate
        self._clock = clock

    async def check_booking(
        self,
        principal: Principal,
        *,
        kind: AppointmentKind,
        visit_type: VisitType | None,
        prior: PriorDiagnosis | None,
        patient_id: str | None = None,
    ) -> Booking:
        """Before the booking: the rule, and the prior diagnosis's documents are the patient's
        (the caller's, or the family member's the caller books for: ``patient_id``, authorized
        already)."""
        patient_id = patient_id or principal.user_id
        visit_type = held_visit_type(gate=self.gate, kind=kind, visit_type=visit_type, prior=prior)
        eligibility = check_booking(
            gate=self.gate,
            kind=kind,
            visit_type=visit_type,
            prior=prior,
            today=self._clock().date(),
        )
        for document_id in prior.document_ids if prior else ():
            document = await self._repos.documents.get(document_id)
            if document is None or document.patient_id != patient_id:
                raise InvalidInput("prior_diagnosis.document_ids: not a document of yours")
        return Booking(visit_type, prior, eligibility is not None)

    async def record(self, appointment_id: str, booking: Booking) -> FollowUp | None:
        if booking.visit_type is None:
            return None
        return await self._repos.follow_ups.insert(
            appointment_id,
            visit_type=booking.visit_type,
            prior=booking.prior,
            eligibility=PENDING if booking.eligibility_pending else None,
        )

    async def of(self, appointment_ids: list[str]) -> dict[str, FollowUp]:
        return await self._repos.follow_ups.get_many(appointment_ids)

    async def decide(
        self,
        principal: Principal,
        appointment_id: str,
        *,
        eligible: bool,
        reason: str | None,
        before_cancel: Callable[[], Awaitable[object]] | None = None,
    ) -> FollowUp:
        """The appointment's doctor decides; declined cancels the appointment with the reason.
        ``before_cancel`` runs once a decline is stored and before the appointment is cancelled
        (the hub ends the waiting room with its own reason there, so the sweep that ends rooms
        of cancelled appointments never announces this one as a plain cancellation)."""
        appointment = await self._repos.appointments.get(appointment_id)
        if appointment is None or not await self._repos.users.party_to(
            principal.user_id, appointment
        ):
            raise NotFound("no such appointment")
        if principal.user_id != appointment.doctor_id:
            raise Forbidden("only the appointment's doctor decides eligibility")
        current = await self._repos.follow_ups.get(appointment_id)
        decision = decide(
            current.eligibility if current else None,
            doctor_id=principal.user_id,
            eligible=eligible,
            reason=reason,
            now=self._clock(),
        )
        assert current is not None  # decide() refuses an ungated appointment
        if decision is current.eligibility:
            return current  # the same decision again
        stored = await self._repos.follow_ups.decide(appointment_id, decision)
        if stored is None:  # another decision came first: answer as if it were this one
            latest = await self._repos.follow_ups.get(appointment_id)
            assert latest is not None
            decide(
                latest.eligibility,
                doctor_id=principal.user_id,
                eligible=eligible,
                reason=reason,
                now=self._clock(),
            )
            return latest
        if decision.status is EligibilityStatus.DECLINED:
            if before_cancel is not None:
                await before_cancel()
            await self._appointments.cancel(
                principal,
                appointment_id,
                reason=f"Not eligible for an online follow-up; please book an in-person visit. "
                f"{decision.reason}",
            )
        return stored

    async def refer(
        self,
        principal: Principal,
        appointment_id: str,
        *,
        reason: str,
        department: str | None,
        urgency: Urgency,
        book: tuple[str, datetime] | None,
    ) -> tuple[Referral, Appointment | None]:
        """The appointment's doctor refers the patient offline, optionally booking an in-person
        slot for them (``book``: the doctor and the start)."""
        appointment = await self._repos.appointments.get(appointment_id)
        if appointment is None or not appointment.is_participant(principal.user_id):
            raise NotFound("no such appointment")
        check_referral(
            role=principal.role, doctor_id=appointment.doctor_id, caller_id=principal.user_id
        )
        if appointment.status in (AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW):
            raise Conflict(f"the appointment is {appointment.status.value}")
        booked = None
        if book is not None:
            booked = await self._appointments.book_for(
                appointment.patient_id,
                doctor_id=book[0],
                start=book[1],
                kind=AppointmentKind.IN_PERSON,
                reason=f"Referral: {reason}"[:1000],
            )
        referral = Referral(
            id=new_id(),
            appointment_id=appointment.id,
            patient_id=appointment.patient_id,
            doctor_id=principal.user_id,
            reason=reason,
            department=department,
            urgency=urgency,
            created_at=self._clock(),
            booked_appointment_id=booked.id if booked else None,
        )
        return await self._repos.referrals.insert(referral), booked

    @staticmethod
    def consent_text() -> tuple[str, dict[str, str]]:
        return CONSENT_VERSION, dict(CONSENT_TEXT)

    async def accept_consent(
        self,
        principal: Principal,
        *,
        kind: str,
        version: str,
        patient_id: str | None = None,
    ) -> None:
        """The caller accepts, for themselves or for a family member they manage
        (``patient_id``): the consent is the managed person's, given by their holder."""
        if not principal.is_patient:
            raise Forbidden("only patients give consent to online care")
        patient_id = patient_id or principal.user_id
        if not await self._repos.users.acts_for(principal.user_id, patient_id):
            raise NotFound("no such patient")
        if kind != "online_care":
            raise InvalidInput("kind: online_care")
        if version != CONSENT_VERSION:
            raise InvalidInput(f"version: the current version is {CONSENT_VERSION}")
        await self._repos.online_consents.accept(patient_id, version, now=self._clock())

    async def consented(self, patient_id: str) -> frozenset[str]:
        return await self._repos.online_consents.versions(patient_id)
