"""Use cases of a patient's health record. Plain async code over the repositories.

Every method starts from the access rule of ``domain/records.py``: the patient, or a doctor with
a (not cancelled) appointment with that patient; anyone else gets ``NotFound``. A caller who may
read a record but not make a given change gets ``Forbidden``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from domain.appointments import Appointment, AppointmentStatus
from domain.availability import parse_hhmm, zone
from domain.clock import Clock
from domain.documents import Document
from domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from domain.family import acts_for
from domain.follow_up import Referral
from domain.ids import new_id
from domain.orders import Order
from domain.pharmacy import (
    ActiveTherapy,
    Review,
    ReviewStatus,
    ReviewWarning,
    review_warnings,
)
from domain.records import (
    Allergy,
    Author,
    Condition,
    ConditionStatus,
    Note,
    Prescription,
    Reminder,
    Severity,
    Vital,
)
from domain.reminders import TAKE_EARLY, ReminderStatus, schedule
from domain.users import Principal, Role, User
from domain.visit_summary import VisitSummary
from domain.vitals import VitalProblem, VitalType, validate_reading
from server.http.problems import FieldError
from storage.mongo import Repositories
from storage.paging import After, Page
from storage.patient_items import PatientItems

T = TypeVar("T")

RECORD_ITEMS = 50  # of each kind in GET /patients/{id}/record; the list endpoints page the rest
EXPORT_PAGE = 500
CLOCK_SKEW = timedelta(minutes=5)  # a reading may be stamped this far in the future
OLDEST_READING = datetime(1900, 1, 1, tzinfo=UTC)


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(
        f"{field}: {message}",
        details=[FieldError(field=field, message=message, type="value_error")],
    )


def _check_range(since: datetime | None, until: datetime | None) -> None:
    """The ``from``/``to`` of a list query: ``to`` after ``from`` when both are given."""
    if since is not None and until is not None and until <= since:
        raise _invalid("to", "must be later than from")


@dataclass(frozen=True, slots=True)
class RecordView:
    patient: User
    notes: list[Note]
    vitals: list[Vital]
    prescriptions: list[Prescription]
    allergies: list[Allergy]
    conditions: list[Condition]
    # Referrals to an offline visit, newest first (PROTOCOL.md, "Online care only for
    # follow-up visits").
    referrals: list[Referral] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ExportData:
    """Everything a FHIR export of one patient holds, already filtered for the caller."""

    patient: User
    practitioners: dict[str, User]
    appointments: list[Appointment]
    notes: list[Note]
    vitals: list[Vital]
    allergies: list[Allergy]
    conditions: list[Condition]
    prescriptions: list[Prescription]
    messages: list[dict[str, Any]]
    transcript_appointment_ids: list[str]
    orders: list[Order] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)
    referrals: list[Referral] = field(default_factory=list)
    summaries: list[VisitSummary] = field(default_factory=list)
    # The account that manages the patient (a family member): a RelatedPerson.
    holder: User | None = None


async def _all(fetch: Callable[[After | None], Awaitable[Page[T]]]) -> list[T]:
    items: list[T] = []
    after: After | None = None
    while True:
        page = await fetch(after)
        items.extend(page.items)
        if page.next is None:
            return items
        after = page.next


class NotPrescribableOnline(InvalidInput):
    code = "not_prescribable_online"


# Sends an event to every pharmacist's sockets (the hub's ``push_to_pharmacists``).
TellPharmacists = Callable[[str, dict[str, Any]], Awaitable[None]]

REVIEW_QUEUED_EVENT = "pharmacy:review_queued"


async def tell_no_pharmacists(event: str, data: dict[str, Any]) -> None:
    return None


class RecordService:
    def __init__(
        self,
        repos: Repositories,
        *,
        clock: Clock,
        review_required: bool = False,
        tell_pharmacists: TellPharmacists = tell_no_pharmacists,
    ) -> None:
        self._repos = repos
        self._clock = clock
        self._review_required = review_required
        self._tell_pharmacists = tell_pharmacists

    # ------------------------------------------------------------------ access

    async def patient_for(self, principal: Principal, patient_id: str) -> User:
        """The patient whose record the caller may read; ``NotFound`` for anyone else."""
        patient = await self._repos.users.get(patient_id)
        if patient is None or patient.role is not Role.PATIENT:
            raise NotFound("no such patient")
        if principal.is_patient and acts_for(principal.user_id, patient.id, patient.managed_by):
            return patient  # the patient, or the account that manages them
        if principal.is_doctor and await self._repos.appointments.has_care_relationship(
            principal.user_id, patient.id
        ):
            return patient
        raise NotFound("no such patient")

    async def _doctor_appointment(
        self, principal: Principal, patient: User, appointment_id: str
    ) -> Appointment:
        """The caller's own (not cancelled) appointment with this patient."""
        if not principal.is_doctor:
            raise Forbidden("only the appointment's doctor may do this")
        appointment = await self._repos.appointments.get(appointment_id)
        if (
            appointment is None
            or appointment.doctor_id != principal.user_id
            or appointment.patient_id != patient.id
        ):
            raise NotFound("no such appointment with this patient")
        if appointment.status is AppointmentStatus.CANCELLED:
            raise Conflict("the appointment was cancelled")
        return appointment

    def _author(self, principal: Principal) -> Author:
        return Author(id=principal.user_id, role=principal.role)

    async def page(
        self,
        principal: Principal,
        patient_id: str,
        items: Callable[[Repositories], PatientItems[T]],
        *,
        after: After | None,
        limit: int,
    ) -> Page[T]:
        """One page of the patient's items of one kind (``items`` picks the repository: notes,
        allergies, conditions, prescriptions, referrals), in that repository's order."""
        patient = await self.patient_for(principal, patient_id)
        return await items(self._repos).page(patient.id, after=after, limit=limit)

    # ------------------------------------------------------------------ record

    async def record(self, principal: Principal, patient_id: str) -> RecordView:
        patient = await self.patient_for(principal, patient_id)
        r = self._repos
        return RecordView(
            patient=patient,
            notes=(await r.notes.page(patient.id, after=None, limit=RECORD_ITEMS)).items,
            vitals=(
                await r.vitals.page(patient.id, after=None, limit=RECORD_ITEMS, newest_first=True)
            ).items,
            prescriptions=(
                await r.prescriptions.page(patient.id, after=None, limit=RECORD_ITEMS)
            ).items,
            allergies=(await r.allergies.page(patient.id, after=None, limit=RECORD_ITEMS)).items,
            conditions=(await r.conditions.page(patient.id, after=None, limit=RECORD_ITEMS)).items,
            referrals=(await r.referrals.page(patient.id, after=None, limit=RECORD_ITEMS)).items,
        )

    # ------------------------------------------------------------------ notes

    async def add_note(
        self, principal: Principal, patient_id: str, *, appointment_id: str, text: str
    ) -> Note:
        patient = await self.patient_for(principal, patient_id)
        appointment = await self._doctor_appointment(principal, patient, appointment_id)
        return await self._repos.notes.insert(
            patient_id=patient.id,
            appointment_id=appointment.id,
            author=self._author(principal),
            text=text,
            now=self._clock(),
        )

    # ------------------------------------------------------------------ vitals

    async def add_vital(
        self,
        principal: Principal,
        patient_id: str,
        *,
        vital_type: VitalType,
        value: object,
        unit: str,
        measured_at: datetime,
        appointment_id: str | None,
    ) -> Vital:
        patient = await self.patient_for(principal, patient_id)
        now = self._clock()
        if measured_at > now + CLOCK_SKEW:
            raise _invalid("measured_at", "is in the future")
        if measured_at < OLDEST_READING:
            raise _invalid("measured_at", "is implausibly old")
        try:
            reading = validate_reading(vital_type, value, unit)
        except VitalProblem as exc:
            raise _invalid(exc.field, exc.message) from None
        if appointment_id is not None:
            appointment = await self._repos.appointments.get(appointment_id)
            if (
                appointment is None
                or appointment.patient_id != patient.id
                or (principal.is_doctor and appointment.doctor_id != principal.user_id)
            ):
                raise NotFound("no such appointment with this patient")
        return await self._repos.vitals.insert(
            patient_id=patient.id,
            reading=reading,
            measured_at=measured_at,
            recorded_by=self._author(principal),
            now=now,
            appointment_id=appointment_id,
        )

    async def vitals(
        self,
        principal: Principal,
        patient_id: str,
        *,
        vital_type: VitalType | None,
        since: datetime | None,
        until: datetime | None,
        after: After | None,
        limit: int,
    ) -> Page[Vital]:
        _check_range(since, until)
        patient = await self.patient_for(principal, patient_id)
        return await self._repos.vitals.page(
            patient.id, vital_type=vital_type, since=since, until=until, after=after, limit=limit
        )

    # ------------------------------------------------------------------ allergies, conditions

    async def add_allergy(
        self,
        principal: Principal,
        patient_id: str,
        *,
        substance: str,
        reaction: str | None,
        severity: Severity | None,
    ) -> Allergy:
        """The patient (self-reported) or one of their doctors."""
        patient = await self.patient_for(principal, patient_id)
        return await self._repos.allergies.insert(
            patient_id=patient.id,
            substance=substance,
            reaction=reaction,
            severity=severity,
            recorded_by=self._author(principal),
            now=self._clock(),
        )

    async def add_condition(
        self,
        principal: Principal,
        patient_id: str,
        *,
        name: str,
        code: str | None,
        status: ConditionStatus,
        onset_date: date | None,
    ) -> Condition:
        """One of the patient's doctors (a diagnosis is a doctor's to record)."""
        patient = await self.patient_for(principal, patient_id)
        if not principal.is_doctor:
            raise Forbidden("only a doctor records a condition")
        if onset_date is not None and onset_date > self._clock().date() + timedelta(days=1):
            raise _invalid("onset_date", "is in the future")
        return await self._repos.conditions.insert(
            patient_id=patient.id,
            name=name,
            code=code,
            status=status,
            onset_date=onset_date,
            recorded_by=self._author(principal),
            now=self._clock(),
        )

    # ------------------------------------------------------------------ prescriptions

    async def prescribe(
        self,
        principal: Principal,
        patient_id: str,
        *,
        appointment_id: str,
        drug: str | None,
        dose: str,
        times: list[str],
        timezone: str | None,
        start_date: date,
        days: int,
        drug_id: str | None = None,
        quantity: int | None = None,
    ) -> tuple[Prescription, int]:
        """Create a prescription and its reminders (doses due from now on). Returns the
        prescription and how many reminders were scheduled.

        With ``drug_id`` the drug comes from the catalogue; when a pharmacist must review it
        (``TELEMED_PRESCRIPTION_REVIEW=required``) the prescription waits as
        ``pending_review`` with no reminders: :meth:`schedule_reminders` runs on approval."""
        patient = await self.patient_for(principal, patient_id)
        appointment = await self._doctor_appointment(principal, patient, appointment_id)
        review: Review | None = None
        if drug_id is not None:
            catalogued = await self._repos.drugs.get(drug_id)
            if catalogued is None or not catalogued.active:
                raise _invalid("drug_id", "no such drug in the catalogue")
            if not catalogued.online_prescribable:
                raise NotPrescribableOnline(
                    "this drug may not be prescribed online",
                    details=[
                        FieldError(
                            field="drug_id",
                            message="not prescribable online",
                            type="not_prescribable_online",
                        )
                    ],
                )
            drug = drug or catalogued.name
            quantity = quantity or 1
            names, ingredients = list(catalogued.names.values()), catalogued.ingredients
        elif not drug:
            raise _invalid("drug", "required without drug_id")
        else:
            quantity = None
            names, ingredients = [drug], ()
        if self._review_required:
            review = Review(
                status=ReviewStatus.PENDING,
                pharmacist=None,
                reviewed_at=None,
                reason=None,
                warnings=await self._warnings(patient.id, names, ingredients),
            )
        tz_name = timezone or patient.timezone
        try:
            tz = zone(tz_name)
        except InvalidInput as exc:
            raise _invalid("timezone", exc.message) from None
        now = self._clock()
        today = now.astimezone(tz).date()
        if start_date < today - timedelta(days=1):
            raise _invalid("start_date", "is in the past")
        if start_date > today + timedelta(days=366):
            raise _invalid("start_date", "is more than a year ahead")
        minutes = [parse_hhmm(t) for t in times]
        doses = [
            d
            for d in schedule(times=minutes, tz=tz, start_date=start_date, days=days)
            if d.due_at > now
        ]
        prescription = await self._repos.prescriptions.insert(
            prescription_id=new_id(),
            patient_id=patient.id,
            doctor_id=principal.user_id,
            appointment_id=appointment.id,
            drug=drug,
            dose=dose,
            times=sorted(set(times)),
            timezone=tz_name,
            start_date=start_date,
            days=days,
            now=now,
            drug_id=drug_id,
            quantity=quantity,
            review=review,
        )
        if review is not None:
            await self._tell_pharmacists(
                REVIEW_QUEUED_EVENT,
                {"prescription_id": prescription.id, "patient_id": patient.id},
            )
            return prescription, 0
        try:
            created = await self._repos.reminders.insert_schedule(prescription, doses)
        except Exception:
            # Do not leave an active prescription with half its reminders: stop it.
            await self._repos.prescriptions.stop(prescription.id, now=now)
            await self._repos.reminders.cancel_future(prescription.id, now=now)
            raise
        return prescription, created

    async def schedule_reminders(self, prescription: Prescription) -> int:
        """The reminders of a just-approved prescription: its doses due from now on."""
        now = self._clock()
        doses = [
            d
            for d in schedule(
                times=[parse_hhmm(t) for t in prescription.times],
                tz=zone(prescription.timezone),
                start_date=prescription.start_date,
                days=prescription.days,
            )
            if d.due_at > now
        ]
        return await self._repos.reminders.insert_schedule(prescription, doses)

    async def _warnings(
        self, patient_id: str, names: list[str], ingredients: tuple[str, ...]
    ) -> tuple[ReviewWarning, ...]:
        """What the reviewing pharmacist must see: allergies and duplicate ingredients."""
        allergies = await _all(
            lambda after: self._repos.allergies.page(patient_id, after=after, limit=EXPORT_PAGE)
        )
        active = await self._repos.prescriptions.active_for_patient(patient_id)
        catalogue = await self._repos.drugs.get_many(
            [p.drug_id for p in active if p.drug_id is not None]
        )
        return review_warnings(
            drug_names=names,
            ingredients=ingredients,
            allergies=[a.substance for a in allergies],
            active=[
                ActiveTherapy(
                    prescription_id=p.id,
                    drug=p.drug,
                    ingredients=(
                        catalogue[p.drug_id].ingredients if p.drug_id in catalogue else (p.drug,)
                    ),
                )
                for p in active
            ],
        )

    async def stop_prescription(
        self, principal: Principal, prescription_id: str
    ) -> tuple[Prescription, int]:
        """The prescribing doctor stops a prescription; its future reminders are cancelled."""
        prescription = await self._repos.prescriptions.get(prescription_id)
        if prescription is None:
            raise NotFound("no such prescription")
        await self.patient_for(principal, prescription.patient_id)
        if principal.user_id != prescription.doctor_id:
            raise Forbidden("only the prescribing doctor may stop a prescription")
        now = self._clock()
        stopped = await self._repos.prescriptions.stop(prescription.id, now=now)
        if stopped is None:
            raise Conflict("the prescription is not active")
        cancelled = await self._repos.reminders.cancel_future(prescription.id, now=now)
        return stopped, cancelled

    # ------------------------------------------------------------------ reminders

    async def reminders(
        self,
        principal: Principal,
        patient_id: str,
        *,
        since: datetime | None,
        until: datetime | None,
        after: After | None,
        limit: int,
    ) -> Page[Reminder]:
        _check_range(since, until)
        patient = await self.patient_for(principal, patient_id)
        return await self._repos.reminders.page(
            patient.id, since=since, until=until, after=after, limit=limit
        )

    async def take_reminder(self, principal: Principal, reminder_id: str) -> Reminder:
        """The patient marks a dose taken (again: no change). Not before it is nearly due."""
        reminder = await self._repos.reminders.get(reminder_id)
        if reminder is None:
            raise NotFound("no such reminder")
        await self.patient_for(principal, reminder.patient_id)
        if not principal.is_patient:  # the patient, or their holder (patient_for said so)
            raise Forbidden("only the patient marks a dose taken")
        if reminder.status is ReminderStatus.TAKEN:
            return reminder
        if reminder.status is ReminderStatus.CANCELLED:
            raise Conflict("this reminder was cancelled with its prescription")
        now = self._clock()
        if now < reminder.due_at - TAKE_EARLY:
            raise Conflict("this dose is not due yet")
        taken = await self._repos.reminders.mark_taken(reminder.id, now=now)
        if taken is not None:
            return taken
        again = await self._repos.reminders.get(reminder.id)
        if again is not None and again.status is ReminderStatus.TAKEN:
            return again
        raise Conflict("this reminder was cancelled with its prescription")

    # ------------------------------------------------------------------ export

    async def export(self, principal: Principal, patient_id: str) -> ExportData:
        """Everything of the record, for a FHIR export. Chat transcripts follow their own
        rule: the patient gets all of theirs, a doctor only those of their own consultations."""
        patient = await self.patient_for(principal, patient_id)
        r = self._repos
        pid = patient.id
        appointments = await r.appointments.list_for_patient(pid)
        notes = await _all(lambda a: r.notes.page(pid, after=a, limit=EXPORT_PAGE))
        vitals = await _all(lambda a: r.vitals.page(pid, after=a, limit=EXPORT_PAGE))
        allergies = await _all(lambda a: r.allergies.page(pid, after=a, limit=EXPORT_PAGE))
        conditions = await _all(lambda a: r.conditions.page(pid, after=a, limit=EXPORT_PAGE))
        prescriptions = await r.prescriptions.list_for_patient(pid)
        transcript_ids: list[str] = [
            a.id for a in appointments if principal.is_patient or a.doctor_id == principal.user_id
        ]
        messages = await r.messages.list_for_appointments(transcript_ids)
        summaries = await r.visit_summaries.list_for_patient(pid)
        doctor_ids: set[str] = {a.doctor_id for a in appointments}
        doctor_ids |= {s.doctor_id for s in summaries}
        doctor_ids |= {p.doctor_id for p in prescriptions}
        doctor_ids |= {n.author.id for n in notes}
        doctor_ids |= {v.recorded_by.id for v in vitals if v.recorded_by.role is Role.DOCTOR}
        doctor_ids |= {a.recorded_by.id for a in allergies if a.recorded_by.role is Role.DOCTOR}
        doctor_ids |= {c.recorded_by.id for c in conditions}
        doctor_ids |= {m["sender_id"] for m in messages if m.get("sender_role") == "doctor"}
        users = await r.users.get_many(sorted(doctor_ids)) if doctor_ids else {}
        return ExportData(
            patient=patient,
            practitioners={uid: u for uid, u in users.items() if u.role is Role.DOCTOR},
            appointments=appointments,
            notes=notes,
            vitals=vitals,
            allergies=allergies,
            conditions=conditions,
            prescriptions=prescriptions,
            messages=messages,
            transcript_appointment_ids=transcript_ids,
            # What was dispensed: the patient's own export only (doctors never see orders).
            orders=(
                await _all(
                    lambda a: r.orders.page(patient_id=pid, status=None, after=a, limit=EXPORT_PAGE)
                )
                if principal.is_patient
                else []
            ),
            documents=await _all(
                lambda a: r.documents.page(pid, kind=None, after=a, limit=EXPORT_PAGE)
            ),
            referrals=await _all(lambda a: r.referrals.page(pid, after=a, limit=EXPORT_PAGE)),
            summaries=summaries,
            holder=await r.users.get(patient.managed_by) if patient.managed_by else None,
        )
