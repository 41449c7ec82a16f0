"""The follow-up-only rule at the hub (``TELEMED_FOLLOW_UP_ONLY``, domain/follow_up.py): a
gated follow-up's patient joins (or opens its text consultation) only with the current online
care consent accepted, and nobody is admitted (or writes in a text consultation) until the
doctor confirmed eligibility. With the rule off, both checks pass."""

from __future__ import annotations

from typing import Protocol

from domain.appointments import Appointment
from domain.follow_up import CONSENT_VERSION, Eligibility, check_admit, check_join
from domain.users import Role


class FollowUpRecord(Protocol):
    @property
    def eligibility(self) -> Eligibility | None: ...


class FollowUps(Protocol):
    async def get(self, appointment_id: str) -> FollowUpRecord | None: ...


class Consents(Protocol):
    async def versions(self, patient_id: str) -> frozenset[str]: ...


class Appointments(Protocol):
    async def get(self, appointment_id: str) -> Appointment | None: ...


class Holders(Protocol):
    async def acts_for(self, user_id: str, patient_id: str) -> bool: ...


class FollowUpGate:
    def __init__(
        self,
        *,
        rule: bool,
        follow_ups: FollowUps,
        consents: Consents,
        appointments: Appointments,
        holders: Holders,
    ) -> None:
        self._rule = rule
        self._follow_ups = follow_ups
        self._consents = consents
        self._appointments = appointments
        self._holders = holders

    async def check_join(self, user_id: str, appointment_id: str) -> None:
        """The consent check, for the patient of a gated follow-up only (or the account that
        manages them: the consent is the patient's, given by their holder). Anyone else goes
        on to the join's own checks, which answer not_found to strangers."""
        if not self._rule:
            return
        follow_up = await self._follow_ups.get(appointment_id)
        if follow_up is None or follow_up.eligibility is None:
            return
        appointment = await self._appointments.get(appointment_id)
        if appointment is None or appointment.doctor_id == user_id:
            return
        if not await self._holders.acts_for(user_id, appointment.patient_id):
            return
        check_join(
            gate=True,
            role=Role.PATIENT,
            eligibility=follow_up.eligibility,
            accepted_versions=await self._consents.versions(appointment.patient_id),
            current_version=CONSENT_VERSION,
        )

    async def check_admit(self, appointment_id: str) -> None:
        """``not_eligible``-family refusals until the doctor confirmed the follow-up."""
        if not self._rule:
            return
        follow_up = await self._follow_ups.get(appointment_id)
        check_admit(gate=True, eligibility=follow_up.eligibility if follow_up else None)
