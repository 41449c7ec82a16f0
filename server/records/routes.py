"""REST endpoints of a patient's health record (PROTOCOL.md, "Records").

Thin: validate, call one service method inside :func:`audited` (every read and write of
clinical data, refusals included, lands in the audit log), shape the answer. The create and
list endpoints that every kind of item shares are made by ``server/records/items.py``; each
kind gives them its own models, summary, refusals and service call here.
"""

from __future__ import annotations

from server import keys
from server.audit.recorder import audited
from server.follow_up.models import ReferralOut
from server.http.api import Api, Call
from server.http.pagination import decode_cursor, encode_cursor
from server.records.fhir import build_bundle
from server.records.items import PATIENT, Kind, create_route, list_route
from server.records.models import (
    AllergiesPage,
    AllergyEnvelope,
    AllergyIn,
    AllergyOut,
    ConditionEnvelope,
    ConditionIn,
    ConditionOut,
    ConditionsPage,
    FhirBundle,
    NoteEnvelope,
    NoteIn,
    NoteOut,
    NotesPage,
    PatientOut,
    PrescriptionEnvelope,
    PrescriptionIn,
    PrescriptionOut,
    PrescriptionsPage,
    PrescriptionStopped,
    RecordOut,
    ReminderEnvelope,
    ReminderOut,
    RemindersPage,
    RemindersQuery,
    Series,
    VitalEnvelope,
    VitalIn,
    VitalOut,
    VitalsPage,
    VitalsQuery,
)
from server.records.service import RecordService

api = Api()
TAGS = ["records"]


def _service(call: Call) -> RecordService:
    return call.app[keys.RECORDS]


@api.get(
    PATIENT + "/record",
    summary="A patient's health record: the latest of each kind",
    tags=TAGS,
    response=RecordOut,
)
async def get_record(call: Call) -> RecordOut:
    pid = call.path("patient_id")
    async with audited(call, "record.read", patient_id=pid, resource_type="record"):
        view = await _service(call).record(call.principal, pid)
    return RecordOut(
        patient=PatientOut.of(view.patient),
        notes=[NoteOut.of(n) for n in view.notes],
        vitals=[VitalOut.of(v) for v in view.vitals],
        prescriptions=[PrescriptionOut.of(p) for p in view.prescriptions],
        allergies=[AllergyOut.of(a) for a in view.allergies],
        conditions=[ConditionOut.of(c) for c in view.conditions],
        referrals=[ReferralOut.of(r) for r in view.referrals],
    )


# ---------------------------------------------------------------- notes

NOTES = Kind("notes", "note", NoteOut.of)

create_route(
    api,
    NOTES,
    summary="Write a clinical note for one of the caller's appointments (doctor)",
    tags=TAGS,
    body=NoteIn,
    response=NoteEnvelope,
    errors=[403, 409],
    add=lambda records, who, pid, body: records.add_note(
        who, pid, appointment_id=body.appointment_id, text=body.text
    ),
)
list_route(
    api,
    NOTES,
    summary="A patient's notes, newest first",
    tags=TAGS,
    response=NotesPage,
    items=lambda repos: repos.notes,
)


# ---------------------------------------------------------------- vitals

create_route(
    api,
    Kind("vitals", "vital", VitalOut.of),
    summary="Record a vital sign (the patient, or one of their doctors)",
    tags=TAGS,
    body=VitalIn,
    response=VitalEnvelope,
    add=lambda records, who, pid, body: records.add_vital(
        who,
        pid,
        vital_type=body.type,
        value=body.raw_value(),
        unit=body.unit,
        measured_at=body.measured_at,
        appointment_id=body.appointment_id,
    ),
    details=lambda vital: {"type": vital.type.value},
)


@api.get(
    PATIENT + "/vitals",
    summary="A patient's vitals in measurement order; with type=, a chart-ready series",
    tags=TAGS,
    query=VitalsQuery,
    response=VitalsPage,
)
async def list_vitals(call: Call) -> VitalsPage:
    pid, query = call.path("patient_id"), call.query(VitalsQuery)
    async with audited(call, "vital.list", patient_id=pid, resource_type="vital") as scope:
        if query.type is not None:
            scope.details["type"] = query.type.value
        page = await _service(call).vitals(
            call.principal,
            pid,
            vital_type=query.type,
            since=query.from_,
            until=query.to,
            after=decode_cursor("vitals", query.cursor),
            limit=query.limit,
        )
    return VitalsPage(
        vitals=[VitalOut.of(v) for v in page.items],
        series=Series.of(query.type, page.items) if query.type is not None else None,
        next_cursor=encode_cursor("vitals", page.next),
    )


# ---------------------------------------------------------------- allergies, conditions

ALLERGIES = Kind("allergies", "allergy", AllergyOut.of)
CONDITIONS = Kind("conditions", "condition", ConditionOut.of)

create_route(
    api,
    ALLERGIES,
    summary="Record an allergy (the patient, or one of their doctors)",
    tags=TAGS,
    body=AllergyIn,
    response=AllergyEnvelope,
    add=lambda records, who, pid, body: records.add_allergy(
        who, pid, substance=body.substance, reaction=body.reaction, severity=body.severity
    ),
)
list_route(
    api,
    ALLERGIES,
    summary="A patient's allergies",
    tags=TAGS,
    response=AllergiesPage,
    items=lambda repos: repos.allergies,
)
create_route(
    api,
    CONDITIONS,
    summary="Record a condition (one of the patient's doctors)",
    tags=TAGS,
    body=ConditionIn,
    response=ConditionEnvelope,
    errors=[403],
    add=lambda records, who, pid, body: records.add_condition(
        who, pid, name=body.name, code=body.code, status=body.status, onset_date=body.onset_date
    ),
)
list_route(
    api,
    CONDITIONS,
    summary="A patient's conditions",
    tags=TAGS,
    response=ConditionsPage,
    items=lambda repos: repos.conditions,
)


# ---------------------------------------------------------------- prescriptions


@api.post(
    PATIENT + "/prescriptions",
    summary="Prescribe (the doctor of the appointment); schedules medication reminders",
    tags=TAGS,
    body=PrescriptionIn,
    response=PrescriptionEnvelope,
    status=201,
    errors=[403, 409],
)
async def prescribe(call: Call) -> PrescriptionEnvelope:
    pid, body = call.path("patient_id"), call.body(PrescriptionIn)
    async with audited(
        call, "prescription.create", patient_id=pid, resource_type="prescription"
    ) as scope:
        prescription, created = await _service(call).prescribe(
            call.principal,
            pid,
            appointment_id=body.appointment_id,
            drug=body.drug,
            dose=body.dose,
            times=body.times,
            timezone=body.timezone,
            start_date=body.start_date,
            days=body.days,
            drug_id=body.drug_id,
            quantity=body.quantity,
        )
        scope.resource_id = prescription.id
        scope.details["reminders_created"] = created
    return PrescriptionEnvelope(
        prescription=PrescriptionOut.of(prescription), reminders_created=created
    )


list_route(
    api,
    Kind("prescriptions", "prescription", PrescriptionOut.of),
    summary="A patient's prescriptions, newest first",
    tags=TAGS,
    response=PrescriptionsPage,
    items=lambda repos: repos.prescriptions,
)


@api.post(
    "/prescriptions/{prescription_id}/stop",
    summary="Stop a prescription (the prescribing doctor); cancels its future reminders",
    tags=TAGS,
    response=PrescriptionStopped,
    errors=[403, 409],
)
async def stop_prescription(call: Call) -> PrescriptionStopped:
    rx_id = call.path("prescription_id")
    async with audited(
        call, "prescription.stop", patient_id=None, resource_type="prescription", resource_id=rx_id
    ) as scope:
        prescription, cancelled = await _service(call).stop_prescription(call.principal, rx_id)
        scope.patient_id = prescription.patient_id
    return PrescriptionStopped(
        prescription=PrescriptionOut.of(prescription), reminders_cancelled=cancelled
    )


# ---------------------------------------------------------------- reminders


@api.get(
    PATIENT + "/reminders",
    summary="A patient's medication reminders in due order",
    tags=TAGS,
    query=RemindersQuery,
    response=RemindersPage,
)
async def list_reminders(call: Call) -> RemindersPage:
    pid, query = call.path("patient_id"), call.query(RemindersQuery)
    async with audited(call, "reminder.list", patient_id=pid, resource_type="reminder"):
        page = await _service(call).reminders(
            call.principal,
            pid,
            since=query.from_,
            until=query.to,
            after=decode_cursor("reminders", query.cursor),
            limit=query.limit,
        )
    return RemindersPage(
        reminders=[ReminderOut.of(r) for r in page.items],
        next_cursor=encode_cursor("reminders", page.next),
    )


@api.post(
    "/reminders/{reminder_id}/taken",
    summary="Mark a dose taken (the patient); marking it again changes nothing",
    tags=TAGS,
    response=ReminderEnvelope,
    errors=[403, 409],
)
async def take_reminder(call: Call) -> ReminderEnvelope:
    rid = call.path("reminder_id")
    async with audited(
        call, "reminder.taken", patient_id=None, resource_type="reminder", resource_id=rid
    ) as scope:
        reminder = await _service(call).take_reminder(call.principal, rid)
        scope.patient_id = reminder.patient_id
    return ReminderEnvelope(reminder=ReminderOut.of(reminder))


# ---------------------------------------------------------------- FHIR


@api.get(
    PATIENT + "/fhir",
    summary="The patient's record as a FHIR R4 Bundle",
    tags=TAGS,
    response=FhirBundle,
    content_type="application/fhir+json",
)
async def export_fhir(call: Call) -> FhirBundle:
    pid = call.path("patient_id")
    async with audited(call, "fhir.export", patient_id=pid, resource_type="fhir_bundle") as scope:
        data = await _service(call).export(call.principal, pid)
        bundle = build_bundle(data, now=call.app[keys.CLOCK]())
        scope.resource_id = bundle["id"]
        scope.details["entries"] = len(bundle["entry"])
        # The transcripts included are transcript reads too: name them.
        scope.details["transcripts"] = data.transcript_appointment_ids
        scope.details["messages"] = len(data.messages)
    return FhirBundle.model_validate(bundle)
